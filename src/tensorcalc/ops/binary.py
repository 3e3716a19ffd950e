"""Binary floating-point ufuncs with broadcasting, and ``clip``.

Each derivative is a factor computed from the primals and applied to the tangent with one
strong-zero product (:mod:`~tensorcalc.ops.strong_zero`); broadcasting is undone in reverse
mode by the product's transpose.

=============  ============================================  ===================================
function       ∂/∂x                    ∂/∂y                  convention
=============  ============================================  ===================================
logaddexp      eˣ⁻ᶻ                    eʸ⁻ᶻ                  z = log(eˣ + eʸ); both 0 if z = −∞
logaddexp2     2ˣ⁻ᶻ                    2ʸ⁻ᶻ                  z = log₂(2ˣ + 2ʸ); both 0 if z = −∞
arctan2(y, x)  −y / (x² + y²)          x / (x² + y²)         (argument order y, x as in NumPy)
hypot          x / z                   y / z                 0 at the origin (like norm′(0) = 0)
copysign       sign(x) · s(y)          0                     s(y) = ±1 from y's sign bit
fmax, fmin     1 / 0, ½ on ties        0 / 1, ½ on ties      a NaN operand is ignored (NumPy)
mod/remainder  1                       −⌊x / y⌋              the quotient NumPy's result used
fmod           1                       −trunc(x / y)
=============  ============================================  ===================================

``float_power`` is ``power`` in float64 (or complex128). ``clip(a, lo, hi)`` is, as NumPy
documents it, ``minimum(maximum(a, lo), hi)``, so on a bound the derivative is shared equally
between ``a`` and the bound (the tie convention of ``maximum``; see docs/conventions.md).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.primitive import get_aval
from ..interpreters.batch import defbroadcasting
from ..interpreters.forward import defjvp_diag
from ._base import dtype_of, needs_bind
from .elementwise import (
    add,
    binary_op,
    divide,
    elementwise,
    equal,
    exp,
    greater,
    less,
    maximum,
    minimum,
    multiply,
    negative,
    power,
    sign,
    subtract,
    where,
)
from .structural import convert
from .unary import exp2, isnan, logical_and, logical_not, logical_or, rint


def _binary(name: str, np_fn: Any) -> tuple[Any, Any]:
    prim = elementwise(name, np_fn)
    defbroadcasting(prim)
    return prim, binary_op(prim, np_fn)


# --- logaddexp, logaddexp2 -------------------------------------------------------------------


def _softmax_weight(v: Any, ans: Any, base_exp: Any) -> Any:
    """``exp(v − ans)``: the share of ``v`` in a log-sum-exp. Where ``ans = −∞`` every input is
    −∞ and the share is 0 by convention (docs/conventions.md), not ``exp(−∞ + ∞) = NaN``."""
    shift = where(equal(ans, -math.inf), 0.0, ans)
    return base_exp(subtract(v, shift))


logaddexp_p, logaddexp = _binary("logaddexp", np.logaddexp)


def _logaddexp_factor_x(ans: Any, x: Any, y: Any) -> Any:
    return _softmax_weight(x, ans, exp)


def _logaddexp_factor_y(ans: Any, x: Any, y: Any) -> Any:
    return _softmax_weight(y, ans, exp)


defjvp_diag(logaddexp_p, _logaddexp_factor_x, _logaddexp_factor_y)

logaddexp2_p, logaddexp2 = _binary("logaddexp2", np.logaddexp2)


def _logaddexp2_factor_x(ans: Any, x: Any, y: Any) -> Any:
    return _softmax_weight(x, ans, exp2)


def _logaddexp2_factor_y(ans: Any, x: Any, y: Any) -> Any:
    return _softmax_weight(y, ans, exp2)


defjvp_diag(logaddexp2_p, _logaddexp2_factor_x, _logaddexp2_factor_y)

# --- arctan2, hypot --------------------------------------------------------------------------

arctan2_p, arctan2 = _binary("arctan2", np.arctan2)
atan2 = arctan2


def _arctan2_factor_y(ans: Any, y: Any, x: Any) -> Any:
    return divide(x, add(multiply(x, x), multiply(y, y)))


def _arctan2_factor_x(ans: Any, y: Any, x: Any) -> Any:
    return divide(negative(y), add(multiply(x, x), multiply(y, y)))


defjvp_diag(arctan2_p, _arctan2_factor_y, _arctan2_factor_x)

hypot_p, hypot = _binary("hypot", np.hypot)


def _hypot_factor(v: Any, ans: Any) -> Any:
    # v / hypot; at the origin the subgradient 0 (v = 0 over a safe denominator of 1).
    return divide(v, where(equal(ans, 0.0), 1.0, ans))


defjvp_diag(hypot_p, lambda ans, x, y: _hypot_factor(x, ans),
       lambda ans, x, y: _hypot_factor(y, ans))


# --- copysign --------------------------------------------------------------------------------

copysign_p, copysign = _binary("copysign", np.copysign)


def _copysign_factor_x(ans: Any, x: Any, y: Any) -> Any:
    # d|x|·s(y)/dx = sign(x)·s(y); for x ≠ 0, s(y) = sign(ans), and at x = 0 the factor is 0.
    return multiply(sign(x), sign(ans))


defjvp_diag(copysign_p, _copysign_factor_x, None)  # piecewise constant in y

# --- fmax, fmin: maximum/minimum that ignore NaN ---------------------------------------------


def _nan_ignoring_weight(v: Any, w: Any, ans: Any, beats: Any) -> Any:
    """Weight of ``v`` in ``fmax(v, w)`` (``beats = greater``) or ``fmin``: 1 where ``v`` is
    chosen outright (it wins, or ``w`` is NaN and ``v`` is not), ½ on a tie, 0 otherwise."""
    v_ok = logical_not(isnan(v))
    wins = logical_or(beats(v, w), logical_and(isnan(w), v_ok))
    weight = where(wins, 1.0, where(equal(v, w), 0.5, 0.0))
    dt = dtype_of(ans) if dtype_of(ans).kind in "fc" else np.dtype(np.float64)
    return convert(weight, dt)


fmax_p, fmax = _binary("fmax", np.fmax)
fmin_p, fmin = _binary("fmin", np.fmin)


def _fmax_factor_x(ans: Any, x: Any, y: Any) -> Any:
    return _nan_ignoring_weight(x, y, ans, greater)


def _fmax_factor_y(ans: Any, x: Any, y: Any) -> Any:
    return _nan_ignoring_weight(y, x, ans, greater)


def _fmin_factor_x(ans: Any, x: Any, y: Any) -> Any:
    return _nan_ignoring_weight(x, y, ans, less)


def _fmin_factor_y(ans: Any, x: Any, y: Any) -> Any:
    return _nan_ignoring_weight(y, x, ans, less)


defjvp_diag(fmax_p, _fmax_factor_x, _fmax_factor_y)
defjvp_diag(fmin_p, _fmin_factor_x, _fmin_factor_y)

# --- mod / remainder, fmod -------------------------------------------------------------------


def _one(ans: Any, x: Any, y: Any) -> float:
    return 1.0  # ∂(x − q·y)/∂x = 1 with the integer quotient q locally constant


def _quotient_factor_y(ans: Any, x: Any, y: Any) -> Any:
    # ans = x − q·y with q integral, so ∂ans/∂y = −q. Recover q from the result itself (rint of
    # an exact integer up to rounding), which is the quotient NumPy actually used: floor(x / y)
    # for mod/remainder, trunc(x / y) for fmod.
    q = rint(divide(subtract(x, ans), y))
    return negative(q)


remainder_p, remainder = _binary("remainder", np.remainder)
mod = remainder
defjvp_diag(remainder_p, _one, _quotient_factor_y)

fmod_p, fmod = _binary("fmod", np.fmod)
defjvp_diag(fmod_p, _one, _quotient_factor_y)

# --- composites: float_power, clip -----------------------------------------------------------


def float_power(x1: Any, x2: Any) -> Any:
    """``numpy.float_power``: ``x1 ** x2`` computed in float64 (complex128 for complex)."""
    if not (needs_bind(x1) or needs_bind(x2)):
        return np.float_power(x1, x2)
    dt = np.result_type(np.float_power(np.ones((), _dtype(x1)), np.ones((), _dtype(x2))))
    return power(_as(x1, dt), _as(x2, dt))


def _dtype(v: Any) -> np.dtype:
    return get_aval(v).dtype if needs_bind(v) else np.asarray(v).dtype


def _as(v: Any, dt: np.dtype) -> Any:
    if needs_bind(v):
        return convert(v, dt)
    return np.asarray(v, dt)


def clip(a: Any, a_min: Any = None, a_max: Any = None, out: Any = None, **kwargs: Any) -> Any:
    """``numpy.clip``: ``minimum(maximum(a, a_min), a_max)``; either bound may be ``None``.

    The bounds may be arrays and are differentiated too. Exactly on a bound, ``a`` and the bound
    share the derivative equally (the ``maximum``/``minimum`` tie convention)."""
    lo = kwargs.pop("min", a_min)
    hi = kwargs.pop("max", a_max)
    if kwargs:
        raise TypeError(f"clip: unexpected keyword arguments {sorted(kwargs)}")
    if not any(needs_bind(v) for v in (a, lo, hi)):
        return np.clip(a, lo, hi, out=out)
    if out is not None:
        raise TypeError("clip: out= is not supported for values being differentiated")
    if lo is None and hi is None:
        raise ValueError("clip: at least one of a_min and a_max must be given")
    if lo is not None:
        a = maximum(a, lo)
    if hi is not None:
        a = minimum(a, hi)
    return a
