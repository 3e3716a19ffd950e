"""The differential rules, one named function per node type (``functools.singledispatch``).

Each rule receives the node e and ``d``, the differential of a child (None when the child does
not depend on the variable), and returns (rule name, de). Rule names map to Matrix Cookbook
equation numbers in ``calculus.RULE_EQUATION``:

    d(X + Y) = dX + dY (35)        d tr(X) = tr(dX) (36)          d(XY) = dX Y + X dY (37)
    d(X ⊙ Y) = dX ⊙ Y + X ⊙ dY (38)  d(X ⊗ Y) = dX ⊗ Y + X ⊗ dY (39)  d(X⁻¹) = −X⁻¹ dX X⁻¹ (40)
    d det X = det X tr(X⁻¹ dX) (42)  d log det X = tr(X⁻¹ dX) (43)  d(Xᵀ) = (dX)ᵀ (44)

plus d f(U) = f'(U) ⊙ dU for elementwise f, d Xᵏ = Σᵣ Xʳ dX Xᵏ⁻¹⁻ʳ, d softmax(u) = p ⊙ du − p pᵀdu,
d logsumexp(u) = pᵀ du (p = softmax u), d‖u‖₂ = uᵀdu/‖u‖₂, d‖u‖₁ = sign(u)ᵀ du and
adj X = det(X) X⁻¹.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import singledispatch

from .elementwise import derivative_of
from .errors import UnsupportedExpression
from .expr import (
    Add,
    Adj,
    Const,
    Det,
    Diag,
    Expr,
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
    Vec,
    add,
    hadamard,
    mul,
    neg,
    transpose,
)
from .shapes import is_scalar, is_vector

D = Callable[[Expr], Expr | None]
Result = tuple[str, Expr | None]


def sum_nonzero(terms: list) -> Expr | None:
    terms = [t for t in terms if t is not None]
    return add(*terms) if terms else None


@singledispatch
def differential_rule(e: Expr, d: D) -> Result:
    raise UnsupportedExpression(f"no differential rule for {type(e).__name__} in {e}")


@differential_rule.register
def sum_rule(e: Add, d: D) -> Result:
    return "sum", sum_nonzero([d(t) for t in e.args])


@differential_rule.register
def product_rule(e: Mul, d: D) -> Result:
    terms = []
    for i, f in enumerate(e.args):
        df = d(f)
        if df is not None:
            terms.append(mul(*e.args[:i], df, *e.args[i + 1 :]))
    return "product", sum_nonzero(terms)


@differential_rule.register
def hadamard_rule(e: Hadamard, d: D) -> Result:
    terms = []
    for i, f in enumerate(e.args):
        df = d(f)
        if df is not None:
            terms.append(hadamard(*e.args[:i], df, *e.args[i + 1 :]))
    return "hadamard", sum_nonzero(terms)


@differential_rule.register
def kron_rule(e: Kron, d: D) -> Result:
    a, b = e.args
    da, db = d(a), d(b)
    return "kron", sum_nonzero([Kron(da, b) if da else None, Kron(a, db) if db else None])


def _inner(e: Expr, d: D) -> tuple[Expr, Expr | None]:
    """(argument, its differential) of a one-argument node."""
    a = e.args[0]
    return a, d(a)


@differential_rule.register
def transpose_rule(e: Transpose, d: D) -> Result:
    _, da = _inner(e, d)
    return "transpose", None if da is None else transpose(da)


@differential_rule.register
def power_rule(e: Pow, d: D) -> Result:
    a, da = _inner(e, d)
    p = e.exponent
    return "power", None if da is None else hadamard(mul(Const(p), Pow(a, p - 1)), da)


def _power(a: Expr, r: int) -> list[Expr]:
    return [] if r == 0 else [a] if r == 1 else [MatPow(a, r)]


@differential_rule.register
def matrix_power_rule(e: MatPow, d: D) -> Result:
    a, da = _inner(e, d)
    if da is None:
        return "matrix power", None
    return "matrix power", add(*(mul(*_power(a, r), da, *_power(a, e.k - 1 - r))
                                 for r in range(e.k)))


@differential_rule.register
def elementwise_rule(e: Func, d: D) -> Result:
    _, da = _inner(e, d)
    fprime = derivative_of(e)
    return f"{e.name}'", None if fprime is None or da is None else hadamard(fprime, da)


@differential_rule.register
def sum_of_entries_rule(e: Sum, d: D) -> Result:
    _, da = _inner(e, d)
    return "sum of entries", None if da is None else Sum(da)


@differential_rule.register
def trace_rule(e: Trace, d: D) -> Result:
    _, da = _inner(e, d)
    if da is None:
        return "trace", None
    return "trace", da if is_scalar(da.shape) else Trace(da)


@differential_rule.register
def determinant_rule(e: Det, d: D) -> Result:
    a, da = _inner(e, d)
    if da is None or is_scalar(a.shape):
        return "determinant", da
    return "determinant", mul(e, Trace(mul(Inv(a), da)))


@differential_rule.register
def logdet_rule(e: LogDet, d: D) -> Result:
    a, da = _inner(e, d)
    if da is None:
        return "logdet", None
    if is_scalar(a.shape):
        return "logdet", mul(Pow(a, -1), da)
    return "logdet", Trace(mul(Inv(a), da))


@differential_rule.register
def inverse_rule(e: Inv, d: D) -> Result:
    _, da = _inner(e, d)
    return "inverse", None if da is None else neg(mul(e, da, e))


@differential_rule.register
def adjugate_rule(e: Adj, d: D) -> Result:
    """Of known size 2 or 3, adj is a polynomial in X (Cayley–Hamilton), and so is its
    differential, valid at singular X as well:

        n = 2:  adj X = tr(X) I − X,                      d adj = tr(dX) I − dX;
        n = 3:  adj X = X² − tr(X) X + ½(tr(X)² − tr(X²)) I,
                d adj = dX X + X dX − tr(dX) X − tr(X) dX + (tr(X) tr(dX) − tr(X dX)) I.

    Otherwise adj X = det(X) X⁻¹ with the determinant (42) and inverse (40) rules; that form
    divides by det X, so the generated code refuses a numerically singular X."""
    a, da = _inner(e, d)
    if da is None:
        return "adjugate", None
    n = a.shape[0]
    eye = Identity(n)
    if n == 2:
        return "adjugate", add(mul(Trace(da), eye), neg(da))
    if n == 3:
        tr_a, tr_da = Trace(a), Trace(da)
        scalar = add(mul(tr_a, tr_da), neg(Trace(mul(a, da))))
        return "adjugate", add(mul(da, a), mul(a, da), neg(mul(tr_da, a)), neg(mul(tr_a, da)),
                               mul(scalar, eye))
    return "adjugate", add(mul(Det(a), Trace(mul(Inv(a), da)), Inv(a)),
                           neg(mul(Det(a), Inv(a), da, Inv(a))))


@differential_rule.register
def diag_rule(e: Diag, d: D) -> Result:
    _, da = _inner(e, d)
    return "diag", None if da is None else Diag(da)


@differential_rule.register
def vec_rule(e: Vec, d: D) -> Result:
    _, da = _inner(e, d)
    return "vec", None if da is None else Vec(da)


@differential_rule.register
def norm1_rule(e: Norm1, d: D) -> Result:
    a, da = _inner(e, d)
    return "norm1", None if da is None else Sum(hadamard(Func("sign", a), da))


@differential_rule.register
def norm2_rule(e: Norm2, d: D) -> Result:
    a, da = _inner(e, d)
    if da is None:
        return "norm2", None
    if is_scalar(a.shape):
        return "norm2", mul(Func("sign", a), da)
    inner = mul(transpose(a), da) if is_vector(a.shape) else Trace(mul(transpose(a), da))
    return "norm2", mul(Pow(e, -1), inner)


@differential_rule.register
def softmax_rule(e: Softmax, d: D) -> Result:
    _, da = _inner(e, d)
    if da is None:
        return "softmax", None
    return "softmax", add(hadamard(e, da), neg(mul(e, mul(transpose(e), da))))


@differential_rule.register
def logsumexp_rule(e: LogSumExp, d: D) -> Result:
    a, da = _inner(e, d)
    if da is None:
        return "logsumexp", None
    if is_vector(a.shape):
        return "logsumexp", mul(transpose(Softmax(a)), da)
    ex = Func("exp", a)
    return "logsumexp", mul(Pow(Sum(ex), -1), Sum(hadamard(ex, da)))
