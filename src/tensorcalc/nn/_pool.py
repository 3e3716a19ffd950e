"""Pooling primitives (channels first, any number of spatial axes), computed from strided views.

Write ``x_k = x_pad[n, c, s·o + k]`` for the window entry at kernel offset ``k`` (one strided
slice of the padded input per offset, a view; ``Π K`` of them). Then

* ``max_pool(x)[n, c, o] = max_k x_k``: a running ``np.maximum`` over the ``Π K`` slices
  (NumPy's multi-axis reductions over short strided axes are 5–10× slower than this);
* its derivative shares each cotangent equally among tied maxima (the ``max`` convention):
  with ``share_k = [x_k = y] / Σ_j [x_j = y]``, the tangent is
  ``pool_select(ṫ, x, y) = Σ_k share_k ṫ_k`` and the cotangent is the scatter
  ``pool_scatter(ȳ, x, y)``: ``x̄_pad[s·o + k] += share_k ȳ[o]``, padding cut off. Both are
  linear in their first operand and transpose into each other; the share is piecewise constant
  in ``x``, so their derivative in ``x`` and ``y`` is zero (second derivatives of max-pooling
  vanish away from ties);
* ``avg_pool(x) = (1/Π K) Σ_k x_k`` (zero padding counted, as PyTorch's default) is linear; its
  transpose ``avg_pool_t(ȳ)`` adds ``ȳ/Π K`` into every slice, and transposes back.

A batch axis folds into ``N`` (every map acts on each ``(n, c)`` plane alone).

With numba installed, the scatter of a 2-D tiling pool (stride = kernel, no padding) runs as one
pass over the windows (``_pool_numba``): the same shares, summed in the same order, so the same
bits as the NumPy code, in about a third of the time; ``TENSORCALC_POOL=numpy`` keeps NumPy's.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.backend import defxp
from ..core.errors import ShapeError
from ..core.primitive import Primitive, bind, get_aval
from ..core.shapes import ShapedArray, shape_str
from ..interpreters.batch import bdim_to_front, common_size, defbatch
from ..interpreters.forward import defjvp
from ..interpreters.transpose import deflinear, deftranspose
from ..ops._base import kernel_module
from ..ops.structural import reshape
from . import _layout as layout
from . import _xpgrid as grid


def _out_spatial(spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                 padding: tuple[int, ...]) -> tuple[int, ...]:
    return tuple((n + 2 * p - k) // s + 1
                 for n, k, s, p in zip(spatial, kernel, stride, padding, strict=True))


def _slices(k: tuple[int, ...], stride: tuple[int, ...], out: tuple[int, ...]) -> tuple:
    """Index of the window entries at kernel offset ``k``: one strided slice per axis."""
    return (slice(None), slice(None)) + tuple(
        slice(ki, ki + s * (o - 1) + 1, s) for ki, s, o in zip(k, stride, out, strict=True))


def _offsets(kernel: tuple[int, ...]) -> list[tuple[int, ...]]:
    return list(np.ndindex(*kernel))


def _float(x: np.ndarray) -> np.ndarray:
    return x if np.issubdtype(x.dtype, np.inexact) else x.astype(np.float64)


def _max_pool_impl(x: Any, *, kernel: tuple[int, ...], stride: tuple[int, ...],
                   padding: tuple[int, ...]) -> np.ndarray:
    x = _float(np.asarray(x))
    xp = layout.pad(x, padding, -np.inf)
    out = _out_spatial(x.shape[2:], kernel, stride, padding)
    y: np.ndarray | None = None
    for k in _offsets(kernel):
        v = xp[_slices(k, stride, out)]
        # order "K": the result keeps the input's memory layout (nn/_layout.py)
        y = v.copy(order="K") if y is None else np.maximum(y, v, out=y)
    return y


def _shares(x: np.ndarray, y: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...],
            padding: tuple[int, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The tie masks ``[x_k = y]`` per offset and their count (≥ 1 unless ``y`` is NaN)."""
    xp = layout.pad(x, padding, -np.inf)
    masks = [np.equal(xp[_slices(k, stride, y.shape[2:])], y) for k in _offsets(kernel)]
    count = masks[0].astype(y.dtype)
    for m in masks[1:]:
        count += m.astype(y.dtype)  # float + float: NumPy's bool → float add is slower
    return count, masks


