"""Linearization: evaluate ``f`` at ``x`` and stage its derivative as a linear program.

``linearize`` runs the forward interpreter with *staged* tangents: primal values are computed
right away with NumPy, while every operation on a tangent is recorded as an equation. The result
is ``f(x)`` and a :class:`Program` for ``ẋ ↦ J ẋ`` whose constants are the primal quantities
the derivative needs (``cos x`` for ``sin``, ``W`` for ``W x``). Transposing that program gives
the vector-Jacobian product, so reverse mode reuses the forward rules ("linearize, then
transpose").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..core.ir import Literal, Program
from ..core.primitive import get_aval, new_trace
from ..core.zeros import Zero, tangent_aval
from .forward import JVPTrace, JVPTracer
from .stage import ConstantGuard, StageTrace, StageTracer


@dataclass
class LinearMap:
    """The staged linear map ``ẋ ↦ J ẋ`` of a linearization (a linear :class:`Program`).

    Outputs whose tangent is identically zero are literals holding :class:`Zero`.
    """

    program: Program

    @property
    def in_avals(self) -> list[Any]:
        return self.program.in_avals

    @property
    def out_avals(self) -> list[Any]:
        return self.program.out_avals


def linearize_flat(
    fun: Callable[[list[Any]], list[Any]], primals: Sequence[Any],
    diff_mask: Sequence[bool] | None = None, escapes: bool = True, compact: bool = False,
) -> tuple[list[Any], LinearMap]:
    """Evaluate ``fun(primals)`` and stage its linearization with respect to the primals
    selected by ``diff_mask`` (all by default).

    ``escapes=False`` promises that the linear map is used up before the caller returns (as in
    ``grad`` and ``jacobian``): then constants shared with the caller are not snapshotted,
    since nothing can write to them in between (they are read-only while ``fun`` runs).
    ``compact=True`` (with ``escapes=False``) promises more: the program is only transposed by
    :func:`~tensorcalc.interpreters.transpose.backward_pass`, so it may hold the tape entries
    of :class:`~tensorcalc.interpreters.stage.StageTrace` (``grad``)."""
    if compact and escapes:
        raise ValueError("linearize_flat: compact=True needs escapes=False")
    if diff_mask is None:
        diff_mask = [True] * len(primals)
    guard = ConstantGuard()
    try:
        return _linearize(fun, primals, diff_mask, guard, compact)
    finally:
        guard.release(snapshot=escapes)


def _linearize(fun: Callable[[list[Any]], list[Any]], primals: Sequence[Any],
               diff_mask: Sequence[bool], guard: ConstantGuard, compact: bool = False
               ) -> tuple[list[Any], LinearMap]:
    with new_trace(StageTrace, guard, compact) as stage, new_trace(JVPTrace, stage) as jvp:
        tin = [stage.new_input(tangent_aval(get_aval(p))) for p in primals]
        args = [JVPTracer(jvp, p, t.var) if m else p  # the bare var: see JVPTracer
                for p, t, m in zip(primals, tin, diff_mask, strict=True)]
        outs = fun(args)
        out_primals = []
        out_atoms = []
        for o in outs:
            if type(o) is JVPTracer and o._trace is jvp:
                out_primals.append(o.primal)
                t = o.tangent
            else:
                out_primals.append(o)
                t = Zero(tangent_aval(get_aval(o)))
            if type(t) is StageTracer and t._trace is stage:
                out_atoms.append(t.var)
            elif type(t) is Zero:
                aval = tangent_aval(get_aval(o))
                out_atoms.append(Literal(Zero(aval), aval))
            else:
                out_atoms.append(stage.to_atom(t))
        prog = Program([t.var for t in tin], stage.equations, out_atoms)
    return out_primals, LinearMap(prog)
