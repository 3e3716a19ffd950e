"""Gaussian expectations of polynomials: ``expect(f, x, m, S)`` = E[f(x)] for x ~ N(m, S).

For a polynomial f of a vector (or scalar) x the heat-equation identity gives the expectation in
finitely many terms:

    E[f(x)] = Σ_k (1 / (2ᵏ k!)) (Δ_Sᵏ f)(m),   Δ_S f = tr(S ∇²f)   (∇²f the Hessian),

since E[f(m + z)] for z ~ N(0, S) is exp(½ tr(S ∇∇ᵀ)) f at m (Isserlis' theorem in operator
form). Δ_S lowers the degree by two, so the sum stops when f no longer depends on x. Each
Hessian is a symbolic derivative, so the closed forms are the package's own:
E[xᵀAx] = mᵀAm + tr(S(A + Aᵀ))/2, E[(aᵀx)²] = (aᵀm)² + aᵀSa, ... A vector or matrix f is
handled through a stand-in cotangent C: E[f] = ∂E[⟨C, f⟩]/∂C, since E is linear.

Only polynomials are expanded (sums, products, ⊙, transposes, non-negative integer powers,
tr, sum, diag, vec, kron, indexing); anything else in x raises ``UnsupportedExpression``.
"""

from __future__ import annotations

from fractions import Fraction

from .errors import UnsupportedExpression
from .expr import (
    Add,
    Const,
    Diag,
    Expr,
    Fill,
    Hadamard,
    Identity,
    Kron,
    MatPow,
    Mul,
    Pow,
    Sum,
    Trace,
    Transpose,
    Var,
    Vec,
    Zero,
    mul,
    transpose,
)
from .language import Expectation, Index
from .shapes import is_matrix, is_scalar, is_vector

#: Δ_S is applied at most this many times (a polynomial of degree 2·MAX_ORDER)
MAX_ORDER = 6
_POLYNOMIAL = (Add, Mul, Hadamard, Transpose, Trace, Sum, Diag, Vec, Kron, Index, MatPow, Var,
               Const, Fill, Identity, Zero)


def _check_polynomial(f: Expr, x: Var) -> None:
    stack = [f]
    while stack:
        n = stack.pop()
        if not n.depends_on(x):
            continue
        ok = isinstance(n, _POLYNOMIAL) or (
            isinstance(n, Pow) and isinstance(n.exponent, int) and n.exponent >= 0)
        if not ok:
            raise UnsupportedExpression(
                f"expect: E[f(x)] is expanded for polynomials in {x.name} only (sums, products, "
                f"transposes, integer powers, tr, sum); {n} is not one")
        stack.extend(n.args)


def _inner(c: Expr, f: Expr) -> Expr:
    if is_scalar(f.shape):
        return mul(c, f)
    if is_vector(f.shape):
        return mul(transpose(c), f)
    if not is_matrix(f.shape):  # a row vector
        return mul(f, transpose(c))
    return Trace(mul(transpose(c), f))


def gaussian_expectation(f: Expr, x: Var, m: Expr, s: Expr) -> Expr:
    """E[f(x)] for x ~ N(m, s) in closed form (see the module doc)."""
    from .calculus import substitute
    from .derivative import derivative, hessian
    from .simplify import simplify

    _check_polynomial(f, x)
    if not is_scalar(f.shape):
        taken = {v.name for v in f.free_vars | m.free_vars | s.free_vars}
        name = next(n for n in ("C", "C_", "C__", "Cot") if n not in taken)
        c = Var(name, f.shape)
        scalar = gaussian_expectation(_inner(c, f), x, m, s)
        if not scalar.depends_on(c):
            return Zero(f.shape) if not is_scalar(f.shape) else Const(0)
        return derivative(scalar, c, layout="gradient", steps=False).expr
    terms: list[Expr] = []
    cur: Expr = f
    coef = Fraction(1)
    for k in range(MAX_ORDER + 1):
        terms.append(mul(Const(coef), cur) if coef != 1 else cur)
        if not cur.depends_on(x):
            break
        if k == MAX_ORDER:
            raise UnsupportedExpression(f"expect: {f} has degree above {2 * MAX_ORDER} in "
                                        f"{x.name}; expand a lower-degree polynomial")
        h = hessian(cur, x).expr
        cur = simplify(mul(s, h) if is_scalar(x.shape) else Trace(mul(s, h)))
        coef /= 2 * (k + 1)
    total = simplify(terms[0] if len(terms) == 1 else Add(*terms))
    return simplify(tidy_traces(simplify(substitute(total, x, m))))


