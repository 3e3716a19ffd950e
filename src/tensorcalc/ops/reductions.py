"""Reductions: ``sum``, ``mean``, ``max``, ``min`` with ``axis`` and ``keepdims``; ``prod``,
``cumsum``, ``cumprod``, ``argmax``/``argmin`` (primitives) and ``var``, ``std``, ``average``,
``ptp``, ``nansum``, ``nanmean`` (composites).

``sum`` is the linear primitive ``reduce_sum`` (its transpose broadcasts the cotangent back);
``mean`` is a sum scaled by ``1/n``. ``max`` and ``min`` select entries: their derivative is the
tangent at the selected entry, and when several entries tie for the extremum the derivative is
shared equally among them (``∂ max(x)/∂x_i = 1/k`` for each of the ``k`` maximal entries), the
same convention as ``maximum``.

- ``cumsum`` along an axis is linear; its transpose is the reversed cumulative sum,
  ``x̄ᵢ = Σ_{k ≥ i} ȳₖ``.
- ``prod``: ``∂/∂xᵢ ∏ⱼ xⱼ = ∏_{j ≠ i} xⱼ``, computed as (exclusive product from the left) ×
  (exclusive product from the right) with two cumulative products, never by dividing by
  ``xᵢ``, so it is right with one zero (only that entry's derivative survives) and with several
  zeros (all derivatives vanish). The jvp is then ``Σᵢ ẋᵢ ∏_{j≠i} xⱼ``: one product and one sum
  in the linearized program.
- ``cumprod``: ``yₖ = ∏_{i ≤ k} xᵢ`` is the Hillis–Steele scan ``y ← y ⊙ shift_d(y)`` for
  ``d = 1, 2, 4, …`` (shifting in ones); its tangent follows the scan by the product rule,
  ``ẏ ← ẏ ⊙ shift_d(y) + shift_d(ẏ) ⊙ y``. Only products appear, so zeros need no special case,
  and the rule is built from differentiable operations (any order).
- ``var = Σ (x − x̄)² / (n − ddof)``; ``std = √var`` with ``std′ = 0`` where ``var`` is exactly 0
  (the minimum-norm subgradient, as for ``norm′(0)``; see docs/conventions.md).
- ``argmax``/``argmin`` return integer indices and have no derivative.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ..core.backend import defxp
from ..core.errors import ShapeError
from ..core.primitive import Primitive, bind, get_aval
from ..core.shapes import ShapedArray, normalize_axes, shape_str
from ..core.zeros import Zero
from ..interpreters.batch import bdim_to_front, defbatch, logical_axis
from ..interpreters.forward import defjvp_rule, defjvp_zero
from ..interpreters.sparsity import Pairs, SparsityQuery, defsparsity, positions
from ..interpreters.transpose import deflinear
from ._base import dtype_of, needs_bind
from .elementwise import add, divide, equal, multiply, sqrt, subtract, where
from .strong_zero import mul_sz
from .structural import (
    batch_reduction,
    broadcast_to,
    convert,
    getitem,
    index_set,
    reduce_sum,
    reduce_sum_p,
    reduction_sparsity,
    reshape,
    transpose,
)
from .unary import isnan, logical_not


def _extremum_abstract(name: str) -> Any:
    def abstract_eval(x: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
        for a in axes:
            if x.shape[a] == 0:
                raise ValueError(f"{name}: zero-size array along axis {a} has no {name}imum")
        return ShapedArray(tuple(d for i, d in enumerate(x.shape) if i not in axes), x.dtype)

    return abstract_eval


reduce_max_p = Primitive("reduce_max", lambda x, *, axes: np.max(x, axis=axes),
                         _extremum_abstract("max"))
reduce_min_p = Primitive("reduce_min", lambda x, *, axes: np.min(x, axis=axes),
                         _extremum_abstract("min"))
defsparsity(reduce_max_p, reduction_sparsity)
defsparsity(reduce_min_p, reduction_sparsity)
defxp(reduce_max_p, lambda xp, x, *, axes: xp.max(x, axis=axes))
defxp(reduce_min_p, lambda xp, x, *, axes: xp.min(x, axis=axes))


def _keep(v: Any, shape: tuple[Any, ...], axes: tuple[int, ...]) -> Any:
    return reshape(v, tuple(1 if i in axes else d for i, d in enumerate(shape)))


def _extremum_jvp(prim: Primitive) -> Any:
    def extremum_jvp(primals: list[Any], tangents: list[Any], *, axes: tuple[int, ...]) -> Any:
        (x,), (t,) = primals, tangents
        ans = bind(prim, x, axes=axes)
        if type(t) is Zero:
            return ans, Zero(None)
        shape = x.shape
        mask = convert(equal(x, _keep(ans, shape, axes)), dtype_of(ans))
        count = reduce_sum(mask, axes)
        weight = divide(mask, _keep(count, shape, axes))  # ties share equally
        return ans, reduce_sum(multiply(t, weight), axes)

    extremum_jvp.__name__ = f"{prim.name}_jvp"
    return extremum_jvp


defjvp_rule(reduce_max_p, _extremum_jvp(reduce_max_p))
defjvp_rule(reduce_min_p, _extremum_jvp(reduce_min_p))
defbatch(reduce_max_p, batch_reduction(reduce_max_p))
defbatch(reduce_min_p, batch_reduction(reduce_min_p))


def _reduce(prim: Primitive, np_fn: Any, x: Any, axis: Any, keepdims: bool, name: str) -> Any:
    if not needs_bind(x):
        return np_fn(x, axis=axis, keepdims=keepdims)
    axes = normalize_axes(axis, x.ndim, name)
    out = bind(prim, x, axes=axes) if axes else x
    return _keep(out, x.shape, axes) if keepdims else out


def sum(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """``numpy.sum``."""
    if not needs_bind(x):
        return np.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)
    if dtype is not None:
        x = convert(x, dtype)
    return _reduce(reduce_sum_p, np.sum, x, axis, keepdims, "sum")


def mean(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
    """``numpy.mean``: the sum divided by the number of entries reduced."""
    if not needs_bind(x):
        return np.mean(x, axis=axis, dtype=dtype, keepdims=keepdims)
    axes = normalize_axes(axis, x.ndim, "mean")
    n = 1
    for a in axes:
        n *= x.shape[a]
    s = sum(x, axis=axes, dtype=dtype, keepdims=keepdims)
    if get_aval(s).dtype.kind in "biu":
        s = convert(s, np.float64)
    return divide(s, n)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """``numpy.max``; tied maxima share the derivative equally."""
    return _reduce(reduce_max_p, np.max, x, axis, keepdims, "max")


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """``numpy.min``; tied minima share the derivative equally."""
    return _reduce(reduce_min_p, np.min, x, axis, keepdims, "min")


amax = max
amin = min


# The composites below call the reductions by these names, keeping the builtins readable.
_sum, _max, _min = sum, max, min


def _along(ndim: int, axis: int, sl: slice) -> tuple[Any, ...]:
    """An index applying ``sl`` along ``axis`` and ``:`` elsewhere."""
    return (slice(None),) * axis + (sl,) + (slice(None),) * (ndim - axis - 1)


def _shift(v: Any, d: int, axis: int, fill: float) -> Any:
    """``v`` moved ``d`` places forward along ``axis``, the first ``d`` entries set to ``fill``."""
    aval = get_aval(v)
    n, nd = aval.shape[axis], aval.ndim
    base = np.full(aval.shape, fill, aval.dtype)
    return index_set(base, _along(nd, axis, slice(d, None)),
                     getitem(v, _along(nd, axis, slice(0, n - d))))


def _reverse(v: Any, axis: int) -> Any:
    return getitem(v, _along(get_aval(v).ndim, axis, slice(None, None, -1)))


@lru_cache(maxsize=256)
def _acc_dtype(fn: Any, dtype: np.dtype) -> np.dtype:
    """The dtype NumPy's accumulating reduction gives for ``dtype`` (int32 → int64, …)."""
    return fn(np.ones(1, dtype)).dtype


