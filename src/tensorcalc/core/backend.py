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
    from .primitive import Tracer  # core.primitive imports this module

    # tracers have __array_namespace__ too (SciPy's dispatch reaches tnp through it), but they
    # are tensorcalc's own values, never another library's
    if issubclass(t, _HOME) or issubclass(t, Tracer):
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


def to_backend(v: Any, xp: Any, dev: Any, operands: tuple[Any, ...] = ()) -> Any:
    """A NumPy constant placed on ``xp``'s device; everything else as it is. ``operands`` are
    the other arguments of the operation (a broadcast constant takes a Dask operand's chunks)."""
    if type(v) is np.ndarray:
        if v.ndim == 0:
            return _scalar_of(v)
        if v.size > 1 and 0 in v.strides:
            # A broadcast view (a cotangent spread over an axis): only its distinct entries
            # move, and the library broadcasts them again.
            core = v[tuple(slice(0, 1) if st == 0 else slice(None) for st in v.strides)]
            small = xp.asarray(np.array(core), device=dev)
            chunks = _dask_chunks_of_shape(operands, v.shape)
            if chunks is not None:
                # Spread per chunk, like the operand: Dask's broadcast_to would otherwise
                # build one chunk as large as the whole axis and split it again (an O(n)
                # task that every row chunk of a gradient waits for).
                return _dask_broadcast(small, v.shape, chunks)
            return xp.broadcast_to(small, v.shape)
        if v.size > 4096 and v.dtype.kind in "biufc" and not v.any():
            # A zero a rule instantiated (a symbolic zero made concrete): made on the device,
            # not shipped there (on Dask it would be embedded in the graph).
            return xp.zeros(v.shape, dtype=xp_dtype(xp, v.dtype), device=dev)
        # A read-only constant (one the staging guard locked) is copied: torch cannot share it.
        return xp.asarray(v if v.flags.writeable else v.copy(), device=dev)
    if isinstance(v, np.generic):
        return _scalar_of(v)
    return v


def _dask_chunks_of_shape(operands: tuple[Any, ...], shape: tuple[int, ...]) -> Any:
    """The chunks of a Dask array among ``operands`` with exactly ``shape``, else None."""
    for o in operands:
        chunks = getattr(o, "chunks", None)
        if chunks is not None and type(o).__module__.startswith("dask") \
                and tuple(o.shape) == tuple(shape):
            return chunks
    return None


def _dask_broadcast(small: Any, shape: tuple[int, ...], chunks: Any) -> Any:
    import dask.array as da

    # Dask broadcasts only along new or length-1 axes: the axes ``small`` already has at full
    # length take the target's chunks first.
    small = small.rechunk(tuple(c if n == len_ else (n,)
                                for c, n, len_ in zip(chunks, small.shape, shape, strict=True)))
    return da.broadcast_to(small, shape, chunks=chunks)


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
    args = tuple(to_backend(a, xp, dev, args) for a in args)
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


def numpy_only(prim: Any) -> bool:
    """Whether ``prim`` has no backend-neutral implementation (it raises BackendError on
    arrays of other libraries): what docs/backends.md's limits list and the tests expect."""
    impl = prim.xp_impl if prim.xp_impl is not None else ufunc_impl(prim)
    return impl.__name__.endswith("_numpy_only")


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


def _axes_of(idx: tuple[Any, ...], ndim: int) -> list[int | None]:
    """The array axis each index entry reads (``None`` for ``None`` and ``...``)."""
    used = sum(np.ndim(i) if isinstance(i, np.ndarray) and i.dtype == bool else 1
               for i in idx if i is not None and i is not Ellipsis)
    out: list[int | None] = []
    axis = 0
    for i in idx:
        if i is None:
            out.append(None)
        elif i is Ellipsis:
            out.append(None)
            axis += ndim - used
        else:
            out.append(axis)
            axis += np.ndim(i) if isinstance(i, np.ndarray) and i.dtype == bool else 1
    return out


def _is_basic(idx: tuple[Any, ...]) -> bool:
    """Ints, forward slices and ``...``: an index every backend takes and that cannot repeat."""
    return all(i is Ellipsis or isinstance(i, (int, np.integer))
               or (isinstance(i, slice) and (i.step is None or i.step > 0)) for i in idx)


def _full(idx: tuple[Any, ...], ndim: int) -> tuple[Any, ...]:
    # array_api_strict wants every axis indexed (or an explicit trailing ...).
    if Ellipsis in idx or sum(i is not None for i in idx) >= ndim:
        return idx
    return (*idx, Ellipsis)


def getitem(xp: Any, x: Any, idx: tuple[Any, ...]) -> Any:
    """``x[idx]`` on a foreign array, with NumPy's semantics for any static index.

    Torch takes NumPy indexing as it is, except slices with a negative step (they become a
    flip and a positive step). Other backends get basic indices directly; an index with arrays
    (or ``None``) is resolved on the host into flat positions and read with ``xp.take``, since
    the standard (and Dask) allow only restricted integer-array indexing."""
    arrays = any(isinstance(i, np.ndarray) or is_foreign(i) for i in idx)
    if not _is_torch(xp) and arrays:
        shape = tuple(int(d) for d in x.shape)
        target = np.arange(math.prod(shape)).reshape(shape)[idx]
        flat = xp.take(xp.reshape(x, (-1,)), _on(xp, np.ascontiguousarray(target.reshape(-1)),
                                                 x), axis=0)
        return xp.reshape(flat, target.shape)
    if not _is_torch(xp):
        return x[_full(idx, x.ndim)]
    if any(type(i) is slice and i.step is not None and i.step < 0 for i in idx):
        idx = list(idx)
        for k, axis in enumerate(_axes_of(tuple(idx), x.ndim)):
            i = idx[k]
            if type(i) is slice and i.step is not None and i.step < 0:
                n = int(x.shape[axis])
                r = range(*i.indices(n))
                x = xp.flip(x, axis=axis)
                start = n - 1 - r[0] if len(r) else 0
                idx[k] = slice(start, start + len(r) * -i.step, -i.step)
        idx = tuple(idx)
    return x[index_for(xp, idx, x)]


