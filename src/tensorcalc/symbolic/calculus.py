"""Matrix differentials and the two ways of reading a derivative off them.

1. ``differential(f, X, dX)`` applies the differential rules of the Matrix Cookbook (§2.1) to get
   df as an expression *linear* in the placeholder dX:

   d(XY) = dX Y + X dY (37)       d(X ⊙ Y) = dX ⊙ Y + X ⊙ dY (38)     d(Xᵀ) = (dX)ᵀ (44)
   d tr(X) = tr(dX) (36)          d(X⁻¹) = −X⁻¹ dX X⁻¹ (40)          d det X = det X tr(X⁻¹dX) (42)
   d log det X = tr(X⁻¹ dX) (43)  d f(U) = f'(U) ⊙ dU (elementwise)
   d softmax(u) = p ⊙ du − p pᵀdu, d logsumexp(u) = pᵀ du (p = softmax(u)).

2. Reading off the derivative ("linearize, then transpose"):

   * ``transpose_linear(L, dX, c)`` returns G with ⟨c, L(dX)⟩ = ⟨G, dX⟩ = tr(Gᵀ dX). For scalar f
     and c = 1 this is the trace trick df = tr(Gᵀ dX) ⇒ ∂f/∂X = G. Each rule is the adjoint of one
     linear operation: (A dX B)* c = Aᵀ c Bᵀ, (dXᵀ)* c = cᵀ, (C ⊙ dX)* c = C ⊙ c, tr* c = c I.
   * ``vec_jacobian(L, dX)`` returns J with vec L(dX) = J vec(dX) (column-major vec), via
     vec(A dX B) = (Bᵀ ⊗ A) vec dX, vec(dXᵀ) = K vec dX, vec(C ⊙ dX) = diag(vec C) vec dX. For
     vectors this is the ordinary Jacobian (numerator layout): dy = J dx.
"""

from __future__ import annotations

from functools import singledispatch

from .differentials import differential_rule, sum_nonzero
from .errors import UnsupportedExpression
from .expr import (
    Add,
    Commutation,
    Const,
    Diag,
    DiagEmbed,
    Expr,
    Fill,
    Hadamard,
    Identity,
    Kron,
    Mul,
    Sum,
    Trace,
    Transpose,
    Var,
    Vec,
    Zero,
    add,
    hadamard,
    mul,
    transpose,
)
from .shapes import as_matrix, dim_mul, is_matrix, is_row, is_scalar, is_vector, size

#: Cookbook equation numbers of the differential rules, cited in derivation steps.
RULE_EQUATION = {
    "sum": 35, "trace": 36, "product": 37, "hadamard": 38, "kron": 39, "inverse": 40,
    "determinant": 42, "logdet": 43, "transpose": 44,
}


class Recorder:
    """Collects (subexpression, differential, rule name) while differentiating, for ``steps``."""

    def __init__(self) -> None:
        self.entries: list[tuple[Expr, Expr, str]] = []

    def add(self, node: Expr, d: Expr, rule: str) -> None:
        self.entries.append((node, d, rule))


def differential(f: Expr, x: Var, dx: Var, record: Recorder | None = None) -> Expr | None:
    """df as an expression linear in ``dx``; None when f does not depend on x."""
    memo: dict[Expr, Expr | None] = {}

    def d(e: Expr) -> Expr | None:
        if e in memo:
            return memo[e]
        if not e.depends_on(x):
            memo[e] = None
            return None
        if e == x:
            out: Expr | None = dx
            rule = "variable"
        else:
            rule, out = differential_rule(e, d)
        memo[e] = out
        if record is not None and out is not None and e != x:
            record.add(e, out, rule)
        return out

    return d(f)


# ---------------------------------------------------------------------- trace trick (adjoint)


def _inner(c: Expr, m: Expr) -> Expr:
    """⟨c, m⟩ for equally shaped c, m, written the way a reader expects."""
    if is_scalar(c.shape):
        return mul(c, m)
    if is_vector(c.shape):
        return mul(transpose(c), m)
    if is_row(c.shape):
        return mul(c, transpose(m))
    return Trace(mul(transpose(c), m))


def transpose_linear(L: Expr, dx: Var, cot: Expr) -> Expr | None:
    """G with ⟨cot, L(dx)⟩ = ⟨G, dx⟩ (None when L does not involve dx)."""
    out: list[Expr] = []
    _adjoint(L, dx, cot, out)
    return add(*out) if out else None


