"""Discrete distributions. ``k`` is a count (a constant: it has no derivative); ``logpmf`` is
``−∞`` off the support (non-integers, negative counts, ``k > n``).

- ``poisson(mu)``:     ``log p = k log μ − log k! − μ``; ``cdf = Q(⌊k⌋ + 1, μ)`` (the upper
  regularized gamma function, differentiable in ``μ``).
- ``bernoulli(p)``:    ``log p = k log p + (1 − k) log(1 − p)`` for ``k ∈ {0, 1}``.
- ``binom(n, p)``:     ``log C(n, k) + k log p + (n − k) log(1 − p)``;
  ``cdf = I(1 − p; n − ⌊k⌋, ⌊k⌋ + 1)`` (differentiable in ``p``).
- ``geom(p)``:         ``(k − 1) log(1 − p) + log p`` for ``k ≥ 1``; ``cdf = 1 − (1 − p)^⌊k⌋``.
- ``nbinom(n, p)``:    ``log Γ(k+n) − log Γ(n) − log k! + n log p + k log(1 − p)``;
  ``cdf = I(p; n, ⌊k⌋ + 1)``. ``betabinom(n, a, b)``: ``log C(n, k) + log B(k+a, n−k+b) −
  log B(a, b)``. ``multinomial(n, p)``: counts on the last axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import tensorcalc.numpy as tnp

from .. import special as sp


def _count(k: Any, loc: Any) -> Any:
    return tnp.asarray(k) - loc


def _integer(k: Any) -> Any:
    return tnp.logical_and(k >= 0, tnp.floor(k) == k)


class _Discrete:
    name = "discrete"

    def pmf(self, k: Any, *args: Any, **kw: Any) -> Any:
        return tnp.exp(self.logpmf(k, *args, **kw))

    def logcdf(self, k: Any, *args: Any, **kw: Any) -> Any:
        with np.errstate(divide="ignore"):  # log 0 = −∞ outside the support
            return tnp.log(self.cdf(k, *args, **kw))

    def sf(self, k: Any, *args: Any, **kw: Any) -> Any:
        return 1.0 - self.cdf(k, *args, **kw)

    def logsf(self, k: Any, *args: Any, **kw: Any) -> Any:
        with np.errstate(divide="ignore"):  # log 0 = −∞ outside the support
            return tnp.log(self.sf(k, *args, **kw))

    def __repr__(self) -> str:
        return f"tensorcalc.scipy.stats.{self.name}"


class _Poisson(_Discrete):
    name = "poisson"

    def logpmf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        k = _count(k, loc)
        ok = _integer(k)
        ks = tnp.where(ok, k, 0.0)
        return tnp.where(ok, sp.xlogy(ks, mu) - sp.gammaln(ks + 1.0) - mu, -np.inf)

    def cdf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        k = tnp.floor(_count(k, loc))
        ok = k >= 0
        return tnp.where(ok, sp.gammaincc(tnp.where(ok, k, 0.0) + 1.0, mu), 0.0)

    def sf(self, k: Any, mu: Any, loc: Any = 0) -> Any:
        k = tnp.floor(_count(k, loc))
        ok = k >= 0
        return tnp.where(ok, sp.gammainc(tnp.where(ok, k, 0.0) + 1.0, mu), 1.0)


class _Bernoulli(_Discrete):
    name = "bernoulli"

    def logpmf(self, k: Any, p: Any, loc: Any = 0) -> Any:
        k = _count(k, loc)
        ok = tnp.logical_or(k == 0, k == 1)
        ks = tnp.where(ok, k, 0.0)
        return tnp.where(ok, sp.xlogy(ks, p) + sp.xlog1py(1.0 - ks, -p), -np.inf)

    def cdf(self, k: Any, p: Any, loc: Any = 0) -> Any:
        k = _count(k, loc)
        return tnp.where(k < 0, 0.0, tnp.where(k < 1, 1.0 - p, 1.0))


class _Binom(_Discrete):
    name = "binom"

    def logpmf(self, k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
        k = _count(k, loc)
        ok = tnp.logical_and(_integer(k), k <= n)
        ks = tnp.where(ok, k, 0.0)
        comb = sp.gammaln(n + 1.0) - sp.gammaln(ks + 1.0) - sp.gammaln(n - ks + 1.0)
        return tnp.where(ok, comb + sp.xlogy(ks, p) + sp.xlog1py(n - ks, -p), -np.inf)

    def cdf(self, k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
        k = tnp.floor(_count(k, loc))
        inside = tnp.logical_and(k >= 0, k < n)
        ks = tnp.where(inside, k, 0.0)
        body = sp.betainc(tnp.where(inside, n - ks, 1.0), ks + 1.0, 1.0 - p)
        return tnp.where(k < 0, 0.0, tnp.where(inside, body, 1.0))


class _Geom(_Discrete):
    name = "geom"

    def logpmf(self, k: Any, p: Any, loc: Any = 0) -> Any:
        k = _count(k, loc)
        ok = tnp.logical_and(_integer(k), k >= 1)
        ks = tnp.where(ok, k, 1.0)
        return tnp.where(ok, sp.xlog1py(ks - 1.0, -p) + tnp.log(p), -np.inf)

    def cdf(self, k: Any, p: Any, loc: Any = 0) -> Any:
        k = tnp.floor(_count(k, loc))
        ks = tnp.maximum(k, 0.0)
        return -tnp.expm1(ks * tnp.log1p(-p))




class _Nbinom(_Discrete):
    name = "nbinom"

    def logpmf(self, k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
        k = _count(k, loc)
        ok = _integer(k)
        ks = tnp.where(ok, k, 0.0)
        val = (sp.gammaln(ks + n) - sp.gammaln(n) - sp.gammaln(ks + 1.0) + n * tnp.log(p)
               + sp.xlog1py(ks, -p))
        return tnp.where(ok, val, -np.inf)

    def cdf(self, k: Any, n: Any, p: Any, loc: Any = 0) -> Any:
        k = tnp.floor(_count(k, loc))
        ok = k >= 0
        return tnp.where(ok, sp.betainc(n, tnp.where(ok, k, 0.0) + 1.0, p), 0.0)


class _Betabinom(_Discrete):
    name = "betabinom"

    def logpmf(self, k: Any, n: Any, a: Any, b: Any, loc: Any = 0) -> Any:
        k = _count(k, loc)
        ok = tnp.logical_and(_integer(k), k <= n)
        ks = tnp.where(ok, k, 0.0)
        comb = sp.gammaln(n + 1.0) - sp.gammaln(ks + 1.0) - sp.gammaln(n - ks + 1.0)
        val = comb + sp.betaln(ks + a, n - ks + b) - sp.betaln(a, b)
        return tnp.where(ok, val, -np.inf)

    def cdf(self, k: Any, *args: Any, **kw: Any) -> Any:
        raise NotImplementedError("betabinom.cdf is not provided (a hypergeometric sum)")


class _Multinomial:
    """``multinomial(n, p)``: ``log p(x) = log n! − Σ log xᵢ! + Σ xᵢ log pᵢ`` (components on
    the last axis), ``−∞`` unless the counts are non-negative integers summing to ``n``."""

    def __repr__(self) -> str:
        return "tensorcalc.scipy.stats.multinomial"

    def logpmf(self, x: Any, n: Any, p: Any) -> Any:
        x = tnp.asarray(x)
        bad = tnp.sum(tnp.where(_integer(x), 0.0, 1.0), axis=-1)   # entries that are no count
        ok = tnp.logical_and(bad == 0, tnp.sum(x, axis=-1) == n)
        val = sp.gammaln(n + 1.0) + tnp.sum(sp.xlogy(x, p) - sp.gammaln(x + 1.0), axis=-1)
        return tnp.where(ok, val, -np.inf)

    def pmf(self, x: Any, n: Any, p: Any) -> Any:
        return tnp.exp(self.logpmf(x, n, p))


poisson, bernoulli, binom, geom = _Poisson(), _Bernoulli(), _Binom(), _Geom()
nbinom, betabinom, multinomial = _Nbinom(), _Betabinom(), _Multinomial()
