"""Planning a Jacobian: forward sweeps, reverse sweeps, or structured elimination, and why.

Costs are scalar multiplications (:mod:`tensorcalc.accumulate.structure`):

- *sweeps*: a forward sweep applies every local Jacobian once to a tangent, so ``N`` sweeps
  cost ``N · Σ nnz(c)`` (reverse: ``M · Σ nnz(c)``), identities and permutations free;
- *elimination* in forward / reverse / Markowitz / exact order multiplies the local Jacobians
  themselves, structure-aware (``diag · dense`` costs the dense block's size). Forward order
  is forward accumulation without the identity seed; on a chain, the exact optimum is the
  matrix-chain DP (its bracketing turned into an elimination order).

``mode="auto"`` takes the cheapest. ``print(plan)`` lists each step's local Jacobian, the
counts and the choice.

The choice depends only on the graph's structure (its topology, sizes and edge kinds), never on
the numbers in the local Jacobians, so it is remembered per structure: a Jacobian taken again
at a new point (a Newton loop, a benchmark) rebuilds the local Jacobians but re-uses the order
instead of re-running the order heuristics, the chain DP and the exact search.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from html import escape
from typing import Any

from ..accumulate import local as L
from ..accumulate.chain import chain_cost
from ..accumulate.eliminate import (
    elimination_cost,
    forward_order,
    markowitz_order,
    optimal_order,
    reverse_order,
)
from ..accumulate.graph import LinearizedGraph
from ..core.ir import Program, Var, format_program
from .pattern import live_equations
from .structured import NotStructured, build_graph, local_jacobians
from .sweeps import Linearized

#: Exact order search is tried up to this many intermediate values.
EXACT_LIMIT = 8
#: Programs longer than this are not planned structurally (planning would cost more than it
#: saves); they are differentiated by sweeps.
STRUCTURED_LIMIT = 2000
#: Graph structures whose elimination order is remembered (least recently used dropped first).
ORDER_CACHE_SIZE = 256


@dataclass
class JacobianPlan:
    """What ``jacobian(mode="auto")`` does for one function at one point, and why."""

    in_size: int
    out_size: int
    sweep_costs: dict[str, int]
    elimination_costs: dict[str, int]
    choice: str
    reason: str
    program: Program | None = field(default=None, repr=False)
    graph: LinearizedGraph | None = None
    order: list[Any] = field(default_factory=list)
    order_name: str = ""
    locals: dict[Any, L.Local] = field(default_factory=dict)
    positions: list[int] = field(default_factory=list)

    @property
    def steps(self) -> list[tuple[str, list[str]]]:
        """Each equation of the linearized program as text, with its local Jacobians (built
        when printed: a Jacobian computation never pays for the formatting)."""
        if self.program is None:
            return []
        return _describe_steps(self.program, self.locals)

    def cost(self, strategy: str) -> int:
        """Multiplications of ``"forward"``, ``"reverse"`` (elimination in those orders;
        sweep counts when no structured graph exists) or ``"optimal"`` (the best order)."""
        if strategy not in ("forward", "reverse", "optimal"):
            raise ValueError(f"plan.cost: strategy must be 'forward', 'reverse' or 'optimal', "
                             f"got {strategy!r}")
        costs = self.elimination_costs or self.sweep_costs
        if strategy == "optimal":
            return min(costs.values())
        return costs[strategy]

    def __str__(self) -> str:
        lines = [f"Jacobian plan: {self.out_size} outputs x {self.in_size} inputs"]
        if self.steps:
            lines.append("local Jacobians (linearized program):")
            for text, jacs in self.steps:
                lines.append(f"  {text}")
                lines.extend(f"      {j}" for j in jacs)
        lines.append("multiplications:")
        for name, c in self.sweep_costs.items():
            lines.append(f"  {name + ' sweeps':<24}{c:>16,}")
        for name, c in self.elimination_costs.items():
            lines.append(f"  {name + ' elimination':<24}{c:>16,}")
        chosen = self.choice + (f" ({self.order_name} order)" if self.order_name else "")
        lines.append(f"chosen: {chosen} — {self.reason}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<JacobianPlan {self.choice}: {self.out_size}x{self.in_size}>"

    def _repr_html_(self) -> str:
        return plan_html(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter display: the text form and an HTML table of the costs and the steps."""
        bundle = {"text/plain": str(self), "text/html": plan_html(self)}
        return {k: v for k, v in bundle.items()
                if (include is None or k in include) and (exclude is None or k not in exclude)}