def _pool_select_impl(t: Any, x: Any, y: Any, *, kernel: tuple[int, ...],
                      stride: tuple[int, ...], padding: tuple[int, ...]) -> np.ndarray:
    t, x, y = np.asarray(t), np.asarray(x), np.asarray(y)
    count, masks = _shares(x, y, kernel, stride, padding)
    tp = layout.pad(t, padding, 0.0)
    acc = layout.like(y, y.shape, np.result_type(t.dtype, y.dtype))
    for k, m in zip(_offsets(kernel), masks, strict=True):
        # np.where, not m · t: entries off the maximum never enter (no 0 · ∞). (A masked
        # ufunc, np.add(..., where=m), is several times slower than where + add.)
        acc += np.where(m, tp[_slices(k, stride, y.shape[2:])], 0.0)
    return np.divide(acc, count, out=acc)


def _pool_scatter_impl(ct: Any, x: Any, y: Any, *, kernel: tuple[int, ...],
                       stride: tuple[int, ...], padding: tuple[int, ...]) -> np.ndarray:
    ct, x, y = np.asarray(ct), np.asarray(x), np.asarray(y)
    if stride == kernel and not any(padding) and all(
            n % k == 0 for n, k in zip(x.shape[2:], kernel, strict=True)):
        return _scatter_tiled(ct, x, y, kernel)
    count, masks = _shares(x, y, kernel, stride, padding)
    # the share in the layout of x's maxima (ct may come channels-first from a dense layer)
    share = np.divide(ct, count,
                      out=layout.like(count, count.shape, np.result_type(ct.dtype, count.dtype)))
    padded = tuple(n + 2 * p for n, p in zip(x.shape[2:], padding, strict=True))
    out = layout.like(x, (*x.shape[:2], *padded), share.dtype)
    tiling = all(s >= k for s, k in zip(stride, kernel, strict=True))
    for k, m in zip(_offsets(kernel), masks, strict=True):
        view = out[_slices(k, stride, y.shape[2:])]
        if tiling:
            view[...] = np.where(m, share, 0.0)  # windows do not overlap: each entry once
        else:
            view += np.where(m, share, 0.0)
    return layout.crop(out, padding, x.shape[2:])


def _scatter_tiled(ct: np.ndarray, x: np.ndarray, y: np.ndarray, kernel: tuple[int, ...]
                   ) -> np.ndarray:
    """``pool_scatter`` when the windows tile the input exactly (stride = kernel, no padding,
    sizes divisible): in the batch-innermost layout (nn/_layout.py) the input reshapes for free
    to ``(C, O₁, K₁, O₂, K₂, …, N)``, so the tie masks are one broadcast comparison with ``y``
    and the cotangent one broadcast product ``mask · share`` that writes every entry once (no
    zero fill, no strided stores)."""
    nd = len(kernel)
    xt, yt = layout.nlast(x), layout.nlast(y)
    loop = _scatter_loop(nd, ct, xt, yt)
    if loop is not None:  # one compiled pass, the same bits (nn/_pool_numba.py)
        out = np.empty(xt.shape, xt.dtype)
        loop(xt, yt, np.moveaxis(ct, 0, -1), out, *kernel)
        return layout.nfirst(out)
    split = (xt.shape[0], *(v for o, k in zip(yt.shape[1:-1], kernel, strict=True)
                            for v in (o, k)), xt.shape[-1])
    spread = (slice(None),) + (slice(None), None) * nd + (slice(None),)   # y over each window
    masks = xt.reshape(split) == yt[spread]
    count = None
    for k in _offsets(kernel):
        m = masks[(slice(None),) + tuple(v for ki in k for v in (slice(None), ki))]
        count = m.astype(np.result_type(ct.dtype, y.dtype)) if count is None else count + m
    # ȳ read through a view in y's memory order (a dense layer's ȳ comes channels-first)
    share = np.divide(np.moveaxis(ct, 0, -1), count, out=count)
    if np.isfinite(np.sum(share)):   # no inf or NaN share (an overflowing sum only costs time)
        out = np.multiply(masks, share[spread])    # 3x faster than where (may give -0.0)
    else:
        out = np.where(masks, share[spread], 0.0)  # an infinite share: no 0 · ∞ = NaN
    return layout.nfirst(out.reshape(xt.shape))


