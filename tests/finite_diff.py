"""Central differences, the reference every Jacobian test compares against."""

import numpy as np


def central_jacobian(f, x, eps=1e-6):
    """``∂f/∂x`` by central differences, shaped ``f(x).shape + x.shape`` (numerator layout)."""
    x = np.asarray(x, float)
    y0 = np.asarray(f(x))
    J = np.zeros(y0.shape + x.shape)
    for k in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[k] = eps
        J[(...,) + k] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps)
    return J
