"""The log-sum-exp family (``tensorcalc.scipy.special``): ``logsumexp``, ``softmax`` and
``log_softmax`` over a tuple of axes, and the linear map of ``softmax`` as a primitive of its own.

=============  ==============================================  ===============================
function       derivative                                      note
=============  ==============================================  ===============================
logsumexp      softmax(x)                                      0 where every entry is −∞
softmax        s ⊙ (ẋ − Σ s ẋ)                                 0 where every entry is −∞
log_softmax    ẋ − Σ s ẋ                                       0 where every entry is −∞
=============  ==============================================  ===============================

All three are max-shifted, so large inputs do not overflow; float32 stays float32.

The tangent map of softmax, ``T_s(ẋ) = s ⊙ (ẋ − Σ s ⊙ ẋ)`` (sums over the softmax axes), is the
primitive ``softmax_tangent(ẋ, s)``. Its Jacobian ``diag(s) − s sᵀ`` is symmetric, so ``T_s`` is
its own transpose: the reverse pass of an attention layer makes the same three array passes as
the forward tangent (a row dot product ``Σ s ⊙ ẋ``, a difference, a product), where the rule
composed of ``where``/``mul``/``sum``/``sub`` made eight (a maximum, a comparison, a select, two
products, a sum, a broadcast and an addition) and kept ``x`` alive for the mask. The map is 0 on
slices where ``s`` is NaN throughout (every entry of ``x`` −∞, or a NaN in ``x``: softmax's
convention; also a slice of +∞ only, whose softmax is NaN as well); that mask is built only when
the row sums show a NaN, so the common case never pays for it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.backend import defxp
from ..core.errors import ShapeError
from ..core.primitive import Primitive, bind, get_aval
from ..core.shapes import ShapedArray, normalize_axes
from ..core.zeros import Zero
from ..interpreters.batch import bdim_to_front, common_size, defbatch, logical_axis
from ..interpreters.forward import defjvp, defjvp_rule
from ..interpreters.sparsity import DENSE, Pairs, SparsityQuery, defsparsity, positions
from ..interpreters.transpose import deftranspose, is_undefined
from ._base import kernel_module, needs_bind
from .elementwise import (
    absolute,
    add,
    equal,
    exp,
    greater,
    log,
    multiply,
    sign,
    subtract,
    where,
)
from .reductions import max as _max
from .reductions import sum as _sum
from .strong_zero import mul_sz
from .structural import batch_reduction, broadcast_to, reduce_sum, reshape
from .unary import isnan

# --- logsumexp, softmax, log_softmax ---------------------------------------------------------
# All three reduce over ``axes`` (a tuple of ints). Where every entry of a slice is −∞ the
# slice is "empty": logsumexp is −∞, softmax and log_softmax are NaN (SciPy's values), and
# the derivative is 0 (docs/conventions.md), never NaN.


def _keep_shape(shape: tuple[Any, ...], axes: tuple[int, ...]) -> tuple[Any, ...]:
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def _np_shift(x: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    m = np.max(x, axis=axes, keepdims=True)
    return np.where(np.isfinite(m), m, 0)


def _logsumexp_impl(x: Any, *, axes: tuple[int, ...]) -> Any:
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    m = _np_shift(x, axes)
    with np.errstate(divide="ignore"):
        s = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
    return np.reshape(s, tuple(d for i, d in enumerate(x.shape) if i not in axes))


#: Below this many entries NumPy's five calls are cheap enough, and a program that never
#: softmaxes a large array never imports numba. The choice depends on the call alone (shape,
#: dtype, axes), never on the calls before it, so a result does not change bits after some
#: number of calls (tiered fusion keeps the same promise, docs/jit.md); the price is numba's
#: start, 1–2 s once per process, paid by the first large softmax.
SMALL_FOR_KERNELS = 2048
_row_kernels: dict[str, Any] | None = None


def row_kernels() -> dict[str, Any]:
    """The compiled row kernels of :mod:`._softmax_rows` by name; ``{}`` without numba or with
    ``TENSORCALC_SOFTMAX=numpy`` (then the NumPy code runs)."""
    global _row_kernels
    if _row_kernels is None:
        rows = kernel_module("TENSORCALC_SOFTMAX", "tensorcalc.ops._softmax_rows")
        _row_kernels = {} if rows is None else {
            "softmax_rows": rows.softmax_rows, "softmax_tangent_rows": rows.softmax_tangent_rows}
    return _row_kernels


def _rows_kernel(name: str, x: np.ndarray, axes: tuple[int, ...]) -> Any:
    """The compiled row kernel ``name`` when it applies to ``x``: float64, the last axis alone,
    enough entries to pay for a call; else None (the NumPy code runs)."""
    if (x.dtype != np.float64 or x.size < SMALL_FOR_KERNELS or axes != (x.ndim - 1,)
            or x.shape[-1] == 0):
        return None
    return row_kernels().get(name)


def _into(out: Any, result: Any) -> Any:
    """``result``, written into ``out`` when jit passed one (the numpy_out rules below)."""
    if out is None:
        return result
    np.copyto(out, result)
    return out


def _rows_out(out: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """A 2-D view of ``out`` (rows of the last axis) when the kernels can write it directly."""
    if out is None:
        return np.empty((math.prod(shape[:-1]), shape[-1]))
    return out.reshape(-1, shape[-1]) if out.flags.c_contiguous else None


def _softmax_impl(x: Any, *, axes: tuple[int, ...], out: Any = None) -> Any:
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    kernel = _rows_kernel("softmax_rows", x, axes)
    dst = None if kernel is None else _rows_out(out, x.shape)
    if dst is not None:
        kernel(np.ascontiguousarray(x).reshape(-1, x.shape[-1]), dst)
        return dst.reshape(x.shape) if out is None else out
    return _into(out, _softmax_numpy(x, axes))


def _softmax_numpy(x: np.ndarray, axes: tuple[int, ...]) -> Any:
    with np.errstate(invalid="ignore"):
        # The same three operations, in one buffer (half the time of three temporaries).
        e = np.subtract(x, np.max(x, axis=axes, keepdims=True))
        if not isinstance(e, np.ndarray):  # 0-d: NumPy returns a scalar, no buffer to reuse
            e = np.exp(e)
            return e / np.sum(e, axis=axes, keepdims=True)
        np.exp(e, out=e)
        return np.divide(e, np.sum(e, axis=axes, keepdims=True), out=e)


def _log_softmax_impl(x: Any, *, axes: tuple[int, ...]) -> Any:
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        x = x.astype(np.float64)
    lse = np.reshape(_logsumexp_impl(x, axes=axes), _keep_shape(x.shape, axes))
    with np.errstate(invalid="ignore"):
        return x - lse


def _reduction_abstract(x: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
    dt = x.dtype if x.dtype.kind in "fc" else np.dtype(np.float64)
    return ShapedArray(tuple(d for i, d in enumerate(x.shape) if i not in axes), dt)


def _same_shape_abstract(x: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
    return ShapedArray(x.shape, x.dtype if x.dtype.kind in "fc" else np.dtype(np.float64))


logsumexp_p = Primitive("logsumexp", _logsumexp_impl, _reduction_abstract)
softmax_p = Primitive("softmax", _softmax_impl, _same_shape_abstract)
log_softmax_p = Primitive("log_softmax", _log_softmax_impl, _same_shape_abstract)


def _xp_shift(xp: Any, x: Any, axes: tuple[int, ...]) -> Any:
    m = xp.max(x, axis=axes, keepdims=True)
    return xp.where(xp.isfinite(m), m, xp.zeros_like(m))


def _logsumexp_xp(xp: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    m = _xp_shift(xp, x, axes)
    return xp.squeeze(xp.log(xp.sum(xp.exp(x - m), axis=axes, keepdims=True)) + m, axis=axes)


def _softmax_xp(xp: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    e = xp.exp(x - xp.max(x, axis=axes, keepdims=True))
    return e / xp.sum(e, axis=axes, keepdims=True)


def _log_softmax_xp(xp: Any, x: Any, *, axes: tuple[int, ...]) -> Any:
    return x - xp.reshape(_logsumexp_xp(xp, x, axes=axes), _keep_shape(tuple(x.shape), axes))


defxp(logsumexp_p, _logsumexp_xp)
defxp(softmax_p, _softmax_xp)
defxp(log_softmax_p, _log_softmax_xp)


def _alive(x: Any, axes: tuple[int, ...]) -> Any:
    """True for the slices that have an entry above −∞ (keepdims shape)."""
    return greater(_max(x, axis=axes, keepdims=True), -math.inf)


def _logsumexp_jvp(primals: list[Any], tangents: list[Any], *, axes: tuple[int, ...]) -> Any:
    (x,), (t,) = primals, tangents
    ans = bind(logsumexp_p, x, axes=axes)
    if type(t) is Zero:
        return ans, Zero(None)
    lse = reshape(ans, _keep_shape(get_aval(x).shape, axes))
    weight = exp(subtract(x, where(equal(lse, -math.inf), 0.0, lse)))  # softmax; 0 if empty
    return ans, reduce_sum(mul_sz(t, weight), axes)


def _softmax_jvp(primals: list[Any], tangents: list[Any], *, axes: tuple[int, ...]) -> Any:
    (x,), (t,) = primals, tangents
    ans = bind(softmax_p, x, axes=axes)
    if type(t) is Zero:
        return ans, Zero(None)
    return ans, bind(softmax_tangent_p, t, ans, axes=axes)


def _log_softmax_jvp(primals: list[Any], tangents: list[Any], *, axes: tuple[int, ...]) -> Any:
    (x,), (t,) = primals, tangents
    ans = bind(log_softmax_p, x, axes=axes)
    if type(t) is Zero:
        return ans, Zero(None)
    alive = _alive(x, axes)
    s = where(alive, exp(where(alive, ans, 0.0)), 0.0)
    total = reshape(reduce_sum(mul_sz(t, s), axes), _keep_shape(get_aval(x).shape, axes))
    return ans, where(alive, subtract(t, total), 0.0)


def _same_shape_batch(prim: Primitive) -> Any:
    def same_shape_batch(args: Any, dims: Any, *, axes: tuple[int, ...]) -> tuple[Any, int]:
        d = dims[0]
        return bind(prim, args[0], axes=tuple(logical_axis(a, d) for a in axes)), d

    same_shape_batch.__name__ = f"{prim.name}_batch"
    return same_shape_batch


defjvp_rule(logsumexp_p, _logsumexp_jvp)
defjvp_rule(softmax_p, _softmax_jvp)
defjvp_rule(log_softmax_p, _log_softmax_jvp)
defbatch(logsumexp_p, batch_reduction(logsumexp_p))
defbatch(softmax_p, _same_shape_batch(softmax_p))
defbatch(log_softmax_p, _same_shape_batch(log_softmax_p))


# --- softmax_tangent: T_s(t) = s ⊙ (t − Σ s ⊙ t), its own transpose -----------------------


def _live_slices(s: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """False for the slices where softmax is NaN throughout (keepdims shape): every entry −∞,
    or a NaN in x, where softmax's derivative is 0 by convention."""
    return ~np.all(np.isnan(s), axis=axes, keepdims=True)


