"""Truth tests, closeness, counting and sorted search on traced values: constants (boolean or
integer results, no derivative), written with zero-derivative primitives (comparisons,
``logical_*``, ``sum`` of booleans) so they also work under ``jit`` and ``vmap``.

* ``any(a) = Σ [a ≠ 0] > 0`` and ``all(a) = Σ [a = 0] = 0`` along the axes;
* ``isclose(a, b) = (|a − b| ≤ atol + rtol |b| ∧ isfinite(b)) ∨ (a = b)``, NumPy 2's formula
  (``equal_nan`` adds ``isnan(a) ∧ isnan(b)``); ``allclose = all(isclose)``;
* ``searchsorted(a, v)`` counts ``a < v`` (``side="left"``) or ``a ≤ v`` (``"right"``), an
  ``O(len(a) · size(v))`` comparison table rather than a binary search, which keeps it one
  fixed-shape operation; ``digitize`` is ``searchsorted`` on the bin edges;
* the bitwise functions on booleans are the ``logical_*`` primitives (``&``, ``|``, ``^`` and
  ``~`` of traced masks); on integers they need the values (eager transformations only).
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..core.primitive import Tracer
from ..ops import elementwise as ew
from ..ops import reductions as red
from ..ops import unary
from ..ops._base import dtype_of
from ..ops.structural import reshape
from ._construct import asarray
from ._kinds import has_tracer, on_primal


def _plain(*xs: Any) -> bool:
    return not builtins.any(has_tracer(x) for x in xs)


def _nonzero(a: Any) -> Any:
    # booleans as they are: the array API compares a bool array with bools only, not with 0
    a = asarray(a)
    return a if dtype_of(a).kind == "b" else ew.not_equal(a, 0)


def any(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,  # noqa: A001
        *, where: Any = True) -> Any:
    """``numpy.any`` (a boolean: no derivative)."""
    if _plain(a, where):
        return np.any(a, axis=axis, out=out, keepdims=keepdims, where=where)
    nz = _nonzero(a)
    if where is not True:
        nz = unary.logical_and(nz, where)
    return ew.greater(red.sum(nz, axis=axis, keepdims=keepdims), 0)


def all(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False,  # noqa: A001
        *, where: Any = True) -> Any:
    """``numpy.all`` (a boolean: no derivative)."""
    if _plain(a, where):
        return np.all(a, axis=axis, out=out, keepdims=keepdims, where=where)
    z = unary.logical_not(_nonzero(a))
    if where is not True:
        z = unary.logical_and(z, where)
    return ew.equal(red.sum(z, axis=axis, keepdims=keepdims), 0)


def count_nonzero(a: Any, axis: Any = None, *, keepdims: bool = False) -> Any:
    """``numpy.count_nonzero`` (an integer: no derivative)."""
    if _plain(a):
        return np.count_nonzero(a, axis=axis, keepdims=keepdims)
    return red.sum(ew.not_equal(asarray(a), 0), axis=axis, keepdims=keepdims)


def isclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Any:
    """``numpy.isclose`` (a boolean: no derivative)."""
    if _plain(a, b):
        return np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    x, y = asarray(a), asarray(b)
    close = ew.less_equal(ew.absolute(ew.subtract(x, y)),
                          ew.add(atol, ew.multiply(rtol, ew.absolute(y))))
    out = unary.logical_or(unary.logical_and(close, unary.isfinite(y)), ew.equal(x, y))
    if equal_nan:
        out = unary.logical_or(out, unary.logical_and(unary.isnan(x), unary.isnan(y)))
    return out


def allclose(a: Any, b: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> Any:
    """``numpy.allclose``: ``all(isclose(a, b))``."""
    if _plain(a, b):
        return np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    return all(isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def array_equal(a1: Any, a2: Any, equal_nan: bool = False) -> Any:
    """``numpy.array_equal``: same shape and equal entries."""
    if _plain(a1, a2):
        return np.array_equal(a1, a2, equal_nan=equal_nan)
    x, y = asarray(a1), asarray(a2)
    if tuple(x.shape) != tuple(y.shape):
        return False
    eq = ew.equal(x, y)
    if equal_nan:
        eq = unary.logical_or(eq, unary.logical_and(unary.isnan(x), unary.isnan(y)))
    return all(eq)


def array_equiv(a1: Any, a2: Any) -> Any:
    """``numpy.array_equiv``: broadcastable and equal entries."""
    if _plain(a1, a2):
        return np.array_equiv(a1, a2)
    x, y = asarray(a1), asarray(a2)
    try:
        np.broadcast_shapes(tuple(x.shape), tuple(y.shape))
    except ValueError:
        return False
    return all(ew.equal(x, y))


def searchsorted(a: Any, v: Any, side: str = "left", sorter: Any = None) -> Any:
    """``numpy.searchsorted`` (indices: no derivative)."""
    if _plain(a, v, sorter):
        return np.searchsorted(a, v, side=side, sorter=sorter)
    from ..ops.indexing import take

    a = asarray(a)
    if len(a.shape) != 1:
        raise ValueError(f"searchsorted: a must be 1-D, got shape {tuple(a.shape)}")
    if sorter is not None:
        a = take(a, np.asarray(sorter))
    v = asarray(v)
    vv = reshape(v, tuple(v.shape) + (1,))
    if side == "left":
        hit = ew.less(a, vv)
    elif side == "right":
        hit = ew.less_equal(a, vv)
    else:
        raise ValueError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
    from ..ops.structural import convert

    return convert(red.sum(hit, axis=-1), np.intp)


def digitize(x: Any, bins: Any, right: bool = False) -> Any:
    """``numpy.digitize`` (indices: no derivative); monotonic bins as in NumPy."""
    if _plain(x, bins):
        return np.digitize(x, bins, right=right)
    from ._kinds import primal_of

    edges = np.asarray(primal_of(bins, "digitize"))
    side = "left" if right else "right"
    if edges.size > 1 and edges[0] > edges[-1]:
        from ..ops.shape import flip

        return ew.subtract(edges.size, searchsorted(flip(asarray(bins)), x, side=side))
    return searchsorted(bins, x, side=side)


def iscomplex(x: Any) -> Any:
    """``numpy.iscomplex``: all False for real dtypes."""
    if isinstance(x, Tracer) and dtype_of(x).kind != "c":
        return np.zeros(tuple(x.shape), bool)
    return _iscomplex(x)


def isreal(x: Any) -> Any:
    """``numpy.isreal``: all True for real dtypes."""
    if isinstance(x, Tracer) and dtype_of(x).kind != "c":
        return np.ones(tuple(x.shape), bool)
    return _isreal(x)


_iscomplex = on_primal("iscomplex", np.iscomplex)
_isreal = on_primal("isreal", np.isreal)


def _bitwise(name: str, np_fn: Any, logical: Any) -> Any:
    on_values = on_primal(name, np_fn)

    def op(*args: Any, **kwargs: Any) -> Any:
        if _plain(*args):
            return np_fn(*args, **kwargs)
        if not kwargs and builtins.all(_is_bool(a) for a in args):
            return logical(*args)
        return on_values(*args, **kwargs)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = (f"``numpy.{name}``; on traced booleans it is ``{logical.__name__}`` (works "
                  "under every transformation), on traced integers it needs their values.")
    return op


def _is_bool(a: Any) -> bool:
    if isinstance(a, Tracer):
        return a.dtype == np.bool_
    return isinstance(a, (bool, np.bool_)) or np.asarray(a).dtype == np.bool_


bitwise_and = _bitwise("bitwise_and", np.bitwise_and, unary.logical_and)
bitwise_or = _bitwise("bitwise_or", np.bitwise_or, unary.logical_or)
bitwise_xor = _bitwise("bitwise_xor", np.bitwise_xor, unary.logical_xor)
invert = _bitwise("invert", np.invert, unary.logical_not)
bitwise_not = bitwise_invert = invert

__all__ = ["all", "allclose", "any", "array_equal", "array_equiv", "bitwise_and",
           "bitwise_invert", "bitwise_not", "bitwise_or", "bitwise_xor", "count_nonzero",
           "digitize", "invert", "isclose", "iscomplex", "isreal", "searchsorted"]
