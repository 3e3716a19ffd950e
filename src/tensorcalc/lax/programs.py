"""Program surgery for control-flow primitives: closing a staged body over its captured values,
binding some inputs to values, splitting a body into a forward and a linear part, and staging
the transpose of a linear body.

**Closure conversion.** A body staged with :func:`~tensorcalc.interpreters.stage.stage_flat`
refers to values of outer transformations (a weight being differentiated, a tracer of an
enclosing ``jit``) as literals. :func:`close_over` turns each such literal into a leading
input of the program, so that the primitive receives them as ordinary arguments and every
outer transformation sees them.

**Forward/linear split** (JAX's partial evaluation, on our IR). For a body
``(k, c, x) ↦ (c′, y)`` :func:`linearize_program` stages ``linearize`` of the body with
*staged* primal inputs. The linear program it produces, ``(k̇, ċ, ẋ) ↦ (ċ′, ẏ)``, holds the
primal quantities it needs (``1 − tanh²``, ``W``) as literals that are tracers of the outer
staging: those are the *residuals*. The forward body returns them next to its outputs, and the
linear body takes them as inputs. A residual that is itself a const or an ``x`` input is not
returned per step: the linear body reads that input directly.

**Transpose.** :func:`transpose_program` stages ``backward_pass`` of a linear body whose
non-linear inputs are bound to values, accumulating the cotangents of linear consts (they are
shared by every step) into a carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.ir import Equation, Literal, Program, Var
from ..core.primitive import Tracer, get_aval
from ..core.shapes import ShapedArray
from ..core.zeros import Zero
from ..interpreters.evaluate import eval_program
from ..interpreters.forward import add_tangents
from ..interpreters.linearize import linearize_flat
from ..interpreters.stage import stage_flat
from ..interpreters.transpose import backward_pass


def _rebuild(prog: Program, inputs: list[Var], subst: dict[int, Any]) -> Program:
    """``prog`` with atoms replaced by ``subst`` (keyed by the id of a Var or a Literal)."""

    def read(a: Any) -> Any:
        return subst.get(id(a), a)

    eqs = [Equation(eq.primitive, tuple(read(a) for a in eq.inputs), eq.outputs, eq.params)
           for eq in prog.equations]
    return Program(inputs, eqs, [read(a) for a in prog.outputs])


def _traced_literals(prog: Program) -> list[Literal]:
    """Literals of ``prog`` whose value is a tracer, in order of first appearance."""
    found: list[Literal] = []
    for eq in prog.equations:
        found.extend(a for a in eq.inputs if type(a) is Literal and isinstance(a.value, Tracer))
    found.extend(a for a in prog.outputs if type(a) is Literal and isinstance(a.value, Tracer))
    return found


def close_over(prog: Program) -> tuple[Program, list[Any]]:
    """Hoist the traced literals of ``prog`` into new leading inputs; returns the closed program
    and the values to pass for those inputs (one per distinct tracer)."""
    lits = _traced_literals(prog)
    if not lits:
        return prog, []
    by_value: dict[int, Var] = {}
    consts: list[Any] = []
    subst: dict[int, Any] = {}
    for lit in lits:
        v = by_value.get(id(lit.value))
        if v is None:
            v = by_value[id(lit.value)] = Var(ShapedArray(lit.aval.shape, lit.aval.dtype))
            consts.append(lit.value)
        subst[id(lit)] = v
    return _rebuild(prog, list(by_value.values()) + list(prog.inputs), subst), consts


def bind_inputs(prog: Program, values: dict[int, Any]) -> Program:
    """``prog`` with input ``i`` replaced by the constant ``values[i]``; the other inputs stay."""
    subst = {id(prog.inputs[i]): Literal(v, get_aval(v)) for i, v in values.items()}
    rest = [v for i, v in enumerate(prog.inputs) if i not in values]
    return _rebuild(prog, rest, subst)


def _zeros_literal(aval: ShapedArray) -> Literal:
    return Literal(np.zeros(aval.shape, aval.dtype), ShapedArray(aval.shape, aval.dtype))


@dataclass
class Split:
    """A body split into its forward and linear parts (see the module docstring).

    ``forward``: the body's inputs → its outputs, then the per-step residuals.
    ``linear``: inputs ``[k residuals, k̇ (masked)] + [ċ (masked)] + [x residuals, per-step
    residuals, ẋ (masked)]`` → ``[ċ′ (masked carries)] + [ẏ (inexact ys)]``.
    ``const_res`` / ``x_res``: the indices of the body's const / x inputs used as residuals."""

    forward: Program
    linear: Program
    const_res: list[int]
    x_res: list[int]
    n_step_res: int


