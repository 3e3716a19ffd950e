"""Univariate continuous distributions. With ``z = (x − loc)/scale`` every density is
``f(z)/scale``, so ``logpdf = log f(z) − log scale``; the CDF is that of ``z``.

- ``norm``:     ``log f = −z²/2 − log √(2π)``; ``cdf = Φ(z)`` (``ndtr``), ``logcdf = log Φ(z)``
  (``log_ndtr``, accurate in the left tail), ``ppf = loc + scale Φ⁻¹(q)``.
- ``t(df)``:    ``log f = log Γ((ν+1)/2) − log Γ(ν/2) − ½ log(νπ) − (ν+1)/2 · log(1 + z²/ν)``;
  ``cdf = ½ I(ν/(ν+z²); ν/2, ½)`` for ``z < 0`` (and one minus that for ``z > 0``).
- ``gamma(a)``: ``log f = (a−1) log z − z − log Γ(a)`` on ``z ≥ 0``; ``cdf = P(a, z)``.
- ``beta(a, b)``: ``log f = (a−1) log z + (b−1) log(1−z) − log B(a, b)`` on ``[0, 1]``;
  ``cdf = I(z; a, b)``.
- ``expon``, ``laplace``, ``logistic``, ``cauchy``, ``uniform``; ``chi2(df)`` is
  ``gamma(df/2, scale=2)``; ``pareto``, ``gumbel_r``, ``gumbel_l``, ``truncnorm`` (the mass
  ``Φ(b) − Φ(a)`` taken in logs), ``vonmises`` (``I₀(κ) = i0e(κ) e^κ``, no overflow) and
  ``gennorm`` (``cdf`` through ``Q(1/β, |z|^β)``), ``wrapcauchy`` (density only); ``sem``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tensorcalc.numpy as tnp

from .. import special as sp

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _z(x: Any, loc: Any, scale: Any) -> Any:
    return (x - loc) / scale


def _on(mask: Any, value: Any, otherwise: float) -> Any:
    return tnp.where(mask, value, otherwise)


class _Continuous:
    """``pdf = exp(logpdf)``, ``sf = 1 − cdf``, ``logcdf = log cdf``, ``logsf = log sf``
    unless a subclass has a better formula."""

    name = "continuous"

    def pdf(self, x: Any, *args: Any, **kw: Any) -> Any:
        return tnp.exp(self.logpdf(x, *args, **kw))

    def logcdf(self, x: Any, *args: Any, **kw: Any) -> Any:
        with np.errstate(divide="ignore"):  # log 0 = −∞ outside the support
            return tnp.log(self.cdf(x, *args, **kw))

    def sf(self, x: Any, *args: Any, **kw: Any) -> Any:
        return 1.0 - self.cdf(x, *args, **kw)

    def logsf(self, x: Any, *args: Any, **kw: Any) -> Any:
        with np.errstate(divide="ignore"):  # log 0 = −∞ outside the support
            return tnp.log(self.sf(x, *args, **kw))

    def __repr__(self) -> str:
        return f"tensorcalc.scipy.stats.{self.name}"


class _Norm(_Continuous):
    name = "norm"

    def logpdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        return -0.5 * z * z - _LOG_SQRT_2PI - tnp.log(scale)

    def cdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return sp.ndtr(_z(x, loc, scale))

    def logcdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return sp.log_ndtr(_z(x, loc, scale))

    def sf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return sp.ndtr(-_z(x, loc, scale))

    def logsf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return sp.log_ndtr(-_z(x, loc, scale))

    def ppf(self, q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return loc + scale * sp.ndtri(q)

    def isf(self, q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return loc - scale * sp.ndtri(q)


class _T(_Continuous):
    name = "t"

    def logpdf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        half = 0.5 * (df + 1.0)
        return (sp.gammaln(half) - sp.gammaln(0.5 * df) - 0.5 * tnp.log(df * math.pi)
                - half * tnp.log1p(z * z / df) - tnp.log(scale))

    def cdf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        tail = 0.5 * sp.betainc(0.5 * df, 0.5, df / (df + z * z))
        return tnp.where(z < 0, tail, 1.0 - tail)

    def sf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return self.cdf(-_z(x, loc, scale), df)


class _Gamma(_Continuous):
    name = "gamma"

    def logpdf(self, x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        ok = z >= 0
        zs = tnp.where(ok, z, 1.0)
        return _on(ok, sp.xlogy(a - 1.0, zs) - zs - sp.gammaln(a) - tnp.log(scale), -np.inf)

    def cdf(self, x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        return sp.gammainc(a, tnp.maximum(z, 0.0))

    def sf(self, x: Any, a: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        return sp.gammaincc(a, tnp.maximum(z, 0.0))


class _Beta(_Continuous):
    name = "beta"

    def logpdf(self, x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        ok = tnp.logical_and(z >= 0, z <= 1)
        zs = tnp.where(ok, z, 0.5)
        val = sp.xlogy(a - 1.0, zs) + sp.xlog1py(b - 1.0, -zs) - sp.betaln(a, b)
        return _on(ok, val - tnp.log(scale), -np.inf)

    def cdf(self, x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        return sp.betainc(a, b, tnp.clip(z, 0.0, 1.0))


class _Expon(_Continuous):
    name = "expon"

    def logpdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        return _on(z >= 0, -z - tnp.log(scale), -np.inf)

    def cdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return -tnp.expm1(-tnp.maximum(_z(x, loc, scale), 0.0))

    def sf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return tnp.exp(-tnp.maximum(_z(x, loc, scale), 0.0))

    def logsf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return -tnp.maximum(_z(x, loc, scale), 0.0)

    def ppf(self, q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return loc - scale * tnp.log1p(-q)


class _Laplace(_Continuous):
    name = "laplace"

    def logpdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return -tnp.abs(_z(x, loc, scale)) - math.log(2.0) - tnp.log(scale)

    def cdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        half = 0.5 * tnp.exp(-tnp.abs(z))
        return tnp.where(z < 0, half, 1.0 - half)


class _Logistic(_Continuous):
    name = "logistic"

    def logpdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        a = tnp.abs(_z(x, loc, scale))
        return -a - 2.0 * tnp.log1p(tnp.exp(-a)) - tnp.log(scale)

    def cdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return sp.expit(_z(x, loc, scale))

    def logcdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return sp.log_expit(_z(x, loc, scale))

    def sf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return sp.expit(-_z(x, loc, scale))

    def ppf(self, q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return loc + scale * sp.logit(q)


class _Cauchy(_Continuous):
    name = "cauchy"

    def logpdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        return -math.log(math.pi) - tnp.log(scale) - tnp.log1p(z * z)

    def cdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return 0.5 + tnp.arctan(_z(x, loc, scale)) / math.pi

    def ppf(self, q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return loc + scale * tnp.tan(math.pi * (q - 0.5))


class _Uniform(_Continuous):
    name = "uniform"

    def logpdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        ok = tnp.logical_and(z >= 0, z <= 1)
        return _on(ok, -tnp.log(scale) + 0.0 * z, -np.inf)

    def cdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return tnp.clip(_z(x, loc, scale), 0.0, 1.0)

    def ppf(self, q: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return loc + scale * q


class _Chi2(_Continuous):
    name = "chi2"

    def logpdf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return gamma.logpdf(x, 0.5 * df, loc, 2.0 * scale)

    def cdf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return gamma.cdf(x, 0.5 * df, loc, 2.0 * scale)

    def sf(self, x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return gamma.sf(x, 0.5 * df, loc, 2.0 * scale)




class _Pareto(_Continuous):
    name = "pareto"

    def logpdf(self, x: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        ok = z >= 1
        zs = tnp.where(ok, z, 1.0)
        return _on(ok, tnp.log(b) - (b + 1.0) * tnp.log(zs) - tnp.log(scale), -np.inf)

    def cdf(self, x: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = tnp.maximum(_z(x, loc, scale), 1.0)
        return -tnp.expm1(-b * tnp.log(z))

    def sf(self, x: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return tnp.exp(-b * tnp.log(tnp.maximum(_z(x, loc, scale), 1.0)))


class _GumbelR(_Continuous):
    name = "gumbel_r"

    def logpdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        return -z - tnp.exp(-z) - tnp.log(scale)

    def cdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return tnp.exp(-tnp.exp(-_z(x, loc, scale)))

    def logcdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return -tnp.exp(-_z(x, loc, scale))

    def sf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return -tnp.expm1(-tnp.exp(-_z(x, loc, scale)))


class _GumbelL(_Continuous):
    name = "gumbel_l"

    def logpdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        return z - tnp.exp(z) - tnp.log(scale)

    def cdf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return -tnp.expm1(-tnp.exp(_z(x, loc, scale)))

    def sf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return tnp.exp(-tnp.exp(_z(x, loc, scale)))

    def logsf(self, x: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        return -tnp.exp(_z(x, loc, scale))


class _Truncnorm(_Continuous):
    name = "truncnorm"

    def _log_mass(self, a: Any, b: Any) -> Any:
        # log(Φ(b) − Φ(a)) = log Φ(b) + log(1 − e^(log Φ(a) − log Φ(b)))
        la, lb = sp.log_ndtr(a), sp.log_ndtr(b)
        return lb + tnp.log1p(-tnp.exp(la - lb))

    def logpdf(self, x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        ok = tnp.logical_and(z >= a, z <= b)
        val = -0.5 * z * z - _LOG_SQRT_2PI - self._log_mass(a, b) - tnp.log(scale)
        return _on(ok, val, -np.inf)

    def cdf(self, x: Any, a: Any, b: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = tnp.clip(_z(x, loc, scale), a, b)
        return (sp.ndtr(z) - sp.ndtr(a)) / tnp.exp(self._log_mass(a, b))


class _Vonmises(_Continuous):
    name = "vonmises"

    def logpdf(self, x: Any, kappa: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        # log(2π I₀(κ)) with I₀(κ) = i0e(κ) e^κ (no overflow for large κ)
        log_norm = math.log(2 * math.pi) + tnp.log(sp.i0e(kappa)) + kappa
        return kappa * (tnp.cos(z) - 1.0) + kappa - log_norm - tnp.log(scale)

    def cdf(self, x: Any, *args: Any, **kw: Any) -> Any:
        raise NotImplementedError("vonmises.cdf is not provided (it has no closed form)")


class _Gennorm(_Continuous):
    name = "gennorm"

    def logpdf(self, x: Any, beta: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = tnp.abs(_z(x, loc, scale))
        return (tnp.log(beta) - math.log(2.0) - sp.gammaln(1.0 / beta) - z ** beta
                - tnp.log(scale))

    def cdf(self, x: Any, beta: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        half = 0.5 * sp.gammaincc(1.0 / beta, tnp.abs(z) ** beta)
        return tnp.where(z < 0, half, 1.0 - half)


class _Wrapcauchy(_Continuous):
    name = "wrapcauchy"

    def logpdf(self, x: Any, c: Any, loc: Any = 0.0, scale: Any = 1.0) -> Any:
        z = _z(x, loc, scale)
        ok = tnp.logical_and(z >= 0, z <= 2 * math.pi)
        val = (tnp.log1p(-c * c) - math.log(2 * math.pi)
               - tnp.log(1.0 + c * c - 2.0 * c * tnp.cos(z)) - tnp.log(scale))
        return _on(ok, val, -np.inf)

    def cdf(self, x: Any, *args: Any, **kw: Any) -> Any:
        raise NotImplementedError("wrapcauchy.cdf is not provided")


def sem(a: Any, axis: Any = 0, ddof: int = 1) -> Any:
    """``scipy.stats.sem``: the standard error of the mean, ``std(a, ddof) / √n``."""
    a = tnp.asarray(a)
    if axis is None:
        a, axis = tnp.reshape(a, (-1,)), 0
    n = a.shape[axis]
    return tnp.std(a, axis=axis, ddof=ddof) / math.sqrt(n)


norm, t, gamma, beta = _Norm(), _T(), _Gamma(), _Beta()
expon, laplace, logistic, cauchy = _Expon(), _Laplace(), _Logistic(), _Cauchy()
uniform, chi2 = _Uniform(), _Chi2()
pareto, gumbel_r, gumbel_l, truncnorm = _Pareto(), _GumbelR(), _GumbelL(), _Truncnorm()
vonmises, gennorm, wrapcauchy = _Vonmises(), _Gennorm(), _Wrapcauchy()