def _distribute(e: Expr, budget: int = 64) -> list[Expr]:
    """The terms of e with products distributed over sums (e itself when that grows past
    ``budget`` terms)."""
    if isinstance(e, Add):
        return [t for a in e.args for t in _distribute(a, budget)]
    if isinstance(e, Mul):
        out: list[list[Expr]] = [[]]
        for f in e.args:
            parts = _distribute(f, budget)
            out = [o + [p] for o in out for p in parts]
            if len(out) > budget:
                return [e]
        return [mul(*o) for o in out]
    return [e]


def _trace_of_term(t: Expr) -> Expr:
    """tr(c s A ... ) = c s tr(A ...), without identities; tr(P u vᵀ Q) = vᵀ Q P u."""
    from .shapes import is_row

    scalars = [f for f in (t.args if isinstance(t, Mul) else (t,)) if is_scalar(f.shape)]
    chain = [f for f in (t.args if isinstance(t, Mul) else (t,))
             if not is_scalar(f.shape) and not isinstance(f, Identity)]
    if not chain:
        return mul(*scalars, Trace(t.chain[0] if isinstance(t, Mul) else t))
    rows = [j for j, f in enumerate(chain) if is_row(f.shape)]
    if rows:  # rotate the row vector to the front: tr(P u vᵀ Q) = vᵀ Q P u
        j = rows[0]
        return mul(*scalars, mul(*chain[j:], *chain[:j]))
    return mul(*scalars, Trace(mul(*chain)))


def tidy_traces(e: Expr) -> Expr:
    """Distribute traces over sums and pull scalars out of them, bottom-up, so that an
    expectation reads tr(S A) and aᵀ S a rather than tr(2 S a aᵀ) / 2."""
    memo: dict[int, Expr] = {}
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in memo:
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if id(a) not in memo)
            continue
        args = tuple(memo[id(a)] for a in node.args)
        new = node.rebuild(args) if args != node.args else node
        if isinstance(new, Trace) and is_matrix(new.args[0].shape):
            parts = [_trace_of_term(t) for t in _distribute(new.args[0])]
            new = parts[0] if len(parts) == 1 else Add(*parts)
        memo[id(node)] = new
    return memo[id(e)]


def expand_expectations(e: Expr) -> Expr:
    """Replace every ``Expectation`` node by its closed form (innermost first)."""
    memo: dict[int, Expr] = {}
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:
        node, ready = stack.pop()
        if id(node) in memo:
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if id(a) not in memo)
            continue
        args = tuple(memo[id(a)] for a in node.args)
        new = node.rebuild(args) if args != node.args else node
        if isinstance(new, Expectation):
            new = gaussian_expectation(*new.args)
        memo[id(node)] = new
    return memo[id(e)]


def expectation(f: str | Expr, x: str, mean: str | Expr, cov: str | Expr,
                shapes: dict | None = None) -> Expr:
    """E[f(x)] for x ~ N(mean, cov) as an expression; the strings are parsed together, as
    ``parse(f"expect({f}, {x}, {mean}, {cov})", shapes)``."""
    from .parser import parse

    return parse(f"expect({f}, {x}, {mean}, {cov})", shapes)


__all__ = ["MAX_ORDER", "expand_expectations", "expectation", "gaussian_expectation",
           "tidy_traces"]