def _chain_order(graph: LinearizedGraph) -> tuple[int, list[Any]] | None:
    """For a chain ``x → v₁ → … → y``: the DP-optimal bracketing as an elimination order."""
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        return None
    inter = graph.intermediates
    if not inter or any(len(graph.preds(v)) != 1 or len(graph.succs(v)) != 1 for v in inter):
        return None
    chain = [graph.inputs[0]]
    while len(chain) < len(inter) + 2:
        nxt = list(graph.succs(chain[-1]))
        if len(nxt) != 1:
            return None
        chain.append(nxt[0])
    if chain[-1] != graph.outputs[0]:
        return None
    factors = [graph.edge(chain[k], chain[k + 1]) for k in range(len(chain) - 1)]
    cc = chain_cost(factors)
    # A product node (later, earlier) eliminates the vertex after the earlier factors' last.
    last: dict[int, int] = {}
    order = []
    for node in cc.bracketing.postorder():
        if isinstance(node, int):
            last[id(node)] = node
        else:
            last[id(node)] = last[id(node[0])]
            order.append(chain[last[id(node[1])]])
    return cc.optimal, order


def _sweep_costs(lin: Linearized, locals_: dict[Any, L.Local] | None) -> dict[str, int]:
    if locals_ is not None:
        per = sum(j.structure.apply_cost(1) for j in locals_.values())
    else:
        per = sum(int(eq.outputs[0].aval.size) if isinstance(eq.outputs[0].aval.size, int)
                  else 0 for eq in lin.program.equations)
    per = max(per, 1)
    return {"forward": sum(lin.in_sizes) * per, "reverse": sum(lin.out_sizes) * per}


def make_plan(lin: Linearized) -> JacobianPlan:
    """Plan the Jacobian of a linearization (see the module docstring)."""
    n, m = sum(lin.in_sizes), sum(lin.out_sizes)
    live = live_equations(lin.program)
    prog = Program(lin.program.inputs, live, lin.program.outputs)
    try:
        if len(live) > STRUCTURED_LIMIT:
            raise NotStructured(f"{len(live)} equations (more than {STRUCTURED_LIMIT})")
        locals_ = local_jacobians(prog)
        graph, positions = build_graph(prog, locals_)
    except NotStructured as e:
        sweeps = _sweep_costs(lin, None)
        choice = "forward" if sweeps["forward"] <= sweeps["reverse"] else "reverse"
        return JacobianPlan(n, m, sweeps, {}, choice,
                            f"no structured form ({e}); fewer sweeps in {choice} mode")
    sweeps = _sweep_costs(lin, locals_)
    costs, best, order = _ORDERS.order_for(graph)
    plan = JacobianPlan(n, m, sweeps, costs, "structured", "", prog, graph, order, best,
                        locals_, positions)
    plan.reason = (f"{best} elimination needs {costs[best]:,} multiplications vs "
                   f"{min(sweeps.values()):,} for the cheaper sweeps")
    return plan


def choose_order(graph: LinearizedGraph) -> tuple[dict[str, int], str, list[Any]]:
    """The costs of the named elimination orders, the cheapest one's name and its order
    (ties go to forward, the order a reader expects)."""
    orders = {"forward": forward_order(graph), "reverse": reverse_order(graph),
              "markowitz": markowitz_order(graph, "cost")}
    costs = {name: elimination_cost(graph, o) for name, o in orders.items()}
    chain = _chain_order(graph)
    if chain is not None:
        costs["chain DP"], orders["chain DP"] = chain
    elif 0 < len(graph.intermediates) <= EXACT_LIMIT:
        costs["exact"], orders["exact"] = optimal_order(graph, EXACT_LIMIT,
                                                        upper_bound=min(costs.values()))
    best = min(costs, key=lambda k: (costs[k], k != "forward"))
    return costs, best, orders[best]


