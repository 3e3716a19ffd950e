"""``tensorcalc.numpy``: NumPy's names and semantics, differentiable.

``import tensorcalc.numpy as tnp`` and write NumPy code with ``tnp`` in place of ``np``. On plain
arrays every function calls NumPy directly (no tracing cost); on values being transformed by
``grad``, ``jvp``, ``vmap``, ``trace`` or ``jit`` it records or differentiates the operation.
Array creation functions (``zeros``, ``arange``, …) and constants are NumPy's own.

A NumPy function that is not provided raises ``AttributeError`` here, and
:class:`~tensorcalc.core.errors.NotDifferentiableError` when NumPy's own function is applied to a
traced value, rather than silently treating the value as a constant.
"""

from __future__ import annotations

from typing import Any

import numpy as _np
from numpy import (  # noqa: F401  (creation functions, dtypes and constants are NumPy's)
    arange,
    bool_,
    complex64,
    complex128,
    e,
    empty,
    empty_like,
    eye,
    finfo,
    float16,
    float32,
    float64,
    full,
    full_like,
    identity,
    iinfo,
    inf,
    int8,
    int16,
    int32,
    int64,
    linspace,
    nan,
    ndarray,
    newaxis,
    ones,
    ones_like,
    pi,
    uint8,
    zeros,
    zeros_like,
)

from ..core.primitive import get_aval
from ..ops._base import needs_bind
from ..ops.elementwise import (  # noqa: F401
    abs,
    absolute,
    add,
    cos,
    divide,
    equal,
    exp,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    power,
    sign,
    sin,
    sqrt,
    subtract,
    tanh,
    true_divide,
    where,
)
from ..ops.products import matmul  # noqa: F401
from ..ops.reductions import amax, amin, max, mean, min, sum  # noqa: F401
from ..ops.structural import (  # noqa: F401
    broadcast_to,
    getitem,
    index_add,
    index_set,
    reshape,
    swapaxes,
    transpose,
)
from ..ops.structural import convert as astype  # noqa: F401
from . import _methods, linalg  # noqa: F401
from ._products import *  # noqa: F401,F403
from ._shape import *  # noqa: F401,F403
from ._ufuncs import *  # noqa: F401,F403

_methods.install()
dtype = _np.dtype


def asarray(a: Any, dtype: Any = None) -> Any:
    """``numpy.asarray``; a traced value is returned as it is (converted if ``dtype``)."""
    if needs_bind(a):
        return a if dtype is None else astype(a, dtype)
    return _np.asarray(a, dtype=dtype)


def array(a: Any, dtype: Any = None, copy: bool = True) -> Any:
    """``numpy.array``; a traced value is returned as it is (values are immutable)."""
    if needs_bind(a):
        return a if dtype is None else astype(a, dtype)
    if isinstance(a, (list, tuple)) and any(needs_bind(v) for v in _flat(a)):
        raise TypeError(
            "tnp.array of a list containing traced values is not supported yet; use "
            "tnp.stack / tnp.concatenate")
    return _np.array(a, dtype=dtype, copy=copy)


def _flat(a: Any) -> list[Any]:
    out, stack = [], [a]
    while stack:
        x = stack.pop()
        if isinstance(x, (list, tuple)):
            stack.extend(x)
        else:
            out.append(x)
    return out


def shape(a: Any) -> tuple[Any, ...]:
    return a.shape if needs_bind(a) else _np.shape(a)


def ndim(a: Any) -> int:
    return a.ndim if needs_bind(a) else _np.ndim(a)


def size(a: Any) -> Any:
    return get_aval(a).size if needs_bind(a) else _np.size(a)


def expand_dims(a: Any, axis: Any) -> Any:
    """``numpy.expand_dims`` (a reshape)."""
    if not needs_bind(a):
        return _np.expand_dims(a, axis)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    nd = a.ndim + len(axes)
    axes = tuple(sorted(ax % nd for ax in axes))
    it = iter(a.shape)
    return reshape(a, tuple(1 if i in axes else next(it) for i in range(nd)))


def squeeze(a: Any, axis: Any = None) -> Any:
    """``numpy.squeeze`` (a reshape)."""
    if not needs_bind(a):
        return _np.squeeze(a, axis)
    if axis is None:
        axes = tuple(i for i, d in enumerate(a.shape) if d == 1)
    else:
        axes = tuple(ax % a.ndim for ax in ((axis,) if isinstance(axis, int) else axis))
        for ax in axes:
            if a.shape[ax] != 1:
                raise ValueError(f"squeeze: cannot select axis {ax} of size {a.shape[ax]}")
    return reshape(a, tuple(d for i, d in enumerate(a.shape) if i not in axes))


def ravel(a: Any) -> Any:
    return reshape(a, (-1,))


def square(x: Any) -> Any:
    """``numpy.square``."""
    return multiply(x, x) if needs_bind(x) else _np.square(x)


def at(x: Any) -> _methods.AtIndexer:
    """``tnp.at(x)[idx].set(v)``: the functional update for plain arrays and traced values."""
    return _methods.AtIndexer(x)


_methods.install_namespace_methods(globals())


def __getattr__(name: str) -> Any:
    if hasattr(_np, name):
        raise AttributeError(
            f"tensorcalc.numpy.{name} is not provided (yet), so it is not differentiable "
            f"through tensorcalc. Use numpy.{name} on values that are not being "
            "differentiated, or build it from tensorcalc.numpy operations.")
    raise AttributeError(f"module 'tensorcalc.numpy' has no attribute {name!r}")
