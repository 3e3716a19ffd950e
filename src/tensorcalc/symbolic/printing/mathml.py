"""MathML Core printer (renders natively in current browsers, no JavaScript library).

The structure mirrors the LaTeX printer: ``<msup>`` for ⊤, −1, −⊤ and powers, ``<mfrac>`` for
scalar division, ``⊙ ⊘ ⊗`` as operators, U+2062 (invisible times) between juxtaposed factors and
U+2061 (function application) after function names. Bold one is U+1D7CF, since MathML Core
has no ``mathvariant`` other than normal.
"""

from __future__ import annotations

from fractions import Fraction
from functools import singledispatch
from html import escape

from tensorcalc.symbolic.expr import (
    Add,
    Adj,
    Commutation,
    Const,
    Det,
    Diag,
    DiagEmbed,
    Differential,
    Expr,
    Fill,
    Func,
    Hadamard,
    Identity,
    Inv,
    Kron,
    LogDet,
    LogSumExp,
    MatPow,
    Mul,
    Norm1,
    Norm2,
    Pow,
    Softmax,
    Sum,
    Trace,
    Transpose,
    Unary,
    Var,
    Vec,
    Zero,
)
from tensorcalc.symbolic.shapes import is_matrix, is_row, is_scalar

from .precedence import ATOM, MUL, POSTFIX, is_negative, precedence
from .text import format_number, negated, split_product

INVISIBLE_TIMES = "<mo>&#x2062;</mo>"
APPLY = "<mo>&#x2061;</mo>"
# Operators inside a superscript carry no spacing of their own: the dictionary's spacing for ⊤
# (a relation) and − (binary) is what made X^{−⊤} read "X − ⊤" and y^{∘2} read "y ° 2".
TOP = '<mo lspace="0" rspace="0">&#x22A4;</mo>'
SUP_MINUS = '<mo form="prefix" lspace="0" rspace="0">&#x2212;</mo>'
HADAMARD_POW = '<mo lspace="0" rspace="0">&#x2218;</mo>'


def to_mathml(e: Expr, display: str = "block") -> str:
    return f'<math display="{escape(display)}">{_m(e)}</math>'


def mi(s: str) -> str:
    return f"<mi>{escape(s)}</mi>"


def mo(s: str) -> str:
    return f"<mo>{escape(s)}</mo>"


def mn(v: object) -> str:
    if isinstance(v, Fraction) and v.denominator != 1:
        return f"<mfrac><mn>{v.numerator}</mn><mn>{v.denominator}</mn></mfrac>"
    return f"<mn>{escape(format_number(v))}</mn>"


def row(*parts: str) -> str:
    return "<mrow>" + "".join(parts) + "</mrow>"


def fence(symbol: str, inside: str) -> str:
    """A fence that grows only around a fraction or a square root. MathML stretches fences to
    any tall content by default (a superscript, a subscript), which drew parentheses much
    taller than the letters they enclose."""
    stretchy = "true" if "<mfrac" in inside or "<msqrt" in inside else "false"
    return f'<mo stretchy="{stretchy}">{escape(symbol)}</mo>'


def paren(s: str) -> str:
    return row(fence("(", s), s, fence(")", s))


def _wrap(e: Expr, need: int) -> str:
    s = _m(e)
    return paren(s) if precedence(e) < need else s


def _sup_base(e: Expr) -> str:
    if isinstance(e, Transpose | Pow | MatPow | Inv) or precedence(e) < ATOM:
        return paren(_m(e))
    return _m(e)


def msup(base: str, sup: str) -> str:
    return f"<msup>{base}{sup}</msup>"


def name_ml(name: str) -> str:
    if "_" in name:
        head, tail = name.split("_", 1)
        return f"<msub>{mi(head)}{mi(tail)}</msub>"
    return mi(name)


@singledispatch
def _m(e: Expr) -> str:
    raise TypeError(f"no MathML rule for {type(e).__name__}")


@_m.register
def mathml_var(e: Var) -> str:
    return name_ml(e.name)


@_m.register
def mathml_differential(e: Differential) -> str:
    return row(mi("d"), name_ml(e.of.name))


@_m.register
def mathml_const(e: Const) -> str:
    if e.value < 0:
        return row(mo("\u2212"), mn(-e.value))
    return mn(e.value)


@_m.register
def mathml_fill(e: Fill) -> str:
    one = "<mn>\U0001D7CF</mn>"
    if is_row(e.shape):
        one = msup(one, TOP)
    return one if e.value == 1 else row(mn(e.value), INVISIBLE_TIMES, one)


@_m.register
def mathml_identity(e: Identity) -> str:
    return mi("I")


@_m.register
def mathml_zero(e: Zero) -> str:
    return mn(0)


