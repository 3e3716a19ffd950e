"""Array backends: which array library a computation runs on, chosen from the data.

NumPy is the home backend: ``numpy.ndarray``, NumPy scalars and Python numbers go straight to
each primitive's NumPy ``impl``, and the checks here cost one ``type(x) is np.ndarray`` for them.
Any other array that follows the Python array-API standard (CuPy, PyTorch, Dask, JAX,
``array_api_strict``) is *foreign*: ``bind`` hands a primitive applied to a foreign array to
:func:`apply_foreign`, which finds the array's namespace ``xp`` with ``array_api_compat`` and
calls the primitive's backend-neutral implementation ``xp_impl(xp, *args, **params)``. So array
type in = array type out, on the input's device, with no conversion on the way.

* **One library per call.** Arrays of two different libraries in one primitive (a torch tensor
  and a Dask array) raise ``TypeError`` naming both: moving data between devices or libraries
  is the user's decision, never a silent one. NumPy arrays meeting a foreign array are
  *constants* (an array a rule or the linearization created, or one the user's function closes
  over, like a Python number) and are placed on the foreign array's device with
  ``xp.asarray(c, device=...)``. The transformations check their own arguments with
  :func:`check_same_backend`, so two differently typed *arguments* are refused before any work.
* **dtypes.** Abstract values (:class:`~tensorcalc.core.shapes.ShapedArray`) keep NumPy dtypes as
  the canonical names; a foreign dtype maps to the NumPy dtype of the same name
  (:func:`numpy_dtype`), and back with :func:`xp_dtype`.
* **Ufuncs.** A primitive whose NumPy ``impl`` is a ufunc needs no hand-written ``xp_impl``: the
  standard function of the same name (or its standard alias, ``power → pow``) is used, and the
  few ufuncs the standard lacks are composites of standard functions (``UFUNC_COMPOSITES``).
* A primitive with neither raises :class:`BackendError` naming the primitive and the backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .errors import TensorcalcError
from .shapes import ShapedArray


class BackendError(TensorcalcError, TypeError):
    """An operation has no implementation for the array library of its inputs."""


# --- which values are foreign ---------------------------------------------------------------

_HOME = (np.ndarray, np.generic, bool, int, float, complex, str, bytes, list, tuple, dict,
         slice, type(None), type(Ellipsis), range)
_kind_of_type: dict[type, bool] = {}


def is_foreign(x: Any) -> bool:
    """Whether ``x`` is an array of a library other than NumPy (decided once per type)."""
    t = type(x)
    if t is np.ndarray:
        return False
    known = _kind_of_type.get(t)
    if known is None:
        known = _kind_of_type[t] = _classify(t, x)
    return known


def _classify(t: type, x: Any) -> bool:
    if issubclass(t, _HOME):
        return False
    if hasattr(x, "__array_namespace__"):
        return True
    root = t.__module__.partition(".")[0]
    if root not in ("torch", "cupy", "dask", "jax", "jaxlib", "sparse", "ndonnx"):
        return False
    import array_api_compat

    return bool(array_api_compat.is_array_api_obj(x))


def any_foreign(values: Iterable[Any]) -> bool:
    return any(is_foreign(v) for v in values)


# --- namespaces, devices, dtypes ------------------------------------------------------------

_namespace_of_type: dict[type, Any] = {}


def namespace(x: Any) -> Any:
    """The array-API namespace of a foreign array (``array_api_compat.array_namespace``)."""
    t = type(x)
    xp = _namespace_of_type.get(t)
    if xp is None:
        import array_api_compat

        xp = _namespace_of_type[t] = array_api_compat.array_namespace(x)
    return xp


def backend_name(xp: Any) -> str:
    name = getattr(xp, "__name__", str(xp))
    return name.removeprefix("array_api_compat.").removesuffix(".array")


def device(x: Any) -> Any:
    import array_api_compat

    return array_api_compat.device(x)


def namespace_and_first(values: Iterable[Any], op: str) -> tuple[Any, Any]:
    """``(xp, first foreign value)`` of ``values``; ``TypeError`` if two libraries meet."""
    xp = first = None
    for v in values:
        if is_foreign(v):
            ns = namespace(v)
            if xp is None:
                xp, first = ns, v
            elif ns is not xp:
                raise TypeError(
                    f"{op}: arrays of two libraries meet in one operation, "
                    f"{backend_name(xp)} ({type(first).__name__}) and {backend_name(ns)} "
                    f"({type(v).__name__}); tensorcalc never moves data between libraries or "
                    "devices by itself. Convert one of them explicitly (for example with "
                    "the other library's asarray, or .compute() / .cpu()).")
    return xp, first


def check_same_backend(leaves: list[Any], op: str) -> None:
    """Refuse the arguments of one transformation call when they are arrays of different
    libraries, or of one library on different devices (NumPy arrays with foreign ones count:
    an argument is data, not a constant)."""
    xp, first = namespace_and_first(leaves, op)
    if xp is None:
        return
    dev = device(first)
    for v in leaves:
        if type(v) is np.ndarray and v.ndim > 0:
            raise TypeError(
                f"{op}: the arguments mix {backend_name(xp)} arrays ({type(first).__name__}) "
                f"with a numpy.ndarray of shape {v.shape}; pass all arrays of one library "
                f"(convert the NumPy one with {backend_name(xp)}'s asarray on device {dev}).")
        if is_foreign(v) and device(v) != dev:
            raise TypeError(
                f"{op}: the arguments are on different devices, {dev} and {device(v)}; "
                "tensorcalc does not move data between devices: move them to one device.")


# Keyed by id: libraries' dtype objects are singletons, and comparing them with NumPy's (as a
# dict lookup would) is something array_api_strict warns about.
_np_dtype_cache: dict[int, tuple[Any, np.dtype]] = {}


def numpy_dtype(dt: Any) -> np.dtype:
    """The NumPy dtype named like a foreign dtype (``torch.float32 → float32``)."""
    if isinstance(dt, np.dtype):
        return dt
    hit = _np_dtype_cache.get(id(dt))
    if hit is not None and hit[0] is dt:
        return hit[1]
    name = str(dt).rpartition(".")[2].removesuffix("')")
    out = np.dtype(name)
    _np_dtype_cache[id(dt)] = (dt, out)
    return out


def xp_dtype(xp: Any, dt: Any) -> Any:
    """The dtype of namespace ``xp`` named like NumPy dtype ``dt``."""
    return getattr(xp, np.dtype(dt).name)


def foreign_aval(x: Any) -> ShapedArray:
    """The abstract value of a foreign array: its shape and the NumPy dtype of the same name
    (read from metadata only: no data moves, no Dask compute)."""
    shape = tuple(int(d) for d in x.shape)
    return ShapedArray(shape, numpy_dtype(x.dtype))


# --- applying a primitive to foreign arrays -------------------------------------------------


def to_backend(v: Any, xp: Any, dev: Any) -> Any:
    """A NumPy constant placed on ``xp``'s device; everything else as it is."""
    if type(v) is np.ndarray:
        if v.ndim == 0:
            return _scalar_of(v)
        # A read-only constant (one the staging guard locked) is copied: torch cannot share it.
        return xp.asarray(v, device=dev, copy=None if v.flags.writeable else True)
    if isinstance(v, np.generic):
        return _scalar_of(v)
    return v


