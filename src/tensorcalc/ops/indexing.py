"""Selecting entries by position: take, take_along_axis, sort, diagonals, triangles, select.

Two primitives carry everything whose indices may themselves be traced (``argsort`` inside a
``jit``): ``take_along_axis(x, idx, axis)`` and its transpose ``scatter_add_along(v, idx, axis,
shape)``. Both are linear in the array operand and take no derivative in the index operand:

- ``y = take_along_axis(x, idx)``: ``y[…, j, …] = x[…, idx[…, j, …], …]``; transpose
  ``x̄ = scatter_add_along(ȳ, idx)``, which adds each ``ȳ`` entry back at the position it was
  read from (an index read twice receives both cotangents).
- ``z = scatter_add_along(v, idx)``: transpose ``v̄ = take_along_axis(z̄, idx)``.

Non-index axes broadcast both ways, as in NumPy (an axis of size 1 in ``x`` is read by every
index; its cotangent is the sum).

``sort`` is a primitive whose derivative follows the permutation that sorts the primal:
``ṡort(x) = take_along_axis(ẋ, argsort(x))`` with NumPy's *stable* ``argsort`` (equal entries
keep their order, so the derivative is the one of that fixed permutation: ∂ sort(x)_j/∂x_i = 1
exactly for the i that lands at j). ``argsort`` has no derivative (integer output).

Composites: ``take`` with concrete indices is an integer-array ``getitem``; ``diagonal`` is a
``getitem`` with the two index vectors ``(r + i, c + i)`` and ``diag`` of a vector writes them
(``index_add`` into zeros; its transpose reads them back); ``tril``/``triu`` are a ``where``
with a constant triangular mask (transpose: the same mask); ``trace`` sums the diagonal;
``select`` is nested ``where``s, the first true condition winning.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.backend import backend_name, defxp, device
from ..core.errors import ShapeError
from ..core.primitive import Primitive, bind, get_aval
from ..core.shapes import ShapedArray, is_inexact_dtype, normalize_axes, shape_str
from ..core.zeros import Zero
from ..interpreters.batch import defbatch
from ..interpreters.batch import moveaxis as _bmove
from ..interpreters.forward import defjvp, defjvp_rule, defjvp_zero
from ..interpreters.sparsity import (
    DENSE,
    Pairs,
    SparsityQuery,
    defsparsity,
    defsparsity_gather,
    positions,
)
from ..interpreters.transpose import deftranspose, is_undefined
from ._base import dtype_of, needs_bind
from .elementwise import where
from .reductions import sum as _sum
from .shape import moveaxis
from .structural import convert, getitem, index_add, reshape, unbroadcast


def _axis(axis: Any, ndim: int, op: str) -> int:
    return normalize_axes(int(axis), ndim, op)[0]


def _fancy(shape: tuple[int, ...], idx: Any, axis: int) -> tuple[Any, ...]:
    """The integer-array index that reads ``x[…, idx[…], …]`` along ``axis`` of ``shape``."""
    nd = len(shape)
    out: list[Any] = []
    for d in range(nd):
        if d == axis:
            out.append(idx)
        else:
            out.append(np.arange(shape[d]).reshape((1,) * d + (shape[d],) + (1,) * (nd - d - 1)))
    return tuple(out)


def _along_shape(x_shape: Sequence[Any], idx_shape: Sequence[Any], axis: int, op: str
                 ) -> tuple[Any, ...]:
    if len(x_shape) != len(idx_shape):
        raise ShapeError(
            f"{op}: `indices` of shape {shape_str(idx_shape)} and the array of shape "
            f"{shape_str(x_shape)} must have the same number of dimensions")
    out = []
    for d, (a, b) in enumerate(zip(x_shape, idx_shape, strict=True)):
        if d == axis:
            out.append(b)
        elif a == b or b == 1:
            out.append(a)
        elif a == 1:
            out.append(b)
        else:
            raise ShapeError(
                f"{op}: `indices` of shape {shape_str(idx_shape)} do not broadcast against the "
                f"array of shape {shape_str(x_shape)} (axis {d}: {b} vs {a}); every axis but "
                f"{axis} must match or be 1")
    return tuple(out)


def _check_int(idx: ShapedArray, op: str) -> None:
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers, got dtype {idx.dtype}")


def _bounds_error(op: str, err: IndexError, shape: Any) -> IndexError:
    return IndexError(f"{op}: {err} (array of shape {shape_str(shape)})")


# --- take_along_axis and scatter_add_along -------------------------------------------------


def _take_along_impl(x: Any, idx: Any, *, axis: int) -> Any:
    x = np.asarray(x)
    try:
        return x[_fancy(x.shape, np.asarray(idx), axis)]
    except IndexError as e:
        raise _bounds_error("take_along_axis", e, x.shape) from None


def _take_along_abstract(x: ShapedArray, idx: ShapedArray, *, axis: int) -> ShapedArray:
    _check_int(idx, "take_along_axis")
    return ShapedArray(_along_shape(x.shape, idx.shape, axis, "take_along_axis"), x.dtype,
                       x.weak_type)


take_along_p = Primitive("take_along_axis", _take_along_impl, _take_along_abstract)


@defxp(take_along_p)
def _take_along_xp(xp: Any, x: Any, idx: Any, *, axis: int) -> Any:
    shape = tuple(max(a, b) if i != axis else b
                  for i, (a, b) in enumerate(zip(x.shape, idx.shape, strict=True)))
    idx = xp.broadcast_to(idx, shape)
    x = xp.broadcast_to(x, tuple(d if i == axis else shape[i] for i, d in enumerate(x.shape)))
    if backend_name(xp).startswith("dask"):  # Dask has no take_along_axis: a blockwise one
        from ..core import dask_blocks

        return dask_blocks.take_along_axis(x, idx, axis)
    return xp.take_along_axis(x, idx, axis=axis)


def _scatter_impl(v: Any, idx: Any, *, axis: int, shape: tuple[int, ...]) -> Any:
    v = np.asarray(v)
    out = np.zeros(shape, v.dtype)
    try:
        np.add.at(out, _fancy(shape, np.asarray(idx), axis), v)  # repeated indices accumulate
    except IndexError as e:
        raise _bounds_error("scatter_add_along", e, shape) from None
    return out


def _scatter_abstract(v: ShapedArray, idx: ShapedArray, *, axis: int, shape: Any
                      ) -> ShapedArray:
    _check_int(idx, "scatter_add_along")
    target = _along_shape(shape, idx.shape, axis, "scatter_add_along")
    if len(v.shape) > len(target):
        raise ShapeError(f"scatter_add_along: values of shape {shape_str(v.shape)} do not fit "
                         f"the indexed shape {shape_str(target)}")
    return ShapedArray(tuple(shape), v.dtype)


scatter_add_along_p = Primitive("scatter_add_along", _scatter_impl, _scatter_abstract)


@defxp(scatter_add_along_p)
def _scatter_xp(xp: Any, v: Any, idx: Any, *, axis: int, shape: tuple[int, ...]) -> Any:
    idx = xp.broadcast_to(idx, tuple(v.shape))
    if backend_name(xp) == "torch":  # native, repeated indices accumulate
        return xp.zeros(shape, dtype=v.dtype, device=device(v)).scatter_add(axis, idx, v)
    # Elsewhere: out[…, j, …] = Σᵢ [idx[…, i, …] = j] · v[…, i, …], a comparison of the target
    # axis against the index axis (memory: their product), exact for repeated indices.
    n = shape[axis]
    grid = xp.reshape(xp.arange(n, device=device(v)), (1,) * axis + (n, 1) + (1,) * (
        v.ndim - axis - 1))
    hit = xp.expand_dims(idx, axis=axis) == grid
    vv = xp.expand_dims(v, axis=axis)
    out = xp.sum(xp.where(hit, vv, xp.zeros_like(vv)), axis=axis + 1)
    return xp.broadcast_to(out, shape)


def _take_along_transpose(ct: Any, x: Any, idx: Any, *, axis: int) -> tuple[Any, None]:
    if is_undefined(idx):
        raise TypeError("take_along_axis is not linear in its indices")
    out = bind(scatter_add_along_p, ct, idx, axis=axis, shape=tuple(x.aval.shape))
    if get_aval(out).dtype != x.aval.dtype and is_inexact_dtype(x.aval.dtype):
        out = convert(out, x.aval.dtype)
    return out, None


def _scatter_transpose(ct: Any, v: Any, idx: Any, *, axis: int, shape: Any) -> tuple[Any, None]:
    if is_undefined(idx):
        raise TypeError("scatter_add_along is not linear in its indices")
    return unbroadcast(bind(take_along_p, ct, idx, axis=axis), v.aval), None


def _front(x: Any, d: Any) -> Any:
    # An unbatched operand gets a unit leading axis: both primitives broadcast it.
    if d is None:
        return reshape(x, (1,) + tuple(get_aval(x).shape))
    return _bmove(x, d, 0)


def _take_along_batch(args: Sequence[Any], dims: Sequence[Any], *, axis: int) -> Any:
    x, idx = (_front(a, d) for a, d in zip(args, dims, strict=True))
    return bind(take_along_p, x, idx, axis=axis + 1), 0


def _scatter_batch(args: Sequence[Any], dims: Sequence[Any], *, axis: int, shape: Any) -> Any:
    size = next(get_aval(a).shape[d] for a, d in zip(args, dims, strict=True) if d is not None)
    v, idx = (_front(a, d) for a, d in zip(args, dims, strict=True))
    v_shape = get_aval(v).shape
    if len(v_shape) < len(shape) + 1:
        v = reshape(v, (1,) * (len(shape) + 1 - len(v_shape)) + tuple(v_shape))
    return bind(scatter_add_along_p, v, idx, axis=axis + 1, shape=(size,) + tuple(shape)), 0


defjvp(take_along_p, lambda t, ans, x, idx, *, axis: bind(take_along_p, t, idx, axis=axis),
       None)
deftranspose(take_along_p, _take_along_transpose)
defbatch(take_along_p, _take_along_batch)
defsparsity_gather(take_along_p)


def _scatter_jvp(t: Any, ans: Any, v: Any, idx: Any, *, axis: int, shape: Any) -> Any:
    return bind(scatter_add_along_p, t, idx, axis=axis, shape=shape)


defjvp(scatter_add_along_p, _scatter_jvp, None)
deftranspose(scatter_add_along_p, _scatter_transpose)
defbatch(scatter_add_along_p, _scatter_batch)


def _scatter_sparsity(q: SparsityQuery) -> Any:
    """Entry ``t`` of the values is added at its target along ``axis`` (repeats accumulate)."""
    idx = q.const(1)
    if idx is None:
        return DENSE
    shape = q.params["shape"]
    target = positions(shape)[_fancy(tuple(shape), idx, q.params["axis"])]
    src = np.broadcast_to(positions(q.operand.shape), target.shape)
    return Pairs(np.ravel(target), np.ravel(src))


defsparsity(scatter_add_along_p, _scatter_sparsity)


def take_along_axis(arr: Any, indices: Any, axis: Any = -1) -> Any:
    """``numpy.take_along_axis``; the indices may be traced (``argsort`` of a traced value)."""
    if not needs_bind(arr) and not needs_bind(indices):
        return np.take_along_axis(np.asarray(arr), np.asarray(indices), axis)
    if not needs_bind(indices):
        indices = np.asarray(indices)
    if axis is None:
        if get_aval(indices).ndim != 1:
            raise ShapeError("take_along_axis: when axis=None, `indices` must have a single "
                             f"dimension, got shape {shape_str(get_aval(indices).shape)}")
        arr, axis = reshape(arr, (-1,)), 0
    aval = get_aval(arr)
    axis = _axis(axis, aval.ndim, "take_along_axis")
    return bind(take_along_p, arr, indices, axis=axis)


def take(a: Any, indices: Any, axis: Any = None, out: Any = None, mode: str = "raise") -> Any:
    """``numpy.take``: entries at ``indices`` along ``axis`` (of the flattened array if None).

    ``mode='raise'`` checks the bounds and names the axis, its size and the shape;
    ``'wrap'`` and ``'clip'`` map out-of-range indices as NumPy does."""
    if not needs_bind(a) and not needs_bind(indices):
        return np.take(a, indices, axis=axis, out=out, mode=mode)
    if out is not None:
        raise TypeError("take: out= is not supported for values being differentiated")
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    shape = tuple(get_aval(a).shape)
    axis = _axis(axis, len(shape), "take")
    n = shape[axis]
    if needs_bind(indices):
        if mode != "raise":
            raise NotImplementedError("take: traced indices support mode='raise' only")
        return _take_traced(a, indices, axis)
    ind = np.asarray(indices)
    if ind.dtype.kind not in "iu":
        raise TypeError(f"take: indices must be integers, got dtype {ind.dtype}")
    if mode == "wrap":
        ind = np.mod(ind, n)
    elif mode == "clip":
        ind = np.clip(ind, 0, max(n - 1, 0))
    elif mode == "raise":
        bad = (ind < -n) | (ind >= n)
        if np.any(bad):
            raise IndexError(
                f"take: index {int(ind[bad].flat[0])} is out of bounds for axis {axis} with "
                f"size {n} (array of shape {shape_str(shape)}); valid indices are {-n}..{n - 1}, "
                "or pass mode='wrap' / mode='clip'")
    else:
        raise ValueError(f"take: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    idx = int(ind) if ind.ndim == 0 else ind
    return getitem(a, (slice(None),) * axis + (idx,))


def _take_traced(a: Any, ind: Any, axis: int) -> Any:
    # take(a, ind, axis) == take_along_axis with ind's axes laid out in place of `axis` and
    # unit axes everywhere else (both operands broadcast).
    shape = tuple(get_aval(a).shape)
    ishape = tuple(get_aval(ind).shape)
    pre, post, n = shape[:axis], shape[axis + 1:], shape[axis]
    k = max(len(ishape), 1)
    a2 = reshape(a, pre + (n,) + (1,) * (k - 1) + post)
    i2 = reshape(ind, (1,) * len(pre) + (ishape or (1,)) + (1,) * len(post))
    res = bind(take_along_p, a2, i2, axis=axis)
    return res if ishape else reshape(res, pre + post)


# --- sort and argsort ----------------------------------------------------------------------


def _argsort_impl(x: Any, *, axis: int) -> Any:
    return np.argsort(x, axis=axis, kind="stable")


argsort_p = Primitive("argsort", _argsort_impl,
                      lambda x, *, axis: ShapedArray(x.shape, np.dtype(np.intp)))
defxp(argsort_p, lambda xp, x, *, axis: xp.argsort(x, axis=axis, stable=True))
defjvp_zero(argsort_p)

sort_p = Primitive("sort", lambda x, *, axis: np.sort(x, axis=axis, kind="stable"),
                   lambda x, *, axis: x)
defxp(sort_p, lambda xp, x, *, axis: xp.sort(x, axis=axis, stable=True))


def _sort_jvp(primals: list[Any], tangents: list[Any], *, axis: int) -> Any:
    (x,), (t,) = primals, tangents
    ans = bind(sort_p, x, axis=axis)
    if type(t) is Zero:
        return ans, Zero(None)
    perm = bind(argsort_p, x, axis=axis)  # stable: ties keep their order, as NumPy's sort
    return ans, bind(take_along_p, t, perm, axis=axis)


def _axis_batch(prim: Primitive) -> Any:
    def axis_batch(args: Sequence[Any], dims: Sequence[Any], *, axis: int) -> Any:
        return bind(prim, _bmove(args[0], dims[0], 0), axis=axis + 1), 0

    axis_batch.__name__ = f"{prim.name}_batch"
    return axis_batch


defjvp_rule(sort_p, _sort_jvp)
defbatch(sort_p, _axis_batch(sort_p))
defbatch(argsort_p, _axis_batch(argsort_p))


def _sort_args(a: Any, axis: Any, kind: Any, order: Any, op: str) -> tuple[Any, int]:
    if order is not None:
        raise NotImplementedError(f"{op}: order= (structured arrays) is not supported")
    if kind not in (None, "stable", "mergesort", "quicksort", "heapsort"):
        raise ValueError(f"{op}: unknown sort kind {kind!r}")
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    return a, _axis(axis, get_aval(a).ndim, op)


def sort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None
         ) -> Any:
    """``numpy.sort``. The derivative follows the sorting permutation; equal entries keep
    their order (a stable sort), so every ``kind`` gives the same values and derivative."""
    if not needs_bind(a):
        return np.sort(a, axis=axis, kind=kind, order=order, stable=stable)
    a, axis = _sort_args(a, axis, kind, order, "sort")
    return bind(sort_p, a, axis=axis)


def argsort(a: Any, axis: Any = -1, kind: Any = None, order: Any = None, *, stable: Any = None
            ) -> Any:
    """``numpy.argsort`` (always stable for traced values); integer output, no derivative."""
    if not needs_bind(a):
        return np.argsort(a, axis=axis, kind=kind, order=order, stable=stable)
    a, axis = _sort_args(a, axis, kind, order, "argsort")
    return bind(argsort_p, a, axis=axis)


# --- diagonals and triangles ---------------------------------------------------------------


def _diag_index(n1: int, n2: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    r0, c0 = max(-offset, 0), max(offset, 0)
    length = max(0, min(n1 - r0, n2 - c0))
    i = np.arange(length)
    return i + r0, i + c0


def diagonal(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
    """``numpy.diagonal``: the diagonal of the ``(axis1, axis2)`` planes as the last axis."""
    if not needs_bind(a):
        return np.diagonal(a, offset, axis1, axis2)
    if a.ndim < 2:
        raise ValueError(f"diagonal: the array must be at least 2-D, got shape "
                         f"{shape_str(a.shape)}")
    ax1, ax2 = _axis(axis1, a.ndim, "diagonal"), _axis(axis2, a.ndim, "diagonal")
    if ax1 == ax2:
        raise ValueError(f"diagonal: axis1 and axis2 cannot be the same (both {ax1})")
    rows, cols = _diag_index(a.shape[ax1], a.shape[ax2], int(offset))
    return getitem(moveaxis(a, (ax1, ax2), (-2, -1)), (Ellipsis, rows, cols))


def trace(a: Any, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype: Any = None,
          out: Any = None) -> Any:
    """``numpy.trace``: the sum of ``diagonal(a, offset, axis1, axis2)``."""
    if not needs_bind(a):
        return np.trace(a, offset, axis1, axis2, dtype=dtype, out=out)
    if out is not None:
        raise TypeError("trace: out= is not supported for values being differentiated")
    return _sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def diag(v: Any, k: int = 0) -> Any:
    """``numpy.diag``: the ``k``-th diagonal of a 2-D array, or a 2-D array with a 1-D ``v``
    on its ``k``-th diagonal (the transpose of each is the other)."""
    if not needs_bind(v):
        return np.diag(v, k)
    if v.ndim == 2:
        return diagonal(v, k)
    if v.ndim != 1:
        raise ValueError(f"diag: input must be 1-D or 2-D, got shape {shape_str(v.shape)}")
    n = v.shape[0] + abs(int(k))
    rows, cols = _diag_index(n, n, int(k))
    return index_add(np.zeros((n, n), dtype_of(v)), (rows, cols), v)


def _triangle(m: Any, k: int, lower: bool, op: str) -> Any:
    if not needs_bind(m):
        return (np.tril if lower else np.triu)(m, k)
    if m.ndim == 0:
        raise ValueError(f"{op}: input must be at least 1-D")
    n1, n2 = (m.shape[-2:] if m.ndim >= 2 else (m.shape[0], m.shape[0]))
    mask = np.tri(n1, n2, k, dtype=bool) if lower else ~np.tri(n1, n2, k - 1, dtype=bool)
    # where, not a product with the mask: inf or nan above the triangle must not leak in.
    return where(mask, m, np.zeros((), dtype_of(m)))


def tril(m: Any, k: int = 0) -> Any:
    """``numpy.tril``: zero the entries above the ``k``-th diagonal of the last two axes."""
    return _triangle(m, int(k), True, "tril")


def triu(m: Any, k: int = 0) -> Any:
    """``numpy.triu``: zero the entries below the ``k``-th diagonal of the last two axes."""
    return _triangle(m, int(k), False, "triu")


# --- select --------------------------------------------------------------------------------


def select(condlist: Sequence[Any], choicelist: Sequence[Any], default: Any = 0) -> Any:
    """``numpy.select``: at each position the choice of the first true condition, else
    ``default``. Derivatives flow only through the chosen entry."""
    condlist, choicelist = list(condlist), list(choicelist)
    if len(condlist) != len(choicelist):
        raise ValueError(f"select: list of cases ({len(condlist)}) must be same length as list "
                         f"of conditions ({len(choicelist)})")
    if not any(needs_bind(x) for x in [*condlist, *choicelist, default]):
        return np.select(condlist, choicelist, default)
    if not condlist:
        raise ValueError("select with an empty condition list is not possible")
    for k, c in enumerate(condlist):
        if get_aval(c).dtype != np.bool_:
            raise TypeError(f"select: invalid entry {k} in condlist: should be boolean ndarray")
    out = default
    for c, x in zip(reversed(condlist), reversed(choicelist), strict=True):
        out = where(c, x, out)  # the result shape broadcasts all conditions and choices
    return out
