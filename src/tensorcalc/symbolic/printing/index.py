"""Index (Einstein-style) notation for derivatives of order three and four.

The derivative tensor is read off the differential L(dX), which is linear in dX:
T[out..., in...] = L(E)[out...] with E the unit array at the input position, i.e. every dX_ab is
replaced by the Kronecker deltas δ_ak δ_bl. Each node gets index labels for its axes (matrix
product: a summed index between neighbours; ⊙: shared indices; ᵀ: swapped; tr: a repeated index;
diag(v)_ij = δ_ij v_i), and deltas against summed indices are contracted away. What remains is a
sum of products such as A[i,k] B[l,j] (the derivative of A X B) or δ[i,j] δ[i,k] exp(x)[i].

This is the fallback display when the vec/Kronecker form would need a non-standard symbol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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

OUT_NAMES = ("i", "j")
IN_NAMES = ("k", "l")
SUM_NAMES = tuple("pqrstuvwabcdefgh") + tuple(f"s{i}" for i in range(1, 100))


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
    def __init__(self, dx: Var, in_idx: tuple):
        self.dx = dx
        self.in_idx = in_idx
        self.counter = 0

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


def index_terms(L: Expr, dx: Var, out_shape: tuple) -> tuple[list[Term], tuple, tuple]:
    """Terms of T[out, in] from the differential L; also the out and in index labels."""
    out_idx = OUT_NAMES[: _axes(out_shape)]
    in_idx = IN_NAMES[: _axes(dx.shape)]
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
    return coef, rest


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


def to_index_text(d) -> str:
    terms, out_idx, in_idx = index_terms(d.differential, d.dvar, d.out_shape)
    lhs = f"d{_name(d)}[{','.join(out_idx)}]/d{d.wrt.name}[{','.join(in_idx)}]"
    parts = []
    for t in terms:
        coef, factors = _split(t)
        pieces = ([f"sum_{''.join(t.sums)}"] if t.sums else []) + [
            f"δ[{a},{b}]" for a, b in t.deltas] + [_factor_text(f, ix) for f, ix in factors]
        parts.append(_join(coef, pieces, " * ", format_number))
    return f"{lhs} = " + (" + ".join(parts).replace("+ -", "- ") if parts else "0")


def to_index_latex(d) -> str:
    terms, out_idx, in_idx = index_terms(d.differential, d.dvar, d.out_shape)
    lhs = (rf"\frac{{\partial {_name(d)}_{{{''.join(out_idx)}}}}}"
           rf"{{\partial {d.wrt.latex()}_{{{''.join(in_idx)}}}}}")
    parts = []
    for t in terms:
        coef, factors = _split(t)
        pieces = ([rf"\sum_{{{''.join(t.sums)}}}"] if t.sums else []) + [
            rf"\delta_{{{a}{b}}}" for a, b in t.deltas] + [
            _factor_latex(f, ix) for f, ix in factors]
        parts.append(_join(coef, pieces, " ", latex_number))
    return f"{lhs} = " + (" + ".join(parts).replace("+ -", "- ") if parts else "0")


def to_index_mathml(d, display: str = "block") -> str:
    terms, out_idx, in_idx = index_terms(d.differential, d.dvar, d.out_shape)

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

    num = sub(f"<mi>{escape(_name(d))}</mi>", out_idx)
    den = sub(f"<mi>{escape(d.wrt.name)}</mi>", in_idx)
    lhs = f"<mfrac><mrow><mo>∂</mo>{num}</mrow><mrow><mo>∂</mo>{den}</mrow></mfrac>"
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
    return "F" if len(d.out_shape) == 2 else "y" if len(d.out_shape) == 1 else "f"
