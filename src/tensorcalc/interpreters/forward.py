"""Forward mode: push tangents through primitives (Jacobian-vector products).

For ``y = f(x)`` the forward interpreter carries pairs ``(x, ẋ)`` and computes ``(f(x), J ẋ)``
where ``J = ∂f/∂x`` is the generalized Jacobian (shape ``y.shape + x.shape``,
docs/lessons/jacobians.md), applied by the primitive's jvp rule without ever being formed. A
tangent that is identically zero is the value :class:`Zero`, not an array of zeros, so rules skip
it and no work is spent on it.

Rules are written with ``tensorcalc.numpy`` operations, so they are themselves differentiable
and any derivative order follows by nesting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core.backend import numpy_dtype
from ..core.context import new_trace
from ..core.errors import MissingRuleError
from ..core.ir import Equation, Literal, Var
from ..core.primitive import Primitive, Trace, Tracer, bind, get_aval
from ..core.shapes import NUMPY_CONCRETE, ShapedArray, exact_reciprocal, is_inexact_dtype
from ..core.zeros import ARG_ZERO, Zero, instantiate
from .stage import StageTrace, StageTracer, abstract_eval


class TangentOps:
    """The few operations the forward and transpose interpreters apply to (co)tangents
    themselves: adding contributions, fitting a tangent to its output's shape and dtype, and the
    strong-zero products of ``defjvp_diag``. They are primitives of :mod:`tensorcalc.ops`, which
    sits above the interpreters, so ``tensorcalc.ops`` installs them once when it is imported
    (:func:`register_tangent_ops`)."""

    __slots__ = ("add", "broadcast_to", "convert", "mul_sz", "div_sz", "mul_sz_p", "div_sz_p")

    add: Callable[[Any, Any], Any]
    broadcast_to: Callable[[Any, Any], Any]
    convert: Callable[[Any, Any], Any]
    mul_sz: Callable[[Any, Any], Any]
    div_sz: Callable[[Any, Any], Any]
    mul_sz_p: Primitive
    div_sz_p: Primitive


tangent_ops = TangentOps()


def register_tangent_ops(**ops: Any) -> None:
    """Install the operations of :class:`TangentOps` (called by ``tensorcalc.ops``)."""
    for name, op in ops.items():
        if name not in TangentOps.__slots__:
            raise TypeError(f"register_tangent_ops: unknown operation {name!r}")
        setattr(tangent_ops, name, op)


def add_tangents(a: Any, b: Any) -> Any:
    if type(a) is Zero:
        return b
    if type(b) is Zero:
        return a
    return tangent_ops.add(a, b)


def fit_tangent(t: Any, ans: Any) -> Any:
    """Broadcast a tangent contribution to the output's shape and dtype (broadcasting ops)."""
    # Fast path: tracers and arrays expose .shape/.dtype without building abstract values.
    t_shape = getattr(t, "shape", ())
    a_shape = getattr(ans, "shape", ())
    if t_shape != a_shape:
        t = tangent_ops.broadcast_to(t, a_shape)
    a_dtype = getattr(ans, "dtype", None)
    t_dtype = getattr(t, "dtype", a_dtype)
    if a_dtype is not None and t_dtype is not a_dtype:
        if type(a_dtype) is not type(t_dtype) or not isinstance(a_dtype, np.dtype):
            # an array of another library: compare the dtypes by name (core/backend.py)
            a_dtype, t_dtype = numpy_dtype(a_dtype), numpy_dtype(t_dtype)
        if t_dtype != a_dtype and is_inexact_dtype(a_dtype):
            t = tangent_ops.convert(t, a_dtype)
    return t


jvp_rules: dict[Primitive, Callable[..., tuple[Any, Any]]] = {}


#: Primitives whose jvp is the primitive itself applied to the tangent (``defjvp_linear``) and
#: bilinear ones whose product-rule terms are the primitive with the tangent in one operand's
#: place (``defbilinear`` without custom terms): :class:`JVPTrace` stages their tangent
#: equations directly under linearization.
linear_prims: set[Primitive] = set()
bilinear_prims: set[Primitive] = set()


