"""Unary floating-point ufuncs: exponentials, logarithms, trigonometric and hyperbolic
functions and their inverses, rounding, and the predicates that have no derivative.

Each primitive is NumPy's own ufunc (so values are NumPy's to the last bit) with a jvp rule
``ẏ = f′(x) ⊙ ẋ``: the derivative factor ``f′`` is computed from the primal (often from the
answer ``y`` itself, which is free) and applied with one strong-zero product
(:func:`~tensorcalc.ops.strong_zero.mul_sz`), so a linearized program holds one staged
operation per ufunc and reverse mode pays one product per ufunc. The factors are written with
``tensorcalc`` operations, so every rule differentiates again (any order).

==========  ==================================  ===============================================
ufunc       derivative                          note
==========  ==================================  ===============================================
reciprocal  −y²
cbrt        1 / (3 y²)                          +inf at 0
exp2        y · ln 2
expm1       y + 1                               (= eˣ, accurate where y is tiny)
log2        1 / (x ln 2)
log10       1 / (x ln 10)
log1p       1 / (1 + x)
tan         1 + y²
arcsin      1 / √((1 − x)(1 + x))               factored form keeps precision near ±1
arccos      −1 / √((1 − x)(1 + x))
arctan      1 / (1 + x²)
sinh        cosh x
cosh        sinh x
arcsinh     1 / √(x² + 1)
arccosh     1 / (√(x − 1) √(x + 1))
arctanh     1 / ((1 − x)(1 + x))
sinc        d^k sinc / dx^k, any k              closed form, Maclaurin series near 0
floor …     0                                   floor, ceil, trunc, rint, round (a.e.)
isnan …     none (boolean results)              isfinite, isinf, isnan, signbit, logical_*
==========  ==================================  ===============================================

Functions that are exact compositions of existing primitives stay composites (``fabs``,
``positive``, ``deg2rad``/``radians``, ``rad2deg``/``degrees``, ``isposinf``, ``isneginf``).
NumPy 2's aliases (``asin``, ``acos``, …) name the same functions.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.backend import BackendError, backend_name, defxp
from ..core.primitive import bind
from ..interpreters.batch import defbroadcasting, defvectorized
from ..interpreters.forward import defjvp_diag, defjvp_zero
from ._base import dtype_of, needs_bind
from .elementwise import (
    absolute,
    add,
    binary_op,
    elementwise,
    greater,
    less,
    multiply,
    negative,
    sqrt,
    subtract,
    unary_op,
)
from .structural import convert

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)


def _unary(name: str, np_fn: Any) -> tuple[Any, Any]:
    prim = elementwise(name, np_fn)
    defvectorized(prim)
    return prim, unary_op(prim, np_fn)


# --- reciprocal, cbrt ------------------------------------------------------------------------

reciprocal_p, reciprocal = _unary("reciprocal", np.reciprocal)


def _reciprocal_factor(ans: Any, x: Any) -> Any:
    return negative(multiply(ans, ans))


defjvp_diag(reciprocal_p, _reciprocal_factor)

cbrt_p, cbrt = _unary("cbrt", np.cbrt)


def _cbrt_factor(ans: Any, x: Any) -> Any:
    return reciprocal(multiply(3.0, multiply(ans, ans)))


defjvp_diag(cbrt_p, _cbrt_factor)

# --- exponentials and logarithms -------------------------------------------------------------

exp2_p, exp2 = _unary("exp2", np.exp2)
defjvp_diag(exp2_p, lambda ans, x: multiply(ans, _LN2))

expm1_p, expm1 = _unary("expm1", np.expm1)
defjvp_diag(expm1_p, lambda ans, x: add(ans, 1.0))

log2_p, log2 = _unary("log2", np.log2)
defjvp_diag(log2_p, lambda ans, x: reciprocal(multiply(x, _LN2)))

log10_p, log10 = _unary("log10", np.log10)
defjvp_diag(log10_p, lambda ans, x: reciprocal(multiply(x, _LN10)))

log1p_p, log1p = _unary("log1p", np.log1p)
defjvp_diag(log1p_p, lambda ans, x: reciprocal(add(x, 1.0)))

# --- trigonometric ---------------------------------------------------------------------------

tan_p, tan = _unary("tan", np.tan)
defjvp_diag(tan_p, lambda ans, x: add(1.0, multiply(ans, ans)))


def _one_minus_x2(x: Any) -> Any:
    # (1 − x)(1 + x) rather than 1 − x²: no cancellation near |x| = 1.
    return multiply(subtract(1.0, x), add(1.0, x))


arcsin_p, arcsin = _unary("arcsin", np.arcsin)
arccos_p, arccos = _unary("arccos", np.arccos)


def _arcsin_factor(ans: Any, x: Any) -> Any:
    return reciprocal(sqrt(_one_minus_x2(x)))


def _arccos_factor(ans: Any, x: Any) -> Any:
    return negative(reciprocal(sqrt(_one_minus_x2(x))))


defjvp_diag(arcsin_p, _arcsin_factor)
defjvp_diag(arccos_p, _arccos_factor)

arctan_p, arctan = _unary("arctan", np.arctan)
defjvp_diag(arctan_p, lambda ans, x: reciprocal(add(1.0, multiply(x, x))))

# --- hyperbolic ------------------------------------------------------------------------------

sinh_p, sinh = _unary("sinh", np.sinh)
cosh_p, cosh = _unary("cosh", np.cosh)
defjvp_diag(sinh_p, lambda ans, x: cosh(x))
defjvp_diag(cosh_p, lambda ans, x: sinh(x))

arcsinh_p, arcsinh = _unary("arcsinh", np.arcsinh)
defjvp_diag(arcsinh_p, lambda ans, x: reciprocal(sqrt(add(multiply(x, x), 1.0))))

arccosh_p, arccosh = _unary("arccosh", np.arccosh)


def _arccosh_factor(ans: Any, x: Any) -> Any:
    # √(x − 1)·√(x + 1) rather than √(x² − 1): precise near 1, and the right branch for complex.
    return reciprocal(multiply(sqrt(subtract(x, 1.0)), sqrt(add(x, 1.0))))


defjvp_diag(arccosh_p, _arccosh_factor)

arctanh_p, arctanh = _unary("arctanh", np.arctanh)
defjvp_diag(arctanh_p, lambda ans, x: reciprocal(_one_minus_x2(x)))

# NumPy 2 spells the inverse functions both ways.
asin, acos, atan = arcsin, arccos, arctan
asinh, acosh, atanh = arcsinh, arccosh, arctanh

# --- sinc: the k-th derivative is a primitive of its own, so every order is available ----------


def _sinc_impl(x: Any, *, k: int) -> Any:
    """``dᵏ/dxᵏ sinc(x)`` with ``sinc(x) = sin(πx)/(πx)``; ``k = 0`` is NumPy's ``sinc``.

    With ``u = πx``: away from 0 the Leibniz rule on ``sin(u) · u⁻¹`` gives
    ``g⁽ᵏ⁾(u) = Σⱼ C(k, j) sin(u + jπ/2) (−1)ᵏ⁻ʲ (k − j)! / uᵏ⁻ʲ⁺¹``, which cancels badly near 0,
    where the Maclaurin series ``g(u) = Σₙ (−1)ⁿ u²ⁿ/(2n + 1)!`` differentiated termwise is
    used instead. The result is ``πᵏ g⁽ᵏ⁾(πx)``.
    """
    if k == 0:
        return np.sinc(x)
    x = np.asarray(x)
    out_dtype = x.dtype if x.dtype.kind in "fc" else np.dtype(np.float64)
    work = np.complex128 if x.dtype.kind == "c" else np.float64
    u = np.pi * x.astype(work)
    small = np.abs(u) < 2.0 + 0.5 * k
    us = np.where(small, 1.0, u)
    closed = np.zeros_like(u)
    for j in range(k + 1):
        c = math.comb(k, j) * (-1) ** (k - j) * math.factorial(k - j)
        closed += c * np.sin(us + j * math.pi / 2) / us ** (k - j + 1)
    series = np.zeros_like(u)
    n0 = (k + 1) // 2
    for n in range(n0, n0 + 24 + k):
        coef = (-1) ** n * math.perm(2 * n, k) / math.factorial(2 * n + 1)
        series += coef * u ** (2 * n - k)
    return (np.where(small, series, closed) * math.pi ** k).astype(out_dtype)


sinc_p = elementwise("sinc", _sinc_impl)


@defxp(sinc_p)
def _sinc_xp(xp: Any, x: Any, *, k: int) -> Any:
    if k > 1:
        raise BackendError(f"sinc: derivatives of order {k} > 1 run on NumPy arrays only; got "
                           f"{backend_name(xp)} arrays")
    u = x * math.pi
    safe = xp.where(x == 0, xp.ones_like(u), u)
    if k == 0:
        return xp.where(x == 0, xp.ones_like(u), xp.sin(safe) / safe)
    # d/dx sin(u)/u = π (u cos u − sin u) / u², 0 at 0
    d = math.pi * (safe * xp.cos(safe) - xp.sin(safe)) / (safe * safe)
    return xp.where(x == 0, xp.zeros_like(u), d)
defvectorized(sinc_p)


def _sinc_factor(ans: Any, x: Any, *, k: int) -> Any:
    return bind(sinc_p, x, k=k + 1)


defjvp_diag(sinc_p, _sinc_factor)


def sinc(x: Any) -> Any:
    """``numpy.sinc``: ``sin(πx)/(πx)``, 1 at 0; differentiable to any order, also at 0."""
    if not needs_bind(x):
        return np.sinc(x)
    return bind(sinc_p, x, k=0)


# --- composites: fabs, positive, angle conversion --------------------------------------------


def fabs(x: Any) -> Any:
    """``numpy.fabs``: ``abs`` computed in floating point (``fabs′(0) = 0``, like ``abs``)."""
    if not needs_bind(x):
        return np.fabs(x)
    if dtype_of(x).kind in "biu":
        x = convert(x, np.float64)
    return absolute(x)


def positive(x: Any) -> Any:
    """``numpy.positive`` (``+x``): the identity."""
    return x if needs_bind(x) else np.positive(x)


_DEG = math.pi / 180.0  # the constant NumPy's deg2rad multiplies by


def deg2rad(x: Any) -> Any:
    """``numpy.deg2rad``: ``x · π/180``."""
    return multiply(x, _DEG) if needs_bind(x) else np.deg2rad(x)


def rad2deg(x: Any) -> Any:
    """``numpy.rad2deg``: ``x · 180/π``."""
    return multiply(x, 180.0 / math.pi) if needs_bind(x) else np.rad2deg(x)


radians = deg2rad  # NumPy's aliases
degrees = rad2deg

# --- no derivative: rounding (zero a.e.), predicates and logic (boolean) ---------------------


def _nondiff_unary(name: str, np_fn: Any) -> tuple[Any, Any]:
    prim = elementwise(name, np_fn)
    defjvp_zero(prim)
    defvectorized(prim)
    return prim, unary_op(prim, np_fn)


floor_p, floor = _nondiff_unary("floor", np.floor)
ceil_p, ceil = _nondiff_unary("ceil", np.ceil)
trunc_p, trunc = _nondiff_unary("trunc", np.trunc)
rint_p, rint = _nondiff_unary("rint", np.rint)
isfinite_p, isfinite = _nondiff_unary("isfinite", np.isfinite)
isinf_p, isinf = _nondiff_unary("isinf", np.isinf)
isnan_p, isnan = _nondiff_unary("isnan", np.isnan)
signbit_p, signbit = _nondiff_unary("signbit", np.signbit)
logical_not_p, logical_not = _nondiff_unary("logical_not", np.logical_not)


def _round_impl(x: Any, *, decimals: int) -> Any:
    return np.round(x, decimals)


round_p = elementwise("round", _round_impl)
defxp(round_p, lambda xp, x, *, decimals: xp.round(x * 10.0 ** decimals) / 10.0 ** decimals
      if decimals else xp.round(x))
defjvp_zero(round_p)
defvectorized(round_p)


def round(a: Any, decimals: int = 0, out: Any = None) -> Any:  # noqa: A001  (NumPy's name)
    """``numpy.round`` (half to even); derivative zero almost everywhere."""
    if not needs_bind(a):
        return np.round(a, decimals, out=out)
    if out is not None:
        raise TypeError("round: out= is not supported for values being differentiated")
    return bind(round_p, a, decimals=int(decimals))


around = round


def _nondiff_binary(name: str, np_fn: Any) -> tuple[Any, Any]:
    prim = elementwise(name, np_fn)
    defjvp_zero(prim)
    defbroadcasting(prim)
    return prim, binary_op(prim, np_fn)


logical_and_p, logical_and = _nondiff_binary("logical_and", np.logical_and)
logical_or_p, logical_or = _nondiff_binary("logical_or", np.logical_or)
logical_xor_p, logical_xor = _nondiff_binary("logical_xor", np.logical_xor)
floor_divide_p, floor_divide = _nondiff_binary("floor_divide", np.floor_divide)


def isposinf(x: Any) -> Any:
    """``numpy.isposinf``."""
    if not needs_bind(x):
        return np.isposinf(x)
    return logical_and(isinf(x), greater(x, 0))


def isneginf(x: Any) -> Any:
    """``numpy.isneginf``."""
    if not needs_bind(x):
        return np.isneginf(x)
    return logical_and(isinf(x), less(x, 0))
