"""Multivariate distributions.

- ``multivariate_normal(mean, cov)``: with ``L = cholesky(Σ)`` and ``y = L⁻¹ (x − μ)``,
  ``log p = −½ (d log 2π + 2 Σ log Lᵢᵢ + yᵀ y)``. ``x`` has the components on its last axis
  (``(d,)`` gives a scalar, ``(n, d)`` gives ``n`` values, as in SciPy); ``cov`` may be a
  matrix, a vector (the diagonal) or a number (times the identity). The derivative in ``Σ`` is
  symmetric (``cholesky`` symmetrizes its input, docs/conventions.md).
- ``dirichlet(alpha)``: ``log p = Σᵢ (αᵢ − 1) log xᵢ − Σᵢ log Γ(αᵢ) + log Γ(Σᵢ αᵢ)``. As in
  SciPy, the components are on the *first* axis of ``x`` and ``x`` may leave out the last one
  (it is ``1 − Σ`` of the others).
"""

from __future__ import annotations

import math
from typing import Any

import tensorcalc.numpy as tnp

from .. import special as sp


class _MultivariateNormal:
    def __repr__(self) -> str:
        return "tensorcalc.scipy.stats.multivariate_normal"

    def logpdf(self, x: Any, mean: Any = None, cov: Any = 1.0, allow_singular: bool = False
               ) -> Any:
        if allow_singular:
            raise NotImplementedError("multivariate_normal.logpdf: allow_singular=True is not "
                                      "supported; pass a positive-definite covariance")
        x = tnp.asarray(x)
        d = x.shape[-1] if x.ndim else 1
        if x.ndim == 0:
            x = tnp.reshape(x, (1,))
        diff = x if mean is None else x - mean
        cov = tnp.asarray(cov)
        if cov.ndim == 0:
            cov = cov * tnp.eye(d)
        elif cov.ndim == 1:
            cov = tnp.diag(cov) if isinstance(cov, tnp.ndarray) else cov[:, None] * tnp.eye(d)
        if tuple(cov.shape) != (d, d):
            raise ValueError(f"multivariate_normal.logpdf: x has {d} components (last axis) but "
                             f"cov has shape {tuple(cov.shape)}; expected ({d}, {d})")
        chol = tnp.linalg.cholesky(cov)
        y = tnp.linalg.solve(chol, tnp.reshape(diff, (-1, d)).T)        # (d, n)
        maha = tnp.sum(y * y, axis=0)
        logdet = 2.0 * tnp.sum(tnp.log(tnp.diagonal(chol)))
        out = -0.5 * (d * math.log(2 * math.pi) + logdet + maha)
        return tnp.reshape(out, tuple(diff.shape[:-1]))

    def pdf(self, x: Any, mean: Any = None, cov: Any = 1.0, allow_singular: bool = False) -> Any:
        return tnp.exp(self.logpdf(x, mean, cov, allow_singular))


class _Dirichlet:
    def __repr__(self) -> str:
        return "tensorcalc.scipy.stats.dirichlet"

    def logpdf(self, x: Any, alpha: Any) -> Any:
        x = tnp.asarray(x)
        alpha = tnp.asarray(alpha)
        k = alpha.shape[0]
        if x.shape[0] == k - 1:
            last = 1.0 - tnp.sum(x, axis=0)
            x = tnp.concatenate([x, tnp.reshape(last, (1,) + tuple(x.shape[1:]))], axis=0)
        elif x.shape[0] != k:
            raise ValueError(f"dirichlet.logpdf: x has {x.shape[0]} components on its first "
                             f"axis but alpha has {k}; give {k} (or {k - 1}) components")
        a = tnp.reshape(alpha, (k,) + (1,) * (x.ndim - 1))
        norm = tnp.sum(sp.gammaln(alpha)) - sp.gammaln(tnp.sum(alpha))
        return tnp.sum(sp.xlogy(a - 1.0, x), axis=0) - norm

    def pdf(self, x: Any, alpha: Any) -> Any:
        return tnp.exp(self.logpdf(x, alpha))


multivariate_normal = _MultivariateNormal()
dirichlet = _Dirichlet()
