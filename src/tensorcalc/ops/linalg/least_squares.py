"""Least squares: the pseudo-inverse ``pinv`` and ``lstsq``.

- ``pinv``:     ``d A⁺ = −A⁺ Ȧ A⁺ + A⁺A⁺ᵀ Ȧᵀ (I − A A⁺) + (I − A⁺A) Ȧᵀ A⁺ᵀ A⁺``
  (Golub & Pereyra 1973), valid where the rank of ``A`` is locally constant.
- ``lstsq``:    ``x = A⁺ b``: ``ẋ = A⁺(ḃ − Ȧ x) + A⁺A⁺ᵀ Ȧᵀ r + (I − A⁺A) Ȧᵀ A⁺ᵀ x`` with
  ``r = b − A x`` (the pinv rule applied to ``b``).

Both derivatives hold where the rank of ``A`` is locally constant: the pseudo-inverse is
discontinuous where the rank changes, and no derivative exists there.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.backend import defxp, is_foreign, linalg_of, namespace, numpy_dtype
from ...core.primitive import Primitive, bind, get_aval
from ...core.shapes import ShapedArray, broadcast_shapes, shape_str
from ...core.zeros import Zero
from ...interpreters.batch import BatchTracer, defbatch, defbatch_gufunc
from ...interpreters.forward import defjvp, defjvp_rule
from .._base import needs_bind
from ..elementwise import add, multiply, negative, subtract
from ..products import matmul
from ..reductions import sum as reduce_sum
from ..structural import reshape
from ._common import (
    LinAlgError,
    LinAlgShapeError,
    call_numpy,
    check_matrix,
    check_real,
    dtype_of,
    float_dtype,
    matvec,
    mT,
    shape_of,
    sym_from_triangle,
)
from .decompositions import svd_values
from .inverse import rhs_batch_rule

# --- pinv -----------------------------------------------------------------------------------


def _pinv_impl(a: Any, *, rcond: Any, hermitian: bool) -> Any:
    return call_numpy("pinv", np.linalg.pinv, a, rcond=rcond, hermitian=hermitian)


def _pinv_abstract(x: ShapedArray, *, rcond: Any, hermitian: bool) -> ShapedArray:
    check_matrix("pinv", x, square=hermitian)
    return ShapedArray(x.shape[:-2] + (x.shape[-1], x.shape[-2]), float_dtype("pinv", x.dtype))


pinv_p = Primitive("pinv", _pinv_impl, _pinv_abstract)


@defxp(pinv_p)
def _pinv_xp(xp: Any, a: Any, *, rcond: Any, hermitian: bool) -> Any:
    if rcond is None:  # NumPy's default cutoff
        rcond = max(a.shape[-2:]) * float(np.finfo(numpy_dtype(a.dtype)).eps)
    if not hermitian:
        return linalg_of(xp, "pinv", pinv_p)(a, rtol=rcond)
    # As NumPy with hermitian=True: A = V diag(w) Vᵀ from the lower triangle, A⁺ inverts the
    # eigenvalues above rcond · max|w| and drops the others.
    w, v = linalg_of(xp, "eigh", pinv_p)(a)
    big = xp.abs(w) > rcond * xp.max(xp.abs(w), axis=-1, keepdims=True)
    winv = xp.where(big, 1 / xp.where(big, w, xp.ones_like(w)), xp.zeros_like(w))
    return (v * winv[..., None, :]) @ xp.matrix_transpose(v)


def pinv_tangent(a: Any, p: Any, t: Any) -> Any:
    """``d A⁺`` along ``Ȧ = t`` given ``A`` and ``P = A⁺`` (Golub–Pereyra; constant rank)."""
    tt = mT(t)
    term1 = negative(matmul(p, matmul(t, p)))
    # A⁺A⁺ᵀ Ȧᵀ (I − A A⁺): the part of Ȧ outside the column space of A.
    term2 = matmul(p, matmul(mT(p), subtract(tt, matmul(matmul(tt, a), p))))
    # (I − A⁺A) Ȧᵀ A⁺ᵀ A⁺: the part outside the row space.
    tp = matmul(tt, mT(p))
    term3 = matmul(subtract(tp, matmul(p, matmul(a, tp))), p)
    return add(term1, add(term2, term3))


def _pinv_jvp(t: Any, ans: Any, a: Any, *, rcond: Any, hermitian: bool) -> Any:
    if hermitian:  # NumPy then reads the lower triangle only (through eigh)
        a, t = sym_from_triangle(a, True), sym_from_triangle(t, True)
    return pinv_tangent(a, ans, t)


defjvp(pinv_p, _pinv_jvp)
defbatch_gufunc(pinv_p, (2,))


def pinv(a: Any, rcond: Any = None, hermitian: bool = False, **kw: Any) -> Any:
    """``numpy.linalg.pinv``. Its derivative assumes the rank of ``a`` does not change nearby
    (the pseudo-inverse jumps where it does)."""
    check_matrix("pinv", a, square=False)
    if not needs_bind(a):
        return call_numpy("pinv", np.linalg.pinv, a, rcond=rcond, hermitian=hermitian, **kw)
    check_real("pinv", a)
    if kw:
        raise TypeError(f"pinv: keyword arguments {sorted(kw)} are not supported on traced "
                        "values; use rcond")
    if rcond is not None and np.ndim(rcond) != 0:
        raise TypeError("pinv: rcond must be a scalar when a is being differentiated")
    return bind(pinv_p, a, rcond=None if rcond is None else float(rcond),
                hermitian=bool(hermitian))


# --- lstsq ----------------------------------------------------------------------------------


def _lstsq_rcond(shape: tuple[Any, ...], dt: np.dtype, rcond: Any) -> float:
    return float(np.finfo(dt).eps * max(shape[-2:])) if rcond is None else float(rcond)


def _lstsq_check(a: tuple[Any, ...], b: tuple[Any, ...]) -> None:
    if len(a) != 2 or len(b) not in (1, 2) or b[0] != a[0]:
        raise LinAlgShapeError(
            f"lstsq: a has shape {shape_str(a)} and b has shape {shape_str(b)}; a must be a "
            f"matrix (m, n) and b of shape (m,) or (m, k) with the same m (NumPy's lstsq does "
            "not take stacks)")


def _lstsq_impl(a: Any, b: Any, *, rcond: float, vector: bool) -> Any:
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim == 2 and b.ndim == (1 if vector else 2):
        return call_numpy("lstsq", np.linalg.lstsq, a, b, rcond=rcond)[0]
    # Stacks only arise under vmap; NumPy's lstsq takes one system, so loop over the stack.
    core = 1 if vector else 2
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-core])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-core:])
    out = np.empty(batch + (a.shape[-1],) + b.shape[a.ndim - 1:],
                   np.result_type(a.dtype, b.dtype, np.float64))
    for i in np.ndindex(*batch):
        out[i] = call_numpy("lstsq", np.linalg.lstsq, a[i], b[i], rcond=rcond)[0]
    return out


def _lstsq_xp(xp: Any, a: Any, b: Any, *, rcond: float, vector: bool) -> Any:
    # The standard has no lstsq: the minimum-norm solution is A⁺ b, A⁺ by SVD (pinv) with
    # NumPy's cutoff (rcond relative to the largest singular value).
    p = linalg_of(xp, "pinv", lstsq_p)(a, rtol=rcond)
    return (p @ b[..., None])[..., 0] if vector else p @ b


def _lstsq_abstract(a: ShapedArray, b: ShapedArray, *, rcond: float, vector: bool
                    ) -> ShapedArray:
    core = 1 if vector else 2
    if a.ndim < 2 or b.ndim < core or b.shape[-core] != a.shape[-2]:
        _lstsq_check(a.shape, b.shape)
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-core], op="lstsq (batch axes)")
    dt = np.result_type(float_dtype("lstsq", a.dtype), float_dtype("lstsq", b.dtype))
    return ShapedArray(batch + (a.shape[-1],) + tuple(b.shape[b.ndim - core + 1:]), dt)


lstsq_p = Primitive("lstsq", _lstsq_impl, _lstsq_abstract)
defxp(lstsq_p, _lstsq_xp)


def _lstsq_jvp(primals: list[Any], tangents: list[Any], *, rcond: float, vector: bool
               ) -> tuple[Any, Any]:
    (a, b), (ta, tb) = primals, tangents
    x = bind(lstsq_p, a, b, rcond=rcond, vector=vector)
    if type(ta) is Zero and type(tb) is Zero:
        return x, Zero(None)
    p = bind(pinv_p, a, rcond=rcond, hermitian=False)

    def mv(m: Any, v: Any) -> Any:
        return matvec(m, v, vector)

    out = None if type(tb) is Zero else mv(p, tb)
    if type(ta) is not Zero:
        r = subtract(b, mv(a, x))                       # residual b − A x
        tat = mT(ta)
        z = mv(tat, mv(mT(p), x))                       # Ȧᵀ A⁺ᵀ x
        da = add(negative(mv(p, mv(ta, x))),
                 add(mv(p, mv(mT(p), mv(tat, r))), subtract(z, mv(p, mv(a, z)))))
        out = da if out is None else add(out, da)
    return x, out


defjvp_rule(lstsq_p, _lstsq_jvp)
defbatch(lstsq_p, rhs_batch_rule(lstsq_p))


def lstsq(a: Any, b: Any, rcond: Any = None) -> tuple[Any, Any, int, Any]:
    """``numpy.linalg.lstsq``: ``(x, residuals, rank, s)``. ``x``, ``residuals`` and ``s`` are
    differentiable (``x = A⁺ b``, assuming the rank does not change nearby); ``rank`` is an int.
    """
    _lstsq_check(shape_of(a), shape_of(b))
    if not (needs_bind(a) or needs_bind(b)):
        return call_numpy("lstsq", np.linalg.lstsq, a, b, rcond=rcond)
    check_real("lstsq", a, b)
    rc = _lstsq_rcond(shape_of(a), float_dtype("lstsq", dtype_of(a)), rcond)
    x = bind(lstsq_p, a, b, rcond=rc, vector=len(shape_of(b)) == 1)
    s = svd_values(a)
    rank = _rank("lstsq", a, rc)
    m, n = shape_of(a)
    if rank == n and m > n:
        r = subtract(b, matmul(a, x))
        res = reduce_sum(multiply(r, r), axis=0)
        if len(shape_of(b)) == 1:
            res = reshape(res, (1,))
    else:
        res = np.zeros((0,), dtype_of(x))
    return x, res, rank, s


def _stacked_value(x: Any) -> np.ndarray:
    """The concrete numbers behind ``x``: its value, or under ``vmap`` every example's value
    (batch axes first). Staged values (``trace``/``jit``) have none and raise."""
    if not needs_bind(x):
        return np.asarray(x)
    if is_foreign(x):
        return x  # read on its own device by _rank
    if isinstance(x, BatchTracer):
        inner = x.val
        v = _stacked_value(inner)
        extra = v.ndim - get_aval(inner).ndim      # batch axes of deeper vmaps, in front
        return np.moveaxis(v, extra + x.bdim, 0)
    primal = getattr(x, "primal", None)           # a jvp tracer: look at its primal
    if primal is not None:
        return _stacked_value(primal)
    return np.asarray(x.concrete_value())           # raises ConcretizationError with advice


def _rank(op: str, a: Any, rcond: float) -> int:
    """The numerical rank NumPy's lstsq reports: singular values above ``rcond · s_max``. It
    decides the shape of ``residuals``, so it must be known while tracing (as in NumPy)."""
    v = _stacked_value(a)
    m, n = v.shape[-2:]
    if is_foreign(v):  # on its device; the ranks (a few ints) are read back: one sync
        xp = namespace(v)
        s = linalg_of(xp, "svdvals", lstsq_p)(xp.reshape(v, (-1, m, n)))
        if s.shape[-1] == 0:
            return 0
        r = xp.sum(xp.astype(s > rcond * s[:, :1], xp.int64), axis=-1)
        ranks = np.array([int(r[i]) for i in range(int(r.shape[0]))])
    else:
        s = np.linalg.svd(v.reshape((-1, m, n)), compute_uv=False)
        if s.shape[-1] == 0:
            return 0
        ranks = np.sum(s > rcond * s[:, :1], axis=-1)
    if np.any(ranks != ranks[0]):
        raise LinAlgError(
            f"{op}: under vmap the examples have different ranks {sorted(set(ranks.tolist()))}, "
            "so their residuals would have different shapes; use tnp.linalg.pinv(a) @ b for the "
            "solution alone")
    return int(ranks[0])
