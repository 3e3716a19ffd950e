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

from .elementwise import derivative_of
from .errors import UnsupportedExpression
from .expr import (
    Add,
    Adj,
    Commutation,
    Const,
    Det,
    Diag,
    DiagEmbed,
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
    Var,
    Vec,
    Zero,
    add,
    hadamard,
    mul,
    neg,
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
            rule, out = _rule(e, d, x)
        memo[e] = out
        if record is not None and out is not None and e != x:
            record.add(e, out, rule)
        return out

    return d(f)


def _sum_nonzero(terms: list) -> Expr | None:
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    return add(*terms)


def _rule(e: Expr, d, x: Var) -> tuple[str, Expr | None]:
    """One differential rule per node type (Cookbook numbers in RULE_EQUATION)."""
    a = e.args[0] if e.args else None
    if isinstance(e, Add):
        return "sum", _sum_nonzero([d(t) for t in e.args])
    if isinstance(e, Mul):
        terms = []
        for i, f in enumerate(e.args):
            df = d(f)
            if df is not None:
                terms.append(mul(*e.args[:i], df, *e.args[i + 1 :]))
        return "product", _sum_nonzero(terms)
    if isinstance(e, Hadamard):
        terms = []
        for i, f in enumerate(e.args):
            df = d(f)
            if df is not None:
                terms.append(hadamard(*e.args[:i], df, *e.args[i + 1 :]))
        return "hadamard", _sum_nonzero(terms)
    if isinstance(e, Kron):
        da, db = d(e.args[0]), d(e.args[1])
        parts = [Kron(da, e.args[1]) if da else None, Kron(e.args[0], db) if db else None]
        return "kron", _sum_nonzero(parts)
    da = d(a)
    if da is None:
        return "constant", None
    if isinstance(e, Transpose):
        return "transpose", transpose(da)
    if isinstance(e, Pow):
        p = e.exponent
        return "power", hadamard(mul(Const(p), Pow(a, p - 1)), da)
    if isinstance(e, MatPow):
        terms = [
            mul(*([MatPow(a, r)] if r > 1 else [a] if r == 1 else []), da,
                *([MatPow(a, e.k - 1 - r)] if e.k - 1 - r > 1 else [a] if e.k - 1 - r == 1 else []))
            for r in range(e.k)
        ]
        return "matrix power", add(*terms)
    if isinstance(e, Func):
        fprime = derivative_of(e)
        return f"{e.name}'", None if fprime is None else hadamard(fprime, da)
    if isinstance(e, Sum):
        return "sum of entries", Sum(da)
    if isinstance(e, Trace):
        return "trace", Trace(da) if not is_scalar(da.shape) else da
    if isinstance(e, Det):
        if is_scalar(a.shape):
            return "determinant", da
        return "determinant", mul(e, Trace(mul(Inv(a), da)))
    if isinstance(e, LogDet):
        if is_scalar(a.shape):
            return "logdet", mul(Pow(a, -1), da)
        return "logdet", Trace(mul(Inv(a), da))
    if isinstance(e, Inv):
        return "inverse", neg(mul(e, da, e))
    if isinstance(e, Adj):  # adj X = det(X) X⁻¹
        return "adjugate", add(mul(Det(a), Trace(mul(Inv(a), da)), Inv(a)),
                               neg(mul(Det(a), Inv(a), da, Inv(a))))
    if isinstance(e, Diag):
        return "diag", Diag(da)
    if isinstance(e, Vec):
        return "vec", Vec(da)
    if isinstance(e, Norm1):
        return "norm1", Sum(hadamard(Func("sign", a), da))
    if isinstance(e, Norm2):
        inner = mul(transpose(a), da) if is_vector(a.shape) else Trace(mul(transpose(a), da))
        if is_scalar(a.shape):
            inner = mul(Func("sign", a), da)
            return "norm2", inner
        return "norm2", mul(Pow(e, -1), inner)
    if isinstance(e, Softmax):
        return "softmax", add(hadamard(e, da), neg(mul(e, mul(transpose(e), da))))
    if isinstance(e, LogSumExp):
        if is_vector(a.shape):
            return "logsumexp", mul(transpose(Softmax(a)), da)
        ex = Func("exp", a)
        return "logsumexp", mul(Pow(Sum(ex), -1), Sum(hadamard(ex, da)))
    raise UnsupportedExpression(f"no differential rule for {type(e).__name__} in {e}")


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
    if not L.depends_on(dx):
        return
    if L == dx:
        out.append(cot)
        return
    if isinstance(L, Add):
        for t in L.args:
            _adjoint(t, dx, cot, out)
        return
    if isinstance(L, Mul):
        args = L.args
        hits = [i for i, f in enumerate(args) if f.depends_on(dx)]
        if len(hits) != 1:
            raise UnsupportedExpression(f"not linear in {dx.name}: {L}")
        i = hits[0]
        f = args[i]
        others = args[:i] + args[i + 1 :]
        if is_scalar(f.shape) and not (isinstance(L.args[i], Mul) and not L.chain):
            rest = mul(*others) if others else Const(1)
            _adjoint(f, dx, _inner(cot, rest), out)
            return
        scalars = [a for a in others if is_scalar(a.shape)]
        chain = L.chain
        j = chain.index(f) if f in chain else 0
        left = chain[:j]
        right = chain[j + 1 :]
        parts: list[Expr] = list(scalars)
        if left:
            parts.append(transpose(mul(*left)))
        parts.append(cot)
        if right:
            parts.append(transpose(mul(*right)))
        _adjoint(f, dx, mul(*parts), out)
        return
    if isinstance(L, Hadamard):
        others = [a for a in L.args if not a.depends_on(dx)]
        (f,) = [a for a in L.args if a.depends_on(dx)]
        _adjoint(f, dx, hadamard(cot, *others), out)
        return
    a = L.args[0] if L.args else None
    if isinstance(L, Transpose):
        _adjoint(a, dx, transpose(cot), out)
    elif isinstance(L, Sum):
        _adjoint(a, dx, cot if is_scalar(a.shape) else mul(cot, Fill(1, a.shape)), out)
    elif isinstance(L, Trace):
        _adjoint(a, dx, mul(cot, Identity(a.shape[0])), out)
    elif isinstance(L, Diag):
        _adjoint(a, dx, Diag(cot), out)
    else:
        raise UnsupportedExpression(
            f"cannot transpose the linear map {type(L).__name__} ({L}) with respect to {dx.name}")


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
    if isinstance(L, Add):
        return _sum_nonzero([vec_jacobian(t, dx) for t in L.args])
    if isinstance(L, Mul):
        hits = [f for f in L.args if f.depends_on(dx)]
        if len(hits) != 1:
            raise UnsupportedExpression(f"not linear in {dx.name}: {L}")
        f = hits[0]
        jf = vec_jacobian(f, dx)
        if jf is None:
            return None
        if is_scalar(f.shape):
            rest = [a for a in L.args if a is not f]
            restexpr = mul(*rest) if rest else Const(1)
            return mul(_vec(restexpr), jf)
        scalars = [a for a in L.args if is_scalar(a.shape)]
        chain = L.chain
        j = chain.index(f)
        r, c = as_matrix(f.shape)
        A = mul(*chain[:j]) if j else _eye(r)
        B = transpose(mul(*chain[j + 1 :])) if j + 1 < len(chain) else _eye(c)
        K = _kron(B, A)
        return mul(*scalars, *([K] if K is not None else []), jf)
    if isinstance(L, Hadamard):
        (f,) = [a for a in L.args if a.depends_on(dx)]
        others = [a for a in L.args if a is not f]
        c = hadamard(*others)
        jf = vec_jacobian(f, dx)
        return None if jf is None else mul(Diag(_vec(c)), jf)
    if isinstance(L, Kron):
        return _kron_rule(L, dx)
    a = L.args[0] if L.args else None
    ja = vec_jacobian(a, dx) if a is not None else None
    if ja is None:
        return None
    if isinstance(L, Transpose):
        if is_matrix(a.shape):
            return mul(Commutation(a.shape[0], a.shape[1]), ja)
        return ja
    if isinstance(L, Sum):
        if is_scalar(a.shape):
            return ja
        return mul(transpose(Fill(1, (size(a.shape),))), ja)
    if isinstance(L, Trace):
        return mul(transpose(Vec(Identity(a.shape[0]))), ja)
    if isinstance(L, Diag):
        if is_vector(a.shape):
            return mul(DiagEmbed(a.shape[0]), ja)
        return mul(transpose(DiagEmbed(a.shape[0])), ja)
    if isinstance(L, Vec):
        return ja
    raise UnsupportedExpression(f"no vec rule for {type(L).__name__} ({L})")


def _kron_chain(*factors: Expr | None) -> Expr | None:
    out = None
    for f in factors:
        out = _kron(out, f)
    return out


def _kron_rule(L: Kron, dx: Var) -> Expr | None:
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
