"""``tensorcalc.scipy.special``: SciPy's special functions, differentiable to any order.

The first group (error functions, log-gamma, polygamma, the logistic function, ``xlogy``,
log-sum-exp) works without SciPy: NumPy and ``math`` supply the values when it is missing.
The rest (:mod:`tensorcalc.ops.special_more`: ``gamma``, ``beta``, ``ndtr``, ``ndtri``,
Bessel ``i0``/``i1``/``i0e``/``i1e``, entropies, ``zeta``, the incomplete gamma and beta
functions, …) take their values from SciPy. Where every entry of a slice is −∞,
``logsumexp`` is −∞ and ``softmax``/``log_softmax`` are NaN, as in SciPy, and the derivative
of all three is 0 (docs/conventions.md). Derivatives that have no closed form (``zeta`` in
``x``, the incomplete functions in their shape parameters) raise rather than return zero.
"""

from ..ops.special import (
    digamma,
    erf,
    erfc,
    expit,
    gammaln,
    log_softmax,
    logit,
    logsumexp,
    polygamma,
    psi,
    softmax,
    xlog1py,
    xlogy,
)
from ..ops.special_more import (
    bernoulli,
    beta,
    betainc,
    betaln,
    boxcox,
    boxcox1p,
    comb,
    dawsn,
    entr,
    erfcinv,
    erfcx,
    erfinv,
    exp1,
    expi,
    expn,
    factorial,
    fresnel,
    gamma,
    gammainc,
    gammaincc,
    gammasgn,
    hyp1f1,
    hyp2f1,
    i0,
    i0e,
    i1,
    i1e,
    kl_div,
    log_expit,
    log_ndtr,
    multigammaln,
    ndtr,
    ndtri,
    owens_t,
    poch,
    rel_entr,
    sici,
    spence,
    wofz,
    zeta,
)

loggamma = gammaln  # for real arguments (scipy's loggamma is the complex log-gamma)

__all__ = [
    "bernoulli", "beta", "betainc", "betaln", "boxcox", "boxcox1p", "comb", "dawsn", "digamma",
    "entr", "erf", "erfc", "erfcinv", "erfcx", "erfinv", "exp1", "expi", "expit", "expn",
    "factorial", "fresnel", "gamma", "gammainc", "gammaincc", "gammaln", "gammasgn", "hyp1f1",
    "hyp2f1", "i0", "i0e", "i1", "i1e", "kl_div", "log_expit", "log_ndtr", "log_softmax",
    "loggamma", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "owens_t", "poch",
    "polygamma", "psi", "rel_entr", "sici", "softmax", "spence", "wofz", "xlog1py", "xlogy",
    "zeta",
]
