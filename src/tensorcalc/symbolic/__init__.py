"""Symbolic matrix calculus in matrixcalculus.org syntax.

>>> import tensorcalc.symbolic as ts
>>> d = ts.derivative("x' * A * x", "x")
>>> print(d)
(A + A') * x

See docs/symbolic.md. Importing this package does not import the numeric engine, SciPy or
NumPy; ``check()`` imports ``tensorcalc.numpy`` lazily, ``evaluate()`` and ``compile()`` NumPy.
"""

import typing as _typing

from .derivative import LAYOUTS, Derivative, derivative, hessian
from .errors import (
    DerivativeMismatch,
    ParseError,
    ShapeError,
    UnsupportedExpression,
    UnsupportedSyntax,
)
from .expr import Expr, Var
from .gaussian import expectation
from .parser import MAX_DEPTH, MAX_LENGTH, parse
from .simplify import simplify

__all__ = [
    "LAYOUTS", "MAX_DEPTH", "MAX_LENGTH", "CheckReport", "Derivative", "DerivativeMismatch",
    "Expr", "ParseError", "ShapeError", "UnsupportedExpression", "UnsupportedSyntax", "Var",
    "derivative", "expectation", "hessian", "parse", "simplify",
]


def __getattr__(name: str) -> _typing.Any:
    if name == "CheckReport":  # .numeric imports NumPy; only check() needs it
        from .numeric import CheckReport

        return CheckReport
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if _typing.TYPE_CHECKING:
    from .numeric import CheckReport
from . import language_rules as _language_rules  # noqa: E402, F401 (registers rules)
