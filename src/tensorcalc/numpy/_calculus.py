"""Differences, integrals, interpolation and the small elementwise helpers, as compositions.

* ``diff(a, n)``: ``a[1:] − a[:-1]`` applied ``n`` times (``prepend``/``append`` joined
  first); ``ediff1d`` is ``diff`` of the flattened array with ``to_begin``/``to_end``.
* ``gradient``: second-order central differences inside, first- or second-order one-sided
  differences at the edges (``edge_order``), for uniform spacing or coordinate arrays, NumPy's
  formulas entry for entry.
* ``trapezoid(y, x) = Σ (x[i+1] − x[i]) (y[i+1] + y[i]) / 2``.
* ``interp(x, xp, fp)``: the bracketing interval comes from ``searchsorted`` (a constant), the
  value is ``fp[i] + (x − xp[i]) (fp[i+1] − fp[i]) / (xp[i+1] − xp[i])``; differentiable in
  ``x``, ``xp`` and ``fp``; ``left``/``right`` beyond the ends.
* ``unwrap``: ``p`` plus a piecewise-constant correction (multiples of the period), so its
  derivative is the identity.
* ``modf(x) = (x − trunc x, trunc x)``, ``divmod = (floor_divide, mod)``, ``ldexp(x, e) =
  x · 2ᵉ``, ``fix = trunc``, ``nan_to_num`` a ``where``, ``heaviside(x, h0)`` a ``where``
  (derivative 0 in ``x``, ``[x = 0]`` in ``h0``).
* ``vecdot(a, b) = Σ conj(a) b`` along ``axis``; ``matvec``/``vecmat`` are ``matmul`` with a
  vector axis.
* ``convolve(a, v)`` is ``T(v) a`` with the Toeplitz matrix ``T(v)[k, i] = v[k − i]`` built by
  a gather (linear in each argument); ``correlate(a, v) = convolve(a, reverse(conj v))`` with
  NumPy's default ``mode="valid"``.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..ops import binary, unary
from ..ops import elementwise as ew
from ..ops import reductions as red
from ..ops._base import dtype_of
from ..ops.indexing import argsort, take
from ..ops.products import matmul
from ..ops.shape import concatenate
from ..ops.structural import broadcast_to, convert, getitem, reshape
from ._construct import asarray
from ._kinds import has_tracer, on_foreign, primal_of


def _plain(*xs: Any) -> bool:
    return not builtins.any(has_tracer(x) for x in xs)


def _sl(nd: int, axis: int, s: slice | int) -> tuple[Any, ...]:
    idx: list[Any] = [slice(None)] * nd
    idx[axis] = s
    return tuple(idx)


def _float(a: Any) -> Any:
    a = asarray(a)
    return convert(a, np.float64) if dtype_of(a).kind in "biu" else a


def diff(a: Any, n: int = 1, axis: int = -1, prepend: Any = np._NoValue,
         append: Any = np._NoValue) -> Any:
    """``numpy.diff``: the ``n``-th forward difference along ``axis``."""
    if _plain(a, None if prepend is np._NoValue else prepend,
              None if append is np._NoValue else append):
        return np.diff(a, n, axis, prepend, append)
    a = asarray(a)
    nd = len(a.shape)
    if nd == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    axis = axis % nd
    parts = []
    for extra in (prepend,):
        if extra is not np._NoValue:
            e = asarray(extra)
            parts.append(broadcast_to(e, tuple(a.shape[:axis]) + (1,) + tuple(a.shape[axis + 1:]))
                         if len(e.shape) == 0 else e)
    parts.append(a)
    if append is not np._NoValue:
        e = asarray(append)
        parts.append(broadcast_to(e, tuple(a.shape[:axis]) + (1,) + tuple(a.shape[axis + 1:]))
                     if len(e.shape) == 0 else e)
    if len(parts) > 1:
        a = concatenate(parts, axis=axis)
    for _ in range(n):
        a = ew.subtract(getitem(a, _sl(nd, axis, slice(1, None))),
                        getitem(a, _sl(nd, axis, slice(None, -1))))
    return a


def ediff1d(ary: Any, to_end: Any = None, to_begin: Any = None) -> Any:
    """``numpy.ediff1d``: differences of the flattened array, with optional ends."""
    if _plain(ary, to_end, to_begin):
        return np.ediff1d(ary, to_end, to_begin)
    a = reshape(asarray(ary), (-1,))
    parts = []
    if to_begin is not None:
        parts.append(reshape(convert(asarray(to_begin), a.dtype), (-1,)))
    parts.append(ew.subtract(a[1:], a[:-1]))
    if to_end is not None:
        parts.append(reshape(convert(asarray(to_end), a.dtype), (-1,)))
    return concatenate(parts) if len(parts) > 1 else parts[0]


def trapezoid(y: Any, x: Any = None, dx: float = 1.0, axis: int = -1) -> Any:
    """``numpy.trapezoid``: the trapezoidal rule along ``axis``."""
    if _plain(y, x, dx):
        return np.trapezoid(y, x, dx, axis)
    y = _float(y)
    nd = len(y.shape)
    axis = axis % nd
    if x is None:
        d = dx
    else:
        xa = asarray(x)
        if len(xa.shape) == 1:
            d = diff(xa)
            d = reshape(d, tuple(-1 if i == axis else 1 for i in range(nd)))
        else:
            d = diff(xa, axis=axis)
    avg = ew.multiply(ew.add(getitem(y, _sl(nd, axis, slice(1, None))),
                             getitem(y, _sl(nd, axis, slice(None, -1)))), 0.5)
    return red.sum(ew.multiply(d, avg), axis=axis)


def gradient(f: Any, *varargs: Any, axis: Any = None, edge_order: int = 1) -> Any:
    """``numpy.gradient``: central differences inside, one-sided at the boundaries."""
    if _plain(f, varargs):
        return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
    f = _float(f)
    nd = len(f.shape)
    axes = list(range(nd)) if axis is None else [a % nd for a in (
        axis if isinstance(axis, (tuple, list)) else (axis,))]
    if not varargs:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1 and _ndim(varargs[0]) == 0:
        spacing = [varargs[0]] * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError("invalid number of arguments")
    if edge_order not in (1, 2):
        raise ValueError("'edge_order' greater than 2 not supported")
    outs = [_gradient_axis(f, ax, h, edge_order) for ax, h in zip(axes, spacing, strict=True)]
    return outs[0] if len(outs) == 1 else tuple(outs)


def _ndim(h: Any) -> int:
    return len(h.shape) if has_tracer(h) and not isinstance(h, (list, tuple)) else np.ndim(
        primal_of(h, "gradient"))


def _gradient_axis(f: Any, ax: int, h: Any, edge_order: int) -> Any:
    nd = len(f.shape)
    n = f.shape[ax]
    if n < edge_order + 1:
        raise ValueError("Shape of array too small to calculate a numerical gradient, at "
                         "least (edge_order + 1) elements are required.")

    def at(s: Any) -> Any:
        return getitem(f, _sl(nd, ax, s))

    def along(v: Any) -> Any:  # a 1-D array laid along axis ``ax``
        return reshape(v, tuple(-1 if i == ax else 1 for i in range(nd)))

    uniform = _ndim(h) == 0
    if uniform:
        h = asarray(h)
        inner = ew.divide(ew.subtract(at(slice(2, None)), at(slice(None, -2))),
                          ew.multiply(2.0, h))
        if edge_order == 1:
            first = ew.divide(ew.subtract(at(slice(1, 2)), at(slice(0, 1))), h)
            last = ew.divide(ew.subtract(at(slice(-1, None)), at(slice(-2, -1))), h)
        else:
            first = ew.divide(ew.add(ew.add(ew.multiply(-1.5, at(slice(0, 1))),
                                            ew.multiply(2.0, at(slice(1, 2)))),
                                     ew.multiply(-0.5, at(slice(2, 3)))), h)
            last = ew.divide(ew.add(ew.add(ew.multiply(0.5, at(slice(-3, -2))),
                                           ew.multiply(-2.0, at(slice(-2, -1)))),
                                    ew.multiply(1.5, at(slice(-1, None)))), h)
        return concatenate([first, inner, last], axis=ax)
    x = _float(h)
    dx = diff(x)
    dx1, dx2 = dx[:-1], dx[1:]
    a = ew.divide(ew.negative(dx2), ew.multiply(dx1, ew.add(dx1, dx2)))
    b = ew.divide(ew.subtract(dx2, dx1), ew.multiply(dx1, dx2))
    c = ew.divide(dx1, ew.multiply(dx2, ew.add(dx1, dx2)))
    inner = ew.add(ew.add(ew.multiply(along(a), at(slice(None, -2))),
                          ew.multiply(along(b), at(slice(1, -1)))),
                   ew.multiply(along(c), at(slice(2, None))))
    if edge_order == 1:
        first = ew.divide(ew.subtract(at(slice(1, 2)), at(slice(0, 1))), dx[0])
        last = ew.divide(ew.subtract(at(slice(-1, None)), at(slice(-2, -1))), dx[-1])
    else:
        d1, d2 = dx[0], dx[1]
        a0 = ew.negative(ew.divide(ew.add(ew.multiply(2.0, d1), d2),
                                   ew.multiply(d1, ew.add(d1, d2))))
        b0 = ew.divide(ew.add(d1, d2), ew.multiply(d1, d2))
        c0 = ew.negative(ew.divide(d1, ew.multiply(d2, ew.add(d1, d2))))
        first = ew.add(ew.add(ew.multiply(a0, at(slice(0, 1))), ew.multiply(b0, at(slice(1, 2)))),
                       ew.multiply(c0, at(slice(2, 3))))
        d1, d2 = dx[-2], dx[-1]
        a1 = ew.divide(d2, ew.multiply(d1, ew.add(d1, d2)))
        b1 = ew.negative(ew.divide(ew.add(d2, d1), ew.multiply(d1, d2)))
        c1 = ew.divide(ew.add(ew.multiply(2.0, d2), d1), ew.multiply(d2, ew.add(d1, d2)))
        last = ew.add(ew.add(ew.multiply(a1, at(slice(-3, -2))),
                             ew.multiply(b1, at(slice(-2, -1)))),
                      ew.multiply(c1, at(slice(-1, None))))
    return concatenate([first, inner, last], axis=ax)


def interp(x: Any, xp: Any, fp: Any, left: Any = None, right: Any = None,
           period: Any = None) -> Any:
    """``numpy.interp``: piecewise-linear interpolation (increasing ``xp``)."""
    if _plain(x, xp, fp, left, right):
        return np.interp(x, xp, fp, left, right, period)
    from ._logic import searchsorted

    x, xp, fp = _float(x), _float(xp), _float(fp)
    if period is not None:
        if period == 0:
            raise ValueError("period must be a non-zero value")
        period = abs(period)
        left = right = None
        x = binary.mod(x, period)
        xp = binary.mod(xp, period)
        order = argsort(xp)
        xp, fp = take(xp, order), take(fp, order)
        xp = concatenate([ew.subtract(xp[-1:], period), xp, ew.add(xp[0:1], period)])
        fp = concatenate([fp[-1:], fp, fp[0:1]])
    n = xp.shape[0]
    if n == 0:
        raise ValueError("array of sample points is empty")
    if n == 1:
        out = broadcast_to(fp[0], tuple(x.shape))
    else:
        # the interval of each x as integer values of the inputs' library (no host read: the
        # indices stay on the device, and under jit they are traced)
        i = ew.minimum(ew.maximum(ew.subtract(searchsorted(xp, x, side="right"), 1), 0),
                           n - 2)
        i1 = ew.add(i, 1)
        x0, x1, f0, f1 = take(xp, i), take(xp, i1), take(fp, i), take(fp, i1)
        slope = ew.divide(ew.subtract(f1, f0), ew.subtract(x1, x0))
        out = ew.add(f0, ew.multiply(slope, ew.subtract(x, x0)))
        out = ew.where(ew.equal(x, x1), f1, out)
    lo = fp[0] if left is None else left
    hi = fp[-1] if right is None else right
    out = ew.where(ew.less(x, xp[0]), lo, out)
    return ew.where(ew.greater(x, xp[-1]), hi, out)


def unwrap(p: Any, discont: Any = None, axis: int = -1, *, period: float = 2 * np.pi) -> Any:
    """``numpy.unwrap``: ``p`` plus multiples of ``period`` (a constant correction)."""
    if _plain(p):
        return np.unwrap(p, discont, axis, period=period)
    p = _float(p)
    if on_foreign(p):
        return _unwrap_on_backend(p, discont, axis, period)
    value = np.asarray(primal_of(p, "unwrap"))
    corrected = np.unwrap(value, discont, axis, period=period)
    return ew.add(p, corrected - value)


def _unwrap_on_backend(p: Any, discont: Any, axis: int, period: float) -> Any:
    """NumPy's unwrap in the array's own library: the steps ``d`` wrapped into
    [−period/2, period/2) give the correction ``wrap(d) − d`` (0 where ``|d| < discont``),
    accumulated along the axis. Its derivative is exactly 0 (``wrap`` has slope 1), so the
    result's derivative is that of ``p``, as on NumPy."""
    nd = len(p.shape)
    ax = axis % nd
    half = period / 2
    dd = diff(p, axis=ax)
    ddmod = ew.subtract(binary.mod(ew.add(dd, half), period), half)
    ddmod = ew.where(unary.logical_and(ew.equal(ddmod, -half), ew.greater(dd, 0.0)), half, ddmod)
    fix = ew.where(ew.less(ew.absolute(dd), half if discont is None else discont), 0.0,
                   ew.subtract(ddmod, dd))
    first = tuple(1 if i == ax else d for i, d in enumerate(p.shape))
    return ew.add(p, concatenate([np.zeros(first, dtype_of(p)), red.cumsum(fix, axis=ax)],
                                 axis=ax))


