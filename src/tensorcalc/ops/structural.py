"""Structural primitives: linear maps that move, copy, sum or select entries.

Each is linear, so its jvp is the primitive applied to the tangent and reverse mode needs only
its transpose, which is another structural map:

- ``reshape``: transpose is the reshape back.
- ``transpose(perm)``: transpose is ``transpose(argsort(perm))``.
- ``broadcast_to(shape)``: transpose sums over the broadcast axes ("unbroadcast").
- ``reduce_sum(axes)``: transpose broadcasts back over the summed axes.
- ``getitem(idx)``: transpose scatters the cotangent into zeros (``index_add``).
- ``index_add(x, v, idx)`` (``x.at[idx].add(v)``): transpose is ``(ȳ, ȳ[idx])``.
- ``index_set(x, v, idx)`` (``x.at[idx].set(v)``): transpose is ``(ȳ with idx zeroed, ȳ[idx])``.
- ``convert(dtype)``: transpose converts back.

As generalized Jacobians (docs/lessons/jacobians.md) these are permutation, selection and summation
matrices; they are never formed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.backend import defxp, numpy_dtype, xp_dtype
from ..core.backend import getitem as backend_getitem
from ..core.backend import index_update as backend_index_update
from ..core.dask_blocks import reshape_any_chunks
from ..core.errors import ShapeError
from ..core.primitive import Primitive, bind, get_aval
from ..core.shapes import (
    ShapedArray,
    Sym,
    as_shape,
    broadcast_shapes,
    is_concrete,
    is_inexact_dtype,
    shape_str,
    size,
)
from ..core.zeros import Zero
from ..interpreters.batch import (
    bdim_to_front,
    common_size,
    defbatch,
    defvectorized,
    logical_axis,
    moveaxis,
    pad_after_batch,
)
from ..interpreters.forward import defjvp_rule
from ..interpreters.sparsity import (
    SAME,
    Pairs,
    SparsityQuery,
    broadcast_factor,
    defsparsity,
    defsparsity_gather,
    positions,
)
from ..interpreters.transpose import deflinear, deftranspose, is_undefined
from ._base import dtype_of, needs_bind, reshape_array, transpose_array

# --- reshape -------------------------------------------------------------------------------


def _reshape_abstract(x: ShapedArray, *, new_shape: tuple[Any, ...]) -> ShapedArray:
    if size(x.shape) != size(new_shape):
        raise ShapeError(
            f"reshape: cannot reshape an array of shape {shape_str(x.shape)} "
            f"({size(x.shape)} elements) into shape {shape_str(new_shape)} "
            f"({size(new_shape)} elements); the number of elements must stay the same"
        )
    return ShapedArray(new_shape, x.dtype, x.weak_type)


reshape_p = Primitive("reshape", reshape_array, _reshape_abstract)
defxp(reshape_p, lambda xp, x, *, new_shape: reshape_any_chunks(xp, x, new_shape))


def _reshape_transpose(ct: Any, x: Any, *, new_shape: Any) -> tuple[Any]:
    return (reshape(ct, x.aval.shape),)


deflinear(reshape_p, _reshape_transpose)


def _reshape_batch(args: Any, dims: Any, *, new_shape: Any) -> tuple[Any, int]:
    x = moveaxis(args[0], dims[0], 0)
    return bind(reshape_p, x, new_shape=(get_aval(x).shape[0], *new_shape)), 0


defbatch(reshape_p, _reshape_batch)
defsparsity(reshape_p, lambda q: SAME)  # row-major: the flat layout does not change


def _resolve_shape(shape: Any, old: tuple[Any, ...]) -> tuple[Any, ...]:
    if type(shape) is tuple and all(type(d) is int and d >= 0 for d in shape):
        return shape  # the common case, already resolved
    shape = (shape,) if isinstance(shape, (int, np.integer, str, Sym)) else tuple(shape)
    unknown = [i for i, d in enumerate(shape) if isinstance(d, (int, np.integer)) and d == -1]
    if len(unknown) > 1:
        raise ShapeError(f"reshape: can only specify one unknown dimension (-1), got {shape}")
    if unknown:
        (u,) = unknown
        total, part = size(old), size(as_shape(shape[:u] + shape[u + 1:]))
        if not (isinstance(total, int) and isinstance(part, int)) or part == 0 or total % part:
            raise ShapeError(
                f"reshape: cannot infer -1 when reshaping {shape_str(old)} to {shape}")
        shape = (*shape[:u], total // part, *shape[u + 1:])
    return as_shape(shape)


def reshape(x: Any, shape: Any, order: str = "C") -> Any:
    """``numpy.reshape``; one ``-1`` is inferred. Only C order is differentiable."""
    if order != "C":
        raise NotImplementedError("tensorcalc.numpy.reshape supports order='C' only")
    if not needs_bind(x):
        return np.reshape(x, shape)
    new_shape = _resolve_shape(shape, x.shape)
    if new_shape == x.shape:
        return x
    return bind(reshape_p, x, new_shape=new_shape)


# --- transpose -----------------------------------------------------------------------------


def _transpose_abstract(x: ShapedArray, *, perm: tuple[int, ...]) -> ShapedArray:
    if sorted(perm) != list(range(x.ndim)):
        raise ShapeError(f"transpose: axes {perm} are not a permutation of the "
                         f"{x.ndim} axes of an array of shape {shape_str(x.shape)}")
    return ShapedArray(tuple(x.shape[p] for p in perm), x.dtype, x.weak_type)


transpose_p = Primitive("transpose", transpose_array, _transpose_abstract)
defxp(transpose_p, lambda xp, x, *, perm: xp.permute_dims(x, perm))


def _transpose_transpose(ct: Any, x: Any, *, perm: tuple[int, ...]) -> tuple[Any]:
    return (transpose(ct, tuple(sorted(range(len(perm)), key=perm.__getitem__))),)  # perm⁻¹


deflinear(transpose_p, _transpose_transpose)


def _transpose_batch(args: Any, dims: Any, *, perm: tuple[int, ...]) -> tuple[Any, int]:
    # The batch axis stays where it is; the logical axes around it are permuted.
    d = dims[0]
    phys = [logical_axis(p, d) for p in perm]
    phys.insert(d, d)
    return bind(transpose_p, args[0], perm=tuple(phys)), d


defbatch(transpose_p, _transpose_batch)
defsparsity_gather(transpose_p)


def transpose(x: Any, axes: Any = None) -> Any:
    """``numpy.transpose``: reverse the axes, or permute them by ``axes``."""
    if not needs_bind(x):
        return np.transpose(x, axes)
    nd = x.ndim
    perm = tuple(range(nd - 1, -1, -1)) if axes is None else tuple(int(a) % max(nd, 1)
                                                                   for a in axes)
    if perm == tuple(range(nd)):
        return x
    return bind(transpose_p, x, perm=perm)


def swapaxes(x: Any, axis1: int, axis2: int) -> Any:
    if not needs_bind(x):
        return np.swapaxes(x, axis1, axis2)
    perm = list(range(x.ndim))
    perm[axis1], perm[axis2] = perm[axis2], perm[axis1]
    return transpose(x, perm)


# --- broadcast_to and reduce_sum -----------------------------------------------------------


def _broadcast_abstract(x: ShapedArray, *, shape: tuple[Any, ...]) -> ShapedArray:
    out = broadcast_shapes(x.shape, shape, op="broadcast_to")
    if out != tuple(shape):
        raise ShapeError(f"broadcast_to: cannot broadcast shape {shape_str(x.shape)} to "
                         f"{shape_str(shape)}")
    return ShapedArray(tuple(shape), x.dtype, x.weak_type)


broadcast_to_p = Primitive("broadcast_to", lambda x, *, shape: np.broadcast_to(x, shape),
                           _broadcast_abstract)
defxp(broadcast_to_p, lambda xp, x, *, shape: xp.broadcast_to(x, shape))


def _broadcast_transpose(ct: Any, x: Any, *, shape: Any) -> tuple[Any]:
    return (unbroadcast(ct, x.aval),)


deflinear(broadcast_to_p, _broadcast_transpose)


def _broadcast_batch(args: Any, dims: Any, *, shape: Any) -> tuple[Any, int]:
    x = pad_after_batch(moveaxis(args[0], dims[0], 0), len(shape))
    n = get_aval(x).shape[0]
    return bind(broadcast_to_p, x, shape=(n, *shape)), 0


defbatch(broadcast_to_p, _broadcast_batch)
defsparsity(broadcast_to_p, lambda q: broadcast_factor(q.operand, q.out.shape))


def broadcast_to(x: Any, shape: Any) -> Any:
    """``numpy.broadcast_to`` (the result is a new value, not a read-only view)."""
    if not needs_bind(x):
        return np.broadcast_to(x, shape)
    shape = as_shape(shape)
    if tuple(x.shape) == shape:
        return x
    return bind(broadcast_to_p, x, shape=shape)


def _sum_abstract(x: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
    shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    # NumPy sums booleans and small integers in the platform integer: ask it, on a stand-in of
    # the right rank (probe_dtype's stand-ins are 0-d, which have no axes to sum over).
    dtype = np.sum(np.ones((1,) * x.ndim, x.dtype), axis=axes).dtype \
        if x.dtype.kind in "biu" else x.dtype
    return ShapedArray(shape, dtype)


def _sum_impl(x: Any, *, axes: tuple[int, ...]) -> Any:
    return np.sum(x, axis=axes)


def _sum_xp(xp: Any, x: Any, *, axes: tuple[int, ...]) -> Any:  # booleans count as ints
    return xp.sum(xp.astype(x, xp.int64) if numpy_dtype(x.dtype).kind == "b" else x, axis=axes)


reduce_sum_p = Primitive("reduce_sum", _sum_impl, _sum_abstract)
defxp(reduce_sum_p, _sum_xp)


def _reduce_sum_transpose(ct: Any, x: Any, *, axes: tuple[int, ...]) -> tuple[Any]:
    shape = x.aval.shape
    kept = tuple(1 if i in axes else d for i, d in enumerate(shape))
    return (broadcast_to(reshape(ct, kept), shape),)


deflinear(reduce_sum_p, _reduce_sum_transpose)


def batch_reduction(prim: Primitive) -> Any:
    """Batching of a reduction over logical ``axes``: reduce the matching physical axes."""

    def reduction_batch(args: Any, dims: Any, *, axes: tuple[int, ...]) -> tuple[Any, int]:
        d = dims[0]
        phys = tuple(logical_axis(a, d) for a in axes)
        return bind(prim, args[0], axes=phys), d - sum(1 for a in phys if a < d)

    reduction_batch.__name__ = f"{prim.name}_batch"
    return reduction_batch


defbatch(reduce_sum_p, batch_reduction(reduce_sum_p))


def reduction_sparsity(q: SparsityQuery) -> Pairs:
    """Each output entry reads the operand entries that agree with it off the reduced axes
    (``reduce_sum``; also the pattern of max, min and prod over ``axes``)."""
    shape, axes = q.operand.shape, q.params["axes"]
    kept = tuple(1 if a in axes else d for a, d in enumerate(shape))
    dst = np.broadcast_to(positions(kept), tuple(shape)).ravel()
    return Pairs(dst, np.arange(dst.size, dtype=np.int64))


defsparsity(reduce_sum_p, reduction_sparsity)


def reduce_sum(x: Any, axes: tuple[int, ...]) -> Any:
    return bind(reduce_sum_p, x, axes=tuple(axes)) if axes else x


def unbroadcast(ct: Any, aval: ShapedArray) -> Any:
    """Sum ``ct`` down to ``aval``'s shape: the transpose of NumPy broadcasting."""
    shape = aval.shape
    ct_shape = get_aval(ct).shape
    if tuple(ct_shape) != tuple(shape):
        lead = len(ct_shape) - len(shape)
        axes = tuple(range(lead)) + tuple(
            lead + i for i, d in enumerate(shape) if d == 1 and ct_shape[lead + i] != 1)
        ct = reduce_sum(ct, axes) if needs_bind(ct) else np.sum(ct, axis=axes)
        ct = reshape(ct, shape)
    if get_aval(ct).dtype != aval.dtype and is_inexact_dtype(aval.dtype):
        ct = convert(ct, aval.dtype)
    return ct


