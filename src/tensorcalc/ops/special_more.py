"""More of ``scipy.special`` (values from SciPy, which these functions need): the gamma and beta
functions, the normal distribution's ``ndtr``/``log_ndtr``/``ndtri``, ``erfinv``/``erfcx``,
modified Bessel functions, entropies, Hurwitz zeta, exponential integrals and the regularized
incomplete gamma and beta functions.

=============  ===================================================  ==========================
function       derivative                                           note
=============  ===================================================  ==========================
gamma          Γ(x) ψ(x)
gammasgn       0                                                    the sign of Γ
beta(a, b)     B · (ψ(a) − ψ(a+b)),  B · (ψ(b) − ψ(a+b))
betaln(a, b)   ψ(a) − ψ(a+b),  ψ(b) − ψ(a+b)
ndtr           φ(x) = e^(−x²/2)/√(2π)
log_ndtr       φ(x)/Φ(x) = e^(−x²/2 − log Φ(x))/√(2π)               stable in the far left tail
ndtri          √(2π) e^(y²/2),  y = ndtri(p)
erfinv         (√π/2) e^(y²),  y = erfinv(x)
erfcx          2x erfcx(x) − 2/√π
i0, i1         i1(x);  i0(x) − i1(x)/x                              i1′(0) = ½
i0e, i1e       i1e − sgn(x) i0e;  i0e − i1e/x − sgn(x) i1e          i1e′(0) = ½
entr           −(log x + 1)
kl_div(x, y)   log(x/y),  1 − x/y
rel_entr(x,y)  log(x/y) + 1,  −x/y
zeta(x, q)     none in x (raises),  −x ζ(x+1, q) in q               as JAX
exp1, expi     −e^(−x)/x;  eˣ/x
dawsn          1 − 2x D(x)
log_expit      expit(−x)
gammainc(a,x)  none in a (raises),  x^(a−1) e^(−x)/Γ(a) in x        gammaincc: the negative
betainc(a,b,x) none in a, b (raises),  x^(a−1)(1−x)^(b−1)/B(a, b)
=============  ===================================================  ==========================

A derivative that is not implemented (``zeta`` in ``x``, the incomplete functions in their
shape parameters) raises :class:`~tensorcalc.core.errors.NotDifferentiableError` when a
non-zero tangent reaches it; it never returns a zero.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.errors import NotDifferentiableError
from ..core.primitive import Primitive, bind
from ..interpreters.batch import defbroadcasting, defvectorized
from ..interpreters.forward import defjvp_diag, defjvp_zero
from ._base import needs_bind
from .elementwise import (
    add,
    cos,
    divide,
    elementwise,
    equal,
    exp,
    greater_equal,
    less,
    less_equal,
    log,
    maximum,
    multiply,
    negative,
    power,
    sign,
    sin,
    subtract,
    where,
)
from .special import digamma, erf, expit, gammaln
from .unary import expm1, log1p, logical_and

_SQRT_2PI = math.sqrt(2 * math.pi)
_SQRT_PI_2 = math.sqrt(math.pi) / 2
_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


def _scipy_impl(name: str, part: int | None = None) -> Any:
    """``scipy.special.<name>`` (its result ``part`` for functions with several), imported on
    first use with a clear error without SciPy."""

    def impl(*args: Any) -> Any:
        try:
            import scipy.special as sc
        except ImportError:
            raise ImportError(f"tensorcalc.scipy.special.{name} computes its values with SciPy; "
                              "install scipy (pip install scipy)") from None
        out = getattr(sc, name)(*args)
        return out if part is None else out[part]

    impl.__name__ = f"{name}_impl"
    return impl


def _define(name: str, nargs: int, prim_name: str | None = None, part: int | None = None
            ) -> tuple[Primitive, Any]:
    impl = _scipy_impl(name, part)
    prim = elementwise(prim_name or name, impl)
    (defvectorized if nargs == 1 else defbroadcasting)(prim)

    def op(*args: Any) -> Any:
        if len(args) != nargs:
            raise TypeError(f"{name} takes {nargs} argument(s), got {len(args)}")
        if any(needs_bind(a) for a in args):
            return bind(prim, *args)
        return impl(*args)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"``scipy.special.{name}``, differentiable (primitive ``{prim.name}``)."
    return prim, op


def _refuse(fname: str, arg: str) -> Any:
    def no_derivative(ans: Any, *args: Any) -> Any:
        raise NotDifferentiableError(
            f"{fname}: the derivative with respect to {arg} is not implemented (it has no "
            f"closed form); hold {arg} constant (tensorcalc.stop_gradient) or differentiate "
            "with respect to the other arguments only")

    no_derivative.__name__ = f"{fname}_no_derivative_in_{arg}"
    return no_derivative


def _safe_over_x(num: Any, x: Any, at_zero: float) -> Any:
    """``num / x`` with the limit ``at_zero`` where ``x == 0`` (no NaN in either branch)."""
    zero = equal(x, 0.0)
    return where(zero, at_zero, divide(num, where(zero, 1.0, x)))


# --- gamma and beta ----------------------------------------------------------------------------

gamma_p, gamma = _define("gamma", 1)
defjvp_diag(gamma_p, lambda ans, x: multiply(ans, digamma(x)))

gammasgn_p, gammasgn = _define("gammasgn", 1)
defjvp_zero(gammasgn_p)

beta_p, beta = _define("beta", 2)
betaln_p, betaln = _define("betaln", 2)


def _psi_diff(a: Any, b: Any) -> Any:
    return subtract(digamma(a), digamma(add(a, b)))


defjvp_diag(beta_p, lambda ans, a, b: multiply(ans, _psi_diff(a, b)),
            lambda ans, a, b: multiply(ans, _psi_diff(b, a)))
defjvp_diag(betaln_p, lambda ans, a, b: _psi_diff(a, b), lambda ans, a, b: _psi_diff(b, a))

# --- the normal distribution and the error function --------------------------------------------


def _phi(x: Any) -> Any:
    return divide(exp(multiply(-0.5, multiply(x, x))), _SQRT_2PI)


ndtr_p, ndtr = _define("ndtr", 1)
defjvp_diag(ndtr_p, lambda ans, x: _phi(x))

log_ndtr_p, log_ndtr = _define("log_ndtr", 1)
defjvp_diag(log_ndtr_p, lambda ans, x: divide(
    exp(subtract(multiply(-0.5, multiply(x, x)), ans)), _SQRT_2PI))

ndtri_p, ndtri = _define("ndtri", 1)
defjvp_diag(ndtri_p, lambda ans, p: multiply(_SQRT_2PI, exp(multiply(0.5, multiply(ans, ans)))))

erfinv_p, erfinv = _define("erfinv", 1)
defjvp_diag(erfinv_p, lambda ans, x: multiply(_SQRT_PI_2, exp(multiply(ans, ans))))

erfcinv_p, erfcinv = _define("erfcinv", 1)
defjvp_diag(erfcinv_p, lambda ans, x: multiply(-_SQRT_PI_2, exp(multiply(ans, ans))))

erfcx_p, erfcx = _define("erfcx", 1)
defjvp_diag(erfcx_p, lambda ans, x: subtract(multiply(multiply(2.0, x), ans), _TWO_OVER_SQRT_PI))

dawsn_p, dawsn = _define("dawsn", 1)
defjvp_diag(dawsn_p, lambda ans, x: subtract(1.0, multiply(multiply(2.0, x), ans)))

log_expit_p, log_expit = _define("log_expit", 1)
defjvp_diag(log_expit_p, lambda ans, x: expit(negative(x)))

# --- modified Bessel functions of orders 0 and 1 ------------------------------------------------

i0_p, i0 = _define("i0", 1, "bessel_i0")
i1_p, i1 = _define("i1", 1, "bessel_i1")
i0e_p, i0e = _define("i0e", 1, "bessel_i0e")
i1e_p, i1e = _define("i1e", 1, "bessel_i1e")
defjvp_diag(i0_p, lambda ans, x: i1(x))
defjvp_diag(i1_p, lambda ans, x: subtract(i0(x), _safe_over_x(ans, x, 0.5)))
defjvp_diag(i0e_p, lambda ans, x: subtract(i1e(x), multiply(sign(x), ans)))
defjvp_diag(i1e_p, lambda ans, x: subtract(subtract(i0e(x), _safe_over_x(ans, x, 0.5)),
                                           multiply(sign(x), ans)))

# --- entropies -----------------------------------------------------------------------------------

entr_p, entr = _define("entr", 1)
defjvp_diag(entr_p, lambda ans, x: negative(add(log(x), 1.0)))

kl_div_p, kl_div = _define("kl_div", 2)
defjvp_diag(kl_div_p, lambda ans, x, y: log(divide(x, y)),
            lambda ans, x, y: subtract(1.0, divide(x, y)))

rel_entr_p, rel_entr = _define("rel_entr", 2)
defjvp_diag(rel_entr_p, lambda ans, x, y: add(log(divide(x, y)), 1.0),
            lambda ans, x, y: negative(divide(x, y)))

# --- zeta, exponential integrals ---------------------------------------------------------------

_zeta_p, _zeta2 = _define("zeta", 2)
defjvp_diag(_zeta_p, _refuse("zeta", "x"),
            lambda ans, x, q: negative(multiply(x, _zeta2(add(x, 1.0), q))))


def zeta(x: Any, q: Any = None) -> Any:
    """``scipy.special.zeta``: the Hurwitz zeta function ``ζ(x, q)`` (Riemann's for
    ``q=None``); differentiable in ``q`` only."""
    return _zeta2(x, 1.0 if q is None else q)


exp1_p, exp1 = _define("exp1", 1)
defjvp_diag(exp1_p, lambda ans, x: negative(divide(exp(negative(x)), x)))

expi_p, expi = _define("expi", 1)
defjvp_diag(expi_p, lambda ans, x: divide(exp(x), x))

# --- regularized incomplete gamma and beta functions ----------------------------------------------


def _gamma_density(a: Any, x: Any) -> Any:
    """``x^(a−1) e^(−x) / Γ(a)``, the x-derivative of the lower regularized gamma function."""
    return exp(subtract(subtract(multiply(subtract(a, 1.0), log(x)), x), gammaln(a)))


gammainc_p, gammainc = _define("gammainc", 2)
gammaincc_p, gammaincc = _define("gammaincc", 2)
defjvp_diag(gammainc_p, _refuse("gammainc", "a"), lambda ans, a, x: _gamma_density(a, x))
defjvp_diag(gammaincc_p, _refuse("gammaincc", "a"),
            lambda ans, a, x: negative(_gamma_density(a, x)))

betainc_p, betainc = _define("betainc", 3)


def _betainc_factor_x(ans: Any, a: Any, b: Any, x: Any) -> Any:
    logd = add(multiply(subtract(a, 1.0), log(x)), multiply(subtract(b, 1.0), log1p(negative(x))))
    return exp(subtract(logd, betaln(a, b)))


defjvp_diag(betainc_p, _refuse("betainc", "a"), _refuse("betainc", "b"), _betainc_factor_x)

# --- more of jax.scipy.special: spence, expn, sici, fresnel, owens_t, hypergeometric, wofz --------

spence_p, spence = _define("spence", 1)
defjvp_diag(spence_p, lambda ans, z: divide(log(z), subtract(1.0, z)))

expn_p, expn = _define("expn", 2)


def _expn_factor_x(ans: Any, n: Any, x: Any) -> Any:
    # E_n′ = −E_{n−1}; E_0(x) = e^(−x)/x has E_0′ = −e^(−x)(x + 1)/x².
    e0 = negative(divide(multiply(exp(negative(x)), add(x, 1.0)), multiply(x, x)))
    return where(equal(n, 0), e0, negative(expn(maximum(subtract(n, 1), 0), x)))


defjvp_diag(expn_p, _refuse("expn", "n"), _expn_factor_x)

_si_p, _si = _define("sici", 1, "sici_si", part=0)
_ci_p, _ci = _define("sici", 1, "sici_ci", part=1)
defjvp_diag(_si_p, lambda ans, x: _safe_over_x(sin(x), x, 1.0))
defjvp_diag(_ci_p, lambda ans, x: divide(cos(x), x))


def sici(x: Any) -> tuple[Any, Any]:
    """``scipy.special.sici``: the sine and cosine integrals ``(Si(x), Ci(x))``."""
    return _si(x), _ci(x)


_fs_p, _fs = _define("fresnel", 1, "fresnel_s", part=0)
_fc_p, _fc = _define("fresnel", 1, "fresnel_c", part=1)
defjvp_diag(_fs_p, lambda ans, x: sin(multiply(math.pi / 2, multiply(x, x))))
defjvp_diag(_fc_p, lambda ans, x: cos(multiply(math.pi / 2, multiply(x, x))))


def fresnel(x: Any) -> tuple[Any, Any]:
    """``scipy.special.fresnel``: the Fresnel integrals ``(S(x), C(x))``."""
    return _fs(x), _fc(x)


owens_t_p, owens_t = _define("owens_t", 2)


def _owens_t_factor_h(ans: Any, h: Any, a: Any) -> Any:
    return multiply(multiply(-0.5, divide(exp(multiply(-0.5, multiply(h, h))), _SQRT_2PI)),
                    erf(divide(multiply(a, h), math.sqrt(2.0))))


def _owens_t_factor_a(ans: Any, h: Any, a: Any) -> Any:
    one_a2 = add(1.0, multiply(a, a))
    return divide(exp(multiply(-0.5, multiply(multiply(h, h), one_a2))),
                  multiply(2 * math.pi, one_a2))


defjvp_diag(owens_t_p, _owens_t_factor_h, _owens_t_factor_a)

hyp1f1_p, hyp1f1 = _define("hyp1f1", 3)
defjvp_diag(hyp1f1_p, _refuse("hyp1f1", "a"), _refuse("hyp1f1", "b"),
            lambda ans, a, b, x: multiply(divide(a, b), hyp1f1(add(a, 1.0), add(b, 1.0), x)))

hyp2f1_p, hyp2f1 = _define("hyp2f1", 4)
defjvp_diag(hyp2f1_p, _refuse("hyp2f1", "a"), _refuse("hyp2f1", "b"), _refuse("hyp2f1", "c"),
            lambda ans, a, b, c, x: multiply(divide(multiply(a, b), c), hyp2f1(
                add(a, 1.0), add(b, 1.0), add(c, 1.0), x)))

wofz_p, wofz = _define("wofz", 1)
defjvp_diag(wofz_p, lambda ans, z: add(multiply(multiply(-2.0, z), ans), _TWO_OVER_SQRT_PI * 1j))


def comb(n: Any, k: Any, exact: bool = False) -> Any:
    """``scipy.special.comb`` (``exact=False``): ``Γ(n+1) / (Γ(k+1) Γ(n−k+1))``, 0 outside
    ``0 ≤ k ≤ n``."""
    if not (needs_bind(n) or needs_bind(k)):
        import scipy.special as sc

        return sc.comb(n, k, exact=exact)
    if exact:
        raise NotDifferentiableError("comb(exact=True) returns integers; use exact=False")
    inside = logical_and(greater_equal(k, 0), less_equal(k, n))
    val = exp(subtract(subtract(gammaln(add(n, 1.0)), gammaln(add(k, 1.0))),
                       gammaln(add(subtract(n, k), 1.0))))
    return where(inside, val, 0.0)


def bernoulli(n: int) -> Any:
    """``scipy.special.bernoulli``: the Bernoulli numbers ``B₀ … Bₙ`` (constants)."""
    if needs_bind(n):
        raise NotDifferentiableError("bernoulli(n): n must be a Python integer")
    return _scipy_impl("bernoulli")(n)


# --- composites ----------------------------------------------------------------------------------


def multigammaln(a: Any, d: int) -> Any:
    """``scipy.special.multigammaln``: ``log Γ_d(a) = d(d−1)/4 · log π + Σⱼ log Γ(a − j/2)``
    for ``j = 0 … d−1``."""
    if not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"multigammaln: d must be a positive integer, got {d!r}")
    out: Any = d * (d - 1) / 4.0 * math.log(math.pi)
    for j in range(int(d)):
        out = add(out, gammaln(subtract(a, j / 2.0)))
    return out


def factorial(n: Any, exact: bool = False) -> Any:
    """``scipy.special.factorial`` (``exact=False``): ``Γ(n + 1)``, 0 for negative ``n``."""
    if not needs_bind(n):
        import scipy.special as sc

        return sc.factorial(n, exact=exact)
    if exact:
        raise NotDifferentiableError("factorial(exact=True) returns integers; use exact=False "
                                     "for a differentiable Γ(n + 1)")
    return where(less(n, 0), 0.0, gamma(add(n, 1.0)))


def poch(z: Any, m: Any) -> Any:
    """``scipy.special.poch``: the rising factorial ``Γ(z + m) / Γ(z)``."""
    if not (needs_bind(z) or needs_bind(m)):
        return _scipy_impl("poch")(z, m)
    return multiply(multiply(gammasgn(add(z, m)), gammasgn(z)),
                    exp(subtract(gammaln(add(z, m)), gammaln(z))))


def boxcox(x: Any, lmbda: Any) -> Any:
    """``scipy.special.boxcox``: ``(x^λ − 1)/λ``, ``log x`` at ``λ = 0``."""
    if not (needs_bind(x) or needs_bind(lmbda)):
        return _scipy_impl("boxcox")(x, lmbda)
    zero = equal(lmbda, 0.0)
    lam = where(zero, 1.0, lmbda)
    return where(zero, log(x), divide(subtract(power(x, lam), 1.0), lam))


def boxcox1p(x: Any, lmbda: Any) -> Any:
    """``scipy.special.boxcox1p``: ``boxcox(1 + x, λ)``."""
    if not (needs_bind(x) or needs_bind(lmbda)):
        return _scipy_impl("boxcox1p")(x, lmbda)
    zero = equal(lmbda, 0.0)
    lam = where(zero, 1.0, lmbda)
    return where(zero, log1p(x), divide(expm1(multiply(lam, log1p(x))), lam))