def cumulative_sum(x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None,
                   include_initial: bool = False) -> Any:
    """``numpy.cumulative_sum``: ``cumsum`` with an optional leading 0."""
    if _plain(x):
        return np.cumulative_sum(x, axis=axis, dtype=dtype, out=out,
                                 include_initial=include_initial)
    return _cumulative(red.cumsum, 0, x, axis, dtype, include_initial)


def cumulative_prod(x: Any, /, *, axis: Any = None, dtype: Any = None, out: Any = None,
                    include_initial: bool = False) -> Any:
    """``numpy.cumulative_prod``: ``cumprod`` with an optional leading 1."""
    if _plain(x):
        return np.cumulative_prod(x, axis=axis, dtype=dtype, out=out,
                                  include_initial=include_initial)
    return _cumulative(red.cumprod, 1, x, axis, dtype, include_initial)


def _cumulative(fn: Any, initial: int, x: Any, axis: Any, dtype: Any, include: bool) -> Any:
    x = asarray(x)
    if axis is None:
        if len(x.shape) > 1:
            raise ValueError("axis must be specified for multi-dimensional arrays")
        axis = 0
    r = fn(x, axis=axis, dtype=dtype)
    if not include:
        return r
    ax = axis % len(r.shape)
    shape = tuple(1 if i == ax else d for i, d in enumerate(r.shape))
    return concatenate([np.full(shape, initial, dtype_of(r)), r], axis=ax)


