"""Array construction: ``array``/``asarray`` of nested lists holding traced values, the
``*_like`` constants, ``full`` and the evenly spaced grids.

``tnp.array([[x0, 1.0], [x1, x0 * x1]])`` is built bottom-up: every list that holds a traced
value becomes a ``stack`` of its items, all cast first to the dtype NumPy would give the whole
nested list (``numpy.result_type`` of the leaves, Python scalars weak), so
``array([x32, 1.0])`` stays float32 as in NumPy. The derivative of a stack is the stack of the
derivatives, so this is linear in every traced entry.

``zeros_like(x)``, ``ones_like``, ``empty_like`` and ``full_like(x, c)`` with a constant ``c``
read only ``x``'s shape and dtype: constants under every transformation (JAX does the same).
``full(shape, v)`` and ``full_like(x, v)`` with a traced ``v`` are broadcasts of ``v`` and
differentiable in it. ``linspace(a, b, n)`` is ``a + (b − a) t`` with NumPy's constant grid
``t``, so it is differentiable in the end points; ``logspace`` is ``base ** linspace`` and
``geomspace`` is ``exp(linspace(log a, log b))`` (positive end points, as NumPy's for reals).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..core.errors import ShapeError
from ..core.primitive import Tracer
from ..ops._base import dtype_of, needs_bind
from ..ops.elementwise import add, exp, log, multiply, power, subtract
from ..ops.shape import moveaxis, stack
from ..ops.structural import broadcast_to, convert, reshape
from ._kinds import has_tracer, primal_of

_WEAK = {"b": True, "i": 1, "u": 1, "f": 1.0, "c": 1j}


def _leaf_dtype_arg(x: Any) -> Any:
    """What ``numpy.result_type`` should see for one leaf (weak Python scalars stay weak)."""
    if needs_bind(x):
        return _WEAK[dtype_of(x).kind] if isinstance(x, Tracer) and x.aval.weak_type \
            else dtype_of(x)
    if isinstance(x, (bool, int, float, complex)):
        return x
    return np.asarray(x).dtype


def _leaves(a: Any) -> list[Any]:
    out, todo = [], [a]
    while todo:
        x = todo.pop()
        if isinstance(x, (list, tuple)):
            todo.extend(x)
        else:
            out.append(x)
    return out


def _build(node: Any, dtype: np.dtype) -> Any:
    if needs_bind(node):
        return convert(node, dtype)
    if not isinstance(node, (list, tuple)) or not has_tracer(node):
        return np.asarray(node, dtype=dtype)
    items = [_build(v, dtype) for v in node]
    shapes = {tuple(np.shape(v)) if not needs_bind(v) else tuple(v.shape)
              for v in items}
    if len(shapes) > 1:
        raise ShapeError(
            "array: the nested list holding traced values is ragged (its items have shapes "
            f"{sorted(shapes)}); every item of a list must have the same shape, as for "
            "numpy.array. Use tnp.concatenate to join arrays of different lengths.")
    return stack(items)


def _from_nested(a: Any, dtype: Any, ndmin: int) -> Any:
    leaves = _leaves(a)
    if dtype is None:
        dtype = np.result_type(*[_leaf_dtype_arg(v) for v in leaves])
    out = _build(a, np.dtype(dtype))
    return _ndmin(out, ndmin)


def _ndmin(x: Any, ndmin: int) -> Any:
    nd = len(x.shape)
    if ndmin > nd:
        return reshape(x, (1,) * (ndmin - nd) + tuple(x.shape))
    return x


def asarray(a: Any, dtype: Any = None, order: Any = None, *, copy: Any = None,
            device: Any = None, like: Any = None) -> Any:
    """``numpy.asarray``; a traced value is returned as it is (converted if ``dtype``), and a
    nested list or tuple holding traced values is stacked into one traced array."""
    if needs_bind(a):
        return a if dtype is None else convert(a, dtype)
    if isinstance(a, (list, tuple)) and has_tracer(a):
        return _from_nested(a, dtype, 0)
    return np.asarray(a, dtype=dtype, order=order, copy=copy)


def array(a: Any, dtype: Any = None, *, copy: bool = True, order: Any = "K",
          subok: bool = False, ndmin: int = 0, like: Any = None) -> Any:
    """``numpy.array``; traced values (also inside nested lists) stay traced. Traced arrays
    are immutable, so ``copy`` has nothing to do for them."""
    if needs_bind(a):
        return _ndmin(a if dtype is None else convert(a, dtype), ndmin)
    if isinstance(a, (list, tuple)) and has_tracer(a):
        return _from_nested(a, dtype, ndmin)
    return np.array(a, dtype=dtype, copy=copy, order=order, subok=subok, ndmin=ndmin)


def asanyarray(a: Any, dtype: Any = None, order: Any = None, **kwargs: Any) -> Any:
    """``numpy.asanyarray`` (as :func:`asarray`)."""
    if needs_bind(a) or (isinstance(a, (list, tuple)) and has_tracer(a)):
        return asarray(a, dtype)
    return np.asanyarray(a, dtype=dtype, order=order, **kwargs)


def ascontiguousarray(a: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """``numpy.ascontiguousarray``; memory layout means nothing for a traced value."""
    if has_tracer(a):
        return asarray(a, dtype)
    return np.ascontiguousarray(a, dtype=dtype, **kwargs)


def asfortranarray(a: Any, dtype: Any = None, **kwargs: Any) -> Any:
    """``numpy.asfortranarray``; memory layout means nothing for a traced value."""
    if has_tracer(a):
        return asarray(a, dtype)
    return np.asfortranarray(a, dtype=dtype, **kwargs)


def require(a: Any, dtype: Any = None, requirements: Any = None, **kwargs: Any) -> Any:
    """``numpy.require``; the flags are about memory and do not apply to traced values."""
    if has_tracer(a):
        return asarray(a, dtype)
    return np.require(a, dtype=dtype, requirements=requirements, **kwargs)


def asarray_chkfinite(a: Any, dtype: Any = None, order: Any = None) -> Any:
    """``numpy.asarray_chkfinite``; on a traced value the check uses the value it stands for
    where that is known (eager transformations) and is skipped inside ``jit``."""
    if not has_tracer(a):
        return np.asarray_chkfinite(a, dtype=dtype, order=order)
    out = asarray(a, dtype)
    try:
        value = primal_of(out, "asarray_chkfinite")
    except Exception:  # noqa: BLE001  (no value inside jit/vmap: nothing to check)
        return out
    if np.asarray(value).dtype.kind in "fc" and not np.isfinite(value).all():
        raise ValueError("array must not contain infs or NaNs")
    return out


def copy(a: Any, order: str = "K", subok: bool = False) -> Any:
    """``numpy.copy``; traced values are immutable, so the copy is the value itself."""
    if has_tracer(a):
        return asarray(a)
    return np.copy(a, order=order, subok=subok)


# --- constants from shapes -------------------------------------------------------------------


def _like(np_fn: Any, name: str) -> Any:
    def like(a: Any, dtype: Any = None, order: str = "K", subok: bool = True,
             shape: Any = None, **kwargs: Any) -> Any:
        if needs_bind(a):
            return np_fn(tuple(a.shape) if shape is None else shape,
                         dtype=a.dtype if dtype is None else dtype)
        if has_tracer(a):
            a = asarray(a)
            return np_fn(tuple(a.shape) if shape is None else shape,
                         dtype=a.dtype if dtype is None else dtype)
        return getattr(np, name)(a, dtype=dtype, order=order, subok=subok, shape=shape,
                                 **kwargs)

    like.__name__ = like.__qualname__ = name
    like.__doc__ = (f"``numpy.{name}``: a constant of ``a``'s shape and dtype (also for a "
                    "traced ``a``, under every transformation).")
    return like


zeros_like = _like(np.zeros, "zeros_like")
ones_like = _like(np.ones, "ones_like")
empty_like = _like(np.zeros, "empty_like")  # zeros: a traced program never reads garbage


def full_like(a: Any, fill_value: Any, dtype: Any = None, order: str = "K", subok: bool = True,
              shape: Any = None, **kwargs: Any) -> Any:
    """``numpy.full_like``: constant in ``a``; differentiable in a traced ``fill_value``."""
    if not has_tracer(a) and not has_tracer(fill_value):
        return np.full_like(a, fill_value, dtype=dtype, order=order, subok=subok, shape=shape,
                            **kwargs)
    a_shape = tuple(np.shape(a)) if not has_tracer(a) else tuple(asarray(a).shape)
    a_dtype = np.asarray(a).dtype if not has_tracer(a) else asarray(a).dtype
    return full(a_shape if shape is None else shape, fill_value,
                dtype=a_dtype if dtype is None else dtype)


def full(shape: Any, fill_value: Any, dtype: Any = None, order: str = "C", **kwargs: Any) -> Any:
    """``numpy.full``; a traced ``fill_value`` is broadcast (differentiable in it)."""
    if not has_tracer(fill_value):
        return np.full(shape, fill_value, dtype=dtype, order=order, **kwargs)
    v = asarray(fill_value)
    if dtype is not None:
        v = convert(v, dtype)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return broadcast_to(v, shape)


# --- evenly spaced grids -----------------------------------------------------------------------


def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype: Any = None, axis: int = 0, **kwargs: Any) -> Any:
    """``numpy.linspace``; differentiable in ``start`` and ``stop`` (``start + (stop − start)
    t`` with NumPy's grid ``t`` on [0, 1])."""
    if not has_tracer(start) and not has_tracer(stop):
        return np.linspace(start, stop, num, endpoint=endpoint, retstep=retstep, dtype=dtype,
                           axis=axis, **kwargs)
    num = int(num)
    if num < 0:
        raise ValueError(f"linspace: number of samples, {num}, must be non-negative")
    a, b = asarray(start), asarray(stop)
    div = (num - 1) if endpoint else num
    t = np.linspace(0.0, 1.0, num, endpoint=endpoint)
    nd = builtins.max(len(a.shape), len(b.shape))
    t = t.reshape((num,) + (1,) * nd)
    span = subtract(b, a)
    out = add(a, multiply(span, t))
    if endpoint and num > 1:
        # NumPy puts the last point exactly on ``stop``.
        out = _set_last(out, b)
    if axis != 0:
        out = moveaxis(out, 0, axis)
    if dtype is not None:
        out = convert(out, dtype)
    if retstep:
        step = multiply(span, 1.0 / div) if div > 0 else multiply(span, np.nan)
        return out, step
    return out


def _set_last(out: Any, b: Any) -> Any:
    from ..ops.structural import index_set

    return index_set(out, -1, broadcast_to(b, tuple(out.shape[1:])))


def logspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, base: Any = 10.0,
             dtype: Any = None, axis: int = 0) -> Any:
    """``numpy.logspace``: ``base ** linspace(start, stop)``."""
    if not has_tracer([start, stop, base]):
        return np.logspace(start, stop, num, endpoint=endpoint, base=base, dtype=dtype,
                           axis=axis)
    y = linspace(start, stop, num, endpoint=endpoint)
    out = power(asarray(base), y) if np.ndim(base) == 0 or has_tracer(base) else power(base, y)
    if axis != 0:
        out = moveaxis(out, 0, axis)
    return out if dtype is None else convert(out, dtype)


def geomspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None,
              axis: int = 0) -> Any:
    """``numpy.geomspace`` for positive real end points: ``exp(linspace(log a, log b))`` with
    the end points exact."""
    if not has_tracer([start, stop]):
        return np.geomspace(start, stop, num, endpoint=endpoint, dtype=dtype, axis=axis)
    a, b = asarray(start), asarray(stop)
    out = exp(linspace(log(a), log(b), num, endpoint=endpoint))
    if num > 0:
        from ..ops.structural import index_set

        out = index_set(out, 0, broadcast_to(a, tuple(out.shape[1:])))
        if endpoint and num > 1:
            out = _set_last(out, b)
    if axis != 0:
        out = moveaxis(out, 0, axis)
    return out if dtype is None else convert(out, dtype)


def fromfunction(function: Any, shape: Any, *, dtype: Any = float, like: Any = None,
                 **kwargs: Any) -> Any:
    """``numpy.fromfunction``: ``function`` is called once on the index grids, so whatever it
    computes from traced values it closes over is differentiable."""
    return function(*np.indices(shape, dtype=dtype), **kwargs)


__all__ = ["array", "asanyarray", "asarray", "asarray_chkfinite", "ascontiguousarray",
           "asfortranarray", "copy", "empty_like", "fromfunction", "full", "full_like",
           "geomspace", "linspace", "logspace", "ones_like", "require", "zeros_like"]