# --- convert -------------------------------------------------------------------------------


def _convert_impl(x: Any, *, dtype: np.dtype) -> Any:
    x = np.asarray(x)
    if x.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        x = x.real  # what astype does, without its ComplexWarning (the transpose of x + 0i)
    return x.astype(dtype, copy=False)


def _convert_xp(xp: Any, x: Any, *, dtype: np.dtype) -> Any:  # complex -> real: the real part
    real = numpy_dtype(x.dtype).kind == "c" and np.dtype(dtype).kind != "c"
    return xp.astype(xp.real(x) if real else x, xp_dtype(xp, dtype))


convert_p = Primitive(
    "convert", _convert_impl,
    lambda x, *, dtype: ShapedArray(x.shape, np.dtype(dtype)))
defxp(convert_p, _convert_xp)


def _convert_jvp(primals: list[Any], tangents: list[Any], *, dtype: np.dtype) -> Any:
    ans = bind(convert_p, primals[0], dtype=dtype)
    t = tangents[0]
    if type(t) is Zero or not is_inexact_dtype(np.dtype(dtype)):
        return ans, Zero(None)  # float -> int has no derivative
    return ans, bind(convert_p, t, dtype=dtype)


def _convert_transpose(ct: Any, x: Any, *, dtype: np.dtype) -> tuple[Any]:
    return (convert(ct, x.aval.dtype),)


