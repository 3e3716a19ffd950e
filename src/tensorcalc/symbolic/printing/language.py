"""Text, LaTeX and MathML for the wider language's nodes (``symbolic/language.py``).

Text is the input syntax, so printed indexing, powers and calls parse back: ``X[i, :]``,
``eye[:, i]`` (the unit vector eᵢ), ``x .^ (a - 1)``, ``X ^ k``, ``max(x, y)``,
``softmax(X, 1)``, ``expm_frechet(A, E)``. LaTeX writes indices as subscripts (``X_{i,:}``,
eᵢ for a column of I), ``e^{A}`` for expm and L_exp(A, E) for its Fréchet derivative; MathML
mirrors LaTeX.
"""

from __future__ import annotations

from tensorcalc.symbolic.expr import Const, Expr, Identity, Var
from tensorcalc.symbolic.language import (
    ALL,
    Expectation,
    Expm,
    ExpmFrechet,
    ExpmJacobian,
    Extremum,
    Index,
    LogSumExpAxis,
    MatPowSym,
    Maximum,
    PowerExpr,
    PowerSeries,
    SoftmaxAxis,
    Unvec,
)
from tensorcalc.symbolic.shapes import is_scalar

from . import latex as L
from . import mathml as M
from . import text as T
from .precedence import ATOM, POSTFIX, POW, precedence

precedence.register(Index)(lambda e: POSTFIX)
precedence.register(PowerExpr)(lambda e: POW)
precedence.register(MatPowSym)(lambda e: POW)


def _item(e: Index, spec: tuple) -> str:
    if spec == ALL:
        return ":"
    if spec[0] == "span":
        return f"{spec[1]}:{spec[2]}"
    if spec[0] == "at":
        return str(spec[1])
    return T.to_text(e.symbol(spec))


def _exponent_text(p: Expr) -> str:
    s = T.to_text(p)
    return s if isinstance(p, Var) or (isinstance(p, Const) and p.value >= 0) else f"({s})"


# ---------------------------------------------------------------------------------- text


@T._t.register
def text_index(e: Index) -> str:
    return T._wrap(e.target, POSTFIX) + "[" + ", ".join(_item(e, s) for s in e.spec) + "]"


@T._t.register
def text_maximum(e: Maximum) -> str:
    return f"{e.kind}({T.to_text(e.args[0])}, {T.to_text(e.args[1])})"


@T._t.register(SoftmaxAxis)
@T._t.register(LogSumExpAxis)
def text_axis(e: SoftmaxAxis) -> str:
    return f"{e.name}({T.to_text(e.args[0])}, {e.axis})"


@T._t.register
def text_power_expr(e: PowerExpr) -> str:
    op = " ^ " if is_scalar(e.shape) else " .^ "
    return T._wrap(e.args[0], POW + 1) + op + _exponent_text(e.args[1])


@T._t.register
def text_matpow_sym(e: MatPowSym) -> str:
    return T._wrap(e.args[0], POW + 1) + " ^ " + _exponent_text(e.args[1])


@T._t.register
def text_power_series(e: PowerSeries) -> str:
    x = T._wrap(e.args[0], POW + 1)
    k, d = T.to_text(e.args[1]), T._wrap(e.args[2], POW)
    return f"sum({x} ^ r * {d} * {x} ^ ({k} - 1 - r), r = 0..{k}-1)"


@T._t.register
def text_frechet(e: ExpmFrechet) -> str:
    return f"expm_frechet({T.to_text(e.args[0])}, {T.to_text(e.args[1])})"


@T._t.register
def text_unvec(e: Unvec) -> str:
    return f"unvec({T.to_text(e.args[0])}, {e.m}, {e.n})"


@T._t.register
def text_expectation(e: Expectation) -> str:
    return "expect(" + ", ".join(T.to_text(a) for a in e.args) + ")"


# --------------------------------------------------------------------------------- LaTeX


def _latex_item(e: Index, spec: tuple) -> str:
    if spec == ALL:
        return ":"
    if spec[0] == "sym":
        return L.to_latex(e.symbol(spec))
    return _item(e, spec)


@L._l.register
def latex_index(e: Index) -> str:
    """xᵢ, X_{i,:}; a column of I is the unit vector eᵢ."""
    a = e.target
    if isinstance(a, Identity) and e.spec[0] == ALL:
        return f"e_{{{_latex_item(e, e.spec[1])}}}"
    base = L.to_latex(a)
    if precedence(a) < ATOM or "_" in base or "^" in base:
        base = L._paren(base)
    return f"{base}_{{{','.join(_latex_item(e, s) for s in e.spec)}}}"


@L._l.register
def latex_maximum(e: Maximum) -> str:
    return f"\\{e.kind}" + L._paren(f"{L.to_latex(e.args[0])}, {L.to_latex(e.args[1])}")


@L._l.register
def latex_extremum(e: Extremum) -> str:
    name = f"\\{e.kind}" if e.name in ("max", "min") else rf"\operatorname{{{e.name}}}"
    return name + L._paren(L.to_latex(e.args[0]))


@L._l.register(SoftmaxAxis)
@L._l.register(LogSumExpAxis)
def latex_axis(e: SoftmaxAxis) -> str:
    return rf"\operatorname{{{e.name}}}_{{{e.axis}}}" + L._paren(L.to_latex(e.args[0]))


