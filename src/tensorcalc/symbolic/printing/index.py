"""Index (Einstein-style) notation for derivatives of order three and four.

The derivative tensor is read off the differential L(dX), which is linear in dX:
T[out..., in...] = L(E)[out...] with E the unit array at the input position, i.e. every dX_ab is
replaced by the Kronecker deltas δ_ak δ_bl. Each node gets index labels for its axes (matrix
product: a summed index between neighbours; ⊙: shared indices; ᵀ: swapped; tr: a repeated index;
diag(v)_ij = δ_ij v_i), and deltas against summed indices are contracted away. What remains is a
sum of products such as A[i,k] B[l,j] (the derivative of A X B) or δ[i,j] δ[i,k] exp(x)[i].

Higher orders are built stage by stage on these terms, never on the vec-form matrices: the
derivative of a term with respect to the next variable is the product rule over its factors,
and each factor f[labels] contributes the index terms of its own differential df (again linear
in the new dX) at those labels. So Jacobians of Jacobians need no Kronecker or commutation
symbol here, and the factors stay subexpressions of the function (A, tanh(A*x), inv(X), ...).

This is the display when the vec/Kronecker form would need a non-standard symbol or is longer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from html import escape

from tensorcalc.symbolic.errors import UnsupportedExpression
from tensorcalc.symbolic.expr import (
    Add,
    Const,
    Diag,
    Expr,
    Hadamard,
    Mul,
    Sum,
    Trace,
    Transpose,
    Var,
)
from tensorcalc.symbolic.shapes import as_matrix, is_matrix, is_scalar

from .latex import latex_number
from .mathml import paren
from .precedence import ATOM, precedence
from .text import format_number

#: Free indices in order: the output's axes, then each stage's variable axes.
FREE_NAMES = ("i", "j", "k", "l", "m", "n", "o", "a", "b", "c", "d", "e", "f", "g", "h")
SUM_NAMES = tuple("pqrstuvw") + tuple(f"s{i}" for i in range(1, 400))
#: Above this many terms the index notation is not offered as the display (it stays available
#: through ``index_notation()``, which has no cap).
AUTO_TERMS = 64


class TooManyTerms(Exception):
    """The index notation would exceed the requested number of terms."""


@dataclass
class Term:
    """coefficient · Π factor[indices] · Π δ[a,b], summed over ``sums``."""

    factors: list = field(default_factory=list)  # (expr, indices)
    deltas: list = field(default_factory=list)  # (a, b)
    sums: list = field(default_factory=list)

    def times(self, other: Term) -> Term:
        return Term(self.factors + other.factors, self.deltas + other.deltas,
                    self.sums + other.sums)


def _axes(shape: tuple) -> int:
    return 0 if is_scalar(shape) else 1 if len(shape) == 1 or shape[0] == 1 else 2


class _Indexer:
    def __init__(self, dx: Var, in_idx: tuple, counter: int = 0):
        self.dx = dx
        self.in_idx = in_idx
        self.counter = counter

    def fresh(self) -> str:
        name = SUM_NAMES[self.counter]
        self.counter += 1
        return name

    def terms(self, e: Expr, idx: tuple) -> list[Term]:
        if e == self.dx:
            return [Term(deltas=list(zip(idx, self.in_idx, strict=True)))]
        if not e.depends_on(self.dx):
            return [Term(factors=[(e, idx)])]
        if isinstance(e, Add):
            return [t for a in e.args for t in self.terms(a, idx)]
        if isinstance(e, Hadamard):
            return self._product([(a, idx) for a in e.args], [])
        if isinstance(e, Mul):
            return self._mul(e, idx)
        if isinstance(e, Transpose):
            return self.terms(e.args[0], tuple(reversed(idx)))
        if isinstance(e, Sum | Trace):
            a = e.args[0]
            if isinstance(e, Trace) and is_matrix(a.shape):
                s = self.fresh()
                return self._product([(a, (s, s))], [s])
            new = tuple(self.fresh() for _ in range(_axes(a.shape)))
            return self._product([(a, new)], list(new))
        if isinstance(e, Diag):
            a = e.args[0]
            if _axes(a.shape) == 1:  # diag(v)_ij = δ_ij v_i
                return [t.times(Term(deltas=[(idx[0], idx[1])])) for t in self.terms(a, idx[:1])]
            return self.terms(a, (idx[0], idx[0]))
        raise UnsupportedExpression(f"no index rule for {type(e).__name__}")

    def _mul(self, e: Mul, idx: tuple) -> list[Term]:
        chain = e.chain
        rows, cols = as_matrix(e.shape)
        left = idx[0] if rows != 1 else None
        right = idx[-1] if cols != 1 else None
        parts = [(s, ()) for s in e.scalars]
        sums: list[str] = []
        current = left
        for n, f in enumerate(chain):
            r, c = as_matrix(f.shape)
            nxt = right if n == len(chain) - 1 else (None if c == 1 else self.fresh())
            if nxt is not None and n < len(chain) - 1:
                sums.append(nxt)
            labels = tuple(x for x, d in ((current, r), (nxt, c)) if d != 1)
            parts.append((f, labels))
            current = nxt
        return self._product(parts, sums)

    def _product(self, parts: list, sums: list) -> list[Term]:
        out = [Term(sums=list(sums))]
        for expr, labels in parts:
            out = [a.times(b) for a in out for b in self.terms(expr, labels)]
        return out


def _contract(t: Term) -> Term:
    """Remove δ[a,b] when a or b is summed over, renaming that index everywhere."""
    changed = True
    while changed:
        changed = False
        for n, (a, b) in enumerate(t.deltas):
            gone, keep = (a, b) if a in t.sums else (b, a) if b in t.sums else (None, None)
            if gone is None and a != b:
                continue

            def rename(labels, gone=gone, keep=keep):
                return tuple(keep if x == gone else x for x in labels)

            deltas = t.deltas[:n] + t.deltas[n + 1 :]
            if gone is None:  # δ[a,a] = 1
                t = Term(t.factors, deltas, t.sums)
            else:
                t = Term([(f, rename(ix)) for f, ix in t.factors],
                         [rename(d) for d in deltas], [s for s in t.sums if s != gone])
            changed = True
            break
    return t


def _labels(shape: tuple, free: list) -> tuple:
    n = _axes(shape)
    out, free[:] = tuple(free[:n]), free[n:]
    return out


def _key(t: Term) -> tuple:
    """Terms equal up to the order of their factors and deltas share a key."""
    coef, rest = _split(t)
    factors = sorted(f"{e}{ix}" for e, ix in rest)
    deltas = sorted(tuple(sorted(d)) for d in t.deltas)
    return (tuple(factors), tuple(deltas), tuple(sorted(t.sums)))


def _merge_elementwise(t: Term) -> Term:
    """Factors of one shape carrying the same labels multiply elementwise: u[i] v[i] = (u ⊙ v)[i]
    (and u[i] u[i] = (u .^ 2)[i])."""
    from tensorcalc.symbolic.simplify import s_had

    groups: dict[tuple, list] = {}
    order: list = []
    for f, ix in t.factors:
        if not isinstance(f, Const) and len(set(ix)) == len(ix) == len(f.shape) and ix:
            g, gix = _normal(f, ix)
            if len(gix) == len(g.shape):
                keyed = (gix, g.shape)
                if keyed not in groups:
                    groups[keyed] = []
                    order.append(keyed)
                groups[keyed].append(g)
                continue
        order.append((f, ix))
    factors = []
    for item in order:
        if isinstance(item[0], Expr):
            factors.append(item)
        else:
            fs = groups[item]
            factors.append((fs[0] if len(fs) == 1 else s_had(*fs), item[0]))
    return Term(factors, t.deltas, t.sums)


def _collect(terms: list[Term]) -> list[Term]:
    """Add up terms that differ only in the order of their factors."""
    groups: dict[tuple, list] = {}
    terms = [_merge_elementwise(t) for t in terms]
    for t in terms:
        coef, _ = _split(t)
        k = _key(t)
        if k in groups:
            groups[k][0] = groups[k][0] + coef  # type: ignore[operator]
        else:
            groups[k] = [coef, t]
    out = []
    for coef, t in groups.values():
        if coef == 0:
            continue
        rest = [(f, ix) for f, ix in t.factors if not isinstance(f, Const)]
        out.append(Term(([(Const(coef), ())] if coef != 1 else []) + rest, t.deltas, t.sums))
    return out


def _stages(d) -> list:
    stages = []
    while d is not None:
        stages.append(d)
        d = d.parent
    return stages[::-1]


def _structured(terms: list[Term], x: Var, labels: tuple, convention: str) -> list[Term]:
    """Restrict the stage of a structured variable to its directions (derivative._projection):
    symmetric "frobenius" T ↦ (T[a,b] + T[b,a])/2, "cookbook" T ↦ T[a,b] + T[b,a] − δ[a,b] T[a,b],
    diagonal T ↦ δ[a,b] T[a,b]."""
    if x.structure is None:
        return terms
    a, b = labels

    def swapped(t: Term) -> Term:
        def sw(ix: tuple) -> tuple:
            return tuple(b if i == a else a if i == b else i for i in ix)

        return Term([(f, sw(ix)) for f, ix in t.factors], [sw(d) for d in t.deltas], t.sums)

    def scaled(t: Term, c: object, delta: bool = False) -> Term:
        return Term([(Const(c), ())] + t.factors, t.deltas + ([(a, b)] if delta else []), t.sums)

    if x.structure == "diagonal":
        return [_contract(Term(t.factors, t.deltas + [(a, b)], t.sums)) for t in terms]
    if convention == "frobenius":
        half = Fraction(1, 2)
        return [scaled(u, half) for t in terms for u in (t, swapped(t))]
    return [u for t in terms for u in (t, swapped(t), scaled(t, -1, delta=True))]


def chain_terms(d, limit: int | None = None) -> tuple[list[Term], tuple, list[tuple]]:
    """Index terms of the whole derivative chain ending at ``d``; also the output labels and
    each stage's (variable, labels). Raises ``TooManyTerms`` above ``limit`` terms."""
    from tensorcalc.symbolic.calculus import differential
    from tensorcalc.symbolic.derivative import _placeholder
    from tensorcalc.symbolic.simplify import simplify

    stages = _stages(d)
    first = stages[0]
    free = list(FREE_NAMES)
    out_idx = _labels(first.out_shape, free)
    wrt_labels = [(first.wrt, _labels(first.wrt.shape, free))]
    ix = _Indexer(first.dvar, wrt_labels[0][1])
    terms = [_contract(t) for t in ix.terms(first.differential, out_idx)]
    terms = _collect(_structured(terms, first.wrt, wrt_labels[0][1], first.symmetric_convention))
    counter = ix.counter
    for stage in stages[1:]:
        x = stage.wrt
        labels = _labels(x.shape, free)
        wrt_labels.append((x, labels))
        dx = _placeholder(x, first.base)
        memo: dict = {}
        new: list[Term] = []
        for t in terms:
            for n, (f, flabels) in enumerate(t.factors):
                if not f.depends_on(x):
                    continue
                if f not in memo:
                    raw = differential(f, x, dx)
                    memo[f] = None if raw is None else simplify(raw)
                if memo[f] is None:
                    continue
                ix = _Indexer(dx, labels, counter)
                rest = Term(t.factors[:n] + t.factors[n + 1 :], t.deltas, t.sums)
                for piece in ix.terms(memo[f], flabels):
                    new.append(_contract(rest.times(piece)))
                counter = ix.counter
                if limit is not None and len(new) > limit:
                    raise TooManyTerms
        terms = _collect(_structured(new, x, labels, stage.symmetric_convention))
    if limit is not None and len(terms) > limit:
        raise TooManyTerms
    return terms, out_idx, wrt_labels


