"""Elementwise primitives with NumPy broadcasting.

For ``z = f(x)`` applied entrywise, the generalized Jacobian ``∂z/∂x`` is diagonal,
``diag(f′(x))`` (docs/lessons/networks.md), so both the jvp and the transpose are an elementwise
product with ``f′(x)``: ``ż = f′(x) ⊙ ẋ``. Binary operations broadcast like NumPy; their transposes
sum the cotangent back over broadcast axes (:func:`~tensorcalc.ops.structural.unbroadcast`).

Conventions at kinks (docs/conventions.md): ``abs′(0) = 0``; ``maximum``/``minimum`` split the
derivative equally on ties; ``sqrt′(0) = +inf``; comparisons and ``sign`` have zero derivative.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.backend import defxp, device
from ..core.primitive import Primitive, Tracer, bind, get_aval
from ..core.shapes import PLAIN_VALUES, ShapedArray, broadcast_shapes
from ..interpreters.batch import defbroadcasting, defvectorized
from ..interpreters.forward import (
    defjvp,
    defjvp_diag,
    defjvp_scalar,
    defjvp_zero,
)
from ..interpreters.sparsity import defsparsity_elementwise
from ..interpreters.transpose import defbilinear, deftranspose, is_undefined
from . import _base
from ._base import dtype_of, kernel_module, needs_bind, probe_dtype
from .strong_zero import div_sz, mul_sz
from .structural import unbroadcast


def _elementwise_abstract(name: str, impl: Callable[..., Any]) -> Callable[..., ShapedArray]:
    def abstract_eval(*avals: ShapedArray, **params: Any) -> ShapedArray:
        if len(avals) == 1:
            shape = avals[0].shape
        else:
            shape = broadcast_shapes(*(a.shape for a in avals), op=name)
        weak = all(a.weak_type for a in avals)
        return ShapedArray(shape, probe_dtype(impl, avals, **params), weak)

    abstract_eval.__name__ = f"{name}_abstract_eval"
    return abstract_eval


def elementwise(name: str, impl: Callable[..., Any], **kw: Any) -> Primitive:
    """A primitive applied entrywise with broadcasting; its shape rule is NumPy's and its
    sparsity rule the identity pattern (entry ``k`` of the result reads entry ``k``)."""
    prim = Primitive(name, impl, _elementwise_abstract(name, impl), **kw)
    defsparsity_elementwise(prim)
    return prim


def unary_op(prim: Primitive, np_fn: Callable[..., Any]) -> Callable[[Any], Any]:
    def op(x: Any) -> Any:
        # the set lookup first: derivative factors (cos x for sin) call these on plain arrays
        if type(x) in PLAIN_VALUES:
            return np_fn(x)
        if isinstance(x, Tracer):
            # One operand: its trace is the top one, so bind's search is skipped (this runs
            # for every traced operation); bind still reports a tracer that leaked.
            trace = x._trace
            return trace.process_unary(prim, x) if trace.active else bind(prim, x)
        if needs_bind(x):
            return bind(prim, x)
        try:
            return np_fn(x)
        except Exception:
            # A list holding traced values (tnp.sin([a, b])): stacked, as tnp.asarray does.
            # Handled here rather than by numpy._kinds.accepting_lists, whose wrapper would
            # cost every traced unary operation one more call.
            if type(x) not in (list, tuple) or _base.nested_asarray is None:
                raise
            return op(_base.nested_asarray(x))

    op.__name__ = op.__qualname__ = np_fn.__name__
    op.handles_lists = True  # type: ignore[attr-defined]
    op.__doc__ = f"``numpy.{np_fn.__name__}``, differentiable (primitive ``{prim.name}``)."
    return op


def binary_op(prim: Primitive, np_fn: Callable[..., Any]) -> Callable[[Any, Any], Any]:
    def op(x: Any, y: Any) -> Any:
        tx, ty = type(x), type(y)
        if tx in PLAIN_VALUES:
            if ty in PLAIN_VALUES:
                return np_fn(x, y)
            if (tx is float or tx is int) and isinstance(y, Tracer) and y._trace.active:
                return y._trace.process_number(prim, x, y)  # a number and one tracer
        elif (ty is float or ty is int) and isinstance(x, Tracer) and x._trace.active:
            return x._trace.process_number(prim, x, y)
        if isinstance(x, Tracer) or isinstance(y, Tracer) or needs_bind(x) or needs_bind(y):
            return bind(prim, x, y)
        return np_fn(x, y)

    op.__name__ = op.__qualname__ = np_fn.__name__
    op.__doc__ = f"``numpy.{np_fn.__name__}`` with broadcasting (primitive ``{prim.name}``)."
    return op


def _same(t: Any, *_: Any, **__: Any) -> Any:
    return t


# --- add, sub, neg: linear ------------------------------------------------------------------

add_p = elementwise("add", np.add)
add = binary_op(add_p, np.add)


def _add_transpose(ct: Any, x: Any, y: Any) -> tuple[Any, Any]:
    return (unbroadcast(ct, x.aval) if is_undefined(x) else None,
            unbroadcast(ct, y.aval) if is_undefined(y) else None)


defjvp(add_p, _same, _same)
defjvp_scalar(add_p, "pass")
deftranspose(add_p, _add_transpose)
defbroadcasting(add_p)

sub_p = elementwise("sub", np.subtract)
subtract = binary_op(sub_p, np.subtract)


def _sub_jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return negative(t)


def _sub_transpose(ct: Any, x: Any, y: Any) -> tuple[Any, Any]:
    return (unbroadcast(ct, x.aval) if is_undefined(x) else None,
            unbroadcast(negative(ct), y.aval) if is_undefined(y) else None)


defjvp(sub_p, _same, _sub_jvp_y)
defjvp_scalar(sub_p, "pass_left")
deftranspose(sub_p, _sub_transpose)
defbroadcasting(sub_p)

neg_p = elementwise("neg", np.negative)
negative = unary_op(neg_p, np.negative)
defjvp(neg_p, lambda t, ans, x: negative(t))
deftranspose(neg_p, lambda ct, x: (negative(ct),))
defvectorized(neg_p)

# --- mul, div: bilinear / linear in the numerator -------------------------------------------

mul_p = elementwise("mul", np.multiply)
multiply = binary_op(mul_p, np.multiply)


# Tangents and cotangents are multiplied with a strong zero (mul_sz: 0 · ∞ = 0 · NaN = 0), so a
# zero (co)tangent entry never picks up a NaN from a non-finite factor: this is what keeps the
# branch a `where` did not take out of the derivative (docs/conventions.md, ops/strong_zero.py).


def _mul_jvp_x(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return mul_sz(t, y)


def _mul_jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return mul_sz(t, x)


def _mul_ct_x(ct: Any, x_aval: Any, y: Any) -> Any:
    return unbroadcast(mul_sz(ct, y), x_aval)


def _mul_ct_y(ct: Any, x: Any, y_aval: Any) -> Any:
    return unbroadcast(mul_sz(ct, x), y_aval)


defbilinear(mul_p, _mul_ct_x, _mul_ct_y, lhs_jvp=_mul_jvp_x, rhs_jvp=_mul_jvp_y)
defjvp_scalar(mul_p, "scale")
defbroadcasting(mul_p)

div_p = elementwise("div", np.true_divide)
divide = true_divide = binary_op(div_p, np.true_divide)


def _div_jvp_x(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return div_sz(t, y)


def _div_jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
    return mul_sz(t, negative(divide(ans, y)))  # d(x/y)/dy = -x/y² = -ans/y


def _div_transpose(ct: Any, x: Any, y: Any) -> tuple[Any, None]:
    if not is_undefined(x):
        raise TypeError("div is linear in its numerator only")
    return unbroadcast(div_sz(ct, y), x.aval), None  # strong zero: 0 / 0 = 0 (see mul)


defjvp(div_p, _div_jvp_x, _div_jvp_y)
defjvp_scalar(div_p, "divide")
deftranspose(div_p, _div_transpose)
defbroadcasting(div_p)

# --- power ---------------------------------------------------------------------------------

pow_p = elementwise("pow", np.power)
power = binary_op(pow_p, np.power)


def _pow_jvp_x(t: Any, ans: Any, x: Any, y: Any) -> Any:
    if isinstance(y, (int, float)) and not isinstance(y, bool):
        if y == 0:
            return mul_sz(t, 0.0)
        if y == 1:
            return t
        if y == 2:
            return mul_sz(t, multiply(2.0, x))
    return mul_sz(t, multiply(y, power(x, subtract(y, 1))))


def _pow_jvp_y(t: Any, ans: Any, x: Any, y: Any) -> Any:
    # d(x^y)/dy = log(x) x^y; at x = 0 (where x^y = 0 for y > 0) the product is taken as 0.
    safe_x = where(equal(x, 0), 1.0, x)
    return mul_sz(t, multiply(log(safe_x), ans))


defjvp(pow_p, _pow_jvp_x, _pow_jvp_y)
defbroadcasting(pow_p)

# --- transcendental functions ---------------------------------------------------------------

exp_p = elementwise("exp", np.exp)
exp = unary_op(exp_p, np.exp)
defjvp_diag(exp_p, lambda ans, x: ans)
defvectorized(exp_p)

log_p = elementwise("log", np.log)
log = unary_op(log_p, np.log)
defjvp_diag(log_p, lambda ans, x: x, quotient=True)  # ẏ = ẋ / x, exactly
defvectorized(log_p)

sin_p = elementwise("sin", np.sin)
sin = unary_op(sin_p, np.sin)
cos_p = elementwise("cos", np.cos)
cos = unary_op(cos_p, np.cos)
defjvp_diag(sin_p, lambda ans, x: cos(x))
defjvp_diag(cos_p, lambda ans, x: negative(sin(x)))
defvectorized(sin_p)
defvectorized(cos_p)

tanh_p = elementwise("tanh", np.tanh)
tanh = unary_op(tanh_p, np.tanh)


def _tanh_factor(ans: Any, x: Any) -> Any:
    # tanh' = 1 - tanh². Operators, not tnp calls: on the NumPy arrays of an eager gradient
    # they are NumPy's own (no wrapper to pass), on tracers the same primitives.
    return 1.0 - ans * ans


defjvp_diag(tanh_p, _tanh_factor)
defvectorized(tanh_p)
_jit_tanh: Any = False  # the kernel module once looked up (None: NumPy's tanh under jit too)
#: The fewest entries for which jit runs its own float64 tanh: below, NumPy's. The choice
#: depends on the shape alone (never on the calls before), like softmax's row kernels (the same
#: bound, ops/softmax.py): a program of small arrays never pays numba's start (≈ 0.9 s).
TANH_KERNEL_FROM = 2048


def numpy_tanh_is_vectorized() -> bool:
    """Whether NumPy's float64 ``tanh`` runs its own vector loop on this CPU: the AVX-512
    one (from Intel's SVML). Then it is as fast as jit's kernel (1.6 against 1.8 ns per entry
    measured on an AVX-512 Xeon) and jit keeps it, with NumPy's bits and no numba start;
    without AVX-512 (AVX2 measured on an EPYC) NumPy's is a scalar loop of 16–18 ns."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # NumPy's layout changed: assume the scalar loop, as before
        return False
    return bool(features.get("AVX512_SKX"))


def jit_tanh_wanted() -> bool:
    """Whether jit runs its own float64 ``tanh`` kernel where numba is installed: where NumPy's
    loop is scalar (:func:`numpy_tanh_is_vectorized`), unless ``TENSORCALC_TANH=numpy``;
    always with ``TENSORCALC_TANH=kernel``."""
    switch = os.environ.get("TENSORCALC_TANH", "").lower()
    return switch == "kernel" or (switch != "numpy" and not numpy_tanh_is_vectorized())


def jit_tanh(dtype: Any, size: int) -> Any:
    """jit's implementation of ``tanh`` for ``size`` entries of ``dtype`` (the ``jit_kernel``
    rule): the module :mod:`._tanh_kernel` (``numpy_out(x, out=)``) for float64 from
    :data:`TANH_KERNEL_FROM` entries with numba installed, where NumPy's own loop is scalar
    (:func:`numpy_tanh_is_vectorized`), else None: NumPy's ``tanh``, as eager code runs.
    ``TENSORCALC_TANH=numpy`` or ``=kernel`` (read once per process) decides instead."""
    global _jit_tanh
    if size < TANH_KERNEL_FROM or np.dtype(dtype) != np.float64:
        return None
    if _jit_tanh is False:
        _jit_tanh = kernel_module("TENSORCALC_TANH", "tensorcalc.ops._tanh_kernel") \
            if jit_tanh_wanted() else None
    return _jit_tanh


tanh_p.jit_kernel = jit_tanh  # type: ignore[attr-defined]

sqrt_p = elementwise("sqrt", np.sqrt)
sqrt = unary_op(sqrt_p, np.sqrt)


def _sqrt_factor(ans: Any, x: Any) -> Any:
    with np.errstate(divide="ignore"):
        return divide(0.5, ans)  # sqrt'(0) = +inf, documented


defjvp_diag(sqrt_p, _sqrt_factor)
defvectorized(sqrt_p)

# --- kinks: abs, sign, maximum, minimum -----------------------------------------------------

sign_p = elementwise("sign", np.sign)
sign = unary_op(sign_p, np.sign)
defjvp_zero(sign_p)
defvectorized(sign_p)

abs_p = elementwise("abs", np.abs)
defjvp_diag(abs_p, lambda ans, x: sign(x))  # abs'(0) = sign(0) = 0 (real x only)
defvectorized(abs_p)


def absolute(x: Any) -> Any:
    """``numpy.abs``, differentiable (primitive ``abs``; ``abs_c`` for complex values, whose
    derivative is not the elementwise product ``sign(z) ż``: see ops/complex_ops.py)."""
    if not needs_bind(x):
        return np.abs(x)
    if dtype_of(x).kind == "c":
        from .complex_ops import abs_complex  # complex_ops builds on this module

        return abs_complex(x)
    return bind(abs_p, x)


abs = absolute  # noqa: A001  (NumPy's name)


def _tie_weight(x: Any, y: Any, ans: Any, first_wins: Callable[..., Any]) -> Any:
    """Weight of ``x`` in max/min: 1 where it wins, 0 where it loses, 1/2 on a tie."""
    dtype = get_aval(ans).dtype
    dtype = dtype if np.issubdtype(dtype, np.inexact) else np.float64
    w = where(first_wins(x, y), 1.0, where(equal(x, y), 0.5, 0.0))
    return w.astype(dtype) if isinstance(w, np.ndarray) else w


maximum_p = elementwise("maximum", np.maximum)
maximum = binary_op(maximum_p, np.maximum)
minimum_p = elementwise("minimum", np.minimum)
minimum = binary_op(minimum_p, np.minimum)


def _maximum_factor_x(ans: Any, x: Any, y: Any) -> Any:
    return _tie_weight(x, y, ans, greater)


def _maximum_factor_y(ans: Any, x: Any, y: Any) -> Any:
    return _tie_weight(y, x, ans, greater)


def _minimum_factor_x(ans: Any, x: Any, y: Any) -> Any:
    return _tie_weight(x, y, ans, less)


def _minimum_factor_y(ans: Any, x: Any, y: Any) -> Any:
    return _tie_weight(y, x, ans, less)


defjvp_diag(maximum_p, _maximum_factor_x, _maximum_factor_y)
defjvp_diag(minimum_p, _minimum_factor_x, _minimum_factor_y)
defbroadcasting(maximum_p)
defbroadcasting(minimum_p)

# --- comparisons: no derivative -------------------------------------------------------------

lt_p = elementwise("lt", np.less)
less = binary_op(lt_p, np.less)
le_p = elementwise("le", np.less_equal)
less_equal = binary_op(le_p, np.less_equal)
gt_p = elementwise("gt", np.greater)
greater = binary_op(gt_p, np.greater)
ge_p = elementwise("ge", np.greater_equal)
greater_equal = binary_op(ge_p, np.greater_equal)
eq_p = elementwise("eq", np.equal)
equal = binary_op(eq_p, np.equal)
ne_p = elementwise("ne", np.not_equal)
not_equal = binary_op(ne_p, np.not_equal)
for _p in (lt_p, le_p, gt_p, ge_p, eq_p, ne_p):
    defjvp_zero(_p)
    defbroadcasting(_p)

# --- select (where) -------------------------------------------------------------------------

select_p = elementwise("select", np.where)


@defxp(select_p)
def _select_xp(xp: Any, c: Any, x: Any, y: Any) -> Any:
    if not hasattr(x, "dtype") and not hasattr(y, "dtype"):  # where() needs one array
        x = xp.asarray(x, device=device(c))
    return xp.where(c, x, y)


def where(condition: Any, x: Any = None, y: Any = None) -> Any:
    """``numpy.where(condition, x, y)``; the condition gets no derivative.

    The derivative flows only through the branch taken at each entry (the one-argument form
    ``where(condition)`` returns indices and is not differentiable)."""
    if x is None and y is None:
        if needs_bind(condition):
            return np.nonzero(condition.concrete_value())
        return np.nonzero(condition)
    if needs_bind(condition) or needs_bind(x) or needs_bind(y):
        return bind(select_p, condition, x, y)
    return np.where(condition, x, y)


def _select_jvp_x(t: Any, ans: Any, c: Any, x: Any, y: Any) -> Any:
    return where(c, t, 0.0)


def _select_jvp_y(t: Any, ans: Any, c: Any, x: Any, y: Any) -> Any:
    return where(c, 0.0, t)


def _select_transpose(ct: Any, c: Any, x: Any, y: Any) -> tuple[None, Any, Any]:
    if is_undefined(c):
        raise TypeError("select is not linear in its condition")
    return (None,
            unbroadcast(where(c, ct, 0.0), x.aval) if is_undefined(x) else None,
            unbroadcast(where(c, 0.0, ct), y.aval) if is_undefined(y) else None)


defjvp(select_p, None, _select_jvp_x, _select_jvp_y)
deftranspose(select_p, _select_transpose)
defbroadcasting(select_p)