_loops: Any = None


def _scatter_loop(nd: int, *arrays: np.ndarray) -> Any:
    """numba's one-pass scatter (``nn/_pool_numba.py``) for 2-D windows on float32/float64
    arrays of one dtype, or None: without numba, with ``TENSORCALC_POOL=numpy``, or for other
    calls (the choice depends on the call alone, so results never change from call to
    call)."""
    global _loops
    if nd != 2 or arrays[0].dtype not in _FLOATS or any(a.dtype != arrays[0].dtype
                                                         for a in arrays):
        return None
    if _loops is None:
        _loops = kernel_module("TENSORCALC_POOL", "tensorcalc.nn._pool_numba") or False
    return _loops.max_pool2d_scatter if _loops else None


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _avg_pool_impl(x: Any, *, kernel: tuple[int, ...], stride: tuple[int, ...],
                   padding: tuple[int, ...]) -> np.ndarray:
    x = _float(np.asarray(x))
    xp = layout.pad(x, padding, 0.0)
    out = _out_spatial(x.shape[2:], kernel, stride, padding)
    acc = layout.like(x, (*x.shape[:2], *out), x.dtype)
    for k in _offsets(kernel):
        acc += xp[_slices(k, stride, out)]
    return np.divide(acc, math.prod(kernel), out=acc)


def _avg_pool_t_impl(ct: Any, *, in_spatial: tuple[int, ...], kernel: tuple[int, ...],
                     stride: tuple[int, ...], padding: tuple[int, ...]) -> np.ndarray:
    ct = np.asarray(ct)
    share = ct / math.prod(kernel)
    padded = tuple(n + 2 * p for n, p in zip(in_spatial, padding, strict=True))
    out = layout.like(share, (*ct.shape[:2], *padded), share.dtype)
    for k in _offsets(kernel):
        out[_slices(k, stride, ct.shape[2:])] += share
    return layout.crop(out, padding, in_spatial)


def _pooled(x: ShapedArray, kernel: tuple[int, ...], stride: tuple[int, ...],
            padding: tuple[int, ...]) -> ShapedArray:
    out = _out_spatial(tuple(x.shape[2:]), kernel, stride, padding)
    if x.ndim != len(kernel) + 2 or min(out, default=1) < 1:
        raise ShapeError(f"pool: input {shape_str(x.shape)} does not fit kernel {kernel} with "
                         f"padding {padding} (expected (N, C, {len(kernel)} spatial axes) at "
                         "least as large as the kernel)")
    dtype = x.dtype if np.issubdtype(x.dtype, np.inexact) else np.dtype(np.float64)
    return ShapedArray((*x.shape[:2], *out), dtype)


def _pool_abstract(x: ShapedArray, **p: Any) -> ShapedArray:
    return _pooled(x, p["kernel"], p["stride"], p["padding"])


def _select_abstract(t: ShapedArray, x: ShapedArray, y: ShapedArray, **p: Any) -> ShapedArray:
    return ShapedArray(y.shape, np.result_type(t.dtype, y.dtype))


def _scatter_abstract(ct: ShapedArray, x: ShapedArray, y: ShapedArray, **p: Any) -> ShapedArray:
    return ShapedArray(x.shape, np.result_type(ct.dtype, y.dtype))


def _avg_t_abstract(ct: ShapedArray, **p: Any) -> ShapedArray:
    return ShapedArray((*ct.shape[:2], *p["in_spatial"]), ct.dtype)