def _set_rule(prim: Primitive, rule: Callable[..., Any]) -> None:
    """Install ``prim``'s jvp rule. It drops every direct path of the primitive, which would
    compute what the old rule computes: ``defjvp_diag``, ``defjvp_scalar``, ``defjvp_linear``
    and ``defbilinear`` declare theirs after the rule."""
    jvp_rules[prim] = rule
    diag_rules.pop(prim, None)
    scalar_rules.pop(prim, None)
    linear_prims.discard(prim)
    bilinear_prims.discard(prim)


def defjvp(prim: Primitive, *arg_rules: Callable[..., Any] | None) -> None:
    """Register per-argument jvp rules: ``rule_i(ẋ_i, ans, *primals, **params)`` returns the
    contribution ``(∂ans/∂x_i) ẋ_i``; contributions are summed. ``None`` marks an argument
    with no derivative (an index, a condition)."""

    if len(arg_rules) == 1 and arg_rules[0] is not None:
        (only_rule,) = arg_rules

        def unary_jvp_rule(primals: list[Any], tangents: list[Any], **params: Any
                           ) -> tuple[Any, Any]:
            # The common case (elementwise functions), without the loop over arguments.
            ans = bind(prim, *primals, **params)
            t = tangents[0]
            if type(t) is Zero:
                return ans, t
            return ans, fit_tangent(only_rule(t, ans, *primals, **params), ans)

        unary_jvp_rule.__name__ = unary_jvp_rule.__qualname__ = f"{prim.name}_jvp"
        _set_rule(prim, unary_jvp_rule)
        return

    def jvp_rule(primals: list[Any], tangents: list[Any], **params: Any) -> tuple[Any, Any]:
        ans = bind(prim, *primals, **params)
        out: Any = None
        for rule, t in zip(arg_rules, tangents, strict=True):
            if rule is None or type(t) is Zero:
                continue
            c = rule(t, ans, *primals, **params)
            out = c if out is None else add_tangents(out, c)
        if out is None:
            return ans, Zero(None)
        return ans, fit_tangent(out, ans)

    jvp_rule.__name__ = jvp_rule.__qualname__ = f"{prim.name}_jvp"
    _set_rule(prim, jvp_rule)


def defjvp_zero(prim: Primitive) -> None:
    """The primitive's output does not depend differentiably on its inputs (comparisons,
    sign, floor): its tangent is zero everywhere it is defined."""

    def zero_jvp(primals: list[Any], tangents: list[Any], **params: Any) -> tuple[Any, Any]:
        ans = bind(prim, *primals, **params)
        return ans, ([Zero(None)] * len(ans) if prim.multiple_results else Zero(None))

    zero_jvp.__name__ = f"{prim.name}_jvp"
    _set_rule(prim, zero_jvp)
    prim.differentiable = False


def defjvp_linear(prim: Primitive) -> None:
    """A linear primitive's jvp is the primitive applied to the tangents (zeros instantiated
    for undifferentiated linear arguments, which is rare: linear ops are mostly unary)."""

    def linear_jvp(primals: list[Any], tangents: list[Any], **params: Any) -> tuple[Any, Any]:
        ans = bind(prim, *primals, **params)
        if all(type(t) is Zero for t in tangents):
            return ans, Zero(None)
        ts = [instantiate(t, p) for t, p in zip(tangents, primals, strict=True)]
        return ans, bind(prim, *ts, **params)

    linear_jvp.__name__ = f"{prim.name}_jvp"
    _set_rule(prim, linear_jvp)
    linear_prims.add(prim)


def defjvp_rule(prim: Primitive, rule: Callable[..., tuple[Any, Any]]) -> None:
    """Register a whole jvp rule ``rule(primals, tangents, **params) -> (ans, tangent)``."""
    _set_rule(prim, rule)


#: Binary elementwise primitives with a direct path when one operand is a Python number c:
#: "pass" (x + c, c + x: ẏ = ẋ), "pass_left" (x − c only), "scale" (x · c, c · x: ẏ = c ẋ),
#: "divide" (x / c only: ẏ = ẋ / c, computed as ẋ · (1/c) when that is exact, see
#: :func:`~tensorcalc.core.shapes.exact_reciprocal`). NumPy's float scalars count as numbers.
scalar_rules: dict[Primitive, str] = {}
_NUMBERS = frozenset({float, int, np.float64, np.float32})