def index_terms(L: Expr, dx: Var, out_shape: tuple) -> tuple[list[Term], tuple, tuple]:
    """Terms of T[out, in] from the differential L; also the out and in index labels."""
    free = list(FREE_NAMES)
    out_idx = _labels(out_shape, free)
    in_idx = _labels(dx.shape, free)
    ix = _Indexer(dx, in_idx)
    return [_contract(t) for t in ix.terms(L, out_idx)], out_idx, in_idx


def _normal(e: Expr, labels: tuple) -> tuple[Expr, tuple]:
    """Transposes become swapped labels (and vanish on vectors)."""
    while isinstance(e, Transpose):
        e = e.args[0]
        labels = tuple(reversed(labels))
    return e, labels


def _split(t: Term) -> tuple[object, list]:
    """(numeric coefficient, other factors) of a term."""
    coef: object = 1
    rest = []
    for f, ix in t.factors:
        if isinstance(f, Const):
            coef = coef * f.value  # type: ignore[operator]
        else:
            rest.append(_normal(f, ix))
    return coef, sorted(rest, key=lambda p: bool(p[1]))  # scalar factors first


def _factor_text(e: Expr, labels: tuple) -> str:
    if not labels:
        return str(e) if precedence(e) >= ATOM else f"({e})"
    base = str(e) if precedence(e) >= ATOM else f"({e})"
    return base + f"[{','.join(labels)}]"


