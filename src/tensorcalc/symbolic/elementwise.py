"""Derivatives of the elementwise functions.

For an elementwise f, d f(u) = f'(u) ⊙ du, so each rule returns f'(u) as an expression (or None
when f' vanishes almost everywhere). Conventions are the package's: relu'(0) = 0 (hence the step
function with step(0) = 0), abs'(0) = sign(0) = 0. softplus(u) = log(1 + eᵘ) has σ(u) as
derivative; the inverse trigonometric and hyperbolic functions have the usual algebraic ones,
arcsin' = 1/√(1 − u²), arctan' = 1/(1 + u²), arccosh' = 1/√(u² − 1), arctanh' = 1/(1 − u²).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

from .expr import Const, Expr, Func, Pow, add, hadamard, mul, neg, one_like


def _exp(u: Expr, fu: Expr) -> Expr:
    return fu  # exp' = exp


def _log(u: Expr, fu: Expr) -> Expr:
    return Pow(u, -1)


def _sin(u: Expr, fu: Expr) -> Expr:
    return Func("cos", u)


def _cos(u: Expr, fu: Expr) -> Expr:
    return neg(Func("sin", u))


def _tan(u: Expr, fu: Expr) -> Expr:
    return add(one_like(u.shape), Pow(fu, 2))  # 1 + tan²


def _tanh(u: Expr, fu: Expr) -> Expr:
    return add(one_like(u.shape), neg(Pow(fu, 2)))  # 1 − tanh²


def _sqrt(u: Expr, fu: Expr) -> Expr:
    return mul(_half(), Pow(fu, -1))  # 1 / (2 √u)


def _half() -> Expr:
    return Const(Fraction(1, 2))


def _abs(u: Expr, fu: Expr) -> Expr:
    return Func("sign", u)


def _relu(u: Expr, fu: Expr) -> Expr:
    return Func("step", u)


def _sigmoid(u: Expr, fu: Expr) -> Expr:
    return hadamard(fu, add(one_like(u.shape), neg(fu)))  # σ (1 − σ)


def _softplus(u: Expr, fu: Expr) -> Expr:
    return Func("sigmoid", u)  # log(1 + eᵘ)' = σ(u)


def _sinh(u: Expr, fu: Expr) -> Expr:
    return Func("cosh", u)


def _cosh(u: Expr, fu: Expr) -> Expr:
    return Func("sinh", u)


def _one_minus_square(u: Expr, sign: int = -1) -> Expr:
    """1 − u² (sign −1) or 1 + u² (sign +1)."""
    sq = Pow(u, 2)
    return add(one_like(u.shape), sq if sign > 0 else neg(sq))


def _arcsin(u: Expr, fu: Expr) -> Expr:
    return Pow(_one_minus_square(u), Fraction(-1, 2))  # 1 / √(1 − u²)


def _arccos(u: Expr, fu: Expr) -> Expr:
    return neg(Pow(_one_minus_square(u), Fraction(-1, 2)))


def _arctan(u: Expr, fu: Expr) -> Expr:
    return Pow(_one_minus_square(u, +1), -1)  # 1 / (1 + u²)


def _arcsinh(u: Expr, fu: Expr) -> Expr:
    return Pow(_one_minus_square(u, +1), Fraction(-1, 2))  # 1 / √(1 + u²)


def _arccosh(u: Expr, fu: Expr) -> Expr:
    return Pow(add(Pow(u, 2), neg(one_like(u.shape))), Fraction(-1, 2))  # 1 / √(u² − 1)


def _arctanh(u: Expr, fu: Expr) -> Expr:
    return Pow(_one_minus_square(u), -1)  # 1 / (1 − u²)


def _zero(u: Expr, fu: Expr) -> None:
    return None  # sign and step are piecewise constant


DERIVATIVES: dict[str, Callable[[Expr, Expr], Expr | None]] = {
    "exp": _exp,
    "log": _log,
    "sin": _sin,
    "cos": _cos,
    "tan": _tan,
    "tanh": _tanh,
    "sqrt": _sqrt,
    "abs": _abs,
    "relu": _relu,
    "sigmoid": _sigmoid,
    "sign": _zero,
    "step": _zero,
    "softplus": _softplus,
    "sinh": _sinh,
    "cosh": _cosh,
    "arcsin": _arcsin,
    "arccos": _arccos,
    "arctan": _arctan,
    "arcsinh": _arcsinh,
    "arccosh": _arccosh,
    "arctanh": _arctanh,
}


def derivative_of(node: Func) -> Expr | None:
    """f'(u) for ``node = f(u)``; None means identically zero."""
    return DERIVATIVES[node.name](node.args[0], node)