def _strong_product(t: Any, f: Any) -> Any:
    """``t ⊙ f``, 0 wherever ``t`` is 0 (the value ``mul_sz`` gives under strong-zero checks)."""
    return np.where(t == 0, np.zeros((), np.result_type(t, f)), np.multiply(t, f))


def _softmax_tangent_masked(t: Any, s: np.ndarray, axes: tuple[int, ...]) -> Any:
    """The rule for slices with a NaN: 0 on dead slices, strong-zero products elsewhere (a zero
    entry of ``t`` stays 0 whatever ``s`` is). The strong zeros are applied in every mode, not
    only under strong-zero checks: this is the rare path, and jit's in-place NaN checks watch
    only ``mul_sz``/``div_sz``, so a NaN made here would not trigger the checked rerun."""
    s = np.where(_live_slices(s, axes), s, s.dtype.type(0))
    u = _strong_product(t, s)
    return np.subtract(u, _strong_product(np.sum(u, axis=axes, keepdims=True), s))


def _row_dot(s: np.ndarray, t: np.ndarray, axes: tuple[int, ...]) -> Any:
    """``Σ s ⊙ t`` over ``axes`` (keepdims shape). Over the last axis alone it is a stacked
    (1×n)(n×1) matmul: no temporary of the full size, and 2.5× faster than product then sum."""
    if axes == (s.ndim - 1,) and s.ndim and s.dtype == t.dtype and s.dtype.kind == "f":
        return np.matmul(s[..., None, :], t[..., :, None])[..., 0]
    return np.sum(np.multiply(s, t), axis=axes, keepdims=True)