def structure_key(graph: LinearizedGraph) -> tuple:
    """Everything :func:`choose_order` reads, with vertices replaced by their positions: the
    sizes, the edges with their structures, the inputs and the outputs. Two graphs with the
    same key get the same costs and the same order (position for position)."""
    vertices = graph.vertices
    pos = {v: k for k, v in enumerate(vertices)}
    edges = tuple((pos[u], pos[w], jac) for u in vertices for w, jac in graph.succs(u).items())
    return (tuple(graph.size(v) for v in vertices), edges,
            tuple(pos[x] for x in graph.inputs), tuple(pos[y] for y in graph.outputs))


class _OrderCache:
    """Elimination orders by :func:`structure_key`, stored as vertex positions (a bounded
    LRU shared by every thread; the lock only guards the dictionary, never the search)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._orders: OrderedDict[tuple, tuple[dict[str, int], str, list[int]]] = OrderedDict()

    def order_for(self, graph: LinearizedGraph) -> tuple[dict[str, int], str, list[Any]]:
        key = structure_key(graph)
        with self._lock:
            hit = self._orders.get(key)
            if hit is not None:
                self._orders.move_to_end(key)
        vertices = graph.vertices
        if hit is not None:
            costs, best, positions = hit
            return dict(costs), best, [vertices[k] for k in positions]
        costs, best, order = choose_order(graph)
        pos = {v: k for k, v in enumerate(vertices)}
        with self._lock:
            self._orders[key] = (dict(costs), best, [pos[v] for v in order])
            while len(self._orders) > self.size:
                self._orders.popitem(last=False)
        return costs, best, order

    def clear(self) -> None:
        with self._lock:
            self._orders.clear()

    def __len__(self) -> int:
        return len(self._orders)


_ORDERS = _OrderCache(ORDER_CACHE_SIZE)


def _describe_steps(prog: Program, locals_: dict[Any, L.Local]) -> list[tuple[str, list[str]]]:
    text = format_program(Program(prog.inputs, prog.equations, prog.outputs)).splitlines()
    steps = []
    for k, eq in enumerate(prog.equations):
        jacs = []
        for i, a in enumerate(eq.inputs):
            if isinstance(a, Var) and (a, eq.outputs[0]) in locals_:
                jac = locals_[(a, eq.outputs[0])]
                jacs.append(f"d/d(arg {i}): {jac.describe()} {jac.rows}x{jac.cols}")
        steps.append((text[k + 1].strip(), jacs))
    return steps


def plan_html(plan: JacobianPlan) -> str:
    """An HTML table: one row per strategy with its multiplications (the chosen one in bold),
    the reason, and the local Jacobian of each step of the linearized program."""
    rows = []
    for kind, costs in (("sweeps", plan.sweep_costs), ("elimination", plan.elimination_costs)):
        for name, c in costs.items():
            pick = (kind == "elimination" and plan.choice == "structured"
                    and name == plan.order_name) or (kind == "sweeps" and plan.choice == name)
            cells = f"<td>{escape(name)} {kind}</td><td style='text-align:right'>{c:,}</td>"
            style = " style='font-weight:bold'" if pick else ""
            rows.append(f"<tr{style}>{cells}</tr>")
    what = plan.choice + (f" ({plan.order_name} order)" if plan.order_name else "")
    out = [f"<table><caption>Jacobian plan: {plan.out_size} outputs &times; {plan.in_size} "
           "inputs</caption><thead><tr><th>strategy</th><th>multiplications</th></tr></thead>",
           "<tbody>" + "".join(rows) + "</tbody>",
           f"<tfoot><tr><td colspan='2'>chosen: {escape(what)} &mdash; {escape(plan.reason)}"
           "</td></tr></tfoot></table>"]
    if plan.steps:
        steps = "".join(f"<tr><td><code>{escape(text)}</code></td><td>"
                        + "<br>".join(escape(j) for j in jacs) + "</td></tr>"
                        for text, jacs in plan.steps)
        out.append("<table><thead><tr><th>step (linearized program)</th>"
                   f"<th>local Jacobians</th></tr></thead><tbody>{steps}</tbody></table>")
    return "\n".join(out)