def _check_axis(axis: Any, ndim: int, op: str) -> int:
    if not -ndim <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis} is out of bounds for an array of dimension {ndim}")
    return axis % ndim


# --- cumsum: linear --------------------------------------------------------------------------


def _cumsum_abstract(x: ShapedArray, *, axis: int) -> ShapedArray:
    return ShapedArray(x.shape, _acc_dtype(np.cumsum, x.dtype))


cumsum_p = Primitive("cumsum", lambda x, *, axis: np.cumsum(x, axis=axis), _cumsum_abstract)
defxp(cumsum_p, lambda xp, x, *, axis: xp.cumulative_sum(x, axis=axis))


def _cumsum_transpose(ct: Any, x: Any, *, axis: int) -> tuple[Any]:
    return (_reverse(bind(cumsum_p, _reverse(ct, axis), axis=axis), axis),)


def _cumulative_batch(prim: Primitive) -> Any:
    def cumulative_batch(args: Any, dims: Any, *, axis: int) -> tuple[Any, int]:
        return bind(prim, args[0], axis=logical_axis(axis, dims[0])), dims[0]

    cumulative_batch.__name__ = f"{prim.name}_batch"
    return cumulative_batch


deflinear(cumsum_p, _cumsum_transpose)
defbatch(cumsum_p, _cumulative_batch(cumsum_p))