@_m.register
def mathml_commutation(e: Commutation) -> str:
    return f"<msub>{mi('K')}{row(mi(str(e.m)), mo(','), mi(str(e.n)))}</msub>"


@_m.register
def mathml_diag_embed(e: DiagEmbed) -> str:
    return f"<msub>{mi('E')}{mi(str(e.n))}</msub>"


@_m.register
def mathml_add(e: Add) -> str:
    parts = [_m(e.args[0])]
    for t in e.args[1:]:
        parts += [mo("\u2212"), _m(negated(t))] if is_negative(t) else [mo("+"), _m(t)]
    return row(*parts)


@_m.register
def mathml_mul(e: Mul) -> str:
    """Scalar factors with negative powers go into an ``mfrac`` denominator."""
    coef, num, den = split_product(e)
    sign = ""
    if coef < 0:  # type: ignore[operator]
        sign, coef = mo("\u2212"), -coef  # type: ignore[operator]
    pieces = ([mn(coef)] if coef != 1 else []) + [_wrap(f, MUL + 1) for f in num]
    top = INVISIBLE_TIMES.join(pieces) if pieces else mn(1)
    if den:
        bottom = INVISIBLE_TIMES.join(_wrap(d, MUL + 1) for d in den)
        return row(sign, f"<mfrac>{row(top)}{row(bottom)}</mfrac>")
    return row(sign, top)


@_m.register
def mathml_hadamard(e: Hadamard) -> str:
    """Factors with negative powers go after ⊘."""
    num = [a for a in e.args if not (isinstance(a, Pow) and a.exponent < 0)]
    den = [a for a in e.args if isinstance(a, Pow) and a.exponent < 0]
    parts = mo("\u2299").join(_wrap(a, MUL + 1) for a in num) if num else "<mn>\U0001D7CF</mn>"
    for d in den:
        base = d.args[0] if d.exponent == -1 else Pow(d.args[0], -d.exponent)
        parts += mo("\u2298") + _wrap(base, MUL + 1)
    return row(parts)


@_m.register
def mathml_transpose(e: Transpose) -> str:
    """``inv(X)'`` prints as X with superscript −⊤."""
    a = e.args[0]
    if isinstance(a, Inv):
        return msup(_sup_base(a.args[0]), row(SUP_MINUS, TOP))
    s = _m(a)
    if precedence(a) < POSTFIX or isinstance(a, Pow | MatPow | Transpose):
        s = paren(s)
    return msup(s, TOP)


@_m.register
def mathml_pow(e: Pow) -> str:
    if e.exponent == Fraction(1, 2):
        return f"<msqrt>{_m(e.args[0])}</msqrt>"
    exp = mn(e.exponent) if e.exponent >= 0 else row(SUP_MINUS, mn(-e.exponent))
    if not is_scalar(e.shape):
        exp = row(HADAMARD_POW, exp)  # the Hadamard power y^{∘2}
    return msup(_sup_base(e.args[0]), exp)


@_m.register
def mathml_matpow(e: MatPow) -> str:
    return msup(_sup_base(e.args[0]), mn(e.k))


@_m.register
def mathml_inv(e: Inv) -> str:
    return msup(_sup_base(e.args[0]), row(SUP_MINUS, mn(1)))


@_m.register
def mathml_func(e: Func) -> str:
    a = e.args[0]
    if e.name == "sqrt":
        return f"<msqrt>{_m(a)}</msqrt>"
    if e.name == "abs":
        inner = _m(a)
        return row(fence("|", inner), inner, fence("|", inner))
    name = "\u03c3" if e.name == "sigmoid" else e.name
    return row(mi(name), APPLY, paren(_m(a)))


_UNARY = {
    Sum: "sum", Trace: "tr", Det: "det", LogDet: "log det", Adj: "adj", Diag: "diag",
    Softmax: "softmax", LogSumExp: "logsumexp", Vec: "vec",
}


@_m.register
def mathml_unary(e: Unary) -> str:
    """Norms as ‖a‖ with subscript 1, 2 or F; the other operations by name."""
    a = e.args[0]
    if isinstance(e, Norm1 | Norm2):
        sub = "1" if isinstance(e, Norm1) else ("F" if is_matrix(a.shape) else "2")
        sub_ml = mn(sub) if sub.isdigit() else mi(sub)
        inner = _m(a)
        return f"<msub>{row(fence('‖', inner), inner, fence('‖', inner))}{sub_ml}</msub>"
    return row(mi(_UNARY[type(e)]), APPLY, paren(_m(a)))


@_m.register
def mathml_kron(e: Kron) -> str:
    return row(_wrap(e.args[0], MUL + 1), mo("\u2297"), _wrap(e.args[1], MUL + 1))
