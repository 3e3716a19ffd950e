"""NumPy's joining, reordering and index-update functions as compositions of the structural
primitives (``take``, ``concatenate``, ``transpose``, ``broadcast_to``, index updates).

Functions that only move entries (``insert``, ``delete``, ``resize``, ``compress``, …) are
written with one trick: NumPy's own function is run on an array of *labels* (``0 … size − 1``)
of the input's shape, and the result is ``take(ravel(inputs), labels_out)``. A gather is linear,
its transpose is a scatter-add, and the entries are NumPy's by construction. Index arguments
(``obj``, masks, conditions) must be concrete; traced ones are read from their values.

``place``, ``put``, ``put_along_axis`` and ``fill_diagonal`` write in place in NumPy; a traced
array cannot be written, so they take ``inplace=False`` (as in JAX) and return the updated
copy. ``apply_along_axis``, ``apply_over_axes``, ``piecewise`` and ``vectorize`` call the
user's function on traced pieces, so whatever it computes is differentiated.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.errors import ConcretizationError
from ..core.primitive import Tracer
from ..ops import binary
from ..ops import elementwise as ew
from ..ops._base import dtype_of, needs_bind
from ..ops.indexing import diag, take, take_along_axis
from ..ops.reductions import cumsum as red_cumsum
from ..ops.shape import concatenate, moveaxis, stack, vstack
from ..ops.structural import (
    broadcast_to,
    convert,
    getitem,
    index_add,
    index_set,
    reshape,
    transpose,
)
from ._construct import asarray
from ._kinds import has_tracer, on_foreign, primal_of


def _plain(*xs: Any) -> bool:
    return not builtins.any(has_tracer(x) for x in xs)


def _gather(arrays: list[Any], relabel: Callable[..., np.ndarray]) -> Any:
    """``take(concatenate(ravel(a) for a in arrays), relabel(*labels))``."""
    arrays = [asarray(a) for a in arrays]
    labels, off = [], 0
    for a in arrays:
        n = int(np.prod(a.shape, dtype=np.int64))
        labels.append(np.arange(off, off + n, dtype=np.intp).reshape(tuple(a.shape)))
        off += n
    idx = np.asarray(relabel(*labels), dtype=np.intp)
    flat = concatenate([reshape(a, (-1,)) for a in arrays]) if len(arrays) > 1 else \
        reshape(arrays[0], (-1,))
    return take(flat, idx)


def _concrete(x: Any, name: str) -> Any:
    return primal_of(x, name) if has_tracer(x) else x


def delete(arr: Any, obj: Any, axis: Any = None) -> Any:
    """``numpy.delete``."""
    if _plain(arr, obj):
        return np.delete(arr, obj, axis)
    obj = _concrete(obj, "delete")
    return _gather([arr], lambda L: np.delete(L, obj, axis))


def insert(arr: Any, obj: Any, values: Any, axis: Any = None) -> Any:
    """``numpy.insert``; ``values`` are cast to ``arr``'s dtype, as in NumPy."""
    if _plain(arr, obj, values):
        return np.insert(arr, obj, values, axis)
    obj = _concrete(obj, "insert")
    a = asarray(arr)
    v = convert(asarray(values), a.dtype)
    return _gather([a, v], lambda L, V: np.insert(L, obj, V, axis))


def append(arr: Any, values: Any, axis: Any = None) -> Any:
    """``numpy.append``."""
    if _plain(arr, values):
        return np.append(arr, values, axis)
    a, v = asarray(arr), asarray(values)
    if axis is None:
        return concatenate([reshape(a, (-1,)), reshape(v, (-1,))])
    return concatenate([a, v], axis=axis)


def resize(a: Any, new_shape: Any) -> Any:
    """``numpy.resize``: the entries repeated (or cut) to fill ``new_shape``."""
    if _plain(a):
        return np.resize(a, new_shape)
    return _gather([a], lambda L: np.resize(L, new_shape))


