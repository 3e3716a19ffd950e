"""Order statistics, NaN-ignoring reductions, covariance and correlation, as compositions.

``quantile(a, q)`` (method ``linear``, NumPy's default) sorts along the axis and interpolates
between the order statistics at ``⌊h⌋`` and ``⌊h⌋ + 1`` with ``h = (n − 1) q``:
``Q = s[⌊h⌋] + (h − ⌊h⌋)(s[⌊h⌋+1] − s[⌊h⌋])``. The positions depend only on ``n`` and ``q``, so
it works under ``jit``; its derivative is that of ``sort`` (ties share, as for ``sort``) times
the interpolation weights, and a traced ``q`` gets ``∂Q/∂q = (n − 1)(s[⌊h⌋+1] − s[⌊h⌋])``.
``median`` is ``quantile(·, ½)`` and ``percentile(a, p)`` is ``quantile(a, p/100)``. A slice
holding NaN gives NaN, as in NumPy.

The ``nan*`` variants use the NaN pattern of the input (a constant read from its value; under
``jit`` they raise ConcretizationError) to place each slice's order statistics among its
non-NaN entries, which ``sort`` puts first. ``nanmax``/``nanmin``/``nanprod``/``nancumsum``/
``nancumprod`` replace NaN by the operation's neutral element; ``nanvar``/``nanstd`` count the
non-NaN entries.

``cov`` and ``corrcoef`` follow NumPy's formulas (``X − mean``, ``X Xᵀ / (N − ddof)``, rows are
variables unless ``rowvar=False``); frequency and analytic weights must be constants.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..ops import elementwise as ew
from ..ops import reductions as red
from ..ops import unary
from ..ops._base import dtype_of, needs_bind
from ..ops.indexing import sort, take_along_axis
from ..ops.shape import concatenate, moveaxis
from ..ops.structural import broadcast_to, convert, reshape, transpose
from ._construct import asarray
from ._kinds import has_tracer, on_foreign, primal_of

_METHODS = ("linear", "lower", "higher", "nearest", "midpoint")


def _to_last(a: Any, axis: Any) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    """``a`` with the reduced axes merged into the last one; also the kept shape and axes."""
    nd = len(a.shape)
    if axis is None:
        axes = tuple(range(nd))
    else:
        axes = tuple(sorted({int(ax) % nd for ax in (axis if isinstance(axis, (tuple, list))
                                                     else (axis,))}))
    kept = tuple(i for i in range(nd) if i not in axes)
    moved = transpose(a, kept + axes) if kept + axes != tuple(range(nd)) else a
    kept_shape = tuple(a.shape[i] for i in kept)
    return reshape(moved, kept_shape + (-1,)), kept_shape, axes


def _finish(out: Any, q_shape: tuple[int, ...], full_shape: tuple[int, ...],
            axes: tuple[int, ...], keepdims: bool) -> Any:
    """``out`` of shape ``kept + (q.size,)`` as NumPy lays it out: ``q.shape + kept`` (with
    ones at the reduced axes for ``keepdims``)."""
    out = moveaxis(out, -1, 0)
    shape = tuple(1 if i in axes else d for i, d in enumerate(full_shape) if keepdims
                  or i not in axes)
    return reshape(out, q_shape + shape)


def _positions(h: np.ndarray, n: Any, method: str) -> tuple[np.ndarray, np.ndarray, Any]:
    lo = np.floor(h)
    if method == "lower":
        lo = hi = lo
        frac = 0.0
    elif method == "higher":
        lo = hi = np.ceil(h)
        frac = 0.0
    elif method == "nearest":
        lo = hi = np.around(h)
        frac = 0.0
    elif method == "midpoint":
        hi = np.ceil(h)
        frac = 0.5
    else:
        hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
        frac = None
    return lo.astype(np.intp), np.asarray(hi).astype(np.intp), frac


def _quantile(a: Any, q: Any, axis: Any, method: str, keepdims: bool, name: str,
              ignore_nan: bool) -> Any:
    if method not in _METHODS:
        raise ValueError(f"tnp.{name}: method={method!r} is not supported on traced values; "
                         f"use one of {', '.join(_METHODS)}")
    a = asarray(a)
    if dtype_of(a).kind in "biu":
        a = convert(a, np.float64)
    flat, kept_shape, axes = _to_last(a, axis)
    if on_foreign((a, q)):
        return _quantile_on_backend(a, flat, q, kept_shape, axes, method, keepdims, ignore_nan)
    q_val = np.asarray(primal_of(q, name), dtype=np.float64)
    if np.any((q_val < 0) | (q_val > 1)):
        raise ValueError(f"tnp.{name}: quantiles must be in the range [0, 1] (percentiles in "
                         "[0, 100])")
    q_flat = q_val.reshape(-1)
    s = sort(flat, axis=-1)
    n_all = flat.shape[-1]
    if ignore_nan:
        mask = np.isnan(np.asarray(primal_of(flat, name)))
        n = (n_all - mask.sum(axis=-1))[..., None]              # kept + (1,)
    else:
        n = np.full(kept_shape + (1,), n_all)
    h = (n - 1) * q_flat                                        # kept + (q.size,)
    lo, hi, frac = _positions(h, n, method)
    lo, hi = np.clip(lo, 0, builtins.max(n_all - 1, 0)), np.clip(hi, 0, builtins.max(n_all - 1, 0))
    s_lo = take_along_axis(s, lo, axis=-1)
    if method in ("lower", "higher", "nearest"):
        out = s_lo
    else:
        s_hi = take_along_axis(s, hi, axis=-1)
        if frac is None:
            if needs_bind(q) or has_tracer(q):
                frac = ew.subtract(ew.multiply(reshape(asarray(q), (-1,)), n - 1), lo)
            else:
                frac = h - lo
        out = ew.add(s_lo, ew.multiply(ew.subtract(s_hi, s_lo), frac))
    if ignore_nan:
        out = ew.where(n == 0, np.nan, out)
    else:
        has_nan = red.sum(unary.isnan(flat), axis=-1, keepdims=True) > 0
        out = ew.where(has_nan, np.nan, out)
    return _finish(out, q_val.shape, tuple(a.shape), axes, keepdims)


def _quantile_on_backend(a: Any, flat: Any, q: Any, kept_shape: tuple[int, ...],
                         axes: tuple[int, ...], method: str, keepdims: bool,
                         ignore_nan: bool) -> Any:
    """:func:`_quantile` on arrays of another library: the positions ``h = (n − 1) q``, the
    non-NaN counts and the indices are values of that library (no host read, no device sync);
    a ``q`` outside [0, 1] gives NaN there (NumPy raises, which needs its value)."""
    # positions in float64 whatever the data's precision (as NumPy: 5 × 0.4 must floor to 2)
    dt = dtype_of(flat)
    q = asarray(q)
    q_shape = tuple(q.shape)
    q_flat = reshape(convert(q, np.float64) if dtype_of(q) != np.float64 else q, (-1,))
    n_all = flat.shape[-1]
    s = sort(flat, axis=-1)
    if ignore_nan:
        n = convert(red.sum(unary.logical_not(unary.isnan(flat)), axis=-1, keepdims=True),
                    np.float64)
    else:
        n = float(n_all)
    h = broadcast_to(ew.multiply(ew.subtract(n, 1.0), q_flat),
                     kept_shape + (q_flat.shape[0],))           # kept + (q.size,)
    top = ew.maximum(ew.subtract(n, 1.0), 0.0)
    lo_f = unary.floor(h)
    hi_f = {"lower": lo_f, "higher": unary.ceil(h), "nearest": unary.rint(h),
            "midpoint": unary.ceil(h), "linear": ew.minimum(ew.add(lo_f, 1.0), top)}[method]
    if method in ("higher", "nearest"):
        lo_f = hi_f

    def index(f: Any) -> Any:
        return convert(ew.minimum(ew.maximum(f, 0.0), builtins.max(n_all - 1, 0)), np.intp)

    s_lo = take_along_axis(s, index(lo_f), axis=-1)
    if method in ("lower", "higher", "nearest"):
        out = s_lo
    else:
        frac = 0.5 if method == "midpoint" else convert(ew.subtract(h, lo_f), dt)
        s_hi = take_along_axis(s, index(hi_f), axis=-1)
        out = ew.add(s_lo, ew.multiply(ew.subtract(s_hi, s_lo), frac))
    if ignore_nan:
        out = ew.where(ew.equal(n, 0.0), np.nan, out)
    else:
        has_nan = ew.greater(red.sum(unary.isnan(flat), axis=-1, keepdims=True), 0)
        out = ew.where(has_nan, np.nan, out)
    out = ew.where(unary.logical_or(ew.less(q_flat, 0.0), ew.greater(q_flat, 1.0)), np.nan, out)
    return _finish(out, q_shape, tuple(a.shape), axes, keepdims)


def _plain(a: Any, *rest: Any) -> bool:
    return not has_tracer(a) and not builtins.any(has_tracer(r) for r in rest)


def quantile(a: Any, q: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
             method: str = "linear", keepdims: bool = False, *, weights: Any = None) -> Any:
    """``numpy.quantile``, differentiable in ``a`` and ``q``."""
    if _plain(a, q):
        return np.quantile(a, q, axis=axis, out=out, overwrite_input=overwrite_input,
                           method=method, keepdims=keepdims, weights=weights)
    _no_weights(weights, "quantile")
    return _quantile(a, q, axis, method, keepdims, "quantile", False)


def percentile(a: Any, q: Any, axis: Any = None, out: Any = None,
               overwrite_input: bool = False, method: str = "linear", keepdims: bool = False,
               *, weights: Any = None) -> Any:
    """``numpy.percentile``: ``quantile(a, q / 100)``."""
    if _plain(a, q):
        return np.percentile(a, q, axis=axis, out=out, overwrite_input=overwrite_input,
                             method=method, keepdims=keepdims, weights=weights)
    _no_weights(weights, "percentile")
    return _quantile(a, ew.divide(q, 100.0), axis, method, keepdims, "percentile", False)


def median(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
           keepdims: bool = False) -> Any:
    """``numpy.median``: ``quantile(a, 0.5)``."""
    if _plain(a):
        return np.median(a, axis=axis, out=out, overwrite_input=overwrite_input,
                         keepdims=keepdims)
    return _quantile(a, 0.5, axis, "linear", keepdims, "median", False)


def nanquantile(a: Any, q: Any, axis: Any = None, out: Any = None,
                overwrite_input: bool = False, method: str = "linear", keepdims: bool = False,
                *, weights: Any = None) -> Any:
    """``numpy.nanquantile``, differentiable in ``a`` and ``q``."""
    if _plain(a, q):
        return np.nanquantile(a, q, axis=axis, out=out, overwrite_input=overwrite_input,
                              method=method, keepdims=keepdims, weights=weights)
    _no_weights(weights, "nanquantile")
    return _quantile(a, q, axis, method, keepdims, "nanquantile", True)


def nanpercentile(a: Any, q: Any, axis: Any = None, out: Any = None,
                  overwrite_input: bool = False, method: str = "linear",
                  keepdims: bool = False, *, weights: Any = None) -> Any:
    """``numpy.nanpercentile``."""
    if _plain(a, q):
        return np.nanpercentile(a, q, axis=axis, out=out, overwrite_input=overwrite_input,
                                method=method, keepdims=keepdims, weights=weights)
    _no_weights(weights, "nanpercentile")
    return _quantile(a, ew.divide(q, 100.0), axis, method, keepdims, "nanpercentile", True)


def nanmedian(a: Any, axis: Any = None, out: Any = None, overwrite_input: bool = False,
              keepdims: bool = False) -> Any:
    """``numpy.nanmedian``."""
    if _plain(a):
        return np.nanmedian(a, axis=axis, out=out, overwrite_input=overwrite_input,
                            keepdims=keepdims)
    return _quantile(a, 0.5, axis, "linear", keepdims, "nanmedian", True)


def _no_weights(weights: Any, name: str) -> None:
    if weights is not None:
        raise NotImplementedError(f"tnp.{name}: weights= is not supported on traced values")


# --- NaN-ignoring reductions -------------------------------------------------------------------


def _masked(a: Any, fill: float) -> Any:
    a = asarray(a)
    return ew.where(unary.isnan(a), fill, a)


def nanmax(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    """``numpy.nanmax``: the max of the non-NaN entries (NaN for an all-NaN slice)."""
    if _plain(a):
        return np.nanmax(a, axis=axis, out=out, keepdims=keepdims, **kw)
    a = asarray(a)
    r = red.max(_masked(a, -np.inf), axis=axis, keepdims=keepdims)
    return ew.where(_all_nan(a, axis, keepdims), np.nan, r)


def nanmin(a: Any, axis: Any = None, out: Any = None, keepdims: bool = False, **kw: Any) -> Any:
    """``numpy.nanmin``: the min of the non-NaN entries (NaN for an all-NaN slice)."""
    if _plain(a):
        return np.nanmin(a, axis=axis, out=out, keepdims=keepdims, **kw)
    a = asarray(a)
    r = red.min(_masked(a, np.inf), axis=axis, keepdims=keepdims)
    return ew.where(_all_nan(a, axis, keepdims), np.nan, r)


def _all_nan(a: Any, axis: Any, keepdims: bool) -> Any:
    valid = red.sum(unary.logical_not(unary.isnan(a)), axis=axis, keepdims=keepdims)
    return ew.equal(valid, 0)


def nanprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None,
            keepdims: bool = False, **kw: Any) -> Any:
    """``numpy.nanprod``: NaN counts as 1."""
    if _plain(a):
        return np.nanprod(a, axis=axis, dtype=dtype, out=out, keepdims=keepdims, **kw)
    return red.prod(_masked(a, 1.0), axis=axis, dtype=dtype, keepdims=keepdims)


def nancumsum(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``numpy.nancumsum``: NaN counts as 0."""
    if _plain(a):
        return np.nancumsum(a, axis=axis, dtype=dtype, out=out)
    return red.cumsum(_masked(a, 0.0), axis=axis, dtype=dtype)


