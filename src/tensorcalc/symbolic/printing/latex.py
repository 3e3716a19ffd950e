"""LaTeX printer: matrix notation as in the Matrix Cookbook.

Matrix products are juxtaposed (``A x``), ``\\odot``/``\\oslash`` are elementwise, ``^{\\top}``
is the transpose, ``X^{-\\top}`` the inverse transpose, ``x^{\\circ 2}`` an elementwise power and
``\\otimes`` the Kronecker product. Parentheses come from the shared precedence table.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import singledispatch

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

from .precedence import ATOM, MUL, POSTFIX, POW, is_negative, precedence
from .text import format_number, negated, split_product

GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "pi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega",
    "Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega",
}
_FUNC = {
    "exp": r"\exp", "log": r"\log", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan",
    "tanh": r"\tanh", "sigmoid": r"\sigma", "sinh": r"\sinh", "cosh": r"\cosh",
    "arcsin": r"\arcsin", "arccos": r"\arccos", "arctan": r"\arctan",
}


def to_latex(e: Expr) -> str:
    return _l(e)


def latex_name(name: str) -> str:
    """``x`` → x, ``x1``/``x_1`` → x_{1}, ``alpha`` → \\alpha, ``W_out`` → W_{\\mathrm{out}}."""
    m = re.fullmatch(r"([A-Za-z]+?)_?([0-9]+)", name)
    if m:
        return f"{latex_name(m.group(1))}_{{{m.group(2)}}}"
    if "_" in name:
        head, tail = name.split("_", 1)
        tail = tail.replace("_", r"\_")
        return latex_name(head) + r"_{\mathrm{" + tail + "}}"
    if name in GREEK:
        return "\\" + name
    return name if len(name) == 1 else f"\\mathrm{{{name}}}"


def latex_number(v: object) -> str:
    if isinstance(v, Fraction) and v.denominator != 1:
        return rf"\frac{{{v.numerator}}}{{{v.denominator}}}"
    return format_number(v)


def _paren(s: str) -> str:
    return rf"\left({s}\right)"


def _wrap(e: Expr, need: int) -> str:
    s = _l(e)
    return _paren(s) if precedence(e) < need else s


def _sup_base(e: Expr) -> str:
    """A base for a superscript: anything that already carries one gets parentheses."""
    if isinstance(e, Transpose | Pow | MatPow | Inv) or precedence(e) < ATOM:
        return _paren(_l(e))
    return _l(e)


@singledispatch
def _l(e: Expr) -> str:
    raise TypeError(f"no LaTeX rule for {type(e).__name__}")


@_l.register
def latex_var(e: Var) -> str:
    return latex_name(e.name)


@_l.register
def latex_differential(e: Differential) -> str:
    return r"\mathrm{d}" + latex_name(e.of.name)


@_l.register
def latex_const(e: Const) -> str:
    return latex_number(e.value)


@_l.register
def latex_fill(e: Fill) -> str:
    one = r"\mathbf{1}" + (r"^{\top}" if is_row(e.shape) else "")
    return one if e.value == 1 else f"{latex_number(e.value)} {one}"


@_l.register
def latex_identity(e: Identity) -> str:
    return "I"


@_l.register
def latex_zero(e: Zero) -> str:
    return "0"


@_l.register
def latex_commutation(e: Commutation) -> str:
    return f"K_{{{e.m},{e.n}}}"


@_l.register
def latex_diag_embed(e: DiagEmbed) -> str:
    return f"E_{{{e.n}}}"


@_l.register
def latex_add(e: Add) -> str:
    out = [_l(e.args[0])]
    for t in e.args[1:]:
        out.append(" - " + _l(negated(t)) if is_negative(t) else " + " + _l(t))
    return "".join(out)


@_l.register
def latex_mul(e: Mul) -> str:
    r"""Scalar factors with negative powers go into a ``\frac`` denominator."""
    coef, num, den = split_product(e)
    sign = ""
    if coef < 0:  # type: ignore[operator]
        sign, coef = "-", -coef  # type: ignore[operator]
    head = latex_number(coef) if coef != 1 else ""
    body = " ".join(_wrap(f, MUL + 1) for f in num)
    if den:
        bottom = " ".join(_wrap(d, MUL + 1) for d in den)
        if isinstance(coef, Fraction) and coef.denominator != 1:
            head = str(coef.numerator) if coef.numerator != 1 else ""
            bottom = f"{coef.denominator} {bottom}"
        top = " ".join(p for p in (head, body) if p) or "1"
        return sign + rf"\frac{{{top}}}{{{bottom}}}"
    return sign + " ".join(p for p in (head, body) if p)


@_l.register
def latex_hadamard(e: Hadamard) -> str:
    r"""Factors with negative powers go after ``\oslash``."""
    num = [a for a in e.args if not (isinstance(a, Pow) and a.exponent < 0)]
    den = [a for a in e.args if isinstance(a, Pow) and a.exponent < 0]
    text = r" \odot ".join(_wrap(a, MUL + 1) for a in num) if num else r"\mathbf{1}"
    for d in den:
        base = d.args[0] if d.exponent == -1 else Pow(d.args[0], -d.exponent)
        text += r" \oslash " + _wrap(base, MUL + 1)
    return text


@_l.register
def latex_transpose(e: Transpose) -> str:
    r"""``inv(X)'`` prints as ``X^{-\top}``."""
    a = e.args[0]
    if isinstance(a, Inv):
        return _sup_base(a.args[0]) + r"^{-\top}"
    s = _l(a)
    if precedence(a) < POSTFIX or isinstance(a, Pow | MatPow | Transpose):
        s = _paren(s)
    return s + r"^{\top}"