defjvp_rule(convert_p, _convert_jvp)
deftranspose(convert_p, _convert_transpose)
defsparsity(convert_p, lambda q: SAME)
defvectorized(convert_p)


def convert(x: Any, dtype: Any) -> Any:
    """``x.astype(dtype)``."""
    dtype = np.dtype(dtype) if isinstance(dtype, (np.dtype, type, str)) else numpy_dtype(dtype)
    if not needs_bind(x):
        return _convert_impl(x, dtype=dtype) if np.iscomplexobj(x) else \
            np.asarray(x).astype(dtype)
    if dtype_of(x) == dtype:
        return x
    return bind(convert_p, x, dtype=dtype)


# --- getitem, index_add, index_set ---------------------------------------------------------


def _check_index(idx: Any) -> None:
    for item in idx:
        if needs_bind(item):
            raise TypeError(
                "indexing with a traced array is not supported: indices must be concrete "
                "(NumPy arrays, ints or slices); compute them outside the transformation")


def _index_shape(shape: tuple[Any, ...], idx: tuple[Any, ...]) -> tuple[Any, ...]:
    if is_concrete(shape):
        dummy = np.broadcast_to(np.empty((), np.bool_), shape)
        try:
            return dummy[idx].shape
        except IndexError as e:
            raise IndexError(f"getitem: {e} (array of shape {shape_str(shape)})") from None
    # Symbolic shapes: basic indexing only (ints, slices without bounds, None, Ellipsis).
    out: list[Any] = []
    n_real = sum(1 for i in idx if i is not None and i is not Ellipsis)
    dims = list(shape)
    pos = 0
    for item in idx:
        if item is Ellipsis:
            skip = len(dims) - n_real
            out.extend(dims[pos:pos + skip])
            pos += skip
        elif item is None:
            out.append(1)
        elif isinstance(item, slice) and item == slice(None):
            out.append(dims[pos])
            pos += 1
        elif isinstance(item, (int, np.integer)):
            pos += 1
        else:
            raise ShapeError("indexing an array of symbolic shape supports ints, ':', None "
                             "and ... only")
    out.extend(dims[pos:])
    return tuple(out)


