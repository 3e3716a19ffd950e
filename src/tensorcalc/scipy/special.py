"""``tensorcalc.scipy.special``: SciPy's special functions, differentiable to any order.

SciPy is optional: it supplies the values when installed, NumPy and ``math`` otherwise. Where
every entry of a slice is −∞, ``logsumexp`` is −∞ and ``softmax``/``log_softmax`` are NaN, as in
SciPy, and the derivative of all three is 0 (docs/conventions.md).
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

__all__ = [
    "digamma", "erf", "erfc", "expit", "gammaln", "log_softmax", "logit", "logsumexp",
    "polygamma", "psi", "softmax", "xlog1py", "xlogy",
]