def compress(condition: Any, a: Any, axis: Any = None, out: Any = None) -> Any:
    """``numpy.compress``; the condition must be concrete (read from its value if traced)."""
    if _plain(condition, a):
        return np.compress(condition, a, axis=axis, out=out)
    cond = np.asarray(_concrete(condition, "compress"), dtype=bool)
    return _gather([a], lambda L: np.compress(cond, L, axis=axis))


def extract(condition: Any, arr: Any) -> Any:
    """``numpy.extract``: ``ravel(arr)[ravel(condition)]``."""
    if _plain(condition, arr):
        return np.extract(condition, arr)
    cond = np.asarray(_concrete(condition, "extract"))
    return _gather([arr], lambda L: np.extract(cond, L))


def trim_zeros(filt: Any, trim: str = "fb", axis: Any = None) -> Any:
    """``numpy.trim_zeros``; where to cut is read from the values (a constant)."""
    if _plain(filt):
        return np.trim_zeros(filt, trim, axis=axis) if axis is not None else \
            np.trim_zeros(filt, trim)
    vals = np.asarray(primal_of(filt, "trim_zeros"))
    return _gather([filt], lambda L: _trim_labels(vals, L, trim, axis))


def _trim_labels(vals: np.ndarray, L: np.ndarray, trim: str, axis: Any) -> np.ndarray:
    axes = range(vals.ndim) if axis is None else [builtins.int(axis) % vals.ndim]
    sl = [slice(None)] * vals.ndim
    for ax in axes:
        other = tuple(i for i in range(vals.ndim) if i != ax)
        nz = np.flatnonzero(np.any(vals != 0, axis=other) if other else vals != 0)
        start = nz[0] if nz.size and "f" in trim.lower() else (vals.shape[ax] if not nz.size
                                                                and "f" in trim.lower() else 0)
        stop = nz[-1] + 1 if nz.size and "b" in trim.lower() else (
            start if not nz.size else vals.shape[ax])
        sl[ax] = slice(start, builtins.max(start, stop))
    return L[tuple(sl)]


def choose(a: Any, choices: Any, out: Any = None, mode: str = "raise") -> Any:
    """``numpy.choose``: entry-wise selection among ``choices`` by the integer array ``a``."""
    if _plain(a, choices):
        return np.choose(a, choices, out=out, mode=mode)
    idx = np.asarray(_concrete(a, "choose"))
    chs = [asarray(c) for c in choices]
    shape = np.broadcast_shapes(idx.shape, *[tuple(c.shape) for c in chs])
    n = len(chs)
    if mode == "wrap":
        idx = idx % n
    elif mode == "clip":
        idx = np.clip(idx, 0, n - 1)
    elif idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError("invalid entry in choice array")
    st = stack([broadcast_to(c, shape) for c in chs])
    picked = take_along_axis(st, np.broadcast_to(idx, shape)[None], axis=0)
    return reshape(picked, shape)


# --- axes and joining -----------------------------------------------------------------------


def rollaxis(a: Any, axis: int, start: int = 0) -> Any:
    """``numpy.rollaxis`` (a transpose)."""
    if _plain(a):
        return np.rollaxis(a, axis, start)
    a = asarray(a)
    n = len(a.shape)
    axis = builtins.int(axis) % builtins.max(n, 1)
    if start < 0:
        start += n
    if not 0 <= start <= n:
        raise np.exceptions.AxisError(f"start arg requires {-n} <= start < {n + 1}")
    if axis < start:
        start -= 1
    if axis == start:
        return a
    axes = [i for i in range(n) if i != axis]
    axes.insert(start, axis)
    return transpose(a, tuple(axes))


def row_stack(tup: Any, *, dtype: Any = None, casting: str = "same_kind") -> Any:
    """``numpy.row_stack`` (``vstack``)."""
    if _plain(tup):
        return np.vstack(tup, dtype=dtype, casting=casting)
    return vstack(tup, dtype=dtype)


