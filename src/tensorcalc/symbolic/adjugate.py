"""Evaluating determinant derivatives through the adjugate.

Jacobi's formula d det X = det(X) tr(X⁻¹ dX) = tr(adj(X) dX) gives the Cookbook's printed form
∂det X/∂X = det(X) X⁻ᵀ (49), which reads well but cannot be evaluated at a singular X (0 · ∞),
while adj(X)ᵀ exists for every X. ``through_adjugate`` rewrites each product
det(M) · … · M⁻¹ · … into … · adj(M) · … (adj M = det(M) M⁻¹), so that the generated code and
``evaluate`` go through the adjugate (computed from the SVD without an inverse) while the printed
result keeps the textbook form. So ∂det(x yᵀ)/∂x = adj(x yᵀ)ᵀ y evaluates at the rank-one x yᵀ.
"""

from __future__ import annotations

from .expr import Add, Adj, Det, Expr, Inv, Mul, Trace, Transpose, mul
from .shapes import is_matrix


def _absorb(f: Expr, m: Expr) -> Expr | None:
    """``det(m) · f`` with one m⁻¹ inside f replaced by adj(m), or None when f has none."""
    if f == Inv(m):
        return Adj(m)
    if isinstance(f, Transpose) and f.args[0] == Inv(m):
        return Transpose(Adj(m))
    if isinstance(f, Mul):
        for i, a in enumerate(f.args):
            new = _absorb(a, m)
            if new is not None:
                return Mul(*f.args[:i], new, *f.args[i + 1 :])
        return None
    if isinstance(f, Trace):
        inner = _absorb(f.args[0], m)
        return None if inner is None else Trace(inner)
    if isinstance(f, Add):
        terms = [_absorb(t, m) for t in f.args]
        return None if any(t is None for t in terms) else Add(*terms)
    return None


def _square(m: Expr) -> bool:
    return is_matrix(m.shape) and m.shape[0] == m.shape[1]


def _splits(m: Expr) -> list[tuple[Expr, list[Expr]]]:
    """(M, []) and, for a product of square factors, (F, the other factors) for each factor:
    det(A X B) = det(A) det(X) det(B) lets det(A X B) · X⁻ᵀ become det(A) det(B) adj(X)ᵀ."""
    out: list[tuple[Expr, list[Expr]]] = [(m, [])]
    if isinstance(m, Mul) and not m.scalars and all(_square(f) for f in m.chain):
        out += [(f, [Det(g) for g in m.chain[:i] + m.chain[i + 1 :]])
                for i, f in enumerate(m.chain)]
    return out


def _rewrite_product(e: Mul) -> Expr:
    args = list(e.args)
    for i, s in enumerate(args):
        if not (isinstance(s, Det) and is_matrix(s.args[0].shape)):
            continue
        for m, dets in _splits(s.args[0]):
            rest = args[:i] + args[i + 1 :]
            for j, f in enumerate(rest):
                new = _absorb(f, m)
                if new is not None:
                    rest[j] = new
                    items = dets + rest
                    return items[0] if len(items) == 1 else mul(*items)
    return e


def through_adjugate(e: Expr) -> Expr:
    """The same value as ``e``, with det(M) · M⁻¹ evaluated as adj(M) (see the module doc)."""
    memo: dict[Expr, Expr] = {}
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:  # iterative post-order
        node, ready = stack.pop()
        if node in memo:
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in memo)
            continue
        args = tuple(memo[a] for a in node.args)
        new = node if args == node.args else node.rebuild(args)
        memo[node] = _rewrite_product(new) if isinstance(new, Mul) else new
    return memo[e]
