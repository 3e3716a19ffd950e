"""Symbolic matrix calculus in matrixcalculus.org syntax.

>>> import tensorcalc.symbolic as ts
>>> d = ts.derivative("x' * A * x", "x")
>>> print(d)
(A + A') * x

See docs/symbolic.md. Importing this package does not import the numeric engine; ``check()``
imports ``tensorcalc.numpy`` lazily.
"""

from .derivative import LAYOUTS, Derivative, derivative, hessian
from .errors import (
    DerivativeMismatch,
    ParseError,
    ShapeError,
    UnsupportedExpression,
    UnsupportedSyntax,
)
from .expr import Expr, Var
from .numeric import CheckReport
from .parser import MAX_DEPTH, MAX_LENGTH, parse
from .simplify import simplify

__all__ = [
    "LAYOUTS", "MAX_DEPTH", "MAX_LENGTH", "CheckReport", "Derivative", "DerivativeMismatch",
    "Expr", "ParseError", "ShapeError", "UnsupportedExpression", "UnsupportedSyntax", "Var",
    "derivative", "hessian", "parse", "simplify",
]