def _scalar_of(v: Any) -> Any:
    # 0-d NumPy constants become Python numbers: every array-API function takes them and they
    # follow the array's dtype (a float64 0-d constant would otherwise promote a float32 array).
    return v.item() if v.dtype.kind in "biufc" else v


def apply_foreign(prim: Any, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
    """``prim`` applied to arguments among which at least one is a foreign array."""
    xp, first = namespace_and_first(args, prim.name)
    impl = prim.xp_impl
    if impl is None:
        impl = prim.xp_impl = ufunc_impl(prim)
    dev = device(first)
    args = tuple(to_backend(a, xp, dev) for a in args)
    return impl(xp, *args, **params)


def defxp(prim: Any, impl: Callable[..., Any] | None = None) -> Any:
    """Declare ``prim``'s backend-neutral implementation ``impl(xp, *args, **params)``, written
    against the array-API namespace ``xp``; usable as a decorator."""
    def register(f: Callable[..., Any]) -> Callable[..., Any]:
        prim.xp_impl = f
        return f

    return register if impl is None else register(impl)


def no_xp_impl(prim: Any, why: str = "") -> Callable[..., Any]:
    """The ``xp_impl`` of a NumPy-only primitive: a clear error naming it and the backend."""
    def numpy_only(xp: Any, *args: Any, **params: Any) -> Any:
        raise BackendError(
            f"{prim.name} runs on NumPy arrays only{': ' + why if why else ''}; it got "
            f"{backend_name(xp)} arrays. Convert the input to NumPy explicitly if a host copy "
            "is what you want (tensorcalc never transfers data silently).")

    numpy_only.__name__ = f"{prim.name}_numpy_only"
    return numpy_only


# --- ufuncs: the standard's names and composites --------------------------------------------

UFUNC_ALIASES = {
    np.power: "pow", np.absolute: "abs", np.arcsin: "asin", np.arccos: "acos",
    np.arctan: "atan", np.arcsinh: "asinh", np.arccosh: "acosh", np.arctanh: "atanh",
    np.arctan2: "atan2", np.rint: "round", np.true_divide: "divide", np.fmod: None,
}


def _cbrt(xp: Any, x: Any) -> Any:
    return xp.sign(x) * xp.abs(x) ** (1.0 / 3.0)


def _exp2(xp: Any, x: Any) -> Any:
    return xp.exp(x * math.log(2.0))


def _logaddexp2(xp: Any, x: Any, y: Any) -> Any:
    return xp.logaddexp(x * math.log(2.0), y * math.log(2.0)) / math.log(2.0)


def _fmax(xp: Any, x: Any, y: Any) -> Any:
    return xp.where(xp.isnan(y), x, xp.where(xp.isnan(x), y, xp.maximum(x, y)))


def _fmin(xp: Any, x: Any, y: Any) -> Any:
    return xp.where(xp.isnan(y), x, xp.where(xp.isnan(x), y, xp.minimum(x, y)))


def _fmod(xp: Any, x: Any, y: Any) -> Any:
    return x - xp.trunc(x / y) * y


def _reciprocal(xp: Any, x: Any) -> Any:
    return 1.0 / x


UFUNC_COMPOSITES: dict[Any, Callable[..., Any]] = {
    np.cbrt: _cbrt, np.exp2: _exp2, np.logaddexp2: _logaddexp2, np.fmax: _fmax,
    np.fmin: _fmin, np.fmod: _fmod, np.reciprocal: _reciprocal,
}


def ufunc_impl(prim: Any) -> Callable[..., Any]:
    """The ``xp_impl`` of a primitive whose NumPy impl is a ufunc (module doc), or the
    NumPy-only error when it has none."""
    uf = prim.impl
    if not isinstance(uf, np.ufunc):
        return no_xp_impl(prim, "it has no array-API implementation yet")
    if uf in UFUNC_COMPOSITES:
        return UFUNC_COMPOSITES[uf]
    name = UFUNC_ALIASES.get(uf, uf.__name__)

    def ufunc_xp(xp: Any, *args: Any) -> Any:
        fn = getattr(xp, name, None)
        if fn is None:
            raise BackendError(f"{prim.name}: {backend_name(xp)} has no function {name!r} "
                               "(it is not in the array-API standard)")
        return fn(*args)

    ufunc_xp.__name__ = f"{prim.name}_xp"
    return ufunc_xp


def index_for(xp: Any, idx: tuple[Any, ...], x: Any) -> tuple[Any, ...]:
    """An index tuple for a foreign array: NumPy index arrays moved to its device (Dask
    indexes with NumPy arrays directly)."""
    if backend_name(xp).startswith("dask"):
        return idx
    dev = device(x)
    return tuple(xp.asarray(i, device=dev) if type(i) is np.ndarray else i for i in idx)


def defxp_neutral(prim: Any) -> None:
    """``prim``'s impl only evaluates sub-programs (through ``bind``) or passes values on, so
    it is its own backend-neutral implementation."""
    impl = prim.impl

    def neutral(xp: Any, *args: Any, **params: Any) -> Any:
        return impl(*args, **params)

    neutral.__name__ = f"{prim.name}_xp"
    prim.xp_impl = neutral


def linalg_of(xp: Any, name: str, prim: Any) -> Callable[..., Any]:
    """``xp.linalg.<name>``, or the NumPy-only error when the backend has no such function."""
    fn = getattr(getattr(xp, "linalg", None), name, None)
    if fn is None:
        raise BackendError(f"{prim.name}: {backend_name(xp)} has no linalg.{name} (the "
                           "array-API linalg extension is optional); use NumPy, torch or CuPy")
    return fn


def scipy_special(xp: Any, name: str, prim: Any) -> Callable[..., Any]:
    """``scipy.special.<name>`` where SciPy runs it on ``xp``'s arrays (``SCIPY_ARRAY_API=1``);
    otherwise the NumPy-only error (SciPy would silently convert to NumPy)."""
    try:
        import scipy.special as sp
        from scipy._lib._array_api import SCIPY_ARRAY_API  # noqa: PLC0415
    except ImportError:
        SCIPY_ARRAY_API = False  # noqa: N806
    if not SCIPY_ARRAY_API:
        raise BackendError(
            f"{prim.name} (scipy.special.{name}) runs on NumPy arrays only unless SciPy's "
            f"array-API support is on; it got {backend_name(xp)} arrays. Set the environment "
            "variable SCIPY_ARRAY_API=1 before importing SciPy (torch, CuPy and Dask are "
            "supported there), or convert the input to NumPy explicitly.")
    return getattr(sp, name)