#: Arrays from this many entries divide by a power of two as a multiplication (below it the
#: two cost the same and the test of ``c`` would be the larger part).
RECIPROCAL_FROM = 4096


def defjvp_scalar(prim: Primitive, kind: str) -> None:
    """Declare how ``prim(x, c)`` with a Python number ``c`` moves the tangent (see
    :data:`scalar_rules`), so that :class:`JVPTrace` handles it without dispatching the rule.
    The primitive's ordinary jvp rule must agree; it is used everywhere else."""
    if kind not in ("pass", "pass_left", "scale", "divide"):
        raise ValueError(f"defjvp_scalar: unknown kind {kind!r}")
    scalar_rules[prim] = kind


_WEAK_FLOAT = ShapedArray((), np.dtype(np.float64), weak_type=True)
_NO_PARAMS: dict[str, Any] = {}  # read only: the parameters of a call that has none

#: ``(factor, quotient)`` of the unary functions registered with :func:`defjvp_diag`:
#: ``ẏ = factor(ans, x) ⊙ ẋ``, or ``ẏ = ẋ ⊘ factor(ans, x)`` when ``quotient``.
diag_rules: dict[Primitive, tuple[Callable[..., Any], bool]] = {}


def defjvp_diag(prim: Primitive, *factors: Callable[..., Any] | None,
                quotient: bool = False) -> None:
    """An elementwise primitive: its Jacobian in each operand is diagonal
    (docs/lessons/networks.md),
    ``ẏ = Σᵢ ∂ᵢf(x) ⊙ ẋᵢ`` with ``∂ᵢf = factors[i](ans, *primals, **params)`` (``None``: no
    derivative in that operand). Each product is taken with a strong zero (``mul_sz``), so a
    zero tangent entry stays zero against an infinite factor; broadcasting is undone by the
    ordinary machinery (``fit_tangent`` forward, ``unbroadcast`` in the transpose of mul_sz).

    This is *the* way to declare an elementwise derivative. For a unary primitive it also
    records the factor, so that when ``x`` is a concrete array :class:`JVPTrace` computes
    ``f′(x)`` with NumPy and stages the one product itself, without a second dispatch: the
    most common operation is the cheapest one.

    ``quotient=True`` (unary only) declares ``ẏ = ẋ ⊘ g(x)`` with ``g = factors[0]``, taken with
    ``div_sz``: ``log′(x) = 1/x`` is applied as ``ẋ / x``, exactly, not as ``ẋ · (1/x)``."""
    if not factors:
        raise TypeError(f"defjvp_diag({prim.name}): give one derivative factor per operand")
    if quotient and len(factors) != 1:
        raise TypeError(f"defjvp_diag({prim.name}): quotient=True is for unary primitives")
    if len(factors) == 1 and factors[0] is not None:
        (factor,) = factors

        def diag_jvp(t: Any, ans: Any, x: Any, **params: Any) -> Any:
            apply = tangent_ops.div_sz if quotient else tangent_ops.mul_sz
            return apply(t, factor(ans, x, **params))

        diag_jvp.__name__ = diag_jvp.__qualname__ = f"{prim.name}_jvp"
        defjvp(prim, diag_jvp)
        diag_rules[prim] = (factor, quotient)  # after the rule, which clears the shortcuts
        return
    defjvp(prim, *[None if f is None else _diag_term(prim, f, i) for i, f in enumerate(factors)])


def _diag_term(prim: Primitive, factor: Callable[..., Any], i: int) -> Callable[..., Any]:
    def diag_term(t: Any, ans: Any, *primals: Any, **params: Any) -> Any:
        return tangent_ops.mul_sz(t, factor(ans, *primals, **params))

    diag_term.__name__ = diag_term.__qualname__ = f"{prim.name}_jvp_{i}"
    return diag_term