def concat(arrays: Any, /, *, axis: Any = 0) -> Any:
    """``numpy.concat`` (the array-API name of ``concatenate``)."""
    return concatenate(arrays, axis=axis)


def unstack(x: Any, /, *, axis: int = 0) -> tuple[Any, ...]:
    """``numpy.unstack``: the slices along ``axis``."""
    if _plain(x):
        return np.unstack(x, axis=axis)
    x = moveaxis(asarray(x), axis, 0)
    return tuple(x[i] for i in range(x.shape[0]))


def permute_dims(a: Any, /, axes: Any = None) -> Any:
    """``numpy.permute_dims`` (``transpose``)."""
    return transpose(a, axes) if has_tracer(a) else np.permute_dims(a, axes)


def matrix_transpose(x: Any, /) -> Any:
    """``numpy.matrix_transpose``: swap the last two axes."""
    if _plain(x):
        return np.matrix_transpose(x)
    x = asarray(x)
    if len(x.shape) < 2:
        raise ValueError(f"matrix_transpose needs at least 2 dimensions, got {len(x.shape)}")
    from ..ops.structural import swapaxes

    return swapaxes(x, -1, -2)


def broadcast_arrays(*args: Any, subok: bool = False) -> tuple[Any, ...]:
    """``numpy.broadcast_arrays``."""
    if _plain(*args):
        return np.broadcast_arrays(*args, subok=subok)
    arrs = [asarray(a) for a in args]
    shape = np.broadcast_shapes(*[tuple(a.shape) for a in arrs])
    return tuple(broadcast_to(a, shape) for a in arrs)


def meshgrid(*xi: Any, copy: bool = True, sparse: bool = False, indexing: str = "xy"
             ) -> tuple[Any, ...]:
    """``numpy.meshgrid``."""
    if _plain(*xi):
        return np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    nd = len(xi)
    s0 = (1,) * nd
    out = [reshape(asarray(x), s0[:i] + (-1,) + s0[i + 1:]) for i, x in enumerate(xi)]
    if indexing == "xy" and nd > 1:
        out[0] = reshape(out[0], (1, -1) + s0[2:])
        out[1] = reshape(out[1], (-1, 1) + s0[2:])
    if not sparse:
        out = list(broadcast_arrays(*out))
    return tuple(out)


def diagflat(v: Any, k: int = 0) -> Any:
    """``numpy.diagflat``: ``diag(ravel(v), k)``."""
    return diag(reshape(asarray(v), (-1,)), k) if has_tracer(v) else np.diagflat(v, k)


def bincount(x: Any, weights: Any = None, minlength: int = 0) -> Any:
    """``numpy.bincount``; differentiable in ``weights`` (a scatter-add), the counts of a
    traced ``x`` are constants."""
    if _plain(x, weights):
        return np.bincount(x, weights, minlength)
    idx = np.asarray(_concrete(x, "bincount"))
    if weights is None:
        return np.bincount(idx, None, minlength)
    n = builtins.max(builtins.int(idx.max()) + 1 if idx.size else 0, minlength)
    w = asarray(weights)
    if dtype_of(w).kind in "biu":
        w = convert(w, np.float64)
    return index_add(np.zeros(n, dtype_of(w)), idx, w)


# --- writing entries: functional versions of NumPy's in-place functions -----------------------


def _inplace_error(name: str) -> TypeError:
    return TypeError(
        f"tnp.{name}: a traced array cannot be modified in place. Call tnp.{name}(..., "
        "inplace=False), which returns the updated array (as jax.numpy does).")


def _flat_update(a: Any, flat_idx: np.ndarray, vals: Any) -> Any:
    a = asarray(a)
    v = reshape(convert(asarray(vals), dtype_of(a)), (-1,))
    if flat_idx.size and v.shape[0] != flat_idx.size:
        v = take(v, np.arange(flat_idx.size) % builtins.max(v.shape[0], 1))
    out = index_set(reshape(a, (-1,)), flat_idx, v) if flat_idx.size else reshape(a, (-1,))
    return reshape(out, tuple(a.shape))


