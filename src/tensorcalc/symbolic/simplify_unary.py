"""Rewrites of the named one-argument operations (``tr``, ``inv``, ``det``, ``diag``, ``vec``,
``sum``), registered with ``simplify.unary_rewrite``:

* sum and tr of a scalar are the scalar; tr(I_n) = n; tr(Mᵀ) = tr(M); tr(c M) = c tr(M);
  tr(u vᵀ M) = vᵀ M u (a column vector at the front moves to the back: cyclic invariance);
* (c A B)⁻¹ = c⁻¹ B⁻¹ A⁻¹ for square factors, (Xᵏ)⁻¹ = (X⁻¹)ᵏ, (X⁻¹)⁻¹ = X, inv(Xᵀ) = inv(X)ᵀ;
* det and log det of a scalar, of I and of a transpose;
* diag(diag(v)) = v, diag(𝟏) = I; vec(c M) = c vec(M).
"""

from __future__ import annotations

from .canonical import is_zero
from .expr import (
    Const,
    Det,
    Diag,
    Expr,
    Fill,
    Func,
    Identity,
    Inv,
    LogDet,
    MatPow,
    Mul,
    Sum,
    Trace,
    Transpose,
    Vec,
    Zero,
)
from .shapes import is_matrix, is_scalar, is_vector
from .simplify import s_mul, s_pow, s_transpose, s_unary, unary_rewrite


@unary_rewrite.register(Sum)
def simplify_sum(cls: type, a: Expr) -> Expr | None:
    if is_scalar(a.shape):
        return a
    if is_zero(a):
        return Const(0)
    return None


@unary_rewrite.register(Trace)
def simplify_trace(cls: type, a: Expr) -> Expr | None:
    if is_scalar(a.shape):
        return a
    if is_zero(a):
        return Const(0)
    if isinstance(a, Identity) and isinstance(a.n, int):
        return Const(a.n)
    if isinstance(a, Transpose):
        return s_unary(Trace, a.args[0])
    if isinstance(a, Mul) and a.scalars:  # tr(c M) = c tr(M)
        return s_mul(*a.scalars, s_unary(Trace, s_mul(*a.chain)))
    if isinstance(a, Mul) and is_vector(a.chain[0].shape):  # tr(u vᵀ M) = vᵀ M u
        return s_mul(*a.chain[1:], a.chain[0])
    return None


@unary_rewrite.register(Inv)
def simplify_inv(cls: type, a: Expr) -> Expr | None:
    if isinstance(a, Mul) and a.chain and all(
        is_matrix(f.shape) and f.shape[0] == f.shape[1] for f in a.chain
    ):
        # (c A B)⁻¹ = c⁻¹ B⁻¹ A⁻¹: valid because square factors of an invertible product
        # are invertible themselves (det AB = det A det B)
        return s_mul(*(s_pow(c, -1) for c in a.scalars),
                     *(s_unary(Inv, f) for f in reversed(a.chain)))
    if isinstance(a, MatPow):
        return MatPow(s_unary(Inv, a.args[0]), a.k)  # (X^k)⁻¹ = (X⁻¹)^k
    if isinstance(a, Inv):
        return a.args[0]
    if isinstance(a, Identity):
        return a
    if isinstance(a, Transpose):
        return s_transpose(Inv(a.args[0]))
    return None


@unary_rewrite.register(Det)
@unary_rewrite.register(LogDet)
def simplify_det(cls: type, a: Expr) -> Expr | None:
    """det and log det of a scalar, of I and of a transpose."""
    if is_scalar(a.shape):
        return a if cls is Det else Func("log", a)
    if isinstance(a, Identity):
        return Const(1 if cls is Det else 0)
    if isinstance(a, Transpose):
        return s_unary(cls, a.args[0])
    return None


@unary_rewrite.register(Diag)
def simplify_diag(cls: type, a: Expr) -> Expr | None:
    if isinstance(a, Diag) and is_vector(a.args[0].shape):
        return a.args[0]
    if isinstance(a, Fill) and is_vector(a.shape) and a.value == 1:
        return Identity(a.shape[0])
    if is_zero(a):
        return Zero(Diag(a).shape)
    return None


@unary_rewrite.register(Vec)
def simplify_vec(cls: type, a: Expr) -> Expr | None:
    if isinstance(a, Mul) and a.scalars:  # vec(c M) = c vec(M)
        return s_mul(*a.scalars, s_unary(Vec, s_mul(*a.chain)))
    if not is_matrix(a.shape):
        return a if is_vector(a.shape) else s_transpose(a)
    return None