def _softmax_tangent_impl(t: Any, s: Any, *, axes: tuple[int, ...], out: Any = None) -> Any:
    t, s = np.asarray(t), np.asarray(s)
    kernel = _rows_kernel("softmax_tangent_rows", s, axes) if t.dtype == s.dtype else None
    dst = None if kernel is None or t.shape != s.shape else _rows_out(out, s.shape)
    if dst is not None:
        n = s.shape[-1]
        rows_t = np.ascontiguousarray(t).reshape(-1, n)
        rows_s = np.ascontiguousarray(s).reshape(-1, n)
        bad = kernel(rows_t, rows_s, dst)
        if bad >= 0:
            # From the first row whose sum is not finite (a dead slice or a non-finite
            # tangent; not yet written, even when ``out`` is an operand): the masked rule.
            with np.errstate(invalid="ignore"):
                dst[bad:] = _softmax_tangent_masked(rows_t[bad:], rows_s[bad:], (1,))
        return dst.reshape(s.shape) if out is None else out
    return _into(out, _softmax_tangent_numpy(t, s, axes))


def _softmax_tangent_numpy(t: np.ndarray, s: np.ndarray, axes: tuple[int, ...]) -> Any:
    with np.errstate(invalid="ignore"):
        total = _row_dot(s, t, axes)
        if not np.isfinite(total).all():
            # A NaN in s (a dead slice, or +∞ in x) or a non-finite tangent.
            return _softmax_tangent_masked(t, s, axes)
        out = np.subtract(t, total)
        if not isinstance(out, np.ndarray):  # 0-d: NumPy gave a scalar, no buffer to reuse
            return out * s
        # s ⊙ (t − Σ s t): one temporary for the whole map.
        return np.multiply(out, s, out=out)