def nancumprod(a: Any, axis: Any = None, dtype: Any = None, out: Any = None) -> Any:
    """``numpy.nancumprod``: NaN counts as 1."""
    if _plain(a):
        return np.nancumprod(a, axis=axis, dtype=dtype, out=out)
    return red.cumprod(_masked(a, 1.0), axis=axis, dtype=dtype)


def nanvar(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
           keepdims: bool = False, **kw: Any) -> Any:
    """``numpy.nanvar``: the variance of the non-NaN entries."""
    if _plain(a):
        return np.nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, **kw)
    a = asarray(a)
    valid = unary.logical_not(unary.isnan(a))
    n = red.sum(convert(valid, np.float64), axis=axis, keepdims=True)
    mu = ew.divide(red.sum(_masked(a, 0.0), axis=axis, keepdims=True), n)
    dev = ew.where(valid, ew.subtract(a, mu), 0.0)
    v = ew.divide(red.sum(ew.multiply(dev, dev), axis=axis, keepdims=True),
                  ew.maximum(ew.subtract(n, ddof), 0.0))
    if not keepdims:
        from . import squeeze

        v = squeeze(v, axis) if axis is not None else reshape(v, ())
    return v if dtype is None else convert(v, dtype)


def nanstd(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, ddof: float = 0,
           keepdims: bool = False, **kw: Any) -> Any:
    """``numpy.nanstd``: the square root of :func:`nanvar`."""
    if _plain(a):
        return np.nanstd(a, axis=axis, dtype=dtype, out=out, ddof=ddof, keepdims=keepdims, **kw)
    return ew.sqrt(nanvar(a, axis=axis, dtype=dtype, ddof=ddof, keepdims=keepdims))