def cumulative_sparsity(q: SparsityQuery) -> Pairs:
    """Entry ``i`` along ``axis`` reads entries ``0 … i`` of its lane (lower triangular)."""
    lanes = np.moveaxis(positions(q.operand.shape), q.params["axis"], -1)
    i, j = np.tril_indices(lanes.shape[-1])
    return Pairs(np.ravel(lanes[..., i]), np.ravel(lanes[..., j]))


defsparsity(cumsum_p, cumulative_sparsity)


def _cumulative(prim: Primitive, np_fn: Any, a: Any, axis: Any, dtype: Any, name: str) -> Any:
    if not needs_bind(a):
        return np_fn(a, axis=axis, dtype=dtype)
    if dtype is not None:
        a = convert(a, dtype)
    if axis is None:
        a = reshape(a, (-1,))
        axis = 0
    if a.ndim == 0:
        a = reshape(a, (1,))
    return bind(prim, a, axis=_check_axis(int(axis), a.ndim, name))


def cumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``numpy.cumsum`` (``axis=None`` flattens first)."""
    if out is not None:
        return np.cumsum(a, axis=axis, dtype=dtype, out=out)
    return _cumulative(cumsum_p, np.cumsum, a, axis, dtype, "cumsum")


# --- cumprod: scan of products ---------------------------------------------------------------

cumprod_p = Primitive("cumprod", lambda x, *, axis: np.cumprod(x, axis=axis),
                      lambda x, *, axis: ShapedArray(x.shape, _acc_dtype(np.cumprod, x.dtype)))


@defxp(cumprod_p)
def _cumprod_xp(xp: Any, x: Any, *, axis: int) -> Any:
    fn = getattr(xp, "cumulative_prod", None) or xp.cumprod  # 2024.12 name, older alias
    return fn(x, axis=axis)


def _cumprod_jvp(primals: list[Any], tangents: list[Any], *, axis: int) -> tuple[Any, Any]:
    (x,), (t,) = primals, tangents
    ans = bind(cumprod_p, x, axis=axis)
    if type(t) is Zero:
        return ans, Zero(None)
    n = get_aval(x).shape[axis]
    y, ty, d = x, t, 1
    while d < n:
        sy = _shift(y, d, axis, 1.0)
        ty = add(mul_sz(ty, sy), mul_sz(_shift(ty, d, axis, 0.0), y))
        y = multiply(y, sy)
        d *= 2
    return ans, ty


defjvp_rule(cumprod_p, _cumprod_jvp)
defbatch(cumprod_p, _cumulative_batch(cumprod_p))
defsparsity(cumprod_p, cumulative_sparsity)


def cumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``numpy.cumprod`` (``axis=None`` flattens first); exact derivatives with zeros."""
    if out is not None:
        return np.cumprod(a, axis=axis, dtype=dtype, out=out)
    return _cumulative(cumprod_p, np.cumprod, a, axis, dtype, "cumprod")


