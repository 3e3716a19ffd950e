"""Program passes: dead-code elimination, common-subexpression elimination, constant folding
and algebraic simplification.

Each pass takes a :class:`~tensorcalc.core.ir.Program` and returns a new one computing the same
outputs. Simplifications are identities of the linear algebra the derivative programs are made
of: ``x · 1 = x``, ``x + 0 = x``, ``(xᵀ)ᵀ = x``, ``reshape(reshape(x)) = reshape(x)``, a reshape
or conversion to what ``x`` already is is ``x``. They only fire when the result's shape and
dtype equal the operand's, so a simplification never changes a broadcast or a dtype.

Each simplification is a rule of one forward sweep (:mod:`tensorcalc.compile.sweep`): the
named pass functions run their one rule over a program, and :func:`optimize` runs all of them
in a single walk, then dead-code elimination (one backward walk).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..core.ir import Equation, Literal, Program, Var
from ..core.primitive import bind
from ..core.shapes import exact_reciprocal
from ..ops.elementwise import add_p, div_p, mul_p, sub_p
from ..ops.structural import broadcast_to_p, convert_p, reshape_p, transpose_p
from .structured import (
    diagonal_matmul_rule,
    strong_zero_rule,
    uniform_constant_rule,
    whole_slice_rule,
)
from .sweep import Sweep, rewrites, run_rules

Atom = Var | Literal


def dead_code_elimination(prog: Program) -> Program:
    """Drop equations whose outputs no output depends on (one backward sweep)."""
    live = {a for a in prog.outputs if type(a) is Var}
    add = live.add
    kept: list[Equation] = []
    for eq in reversed(prog.equations):
        outs = eq.outputs
        if (outs[0] in live) if len(outs) == 1 else any(v in live for v in outs):
            kept.append(eq)
            for a in eq.inputs:
                if type(a) is Var:
                    add(a)
    kept.reverse()
    return Program(prog.inputs, kept, prog.outputs)


def signed(v: Any) -> Any:
    """A Python number, with the signs of its zeros: ``0.0 == -0.0``, but ``x · -0.0`` is not
    ``x · 0.0`` (a key by value alone would make CSE share the two)."""
    if isinstance(v, float):  # (np.float64 too)
        return v, math.copysign(1.0, v)
    if isinstance(v, complex):
        return v, math.copysign(1.0, v.real), math.copysign(1.0, v.imag)
    return v


def _literal_key(lit: Literal) -> Any:
    v = lit.value
    if isinstance(v, (bool, int, float, complex)):
        return ("py", type(v), signed(v))
    if isinstance(v, np.generic) or (isinstance(v, np.ndarray) and v.ndim == 0):
        return ("np0", np.asarray(v).dtype, signed(np.asarray(v).item()))
    return ("id", id(v))


def _params_key(params: dict[str, Any]) -> Any:
    key = tuple(sorted(params.items()))
    hash(key)
    return key


def common_subexpression_rule(eq: Equation, sw: Sweep) -> Any:
    """The outputs of an earlier equation with the same primitive, inputs and params."""
    ins: tuple[Any, ...] = eq.inputs
    for a in ins:
        if type(a) is not Var:  # literals are keyed by value (the common case has none)
            ins = tuple([b if type(b) is Var else _literal_key(b) for b in ins])
            break
    try:
        key = (eq.primitive, ins, _params_key(eq.params) if eq.params else ())
        got = sw.seen.get(key)
    except TypeError:
        return eq
    if got is not None:
        return got
    sw.seen[key] = eq.outputs
    return eq


def common_subexpression_elimination(prog: Program) -> Program:
    """Reuse the first of several equations with the same primitive, inputs and params."""
    return run_rules(prog, (common_subexpression_rule,))


_FOLD_LIMIT = 1 << 20  # fold constants up to a million elements; larger ones stay as code


def constant_folding_rule(eq: Equation, sw: Sweep) -> Any:
    """An equation whose inputs are all constants becomes its value."""
    ins = eq.inputs
    if not ins or eq.primitive.multiple_results:
        return eq
    for a in ins:
        if type(a) is not Literal:
            return eq
    value = bind(eq.primitive, *[a.value for a in ins], **eq.params)
    if np.size(value) <= _FOLD_LIMIT:
        return (Literal(value, eq.outputs[0].aval),)
    return eq


def constant_folding(prog: Program) -> Program:
    """Evaluate equations whose inputs are all constants, once, at compile time."""
    return run_rules(prog, (constant_folding_rule,))


def _is_const(a: Atom, value: float) -> bool:
    if not isinstance(a, Literal):
        return False
    v = a.value
    if type(v) in (int, float):
        return v == value  # the common case, without a NumPy round trip
    if isinstance(v, (bool, int, float, complex, np.generic, np.ndarray)):
        arr = np.asarray(v)
        return arr.size <= _FOLD_LIMIT and bool(np.all(arr == value))
    return False


def _same_aval(a: Atom, v: Var) -> bool:
    return a.aval.shape == v.aval.shape and a.aval.dtype == v.aval.dtype


_NO_OP_IF_SAME = frozenset({reshape_p, broadcast_to_p, convert_p})


def _exact_reciprocal(a: Atom, dtype: np.dtype) -> Literal | None:
    """The literal ``1/c`` for a scalar constant ``c = ±2ᵏ`` of a real float type whose
    reciprocal is a normal number of ``dtype``, the division's (result) type, else None
    (:func:`~tensorcalc.core.shapes.exact_reciprocal`: ``x / c`` and ``x · (1/c)`` are then
    the same bits; S6's two divisions by √d took 31 µs each on 65,536 entries)."""
    if type(a) is not Literal:
        return None
    v = a.value
    if not (type(v) is float or (isinstance(v, (np.floating, np.ndarray)) and np.ndim(v) == 0
                                 and np.dtype(v.dtype).kind == "f")):
        return None
    r = exact_reciprocal(float(v), dtype)
    if r is None or (type(v) is not float and exact_reciprocal(float(v), v.dtype) is None):
        return None  # (a NumPy constant holds 1/c in its own type too)
    value: Any = r if type(v) is float else (v.dtype.type(r) if isinstance(v, np.generic)
                                             else np.asarray(r, v.dtype))
    return Literal(value, a.aval)


@rewrites(mul_p, div_p, add_p, sub_p, reshape_p, broadcast_to_p, convert_p, transpose_p)
def algebraic_rule(eq: Equation, sw: Sweep) -> Any:
    """``x·1 = x``, ``x + 0 = x``, ``x / 2ᵏ = x · 2⁻ᵏ``, no-op structural ops, composed
    reshapes and transposes."""
    prim = eq.primitive
    ins = eq.inputs
    if prim is div_p:
        x, y = ins
        out_dtype = np.dtype(eq.outputs[0].aval.dtype)
        r = _exact_reciprocal(y, out_dtype) if out_dtype.kind == "f" else None
        if r is not None and np.dtype(x.aval.dtype).kind == "f":
            return Equation(mul_p, (x, r), eq.outputs, {})
    elif prim is mul_p:
        x, y = ins
        res = eq.outputs[0]
        if _is_const(y, 1.0) and _same_aval(x, res):
            return (x,)
        if _is_const(x, 1.0) and _same_aval(y, res):
            return (y,)
    elif prim is add_p or prim is sub_p:
        x, y = ins
        res = eq.outputs[0]
        if _is_const(y, 0.0) and _same_aval(x, res):
            return (x,)
        if prim is add_p and _is_const(x, 0.0) and _same_aval(y, res):
            return (y,)
    elif prim in _NO_OP_IF_SAME and _same_aval(ins[0], eq.outputs[0]):
        return (ins[0],)
    if prim is transpose_p and tuple(eq.params["perm"]) == tuple(
            range(len(eq.outputs[0].aval.shape))):
        return (ins[0],)
    if (prim is reshape_p or prim is transpose_p) and isinstance(ins[0], Var):
        inner = sw.defs.get(ins[0])
        if inner is not None and inner.primitive is prim:
            res = eq.outputs[0]
            if prim is reshape_p:
                if _same_aval(inner.inputs[0], res):
                    return (inner.inputs[0],)
                return Equation(prim, inner.inputs, eq.outputs, eq.params)
            perm = tuple(inner.params["perm"][p] for p in eq.params["perm"])
            if perm == tuple(range(len(perm))):
                return (inner.inputs[0],)
            return Equation(prim, inner.inputs, eq.outputs, {"perm": perm})
    return eq


def algebraic_simplification(prog: Program) -> Program:
    """Remove multiplications by one, additions of zero, and no-op structural operations."""
    return run_rules(prog, (algebraic_rule,))


#: The rules :func:`optimize` runs, in this order, on each equation in one sweep.
RULES = (constant_folding_rule, uniform_constant_rule, strong_zero_rule, algebraic_rule,
         diagonal_matmul_rule, whole_slice_rule, common_subexpression_rule)


def optimize(prog: Program) -> Program:
    """The default pipeline: fold constants, simplify the structure derivative programs carry
    (:mod:`tensorcalc.compile.structured`), simplify algebraically, share — each a rule of one
    forward sweep (:mod:`tensorcalc.compile.sweep`) — then drop what is dead."""
    return dead_code_elimination(run_rules(prog, RULES))