def _getitem_abstract(x: ShapedArray, *, idx: tuple[Any, ...]) -> ShapedArray:
    return ShapedArray(_index_shape(x.shape, idx), x.dtype, x.weak_type)


getitem_p = Primitive("getitem", lambda x, *, idx: x[idx], _getitem_abstract)
defxp(getitem_p, lambda xp, x, *, idx: backend_getitem(xp, x, idx))


def _getitem_transpose(ct: Any, x: Any, *, idx: tuple[Any, ...]) -> tuple[Any]:
    zeros = np.zeros(x.aval.shape, get_aval(ct).dtype)
    return (bind(index_add_p, zeros, ct, idx=idx),)


deflinear(getitem_p, _getitem_transpose)


def _batched_index(idx: tuple[Any, ...]) -> tuple[tuple[Any, ...], int]:
    """The index for an array with a leading batch axis, and where that axis ends up.

    NumPy puts the axes of advanced (array) indices first when they are not adjacent in the
    index (ints count as advanced once an array is present); otherwise they stay in place and
    the leading batch axis stays at 0."""
    new = (slice(None), *idx)
    if not any(isinstance(i, np.ndarray) for i in idx):
        return new, 0
    pos = [k for k, i in enumerate(new) if isinstance(i, (np.ndarray, int, np.integer))]
    if pos == list(range(pos[0], pos[0] + len(pos))):
        return new, 0
    shapes = [(int(np.count_nonzero(i)),) if isinstance(i, np.ndarray) and i.dtype == bool
              else np.shape(i) for i in idx if isinstance(i, (np.ndarray, int, np.integer))]
    return new, len(np.broadcast_shapes(*shapes))


