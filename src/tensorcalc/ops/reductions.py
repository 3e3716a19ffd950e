"""Reductions: ``sum``, ``mean``, ``max``, ``min`` with ``axis`` and ``keepdims``.

``sum`` is the linear primitive ``reduce_sum`` (its transpose broadcasts the cotangent back);
``mean`` is a sum scaled by ``1/n``. ``max`` and ``min`` select entries: their derivative is the
tangent at the selected entry, and when several entries tie for the extremum the derivative is
shared equally among them (``∂ max(x)/∂x_i = 1/k`` for each of the ``k`` maximal entries), the
same convention as ``maximum``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.primitive import Primitive, Tracer, bind
from ..core.shapes import ShapedArray, normalize_axes
from ..interpreters.batch import defbatch
from ..interpreters.forward import Zero, defjvp_rule
from .elementwise import divide, equal, multiply
from .structural import batch_reduction, convert, reduce_sum, reduce_sum_p, reshape


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


def _keep(v: Any, shape: tuple[Any, ...], axes: tuple[int, ...]) -> Any:
    return reshape(v, tuple(1 if i in axes else d for i, d in enumerate(shape)))


def _extremum_jvp(prim: Primitive) -> Any:
    def extremum_jvp(primals: list[Any], tangents: list[Any], *, axes: tuple[int, ...]) -> Any:
        (x,), (t,) = primals, tangents
        ans = bind(prim, x, axes=axes)
        if type(t) is Zero:
            return ans, Zero(None)
        shape = x.shape
        mask = convert(equal(x, _keep(ans, shape, axes)), ans.dtype)
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
    if not isinstance(x, Tracer):
        return np_fn(x, axis=axis, keepdims=keepdims)
    axes = normalize_axes(axis, x.ndim, name)
    out = bind(prim, x, axes=axes) if axes else x
    return _keep(out, x.shape, axes) if keepdims else out


def sum(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:  # noqa: A001
    """``numpy.sum``."""
    if not isinstance(x, Tracer):
        return np.sum(x, axis=axis, dtype=dtype, keepdims=keepdims)
    if dtype is not None:
        x = convert(x, dtype)
    return _reduce(reduce_sum_p, np.sum, x, axis, keepdims, "sum")


def mean(x: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
    """``numpy.mean``: the sum divided by the number of entries reduced."""
    if not isinstance(x, Tracer):
        return np.mean(x, axis=axis, dtype=dtype, keepdims=keepdims)
    axes = normalize_axes(axis, x.ndim, "mean")
    n = 1
    for a in axes:
        n *= x.shape[a]
    s = sum(x, axis=axes, dtype=dtype, keepdims=keepdims)
    if s.dtype.kind in "biu":
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
