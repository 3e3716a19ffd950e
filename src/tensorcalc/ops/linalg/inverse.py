"""Inverses and determinants: ``inv``, ``solve``, ``det``, ``slogdet`` and ``cholesky``.

Every primitive works on stacks of matrices (leading axes are loop axes, as in NumPy). Each has
one jvp rule written with differentiable ops applied *linearly* to the tangent (matmul with
primal matrices, elementwise products with constants, transposes, ``solve`` in its right-hand
side), so reverse mode is the transpose of that rule and higher orders come from nesting.

The math (``Ẋ`` is the tangent, ``X⁻ᵀ = (X⁻¹)ᵀ``):

- ``inv``:      ``d(X⁻¹) = −X⁻¹ Ẋ X⁻¹``.
- ``solve``:    ``x = A⁻¹ b`` is linear in ``b``: ``ẋ = A⁻¹ (ḃ − Ȧ x)``; transpose in ``b``
  ``b̄ = A⁻ᵀ x̄`` (summed over broadcast batch axes).
- ``det``:      ``d det X = det X · tr(X⁻¹ Ẋ) = det X · ⟨X⁻ᵀ, Ẋ⟩`` (Jacobi's formula).
- ``slogdet``:  ``d log|det X| = ⟨X⁻ᵀ, Ẋ⟩``; the sign is piecewise constant (zero tangent).
  For complex ``X`` with ``τ = tr(X⁻¹ Ẋ)``: ``d log|det X| = Re τ`` and ``ṡign = sign · i Im τ``.
- ``cholesky``: ``A = L Lᴴ``, ``L̇ = L Φ(L⁻¹ Ṡ L⁻ᴴ)`` with ``Φ`` the lower triangle with the
  diagonal halved. NumPy reads only one triangle of ``A``, so ``Ṡ`` is the symmetric matrix
  built from that triangle of ``Ȧ`` (``tril(Ȧ) + tril(Ȧ, −1)ᴴ``); ``upper=True`` returns ``Lᴴ``.

The rules hold for complex matrices (``ᴴ`` is ``ᵀ`` for real ones); inverses, solves and
determinants are holomorphic.

Singular inputs raise NumPy's ``LinAlgError`` with the operator and shape named; a derivative
that needs an inverse that does not exist raises too, never returns a wrong number.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.backend import defxp, linalg_of
from ...core.primitive import Primitive, bind, get_aval
from ...core.shapes import ShapedArray, broadcast_shapes, shape_str
from ...core.zeros import Zero
from ...interpreters.batch import common_size, defbatch, defbatch_gufunc, moveaxis, pad_after_batch
from ...interpreters.forward import defjvp, defjvp_rule
from ...interpreters.sparsity import defsparsity, dense_rule
from ...interpreters.transpose import deftranspose, is_undefined
from .._base import needs_bind
from ..complex_ops import imag, real
from ..elementwise import multiply, negative
from ..products import matmul
from ..reductions import sum as reduce_sum
from ..structural import unbroadcast
from ._common import (
    LinAlgError,
    LinAlgShapeError,
    call_numpy,
    check_matrix,
    dtype_of,
    float_dtype,
    mask,
    matvec,
    mH,
    mT,
    real_dtype,
    shape_of,
    sym_from_triangle,
    symmetrized,
)

# --- inv ------------------------------------------------------------------------------------


def _inv_abstract(x: ShapedArray) -> ShapedArray:
    check_matrix("inv", x)
    return ShapedArray(x.shape, float_dtype("inv", x.dtype))


inv_p = Primitive("inv", lambda x: call_numpy("inv", np.linalg.inv, x), _inv_abstract)
defxp(inv_p, lambda xp, x: linalg_of(xp, "inv", inv_p)(x))


def _inv_jvp(t: Any, ans: Any, x: Any) -> Any:
    return negative(matmul(ans, matmul(t, ans)))


defjvp(inv_p, _inv_jvp)
defbatch_gufunc(inv_p, (2,))


def inv(a: Any) -> Any:
    """``numpy.linalg.inv`` (stacks allowed); singular matrices raise ``LinAlgError``."""
    check_matrix("inv", a)
    if not needs_bind(a):
        return call_numpy("inv", np.linalg.inv, a)
    return bind(inv_p, a)


# --- solve ----------------------------------------------------------------------------------


def _solve_impl(a: Any, b: Any, *, vector: bool) -> Any:
    if vector:  # a stack of right-hand-side vectors: solve them as one-column matrices
        return call_numpy("solve", np.linalg.solve, a, np.asarray(b)[..., None])[..., 0]
    return call_numpy("solve", np.linalg.solve, a, b)


def _solve_xp(xp: Any, a: Any, b: Any, *, vector: bool) -> Any:
    solve = linalg_of(xp, "solve", solve_p)
    return solve(a, b[..., None])[..., 0] if vector else solve(a, b)


def _solve_shapes(a: tuple[Any, ...], b: tuple[Any, ...], vector: bool) -> tuple[Any, ...]:
    n = a[-1]
    if a[-2:] != (n, n) or (vector and b[-1:] != (n,)) or (
            not vector and (len(b) < 2 or b[-2] != n)):
        raise LinAlgShapeError(
            f"solve: a has shape {shape_str(a)} and b has shape {shape_str(b)}; a must be "
            f"(..., n, n) and b either (n,) (one right-hand side) or (..., n, k) (k right-hand "
            "sides, as in NumPy 2: a b with more than one axis is a stack of matrices)")
    if vector:
        return broadcast_shapes(a[:-2], b[:-1], op="solve (batch axes)") + (n,)
    return broadcast_shapes(a[:-2], b[:-2], op="solve (batch axes)") + b[-2:]


def _solve_abstract(a: ShapedArray, b: ShapedArray, *, vector: bool) -> ShapedArray:
    check_matrix("solve", a)
    dt = np.result_type(float_dtype("solve", a.dtype), float_dtype("solve", b.dtype))
    return ShapedArray(_solve_shapes(a.shape, b.shape, vector), dt)


solve_p = Primitive("solve", _solve_impl, _solve_abstract)  # linear in b
defsparsity(solve_p, dense_rule)  # A⁻¹ b: the inverse of a sparse matrix fills in
defxp(solve_p, _solve_xp)


def _solve_jvp_a(t: Any, ans: Any, a: Any, b: Any, *, vector: bool) -> Any:
    return negative(bind(solve_p, a, matvec(t, ans, vector), vector=vector))


def _solve_jvp_b(t: Any, ans: Any, a: Any, b: Any, *, vector: bool) -> Any:
    return bind(solve_p, a, t, vector=vector)


def _solve_transpose(ct: Any, a: Any, b: Any, *, vector: bool) -> tuple[None, Any]:
    if is_undefined(a):
        raise TypeError("solve is linear in its right-hand side only")
    return None, unbroadcast(bind(solve_p, mT(a), ct, vector=vector), b.aval)


def rhs_batch_rule(prim: Primitive) -> Any:
    """Batching for ``prim(a, b, *, vector, ...)``: ``a`` has 2 core axes, ``b`` 1 (a stack
    of vectors) or 2. Batch axes go to the front with unit axes after them so loops align."""

    def rhs_batch(args: Any, dims: Any, *, vector: bool, **params: Any) -> tuple[Any, int]:
        common_size(args, dims, prim.name)
        triples = list(zip(args, dims, (2, 1 if vector else 2), strict=True))
        loop = max(get_aval(x).ndim - (d is not None) - c for x, d, c in triples)
        moved = [x if d is None else pad_after_batch(moveaxis(x, d, 0), loop + c)
                 for x, d, c in triples]
        return bind(prim, *moved, vector=vector, **params), 0

    rhs_batch.__name__ = f"{prim.name}_batch"
    return rhs_batch


defjvp(solve_p, _solve_jvp_a, _solve_jvp_b)
deftranspose(solve_p, _solve_transpose)
defbatch(solve_p, rhs_batch_rule(solve_p))


def solve(a: Any, b: Any) -> Any:
    """``numpy.linalg.solve`` with NumPy 2 semantics: ``b`` of shape ``(n,)`` is one
    right-hand side; any ``b`` with two or more axes is a stack of ``(n, k)`` matrices."""
    a_shape = check_matrix("solve", a)
    vector = len(shape_of(b)) == 1
    _solve_shapes(a_shape, shape_of(b), vector)
    if not (needs_bind(a) or needs_bind(b)):
        return call_numpy("solve", np.linalg.solve, a, b)
    return bind(solve_p, a, b, vector=vector)


def solve_matrix(a: Any, b: Any) -> Any:
    """``A⁻¹ B`` for stacks of matrices ``B`` (used inside rules)."""
    return bind(solve_p, a, b, vector=False)


# --- det and slogdet ------------------------------------------------------------------------


def _det_abstract(x: ShapedArray) -> ShapedArray:
    check_matrix("det", x)
    return ShapedArray(x.shape[:-2], float_dtype("det", x.dtype))


det_p = Primitive("det", lambda x: call_numpy("det", np.linalg.det, x), _det_abstract)
defxp(det_p, lambda xp, x: linalg_of(xp, "det", det_p)(x))


def inv_transpose(op: str, x: Any) -> Any:
    """``X⁻ᵀ``, the gradient of ``log|det X|``; a singular ``X`` raises naming ``op``."""
    try:
        return mT(bind(inv_p, x))
    except LinAlgError as e:
        raise LinAlgError(
            f"{op} (derivative): the derivative of the determinant at a singular matrix needs "
            f"its adjugate, which tensorcalc does not compute; it is differentiable at "
            f"invertible matrices only ({e})") from None


def _det_jvp(t: Any, ans: Any, x: Any) -> Any:
    return multiply(ans, reduce_sum(multiply(inv_transpose("det", x), t), axis=(-2, -1)))


defjvp(det_p, _det_jvp)
defbatch_gufunc(det_p, (2,))


def det(a: Any) -> Any:
    """``numpy.linalg.det``; differentiable at invertible matrices (Jacobi's formula)."""
    check_matrix("det", a)
    if not needs_bind(a):
        return call_numpy("det", np.linalg.det, a)
    return bind(det_p, a)


def _slogdet_abstract(x: ShapedArray) -> list[ShapedArray]:
    check_matrix("slogdet", x)
    dt = float_dtype("slogdet", x.dtype)
    return [ShapedArray(x.shape[:-2], dt), ShapedArray(x.shape[:-2], real_dtype(dt))]


slogdet_p = Primitive("slogdet", lambda x: list(call_numpy("slogdet", np.linalg.slogdet, x)),
                      _slogdet_abstract, multiple_results=True)
defxp(slogdet_p, lambda xp, x: list(linalg_of(xp, "slogdet", slogdet_p)(x)))


def _slogdet_jvp(primals: list[Any], tangents: list[Any]) -> tuple[list[Any], list[Any]]:
    (x,), (t,) = primals, tangents
    sign, logdet = bind(slogdet_p, x)
    if type(t) is Zero:
        return [sign, logdet], [Zero(None), Zero(None)]
    dlog = reduce_sum(multiply(inv_transpose("slogdet", x), t), axis=(-2, -1))
    if dtype_of(x).kind == "c":
        # d log det = tr(X⁻¹ Ẋ) = d log|det| + i d arg(det): the sign e^{iθ} moves with θ.
        return [sign, logdet], [multiply(sign, multiply(imag(dlog), 1j)), real(dlog)]
    return [sign, logdet], [Zero(None), dlog]  # the real sign is piecewise constant


defjvp_rule(slogdet_p, _slogdet_jvp)
defbatch_gufunc(slogdet_p, (2,), n_out=2)


def slogdet(a: Any) -> tuple[Any, Any]:
    """``numpy.linalg.slogdet`` as ``(sign, logabsdet)``; only ``logabsdet`` has a derivative."""
    check_matrix("slogdet", a)
    if not needs_bind(a):
        return tuple(call_numpy("slogdet", np.linalg.slogdet, a))  # type: ignore[return-value]
    sign, logdet = bind(slogdet_p, a)
    return sign, logdet


# --- cholesky -------------------------------------------------------------------------------


def _cholesky_abstract(x: ShapedArray, *, upper: bool) -> ShapedArray:
    check_matrix("cholesky", x)
    return ShapedArray(x.shape, float_dtype("cholesky", x.dtype))


cholesky_p = Primitive(
    "cholesky", lambda x, *, upper: call_numpy("cholesky", np.linalg.cholesky, x, upper=upper),
    _cholesky_abstract)


@defxp(cholesky_p)
def _cholesky_xp(xp: Any, x: Any, *, upper: bool) -> Any:
    # upper: NumPy reads the upper triangle and returns U = Lᵀ of Aᵀ's (lower) factor; not
    # every backend takes upper=.
    chol = linalg_of(xp, "cholesky", cholesky_p)
    return xp.matrix_transpose(chol(xp.matrix_transpose(x))) if upper else chol(x)


def _cholesky_jvp(t: Any, ans: Any, x: Any, *, upper: bool) -> Any:
    lower = mH(ans) if upper else ans
    s = sym_from_triangle(t, lower=not upper)
    y = solve_matrix(lower, s)                 # L⁻¹ Ṡ
    z = mH(solve_matrix(lower, mH(y)))         # L⁻¹ Ṡ L⁻ᴴ (Hermitian)
    dl = matmul(lower, multiply(z, mask(shape_of(t)[-1], real_dtype(dtype_of(z)), "phi")))
    return mH(dl) if upper else dl


defjvp(cholesky_p, _cholesky_jvp)
defbatch_gufunc(cholesky_p, (2,))


def cholesky(a: Any, /, *, upper: bool = False, symmetrize_input: bool = True) -> Any:
    """``numpy.linalg.cholesky``: lower ``L`` with ``A = L Lᵀ`` (``upper=True``: ``Lᵀ``).

    By default ``a`` is symmetrized first (``(a + aᵀ)/2``, exact for symmetric ``a``), so the
    gradient is symmetric, as in JAX and PyTorch. ``symmetrize_input=False`` reads only the
    lower (upper) triangle, as NumPy does, and the gradient is then triangular."""
    check_matrix("cholesky", a)
    if symmetrize_input:
        a = symmetrized(a)
    if not needs_bind(a):
        return call_numpy("cholesky", np.linalg.cholesky, a, upper=upper)
    return bind(cholesky_p, a, upper=bool(upper))