def _getitem_batch(args: Any, dims: Any, *, idx: tuple[Any, ...]) -> tuple[Any, int]:
    new, d = _batched_index(idx)
    return bind(getitem_p, moveaxis(args[0], dims[0], 0), idx=new), d


defbatch(getitem_p, _getitem_batch)
defsparsity_gather(getitem_p)


def _is_basic(idx: tuple[Any, ...]) -> bool:
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer))
               for i in idx)


def _index_add_impl(x: Any, v: Any, *, idx: tuple[Any, ...]) -> Any:
    out = np.array(x, dtype=np.result_type(x, v), copy=True)
    if _is_basic(idx):
        out[idx] += v
    else:
        np.add.at(out, idx, v)  # repeated indices accumulate
    return out


def _index_update_abstract(x: ShapedArray, v: ShapedArray, *, idx: Any) -> ShapedArray:
    target = _index_shape(x.shape, idx)
    broadcast_shapes(target, v.shape, op="index update")
    return ShapedArray(x.shape, np.result_type(x.dtype, v.dtype))


index_add_p = Primitive("index_add", _index_add_impl, _index_update_abstract)


defxp(index_add_p, lambda xp, x, v, *, idx: backend_index_update(xp, x, idx, v, add=True))


def _index_add_transpose(ct: Any, x: Any, v: Any, *, idx: Any) -> tuple[Any, Any]:
    ct_x = ct if is_undefined(x) else None
    ct_v = unbroadcast(getitem(ct, idx), v.aval) if is_undefined(v) else None
    return ct_x, ct_v


def _index_update_jvp(prim: Primitive) -> Any:
    def index_update_jvp(primals: list[Any], tangents: list[Any], *, idx: Any) -> Any:
        ans = bind(prim, *primals, idx=idx)
        tx, tv = tangents
        if type(tx) is Zero and type(tv) is Zero:
            return ans, Zero(None)
        if type(tx) is Zero:
            tx = np.zeros(get_aval(primals[0]).shape, get_aval(ans).dtype)
        if type(tv) is Zero:
            tv = 0.0
        return ans, bind(prim, tx, tv, idx=idx)

    index_update_jvp.__name__ = f"{prim.name}_jvp"
    return index_update_jvp


defjvp_rule(index_add_p, _index_update_jvp(index_add_p))
deftranspose(index_add_p, _index_add_transpose)


def batch_index_update(prim: Primitive) -> Any:
    """Batching of ``x.at[idx].add/set(v)``: both operands batched at 0, ``v`` laid out like
    the batched target ``x[:, *idx]`` (whose batch axis NumPy may move, see getitem)."""

    def index_update_batch(args: Any, dims: Any, *, idx: Any) -> tuple[Any, int]:
        (x, v), (dx, dv) = args, dims
        n = common_size(args, dims, prim.name)
        x = bdim_to_front(x, dx, n)
        new, d = _batched_index(idx)
        target = _index_shape(get_aval(x).shape, new)
        logical = target[:d] + target[d + 1:]
        if dv is None and d == 0:
            # An unbatched v broadcasts from the right against (n, *logical) unchanged.
            return bind(prim, x, v, idx=new), 0
        if dv is None:
            v = broadcast_to(reshape(broadcast_to(v, logical), (1, *logical)), (n, *logical))
        else:
            v = pad_after_batch(moveaxis(v, dv, 0), len(logical))
            if d != 0:
                v = moveaxis(broadcast_to(v, (n, *logical)), 0, d)
        return bind(prim, x, v, idx=new), 0

    index_update_batch.__name__ = f"{prim.name}_batch"
    return index_update_batch