def _softmax_tangent_abstract(t: ShapedArray, s: ShapedArray, *,
                              axes: tuple[int, ...]) -> ShapedArray:
    if t.shape != s.shape:
        raise ShapeError(
            f"softmax_tangent: the tangent {t.shape} and the softmax value {s.shape} must "
            "have one shape; bind it as softmax's jvp rule does (tangent, value)")
    return ShapedArray(s.shape, np.result_type(t.dtype, s.dtype))


softmax_tangent_p = Primitive("softmax_tangent", _softmax_tangent_impl,
                              _softmax_tangent_abstract)
# jit's NumPy code hands both impls an ``out=`` buffer (compile/buffers.numpy_call_of), so the
# scores' buffers are reused and the call pool keeps theirs between calls (a fresh 512 KiB
# result faulted its pages in on every call: half of S6's softmax time). Both read a row
# before writing it, so ``out`` may be a dying operand (``signature`` None, as an elementwise
# ufunc's).
_softmax_impl.signature = _softmax_tangent_impl.signature = None  # type: ignore[attr-defined]
softmax_p.numpy_out = _softmax_impl  # type: ignore[attr-defined]
softmax_tangent_p.numpy_out = _softmax_tangent_impl  # type: ignore[attr-defined]


@defxp(softmax_tangent_p)
def _softmax_tangent_xp(xp: Any, t: Any, s: Any, *, axes: tuple[int, ...]) -> Any:
    # The masked form always: a finiteness test would compute a Dask graph or sync a device.
    live = xp.logical_not(xp.all(xp.isnan(s), axis=axes, keepdims=True))
    s = xp.where(live, s, xp.zeros_like(s))
    u = mul_sz(t, s)
    return u - mul_sz(xp.sum(u, axis=axes, keepdims=True), s)


def _softmax_tangent_jvp_t(dt: Any, ans: Any, t: Any, s: Any, *, axes: tuple[int, ...]) -> Any:
    return bind(softmax_tangent_p, dt, s, axes=axes)


def _softmax_tangent_jvp_s(ds: Any, ans: Any, t: Any, s: Any, *, axes: tuple[int, ...]) -> Any:
    # d/ds [s ⊙ (t − Σ s t)] = ṡ ⊙ (t − Σ s t) − s ⊙ Σ ṡ t, and 0 on dead slices.
    live = greater(_max(where(isnan(s), 0.0, 1.0), axis=axes, keepdims=True), 0.0)
    s, ds = where(live, s, 0.0), where(live, ds, 0.0)
    keep = _keep_shape(get_aval(s).shape, axes)
    total = reshape(reduce_sum(mul_sz(t, s), axes), keep)
    dtotal = reshape(reduce_sum(mul_sz(ds, t), axes), keep)
    return subtract(mul_sz(ds, subtract(t, total)), mul_sz(dtotal, s))


def _softmax_tangent_transpose(ct: Any, t: Any, s: Any, *,
                               axes: tuple[int, ...]) -> tuple[Any, None]:
    if is_undefined(s):
        raise TypeError("softmax_tangent is linear in its first operand (the tangent) only")
    return bind(softmax_tangent_p, ct, s, axes=axes), None  # T_s is symmetric


