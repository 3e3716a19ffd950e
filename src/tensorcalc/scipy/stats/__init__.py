"""``tensorcalc.scipy.stats``: probability distributions with SciPy's names and signatures,
differentiable in the point and in the parameters.

Each distribution is an object like SciPy's (``norm.logpdf(x, loc=0, scale=1)``); the methods
are ``logpdf``/``pdf`` (``logpmf``/``pmf`` for discrete ones), ``cdf``, ``logcdf``, ``sf``,
``logsf`` and, where it has a closed form, ``ppf``. Outside the support ``logpdf`` is ``−∞``
and ``pdf`` is 0 with a zero derivative. CDFs built on the regularized incomplete gamma and
beta functions (``gamma``, ``beta``, ``t``, ``chi2``, ``poisson``, ``binom``) are
differentiable in the point (and, for the discrete ones, in ``mu`` and ``p``) but not in the
shape parameters they pass as ``a``/``b``: those derivatives raise
:class:`~tensorcalc.core.errors.NotDifferentiableError` instead of being dropped.

========================  =========================================================
continuous                ``norm``, ``t``, ``gamma``, ``beta``, ``expon``, ``laplace``,
                          ``logistic``, ``cauchy``, ``uniform``, ``chi2``
multivariate              ``multivariate_normal``, ``dirichlet``
discrete                  ``poisson``, ``bernoulli``, ``binom``, ``geom``
========================  =========================================================
"""

from ._continuous import (
    beta,
    cauchy,
    chi2,
    expon,
    gamma,
    laplace,
    logistic,
    norm,
    t,
    uniform,
)
from ._discrete import bernoulli, binom, geom, poisson
from ._multivariate import dirichlet, multivariate_normal

__all__ = ["bernoulli", "beta", "binom", "cauchy", "chi2", "dirichlet", "expon", "gamma", "geom",
           "laplace", "logistic", "multivariate_normal", "norm", "poisson", "t", "uniform"]