defbatch(index_add_p, batch_index_update(index_add_p))


def _index_add_sparsity(q: SparsityQuery) -> Any:
    """``x.at[idx].add(v)``: the identity in ``x``; ``v``'s entries are added at the targets
    (repeated indices add several entries into one)."""
    if q.k == 0:
        return SAME
    target = positions(q.out.shape)[q.params["idx"]]
    src = np.broadcast_to(positions(q.operand.shape), target.shape)
    return Pairs(np.ravel(target), np.ravel(src))


defsparsity(index_add_p, _index_add_sparsity)


def _index_set_impl(x: Any, v: Any, *, idx: tuple[Any, ...]) -> Any:
    out = np.array(x, dtype=np.result_type(x, v), copy=True)
    out[idx] = v
    return out


index_set_p = Primitive("index_set", _index_set_impl, _index_update_abstract)


defxp(index_set_p, lambda xp, x, v, *, idx: backend_index_update(xp, x, idx, v, add=False))


def _last_write_mask(shape: tuple[Any, ...], idx: tuple[Any, ...]) -> Any:
    """For ``x[idx] = v`` with repeated indices NumPy keeps the last write; this boolean mask
    (shaped like ``x[idx]``) marks the entries of ``v`` that survive."""
    target = _index_shape(shape, idx)
    ids = np.arange(int(np.prod(target, dtype=np.int64))).reshape(target)
    owner = np.full(shape, -1, dtype=np.int64)
    owner[idx] = ids
    return owner[idx] == ids


def _index_set_transpose(ct: Any, x: Any, v: Any, *, idx: Any) -> tuple[Any, Any]:
    ct_x = bind(index_set_p, ct, 0.0, idx=idx) if is_undefined(x) else None
    ct_v = None
    if is_undefined(v):
        picked = getitem(ct, idx)
        if not _is_basic(idx):  # overwritten duplicates get no cotangent
            # select is declared in elementwise.py, which imports this module: import it here
            from .elementwise import select_p
            picked = bind(select_p, _last_write_mask(get_aval(ct).shape, idx), picked, 0.0)
        ct_v = unbroadcast(picked, v.aval)
    return ct_x, ct_v


defjvp_rule(index_set_p, _index_update_jvp(index_set_p))
deftranspose(index_set_p, _index_set_transpose)
defbatch(index_set_p, batch_index_update(index_set_p))
defsparsity_gather(index_set_p)  # the last write wins, as in the implementation


def normalize_index(idx: Any) -> tuple[Any, ...]:
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    for i in idx:
        if isinstance(i, list):
            i = np.asarray(i)
        if isinstance(i, np.ndarray) and i.dtype.kind not in "biu":
            raise IndexError(f"arrays used as indices must be of integer or boolean type, "
                             f"got {i.dtype}")
        out.append(i)
    _check_index(out)
    return tuple(out)


def getitem(x: Any, idx: Any) -> Any:
    """``x[idx]``: ints, slices, None, Ellipsis, integer and boolean arrays (NumPy rules)."""
    if not needs_bind(x):
        return np.asarray(x)[idx]
    return bind(getitem_p, x, idx=normalize_index(idx))


def index_add(x: Any, idx: Any, v: Any) -> Any:
    """Functional ``x[idx] += v`` (repeated indices accumulate): ``x.at[idx].add(v)``."""
    return bind(index_add_p, x, v, idx=normalize_index(idx))


def index_set(x: Any, idx: Any, v: Any) -> Any:
    """Functional ``x[idx] = v``: ``x.at[idx].set(v)``."""
    return bind(index_set_p, x, v, idx=normalize_index(idx))


