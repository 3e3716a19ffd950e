"""Joining, splitting and moving blocks of an array: the linear maps of NumPy's shape functions.

Every function here is linear in its array arguments, so its jvp is the function applied to the
tangent and reverse mode needs only its transpose (docs/lessons/jacobians.md: a generalized Jacobian
that is a block selection/permutation matrix, never formed):

- ``concatenate(x₁, …, xₙ, axis)``: transpose is ``split`` of the cotangent at the same offsets,
  ``x̄ᵢ = ȳ[…, oᵢ:oᵢ₊₁, …]``.
- ``split(x, sizes, axis)`` (several results): transpose is ``concatenate`` of the cotangents,
  a missing (zero) cotangent becoming a block of zeros.
- ``roll(x, shift, axis)``: a cyclic permutation, transpose ``roll(ȳ, −shift, axis)``.

These three are primitives because their transposes are one call each. The rest are composites
of existing primitives that are just as fast: ``flip`` is a reversed slice (``getitem``),
``moveaxis`` a ``transpose``, ``stack`` a reshape + ``concatenate``, ``tile`` a
``broadcast_to`` + reshape (its transpose sums the copies), ``repeat`` a broadcast or an
integer-array ``getitem``, ``pad`` a slice update of a constant frame (``index_add``; transpose:
the slice) or, for ``edge``/``reflect``/``symmetric``/``wrap``, an integer-array ``getitem``
whose transpose accumulates the cotangents of the copied entries.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.backend import defxp
from ..core.errors import ShapeError
from ..core.primitive import Primitive, bind, get_aval
from ..core.shapes import ShapedArray, is_inexact_dtype, normalize_axes, shape_str
from ..core.zeros import Zero, instantiate
from ..interpreters.batch import bdim_to_front, common_size, defbatch
from ..interpreters.batch import moveaxis as _bmove
from ..interpreters.forward import defjvp_rule
from ..interpreters.sparsity import (
    Gather,
    SparsityQuery,
    defsparsity,
    defsparsity_gather,
    positions,
)
from ..interpreters.transpose import deflinear, deftranspose, is_undefined
from ._base import needs_bind
from .elementwise import multiply
from .structural import broadcast_to, convert, getitem, index_add, reshape, transpose


def _any_tracer(xs: Sequence[Any]) -> bool:
    return any(needs_bind(x) for x in xs)


def _axis(axis: Any, ndim: int, op: str) -> int:
    return normalize_axes(int(axis), ndim, op)[0]


# --- concatenate ---------------------------------------------------------------------------


def _concatenate_abstract(*xs: ShapedArray, axis: int) -> ShapedArray:
    first = xs[0]
    for k, x in enumerate(xs):
        if x.ndim != first.ndim:
            raise ShapeError(
                f"concatenate: all arrays need the same number of dimensions, but array 0 has "
                f"shape {shape_str(first.shape)} and array {k} has shape {shape_str(x.shape)}; "
                "add axes (x[None] or tnp.atleast_2d) to make them match")
        for ax in range(x.ndim):
            if ax != axis and x.shape[ax] != first.shape[ax]:
                raise ShapeError(
                    f"concatenate along axis {axis}: array {k} has shape {shape_str(x.shape)} "
                    f"but array 0 has shape {shape_str(first.shape)}; every axis except "
                    f"{axis} must have the same size (axis {ax}: {x.shape[ax]} vs "
                    f"{first.shape[ax]})")
    sizes = [x.shape[axis] for x in xs]
    if not all(isinstance(s, int) for s in sizes):
        raise ShapeError("concatenate: the concatenation axis must have concrete sizes, got "
                         f"{sizes}")
    shape = first.shape[:axis] + (sum(sizes),) + first.shape[axis + 1:]
    return ShapedArray(shape, np.result_type(*(x.dtype for x in xs)))


concatenate_p = Primitive("concatenate", lambda *xs, axis: np.concatenate(xs, axis=axis),
                          _concatenate_abstract)
defxp(concatenate_p, lambda xp, *xs, axis: xp.concat(list(xs), axis=axis))


def _concatenate_transpose(ct: Any, *xs: Any, axis: int) -> list[Any]:
    avals = [x.aval if is_undefined(x) else get_aval(x) for x in xs]
    parts = split_sizes(ct, tuple(av.shape[axis] for av in avals), axis)
    out = []
    for p, x, av in zip(parts, xs, avals, strict=True):
        if not is_undefined(x):
            out.append(None)
        elif get_aval(p).dtype != av.dtype and is_inexact_dtype(av.dtype):
            out.append(convert(p, av.dtype))  # a float32 block of a float64 result
        else:
            out.append(p)
    return out


def _concatenate_batch(args: Sequence[Any], dims: Sequence[Any], *, axis: int) -> Any:
    size = common_size(args, dims, "concatenate")
    moved = [bdim_to_front(a, d, size) for a, d in zip(args, dims, strict=True)]
    return bind(concatenate_p, *moved, axis=axis + 1), 0


deflinear(concatenate_p, _concatenate_transpose)
defbatch(concatenate_p, _concatenate_batch)
defsparsity_gather(concatenate_p)


def concatenate(arrays: Sequence[Any], axis: Any = 0, out: Any = None, dtype: Any = None,
                casting: str = "same_kind") -> Any:
    """``numpy.concatenate``: join arrays along an existing axis (``axis=None`` flattens)."""
    arrays = list(arrays)
    if not _any_tracer(arrays):
        return np.concatenate(arrays, axis=axis, out=out, dtype=dtype, casting=casting)
    if out is not None:
        raise TypeError("concatenate: out= is not supported for values being differentiated")
    if not arrays:
        raise ValueError("need at least one array to concatenate")
    if axis is None:
        arrays = [reshape(a, (-1,)) for a in arrays]
        axis = 0
    for k, a in enumerate(arrays):
        if get_aval(a).ndim == 0:
            raise ShapeError(f"concatenate: array {k} is zero-dimensional; zero-dimensional "
                             "arrays cannot be concatenated (use tnp.stack)")
    ndim = get_aval(arrays[0]).ndim
    axis = _axis(axis, ndim, "concatenate")
    if dtype is not None:
        arrays = [convert(a, dtype) for a in arrays]
    if len(arrays) == 1:
        return arrays[0]
    return bind(concatenate_p, *arrays, axis=axis)


# --- split ---------------------------------------------------------------------------------


def _split_abstract(x: ShapedArray, *, sizes: tuple[int, ...], axis: int) -> list[ShapedArray]:
    if sum(sizes) != x.shape[axis]:
        raise ShapeError(f"split: pieces of sizes {sizes} do not add up to axis {axis} of "
                         f"shape {shape_str(x.shape)}")
    return [ShapedArray(x.shape[:axis] + (s,) + x.shape[axis + 1:], x.dtype, x.weak_type)
            for s in sizes]


def _split_impl(x: Any, *, sizes: tuple[int, ...], axis: int) -> list[Any]:
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


split_p = Primitive("split", _split_impl, _split_abstract, multiple_results=True)


@defxp(split_p)
def _split_xp(xp: Any, x: Any, *, sizes: tuple[int, ...], axis: int) -> list[Any]:
    ends = np.cumsum(sizes).tolist()
    head = (slice(None),) * (axis % x.ndim)
    return [x[(*head, slice(e - s, e), ...)] for s, e in zip(sizes, ends, strict=True)]


def _split_jvp(primals: list[Any], tangents: list[Any], *, sizes: Any, axis: int) -> Any:
    ans = bind(split_p, primals[0], sizes=sizes, axis=axis)
    if type(tangents[0]) is Zero:
        return ans, [Zero(None)] * len(ans)
    return ans, bind(split_p, tangents[0], sizes=sizes, axis=axis)


def _split_transpose(cts: list[Any], x: Any, *, sizes: Any, axis: int) -> tuple[Any]:
    # A piece nobody used has a symbolic zero cotangent: it becomes a block of zeros.
    return (bind(concatenate_p, *(instantiate(c) for c in cts), axis=axis),)


def _split_batch(args: Sequence[Any], dims: Sequence[Any], *, sizes: Any, axis: int) -> Any:
    x = _bmove(args[0], dims[0], 0)
    outs = bind(split_p, x, sizes=sizes, axis=axis + 1)
    return outs, [0] * len(outs)


defjvp_rule(split_p, _split_jvp)
deftranspose(split_p, _split_transpose)
defbatch(split_p, _split_batch)


def _split_sparsity(q: SparsityQuery) -> list[Gather]:
    """Each piece copies its block of the operand."""
    pieces = _split_impl(positions(q.operand.shape), **q.params)
    return [Gather(np.ascontiguousarray(p).ravel()) for p in pieces]


defsparsity(split_p, _split_sparsity)


def split_sizes(x: Any, sizes: tuple[int, ...], axis: int) -> list[Any]:
    """Cut ``x`` along ``axis`` into consecutive pieces of the given sizes."""
    if len(sizes) == 1:
        return [x]
    return bind(split_p, x, sizes=tuple(int(s) for s in sizes), axis=axis)


def _split_ranges(n: int, indices_or_sections: Any, equal: bool, op: str) -> list[range]:
    if isinstance(indices_or_sections, (int, np.integer)):
        sections = int(indices_or_sections)
        if sections <= 0:
            raise ValueError(f"{op}: number of sections must be larger than 0, got {sections}")
        if equal and n % sections:
            raise ValueError(f"{op}: array split does not result in an equal division (axis "
                             f"of size {n} into {sections} sections); use array_split")
        each, extra = divmod(n, sections)
        bounds = np.cumsum([0] + [each + 1] * extra + [each] * (sections - extra))
        return [range(int(a), int(b)) for a, b in itertools.pairwise(bounds)]
    points = [0, *(int(i) for i in indices_or_sections), n]
    # NumPy slices x[a:b] for consecutive points, so negative and out-of-range points behave
    # like Python slice bounds.
    return [range(n)[a:b] for a, b in itertools.pairwise(points)]


def array_split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """``numpy.array_split``: like ``split`` but sections need not divide the axis equally."""
    return _split(ary, indices_or_sections, axis, equal=False, op="array_split")


def split(ary: Any, indices_or_sections: Any, axis: int = 0) -> list[Any]:
    """``numpy.split``: a list of sub-arrays along ``axis``."""
    return _split(ary, indices_or_sections, axis, equal=True, op="split")


def _split(ary: Any, ios: Any, axis: int, equal: bool, op: str) -> list[Any]:
    if not needs_bind(ary):
        return getattr(np, op)(ary, ios, axis=axis)
    axis = _axis(axis, ary.ndim, op)
    n = ary.shape[axis]
    ranges = _split_ranges(n, ios, equal, op)
    if list(itertools.chain.from_iterable(ranges)) == list(range(n)):
        return split_sizes(ary, tuple(len(r) for r in ranges), axis)
    # Overlapping or out-of-order points: each piece is its own slice.
    pre = (slice(None),) * axis
    return [getitem(ary, pre + (slice(r.start, r.start + len(r)),)) for r in ranges]


def hsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """``numpy.hsplit``: split along axis 1 (axis 0 for 1-D arrays)."""
    nd = get_aval(ary).ndim
    if nd == 0:
        raise ValueError("hsplit only works on arrays of 1 or more dimensions")
    return split(ary, indices_or_sections, 1 if nd > 1 else 0)


def vsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """``numpy.vsplit``: split along axis 0 of an array with at least 2 dimensions."""
    if get_aval(ary).ndim < 2:
        raise ValueError("vsplit only works on arrays of 2 or more dimensions")
    return split(ary, indices_or_sections, 0)


def dsplit(ary: Any, indices_or_sections: Any) -> list[Any]:
    """``numpy.dsplit``: split along axis 2 of an array with at least 3 dimensions."""
    if get_aval(ary).ndim < 3:
        raise ValueError("dsplit only works on arrays of 3 or more dimensions")
    return split(ary, indices_or_sections, 2)


# --- roll ----------------------------------------------------------------------------------


def _roll_abstract(x: ShapedArray, *, shifts: tuple[int, ...], axes: tuple[int, ...]
                   ) -> ShapedArray:
    return x


roll_p = Primitive("roll", lambda x, *, shifts, axes: np.roll(x, shifts, axes),
                   _roll_abstract)
defxp(roll_p, lambda xp, x, *, shifts, axes: xp.roll(x, shift=shifts, axis=axes))


def _roll_transpose(ct: Any, x: Any, *, shifts: Any, axes: Any) -> tuple[Any]:
    return (bind(roll_p, ct, shifts=tuple(-s for s in shifts), axes=axes),)


def _roll_batch(args: Sequence[Any], dims: Sequence[Any], *, shifts: Any, axes: Any) -> Any:
    x = _bmove(args[0], dims[0], 0)
    return bind(roll_p, x, shifts=shifts, axes=tuple(a + 1 for a in axes)), 0


deflinear(roll_p, _roll_transpose)
defbatch(roll_p, _roll_batch)
defsparsity_gather(roll_p)


def roll(a: Any, shift: Any, axis: Any = None) -> Any:
    """``numpy.roll``: shift entries cyclically along the axes (the flattened array if
    ``axis`` is None)."""
    if not needs_bind(a):
        return np.roll(a, shift, axis)
    if axis is None:
        return reshape(roll(reshape(a, (-1,)), shift, 0), a.shape)
    axes = np.atleast_1d(np.asarray(axis, dtype=int))
    shifts = np.atleast_1d(np.asarray(shift, dtype=int))
    axes, shifts = np.broadcast_arrays(axes, shifts)
    total: dict[int, int] = {}
    for ax, s in zip(axes.tolist(), shifts.tolist(), strict=True):
        ax = _axis(ax, a.ndim, "roll")
        total[ax] = total.get(ax, 0) + s  # NumPy adds the shifts of a repeated axis
    keep = {ax: s % a.shape[ax] if a.shape[ax] else 0 for ax, s in total.items()}
    keep = {ax: s for ax, s in keep.items() if s}
    if not keep:
        return a
    return bind(roll_p, a, shifts=tuple(keep.values()), axes=tuple(keep))


# --- composites: axes, stacking ------------------------------------------------------------


def moveaxis(a: Any, source: Any, destination: Any) -> Any:
    """``numpy.moveaxis`` (a ``transpose``)."""
    if not needs_bind(a):
        return np.moveaxis(a, source, destination)
    src = [_axis(s, a.ndim, "moveaxis") for s in np.atleast_1d(source).tolist()]
    dst = [_axis(d, a.ndim, "moveaxis") for d in np.atleast_1d(destination).tolist()]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"moveaxis: repeated axis in `source` {source!r} or `destination` "
                         f"{destination!r}")
    if len(src) != len(dst):
        raise ValueError("moveaxis: `source` and `destination` arguments must have the same "
                         f"number of elements, got {len(src)} and {len(dst)}")
    order = [n for n in range(a.ndim) if n not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return transpose(a, tuple(order))


def atleast_1d(*arys: Any) -> Any:
    """``numpy.atleast_1d``."""
    res = [a if get_aval(a).ndim >= 1 else reshape(a, (1,)) for a in arys]
    return res[0] if len(res) == 1 else tuple(res)


def atleast_2d(*arys: Any) -> Any:
    """``numpy.atleast_2d``: a 1-D ``(n,)`` becomes ``(1, n)``."""
    res = []
    for a in arys:
        sh = get_aval(a).shape
        res.append(a if len(sh) >= 2 else reshape(a, (1,) * (2 - len(sh)) + tuple(sh)))
    return res[0] if len(res) == 1 else tuple(res)


def atleast_3d(*arys: Any) -> Any:
    """``numpy.atleast_3d``: ``(n,)`` becomes ``(1, n, 1)`` and ``(m, n)`` becomes
    ``(m, n, 1)``."""
    res = []
    for a in arys:
        sh = tuple(get_aval(a).shape)
        new = {0: (1, 1, 1), 1: (1,) + sh + (1,), 2: sh + (1,)}.get(len(sh), sh)
        res.append(a if new == sh else reshape(a, new))
    return res[0] if len(res) == 1 else tuple(res)


def stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, dtype: Any = None) -> Any:
    """``numpy.stack``: join same-shape arrays along a new axis."""
    arrays = list(arrays)
    if not _any_tracer(arrays):
        return np.stack(arrays, axis=axis, out=out, dtype=dtype)
    if out is not None:
        raise TypeError("stack: out= is not supported for values being differentiated")
    shapes = [tuple(get_aval(a).shape) for a in arrays]
    for k, s in enumerate(shapes):
        if s != shapes[0]:
            raise ShapeError(
                f"stack: all input arrays must have the same shape, but array 0 has shape "
                f"{shape_str(shapes[0])} and array {k} has shape {shape_str(s)}; use "
                "concatenate to join along an existing axis")
    axis = _axis(axis, len(shapes[0]) + 1, "stack")
    new = shapes[0][:axis] + (1,) + shapes[0][axis:]
    return concatenate([reshape(a, new) for a in arrays], axis=axis, dtype=dtype)


def hstack(tup: Sequence[Any], dtype: Any = None) -> Any:
    """``numpy.hstack``: along axis 1, or axis 0 for 1-D arrays."""
    arrs = [atleast_1d(a) for a in tup]
    if not _any_tracer(arrs):
        return np.hstack(tup, dtype=dtype)
    return concatenate(arrs, axis=0 if arrs and get_aval(arrs[0]).ndim == 1 else 1, dtype=dtype)


def vstack(tup: Sequence[Any], dtype: Any = None) -> Any:
    """``numpy.vstack``: along axis 0 after ``atleast_2d``."""
    if not _any_tracer(list(tup)):
        return np.vstack(tup, dtype=dtype)
    return concatenate([atleast_2d(a) for a in tup], axis=0, dtype=dtype)


def dstack(tup: Sequence[Any]) -> Any:
    """``numpy.dstack``: along axis 2 after ``atleast_3d``."""
    if not _any_tracer(list(tup)):
        return np.dstack(tup)
    return concatenate([atleast_3d(a) for a in tup], axis=2)


def column_stack(tup: Sequence[Any]) -> Any:
    """``numpy.column_stack``: 1-D arrays become columns, then join along axis 1."""
    if not _any_tracer(list(tup)):
        return np.column_stack(tup)
    cols = []
    for a in tup:
        sh = tuple(get_aval(a).shape)
        cols.append(reshape(a, sh + (1,)) if len(sh) < 2 else a)
    return concatenate([atleast_2d(c) for c in cols], axis=1)


# --- composites: flips, rotations, copies --------------------------------------------------


def flip(m: Any, axis: Any = None) -> Any:
    """``numpy.flip``: reverse the order of entries along the axes (a reversed slice)."""
    if not needs_bind(m):
        return np.flip(m, axis)
    axes = normalize_axes(axis, m.ndim, "flip")
    if not axes:
        return m
    idx = tuple(slice(None, None, -1) if i in axes else slice(None) for i in range(m.ndim))
    return getitem(m, idx)


def fliplr(m: Any) -> Any:
    """``numpy.fliplr``: reverse axis 1."""
    if get_aval(m).ndim < 2:
        raise ValueError("fliplr: input must be >= 2-d")
    return flip(m, 1)


def flipud(m: Any) -> Any:
    """``numpy.flipud``: reverse axis 0."""
    if get_aval(m).ndim < 1:
        raise ValueError("flipud: input must be >= 1-d")
    return flip(m, 0)


def rot90(m: Any, k: int = 1, axes: Sequence[int] = (0, 1)) -> Any:
    """``numpy.rot90``: rotate by 90° ``k`` times in the plane of ``axes`` (flips and a
    transpose)."""
    if not needs_bind(m):
        return np.rot90(m, k, axes)
    if len(axes) != 2:
        raise ValueError("rot90: len(axes) must be 2")
    a0, a1 = (_axis(a, m.ndim, "rot90") for a in axes)
    if a0 == a1:
        raise ValueError(f"rot90: axes must be different, got {tuple(axes)}")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(m.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    if k == 1:
        return transpose(flip(m, a1), tuple(perm))
    return flip(transpose(m, tuple(perm)), a1)


def tile(A: Any, reps: Any) -> Any:  # noqa: N803  (NumPy's name)
    """``numpy.tile``: ``broadcast_to`` over interleaved unit axes, then a reshape, so the
    transpose sums the copies."""
    if not needs_bind(A):
        return np.tile(A, reps)
    reps = (int(reps),) if np.ndim(reps) == 0 else tuple(int(r) for r in reps)
    shape = tuple(A.shape)
    d = max(len(shape), len(reps))
    shape = (1,) * (d - len(shape)) + shape
    reps = (1,) * (d - len(reps)) + reps
    inter = tuple(x for s in shape for x in (1, s))
    big = tuple(x for r, s in zip(reps, shape, strict=True) for x in (r, s))
    final = tuple(r * s for r, s in zip(reps, shape, strict=True))
    return reshape(broadcast_to(reshape(A, inter), big), final)


def repeat(a: Any, repeats: Any, axis: Any = None) -> Any:
    """``numpy.repeat``: a scalar count is a broadcast + reshape; per-element counts are an
    integer-array ``getitem`` (transpose: the cotangents of the copies are summed)."""
    if not needs_bind(a):
        return np.repeat(a, repeats, axis)
    if needs_bind(repeats):
        raise TypeError("repeat: the repeat counts must be concrete (they set the output shape)")
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    axis = _axis(axis, a.ndim, "repeat")
    n = a.shape[axis]
    reps = np.asarray(repeats)
    if reps.dtype.kind not in "iub":
        raise TypeError(f"repeat: repeats must be integers, got dtype {reps.dtype}")
    if np.any(reps < 0):
        raise ValueError("repeat: repeats may not contain negative values")
    if reps.ndim == 0 or reps.size == 1:
        r = int(reps.reshape(()))
        sh = tuple(a.shape)
        ex = reshape(a, sh[:axis + 1] + (1,) + sh[axis + 1:])
        big = broadcast_to(ex, sh[:axis + 1] + (r,) + sh[axis + 1:])
        return reshape(big, sh[:axis] + (n * r,) + sh[axis + 1:])
    if reps.shape != (n,):
        raise ShapeError(f"repeat: repeats of shape {shape_str(reps.shape)} do not match axis "
                         f"{axis} of size {n} (array of shape {shape_str(a.shape)})")
    idx = np.repeat(np.arange(n), reps)
    return getitem(a, (slice(None),) * axis + (idx,))


# --- pad -----------------------------------------------------------------------------------


def _pad_widths(pad_width: Any, ndim: int) -> np.ndarray:
    w = np.asarray(pad_width)
    if w.dtype.kind not in "iu":
        raise TypeError(f"pad: pad_width must be integers, got {pad_width!r}")
    try:
        w = np.broadcast_to(w, (ndim, 2))
    except ValueError:
        raise ValueError(f"pad: pad_width {pad_width!r} does not fit an array of {ndim} "
                         "dimensions; give one (before, after) pair per axis") from None
    if np.any(w < 0):
        raise ValueError(f"pad: pad widths must be non-negative, got {pad_width!r}")
    return w.astype(int)


_INDEX_MODES = ("edge", "reflect", "symmetric", "wrap")


def pad(array: Any, pad_width: Any, mode: str = "constant", **kwargs: Any) -> Any:
    """``numpy.pad`` for modes ``constant``, ``edge``, ``reflect``, ``symmetric``, ``wrap``.

    ``constant``: the array is added into a constant frame (``index_add`` on a slice; transpose:
    the same slice of the cotangent). The other modes copy entries: along each padded axis the
    result is ``x[idx]`` with ``idx = numpy.pad(arange(n), widths, mode)``, so the cotangent of
    a copied entry is added back to its source."""
    if not needs_bind(array) and not needs_bind(kwargs.get("constant_values")):
        return np.pad(array, pad_width, mode, **kwargs)
    x = array
    aval = get_aval(x)
    w = _pad_widths(pad_width, aval.ndim)
    if mode == "constant":
        extra = set(kwargs) - {"constant_values"}
        if extra:
            raise TypeError(f"pad: unexpected keyword arguments {sorted(extra)} for "
                            "mode='constant'")
        c = kwargs.get("constant_values", 0)
        zeros = np.zeros(aval.shape, aval.dtype)
        if needs_bind(c):
            if c.ndim != 0:
                raise TypeError("pad: a traced constant_values must be a scalar")
            frame = multiply(np.pad(zeros, w, constant_values=1), c)
        else:
            frame = np.pad(zeros, w, constant_values=c)
        inner = tuple(slice(int(lo), int(lo + d)) for d, (lo, _) in zip(aval.shape, w, strict=True))
        if not needs_bind(x):
            x = np.asarray(x, dtype=np.result_type(aval.dtype, get_aval(frame).dtype))
        return index_add(frame, inner, x)
    if mode not in _INDEX_MODES:
        raise NotImplementedError(
            f"pad: mode {mode!r} is not differentiable in tensorcalc yet; supported modes are "
            f"'constant', {', '.join(repr(m) for m in _INDEX_MODES)}")
    if kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError("pad: reflect_type='odd' is not supported")
    for ax, (lo, hi) in enumerate(w):
        if lo == 0 and hi == 0:
            continue
        n = aval.shape[ax]
        if n == 0:
            raise ValueError(f"pad: can't extend empty axis {ax} using modes other than "
                             "'constant' or 'empty'")
        idx = np.pad(np.arange(n), (int(lo), int(hi)), mode=mode)
        x = getitem(x, (slice(None),) * ax + (idx,))
    return x
