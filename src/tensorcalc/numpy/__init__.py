"""``tensorcalc.numpy``: NumPy's names and semantics, differentiable.

``import tensorcalc.numpy as tnp`` and write NumPy code with ``tnp`` in place of ``np``. On plain
arrays every function calls NumPy directly (no tracing cost); on values being transformed by
``grad``, ``jvp``, ``vmap``, ``trace`` or ``jit`` it records or differentiates the operation.

Every public callable of NumPy (and of ``numpy.linalg`` and ``numpy.fft``) is here, with one of
three kinds listed in ``_coverage.py`` and documented in docs/conventions.md: differentiable;
constant on traced values (booleans, indices, counts, dtypes, ``*_like``: computed and returned
as constants); or pass-through (NumPy's function, raising
:class:`~tensorcalc.core.errors.NotDifferentiableError` naming the function and the argument when
a traced value reaches it). NumPy's own functions applied to a tracer (``np.sin(x)``) are routed
here through NumPy's dispatch protocols. Lists holding traced values are arrays
(``tnp.array([x0, x1])``, ``tnp.mean([a, b])``).
"""

from __future__ import annotations

from typing import Any

import numpy as _np
from numpy import (  # noqa: F401  (constants and index helpers are NumPy's)
    arange,
    e,
    empty,
    euler_gamma,
    eye,
    identity,
    index_exp,
    inf,
    mgrid,
    nan,
    newaxis,
    ogrid,
    ones,
    pi,
    s_,
    tri,
    zeros,
)

from ..core.primitive import get_aval
from ..ops import _base as _ops_base
from ..ops._base import needs_bind
from ..ops.bessel import i0  # noqa: F401
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
from . import _coverage, _kinds, _methods, array_api, fft, linalg  # noqa: F401
from ._calculus import *  # noqa: F401,F403
from ._complex import *  # noqa: F401,F403  (real, imag, conj, angle)
from ._compose import *  # noqa: F401,F403
from ._construct import *  # noqa: F401,F403
from ._index_tricks import *  # noqa: F401,F403
from ._logic import *  # noqa: F401,F403
from ._poly import *  # noqa: F401,F403
from ._products import *  # noqa: F401,F403
from ._shape import *  # noqa: F401,F403
from ._stats import *  # noqa: F401,F403
from ._ufuncs import *  # noqa: F401,F403

_methods.install()
dtype = _np.dtype


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
_kinds.complete_namespace(globals(), linalg, fft)
_ops_base.nested_asarray = asarray  # noqa: F405  (lists of traced values in unary operations)


def __getattr__(name: str) -> Any:
    if hasattr(_np, name):
        raise AttributeError(
            f"tensorcalc.numpy.{name} is not provided, so it is not differentiable through "
            f"tensorcalc. Use numpy.{name} on values that are not being differentiated, or "
            "build it from tensorcalc.numpy operations.")
    raise AttributeError(f"module 'tensorcalc.numpy' has no attribute {name!r}")