max_pool_p = Primitive("nn.max_pool", _max_pool_impl, _pool_abstract)
pool_select_p = Primitive("nn.pool_select", _pool_select_impl, _select_abstract)
pool_scatter_p = Primitive("nn.pool_scatter", _pool_scatter_impl, _scatter_abstract)
avg_pool_p = Primitive("nn.avg_pool", _avg_pool_impl, _pool_abstract)
avg_pool_t_p = Primitive("nn.avg_pool_t", _avg_pool_t_impl, _avg_t_abstract)
# Each impl returns an array it allocated (a crop copies, the tiled scatter multiplies).
for _prim in (max_pool_p, pool_select_p, pool_scatter_p, avg_pool_p, avg_pool_t_p):
    _prim.fresh_result = True


# --- array-API impls (nn/_xpgrid.py): the same sums over ΠK strided slices, out of place ---


def _xp_slices(x_pad: Any, kernel: tuple[int, ...], stride: tuple[int, ...],
               out: tuple[int, ...]) -> list[Any]:
    ones = (1,) * len(kernel)
    return [grid.window(x_pad, k, stride, ones, out) for k in grid.offsets(kernel)]


def _xp_shares(xp: Any, x: Any, y: Any, kernel: tuple[int, ...], stride: tuple[int, ...],
               padding: tuple[int, ...]) -> tuple[Any, list[Any]]:
    wins = _xp_slices(grid.pad(xp, x, padding, -math.inf), kernel, stride, tuple(y.shape[2:]))
    masks = [w == y for w in wins]
    count = xp.astype(masks[0], y.dtype)
    for m in masks[1:]:
        count = count + xp.astype(m, y.dtype)
    return count, masks


def _max_pool_xp(xp: Any, x: Any, *, kernel: tuple[int, ...], stride: tuple[int, ...],
                 padding: tuple[int, ...]) -> Any:
    x = grid.as_float(xp, x)
    out = _out_spatial(tuple(x.shape[2:]), kernel, stride, padding)
    wins = _xp_slices(grid.pad(xp, x, padding, -math.inf), kernel, stride, out)
    y = wins[0]
    for v in wins[1:]:
        y = xp.maximum(y, v)
    return y


def _pool_select_xp(xp: Any, t: Any, x: Any, y: Any, *, kernel: tuple[int, ...],
                    stride: tuple[int, ...], padding: tuple[int, ...]) -> Any:
    count, masks = _xp_shares(xp, x, y, kernel, stride, padding)
    wins = _xp_slices(grid.pad(xp, t, padding), kernel, stride, tuple(y.shape[2:]))
    acc = None
    for m, v in zip(masks, wins, strict=True):
        term = xp.where(m, v, xp.zeros_like(v))   # where, not m · t: no 0 · ∞ off the max
        acc = term if acc is None else acc + term
    return acc / count


def _pool_scatter_xp(xp: Any, ct: Any, x: Any, y: Any, *, kernel: tuple[int, ...],
                     stride: tuple[int, ...], padding: tuple[int, ...]) -> Any:
    count, masks = _xp_shares(xp, x, y, kernel, stride, padding)
    share = ct / count
    padded = tuple(n + 2 * p for n, p in zip(x.shape[2:], padding, strict=True))
    acc = None
    for k, m in zip(grid.offsets(kernel), masks, strict=True):
        term = grid.place(xp, xp.where(m, share, xp.zeros_like(share)), k, stride, padded)
        acc = term if acc is None else acc + term
    return grid.crop(acc, padding, tuple(x.shape[2:]))


def _avg_pool_xp(xp: Any, x: Any, *, kernel: tuple[int, ...], stride: tuple[int, ...],
                 padding: tuple[int, ...]) -> Any:
    x = grid.as_float(xp, x)
    out = _out_spatial(tuple(x.shape[2:]), kernel, stride, padding)
    wins = _xp_slices(grid.pad(xp, x, padding), kernel, stride, out)
    acc = wins[0]
    for v in wins[1:]:
        acc = acc + v
    return acc / math.prod(kernel)