@L._l.register(PowerExpr)
@L._l.register(MatPowSym)
def latex_power_expr(e: Expr) -> str:
    circ = r"\circ " if isinstance(e, PowerExpr) and not is_scalar(e.shape) else ""
    return L._sup_base(e.args[0]) + f"^{{{circ}{L.to_latex(e.args[1])}}}"


@L._l.register
def latex_power_series(e: PowerSeries) -> str:
    _, k, d = (L.to_latex(a) for a in e.args)
    xb = L._sup_base(e.args[0])
    return rf"\sum_{{r=0}}^{{{k}-1}} {xb}^{{r}} \, {d} \, {xb}^{{{k}-1-r}}"


@L._l.register
def latex_expm(e: Expm) -> str:
    return f"e^{{{L.to_latex(e.args[0])}}}"


@L._l.register
def latex_frechet(e: ExpmFrechet) -> str:
    return r"L_{\exp}" + L._paren(f"{L.to_latex(e.args[0])}, {L.to_latex(e.args[1])}")


@L._l.register
def latex_expm_jacobian(e: ExpmJacobian) -> str:
    return r"\operatorname{dexpm}" + L._paren(L.to_latex(e.args[0]))


@L._l.register
def latex_unvec(e: Unvec) -> str:
    return rf"\operatorname{{vec}}^{{-1}}_{{{e.m} \times {e.n}}}" + L._paren(
        L.to_latex(e.args[0]))


@L._l.register
def latex_expectation(e: Expectation) -> str:
    f, x, m, s = (L.to_latex(a) for a in e.args)
    return rf"\mathbb{{E}}_{{{x} \sim \mathcal{{N}}\left({m}, {s}\right)}}\left[{f}\right]"


# -------------------------------------------------------------------------------- MathML


def _call_ml(name: str, *parts: str) -> str:
    inner = M.row(*(p if i == 0 else M.mo(",") + p for i, p in enumerate(parts)))
    return M.row(M.mi(name), M.APPLY, M.paren(inner))


def _ml_item(e: Index, spec: tuple) -> str:
    if spec == ALL:
        return M.mo(":")
    if spec[0] == "sym":
        return M._m(e.symbol(spec))
    return M.mn(_item(e, spec)) if spec[0] == "at" else M.mi(_item(e, spec))


@M._m.register
def mathml_index(e: Index) -> str:
    a = e.target
    if isinstance(a, Identity) and e.spec[0] == ALL:
        return f"<msub>{M.mi('e')}{_ml_item(e, e.spec[1])}</msub>"
    base = M._m(a)
    if precedence(a) < ATOM or "<msub>" in base or "<msup>" in base:
        base = M.paren(base)
    items = M.mo(",").join(_ml_item(e, s) for s in e.spec)
    return f"<msub>{base}{M.row(items)}</msub>"


@M._m.register
def mathml_maximum(e: Maximum) -> str:
    return _call_ml(e.kind, M._m(e.args[0]), M._m(e.args[1]))


@M._m.register
def mathml_extremum(e: Extremum) -> str:
    return _call_ml(e.name, M._m(e.args[0]))


@M._m.register(SoftmaxAxis)
@M._m.register(LogSumExpAxis)
def mathml_axis(e: SoftmaxAxis) -> str:
    head = f"<msub>{M.mi(e.name)}{M.mn(e.axis)}</msub>"
    return M.row(head, M.APPLY, M.paren(M._m(e.args[0])))


@M._m.register(PowerExpr)
@M._m.register(MatPowSym)
def mathml_power_expr(e: Expr) -> str:
    ex = M._m(e.args[1])
    if isinstance(e, PowerExpr) and not is_scalar(e.shape):
        ex = M.row(M.HADAMARD_POW, ex)
    return M.msup(M._sup_base(e.args[0]), ex)


@M._m.register
def mathml_power_series(e: PowerSeries) -> str:
    _, k, d = (M._m(a) for a in e.args)
    xb = M._sup_base(e.args[0])
    lim = f"<munderover>{M.mo('∑')}{M.row(M.mi('r'), M.mo('='), M.mn(0))}" \
          f"{M.row(k, M.mo('−'), M.mn(1))}</munderover>"
    tail = M.row(k, M.mo("−"), M.mn(1), M.mo("−"), M.mi("r"))
    return M.row(lim, M.msup(xb, M.mi("r")), d, M.msup(xb, tail))


@M._m.register
def mathml_expm(e: Expm) -> str:
    return M.msup(M.mi("e"), M._m(e.args[0]))


@M._m.register
def mathml_frechet(e: ExpmFrechet) -> str:
    head = f"<msub>{M.mi('L')}{M.mi('exp')}</msub>"
    inner = M.row(M._m(e.args[0]), M.mo(","), M._m(e.args[1]))
    return M.row(head, M.APPLY, M.paren(inner))


@M._m.register
def mathml_expm_jacobian(e: ExpmJacobian) -> str:
    return _call_ml("dexpm", M._m(e.args[0]))


@M._m.register
def mathml_unvec(e: Unvec) -> str:
    return _call_ml("unvec", M._m(e.args[0]), M.mi(str(e.m)), M.mi(str(e.n)))


@M._m.register
def mathml_expectation(e: Expectation) -> str:
    f, x, m, s = (M._m(a) for a in e.args)
    sub = M.row(x, M.mo("∼"), M.mi("𝒩"), M.paren(M.row(m, M.mo(","), s)))
    return M.row(f"<msub>{M.mi('𝔼')}{sub}</msub>", M.mo("["), f, M.mo("]"))
