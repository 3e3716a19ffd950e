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
                          ``logistic``, ``cauchy``, ``uniform``, ``chi2``, ``pareto``,
                          ``gumbel_r``, ``gumbel_l``, ``truncnorm``, ``vonmises``, ``gennorm``,
                          ``wrapcauchy``; the statistic ``sem``
multivariate              ``multivariate_normal``, ``dirichlet``, ``multinomial``
discrete                  ``poisson``, ``bernoulli``, ``binom``, ``geom``, ``nbinom``,
                          ``betabinom``
========================  =========================================================
"""

from ._continuous import (
    beta,
    cauchy,
    chi2,
    expon,
    gamma,
    gennorm,
    gumbel_l,
    gumbel_r,
    laplace,
    logistic,
    norm,
    pareto,
    sem,
    t,
    truncnorm,
    uniform,
    vonmises,
    wrapcauchy,
)
from ._discrete import bernoulli, betabinom, binom, geom, multinomial, nbinom, poisson
from ._multivariate import dirichlet, multivariate_normal

__all__ = ["bernoulli", "beta", "betabinom", "binom", "cauchy", "chi2", "dirichlet", "expon",
           "gamma", "gennorm", "geom", "gumbel_l", "gumbel_r", "laplace", "logistic",
           "multinomial", "multivariate_normal", "nbinom", "norm", "pareto", "poisson", "t",
           "sem", "truncnorm", "uniform", "vonmises", "wrapcauchy"]