# --- prod ------------------------------------------------------------------------------------


def _prod_abstract(x: ShapedArray, *, axes: tuple[int, ...]) -> ShapedArray:
    shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    return ShapedArray(shape, _acc_dtype(np.prod, x.dtype))


reduce_prod_p = Primitive("reduce_prod", lambda x, *, axes: np.prod(x, axis=axes),
                          _prod_abstract)
defsparsity(reduce_prod_p, reduction_sparsity)
defxp(reduce_prod_p, lambda xp, x, *, axes: xp.prod(x, axis=axes))


def _prod_of_others(x: Any, axes: tuple[int, ...]) -> Any:
    """``∏_{j ≠ i} xⱼ`` over the reduced axes, for every entry ``i``, without division."""
    shape = get_aval(x).shape
    kept = [i for i in range(len(shape)) if i not in axes]
    perm = tuple(kept) + tuple(axes)
    n = 1
    for a in axes:
        n *= shape[a]
    if n == 0:
        return np.ones(shape, get_aval(x).dtype)
    xt = transpose(x, perm)
    rows = reshape(xt, tuple(shape[i] for i in kept) + (n,))
    last = len(kept)
    left = _shift(cumprod(rows, axis=last), 1, last, 1.0)
    right = _reverse(_shift(cumprod(_reverse(rows, last), axis=last), 1, last, 1.0), last)
    others = reshape(multiply(left, right), get_aval(xt).shape)
    return transpose(others, tuple(int(i) for i in np.argsort(perm)))


def _reduce_prod_jvp(primals: list[Any], tangents: list[Any], *, axes: tuple[int, ...]
                     ) -> tuple[Any, Any]:
    (x,), (t,) = primals, tangents
    ans = bind(reduce_prod_p, x, axes=axes)
    if type(t) is Zero:
        return ans, Zero(None)
    return ans, reduce_sum(mul_sz(t, _prod_of_others(x, axes)), axes)


defjvp_rule(reduce_prod_p, _reduce_prod_jvp)
defbatch(reduce_prod_p, batch_reduction(reduce_prod_p))


def prod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False,
         **kwargs: Any) -> Any:
    """``numpy.prod``; its derivative is exact when entries are zero (no division)."""
    if not needs_bind(a):
        return np.prod(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kwargs)
    if out is not None or kwargs:
        raise TypeError("prod: out=, initial= and where= are not supported for values being "
                        "differentiated")
    if dtype is not None:
        a = convert(a, dtype)
    axes = normalize_axes(axis, a.ndim, "prod")
    res = bind(reduce_prod_p, a, axes=axes) if axes else a
    if keepdims:
        res = reshape(res, tuple(1 if i in axes else d for i, d in enumerate(a.shape)))
    return res


# --- argmax, argmin: integer results, no derivative ------------------------------------------


def _arg_abstract(name: str) -> Any:
    def abstract_eval(x: ShapedArray, *, axis: int | None, keepdims: bool) -> ShapedArray:
        if axis is None:
            if x.size == 0:
                raise ValueError(f"{name}: attempt to get {name} of an empty sequence")
            shape: tuple[Any, ...] = (1,) * x.ndim if keepdims else ()
        else:
            if x.shape[axis] == 0:
                raise ValueError(f"{name}: attempt to get {name} of an empty sequence "
                                 f"(axis {axis} of shape {shape_str(x.shape)})")
            shape = tuple(1 if i == axis else d for i, d in enumerate(x.shape)) if keepdims \
                else tuple(d for i, d in enumerate(x.shape) if i != axis)
        return ShapedArray(shape, np.dtype(np.intp))

    abstract_eval.__name__ = f"{name}_abstract_eval"
    return abstract_eval


