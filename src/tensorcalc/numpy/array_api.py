"""The array API standard's namespace over ``tensorcalc.numpy``: what ``x.__array_namespace__()``
returns for a traced ``x``.

Array-API-generic code (``xp = array_namespace(x)``, then ``xp.sum``, ``xp.concat``…) and
libraries that dispatch on it (SciPy with ``SCIPY_ARRAY_API=1``, scikit-learn's
``array_api_dispatch``, ``array_api_compat.array_namespace``) then run on traced values and
are differentiated like any ``tnp`` code. The standard's names that differ from NumPy's are
adapted here (``concat``, ``permute_dims``, ``matrix_transpose``, ``pow``, ``acos``…,
``astype(x, dtype)``, ``std``/``var`` with ``correction``, ``sort(descending=)``,
``cumulative_sum``, ``unstack``); every other standard name is looked up in ``tensorcalc.numpy``
when it is used, so the namespace grows with it. ``linalg`` and ``fft`` are the extensions'
sub-namespaces, and ``special`` is :mod:`tensorcalc.scipy.special` (SciPy's special functions
look for ``xp.special``). Values stay NumPy's: the device is ``"cpu"``.

Not covered: code that writes into arrays in place (``der[1:-1] = …``, as
``scipy.optimize.rosen_der`` and ``scipy.special.logsumexp`` do; JAX cannot run them
either) gets tensorcalc's error pointing to ``x.at[idx].set(v)``.
"""

from __future__ import annotations

import importlib
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as _np

from ..core.primitive import Tracer
from ..ops import elementwise as _ew
from ..ops import structural as _st

__array_api_version__ = "2023.12"

# The standard's data types and constants are NumPy's.
bool = _np.bool_  # noqa: A001  (the standard's name)
int8, int16, int32, int64 = _np.int8, _np.int16, _np.int32, _np.int64
uint8, uint16, uint32, uint64 = _np.uint8, _np.uint16, _np.uint32, _np.uint64
float32, float64, complex64, complex128 = _np.float32, _np.float64, _np.complex64, _np.complex128
e, inf, nan, pi, newaxis = _np.e, _np.inf, _np.nan, _np.pi, None

#: The standard's names spelled differently in NumPy: standard name -> tnp name.
ALIASES = {"acos": "arccos", "acosh": "arccosh", "asin": "arcsin", "asinh": "arcsinh",
           "atan": "arctan", "atan2": "arctan2", "atanh": "arctanh", "pow": "power",
           "bitwise_invert": "invert", "bitwise_left_shift": "left_shift",
           "bitwise_right_shift": "right_shift"}

#: The standard's functions taken from tensorcalc.numpy under the same name (or ALIASES).
SAME = (
    "abs", "add", "ceil", "clip", "conj", "copysign", "cos", "cosh", "divide", "equal", "exp",
    "expm1", "floor", "floor_divide", "greater", "greater_equal", "hypot", "imag", "isfinite",
    "isinf", "isnan", "less", "less_equal", "log", "log1p", "log2", "log10", "logaddexp",
    "logical_and", "logical_not", "logical_or", "logical_xor", "maximum", "minimum",
    "multiply", "negative", "not_equal", "positive", "real", "remainder", "round", "sign",
    "signbit", "sin", "sinh", "square", "sqrt", "subtract", "tan", "tanh", "trunc",
    "reciprocal", "bitwise_and", "bitwise_or", "bitwise_xor", "nextafter",
    "arange", "empty", "eye", "full", "linspace", "meshgrid", "ones", "tril", "triu", "zeros",
    "broadcast_arrays", "broadcast_to", "expand_dims", "flip", "moveaxis", "repeat", "reshape",
    "roll", "squeeze", "stack", "tile",
    "argmax", "argmin", "nonzero", "searchsorted", "where", "count_nonzero",
    "unique_all", "unique_counts", "unique_inverse", "unique_values",
    "max", "mean", "min", "prod", "sum", "cumulative_prod", "diff",
    "all", "any", "matmul", "tensordot", "vecdot", "take", "take_along_axis",
)


def _tnp() -> ModuleType:
    return importlib.import_module("tensorcalc.numpy")