def place(arr: Any, mask: Any, vals: Any, *, inplace: bool = True) -> Any:
    """``numpy.place``; on traced values use ``inplace=False`` (returns the new array)."""
    if _plain(arr, mask, vals) or (inplace and not needs_bind(arr)):
        if inplace:
            return np.place(arr, mask, vals)
        arr = np.array(arr, copy=True)
        np.place(arr, mask, vals)
        return arr
    if inplace:
        raise _inplace_error("place")
    if on_foreign((arr, mask)):
        return _place_on_backend(arr, mask, vals)
    m = np.asarray(_concrete(mask, "place"), dtype=bool)
    return _flat_update(arr, np.flatnonzero(m), vals)


def _place_on_backend(arr: Any, mask: Any, vals: Any) -> Any:
    """``place`` in the array's own library: the k-th masked entry (k from a running count of
    the mask, a value of that library) takes ``vals[k mod len(vals)]``."""
    a = asarray(arr)
    m = reshape(broadcast_to(asarray(mask), tuple(a.shape)), (-1,))
    v = reshape(convert(asarray(vals), dtype_of(a)), (-1,))
    if v.shape[0] == 0:
        raise ValueError("Cannot insert from an empty array!")
    k = ew.subtract(red_cumsum(convert(m, np.intp)), 1)
    k = binary.mod(ew.maximum(k, 0), v.shape[0])
    return reshape(ew.where(m, take(v, k), reshape(a, (-1,))), tuple(a.shape))


def put(a: Any, ind: Any, v: Any, mode: str = "raise", *, inplace: bool = True) -> Any:
    """``numpy.put``; on traced values use ``inplace=False`` (returns the new array)."""
    if _plain(a, ind, v) or (inplace and not needs_bind(a)):
        if inplace:
            return np.put(a, ind, v, mode=mode)
        a = np.array(a, copy=True)
        np.put(a, ind, v, mode=mode)
        return a
    if inplace:
        raise _inplace_error("put")
    size = int(np.prod(asarray(a).shape, dtype=np.int64))
    idx = np.asarray(_concrete(ind, "put"), dtype=np.intp).reshape(-1)
    if mode == "wrap":
        idx = idx % size
    elif mode == "clip":
        idx = np.clip(idx, 0, size - 1)
    else:
        idx = np.where(idx < 0, idx + size, idx)
    return _flat_update(a, idx, v)


def put_along_axis(arr: Any, indices: Any, values: Any, axis: Any, *,
                   inplace: bool = True) -> Any:
    """``numpy.put_along_axis``; on traced values use ``inplace=False``."""
    if _plain(arr, indices, values) or (inplace and not needs_bind(arr)):
        if inplace:
            return np.put_along_axis(arr, indices, values, axis)
        arr = np.array(arr, copy=True)
        np.put_along_axis(arr, indices, values, axis)
        return arr
    if inplace:
        raise _inplace_error("put_along_axis")
    a = asarray(arr)
    idx = np.asarray(_concrete(indices, "put_along_axis"))
    if axis is None:
        a_flat = reshape(a, (-1,))
        return reshape(index_set(a_flat, idx.reshape(-1), reshape(asarray(values), (-1,))),
                       tuple(a.shape))
    nd = len(a.shape)
    axis = builtins.int(axis) % nd
    grids = np.ogrid[tuple(slice(0, d) for d in idx.shape)]
    full = tuple(idx if i == axis else grids[i] for i in range(nd))
    full = np.broadcast_arrays(*full)
    v = broadcast_to(convert(asarray(values), a.dtype), full[0].shape)
    return index_set(a, tuple(full), v)