@_l.register
def latex_pow(e: Pow) -> str:
    p = e.exponent
    if p == Fraction(1, 2):
        return rf"\sqrt{{{_l(e.args[0])}}}"
    circ = "" if is_scalar(e.shape) else r"\circ "
    return _sup_base(e.args[0]) + f"^{{{circ}{latex_number(p)}}}"


@_l.register
def latex_matpow(e: MatPow) -> str:
    return _sup_base(e.args[0]) + f"^{{{e.k}}}"


@_l.register
def latex_inv(e: Inv) -> str:
    return _sup_base(e.args[0]) + "^{-1}"


@_l.register
def latex_func(e: Func) -> str:
    a = e.args[0]
    if e.name == "sqrt":
        return rf"\sqrt{{{_l(a)}}}"
    if e.name == "abs":
        return rf"\left|{_l(a)}\right|"
    name = _FUNC.get(e.name, rf"\operatorname{{{e.name}}}")
    return name + _paren(_l(a))


_UNARY = {
    Sum: r"\operatorname{sum}", Trace: r"\operatorname{tr}", Det: r"\det",
    LogDet: r"\log\det", Adj: r"\operatorname{adj}", Diag: r"\operatorname{diag}",
    Softmax: r"\operatorname{softmax}", LogSumExp: r"\operatorname{logsumexp}",
    Vec: r"\operatorname{vec}",
}


@_l.register
def latex_unary(e: Unary) -> str:
    r"""Norms as ``\|a\|_1``, ``_2`` or ``_F``; the other operations by operator name."""
    a = e.args[0]
    if isinstance(e, Norm1 | Norm2):
        sub = "1" if isinstance(e, Norm1) else ("F" if is_matrix(a.shape) else "2")
        return rf"\left\|{_l(a)}\right\|_{sub}"
    return _UNARY[type(e)] + _paren(_l(a))


@_l.register
def latex_kron(e: Kron) -> str:
    return _wrap(e.args[0], MUL + 1) + r" \otimes " + _wrap(e.args[1], MUL + 1)


__all__ = ["to_latex", "latex_name", "latex_number", "POW"]