class JVPTracer(Tracer):
    """A value and its tangent at one forward-mode level.

    Under :func:`~tensorcalc.interpreters.linearize.linearize_flat` a tangent staged by the
    direct paths below is held as the bare :class:`Var` of the level's staging trace (no
    ``StageTracer`` is made for it: those paths run for every eager elementwise operation);
    :attr:`tangent` gives it back as a tracer of that trace."""

    __slots__ = ("primal", "_tangent")

    def __init__(self, trace: Trace, primal: Any, tangent: Any) -> None:
        self._trace = trace
        self.primal = primal
        self._tangent = tangent

    @property
    def tangent(self) -> Any:
        t = self._tangent
        return StageTracer(self._trace.stage, t) if type(t) is Var else t

    @property
    def aval(self) -> ShapedArray:
        return get_aval(self.primal)

    # Read off a NumPy primal directly, not through a new aval: user code and the operations'
    # shape arithmetic (reshape, transpose, matmul's rules) ask these of every operand.
    @property
    def shape(self) -> tuple[Any, ...]:
        p = self.primal
        return p.shape if type(p) is np.ndarray else get_aval(p).shape

    @property
    def ndim(self) -> int:
        p = self.primal
        return p.ndim if type(p) is np.ndarray else get_aval(p).ndim

    @property
    def dtype(self) -> np.dtype:
        p = self.primal
        return p.dtype if type(p) is np.ndarray else get_aval(p).dtype

    def concrete_value(self) -> Any:
        p = self.primal
        return p.concrete_value() if isinstance(p, Tracer) else p