def _arg_batch(prim: Primitive) -> Any:
    def arg_batch(args: Any, dims: Any, *, axis: int | None, keepdims: bool
                  ) -> tuple[Any, int]:
        (x,), (d,) = args, dims
        if axis is None:
            size = get_aval(x).shape[d]
            rank = get_aval(x).ndim - 1
            flat = reshape(bdim_to_front(x, d, size), (size, -1))
            out = bind(prim, flat, axis=1, keepdims=False)
            return (reshape(out, (size,) + (1,) * rank) if keepdims else out), 0
        phys = logical_axis(axis, d)
        out = bind(prim, x, axis=phys, keepdims=keepdims)
        return out, (d if keepdims or phys > d else d - 1)

    arg_batch.__name__ = f"{prim.name}_batch"
    return arg_batch


argmax_p = Primitive("argmax", lambda x, *, axis, keepdims: np.argmax(x, axis, keepdims=keepdims),
                     _arg_abstract("argmax"))
argmin_p = Primitive("argmin", lambda x, *, axis, keepdims: np.argmin(x, axis, keepdims=keepdims),
                     _arg_abstract("argmin"))
defxp(argmax_p, lambda xp, x, *, axis, keepdims: xp.argmax(x, axis=axis, keepdims=keepdims))
defxp(argmin_p, lambda xp, x, *, axis, keepdims: xp.argmin(x, axis=axis, keepdims=keepdims))
for _p in (argmax_p, argmin_p):
    defjvp_zero(_p)
    defbatch(_p, _arg_batch(_p))


def _arg(prim: Primitive, np_fn: Any, a: Any, axis: Any, out: Any, keepdims: bool) -> Any:
    if not needs_bind(a):
        return np_fn(a, axis=axis, out=out, keepdims=keepdims)
    if out is not None:
        raise TypeError(f"{prim.name}: out= is not supported for values being differentiated")
    ax = None if axis is None else _check_axis(int(axis), a.ndim, prim.name)
    return bind(prim, a, axis=ax, keepdims=bool(keepdims))


