"""Errors raised by the symbolic engine.

Every failure names the construct and, for parse errors, the column, so that a user pasting an
expression from matrixcalculus.org sees where it went wrong. Nothing here is ever swallowed into a
silent zero: an expression we cannot differentiate raises ``UnsupportedExpression``.
"""

from __future__ import annotations

from tensorcalc.core.errors import ShapeError as _CoreShapeError


class ParseError(ValueError):
    """The text is not a well-formed, well-typed expression.

    ``column`` is 1-based; ``str(err)`` contains the text with a caret line under the column.
    """

    def __init__(self, message: str, text: str | None = None, column: int | None = None):
        self.message = message
        self.text = text
        self.column = column
        super().__init__(self._render())

    def _render(self) -> str:
        if self.text is None or self.column is None:
            return self.message
        col = max(1, min(self.column, len(self.text) + 1))
        # Show only the line that holds the column; the language is single-line anyway.
        return f"{self.message}\n  {self.text}\n  {' ' * (col - 1)}^ (column {col})"


class ShapeError(ParseError, _CoreShapeError):
    """Operand shapes do not fit (for example ``A * x'``); raised while parsing or building.

    It is also ``tensorcalc.ShapeError``, so ``except tc.ShapeError`` catches shape errors from
    both engines.
    """


class UnsupportedExpression(ValueError):
    """A construct that parses but that the engine cannot differentiate or print.

    Raised instead of returning a wrong answer (SymPy 1.14 returns 0 for several such cases).
    """


class ResultTooLarge(UnsupportedExpression):
    """Differentiating or simplifying built more nodes than the active ``node_budget`` allows.

    Some expressions have derivatives exponentially larger than themselves (nested products
    differentiated twice); a budget turns that into this error instead of exhausted memory.
    """


class UnsupportedSyntax(ParseError, UnsupportedExpression):
    """A construct rejected at parse time (say ``X^0.5``); it is both kinds of error."""


class DerivativeMismatch(AssertionError):
    """``Derivative.check`` found the symbolic and numeric derivatives disagreeing."""

    def __init__(self, message: str, report: object):
        self.report = report
        super().__init__(message)
