"""Special functions (``tensorcalc.scipy.special``): error functions, log-gamma and polygamma,
the logistic function and ``xlogy`` (the log-sum-exp family lives in :mod:`.softmax`).

=============  ==============================================  ===============================
function       derivative                                      note
=============  ==============================================  ===============================
erf            2/√π · e^(−x²)
erfc           −2/√π · e^(−x²)
gammaln        ψ(x) = polygamma(0, x)
polygamma(n)   polygamma(n + 1, x)                             so every order is available
expit          σ(x) σ(−x)                                      not σ(1 − σ): no cancellation
xlogy          ∂x: log y;  ∂y: x / y                           0 where x = 0 (like the value)
xlog1py        ∂x: log1p y;  ∂y: x / (1 + y)                   0 where x = 0
=============  ==============================================  ===============================

Values: SciPy's when it is installed (fast, and the reference), otherwise NumPy and the
``math`` module: ``erf``/``erfc``/``lgamma`` elementwise, and ψ⁽ⁿ⁾ by the recurrence
``ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x + 1) − (−1)ⁿ n!/xⁿ⁺¹`` up to ``x ≥ 10 + n`` followed by the asymptotic series
``(−1)ⁿ⁺¹ [(n−1)!/xⁿ + n!/(2xⁿ⁺¹) + Σₖ B₂ₖ (2k+n−1)!/((2k)! x²ᵏ⁺ⁿ)]`` (and ``ln x − 1/(2x) − …``
for ``n = 0``, with the reflection ``ψ(x) = ψ(1 − x) − π/tan(πx)`` below ½). Float32 inputs give
float32 results.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.backend import defxp, scipy_special
from ..core.primitive import Primitive, bind
from ..interpreters.batch import defbroadcasting, defvectorized
from ..interpreters.forward import defjvp_diag
from ._base import needs_bind
from .elementwise import (
    add,
    elementwise,
    exp,
    log,
    multiply,
    negative,
    subtract,
)

# The log-sum-exp family, re-exported: callers import every special function from here.
from .softmax import log_softmax, logsumexp, softmax  # noqa: F401
from .strong_zero import div_sz
from .unary import log1p

_scipy: Any = None


def _sp() -> Any:
    """``scipy.special`` if it can be imported (looked up once, on first use), else ``False``."""
    global _scipy
    if _scipy is None:
        try:
            import scipy.special as sp
        except ImportError:  # SciPy is optional: fall back to NumPy / math
            sp = False
        _scipy = sp
    return _scipy


def _out_dtype(x: np.ndarray) -> np.dtype:
    return x.dtype if x.dtype.kind == "f" else np.dtype(np.float64)


def _elementwise_math(fn: Any, x: Any) -> np.ndarray:
    x = np.asarray(x)
    vals = np.frompyfunc(fn, 1, 1)(x.astype(np.float64))
    return np.asarray(vals, np.float64).astype(_out_dtype(x))


def _lgamma(v: float) -> float:
    try:
        return math.lgamma(v)
    except ValueError:  # the poles at 0, −1, −2, …
        return math.inf


# --- ψ⁽ⁿ⁾ without SciPy ----------------------------------------------------------------------

_B2K = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798,
        -174611 / 330)


def _digamma_np(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        reflect = x < 0.5
        z = np.where(reflect, 1.0 - x, x)
        acc = np.zeros_like(z)
        for _ in range(10):  # ψ(z) = ψ(z + 1) − 1/z until z ≥ 10
            low = z < 10.0
            acc -= np.where(low, 1.0 / z, 0.0)
            z = np.where(low, z + 1.0, z)
        inv2 = 1.0 / (z * z)
        series = np.zeros_like(z)
        for k in range(len(_B2K) - 1, -1, -1):
            series = series * inv2 + _B2K[k] / (2 * (k + 1))
        res = acc + np.log(z) - 0.5 / z - series * inv2
        pole = reflect & (x == np.floor(x))
        res = np.where(reflect, res - np.pi / np.tan(np.pi * x), res)
        return np.where(pole, np.nan, res)


def _polygamma_np(n: int, x: Any) -> np.ndarray:
    x = np.asarray(x)
    out_dtype = _out_dtype(x)
    x = x.astype(np.float64)
    if n == 0:
        return _digamma_np(x).astype(out_dtype)
    sign = -1.0 if n % 2 == 0 else 1.0  # (−1)ⁿ⁺¹
    nfact = math.factorial(n)
    start = 10.0 + n
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        z = x.copy()
        acc = np.zeros_like(z)
        steps = int(max(0.0, math.ceil(start - np.min(z, initial=start)))) if z.size else 0
        for _ in range(steps):  # ψ⁽ⁿ⁾(z) = ψ⁽ⁿ⁾(z + 1) + (−1)ⁿ⁺¹ n!/zⁿ⁺¹
            low = z < start
            acc += np.where(low, sign * nfact / z ** (n + 1), 0.0)
            z = np.where(low, z + 1.0, z)
        tail = math.factorial(n - 1) / z ** n + nfact / (2 * z ** (n + 1))
        for k, b in enumerate(_B2K, start=1):
            c = b * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
            tail = tail + c / z ** (2 * k + n)
        res = acc + sign * tail
        res = np.where((x <= 0) & (x == np.floor(x)), np.nan, res)
    return res.astype(out_dtype)


def _erf_impl(x: Any) -> Any:
    sp = _sp()
    return sp.erf(x) if sp else _elementwise_math(math.erf, x)


def _erfc_impl(x: Any) -> Any:
    sp = _sp()
    return sp.erfc(x) if sp else _elementwise_math(math.erfc, x)


def _gammaln_impl(x: Any) -> Any:
    sp = _sp()
    return sp.gammaln(x) if sp else _elementwise_math(_lgamma, x)


def _polygamma_impl(x: Any, *, n: int) -> Any:
    sp = _sp()
    if not sp:
        return _polygamma_np(n, x)
    x = np.asarray(x)
    res = sp.digamma(x) if n == 0 else sp.polygamma(n, x)
    return np.asarray(res).astype(_out_dtype(x))


# --- erf, erfc -------------------------------------------------------------------------------

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _gauss(x: Any, c: float) -> Any:
    return multiply(c, exp(negative(multiply(x, x))))


def _special_unary(prim: Primitive, impl: Any, name: str, doc: str) -> Any:
    def op(x: Any) -> Any:
        if needs_bind(x):
            return bind(prim, x)
        return impl(x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``scipy.special.{name}``: {doc} (primitive ``{prim.name}``)."
    return op


erf_p = elementwise("erf", _erf_impl)
defxp(erf_p, lambda xp, x: scipy_special(xp, "erf", erf_p)(x))
erf = _special_unary(erf_p, _erf_impl, "erf", "the error function")
defjvp_diag(erf_p, lambda ans, x: _gauss(x, _TWO_OVER_SQRT_PI))

defvectorized(erf_p)

erfc_p = elementwise("erfc", _erfc_impl)
defxp(erfc_p, lambda xp, x: scipy_special(xp, "erfc", erfc_p)(x))
erfc = _special_unary(erfc_p, _erfc_impl, "erfc", "1 − erf(x)")
defjvp_diag(erfc_p, lambda ans, x: _gauss(x, -_TWO_OVER_SQRT_PI))

defvectorized(erfc_p)

# --- polygamma, gammaln ----------------------------------------------------------------------

polygamma_p = elementwise("polygamma", _polygamma_impl)
defxp(polygamma_p, lambda xp, x, *, n: scipy_special(xp, "polygamma", polygamma_p)(n, x))
defjvp_diag(polygamma_p, lambda ans, x, *, n: bind(polygamma_p, x, n=n + 1))

defvectorized(polygamma_p)


def polygamma(n: Any, x: Any) -> Any:
    """``scipy.special.polygamma``: the ``n``-th derivative of the digamma function ψ."""
    if needs_bind(n) or int(n) != n or n < 0:
        raise TypeError(f"polygamma: the order n must be a non-negative Python integer, got {n!r}"
                        " (derivatives are taken with respect to x only)")
    if not needs_bind(x):
        return _polygamma_impl(x, n=int(n))
    return bind(polygamma_p, x, n=int(n))


def digamma(x: Any) -> Any:
    """``scipy.special.digamma`` (ψ, also ``psi``): the derivative of ``gammaln``."""
    return polygamma(0, x)


psi = digamma

gammaln_p = elementwise("gammaln", _gammaln_impl)
defxp(gammaln_p, lambda xp, x: scipy_special(xp, "gammaln", gammaln_p)(x))
gammaln = _special_unary(gammaln_p, _gammaln_impl, "gammaln", "log |Γ(x)|")
defjvp_diag(gammaln_p, lambda ans, x: digamma(x))

defvectorized(gammaln_p)

# --- expit, logit ----------------------------------------------------------------------------


def _expit_impl(x: Any) -> Any:
    # e = exp(−|x|) never overflows; σ(x) = 1/(1 + e) for x ≥ 0 and e/(1 + e) below.
    x = np.asarray(x)
    if x.dtype.kind == "c":
        raise TypeError("expit: complex input is not supported (as in SciPy); the sigmoid is "
                        "evaluated on real numbers only")
    if x.dtype.kind != "f":
        x = x.astype(np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


expit_p = elementwise("expit", _expit_impl)


@defxp(expit_p)
def _expit_xp(xp: Any, x: Any) -> Any:
    e = xp.exp(-xp.abs(x))  # never overflows (as _expit_impl)
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))
expit = _special_unary(expit_p, _expit_impl, "expit", "the logistic sigmoid 1/(1 + e⁻ˣ)")
defjvp_diag(expit_p, lambda ans, x: multiply(ans, expit(negative(x))))
defvectorized(expit_p)


def logit(p: Any) -> Any:
    """``scipy.special.logit``: ``log(p / (1 − p))``, the inverse of ``expit``."""
    if not needs_bind(p):
        sp = _sp()
        if sp:
            return sp.logit(p)
        with np.errstate(divide="ignore"):
            return np.log(p) - np.log1p(-np.asarray(p))
    return subtract(log(p), log1p(negative(p)))


# --- xlogy, xlog1py --------------------------------------------------------------------------


def _x_times(fn: Any) -> Any:
    def impl(x: Any, y: Any) -> Any:
        # x·f(y), and 0 where x = 0 unless y is NaN (SciPy's definition).
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.asarray(np.multiply(x, fn(y)))
        return np.where((np.asarray(x) == 0) & ~np.isnan(y), r.dtype.type(0), r)

    impl.__name__ = f"x{fn.__name__}"
    return impl


_xlogy_impl = _x_times(np.log)
_xlog1py_impl = _x_times(np.log1p)

xlogy_p = elementwise("xlogy", _xlogy_impl)
xlog1py_p = elementwise("xlog1py", _xlog1py_impl)


def _x_times_xp(fn_name: str) -> Any:
    def x_times_xp(xp: Any, x: Any, y: Any) -> Any:
        r = x * getattr(xp, fn_name)(y)
        return xp.where((x == 0) & ~xp.isnan(y), xp.zeros_like(r), r)

    x_times_xp.__name__ = f"x{fn_name}_xp"
    return x_times_xp


defxp(xlogy_p, _x_times_xp("log"))
defxp(xlog1py_p, _x_times_xp("log1p"))
defbroadcasting(xlogy_p)
defbroadcasting(xlog1py_p)


def _xlogy_factor_y(ans: Any, x: Any, y: Any) -> Any:
    return div_sz(x, y)  # x / y, and 0 where x = 0 (even at y = 0)


def _xlog1py_factor_y(ans: Any, x: Any, y: Any) -> Any:
    return div_sz(x, add(y, 1.0))


defjvp_diag(xlogy_p, lambda ans, x, y: log(y), _xlogy_factor_y)
defjvp_diag(xlog1py_p, lambda ans, x, y: log1p(y), _xlog1py_factor_y)


def xlogy(x: Any, y: Any) -> Any:
    """``scipy.special.xlogy``: ``x · log(y)``, 0 where ``x = 0``."""
    if needs_bind(x) or needs_bind(y):
        return bind(xlogy_p, x, y)
    return _xlogy_impl(x, y)


def xlog1py(x: Any, y: Any) -> Any:
    """``scipy.special.xlog1py``: ``x · log1p(y)``, 0 where ``x = 0``."""
    if needs_bind(x) or needs_bind(y):
        return bind(xlog1py_p, x, y)
    return _xlog1py_impl(x, y)
