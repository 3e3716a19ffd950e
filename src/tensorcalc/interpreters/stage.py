"""Staging: record the primitives applied to traced values as a :class:`Program`.

Every operation on a :class:`StageTracer` appends an equation instead of computing numbers; its
output's shape and dtype come from the primitive's abstract-evaluation rule, so staging works
with symbolic dimensions. Values that are not tracers of this trace (NumPy arrays, Python
scalars, tracers of outer transformations) enter the program as literals.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core.ir import Equation, Literal, Program, Var
from ..core.primitive import Primitive, Trace, Tracer, get_aval, new_trace
from ..core.shapes import ShapedArray

_abstract_cache: dict[Any, Any] = {}


def _root(a: np.ndarray) -> np.ndarray:
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a


class ConstantGuard:
    """Keeps a staged program's array constants from changing under it.

    A linearization refers to NumPy arrays it did not create (weights, data, the inputs). If
    the user's code wrote into one of them after it was used, the derivative would silently
    change. While the function runs, captured arrays are made read-only, so such a write fails
    loudly ("assignment destination is read-only"). When tracing ends the flags are restored,
    and every constant whose memory is still referenced elsewhere is copied, so later writes
    cannot reach the program either. Temporaries that only the program holds are not copied.
    """

    __slots__ = ("literals", "locked")

    def __init__(self) -> None:
        self.literals: list[tuple[Literal, np.ndarray]] = []
        self.locked: list[np.ndarray] = []

    def capture(self, lit: Literal) -> None:
        self.literals.append((lit, self.lock(lit.value)))

    def lock(self, value: np.ndarray) -> np.ndarray:
        """Make ``value``'s memory read-only until :meth:`release`, without a literal to
        snapshot (a factor of a compact program, used up before the transformation returns);
        returns its base array."""
        root = _root(value)
        if root.flags.writeable:
            root.flags.writeable = False
            self.locked.append(root)
        return root

    def release(self, snapshot: bool = True) -> None:
        for root in self.locked:
            root.flags.writeable = True
        self.locked.clear()
        if not snapshot:
            self.literals.clear()
            return
        for lit, root in self.literals:
            # References: this list's tuple, `root` below, getrefcount's argument, plus the
            # literal itself or the view chain leading to it. More means someone else holds it.
            if sys.getrefcount(root) > 4:
                lit.value = np.array(lit.value, copy=True)
        self.literals.clear()


def abstract_eval(prim: Primitive, avals: list[ShapedArray], params: dict[str, Any]) -> Any:
    """The primitive's output aval(s), cached: shape rules run once per signature."""
    try:
        key = (prim, tuple(avals), tuple(params.items())) if params else (prim, tuple(avals))
        out = _abstract_cache.get(key)
    except TypeError:  # unhashable parameters (index arrays): no caching
        return prim.abstract_eval(*avals, **params)
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
    """Records the operations on its tracers as equations.

    ``compact``: the program is read by nothing but ``backward_pass``, which transposes it
    before the transformation returns (``grad``). The direct paths of forward mode then record
    each product of a tangent with a constant factor as a tape entry, the tuple
    ``(prim, t, f, out)`` for ``out = prim(t, f)``, instead of an :class:`Equation` with a
    :class:`Literal`: the commonest equation of an eager gradient, at a third of the cost of
    its objects."""

    __slots__ = ("compact", "equations", "guard")

    def __init__(self, level: int, guard: ConstantGuard | None = None,
                 compact: bool = False) -> None:
        super().__init__(level)
        self.equations: list[Any] = []  # Equations, and tape entries when compact
        self.guard = guard
        self.compact = compact

    def new_input(self, aval: ShapedArray) -> StageTracer:
        return StageTracer(self, Var(aval))

    def to_atom(self, x: Any) -> Var | Literal:
        if type(x) is StageTracer and x._trace is self:
            return x.var
        lit = Literal(x, get_aval(x))
        if self.guard is not None and type(x) is np.ndarray:
            self.guard.capture(lit)
        return lit

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        to_atom = self.to_atom
        atoms = tuple([a.var if type(a) is StageTracer and a._trace is self else to_atom(a)
                       for a in args])
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
