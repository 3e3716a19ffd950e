"""Plain-text printer in the input language of matrixcalculus.org.

``'`` transpose, ``*`` matrix product, ``.*`` / ``./`` elementwise, ``inv(X)'`` for X⁻ᵀ. Output of
first derivatives and Hessians parses back with ``tensorcalc.symbolic.parse`` (vec-form results use
``kron``/``vec``/``commutation``, which the parser does not accept).
"""

from __future__ import annotations

from fractions import Fraction
from functools import singledispatch

from tensorcalc.symbolic.expr import (
    Add,
    Commutation,
    Const,
    DiagEmbed,
    Expr,
    Fill,
    Func,
    Hadamard,
    Identity,
    Kron,
    MatPow,
    Mul,
    Pow,
    Transpose,
    Unary,
    Var,
    Zero,
)
from tensorcalc.symbolic.shapes import is_row, is_scalar, is_vector

from .precedence import MUL, POSTFIX, POW, is_negative, precedence


def format_number(v: object) -> str:
    """Exact decimal when it terminates (1/2 → 0.5), else ``p/q``."""
    if isinstance(v, Fraction):
        if v.denominator == 1:
            return str(v.numerator)
        d = v.denominator
        for p in (2, 5):
            while d % p == 0:
                d //= p
        if d == 1:
            return format(float(v), ".15g") if abs(v) > 1e-6 else repr(float(v))
        return f"{v.numerator}/{v.denominator}"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def to_text(e: Expr) -> str:
    return _t(e)


def _wrap(e: Expr, need: int) -> str:
    s = _t(e)
    if isinstance(e, Kron):  # printed as a call, kron(A, B): never needs parentheses
        return s
    return f"({s})" if precedence(e) < need else s


@singledispatch
def _t(e: Expr) -> str:
    raise TypeError(f"no text rule for {type(e).__name__}")


@_t.register
def text_var(e: Var) -> str:
    return e.name


@_t.register
def text_const(e: Const) -> str:
    return format_number(e.value)


@_t.register
def text_fill(e: Fill) -> str:
    kind = "vector" if is_vector(e.shape) or is_row(e.shape) else "matrix"
    s = f"{kind}({format_number(e.value)})"
    return s + "'" if is_row(e.shape) else s


@_t.register
def text_identity(e: Identity) -> str:
    return "eye"


@_t.register
def text_zero(e: Zero) -> str:
    return "0"


@_t.register
def text_commutation(e: Commutation) -> str:
    return f"commutation({e.m}, {e.n})"


@_t.register
def text_diag_embed(e: DiagEmbed) -> str:
    return f"diag_embed({e.n})"


@_t.register
def text_add(e: Add) -> str:
    """Negative terms print as subtractions: ``a - b``, not ``a + -1 * b``."""
    out = [_t(e.args[0])]
    for term in e.args[1:]:
        if is_negative(term):
            out.append(" - " + _t(negated(term)))
        else:
            out.append(" + " + _t(term))
    return "".join(out)


def negated(e: Expr) -> Expr:
    """The expression without its leading minus sign (printing helper)."""
    if isinstance(e, Const):
        return Const(-e.value)
    assert isinstance(e, Mul)
    c = -e.args[0].value
    rest = e.args[1:]
    if c == 1:
        return rest[0] if len(rest) == 1 else Mul(*rest)
    return Mul(Const(c), *rest)


def split_product(e: Mul) -> tuple[object, list, list]:
    """(coefficient, numerator factors, denominator factors) of a product, for printing."""
    coef: object = 1
    num: list = []
    den: list = []
    for f in e.args:
        if isinstance(f, Const):
            coef = coef * f.value  # type: ignore[operator]
        elif isinstance(f, Pow) and is_scalar(f.shape) and f.exponent < 0:
            den.append(f.args[0] if f.exponent == -1 else Pow(f.args[0], -f.exponent))
        else:
            num.append(f)
    return coef, num, den


@_t.register
def text_mul(e: Mul) -> str:
    """Coefficient first; scalar factors with negative powers go after ``/``."""
    coef, num, den = split_product(e)
    sign = ""
    if coef < 0:  # type: ignore[operator]
        sign, coef = "-", -coef  # type: ignore[operator]
    parts = []
    if isinstance(coef, Fraction) and coef.denominator != 1 and coef.numerator == 1:
        den.insert(0, Const(coef.denominator))
    elif coef != 1:
        parts.append(format_number(coef))
    parts.extend(_wrap(f, MUL + 1) for f in num)
    text = " * ".join(parts) if parts else "1"
    for d in den:
        text += " / " + _wrap(d, POW)
    return sign + text


@_t.register
def text_hadamard(e: Hadamard) -> str:
    """Factors with negative powers go after ``./``."""
    num = [a for a in e.args if not (isinstance(a, Pow) and a.exponent < 0)]
    den = [a for a in e.args if isinstance(a, Pow) and a.exponent < 0]
    if num:
        text = " .* ".join(_wrap(a, MUL + 1) for a in num)
    else:
        text = _t(Fill(1, e.shape))
    for d in den:
        base = d.args[0] if d.exponent == -1 else Pow(d.args[0], -d.exponent)
        text += " ./ " + _wrap(base, MUL + 1)
    return text


@_t.register
def text_transpose(e: Transpose) -> str:
    return _wrap(e.args[0], POSTFIX) + "'"


@_t.register
def text_pow(e: Pow) -> str:
    op = " ^ " if is_scalar(e.shape) else " .^ "
    exp_text = format_number(e.exponent)
    if "/" in exp_text:
        exp_text = f"({exp_text})"
    return _wrap(e.args[0], POW + 1) + op + exp_text


@_t.register
def text_matpow(e: MatPow) -> str:
    return _wrap(e.args[0], POW + 1) + f" ^ {e.k}"


@_t.register
def text_func(e: Func) -> str:
    return f"{e.name}({_t(e.args[0])})"


@_t.register
def text_unary(e: Unary) -> str:
    """Every named operation (``tr``, ``det``, ``inv``, ...) prints as a call."""
    return f"{e.name}({_t(e.args[0])})"


@_t.register
def text_kron(e: Kron) -> str:
    return f"kron({_t(e.args[0])}, {_t(e.args[1])})"
