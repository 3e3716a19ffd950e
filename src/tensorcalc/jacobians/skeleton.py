"""The skeleton of a structured Jacobian, remembered per program shape.

:func:`~tensorcalc.jacobians.plan.make_plan` builds, for every call, the graph of the live
equations of the linearized program, finds its elimination order (remembered per graph
structure) and counts the sweeps' costs for ``print(plan)``. Only the numbers in the local
Jacobians change from one point to the next; the rest follows from the program's *shape*:

* which variables each equation reads and the shapes it makes, numbered in program order
  (inputs ``0 … k−1``, then each equation's outputs): an eager ``jacobian(f)(x)`` traces ``f``
  again at each call, so its variables are new objects, but their numbers repeat; this decides
  the live equations;
* the structure (kind and size) of each local Jacobian between two numbered variables: this
  decides the graph (:class:`~tensorcalc.accumulate.graph.LinearizedGraph`, on the numbers),
  its elimination order and the positions of the outputs that are variables.

So a call numbers its variables, computes its local Jacobians (the numbers, which it must) and
eliminates on the remembered graph: the graph building, pruning and order lookup of
``make_plan`` are paid once per shape. Two programs with equal keys have equal graphs vertex
for vertex (the same construction, with the same insertion order that breaks ties), so the
products and their order are those ``make_plan``'s graph would give.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ..accumulate import local as L
from ..accumulate.graph import LinearizedGraph
from ..core.ir import Program, Var
from .pattern import live_equations
from .plan import _ORDERS, STRUCTURED_LIMIT
from .structured import NotStructured, local_jacobians
from .sweeps import Linearized

#: Program shapes whose skeletons are remembered (the oldest dropped first).
SKELETON_CACHE_SIZE = 256
#: Local-Jacobian structures remembered per program shape (a constant that is sometimes a
#: scalar and sometimes an array gives two).
STRUCTURES_PER_SHAPE = 8


@dataclass(frozen=True)
class Elimination:
    """What :func:`~tensorcalc.jacobians.structured.structured_jacobian` reads of a plan: the
    graph on numbered variables, the order, the local Jacobians on those numbers, and the
    positions of the outputs that are variables."""

    graph: LinearizedGraph
    order: list[int]
    locals: dict[tuple[int, int], L.Local]
    positions: list[int]


class _Shape:
    """One program shape: its live equations (None: too long to plan) and its graphs by the
    structures of its local Jacobians."""

    __slots__ = ("live", "graphs")

    def __init__(self, live: list[int] | None) -> None:
        self.live = live
        self.graphs: dict[tuple, tuple[LinearizedGraph, list[int], list[int]]] = {}


class _NumberedEquation:
    """An equation on variable numbers (a literal input is None), for ``from_equations``."""

    __slots__ = ("inputs", "outputs")

    def __init__(self, inputs: tuple[int | None, ...], outputs: tuple[int, ...]) -> None:
        self.inputs = inputs
        self.outputs = outputs


_lock = threading.Lock()  # guards the dictionaries' updates, never a search
_shapes: OrderedDict[tuple, _Shape] = OrderedDict()


def clear() -> None:
    with _lock:
        _shapes.clear()


def elimination_for(lin: Linearized) -> Elimination | None:
    """The structured elimination of ``lin`` on its remembered skeleton, or None where
    ``make_plan`` must decide (no structured form, a program longer than
    :data:`~tensorcalc.jacobians.plan.STRUCTURED_LIMIT`, a variable no equation sets)."""
    prog = lin.program
    numbered = _number(prog)
    if numbered is None:
        return None
    num, key, eqs = numbered
    shape = _shapes.get(key)
    if shape is None:
        shape = _Shape(_live(prog))
        with _lock:
            _shapes[key] = shape
            while len(_shapes) > SKELETON_CACHE_SIZE:
                _shapes.popitem(last=False)
    if shape.live is None:
        return None
    live = [prog.equations[k] for k in shape.live]
    try:
        locals_ = local_jacobians(Program(prog.inputs, live, prog.outputs))
    except NotStructured:
        return None
    values = {(num[u], num[w]): jac for (u, w), jac in locals_.items()}
    structures = tuple((u, w, jac.structure) for (u, w), jac in values.items())
    hit = shape.graphs.get(structures)
    if hit is None:
        hit = _skeleton([eqs[k] for k in shape.live], key, values)
        with _lock:
            if len(shape.graphs) >= STRUCTURES_PER_SHAPE:
                shape.graphs.pop(next(iter(shape.graphs)))
            shape.graphs[structures] = hit
    graph, order, positions = hit
    return Elimination(graph, order, values, positions)


def _number(prog: Program) -> tuple[dict[Var, int], tuple, list[_NumberedEquation]] | None:
    """Each variable's number, the program's shape key and its numbered equations (None when
    an equation or output reads a variable that is neither an input nor set before)."""
    num: dict[Var, int] = {v: k for k, v in enumerate(prog.inputs)}
    eqs: list[_NumberedEquation] = []
    parts: list[tuple] = []
    for eq in prog.equations:
        ins: list[int | None] = []
        for a in eq.inputs:
            if isinstance(a, Var):
                k = num.get(a)
                if k is None:
                    return None
                ins.append(k)
            else:
                ins.append(None)
        outs = []
        for v in eq.outputs:
            num[v] = len(num)
            outs.append(num[v])
        eqs.append(_NumberedEquation(tuple(ins), tuple(outs)))
        parts.append((eqs[-1].inputs, tuple(v.aval.shape for v in eq.outputs)))
    outputs: list[int | None] = []
    for a in prog.outputs:
        if isinstance(a, Var):
            if a not in num:
                return None
            outputs.append(num[a])
        else:
            outputs.append(None)
    key = (tuple(v.aval.shape for v in prog.inputs), tuple(parts), tuple(outputs))
    return num, key, eqs


def _live(prog: Program) -> list[int] | None:
    """The positions of the equations whose results reach an output
    (:func:`~tensorcalc.jacobians.pattern.live_equations`); None: too many to plan."""
    live = {id(eq) for eq in live_equations(prog)}
    keep = [k for k, eq in enumerate(prog.equations) if id(eq) in live]
    return keep if len(keep) <= STRUCTURED_LIMIT else None


def _skeleton(live: list[_NumberedEquation], key: tuple,
              values: dict[tuple[int, int], L.Local]
              ) -> tuple[LinearizedGraph, list[int], list[int]]:
    """The graph on numbers (as :func:`~tensorcalc.jacobians.structured.build_graph` makes it
    on variables), its elimination order and the positions of the outputs that are variables."""
    in_shapes, parts, outputs = key
    sizes = [int(math.prod(s)) for s in in_shapes]
    for _ins, out_shapes in parts:
        sizes.extend(int(math.prod(s)) for s in out_shapes)

    def structure_of(eq: _NumberedEquation, i: int, j: int) -> Any:
        a = eq.inputs[i]
        return None if a is None else values[(a, eq.outputs[j])].structure

    positions = [k for k, y in enumerate(outputs) if y is not None]
    graph = LinearizedGraph.from_equations(live, list(range(len(in_shapes))),
                                           [outputs[k] for k in positions],
                                           local_jacobian=structure_of,
                                           size_of=sizes.__getitem__)
    _costs, _best, order = _ORDERS.order_for(graph)
    return graph, order, positions