def defxp_neutral(prim: Any) -> None:
    """``prim``'s impl only evaluates sub-programs (through ``bind``) or passes values on, so
    it is its own backend-neutral implementation."""
    impl = prim.impl

    def neutral(xp: Any, *args: Any, **params: Any) -> Any:
        return impl(*args, **params)

    neutral.__name__ = f"{prim.name}_xp"
    prim.xp_impl = neutral


def linalg_of(xp: Any, name: str, prim: Any) -> Callable[..., Any]:
    """``xp.linalg.<name>``, or the NumPy-only error when the backend has no such function.
    On Dask, a blockwise graph over stacks of matrices (core/dask_blocks.py)."""
    if backend_name(xp).startswith("dask"):
        from . import dask_blocks

        blockwise = dask_blocks.linalg(xp, name)
        if blockwise is not None:
            return blockwise
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


def _is_torch(xp: Any) -> bool:
    return backend_name(xp) == "torch"


def _on(xp: Any, a: np.ndarray, like: Any) -> Any:
    """A NumPy index array where ``like`` lives (Dask takes NumPy indices as they are)."""
    return a if backend_name(xp).startswith("dask") else xp.asarray(a, device=device(like))


def index_update(xp: Any, x: Any, idx: tuple[Any, ...], v: Any, *, add: bool) -> Any:
    """``x`` with ``v`` added (``add``) or written at ``x[idx]`` for a static index (NumPy
    arrays, slices, ints), as NumPy's ``np.add.at`` / ``x[idx] = v``: repeated indices
    accumulate, or the last write wins. Basic indices cannot repeat and use
    ``array_api_extra.at``; advanced ones are resolved on the host to flat positions, then
    applied with torch's ``index_add``/``index_copy``, with a 0/1 matrix product (small arrays,
    any backend, even those without fancy ``__setitem__``) or in rounds of distinct positions
    (backends with fancy ``__setitem__``: Dask, CuPy)."""
    import array_api_extra as xpx

    if not hasattr(x, "dtype"):  # a 0-d NumPy constant arrives as a Python number
        x = xp.asarray(x, dtype=xp.result_type(v, x), device=device(v))
    if not hasattr(v, "dtype"):  # a Python number
        v = xp.asarray(v, dtype=xp.result_type(x, v), device=device(x))
    dt = xp.result_type(x, v)
    x = xp.astype(x, dt) if x.dtype != dt else x
    v = xp.astype(v, dt) if v.dtype != dt else v
    if _is_basic(idx):
        at = xpx.at(x, _full(idx, x.ndim))
        return at.add(v, copy=True, xp=xp) if add else at.set(v, copy=True, xp=xp)
    shape = tuple(int(d) for d in x.shape)
    target = np.arange(math.prod(shape)).reshape(shape)[idx]
    pos = np.ascontiguousarray(target.reshape(-1))
    vals = xp.reshape(xp.broadcast_to(v, target.shape), (-1,))
    order = np.argsort(pos, kind="stable")
    sorted_pos = pos[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_pos)) + 1] if pos.size else np.r_[0]
    sizes = np.diff(np.r_[starts, pos.size])
    rank = np.empty_like(order)
    rank[order] = np.arange(pos.size) - np.repeat(starts, sizes)
    if not add:  # the last write of each position wins: keep only those
        last = np.zeros(pos.size, bool)
        last[order[starts + sizes - 1]] = True
        keep = np.flatnonzero(last)
        vals = xp.take(vals, _on(xp, keep, x), axis=0)
        pos, rank = pos[keep], np.zeros(keep.size, rank.dtype)
    flat = xp.reshape(x, (-1,))
    dev = device(x)
    n = int(flat.shape[0])
    if _is_torch(xp):
        p = xp.asarray(pos, device=dev)
        out = flat.index_add(0, p, vals) if add else flat.index_copy(0, p, vals)
    elif n * pos.size <= 1 << 22:
        onehot = np.zeros((n, pos.size), numpy_dtype(dt))
        onehot[pos, np.arange(pos.size)] = 1
        placed = xp.matmul(xp.asarray(onehot, device=dev), vals)
        if add:
            out = flat + placed
        else:
            hit = np.zeros(n, bool)
            hit[pos] = True
            out = xp.where(xp.asarray(hit, device=dev), placed, flat)
    else:
        out = flat
        for r in range(int(rank.max()) + 1 if pos.size else 0):
            sel = np.flatnonzero(rank == r)
            part = xp.take(vals, _on(xp, sel, x), axis=0)
            at = xpx.at(out, _on(xp, pos[sel], x))
            out = at.add(part, copy=True, xp=xp) if add else at.set(part, copy=True, xp=xp)
    return xp.reshape(out, shape)