def nan_to_num(x: Any, copy: bool = True, nan: float = 0.0, posinf: Any = None,
               neginf: Any = None) -> Any:
    """``numpy.nan_to_num``: NaN, +inf and −inf replaced (the replaced entries get derivative
    0, the others 1)."""
    if _plain(x):
        return np.nan_to_num(x, copy=copy, nan=nan, posinf=posinf, neginf=neginf)
    x = asarray(x)
    if dtype_of(x).kind not in "fc":
        return x
    info = np.finfo(dtype_of(x))
    hi = info.max if posinf is None else posinf
    lo = info.min if neginf is None else neginf
    out = ew.where(unary.isnan(x), nan, x)
    out = ew.where(unary.isposinf(x), hi, out)
    return ew.where(unary.isneginf(x), lo, out)


def heaviside(x1: Any, x2: Any) -> Any:
    """``numpy.heaviside``: 0 below zero, 1 above, ``x2`` at zero."""
    if _plain(x1, x2):
        return np.heaviside(x1, x2)
    x1, x2 = _float(x1), asarray(x2)
    step = ew.where(ew.less(x1, 0), 0.0, 1.0)
    return ew.where(ew.equal(x1, 0), x2, ew.where(unary.isnan(x1), np.nan, step))


def ldexp(x1: Any, x2: Any) -> Any:
    """``numpy.ldexp``: ``x1 · 2^x2`` (exact: powers of two)."""
    if _plain(x1, x2):
        return np.ldexp(x1, x2)
    scale = np.ldexp(1.0, np.asarray(primal_of(x2, "ldexp")))
    x1 = _float(x1)
    return ew.multiply(x1, convert(asarray(scale), x1.dtype))