def _adjoint(L: Expr, dx: Var, cot: Expr, out: list) -> None:
    """Push the cotangent ``cot`` of L down to dx, appending dx's share to ``out``."""
    if not L.depends_on(dx):
        return
    if L == dx:
        out.append(cot)
        return
    adjoint_rule(L, dx, cot, out)


@singledispatch
def adjoint_rule(L: Expr, dx: Var, cot: Expr, out: list) -> None:
    raise UnsupportedExpression(
        f"cannot transpose the linear map {type(L).__name__} ({L}) with respect to {dx.name}")


@adjoint_rule.register
def adjoint_of_sum(L: Add, dx: Var, cot: Expr, out: list) -> None:
    for t in L.args:
        _adjoint(t, dx, cot, out)


def _linear_factor(L: Expr, dx: Var) -> Expr:
    hits = [f for f in L.args if f.depends_on(dx)]
    if len(hits) != 1:
        raise UnsupportedExpression(f"not linear in {dx.name}: {L}")
    return hits[0]


@adjoint_rule.register
def adjoint_of_product(L: Mul, dx: Var, cot: Expr, out: list) -> None:
    """(s · rest)* c = ⟨c, rest⟩ for a scalar factor s; (A dX B)* c = Aᵀ c Bᵀ in the chain."""
    f = _linear_factor(L, dx)
    others = [a for a in L.args if a is not f]
    if is_scalar(f.shape):
        _adjoint(f, dx, _inner(cot, mul(*others) if others else Const(1)), out)
        return
    chain = L.chain
    j = chain.index(f)
    parts: list[Expr] = [a for a in others if is_scalar(a.shape)]
    if j:
        parts.append(transpose(mul(*chain[:j])))
    parts.append(cot)
    if j + 1 < len(chain):
        parts.append(transpose(mul(*chain[j + 1 :])))
    _adjoint(f, dx, mul(*parts), out)


@adjoint_rule.register
def adjoint_of_hadamard(L: Hadamard, dx: Var, cot: Expr, out: list) -> None:
    f = _linear_factor(L, dx)
    _adjoint(f, dx, hadamard(cot, *(a for a in L.args if a is not f)), out)


@adjoint_rule.register
def adjoint_of_transpose(L: Transpose, dx: Var, cot: Expr, out: list) -> None:
    _adjoint(L.args[0], dx, transpose(cot), out)


@adjoint_rule.register
def adjoint_of_sum_of_entries(L: Sum, dx: Var, cot: Expr, out: list) -> None:
    a = L.args[0]
    _adjoint(a, dx, cot if is_scalar(a.shape) else mul(cot, Fill(1, a.shape)), out)


@adjoint_rule.register
def adjoint_of_trace(L: Trace, dx: Var, cot: Expr, out: list) -> None:
    a = L.args[0]
    _adjoint(a, dx, mul(cot, Identity(a.shape[0])), out)


@adjoint_rule.register
def adjoint_of_diag(L: Diag, dx: Var, cot: Expr, out: list) -> None:
    # diag: vector → matrix and matrix → vector are each other's adjoints
    _adjoint(L.args[0], dx, Diag(cot), out)


# ----------------------------------------------------------------------- vec / Kronecker form


def _vec(e: Expr) -> Expr:
    if is_scalar(e.shape) or is_vector(e.shape):
        return e
    if is_row(e.shape):
        return transpose(e)
    return Vec(e)


def _eye(n: object) -> Expr | None:
    return None if n == 1 else Identity(n)


def _kron(left: Expr | None, right: Expr | None) -> Expr | None:
    if left is None:
        return right
    if right is None:
        return left
    return Kron(left, right)


def vec_jacobian(L: Expr, dx: Var) -> Expr | None:
    """J with vec L(dx) = J vec(dx); shape size(L) × size(dx) on the matrix reading."""
    if not L.depends_on(dx):
        return None
    if L == dx:
        n = size(dx.shape)
        return Const(1) if n == 1 else Identity(n)
    return vec_rule(L, dx)


@singledispatch
def vec_rule(L: Expr, dx: Var) -> Expr | None:
    raise UnsupportedExpression(f"no vec rule for {type(L).__name__} ({L})")


@vec_rule.register
def vec_of_sum(L: Add, dx: Var) -> Expr | None:
    return sum_nonzero([vec_jacobian(t, dx) for t in L.args])