def fill_diagonal(a: Any, val: Any, wrap: bool = False, *, inplace: bool = True) -> Any:
    """``numpy.fill_diagonal``; on traced values use ``inplace=False``."""
    if _plain(a, val) or (inplace and not needs_bind(a)):
        if inplace:
            return np.fill_diagonal(a, val, wrap)
        a = np.array(a, copy=True)
        np.fill_diagonal(a, val, wrap)
        return a
    if inplace:
        raise _inplace_error("fill_diagonal")
    x = asarray(a)
    shape = tuple(x.shape)
    if len(shape) < 2:
        raise ValueError("array must be at least 2-d")
    if len(shape) == 2:
        step = shape[1] + 1
        end = None if wrap else shape[1] * shape[1]
    else:
        if len(set(shape)) != 1:
            raise ValueError("All dimensions of input must be of equal length")
        step = 1 + int(np.cumprod(shape[:-1]).sum())
        end = None
    size = int(np.prod(shape))
    idx = np.arange(size)[:end:step]
    return _flat_update(x, idx, val)


# --- calling the user's function on traced pieces --------------------------------------------


def apply_along_axis(func1d: Callable[..., Any], axis: int, arr: Any, *args: Any,
                     **kwargs: Any) -> Any:
    """``numpy.apply_along_axis``: ``func1d`` on every 1-D slice along ``axis``, stacked."""
    if _plain(arr, args, kwargs):
        try:
            return np.apply_along_axis(func1d, axis, arr, *args, **kwargs)
        except ConcretizationError:
            pass  # func1d closes over traced values: run it slice by slice below
    a = asarray(arr)
    nd = len(a.shape)
    axis = builtins.int(axis) % nd
    moved = moveaxis(a, axis, -1)
    outer = tuple(moved.shape[:-1])
    if 0 in outer:
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0")
    res = [asarray(func1d(getitem(moved, ind), *args, **kwargs)) for ind in np.ndindex(*outer)]
    out = reshape(stack(res), outer + tuple(res[0].shape))
    k = len(res[0].shape)
    perm = tuple(range(axis)) + tuple(range(len(outer), len(outer) + k)) + \
        tuple(range(axis, len(outer)))
    return transpose(out, perm) if perm != tuple(range(len(perm))) else out


def apply_over_axes(func: Callable[..., Any], a: Any, axes: Any) -> Any:
    """``numpy.apply_over_axes``: ``a = func(a, axis)`` for each axis, keeping dimensions."""
    if _plain(a):
        try:
            return np.apply_over_axes(func, a, axes)
        except ConcretizationError:
            pass
    from . import expand_dims

    val = asarray(a)
    nd = len(val.shape)
    for axis in (axes if isinstance(axes, (list, tuple)) else [axes]):
        axis = builtins.int(axis) % nd
        res = asarray(func(val, axis))
        if len(res.shape) != len(val.shape):
            res = expand_dims(res, axis)
            if len(res.shape) != len(val.shape):
                raise ValueError("function is not returning an array of the correct shape")
        val = res
    return val


def piecewise(x: Any, condlist: Any, funclist: Any, *args: Any, **kw: Any) -> Any:
    """``numpy.piecewise``. Each function is evaluated on all of ``x`` and the pieces are
    joined with ``where``, so a NaN in a piece that is not taken never reaches the derivative
    (the strong-zero rule of ``where``)."""
    if _plain(x, condlist, funclist, args, kw):
        return np.piecewise(x, condlist, funclist, *args, **kw)
    x = asarray(x)
    if isinstance(condlist, (Tracer, np.ndarray, bool, np.bool_)):
        condlist = [condlist]
    condlist = [asarray(c) for c in condlist]
    n = len(condlist)
    if len(funclist) not in (n, n + 1):
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are "
                         f"expected, got {len(funclist)}")
    if len(funclist) == n + 1:
        from ._logic import any as any_

        condlist.append(ew.equal(any_(stack([broadcast_to(c, tuple(x.shape))
                                             for c in condlist]), axis=0), False))
    y = np.zeros(tuple(x.shape), dtype_of(x))
    with np.errstate(all="ignore"):
        for cond, f in zip(condlist, funclist, strict=True):
            val = f(x, *args, **kw) if callable(f) else f
            y = ew.where(cond, val, y)
    return y


