"""NumPy's polynomial functions (coefficients highest power first) as compositions.

``polyval`` is Horner's rule ``((p₀ x + p₁) x + p₂) …``; ``polyadd``/``polysub`` pad the shorter
coefficient vector with leading zeros; ``polymul`` is ``convolve``; ``polyder`` multiplies by
the exponents ``n, n−1, …, 1``; ``polyint`` divides by them and appends the constants;
``polydiv`` is long division (a fixed number of steps, so differentiable in both operands);
``poly`` of 1-D roots multiplies the factors ``(x − rᵢ)``; ``vander`` builds powers by
repeated multiplication (so ``∂x⁰/∂x = 0`` also at ``x = 0``); ``polyfit`` is the least-squares
solution of the (column-scaled) Vandermonde system, differentiable in ``x``, ``y`` and ``w``.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from ..ops import elementwise as ew
from ..ops import reductions as red
from ..ops._base import dtype_of
from ..ops.shape import concatenate, stack
from ..ops.structural import convert, reshape
from ._calculus import convolve
from ._construct import asarray
from ._kinds import has_tracer


def _plain(*xs: Any) -> bool:
    return not builtins.any(has_tracer(x) for x in xs)


def _coeffs(p: Any) -> Any:
    p = asarray(p)
    if dtype_of(p).kind in "biu":
        p = convert(p, np.float64)
    return reshape(p, (-1,)) if len(p.shape) == 0 else p


def polyval(p: Any, x: Any) -> Any:
    """``numpy.polyval``: Horner's rule."""
    if _plain(p, x):
        return np.polyval(p, x)
    p, x = _coeffs(p), asarray(x)
    y = ew.multiply(np.zeros(tuple(x.shape)), x)
    for i in range(p.shape[0]):
        y = ew.add(ew.multiply(y, x), p[i])
    return y


def _pad_front(p: Any, n: int) -> Any:
    k = n - p.shape[0]
    return concatenate([np.zeros(k, dtype_of(p)), p]) if k > 0 else p


def polyadd(a1: Any, a2: Any) -> Any:
    """``numpy.polyadd``."""
    if _plain(a1, a2):
        return np.polyadd(a1, a2)
    a, b = _coeffs(a1), _coeffs(a2)
    n = builtins.max(a.shape[0], b.shape[0])
    return ew.add(_pad_front(a, n), _pad_front(b, n))


def polysub(a1: Any, a2: Any) -> Any:
    """``numpy.polysub``."""
    if _plain(a1, a2):
        return np.polysub(a1, a2)
    a, b = _coeffs(a1), _coeffs(a2)
    n = builtins.max(a.shape[0], b.shape[0])
    return ew.subtract(_pad_front(a, n), _pad_front(b, n))


def polymul(a1: Any, a2: Any) -> Any:
    """``numpy.polymul``: ``convolve``."""
    if _plain(a1, a2):
        return np.polymul(a1, a2)
    return convolve(_coeffs(a1), _coeffs(a2))


def polyder(p: Any, m: int = 1) -> Any:
    """``numpy.polyder``: the ``m``-th derivative's coefficients."""
    if _plain(p):
        return np.polyder(p, m)
    if m < 0:
        raise ValueError("Order of derivative must be positive (see polyint)")
    p = _coeffs(p)
    for _ in range(m):
        n = p.shape[0] - 1
        if n <= 0:
            return np.zeros(1, p.dtype) if n == 0 else p
        p = ew.multiply(p[:-1], np.arange(n, 0, -1, dtype=float))
    return p


def polyint(p: Any, m: int = 1, k: Any = None) -> Any:
    """``numpy.polyint``: the ``m``-th antiderivative with integration constants ``k``."""
    if _plain(p, k):
        return np.polyint(p, m, k)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)")
    ks = np.zeros(m) if k is None else k
    ks = asarray(ks)
    if len(ks.shape) == 0:
        ks = reshape(ks, (1,))
        ks = concatenate([ks] * m) if m > 1 else ks
    if ks.shape[0] < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    p = _coeffs(p)
    for i in range(m):
        n = p.shape[0]
        p = concatenate([ew.divide(p, np.arange(n, 0, -1, dtype=float)),
                         reshape(convert(ks[i], p.dtype), (1,))])
    return p