def modf(x: Any) -> tuple[Any, Any]:
    """``numpy.modf``: ``(x − trunc x, trunc x)``."""
    if _plain(x):
        return np.modf(x)
    x = _float(x)
    t = unary.trunc(x)
    return ew.subtract(x, t), t


def divmod(x1: Any, x2: Any) -> tuple[Any, Any]:  # noqa: A001  (NumPy's name)
    """``numpy.divmod``: ``(floor_divide(x1, x2), mod(x1, x2))``."""
    if _plain(x1, x2):
        return np.divmod(x1, x2)
    from ..ops.binary import mod

    return unary.floor_divide(x1, x2), mod(x1, x2)


def fix(x: Any, out: Any = None) -> Any:
    """``numpy.fix``: round towards zero (``trunc``; derivative 0)."""
    return unary.trunc(_float(x)) if has_tracer(x) else np.fix(x, out)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1, **kw: Any) -> Any:
    """``numpy.vecdot``: ``Σ conj(x1) x2`` along ``axis`` (broadcasting the others)."""
    if _plain(x1, x2):
        return np.vecdot(x1, x2, axis=axis, **kw)
    a, b = asarray(x1), asarray(x2)
    if dtype_of(a).kind == "c":
        from . import conj

        a = conj(a)
    return red.sum(ew.multiply(a, b), axis=axis)


