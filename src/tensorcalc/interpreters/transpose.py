"""Transposition: turn a linear program ``ẏ = J ẋ`` into ``x̄ = Jᵀ ȳ`` (reverse mode).

Reverse mode is not a second set of derivative rules: the forward interpreter linearizes the
function into a program that is linear in the tangents, and this module runs that program
backwards, applying each linear primitive's *transpose* rule to the cotangents. This is the
trace trick (docs/lessons/differentials.md) done mechanically: ``⟨ȳ, J ẋ⟩ = ⟨Jᵀ ȳ, ẋ⟩``, e.g. for
``z = W x`` the transpose with respect to ``W`` is ``ȳ xᵀ`` (docs/lessons/networks.md).

A transpose rule receives the output cotangent and the equation's inputs, where each linear
input is an :class:`UndefinedPrimal` and every other input is its constant value; it returns one
cotangent per input (``None`` for constants). The walk is a loop over the equations in reverse
order, so programs of any length work without recursion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..core.context import _strong_zeros
from ..core.errors import MissingRuleError, ShapeError
from ..core.ir import Literal, Program, Var
from ..core.primitive import Primitive, get_aval
from ..core.shapes import NUMPY_CONCRETE, ShapedArray, shape_str
from ..core.zeros import Zero
from .forward import bilinear_prims, defjvp, defjvp_linear, tangent_ops


class UndefinedPrimal:
    """Marks the linear input of an equation being transposed (its value is not known)."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray) -> None:
        self.aval = aval

    @property
    def shape(self) -> tuple[Any, ...]:
        return self.aval.shape

    def __repr__(self) -> str:
        return f"UndefinedPrimal({self.aval.str_short()})"


def is_undefined(x: Any) -> bool:
    return type(x) is UndefinedPrimal


transpose_rules: dict[Primitive, Callable[..., Sequence[Any]]] = {}
#: ``prim(t, f)`` linear in ``t`` whose transpose in ``t`` is ``prim(t̄, f)`` itself when ``f``
#: is a constant that neither broadcasts nor promotes: ``mul_sz`` (``t̄ = ȳ ⊙ f``) and
#: ``div_sz`` (``t̄ = ȳ ⊘ f``), the staged derivative of every elementwise function.
self_transposes: dict[Primitive, Callable[[Any, Any], Any]] = {}
#: The same products while strong-zero checks are off (the first, unchecked pass of every
#: transformation): NumPy's ufunc itself, one Python call less per equation.
plain_self_transposes: dict[Primitive, Callable[[Any, Any], Any]] = {}


def deftranspose(prim: Primitive, rule: Callable[..., Sequence[Any]],
                 self_transpose: Callable[[Any, Any], Any] | None = None,
                 plain_transpose: Callable[[Any, Any], Any] | None = None) -> None:
    """Register ``rule(ct, *args, **params) -> cotangents`` for a primitive that is linear in
    some of its arguments (``mul``, ``matmul``: bilinear).

    ``self_transpose(ct, f)`` (the primitive's NumPy implementation) declares that for a
    linear first operand and a constant second operand ``f`` of the cotangent's shape and
    dtype, or a Python float, ``rule`` computes exactly ``self_transpose(ct, f)``: then
    :func:`backward_pass` calls it inline with NumPy (see :data:`self_transposes`);
    ``plain_transpose`` is what ``self_transpose`` computes while strong-zero checks are off."""
    transpose_rules[prim] = rule
    prim.linear = True
    if self_transpose is not None:
        self_transposes[prim] = self_transpose
        plain_self_transposes[prim] = plain_transpose or self_transpose


def deflinear(prim: Primitive, rule: Callable[..., Sequence[Any]]) -> None:
    """A primitive linear in all its array arguments: jvp is the primitive itself."""
    defjvp_linear(prim)
    deftranspose(prim, rule)


def defbilinear(prim: Primitive, lhs_transpose: Callable[..., Any],
                rhs_transpose: Callable[..., Any], *,
                lhs_jvp: Callable[..., Any] | None = None,
                rhs_jvp: Callable[..., Any] | None = None,
                self_transpose: Callable[[Any, Any], Any] | None = None,
                plain_transpose: Callable[[Any, Any], Any] | None = None) -> None:
    """A primitive linear in each operand separately, ``z = B(x, y)`` (``mul``, ``matmul``).

    Product rule: ``ż = B(ẋ, y) + B(x, ẏ)``; by default each term is the primitive applied with
    the tangent in that operand's place, or ``lhs_jvp(ẋ, z, x, y)`` / ``rhs_jvp(ẏ, z, x, y)``
    (``mul`` takes its tangent products with a strong zero). In a linear program exactly one
    operand is the linear one, and the transpose is ``x̄ = lhs_transpose(z̄, x_aval, y)`` or
    ``ȳ = rhs_transpose(z̄, x, y_aval)`` (``x̄ = z̄ yᵀ`` and ``ȳ = xᵀ z̄`` for ``matmul``)."""

    def lhs_term(t: Any, ans: Any, x: Any, y: Any, **params: Any) -> Any:
        return prim.bind(t, y, **params)

    def rhs_term(t: Any, ans: Any, x: Any, y: Any, **params: Any) -> Any:
        return prim.bind(x, t, **params)

    def bilinear_transpose(ct: Any, x: Any, y: Any, **params: Any) -> tuple[Any, Any]:
        if is_undefined(x):
            if is_undefined(y):
                raise TypeError(f"{prim.name}: a linear program cannot multiply two of its "
                                "own values (the map would be quadratic)")
            return lhs_transpose(ct, x.aval, y, **params), None
        return None, rhs_transpose(ct, x, y.aval, **params)

    bilinear_transpose.__name__ = bilinear_transpose.__qualname__ = f"{prim.name}_transpose"
    defjvp(prim, lhs_jvp or lhs_term, rhs_jvp or rhs_term)
    if lhs_jvp is None and rhs_jvp is None:
        bilinear_prims.add(prim)  # the direct path of JVPTrace.bilinear stages these terms
    deftranspose(prim, bilinear_transpose, self_transpose, plain_transpose)