def polydiv(u: Any, v: Any) -> tuple[Any, Any]:
    """``numpy.polydiv``: quotient and remainder by long division."""
    if _plain(u, v):
        return np.polydiv(u, v)
    u, v = _coeffs(u), _coeffs(v)
    m, n = u.shape[0] - 1, v.shape[0] - 1
    scale = ew.divide(1.0, v[0])
    q = []
    r = [u[i] for i in range(m + 1)]
    for k in range(0, builtins.max(m - n + 1, 0)):
        d = ew.multiply(scale, r[k])
        q.append(d)
        for j in range(n + 1):
            r[k + j] = ew.subtract(r[k + j], ew.multiply(d, v[j]))
    quotient = stack(q) if q else np.zeros(1)
    rem = stack(r[builtins.max(m - n + 1, 0):]) if m >= n else stack(r)
    # NumPy strips the remainder's leading (numerically) zero coefficients, keeping one.
    from ._kinds import primal_of

    vals = np.asarray(primal_of(rem, "polydiv"))
    lead = 0
    while lead < vals.shape[0] - 1 and np.allclose(vals[lead], 0, rtol=1e-14):
        lead += 1
    return quotient, rem[lead:]


def poly(seq_of_zeros: Any) -> Any:
    """``numpy.poly`` of 1-D roots: the coefficients of ``Π (x − rᵢ)``."""
    if _plain(seq_of_zeros):
        return np.poly(seq_of_zeros)
    r = asarray(seq_of_zeros)
    if len(r.shape) == 2 and r.shape[0] == r.shape[1] and r.shape[0] != 0:
        raise NotImplementedError(
            "tnp.poly of a square matrix needs its eigenvalues (tnp.linalg.eigvals), which "
            "are not differentiable here yet; pass the roots instead")
    if len(r.shape) != 1:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    c = np.ones(1)
    for i in range(r.shape[0]):
        c = convolve(c, stack([asarray(1.0), ew.negative(r[i])]))
    return c


def vander(x: Any, N: Any = None, increasing: bool = False) -> Any:  # noqa: N803
    """``numpy.vander``: columns ``x^(N−1) … x⁰`` (or increasing)."""
    if _plain(x):
        return np.vander(x, N, increasing)
    x = asarray(x)
    if len(x.shape) != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = x.shape[0] if N is None else builtins.int(N)
    cols = []
    col = ew.add(ew.multiply(x, 0), 1)
    for _ in range(n):
        cols.append(col)
        col = ew.multiply(col, x)
    if not increasing:
        cols = cols[::-1]
    return stack(cols, axis=1) if cols else reshape(x, (-1, 0))


def polyfit(x: Any, y: Any, deg: int, rcond: Any = None, full: bool = False, w: Any = None,
            cov: Any = False) -> Any:
    """``numpy.polyfit`` (least squares); ``full=True`` and ``cov`` need plain input."""
    if _plain(x, y, w):
        return np.polyfit(x, y, deg, rcond, full, w, cov)
    if full or cov:
        raise NotImplementedError("tnp.polyfit: full=True and cov= are not supported on "
                                  "traced values")
    from .linalg import lstsq

    x, y = asarray(x), asarray(y)
    if dtype_of(x).kind in "biu":
        x = convert(x, np.float64)
    lhs = vander(x, deg + 1)
    rhs = y
    if w is not None:
        w = asarray(w)
        lhs = ew.multiply(lhs, reshape(w, (-1, 1)))
        rhs = ew.multiply(rhs, w if len(y.shape) == 1 else reshape(w, (-1, 1)))
    scale = ew.sqrt(red.sum(ew.multiply(lhs, lhs), axis=0))
    c = lstsq(ew.divide(lhs, scale), rhs, rcond=rcond)[0]
    return ew.divide(c, scale if len(c.shape) == 1 else reshape(scale, (-1, 1)))


__all__ = ["poly", "polyadd", "polyder", "polydiv", "polyfit", "polyint", "polymul",
           "polysub", "polyval", "vander"]
