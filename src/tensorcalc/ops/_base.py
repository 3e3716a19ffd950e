"""Helpers shared by the op modules: dtype probing, wrapper construction, and reshape and
transpose through the array's own method.

A tnp function calls NumPy directly when none of its arguments is a tracer or an array of
another library (:func:`needs_bind`), so code that is not being transformed pays one type check
per call and nothing else; tracers and foreign arrays (torch, CuPy, Dask…) go through ``bind``,
which traces them or runs the primitive's array-API implementation.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.backend import is_foreign, numpy_dtype
from ..core.primitive import Tracer
from ..core.shapes import PLAIN_VALUES, ShapedArray

_WEAK_STANDINS = {"b": True, "i": 1, "u": 1, "f": 1.0, "c": 1j}
_dtype_cache: dict[Any, np.dtype] = {}


def probe_dtype(impl: Callable[..., Any], avals: tuple[ShapedArray, ...],
                **params: Any) -> np.dtype:
    """The dtype NumPy gives ``impl`` on these input dtypes (weak Python scalars included),
    found by running it once on 0-d stand-ins and cached."""
    key = (impl, tuple((a.dtype, a.weak_type) for a in avals), tuple(params.items()))
    try:
        return _dtype_cache[key]
    except KeyError:
        pass
    except TypeError:
        key = None
    args = [_WEAK_STANDINS[a.dtype.kind] if a.weak_type else np.ones((), a.dtype) for a in avals]
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = np.result_type(impl(*args, **params))
    if key is not None:
        _dtype_cache[key] = out
    return out


#: ``tensorcalc.numpy.asarray``, installed by that package (which this layer cannot import): how
#: a unary operation given a list holding traced values stacks it into one traced array.
nested_asarray: Callable[[Any], Any] | None = None


def needs_bind(x: Any) -> bool:
    """Whether ``x`` must go through ``bind``: a tracer, or an array of a library other than
    NumPy (NumPy arrays and numbers take the direct NumPy call)."""
    if type(x) in PLAIN_VALUES:
        return False
    return isinstance(x, Tracer) or is_foreign(x)


def dtype_of(x: Any) -> np.dtype:
    """``x.dtype`` as a NumPy dtype, also for arrays of other libraries (``torch.float32``)."""
    d = x.dtype
    return d if isinstance(d, np.dtype) else numpy_dtype(d)


def any_tracer(*args: Any) -> bool:
    """Whether any argument :func:`needs_bind`."""
    for a in args:
        if type(a) is not np.ndarray and (isinstance(a, Tracer) or is_foreign(a)):
            return True
    return False


def kernel_module(switch: str, name: str) -> Any:
    """The module ``name`` of numba kernels (imported now), or None: without numba (the
    optional extra ``fast``), or with the environment variable ``switch`` set to ``numpy``;
    then the caller runs its NumPy code."""
    if os.environ.get(switch, "").lower() == "numpy":
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


# NumPy's reshape and transpose by the array's own method (the impls of reshape_p and
# transpose_p, and what jit's generated code calls).


def reshape_array(x: Any, new_shape: tuple[Any, ...]) -> Any:
    """``np.reshape(x, new_shape)`` through the array's own method. The function is 1.8 µs
    a call (its keyword handling), the method 0.3 µs; both return the same view (or copy).
    A value without the method (a Python number given to ``jit``) takes the function."""
    try:
        return x.reshape(new_shape)
    except AttributeError:
        return np.reshape(x, new_shape)


def transpose_array(x: Any, perm: tuple[int, ...]) -> Any:
    """``np.transpose(x, perm)`` through the array's own method (0.2 µs against 0.7 µs), as
    :func:`reshape_array`."""
    try:
        return x.transpose(perm)
    except AttributeError:
        return np.transpose(x, perm)