def _factor_latex(e: Expr, labels: tuple) -> str:
    base = e.latex()
    if precedence(e) < ATOM or (labels and not isinstance(e, Var)):
        base = rf"\left({base}\right)"
    return base + (f"_{{{''.join(labels)}}}" if labels else "")


def _join(coef: object, pieces: list[str], sep: str, fmt) -> str:
    body = sep.join(pieces) or "1"
    if coef == 1:
        return body
    if coef == -1:
        return "-" + body
    return fmt(coef) + sep + body


def _order_prefix(k: int, fmt: str) -> str:
    if k == 1:
        return "d" if fmt == "text" else "\\partial "
    return f"d^{k} " if fmt == "text" else rf"\partial^{{{k}}} "


def to_index_text(d, limit: int | None = None) -> str:
    terms, out_idx, wrt = chain_terms(d, limit)
    k = len(wrt)
    out = f"[{','.join(out_idx)}]" if out_idx else ""
    den = "".join(f"d{x.name}[{','.join(ix)}]" for x, ix in wrt)
    lhs = f"{_order_prefix(k, 'text')}{_name(d)}{out}/{den}"
    parts = []
    for t in terms:
        coef, factors = _split(t)
        pieces = ([f"sum_{''.join(t.sums)}"] if t.sums else []) + [
            f"δ[{a},{b}]" for a, b in t.deltas] + [_factor_text(f, ix) for f, ix in factors]
        parts.append(_join(coef, pieces, " * ", format_number))
    return f"{lhs} = " + (" + ".join(parts).replace("+ -", "- ") if parts else "0")


