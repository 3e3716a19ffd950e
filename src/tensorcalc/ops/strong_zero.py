"""Strong-zero products for derivative rules: ``mul_sz`` and ``div_sz``.

A jvp rule applies a derivative factor to a tangent, ``ẏ = f′(x) ⊙ ẋ``, and a transpose rule
applies it to a cotangent, ``x̄ = f′(x) ⊙ ȳ``. Where the factor is not finite (``sqrt′(0)``,
``log′(0)``, or the derivative of a branch of ``where`` evaluated outside its domain) IEEE
arithmetic gives ``0 · ∞ = NaN`` even when the (co)tangent entry is exactly zero, i.e. when the
output does not depend on that entry at all. That is how a NaN from the branch a ``where`` did
not take reaches the gradient (the "double where" problem), and how a Jacobian built from basis
vectors gets NaN off the diagonal of ``sqrt`` at 0.

These primitives treat the zero of their FIRST operand (the tangent or cotangent) as a strong
zero:

    mul_sz(t, f) = t · f, except 0 wherever t == 0        (whatever f is: ±∞ or NaN)
    div_sz(t, f) = t / f, except 0 wherever t == 0

Both are linear in ``t``; ``mul_sz`` is bilinear like ``mul``. Their own derivatives keep the
strong zero on the (co)tangent side: ``d mul_sz(t, f) = mul_sz(ṫ, f) + mul_sz(t, ḟ)``, so the
untaken branch stays out of second derivatives too.

A nonzero (co)tangent times an infinite factor still gives ±∞, and a NaN (co)tangent still gives
NaN: only exact zeros change.

Cost: nothing in the common case. The strong zero can only turn a NaN into 0, and a NaN, once
made, reaches the result: on the (co)tangent side only ``where`` and ``index_set`` drop entries,
and they drop a 0 and a NaN alike. So the plain product is used until a transformation's final
result contains a NaN; then the transformation is run again inside
:func:`~tensorcalc.core.context.strong_zero_checks` (a per-thread mode), where these primitives
check their factor (one reduction) and mask the product when needed. Every public
transformation (``grad``, ``vjp``, ``jvp``, ``jacobian``, ``jit``, …) does that retry through
the one :func:`tensorcalc.api_util.retry_with_strong_zeros`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.backend import defxp
from ..core.context import _strong_zeros
from ..core.primitive import Primitive, bind
from ..core.shapes import ShapedArray, broadcast_shapes
from ..interpreters.batch import defbroadcasting
from ..interpreters.forward import defjvp
from ..interpreters.sparsity import defsparsity_elementwise
from ..interpreters.transpose import defbilinear, deftranspose, is_undefined
from ._base import probe_dtype
from .structural import unbroadcast

# Read on every product: the context variable's bound getter, looked up once.
_checks_on = _strong_zeros.get


def _all_finite(f: Any, nonzero: bool) -> bool:
    """True when every entry of ``f`` is finite (and nonzero if asked): the common case in which
    the plain product is already right. A sum that overflows only sends us down the slow path."""
    if type(f) is float or type(f) is int:
        return math.isfinite(f) and (not nonzero or f != 0)
    f = np.asarray(f)
    if f.dtype.kind in "biu":
        return not nonzero or bool(np.count_nonzero(f) == f.size)
    if nonzero and np.count_nonzero(f) != f.size:
        return False
    return bool(np.isfinite(f.sum()))


def _strong_zero(t: Any, r: Any) -> Any:
    r = np.asarray(r)
    return np.where(np.asarray(t) == 0, r.dtype.type(0), r)


def _mul_sz_impl(t: Any, f: Any) -> Any:
    if not _checks_on() or _all_finite(f, nonzero=False):
        return np.multiply(t, f)
    with np.errstate(invalid="ignore"):
        return _strong_zero(t, np.multiply(t, f))


def _div_sz_impl(t: Any, f: Any) -> Any:
    if not _checks_on() or _all_finite(f, nonzero=True):
        return np.true_divide(t, f)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _strong_zero(t, np.true_divide(t, f))


def _mul_sz_xp(xp: Any, t: Any, f: Any) -> Any:
    # No finiteness test on other backends (it would compute a Dask graph or sync a device):
    # under strong-zero checks the mask is applied unconditionally, one where per product.
    r = xp.multiply(t, f)
    return xp.where(t == 0, xp.zeros_like(r), r) if _checks_on() else r


def _div_sz_xp(xp: Any, t: Any, f: Any) -> Any:
    r = xp.divide(t, f)
    return xp.where(t == 0, xp.zeros_like(r), r) if _checks_on() else r


def _binary_abstract(name: str, impl: Any) -> Any:
    def abstract_eval(t: ShapedArray, f: ShapedArray) -> ShapedArray:
        shape = broadcast_shapes(t.shape, f.shape, op=name)
        return ShapedArray(shape, probe_dtype(impl, (t, f)), t.weak_type and f.weak_type)

    abstract_eval.__name__ = f"{name}_abstract_eval"
    return abstract_eval


# --- mul_sz: t · f with a strong zero in t ---------------------------------------------------

mul_sz_p = Primitive("mul_sz", _mul_sz_impl, _binary_abstract("mul_sz", _mul_sz_impl))
defxp(mul_sz_p, _mul_sz_xp)


def mul_sz(t: Any, f: Any) -> Any:
    """``t * f``, except that entries where ``t == 0`` are 0 even if ``f`` is ±inf or NaN."""
    return bind(mul_sz_p, t, f)


def _mul_sz_jvp_t(dt: Any, ans: Any, t: Any, f: Any) -> Any:
    return mul_sz(dt, f)


def _mul_sz_jvp_f(df: Any, ans: Any, t: Any, f: Any) -> Any:
    return mul_sz(t, df)  # the strong zero stays with t: no dependence where t == 0


def _mul_sz_ct_t(ct: Any, t_aval: Any, f: Any) -> Any:
    return unbroadcast(mul_sz(ct, f), t_aval)


def _mul_sz_ct_f(ct: Any, t: Any, f_aval: Any) -> Any:
    return unbroadcast(mul_sz(t, ct), f_aval)  # the strong zero stays with t


defbilinear(mul_sz_p, _mul_sz_ct_t, _mul_sz_ct_f, lhs_jvp=_mul_sz_jvp_t, rhs_jvp=_mul_sz_jvp_f,
            self_transpose=_mul_sz_impl, plain_transpose=np.multiply)
defbroadcasting(mul_sz_p)
defsparsity_elementwise(mul_sz_p)

# --- div_sz: t / f with a strong zero in t (linear in t only) -------------------------------

div_sz_p = Primitive("div_sz", _div_sz_impl, _binary_abstract("div_sz", _div_sz_impl))
defxp(div_sz_p, _div_sz_xp)


def div_sz(t: Any, f: Any) -> Any:
    """``t / f``, except that entries where ``t == 0`` are 0 even if ``f`` is 0 or NaN."""
    return bind(div_sz_p, t, f)


def _div_sz_jvp_t(dt: Any, ans: Any, t: Any, f: Any) -> Any:
    return div_sz(dt, f)


def _div_sz_jvp_f(df: Any, ans: Any, t: Any, f: Any) -> Any:
    # d(t/f)/df = -(t/f)/f = -ans/f; ans is 0 wherever t is, which keeps the strong zero.
    return mul_sz(div_sz(mul_sz(ans, df), f), -1.0)


def _div_sz_transpose(ct: Any, t: Any, f: Any) -> tuple[Any, None]:
    if not is_undefined(t):
        raise TypeError("div_sz is linear in its first operand only")
    return unbroadcast(div_sz(ct, f), t.aval), None


defjvp(div_sz_p, _div_sz_jvp_t, _div_sz_jvp_f)
deftranspose(div_sz_p, _div_sz_transpose, self_transpose=_div_sz_impl,
             plain_transpose=np.true_divide)
defbroadcasting(div_sz_p)
defsparsity_elementwise(div_sz_p)
