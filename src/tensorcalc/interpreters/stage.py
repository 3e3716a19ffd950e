"""Staging: record the primitives applied to traced values as a :class:`Program`.

Every operation on a :class:`StageTracer` appends an equation instead of computing numbers; its
output's shape and dtype come from the primitive's abstract-evaluation rule, so staging works
with symbolic dimensions. Values that are not tracers of this trace (NumPy arrays, Python
scalars, tracers of outer transformations) enter the program as literals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..core.ir import Equation, Literal, Program, Var
from ..core.primitive import Primitive, Trace, Tracer, get_aval, new_trace
from ..core.shapes import ShapedArray

_abstract_cache: dict[Any, Any] = {}


def abstract_eval(prim: Primitive, avals: list[ShapedArray], params: dict[str, Any]) -> Any:
    """The primitive's output aval(s), cached: shape rules run once per signature."""
    try:
        key = (prim, tuple(avals), tuple(params.items()))
        hash(key)
    except TypeError:
        return prim.abstract_eval(*avals, **params)
    out = _abstract_cache.get(key)
    if out is None:
        out = prim.abstract_eval(*avals, **params)
        if len(_abstract_cache) > 100_000:
            _abstract_cache.clear()
        _abstract_cache[key] = out
    return out


class StageTracer(Tracer):
    __slots__ = ("var",)

    def __init__(self, trace: Trace, var: Var) -> None:
        self._trace = trace
        self.var = var

    @property
    def aval(self) -> ShapedArray:
        return self.var.aval


class StageTrace(Trace):
    __slots__ = ("equations",)

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.equations: list[Equation] = []

    def new_input(self, aval: ShapedArray) -> StageTracer:
        return StageTracer(self, Var(aval))

    def to_atom(self, x: Any) -> Var | Literal:
        if type(x) is StageTracer and x._trace is self:
            return x.var
        return Literal(x, get_aval(x))

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        atoms = tuple(self.to_atom(a) for a in args)
        out = abstract_eval(prim, [a.aval for a in atoms], params)
        if prim.multiple_results:
            outvars = tuple(Var(av) for av in out)
            self.equations.append(Equation(prim, atoms, outvars, params))
            return [StageTracer(self, v) for v in outvars]
        var = Var(out)
        self.equations.append(Equation(prim, atoms, (var,), params))
        return StageTracer(self, var)

    def program(self, inputs: Sequence[StageTracer], outputs: Sequence[Any]) -> Program:
        return Program([t.var for t in inputs], self.equations,
                       [self.to_atom(o) for o in outputs])


def stage_flat(fun: Callable[[list[Any]], list[Any]], in_avals: Sequence[ShapedArray]) -> Program:
    """Trace ``fun`` (a function of a flat list of values returning a flat list) to a Program."""
    with new_trace(StageTrace) as trace:
        ins = [trace.new_input(av) for av in in_avals]
        outs = fun(ins)
        return trace.program(ins, outs)