def argmax(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    """``numpy.argmax``: integer indices (no derivative)."""
    return _arg(argmax_p, np.argmax, a, axis, out, keepdims)


def argmin(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    """``numpy.argmin``: integer indices (no derivative)."""
    return _arg(argmin_p, np.argmin, a, axis, out, keepdims)


# --- composites: var, std, ptp, average, nansum, nanmean -------------------------------------


def _count(shape: tuple[Any, ...], axes: tuple[int, ...]) -> int:
    n = 1
    for a in axes:
        n *= shape[a]
    return n


def _floating(a: Any) -> Any:
    return convert(a, np.float64) if dtype_of(a).kind in "biu" else a


def var(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
        keepdims: bool = False, *, correction: Any = None, **kwargs: Any) -> Any:
    """``numpy.var``: ``Σ (x − mean)² / (n − ddof)`` (``correction`` is NumPy 2's ``ddof``)."""
    if not needs_bind(a):
        if correction is not None:
            kwargs["correction"] = correction
        return np.var(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                      **kwargs)
    if out is not None or kwargs:
        raise TypeError("var: out=, where= and mean= are not supported for values being "
                        "differentiated")
    if correction is not None:
        ddof = correction
    a = _floating(convert(a, dtype) if dtype is not None else a)
    axes = normalize_axes(axis, a.ndim, "var")
    centered = subtract(a, mean(a, axis=axes, keepdims=True))
    if dtype_of(a).kind == "c":  # Σ |x − mean|², real as in NumPy (a real function of complex x)
        from .complex_ops import conj, real  # complex_ops sits above the elementwise ops

        sq = real(multiply(centered, conj(centered)))
    else:
        sq = multiply(centered, centered)
    ss = _sum(sq, axis=axes, keepdims=keepdims)
    return divide(ss, float(_count(a.shape, axes) - ddof))


def std(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
        keepdims: bool = False, *, correction: Any = None, **kwargs: Any) -> Any:
    """``numpy.std``: ``√var``; where ``var`` is exactly 0 the derivative is 0 (convention)."""
    if not needs_bind(a):
        if correction is not None:
            kwargs["correction"] = correction
        return np.std(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims,
                      **kwargs)
    v = var(a, axis, dtype, out, ddof, keepdims, correction=correction, **kwargs)
    zero = equal(v, 0.0)
    # The inner where keeps sqrt′(0) = ∞ out of the computation entirely (no 0·∞ warnings).
    return where(zero, 0.0, sqrt(where(zero, 1.0, v)))


def ptp(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False) -> Any:
    """``numpy.ptp``: ``max − min`` (ties share the derivative equally, as in max and min)."""
    if not needs_bind(a):
        return np.ptp(a, axis=axis, out=out, keepdims=keepdims)
    return subtract(_max(a, axis=axis, keepdims=keepdims), _min(a, axis=axis, keepdims=keepdims))


def average(a: Any, axis: Any = None, weights: Any = None, returned: bool = False, *,
            keepdims: bool = False) -> Any:
    """``numpy.average``: ``Σ w·a / Σ w`` (the plain mean without weights); with
    ``returned=True`` also ``Σ w`` broadcast to the result's shape. Weights are differentiable.
    """
    if not (needs_bind(a) or needs_bind(weights)):
        return np.average(a, axis=axis, weights=weights, returned=returned, keepdims=keepdims)
    a_aval = get_aval(a)
    a = _floating(a) if needs_bind(a) else np.asarray(a, np.result_type(a, 1.0))
    axes = normalize_axes(axis, a_aval.ndim, "average")
    if weights is None:
        avg = mean(a, axis=axes, keepdims=keepdims)
        scl: Any = float(_count(a_aval.shape, axes))
    else:
        w = _weights_like(weights, a_aval.shape, axis, axes)
        scl = _sum(broadcast_to(w, a_aval.shape), axis=axes, keepdims=keepdims)
        avg = divide(_sum(multiply(a, w), axis=axes, keepdims=keepdims), scl)
    if not returned:
        return avg
    return avg, broadcast_to(scl, get_aval(avg).shape)


def _weights_like(w: Any, shape: tuple[Any, ...], axis: Any, axes: tuple[int, ...]) -> Any:
    """NumPy's rule: weights shaped like ``a``, or 1-D along a single ``axis``."""
    w_shape = get_aval(w).shape
    if tuple(w_shape) == tuple(shape):
        return w
    if axis is None:
        raise TypeError(f"average: axis must be specified when shapes of a {shape_str(shape)} "
                        f"and weights {shape_str(w_shape)} differ")
    if len(w_shape) != 1 or len(axes) != 1 or w_shape[0] != shape[axes[0]]:
        raise ShapeError(f"average: weights of shape {shape_str(w_shape)} do not fit a of shape "
                         f"{shape_str(shape)} along axis {axis}; pass weights shaped like a, or "
                         "1-D with the length of that axis")
    return reshape(w, tuple(shape[i] if i == axes[0] else 1 for i in range(len(shape))))


def nansum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
           keepdims: bool = False) -> Any:
    """``numpy.nansum``: NaN entries count as 0 and get derivative 0."""
    if not needs_bind(a):
        return np.nansum(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims)
    return _sum(where(isnan(a), 0.0, a), axis=axis, dtype=dtype, keepdims=keepdims)


def nanmean(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
            keepdims: bool = False) -> Any:
    """``numpy.nanmean``: the mean of the non-NaN entries (NaN where there are none)."""
    if not needs_bind(a):
        return np.nanmean(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims)
    a = _floating(a)
    count = _sum(convert(logical_not(isnan(a)), dtype_of(a)), axis=axis, keepdims=keepdims)
    return divide(nansum(a, axis=axis, dtype=dtype, keepdims=keepdims), count)