def _accumulate(env: dict[int, Any], var: Var, ct: Any) -> None:
    old = env.get(id(var))
    env[id(var)] = ct if old is None else tangent_ops.add(old, ct)


def backward_pass(prog: Program, cts_out: Sequence[Any]) -> list[Any]:
    """Cotangents of ``prog``'s inputs given cotangents of its outputs (``Zero`` allowed).
    ``prog`` may hold the tape entries of a compact stage (``linearize_flat(compact=True)``)."""
    env: dict[int, Any] = {}
    for atom, ct in zip(prog.outputs, cts_out, strict=True):
        if isinstance(atom, Var) and type(ct) is not Zero:
            _accumulate(env, atom, ct)
    # Locals, not attribute lookups: this loop runs once per equation of every eager gradient.
    add = tangent_ops.add
    pop = env.pop
    get = env.get
    # Strong-zero checks do not change during one pass (strong_zero_checks wraps whole reruns).
    self_rule = (self_transposes if _strong_zeros.get() else plain_self_transposes).get
    for eq in reversed(prog.equations):
        if type(eq) is tuple:
            # A tape entry of a compact stage (grad): ``out = prim(t, f)``, t·f or t/f, whose
            # factor forward mode checked against the tangent's aval when it recorded it.
            prim, t, f, out = eq
            ct = pop(id(out), None)
            if ct is None:
                continue
            aval = out.aval
            if type(ct) in NUMPY_CONCRETE and ct.shape == aval.shape and (
                    ct.dtype is aval.dtype or ct.dtype == aval.dtype):
                c = self_rule(prim)(ct, f)
            else:
                c = transpose_rules[prim](ct, UndefinedPrimal(t.aval), f)[0]
            k = id(t)
            old = get(k)
            env[k] = c if old is None else add(old, c)
            continue
        prim = eq.primitive
        if prim.multiple_results:
            cts = [pop(id(v), None) for v in eq.outputs]
            if all(c is None for c in cts):
                continue
            ct: Any = [Zero(v.aval) if c is None else c
                       for v, c in zip(eq.outputs, cts, strict=True)]
        else:
            ct = pop(id(eq.outputs[0]), None)
            if ct is None:
                continue
            scale = self_rule(prim)
            if scale is not None and type(ct) in NUMPY_CONCRETE:
                # Inline, the commonest equation of an eager gradient (see self_transposes):
                # one NumPy call, no rule dispatch, no list of cotangents.
                # The factor needs no shape or dtype test of its own when its aval is the
                # tangent's aval object: the JVP fast paths stage it so (forward.py), having
                # checked it, and a literal's aval describes its value.
                t, f = eq.inputs
                if type(t) is Var and type(f) is Literal:
                    v = f.value
                    aval = t.aval
                    cd = ct.dtype  # `is` first: NumPy's builtin dtypes are shared objects
                    if (type(v) is float or type(v) in NUMPY_CONCRETE and (
                            f.aval is aval or v.shape == aval.shape and (
                                v.dtype is aval.dtype or v.dtype == aval.dtype))) \
                            and (aval.dtype is cd or aval.dtype == cd) \
                            and ct.shape == aval.shape:
                        c = scale(ct, v)
                        k = id(t)
                        old = get(k)
                        env[k] = c if old is None else add(old, c)
                        continue
        rule = transpose_rules.get(prim)
        if rule is None:
            raise MissingRuleError(
                prim, "transpose (reverse-mode)",
                "use forward mode (tc.jvp / tc.jacfwd) for this function",
            )
        args = [UndefinedPrimal(a.aval) if type(a) is Var else a.value for a in eq.inputs]
        cts_in = rule(ct, *args, **eq.params)
        for a, c in zip(eq.inputs, cts_in, strict=True):
            if c is not None and type(a) is Var and type(c) is not Zero:
                k = id(a)
                old = get(k)
                env[k] = c if old is None else add(old, c)
    return [get(id(v), Zero(v.aval)) for v in prog.inputs]


def check_cotangent(ct: Any, aval: ShapedArray, where: str) -> None:
    got = get_aval(ct)
    if got.shape != aval.shape:
        raise ShapeError(
            f"{where}: the cotangent has shape {shape_str(got.shape)} but the output it pulls "
            f"back has shape {shape_str(aval.shape)}; pass an array shaped like the output"
        )
