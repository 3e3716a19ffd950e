"""Program passes: dead-code elimination, common-subexpression elimination, constant folding
and algebraic simplification.

Each pass takes a :class:`~tensorcalc.core.ir.Program` and returns a new one computing the same
outputs. Simplifications are identities of the linear algebra the derivative programs are made
of: ``x · 1 = x``, ``x + 0 = x``, ``(xᵀ)ᵀ = x``, ``reshape(reshape(x)) = reshape(x)``, a reshape
or conversion to what ``x`` already is is ``x``. They only fire when the result's shape and
dtype equal the operand's, so a simplification never changes a broadcast or a dtype.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.ir import Equation, Literal, Program, Var
from ..core.primitive import bind
from ..ops.elementwise import add_p, mul_p, sub_p
from ..ops.structural import broadcast_to_p, convert_p, reshape_p, transpose_p
from .structured import (
    diagonal_matmul,
    strong_zero_simplification,
    uniform_constants,
    whole_slices,
)

Atom = Var | Literal


def dead_code_elimination(prog: Program) -> Program:
    """Drop equations whose outputs no output depends on (one backward sweep)."""
    live = {id(a) for a in prog.outputs if isinstance(a, Var)}
    kept: list[Equation] = []
    for eq in reversed(prog.equations):
        if any(id(v) in live for v in eq.outputs):
            kept.append(eq)
            live.update(id(a) for a in eq.inputs if isinstance(a, Var))
    kept.reverse()
    return Program(prog.inputs, kept, prog.outputs)


def _literal_key(lit: Literal) -> Any:
    v = lit.value
    if isinstance(v, (bool, int, float, complex)):
        return ("py", type(v), v)
    if isinstance(v, np.generic) or (isinstance(v, np.ndarray) and v.ndim == 0):
        return ("np0", np.asarray(v).dtype, np.asarray(v).item())
    return ("id", id(v))


def _params_key(params: dict[str, Any]) -> Any:
    key = tuple(sorted(params.items()))
    hash(key)
    return key


class _Rewriter:
    """Substitution of variables by atoms while rebuilding a program."""

    def __init__(self) -> None:
        self.subst: dict[int, Atom] = {}

    def read(self, a: Atom) -> Atom:
        if isinstance(a, Var):
            return self.subst.get(id(a), a)
        return a


def common_subexpression_elimination(prog: Program) -> Program:
    """Reuse the first of several equations with the same primitive, inputs and params."""
    rw = _Rewriter()
    seen: dict[Any, tuple[Var, ...]] = {}
    out: list[Equation] = []
    for eq in prog.equations:
        ins = tuple(rw.read(a) for a in eq.inputs)
        try:
            key = (eq.primitive, tuple(id(a) if isinstance(a, Var) else _literal_key(a)
                                       for a in ins), _params_key(eq.params))
        except TypeError:
            key = None
        if key is not None and key in seen:
            for old, new in zip(eq.outputs, seen[key], strict=True):
                rw.subst[id(old)] = new
            continue
        if key is not None:
            seen[key] = eq.outputs
        out.append(Equation(eq.primitive, ins, eq.outputs, eq.params))
    return Program(prog.inputs, out, [rw.read(a) for a in prog.outputs])


_FOLD_LIMIT = 1 << 20  # fold constants up to a million elements; larger ones stay as code


def constant_folding(prog: Program) -> Program:
    """Evaluate equations whose inputs are all constants, once, at compile time."""
    rw = _Rewriter()
    out: list[Equation] = []
    for eq in prog.equations:
        ins = tuple(rw.read(a) for a in eq.inputs)
        if ins and all(isinstance(a, Literal) for a in ins) and not eq.primitive.multiple_results:
            value = bind(eq.primitive, *[a.value for a in ins], **eq.params)
            if np.size(value) <= _FOLD_LIMIT:
                rw.subst[id(eq.outputs[0])] = Literal(value, eq.outputs[0].aval)
                continue
        out.append(Equation(eq.primitive, ins, eq.outputs, eq.params))
    return Program(prog.inputs, out, [rw.read(a) for a in prog.outputs])


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


def algebraic_simplification(prog: Program) -> Program:
    """Remove multiplications by one, additions of zero, and no-op structural operations."""
    rw = _Rewriter()
    defs: dict[int, Equation] = {}
    out: list[Equation] = []
    for eq in prog.equations:
        ins = tuple(rw.read(a) for a in eq.inputs)
        prim = eq.primitive
        res = eq.outputs[0] if eq.outputs else None
        alias: Atom | None = None
        if prim is mul_p:
            x, y = ins
            if _is_const(y, 1.0) and _same_aval(x, res):
                alias = x
            elif _is_const(x, 1.0) and _same_aval(y, res):
                alias = y
        elif prim is add_p or prim is sub_p:
            x, y = ins
            if _is_const(y, 0.0) and _same_aval(x, res):
                alias = x
            elif prim is add_p and _is_const(x, 0.0) and _same_aval(y, res):
                alias = y
        elif prim in (reshape_p, broadcast_to_p, convert_p) and _same_aval(ins[0], res):
            alias = ins[0]
        elif prim is transpose_p and tuple(eq.params["perm"]) == tuple(range(len(res.aval.shape))):
            alias = ins[0]
        elif (prim is reshape_p or prim is transpose_p) and isinstance(ins[0], Var):
            inner = defs.get(id(ins[0]))
            if inner is not None and inner.primitive is eq.primitive:
                if prim is reshape_p:
                    ins = inner.inputs
                    alias = ins[0] if _same_aval(ins[0], res) else None
                else:
                    perm = tuple(inner.params["perm"][p] for p in eq.params["perm"])
                    ins = inner.inputs
                    if perm == tuple(range(len(perm))):
                        alias = ins[0]
                    else:
                        new = Equation(eq.primitive, ins, eq.outputs, {"perm": perm})
                        out.append(new)
                        defs[id(res)] = new
                        continue
        if alias is not None:
            rw.subst[id(res)] = alias
            continue
        new = Equation(eq.primitive, ins, eq.outputs, eq.params)
        out.append(new)
        for v in eq.outputs:
            defs[id(v)] = new
    return Program(prog.inputs, out, [rw.read(a) for a in prog.outputs])


def optimize(prog: Program) -> Program:
    """The default pipeline: fold constants, simplify the structure derivative programs carry
    (:mod:`tensorcalc.compile.structured`), simplify algebraically, share, drop what is dead."""
    prog = constant_folding(prog)
    prog = uniform_constants(prog)
    prog = strong_zero_simplification(prog)
    prog = algebraic_simplification(prog)
    prog = diagonal_matmul(prog)
    prog = whole_slices(prog)
    prog = common_subexpression_elimination(prog)
    return dead_code_elimination(prog)