class vectorize:  # noqa: N801  (NumPy's name)
    """``numpy.vectorize``: ``pyfunc`` called on every entry (a Python loop, as NumPy's), so
    Python control flow inside it works and traced entries are differentiated. ``signature``
    (core dimensions) and ``excluded`` are supported as in NumPy."""

    def __init__(self, pyfunc: Callable[..., Any] | None = None, otypes: Any = None,
                 doc: Any = None, excluded: Any = None, cache: bool = False,
                 signature: str | None = None) -> None:
        self.pyfunc, self.otypes, self.signature = pyfunc, otypes, signature
        self.excluded = set(excluded or ())
        self.__doc__ = doc if doc is not None else getattr(pyfunc, "__doc__", None)
        self._np = np.vectorize(pyfunc, otypes=otypes, doc=doc, excluded=excluded,
                                cache=cache, signature=signature) if pyfunc else None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.pyfunc is None:
            return vectorize(args[0], self.otypes, None, self.excluded, False, self.signature)
        if _plain(args, kwargs):
            try:
                return self._np(*args, **kwargs)
            except ConcretizationError:
                pass  # pyfunc closes over traced values
        return _vectorized_call(self, args, kwargs)


def _core_dims(signature: str | None, nargs: int) -> tuple[list[int], bool]:
    if signature is None:
        return [0] * nargs, False
    ins, outs = signature.replace(" ", "").split("->")
    groups = ins[1:-1].split("),(") if ins else []
    return [0 if g == "" else len(g.split(",")) for g in groups], "," in outs and \
        outs.startswith("(") and outs.count("(") > 1


def _vectorized_call(vec: vectorize, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    pos = [i for i in range(len(args)) if i not in vec.excluded]
    arrs = [asarray(args[i]) for i in pos]
    core, _ = _core_dims(vec.signature, len(arrs))
    loops = [tuple(a.shape[:len(a.shape) - c]) for a, c in zip(arrs, core, strict=True)]
    shape = np.broadcast_shapes(*loops)
    arrs = [broadcast_to(a, shape + tuple(a.shape[len(a.shape) - c:]))
            for a, c in zip(arrs, core, strict=True)]
    results = []
    for ind in np.ndindex(*shape):
        call = list(args)
        for i, a in zip(pos, arrs, strict=True):
            call[i] = getitem(a, ind)
        results.append(vec.pyfunc(*call, **kwargs))
    if not results:
        return np.zeros(shape, vec.otypes[0] if vec.otypes else float)
    if isinstance(results[0], tuple):
        return tuple(_stack_results([r[k] for r in results], shape)
                     for k in range(len(results[0])))
    return _stack_results(results, shape)


def _stack_results(results: list[Any], shape: tuple[int, ...]) -> Any:
    from ._construct import array

    first = asarray(results[0]) if has_tracer(results[0]) else np.asarray(results[0])
    out = array(results) if has_tracer(results) else np.asarray(results)
    return reshape(out, shape + tuple(first.shape))


def frompyfunc(func: Callable[..., Any], nin: int, nout: int, *, identity: Any = None) -> Any:
    """``numpy.frompyfunc`` as :class:`vectorize` (numeric results rather than object
    arrays)."""
    return vectorize(func)


__all__ = ["append", "apply_along_axis", "apply_over_axes", "bincount", "broadcast_arrays",
           "choose", "compress", "concat", "delete", "diagflat", "extract", "fill_diagonal",
           "frompyfunc", "insert", "matrix_transpose", "meshgrid", "permute_dims", "piecewise",
           "place", "put", "put_along_axis", "resize", "rollaxis", "row_stack", "trim_zeros",
           "unstack", "vectorize"]