def linearize_program(body: Program, mask: Sequence[bool], num_consts: int, num_carry: int,
                      out_inexact: Sequence[bool]) -> Split:
    """Split ``body`` (inputs: consts, carry, xs) into forward and linear bodies, linear in the
    inputs selected by ``mask`` (every inexact carry must be selected)."""
    nk, nc = num_consts, num_carry
    store: dict[str, Any] = {}

    def forward(ins: list[Any]) -> list[Any]:
        outs, lin = linearize_flat(lambda xs: eval_program(body, xs), ins, mask)
        kinds: dict[int, tuple[str, int]] = {id(t): ("in", i) for i, t in enumerate(ins)}
        step: list[Any] = []
        for lit in _traced_literals(lin.program):
            key = id(lit.value)
            if key not in kinds:
                kinds[key] = ("step", len(step))
                step.append(lit.value)
        store.update(lin=lin.program, kinds=kinds, step=step)
        return list(outs) + step

    fwd = stage_flat(forward, body.in_avals)
    lin: Program = store["lin"]
    kinds = store["kinds"]
    used_in = sorted({kinds[id(lit.value)][1] for lit in _traced_literals(lin)
                      if kinds[id(lit.value)][0] == "in"})
    const_res = [i for i in used_in if i < nk]
    x_res = [i for i in used_in if i >= nk + nc]
    # Carries used as residuals vary per step: they are returned like computed residuals.
    carry_res = [i for i in used_in if nk <= i < nk + nc]
    fwd = Program(fwd.inputs, fwd.equations,
                  list(fwd.outputs) + [fwd.inputs[i] for i in carry_res])
    in_vars = {i: Var(body.in_avals[i]) for i in const_res + x_res + carry_res}
    step_vars = [Var(ShapedArray(get_aval(t).shape, get_aval(t).dtype)) for t in store["step"]]
    subst: dict[int, Any] = {}
    for lit in _traced_literals(lin):
        kind, j = kinds[id(lit.value)]
        subst[id(lit)] = in_vars[j] if kind == "in" else step_vars[j]
    n_in = len(body.inputs)
    tin = [lin.inputs[i] for i in range(n_in) if mask[i]]
    k_t = [lin.inputs[i] for i in range(nk) if mask[i]]
    c_t = [lin.inputs[i] for i in range(nk, nk + nc) if mask[i]]
    x_t = [lin.inputs[i] for i in range(nk + nc, n_in) if mask[i]]
    assert len(tin) == len(k_t) + len(c_t) + len(x_t)
    inputs = ([in_vars[i] for i in const_res] + k_t + c_t + [in_vars[i] for i in x_res]
              + step_vars + [in_vars[i] for i in carry_res] + x_t)
    outs = [a for a, keep in zip(lin.outputs, out_inexact, strict=True) if keep]
    for a in outs:
        if type(a) is Literal and type(a.value) is Zero:
            subst[id(a)] = _zeros_literal(a.aval)
    linear = _rebuild(Program(lin.inputs, lin.equations, outs), inputs, subst)
    return Split(fwd, linear, const_res, x_res, len(step_vars) + len(carry_res))


def transpose_program(linear: Program, defined: dict[int, ShapedArray], num_consts: int,
                      num_carry: int) -> Program:
    """Stage the transpose of a linear body ``(k, c, x) ↦ (c′, y)``.

    ``defined`` maps the indices of the non-linear inputs (residual consts and xs) to their
    avals. The result has inputs ``[k residuals] + [k̄ accumulators, c̄′] + [x residuals, ȳ]``
    and outputs ``[k̄ accumulated, c̄] + [x̄ for linear xs]``: one step of the reverse scan."""
    nk, nc = num_consts, num_carry
    n_in = len(linear.inputs)
    k_def = [i for i in range(nk) if i in defined]
    k_lin = [i for i in range(nk) if i not in defined]
    x_def = [i for i in range(nk + nc, n_in) if i in defined]
    x_lin = [i for i in range(nk + nc, n_in) if i not in defined]
    out_avals = linear.out_avals
    in_avals = ([defined[i] for i in k_def] + [linear.in_avals[i] for i in k_lin]
                + [ShapedArray(a.shape, a.dtype) for a in out_avals[:nc]]
                + [defined[i] for i in x_def]
                + [ShapedArray(a.shape, a.dtype) for a in out_avals[nc:]])

    def step(ins: list[Any]) -> list[Any]:
        it = iter(ins)
        kd = [next(it) for _ in k_def]
        acc = [next(it) for _ in k_lin]
        ct_c = [next(it) for _ in range(nc)]
        xd = [next(it) for _ in x_def]
        ct_y = list(it)
        values = dict(zip(k_def, kd, strict=True)) | dict(zip(x_def, xd, strict=True))
        partial = bind_inputs(linear, values)
        cts = backward_pass(partial, ct_c + ct_y)
        ct_k, ct_carry, ct_x = cts[:len(k_lin)], cts[len(k_lin):len(k_lin) + nc], \
            cts[len(k_lin) + nc:]
        out = [add_tangents(a, c) for a, c in zip(acc, ct_k, strict=True)]
        out += [_inst(c, linear.in_avals[i]) for c, i in zip(ct_carry, range(nk, nk + nc),
                                                              strict=True)]
        out += [_inst(c, linear.in_avals[i]) for c, i in zip(ct_x, x_lin, strict=True)]
        return out

    return stage_flat(step, in_avals)


def _inst(ct: Any, aval: ShapedArray) -> Any:
    if type(ct) is Zero:
        return np.zeros(aval.shape, aval.dtype)
    return ct