def _avg_pool_t_xp(xp: Any, ct: Any, *, in_spatial: tuple[int, ...], kernel: tuple[int, ...],
                   stride: tuple[int, ...], padding: tuple[int, ...]) -> Any:
    share = ct / math.prod(kernel)
    padded = tuple(n + 2 * p for n, p in zip(in_spatial, padding, strict=True))
    acc = None
    for k in grid.offsets(kernel):
        term = grid.place(xp, share, k, stride, padded)
        acc = term if acc is None else acc + term
    return grid.crop(acc, padding, in_spatial)


defxp(max_pool_p, _max_pool_xp)
defxp(pool_select_p, _pool_select_xp)
defxp(pool_scatter_p, _pool_scatter_xp)
defxp(avg_pool_p, _avg_pool_xp)
defxp(avg_pool_t_p, _avg_pool_t_xp)


def _max_pool_jvp(t: Any, ans: Any, x: Any, **p: Any) -> Any:
    return bind(pool_select_p, t, x, ans, **p)


def _select_jvp(tdot: Any, ans: Any, t: Any, x: Any, y: Any, **p: Any) -> Any:
    return bind(pool_select_p, tdot, x, y, **p)


def _scatter_jvp(tdot: Any, ans: Any, ct: Any, x: Any, y: Any, **p: Any) -> Any:
    return bind(pool_scatter_p, tdot, x, y, **p)


def _select_transpose(ct: Any, t: Any, x: Any, y: Any, **p: Any) -> tuple[Any, None, None]:
    return bind(pool_scatter_p, ct, x, y, **p), None, None


def _scatter_transpose(ct: Any, c: Any, x: Any, y: Any, **p: Any) -> tuple[Any, None, None]:
    return bind(pool_select_p, ct, x, y, **p), None, None


def _avg_pool_transpose(ct: Any, x: Any, **p: Any) -> tuple[Any]:
    return (bind(avg_pool_t_p, ct, in_spatial=tuple(x.aval.shape[2:]), **p),)


def _avg_pool_t_transpose(ct: Any, c: Any, *, in_spatial: tuple[int, ...], **p: Any
                          ) -> tuple[Any]:
    return (bind(avg_pool_p, ct, **p),)


defjvp(max_pool_p, _max_pool_jvp)
defjvp(pool_select_p, _select_jvp, None, None)
defjvp(pool_scatter_p, _scatter_jvp, None, None)
deftranspose(pool_select_p, _select_transpose)
deftranspose(pool_scatter_p, _scatter_transpose)
deflinear(avg_pool_p, _avg_pool_transpose)
deflinear(avg_pool_t_p, _avg_pool_t_transpose)


def _fold_into_n(prim: Primitive) -> None:
    """Batch rule: the batch axis joins ``N`` (every pooling map acts per (n, c) plane)."""

    def fold_batch(args: Any, dims: Any, **params: Any) -> tuple[Any, int]:
        b = common_size(args, dims, prim.name)
        folded = []
        for a, d in zip(args, dims, strict=True):
            s = get_aval(a).shape if d is None else None
            m = bdim_to_front(a, d, b)
            s = get_aval(m).shape if s is None else (b, *s)
            folded.append(reshape(m, (s[0] * s[1], *s[2:])))
        out = bind(prim, *folded, **params)
        s = get_aval(out).shape
        return reshape(out, (b, s[0] // b, *s[1:])), 0

    fold_batch.__name__ = f"{prim.name}_batch"
    defbatch(prim, fold_batch)


for _prim in (max_pool_p, pool_select_p, pool_scatter_p, avg_pool_p, avg_pool_t_p):
    _fold_into_n(_prim)


def pool(kind: str, x: Any, kernel: tuple[int, ...], stride: tuple[int, ...],
         padding: tuple[int, ...]) -> Any:
    """``max_pool`` or ``avg_pool`` of ``x`` (traced or concrete)."""
    prim = max_pool_p if kind == "max" else avg_pool_p
    return bind(prim, x, kernel=kernel, stride=stride, padding=padding)