class JVPTrace(Trace):
    """Forward mode. ``stage`` is the staging trace of a linearization (None for plain
    ``jvp``): the direct paths append their tangent equations to it themselves."""

    __slots__ = ("stage",)

    def __init__(self, level: int, stage: StageTrace | None = None) -> None:
        super().__init__(level)
        self.stage = stage

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        n = len(args)
        if n == 1:
            a = args[0]
            if type(a) is JVPTracer and a._trace is self:
                return self.process_unary(prim, a, params)
        elif n == 2:
            if not params:
                return self.process_number(prim, *args)
            if prim in bilinear_prims:
                return self.bilinear(prim, args[0], args[1], params)
        return self.apply_rule(prim, args, params)

    def apply_rule(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        """The general case: the primitive's jvp rule on the primals and tangents."""
        primals = []
        tangents = []
        for a in args:
            if type(a) is JVPTracer and a._trace is self:
                primals.append(a.primal)
                t = a._tangent
                tangents.append(StageTracer(self.stage, t) if type(t) is Var else t)
            else:
                primals.append(a)
                tangents.append(ARG_ZERO)
        rule = jvp_rules.get(prim)
        if rule is None:
            raise MissingRuleError(
                prim, "jvp (forward-mode)",
                "it cannot be differentiated yet; wrap the computation with "
                "tensorcalc.stop_gradient if no derivative is needed",
            )
        ans, t = rule(primals, tangents, **params)
        if prim.multiple_results:
            return [self.pure(a, tt) for a, tt in zip(ans, t, strict=True)]
        return self.pure(ans, t)

    def process_unary(self, prim: Primitive, a: Any, params: dict[str, Any] = _NO_PARAMS
                      ) -> Any:
        """``y = f(x)`` elementwise on a concrete ``x`` (see defjvp_diag): ``ẏ = f′(x) ⊙ ẋ``,
        ``f′(x)`` computed with NumPy and the one product staged directly; anything else takes
        the rule."""
        rule = diag_rules.get(prim)
        x = a.primal
        if rule is None or type(x) not in NUMPY_CONCRETE:
            if prim in linear_prims:
                return self.linear(prim, a, params)
            return self.apply_rule(prim, (a,), params)
        factor, quotient = rule
        ans = prim.impl(x, **params) if params else prim.impl(x)
        f = factor(ans, x, **params) if params else factor(ans, x)
        t = a._tangent
        # Arrays and NumPy's inexact scalars (NUMPY_CONCRETE): a chain on a Python float is on
        # ``np.float64`` after its first operation, and a scalar, being immutable, never needs
        # the constant guard.
        if type(t) is Var and type(f) in NUMPY_CONCRETE:
            aval = t.aval
            fd = f.dtype  # `is` first: NumPy's builtin dtypes are shared objects
            if f.shape == aval.shape and (fd is aval.dtype or fd == aval.dtype):
                # The factor's literal gets the tangent's aval object: backward_pass reads
                # that as "checked" and transposes the product without testing it again.
                stage = self.stage
                var = Var(aval)
                prim = tangent_ops.div_sz_p if quotient else tangent_ops.mul_sz_p
                guard = stage.guard
                shared = guard is not None and type(f) is np.ndarray and (
                    f is ans or f is x or f.base is not None)  # may be seen by the caller
                if stage.compact:
                    if shared:
                        guard.lock(f)  # read-only while fun runs; never snapshotted
                    stage.equations.append((prim, t, f, var))
                    return JVPTracer(self, ans, var)
                lit = Literal(f, aval)
                if shared:
                    guard.capture(lit)
                stage.equations.append(Equation(prim, (t, lit), (var,), {}))
                return JVPTracer(self, ans, var)
        if type(t) is Var:
            t = StageTracer(self.stage, t)
        apply = tangent_ops.div_sz if quotient else tangent_ops.mul_sz
        return self.pure(ans, fit_tangent(apply(t, f), ans))

    def process_number(self, prim: Primitive, a: Any, b: Any) -> Any:
        """``prim(x, c)`` or ``prim(c, x)`` with ``x`` concrete and ``c`` a number (Python's,
        or a NumPy float scalar; see defjvp_scalar): the tangent passes or is scaled directly;
        a bilinear primitive takes :meth:`bilinear`; anything else takes the rule."""
        kind = scalar_rules.get(prim)
        if kind is None:
            if prim in bilinear_prims:
                return self.bilinear(prim, a, b, {})
            return self.apply_rule(prim, (a, b), {})
        ta, tb = type(a), type(b)
        if ta is JVPTracer and a._trace is self and tb in _NUMBERS:
            tracer, c, left = a, b, True
        elif tb is JVPTracer and b._trace is self and ta in _NUMBERS \
                and kind != "pass_left" and kind != "divide":
            tracer, c, left = b, a, False
        else:
            return self.apply_rule(prim, (a, b), {})
        x = tracer.primal
        if type(x) not in NUMPY_CONCRETE:
            return self.apply_rule(prim, (a, b), {})
        scale = prim_t = reciprocal = None
        if kind == "scale":
            scale, prim_t = float(c), tangent_ops.mul_sz_p
        elif kind == "divide":
            scale, prim_t = float(c), tangent_ops.div_sz_p
            if type(x) is np.ndarray and x.size >= RECIPROCAL_FROM and x.dtype.kind == "f":
                python_number = type(c) is float or type(c) is int
                r = exact_reciprocal(scale, x.dtype)
                if r is not None and (python_number
                                      or exact_reciprocal(scale, c.dtype) is not None):
                    # x / 2ᵏ as x · 2⁻ᵏ, the same bits (the reciprocal in c's own type, so
                    # NumPy promotes as it would for c)
                    scale, prim_t = r, tangent_ops.mul_sz_p
                    reciprocal = r if python_number else type(c)(r)
        if reciprocal is not None:
            ans = np.multiply(x, reciprocal)
        else:
            ans = prim.impl(x, c) if left else prim.impl(c, x)
        if ans.dtype is not x.dtype and ans.dtype != x.dtype:
            return self.apply_rule(prim, (a, b), {})  # a promotion (fit_tangent handles it)
        t = tracer._tangent
        if prim_t is not None:
            if type(t) is Var:
                # Staged directly, as in process_unary (a float literal needs no check).
                var = Var(t.aval)
                stage = self.stage
                stage.equations.append((prim_t, t, scale, var) if stage.compact else Equation(
                    prim_t, (t, Literal(scale, _WEAK_FLOAT)), (var,), {}))
                t = var
            else:
                t = (tangent_ops.mul_sz if prim_t is tangent_ops.mul_sz_p
                     else tangent_ops.div_sz)(t, scale)
        return JVPTracer(self, ans, t)

    def linear(self, prim: Primitive, a: Any, params: dict[str, Any]) -> Any:
        """A linear primitive of one operand (reshape, transpose, sum…) on a concrete value
        whose tangent is staged: ``ẏ = prim(ẋ)``, one equation appended directly."""
        x, t = a.primal, a._tangent
        if type(x) not in NUMPY_CONCRETE or type(t) is not Var or prim.multiple_results:
            return self.apply_rule(prim, (a,), params)
        try:
            ans = prim.impl(x, **params)
        except Exception:  # noqa: BLE001  (the rule's path explains the error)
            return self.apply_rule(prim, (a,), params)
        var = Var(abstract_eval(prim, [t.aval], params))
        self.stage.equations.append(Equation(prim, (t,), (var,), params))
        return JVPTracer(self, ans, var)

    def bilinear(self, prim: Primitive, a: Any, b: Any, params: dict[str, Any]) -> Any:
        """``z = B(x, y)`` (matmul, convolutions) on concrete operands with staged tangents:
        ``ż = B(ẋ, y) + B(x, ẏ)``, the terms appended directly (the sum, when both operands
        are traced, through the staging trace)."""
        ta = type(a) is JVPTracer and a._trace is self
        tb = type(b) is JVPTracer and b._trace is self
        x = a.primal if ta else a
        y = b.primal if tb else b
        if not (ta or tb) or type(x) not in NUMPY_CONCRETE or type(y) not in NUMPY_CONCRETE \
                or (ta and type(a._tangent) is not Var) or (tb and type(b._tangent) is not Var):
            return self.apply_rule(prim, (a, b), params)
        try:
            ans = prim.impl(x, y, **params)
        except Exception:  # noqa: BLE001  (the rule's path explains the error)
            return self.apply_rule(prim, (a, b), params)
        stage = self.stage
        terms = []
        for traced, t, other, left in ((ta, a._tangent if ta else None, y, True),
                                       (tb, b._tangent if tb else None, x, False)):
            if not traced:
                continue
            lit = Literal(other, get_aval(other))
            if stage.guard is not None and type(other) is np.ndarray:
                stage.guard.capture(lit)  # the other operand may be the caller's array
            ins = (t, lit) if left else (lit, t)
            var = Var(abstract_eval(prim, [v.aval for v in ins], params))
            stage.equations.append(Equation(prim, ins, (var,), params))
            terms.append(var)
        out = terms[0] if len(terms) == 1 else \
            tangent_ops.add(StageTracer(stage, terms[0]), StageTracer(stage, terms[1]))
        if type(out) is Var:
            aval = out.aval
            if aval.shape == ans.shape and aval.dtype == ans.dtype:
                return JVPTracer(self, ans, out)
            out = StageTracer(stage, out)
        return self.pure(ans, fit_tangent(out, ans))

    def pure(self, ans: Any, t: Any) -> Any:
        # A value with a zero tangent does not depend on this level's input: hand back the
        # plain value, so later operations on it cost nothing at this level.
        if type(t) is Zero:
            return ans
        if type(t) is StageTracer and t._trace is self.stage:
            t = t.var  # held bare, as the direct paths do (see JVPTracer)
        return JVPTracer(self, ans, t)


def jvp_flat(fun: Callable[[list[Any]], list[Any]], primals: Sequence[Any],
             tangents: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """``fun(primals)`` and its tangents, for ``fun`` of a flat list returning a flat list (an
    argument whose tangent is ``None`` or ``Zero`` is not differentiated; an output that does
    not depend on the differentiated ones gets the tangent ``Zero``)."""
    with new_trace(JVPTrace) as trace:
        args = [p if t is None or type(t) is Zero else JVPTracer(trace, p, t)
                for p, t in zip(primals, tangents, strict=True)]
        outs = fun(args)
        ps, ts = [], []
        for o in outs:
            if type(o) is JVPTracer and o._trace is trace:
                ps.append(o.primal)
                ts.append(o.tangent)
            else:
                ps.append(o)
                ts.append(Zero(None))
    return ps, ts