@vec_rule.register
def vec_of_product(L: Mul, dx: Var) -> Expr | None:
    """vec(s · rest) = vec(rest) J(s); vec(A dX B) = (Bᵀ ⊗ A) vec dX."""
    f = _linear_factor(L, dx)
    jf = vec_jacobian(f, dx)
    if jf is None:
        return None
    if is_scalar(f.shape):
        rest = [a for a in L.args if a is not f]
        return mul(_vec(mul(*rest) if rest else Const(1)), jf)
    scalars = [a for a in L.args if is_scalar(a.shape)]
    chain = L.chain
    j = chain.index(f)
    r, c = as_matrix(f.shape)
    A = mul(*chain[:j]) if j else _eye(r)
    B = transpose(mul(*chain[j + 1 :])) if j + 1 < len(chain) else _eye(c)
    K = _kron(B, A)
    return mul(*scalars, *([K] if K is not None else []), jf)


@vec_rule.register
def vec_of_hadamard(L: Hadamard, dx: Var) -> Expr | None:
    """vec(C ⊙ dX) = diag(vec C) vec dX."""
    f = _linear_factor(L, dx)
    jf = vec_jacobian(f, dx)
    c = hadamard(*(a for a in L.args if a is not f))
    return None if jf is None else mul(Diag(_vec(c)), jf)


@vec_rule.register
def vec_of_transpose(L: Transpose, dx: Var) -> Expr | None:
    """vec(Mᵀ) = K vec(M) with K the commutation matrix (vectors: nothing to do)."""
    a = L.args[0]
    ja = vec_jacobian(a, dx)
    if ja is None or not is_matrix(a.shape):
        return ja
    return mul(Commutation(a.shape[0], a.shape[1]), ja)


@vec_rule.register
def vec_of_sum_of_entries(L: Sum, dx: Var) -> Expr | None:
    a = L.args[0]
    ja = vec_jacobian(a, dx)
    if ja is None or is_scalar(a.shape):
        return ja
    return mul(transpose(Fill(1, (size(a.shape),))), ja)


@vec_rule.register
def vec_of_trace(L: Trace, dx: Var) -> Expr | None:
    """tr(M) = vec(I)ᵀ vec(M)."""
    a = L.args[0]
    ja = vec_jacobian(a, dx)
    return None if ja is None else mul(transpose(Vec(Identity(a.shape[0]))), ja)


@vec_rule.register
def vec_of_diag(L: Diag, dx: Var) -> Expr | None:
    """vec(diag(v)) = E v and diag(M) = Eᵀ vec(M), E the n²×n selector."""
    a = L.args[0]
    ja = vec_jacobian(a, dx)
    if ja is None:
        return None
    E = DiagEmbed(a.shape[0])
    return mul(E if is_vector(a.shape) else transpose(E), ja)


@vec_rule.register
def vec_of_vec(L: Vec, dx: Var) -> Expr | None:
    return vec_jacobian(L.args[0], dx)


def _kron_chain(*factors: Expr | None) -> Expr | None:
    out = None
    for f in factors:
        out = _kron(out, f)
    return out


@vec_rule.register
def vec_of_kron(L: Kron, dx: Var) -> Expr | None:
    """vec(A ⊗ B) = (I_n ⊗ K ⊗ I_p)(vec A ⊗ vec B) for A m×n, B p×q (Magnus–Neudecker),
    where K vec(Z) = vec(Zᵀ) for Z of shape q×m; one factor holds dx (L is linear)."""
    a, b = L.args
    m, n = as_matrix(a.shape)
    p, q = as_matrix(b.shape)
    K = Commutation(q, m) if q != 1 and m != 1 else _eye(dim_mul(q, m))
    P = _kron_chain(_eye(n), K, _eye(p))
    if a.depends_on(dx):
        ja = vec_jacobian(a, dx)
        inner = None if ja is None else mul(Kron(_eye(size(a.shape)) or Const(1), _vec(b)), ja)
    else:
        jb = vec_jacobian(b, dx)
        inner = None if jb is None else mul(Kron(_vec(a), _eye(size(b.shape)) or Const(1)), jb)
    if inner is None:
        return None
    return mul(P, inner) if P is not None else inner


def substitute(e: Expr, old: Expr, new: Expr) -> Expr:
    """Replace every occurrence of ``old`` by ``new`` (same shape)."""
    memo: dict[Expr, Expr] = {}

    def go(n: Expr) -> Expr:
        if n == old:
            return new
        if not n.args:
            return n
        if n in memo:
            return memo[n]
        args = tuple(go(a) for a in n.args)
        out = n if args == n.args else n.rebuild(args)
        memo[n] = out
        return out

    return go(e)


__all__ = [
    "RULE_EQUATION", "Recorder", "differential", "substitute", "transpose_linear",
    "vec_jacobian", "Commutation", "Zero",
]
