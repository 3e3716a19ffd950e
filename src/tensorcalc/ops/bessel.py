"""The modified Bessel functions of the first kind of integer order, ``Iₙ(x)``
(``numpy.i0`` is ``n = 0``).

One primitive, ``bessel_i``, with the order ``n`` as a parameter. Its derivative is the
recurrence ``Iₙ′ = (Iₙ₋₁ + Iₙ₊₁) / 2`` (``I₋₁ = I₁``), another ``bessel_i``, so every order of
derivative is available. ``I₀`` is NumPy's ``i0``; the other orders come from
``scipy.special.iv`` (SciPy is needed for the derivative of ``i0``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.primitive import bind
from ..interpreters.batch import defvectorized
from ..interpreters.forward import defjvp_diag
from ._base import dtype_of, needs_bind
from .elementwise import add, elementwise, multiply


def _bessel_i_impl(x: Any, *, n: int) -> Any:
    x = np.asarray(x)
    if n == 0:
        return np.i0(x)
    try:
        from scipy.special import iv
    except ImportError:  # pragma: no cover  (SciPy is a test dependency)
        raise ImportError("the derivative of tnp.i0 needs scipy.special.iv; install SciPy"
                          ) from None
    out = iv(abs(n), x)
    return out.astype(x.dtype) if x.dtype.kind == "f" else out


bessel_i_p = elementwise("bessel_i", _bessel_i_impl)
defvectorized(bessel_i_p)


def _bessel_i_factor(ans: Any, x: Any, *, n: int) -> Any:
    lower = bind(bessel_i_p, x, n=abs(n - 1))
    upper = bind(bessel_i_p, x, n=n + 1)
    return multiply(add(lower, upper), 0.5)


defjvp_diag(bessel_i_p, _bessel_i_factor)


def i0(x: Any) -> Any:
    """``numpy.i0``: the modified Bessel function ``I₀``; differentiable to any order."""
    if not needs_bind(x):
        return np.i0(x)
    if dtype_of(x).kind in "biu":
        from .structural import convert

        x = convert(x, np.float64)
    return bind(bessel_i_p, x, n=0)