def matvec(x1: Any, x2: Any, /, **kw: Any) -> Any:
    """``numpy.matvec``: matrix times vector over the last axes."""
    if _plain(x1, x2):
        return np.matvec(x1, x2, **kw)
    b = asarray(x2)
    r = matmul(asarray(x1), reshape(b, tuple(b.shape) + (1,)))
    return getitem(r, (Ellipsis, 0))


def vecmat(x1: Any, x2: Any, /, **kw: Any) -> Any:
    """``numpy.vecmat``: conjugated vector times matrix over the last axes."""
    if _plain(x1, x2):
        return np.vecmat(x1, x2, **kw)
    a = asarray(x1)
    if dtype_of(a).kind == "c":
        from . import conj

        a = conj(a)
    r = matmul(reshape(a, tuple(a.shape[:-1]) + (1, a.shape[-1])), asarray(x2))
    return getitem(r, (Ellipsis, 0, slice(None)))


def _full_convolve(a: Any, v: Any) -> Any:
    n, m = a.shape[0], v.shape[0]
    k = np.arange(n + m - 1)[:, None] - np.arange(n)[None, :]      # T[k, i] = v[k − i]
    valid = (k >= 0) & (k < m)
    zero = np.zeros(1, dtype_of(v))
    vz = concatenate([v, zero])
    T = take(vz, np.where(valid, k, m))
    return matmul(T, a)


def convolve(a: Any, v: Any, mode: str = "full") -> Any:
    """``numpy.convolve`` of two 1-D sequences (``full``, ``same`` or ``valid``)."""
    if _plain(a, v):
        return np.convolve(a, v, mode)
    a, v = asarray(a), asarray(v)
    if len(a.shape) != 1 or len(v.shape) != 1:
        raise ValueError("object too deep for desired array")
    if a.shape[0] == 0 or v.shape[0] == 0:
        raise ValueError("a cannot be empty" if a.shape[0] == 0 else "v cannot be empty")
    if v.shape[0] > a.shape[0]:
        a, v = v, a
    n, m = a.shape[0], v.shape[0]
    dt = np.result_type(dtype_of(a), dtype_of(v))
    full_ = _full_convolve(convert(a, dt), convert(v, dt))
    if mode == "full":
        return full_
    if mode == "same":
        start = (m - 1) // 2
        return getitem(full_, (slice(start, start + n),))
    if mode == "valid":
        return getitem(full_, (slice(m - 1, n),))
    raise ValueError(f"mode must be one of 'full', 'same', or 'valid' (got {mode!r})")


def correlate(a: Any, v: Any, mode: str = "valid") -> Any:
    """``numpy.correlate``: ``c[k] = Σ a[n + k] conj(v[n])``."""
    if _plain(a, v):
        return np.correlate(a, v, mode)
    a, v = asarray(a), asarray(v)
    if dtype_of(v).kind == "c":
        from . import conj

        v = conj(v)
    return convolve(a, getitem(v, (slice(None, None, -1),)), mode)


__all__ = ["convolve", "correlate", "cumulative_prod", "cumulative_sum", "diff", "divmod",
           "ediff1d", "fix", "gradient", "heaviside", "interp", "ldexp", "matvec", "modf",
           "nan_to_num", "trapezoid", "unwrap", "vecdot", "vecmat"]