def _softmax_tangent_batch(args: Any, dims: Any, *, axes: tuple[int, ...]) -> tuple[Any, int]:
    size = common_size(args, dims, "softmax_tangent")
    if dims[0] is not None and dims[0] == dims[1]:  # one layout: no axis moves
        d = dims[0]
        return bind(softmax_tangent_p, *args, axes=tuple(logical_axis(a, d) for a in axes)), d
    moved = [bdim_to_front(a, d, size) for a, d in zip(args, dims, strict=True)]
    return bind(softmax_tangent_p, *moved, axes=tuple(a + 1 for a in axes)), 0


def _softmax_tangent_sparsity(q: SparsityQuery) -> Any:
    """Each entry reads every entry of its own slice: one dense block per slice (the pattern
    the composed product-sum-product rule gave, so sparse Jacobians of softmax stay sparse)."""
    if q.k != 0:
        return DENSE  # s: a constant in every linear program
    axes = q.params["axes"]
    pos = positions(q.operand.shape)
    keep = [i for i in range(pos.ndim) if i not in axes]
    width = int(np.prod([pos.shape[a] for a in axes], dtype=np.int64))
    blocks = np.transpose(pos, keep + list(axes)).reshape(-1, max(width, 1))
    k = blocks.shape[1]
    return Pairs(np.repeat(blocks, k, axis=1).ravel(), np.tile(blocks, (1, k)).ravel())


defjvp(softmax_tangent_p, _softmax_tangent_jvp_t, _softmax_tangent_jvp_s)
defsparsity(softmax_tangent_p, _softmax_tangent_sparsity)
deftranspose(softmax_tangent_p, _softmax_tangent_transpose)
defbatch(softmax_tangent_p, _softmax_tangent_batch)


def _axes_of(a: Any, axis: Any, op: str) -> tuple[int, ...]:
    return normalize_axes(axis, get_aval(a).ndim, op)


def logsumexp(a: Any, axis: Any = None, b: Any = None, keepdims: bool = False,
              return_sign: bool = False) -> Any:
    """``scipy.special.logsumexp``: ``log Σ b·eᵃ`` over ``axis``, computed max-shifted.

    With ``return_sign=True`` returns ``(log|Σ b·eᵃ|, sign)`` (the sign has no derivative).
    Where every entry is −∞ the result is −∞ and the derivative is 0."""
    if b is None and not return_sign:
        axes = _axes_of(a, axis, "logsumexp")
        if not needs_bind(a):
            out = _logsumexp_impl(a, axes=axes)
        else:
            out = bind(logsumexp_p, a, axes=axes) if axes else add(a, 0.0)
        return reshape(out, _keep_shape(get_aval(a).shape, axes)) if keepdims else out
    return _logsumexp_weighted(a, axis, 1.0 if b is None else b, keepdims, return_sign)


def _logsumexp_weighted(a: Any, axis: Any, b: Any, keepdims: bool, return_sign: bool) -> Any:
    shape = np.broadcast_shapes(get_aval(a).shape, get_aval(b).shape)
    axes = normalize_axes(axis, len(shape), "logsumexp")
    a = broadcast_to(a, shape)
    m = _max(a, axis=axes, keepdims=True)
    empty = equal(m, -math.inf)
    shift = where(empty, 0.0, where(equal(m, math.inf), 0.0, m))
    s = _sum(multiply(b, exp(subtract(a, shift))), axis=axes, keepdims=True)
    size = absolute(s)
    # Where every entry is −∞ the log's derivative 1/s = 1/0 is kept out (the −∞ convention).
    with np.errstate(divide="ignore", invalid="ignore"):
        body = where(empty, -math.inf, log(where(empty, 1.0, size if return_sign else s)))
    out = add(body, shift)
    if not keepdims:
        out = reshape(out, tuple(d for i, d in enumerate(shape) if i not in axes))
    if not return_sign:
        return out
    sgn = sign(s)
    if not keepdims:
        sgn = reshape(sgn, get_aval(out).shape)
    return out, sgn


def softmax(x: Any, axis: Any = None) -> Any:
    """``scipy.special.softmax``: ``eˣ / Σ eˣ`` over ``axis`` (all axes by default)."""
    axes = _axes_of(x, axis, "softmax")
    if not needs_bind(x):
        return _softmax_impl(x, axes=axes)
    return bind(softmax_p, x, axes=axes)


def log_softmax(x: Any, axis: Any = None) -> Any:
    """``scipy.special.log_softmax``: ``x − logsumexp(x)`` over ``axis``, computed stably."""
    axes = _axes_of(x, axis, "log_softmax")
    if not needs_bind(x):
        return _log_softmax_impl(x, axes=axes)
    return bind(log_softmax_p, x, axes=axes)