def nanargmax(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    """``numpy.nanargmax`` (an index: no derivative)."""
    if _plain(a):
        return np.nanargmax(a, axis=axis, out=out, keepdims=keepdims)
    return red.argmax(_masked(a, -np.inf), axis=axis, keepdims=keepdims)


def nanargmin(a: Any, axis: Any = None, out: Any = None, *, keepdims: bool = False) -> Any:
    """``numpy.nanargmin`` (an index: no derivative)."""
    if _plain(a):
        return np.nanargmin(a, axis=axis, out=out, keepdims=keepdims)
    return red.argmin(_masked(a, np.inf), axis=axis, keepdims=keepdims)


def partition(a: Any, kth: Any, axis: int = -1, kind: str = "introselect",
              order: Any = None) -> Any:
    """``numpy.partition``. On traced values the array is sorted along ``axis``, which meets
    partition's contract (entry ``kth`` in its sorted place, smaller ones before, larger after);
    the order within the two sides may differ from NumPy's, which leaves it unspecified."""
    if _plain(a):
        return np.partition(a, kth, axis=axis, kind=kind, order=order)
    return sort(asarray(a), axis=axis)


# --- covariance and correlation ----------------------------------------------------------------


def cov(m: Any, y: Any = None, rowvar: bool = True, bias: bool = False, ddof: Any = None,
        fweights: Any = None, aweights: Any = None, *, dtype: Any = None) -> Any:
    """``numpy.cov``: ``X Xᵀ / (N − ddof)`` of the centred variables (rows unless
    ``rowvar=False``); weights must be constants."""
    if _plain(m, y):
        return np.cov(m, y, rowvar=rowvar, bias=bias, ddof=ddof, fweights=fweights,
                      aweights=aweights, dtype=dtype)
    if has_tracer(fweights) or has_tracer(aweights):
        raise NotImplementedError("tnp.cov: traced fweights/aweights are not supported")
    from . import atleast_2d

    X = asarray(m)
    if len(X.shape) > 2:
        raise ValueError("m has more than 2 dimensions")
    X = atleast_2d(X)
    if dtype_of(X).kind in "biu":
        X = convert(X, np.float64)
    if not rowvar and X.shape[0] != 1:
        X = transpose(X)
    if y is not None:
        Y = atleast_2d(asarray(y))
        if not rowvar and Y.shape[0] != 1:
            Y = transpose(Y)
        X = concatenate([X, convert(Y, X.dtype) if Y.dtype != X.dtype else Y], axis=0)
    if ddof is None:
        ddof = 0 if bias else 1
    w = None
    if fweights is not None:
        w = np.asarray(fweights, dtype=float)
    if aweights is not None:
        aw = np.asarray(aweights, dtype=float)
        w = aw if w is None else w * aw
    n_obs = X.shape[1]
    if w is None:
        avg = red.mean(X, axis=1, keepdims=True)
        fact = n_obs - ddof
    else:
        w_sum = w.sum()
        avg = ew.divide(red.sum(ew.multiply(X, w), axis=1, keepdims=True), w_sum)
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * (w * np.asarray(aweights, dtype=float)).sum() / w_sum
    fact = builtins.max(fact, 0.0)
    Xc = ew.subtract(X, avg)
    Xw = Xc if w is None else ew.multiply(Xc, w)
    from ..ops.products import matmul

    c = ew.divide(matmul(Xc, transpose(Xw)), fact)
    from . import squeeze

    c = squeeze(c)
    return c if dtype is None else convert(c, dtype)


def corrcoef(x: Any, y: Any = None, rowvar: bool = True, *, dtype: Any = None) -> Any:
    """``numpy.corrcoef``: ``C_ij / √(C_ii C_jj)`` of :func:`cov`, clipped to [−1, 1]."""
    if _plain(x, y):
        return np.corrcoef(x, y, rowvar=rowvar, dtype=dtype)
    c = cov(x, y, rowvar, dtype=dtype)
    if len(c.shape) == 0:
        return ew.divide(c, c)
    from ..ops.indexing import diagonal

    s = ew.sqrt(diagonal(c))
    c = ew.divide(ew.divide(c, reshape(s, (-1, 1))), reshape(s, (1, -1)))
    from ..ops.binary import clip

    return clip(c, -1.0, 1.0)


__all__ = ["corrcoef", "cov", "median", "nanargmax", "nanargmin", "nancumprod", "nancumsum",
           "nanmax", "nanmedian", "nanmin", "nanpercentile", "nanprod", "nanquantile",
           "nanstd", "nanvar", "partition", "percentile", "quantile"]