def __getattr__(name: str) -> Any:
    if name in SAME or name in ALIASES:
        target = ALIASES.get(name, name)
        fn = getattr(_tnp(), target, None)
        if fn is None:
            fn = getattr(_np, target)  # dtype utilities and the like (no traced values)
        globals()[name] = fn
        return fn
    raise AttributeError(f"the array API namespace of tensorcalc has no {name!r} (it is "
                         "not in the standard, or not provided by tensorcalc.numpy yet)")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(SAME) | set(ALIASES))


# --- the names whose signatures differ from NumPy's ------------------------------------------


def asarray(obj: Any, /, *, dtype: Any = None, device: Any = None, copy: Any = None) -> Any:
    """``asarray`` of the standard (``device`` must be ``"cpu"`` or ``None``)."""
    _check_device(device, "asarray")
    return _tnp().asarray(obj, dtype=dtype)


def astype(x: Any, dtype: Any, /, *, copy: Any = True, device: Any = None) -> Any:
    """``astype(x, dtype)``: the standard's function form of ``x.astype``."""
    _check_device(device, "astype")
    return _st.convert(x, dtype) if isinstance(x, Tracer) else _np.asarray(x).astype(dtype)


def concat(arrays: Any, /, *, axis: int | None = 0) -> Any:
    """``concat``: NumPy's ``concatenate`` (``axis=None`` flattens first)."""
    if axis is None:
        arrays = [_st.reshape(a, (-1,)) if isinstance(a, Tracer) else _np.ravel(a)
                  for a in arrays]
        axis = 0
    return _tnp().concatenate(list(arrays), axis=axis)


def permute_dims(x: Any, /, axes: tuple[int, ...]) -> Any:
    """``permute_dims``: NumPy's ``transpose`` with explicit axes."""
    return _tnp().transpose(x, tuple(axes))


def matrix_transpose(x: Any, /) -> Any:
    """Swap the last two axes."""
    return _tnp().swapaxes(x, -1, -2)


def unstack(x: Any, /, *, axis: int = 0) -> tuple[Any, ...]:
    """``unstack``: the slices of ``x`` along ``axis``."""
    n = x.shape[axis]
    return tuple(_tnp().take(x, i, axis=axis) for i in range(n))


def std(x: Any, /, *, axis: Any = None, correction: float = 0.0, keepdims: bool = False) -> Any:
    return _tnp().std(x, axis=axis, ddof=correction, keepdims=keepdims)


def var(x: Any, /, *, axis: Any = None, correction: float = 0.0, keepdims: bool = False) -> Any:
    return _tnp().var(x, axis=axis, ddof=correction, keepdims=keepdims)


def sort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True) -> Any:
    """``sort`` with the standard's ``descending`` flag (a flip of the ascending sort)."""
    out = _tnp().sort(x, axis=axis)
    return _tnp().flip(out, axis=axis) if descending else out


def argsort(x: Any, /, *, axis: int = -1, descending: bool = False, stable: bool = True
            ) -> Any:
    if descending:  # stable descending order: sort the reversed array, map the indices back
        n = x.shape[axis]
        idx = _tnp().argsort(_tnp().flip(x, axis=axis), axis=axis, kind="stable")
        return _tnp().flip(_ew.subtract(n - 1, idx), axis=axis)
    return _tnp().argsort(x, axis=axis, kind="stable" if stable else None)


def cumulative_sum(x: Any, /, *, axis: int | None = None, dtype: Any = None,
                   include_initial: bool = False) -> Any:
    """``cumulative_sum``: ``cumsum``, with a leading zero when ``include_initial``."""
    if axis is None:
        if len(x.shape) != 1:
            raise ValueError("cumulative_sum: axis is required for arrays of more than 1 "
                             f"dimension (got shape {tuple(x.shape)})")
        axis = 0
    out = _tnp().cumsum(x, axis=axis, dtype=dtype)
    if include_initial:
        shape = list(out.shape)
        shape[axis] = 1
        zero = _np.zeros(shape, out.dtype)
        out = _tnp().concatenate([zero, out], axis=axis)
    return out


def zeros_like(x: Any, /, *, dtype: Any = None, device: Any = None) -> Any:
    """Zeros shaped like ``x``: a constant (no derivative), also for a traced ``x``."""
    _check_device(device, "zeros_like")
    return _np.zeros(x.shape, dtype or x.dtype) if isinstance(x, Tracer) else \
        _np.zeros_like(x, dtype=dtype)