def to_index_latex(d) -> str:
    terms, out_idx, wrt = chain_terms(d)
    k = len(wrt)
    out = f"_{{{''.join(out_idx)}}}" if out_idx else ""
    den = r"\,".join(rf"\partial {x.latex()}_{{{''.join(ix)}}}" for x, ix in wrt)
    lhs = rf"\frac{{{_order_prefix(k, 'latex')}{_name(d)}{out}}}{{{den}}}"
    parts = []
    for t in terms:
        coef, factors = _split(t)
        pieces = ([rf"\sum_{{{''.join(t.sums)}}}"] if t.sums else []) + [
            rf"\delta_{{{a}{b}}}" for a, b in t.deltas] + [
            _factor_latex(f, ix) for f, ix in factors]
        parts.append(_join(coef, pieces, " ", latex_number))
    return f"{lhs} = " + (" + ".join(parts).replace("+ -", "- ") if parts else "0")


def to_index_mathml(d, display: str = "block") -> str:
    terms, out_idx, wrt = chain_terms(d)

    def sub(base: str, labels: tuple) -> str:
        if not labels:
            return base
        idx = "".join(f"<mi>{escape(x)}</mi>" for x in labels)
        return f"<msub>{base}<mrow>{idx}</mrow></msub>"

    def factor(e: Expr, labels: tuple) -> str:
        inner = e.mathml(display=display)[len(f'<math display="{display}">'): -len("</math>")]
        if not isinstance(e, Var):
            inner = paren(inner)  # fences that stretch only around a fraction
        return sub(inner, labels)

    k = len(wrt)
    d_op = "<mo>∂</mo>" if k == 1 else f"<msup><mo>∂</mo><mn>{k}</mn></msup>"
    num = sub(f"<mi>{escape(_name(d))}</mi>", out_idx)
    den = "".join(f"<mo>∂</mo>{sub(f'<mi>{escape(x.name)}</mi>', ix)}" for x, ix in wrt)
    lhs = f"<mfrac><mrow>{d_op}{num}</mrow><mrow>{den}</mrow></mfrac>"
    parts = []
    for t in terms:
        coef, factors = _split(t)
        pieces = ([sub("<mo>∑</mo>", tuple(t.sums))] if t.sums else []) + [
            sub("<mi>δ</mi>", (a, b)) for a, b in t.deltas] + [factor(f, ix) for f, ix in factors]
        if coef != 1:
            pieces.insert(0, f"<mn>{escape(format_number(coef))}</mn>")
        parts.append("<mo>&#x2062;</mo>".join(pieces) or "<mn>1</mn>")
    rhs = "<mo>+</mo>".join(parts) if parts else "<mn>0</mn>"
    return f'<math display="{escape(display)}"><mrow>{lhs}<mo>=</mo>{rhs}</mrow></math>'


def _name(d) -> str:
    out = _stages(d)[0].out_shape
    return "F" if len(out) == 2 else "y" if len(out) == 1 else "f"