def ones_like(x: Any, /, *, dtype: Any = None, device: Any = None) -> Any:
    _check_device(device, "ones_like")
    return _np.ones(x.shape, dtype or x.dtype) if isinstance(x, Tracer) else \
        _np.ones_like(x, dtype=dtype)


def empty_like(x: Any, /, *, dtype: Any = None, device: Any = None) -> Any:
    return zeros_like(x, dtype=dtype, device=device)


def full_like(x: Any, /, fill_value: Any, *, dtype: Any = None, device: Any = None) -> Any:
    _check_device(device, "full_like")
    return _np.full(x.shape, fill_value, dtype or x.dtype) if isinstance(x, Tracer) else \
        _np.full_like(x, fill_value, dtype=dtype)


def _dtype_or_value(x: Any) -> Any:
    return x.dtype if isinstance(x, Tracer) else x


def result_type(*arrays_and_dtypes: Any) -> Any:
    """NumPy's promotion of the dtypes (a traced value stands for its dtype)."""
    return _np.result_type(*(_dtype_or_value(x) for x in arrays_and_dtypes))


def can_cast(from_: Any, to: Any, /) -> bool:
    return _np.can_cast(_dtype_or_value(from_), to)


def isdtype(dtype: Any, kind: Any) -> bool:
    return _np.isdtype(_dtype_or_value(dtype), kind)


def finfo(type: Any, /) -> Any:  # noqa: A002  (the standard's name)
    return _np.finfo(_dtype_or_value(type))


def iinfo(type: Any, /) -> Any:  # noqa: A002
    return _np.iinfo(_dtype_or_value(type))


def _check_device(device: Any, op: str) -> None:
    if device not in (None, "cpu"):
        raise ValueError(f"{op}: tensorcalc computes with NumPy on the CPU; device={device!r} "
                         "is not available")


def __array_namespace_info__() -> Any:
    """The standard's inspection object: NumPy's capabilities, one ``"cpu"`` device."""
    info = _np.__array_namespace_info__()
    return SimpleNamespace(capabilities=info.capabilities, default_device=lambda: "cpu",
                           devices=lambda: ["cpu"], default_dtypes=info.default_dtypes,
                           dtypes=info.dtypes)


class _Linalg(ModuleType):
    """``xp.linalg``: tensorcalc.numpy.linalg under the extension's names."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_tnp().linalg, name)


class _FFT(ModuleType):
    """``xp.fft``: tensorcalc.numpy.fft, when it is there."""

    def __getattr__(self, name: str) -> Any:
        try:
            mod = importlib.import_module("tensorcalc.numpy.fft")
        except ImportError:
            raise AttributeError(f"fft.{name}: tensorcalc.numpy.fft is not available in this "
                                 "version") from None
        return getattr(mod, name)


class _Special(ModuleType):
    """``xp.special``: tensorcalc.scipy.special. Not in the standard yet (array-api#725), but
    SciPy's special functions dispatch to ``xp.special.<name>`` when it exists, so
    ``scipy.special.erf(x)`` of a traced ``x`` runs tensorcalc's ``erf``."""

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("tensorcalc.scipy.special"), name)


linalg = _Linalg("tensorcalc.numpy.array_api.linalg")
special = _Special("tensorcalc.numpy.array_api.special")
fft = _FFT("tensorcalc.numpy.array_api.fft")


# --- the methods and attributes of the standard's array object on tracers ---------------------


def _array_namespace(self: Any, /, *, api_version: str | None = None) -> ModuleType:
    if api_version is not None and api_version not in ("2021.12", "2022.12", "2023.12"):
        raise ValueError(f"__array_namespace__: unsupported api_version {api_version!r}")
    return importlib.import_module(__name__)


def _to_device(self: Any, device: Any, /, *, stream: Any = None) -> Any:
    _check_device(device, "to_device")
    return self


Tracer.__array_namespace__ = _array_namespace  # type: ignore[attr-defined]
Tracer.device = property(lambda self: "cpu")  # type: ignore[attr-defined]
Tracer.to_device = _to_device  # type: ignore[attr-defined]
