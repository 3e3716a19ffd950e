"""Vertex elimination on linearized graphs: costs, orders, exact search, numeric execution.

Eliminating an intermediate ``v`` from a linearized DAG (see :mod:`.graph`) applies the chain
rule locally: for every predecessor ``u`` and successor ``w``

    ``c_wu ← c_wu + c_wv · c_vu``        (a fill-in edge if ``(u, w)`` did not exist)

and then removes ``v``. Eliminating every intermediate, in any order, leaves the bipartite
graph of Jacobian blocks ``∂y/∂x`` (Bauer's path-sum formula is invariant under the order);
only the work depends on the order. Cost model (Griewank & Walther; Naumann):

* scalar graph: eliminating ``v`` costs ``|pred(v)|·|succ(v)|`` multiplications;
* tensor graph: it costs ``Σ_{u,w} cost(c_wv · c_vu)`` with the structure-aware products of
  :func:`.structure.compose` (a diagonal edge from an elementwise op makes a product cheap).

Named orders: *forward* eliminates the intermediates in topological order (the same as pushing
tangents), *reverse* in reverse topological order (pulling adjoints), *Markowitz* greedily picks
the vertex of smallest ``|pred|·|succ|`` (ties: earliest in topological order). These are the
conventions of the AlphaGrad/Graphax vertex-elimination game, so scalar counts compare with the
anchors table. Finding the cheapest order is NP-complete; :func:`optimal_order` solves small
graphs exactly by a shortest-path search over the 2ⁿ sets of eliminated vertices.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .graph import LinearizedGraph, Vertex
from .structure import compose

__all__ = [
    "elimination_step_cost",
    "eliminate_vertex",
    "elimination_cost",
    "forward_order",
    "reverse_order",
    "markowitz_order",
    "optimal_order",
    "brute_force_order",
    "accumulate",
    "EliminationReport",
    "compare_orders",
]


def elimination_step_cost(graph: LinearizedGraph, v: Vertex) -> int:
    """Multiplications needed to eliminate ``v`` from ``graph`` in its current state."""
    total = 0
    for c_vu in graph.preds(v).values():
        for c_wv in graph.succs(v).values():
            total += compose(c_wv, c_vu)[1]
    return total


def eliminate_vertex(graph: LinearizedGraph, v: Vertex) -> int:
    """Eliminate ``v`` in place (fill-in edges are summed); return the multiplications used."""
    if v in graph.inputs or v in graph.outputs:
        raise ValueError(f"{v!r} is an input or output; only intermediates are eliminated")
    total = 0
    preds = list(graph.preds(v).items())
    succs = list(graph.succs(v).items())
    for u, c_vu in preds:
        for w, c_wv in succs:
            product, cost = compose(c_wv, c_vu)
            total += cost
            graph.add_edge(u, w, product)  # add_edge sums into an existing edge
    graph.remove_vertex(v)
    return total


def _check_order(graph: LinearizedGraph, order: Sequence[Vertex]) -> list[Vertex]:
    order = list(order)
    inter = graph.intermediates
    if len(order) != len(inter) or set(order) != set(inter):
        missing = [v for v in inter if v not in set(order)]
        extra = [v for v in order if v not in set(inter)]
        raise ValueError(
            f"an elimination order must list every intermediate once; missing {missing}, "
            f"not intermediates {extra}, length {len(order)} vs {len(inter)}"
        )
    return order


def elimination_cost(graph: LinearizedGraph, order: Sequence[Vertex]) -> int:
    """Total multiplications of eliminating all intermediates in ``order`` (graph unchanged)."""
    order = _check_order(graph, order)
    work = graph.copy()
    return sum(eliminate_vertex(work, v) for v in order)


def forward_order(graph: LinearizedGraph) -> list[Vertex]:
    """Intermediates in topological order (forward mode)."""
    return graph.intermediates


def reverse_order(graph: LinearizedGraph) -> list[Vertex]:
    """Intermediates in reverse topological order (reverse mode)."""
    return graph.intermediates[::-1]


def markowitz_order(graph: LinearizedGraph, criterion: str = "degree") -> list[Vertex]:
    """Greedy order: eliminate the cheapest-looking vertex first, re-evaluated after each step.

    ``criterion="degree"`` uses the Markowitz degree ``|pred|·|succ|`` (vertex counts, as in
    the literature and Graphax); ``"cost"`` uses the structure-aware step cost, which is the
    same on scalar graphs and better informed on tensor graphs. Ties go to the vertex that
    comes first in topological order.
    """
    if criterion not in ("degree", "cost"):
        raise ValueError(f"criterion must be 'degree' or 'cost', got {criterion!r}")
    work = graph.copy()
    position = {v: i for i, v in enumerate(graph.intermediates)}
    remaining = set(position)
    order: list[Vertex] = []
    while remaining:
        v = min(remaining, key=lambda u: (_greedy_score(work, u, criterion), position[u]))
        eliminate_vertex(work, v)
        remaining.remove(v)
        order.append(v)
    return order


def _greedy_score(graph: LinearizedGraph, v: Vertex, criterion: str) -> int:
    if criterion == "degree":
        return len(graph.preds(v)) * len(graph.succs(v))
    return elimination_step_cost(graph, v)


def _state_after(graph: LinearizedGraph, inter: list[Vertex], mask: int) -> LinearizedGraph:
    """The graph with the intermediates in ``mask`` eliminated (in topological order)."""
    work = graph.copy()
    for i, v in enumerate(inter):
        if mask >> i & 1:
            eliminate_vertex(work, v)
    return work


def optimal_order(
    graph: LinearizedGraph, max_intermediates: int = 20, upper_bound: int | None = None
) -> tuple[int, list[Vertex]]:
    """Cheapest vertex-elimination order, by Dijkstra over sets of eliminated vertices.

    The graph left after eliminating a set ``S`` does not depend on the order within ``S``
    (every edge is a path sum through ``S``), so the problem is a shortest path from ``∅`` to
    the full set in the lattice of subsets, step cost = cost of eliminating one more vertex.
    Worst case ``O(2ⁿ·n)`` steps; Dijkstra only expands sets cheaper than the optimum, and
    ``upper_bound`` (default: the best of forward, reverse and Markowitz) prunes the rest.
    On tensor graphs this assumes the structure rules, like the path sums, are
    order-independent (true for the dense, diagonal and Kronecker rules used in practice).
    Returns ``(cost, order)``.
    """
    inter = graph.intermediates
    n = len(inter)
    if n > max_intermediates:
        raise ValueError(
            f"exact search over {n} intermediates is too large (limit {max_intermediates}); "
            "use markowitz_order, or raise max_intermediates knowing it costs O(2^n)"
        )
    if upper_bound is None:
        upper_bound = min(
            elimination_cost(graph, order)
            for order in (forward_order(graph), reverse_order(graph), markowitz_order(graph))
        )
    full = (1 << n) - 1
    best: dict[int, int] = {0: 0}
    parent: dict[int, tuple[int, int]] = {}
    heap: list[tuple[int, int]] = [(0, 0)]
    done: set[int] = set()
    while heap:
        g, mask = heapq.heappop(heap)
        if mask in done or g > best[mask]:
            continue
        if mask == full:
            break
        done.add(mask)
        state = _state_after(graph, inter, mask)
        for i, v in enumerate(inter):
            if mask >> i & 1:
                continue
            nxt = mask | (1 << i)
            cost = g + elimination_step_cost(state, v)
            if cost <= upper_bound and cost < best.get(nxt, cost + 1):
                best[nxt] = cost
                parent[nxt] = (mask, i)
                heapq.heappush(heap, (cost, nxt))
    order: list[Vertex] = []
    mask = full
    while mask:
        mask, i = parent[mask]
        order.append(inter[i])
    return best[full], order[::-1]


def brute_force_order(graph: LinearizedGraph) -> tuple[int, list[Vertex]]:
    """Cheapest order by trying all ``n!`` permutations (test reference, ``n ≤ 8``)."""
    inter = graph.intermediates
    best: tuple[int, list[Vertex]] | None = None
    for perm in itertools.permutations(inter):
        cost = elimination_cost(graph, perm)
        if best is None or cost < best[0]:
            best = (cost, list(perm))
    assert best is not None
    return best


def accumulate(
    graph: LinearizedGraph,
    order: Sequence[Vertex],
    values: dict[tuple[Vertex, Vertex], np.ndarray],
    blocks: bool = False,
):
    """Numerically eliminate in ``order``; return the Jacobian of outputs w.r.t. inputs.

    ``values[(u, w)]`` is the local Jacobian ``∂w/∂u`` of shape ``(size(w), size(u))`` for
    every edge. Numerator layout: the result has shape ``(Σ size(y), Σ size(x))`` with rows
    in ``graph.outputs`` order and columns in ``graph.inputs`` order. With ``blocks=True``
    the dict ``{(x, y): ∂y/∂x}`` of nonzero blocks is returned instead. Products are dense
    NumPy matmuls: the structures are used for counting, not (yet) for execution.
    """
    order = _check_order(graph, order)
    vals: dict[tuple[Vertex, Vertex], np.ndarray] = {}
    for (u, w), jac in graph.edges.items():
        if (u, w) not in values:
            raise KeyError(f"no value for edge {u!r} -> {w!r} ({jac})")
        arr = np.asarray(values[(u, w)])
        if arr.shape != jac.shape:
            raise ValueError(f"edge {u!r} -> {w!r}: value shape {arr.shape}, expected {jac.shape}")
        vals[(u, w)] = arr
    preds = {v: set(graph.preds(v)) for v in graph.vertices}
    succs = {v: set(graph.succs(v)) for v in graph.vertices}
    for v in order:
        for u in preds[v]:
            c_vu = vals.pop((u, v))
            for w in succs[v]:
                product = vals[(v, w)] @ c_vu
                if (u, w) in vals:
                    vals[(u, w)] = vals[(u, w)] + product
                else:
                    vals[(u, w)] = product
                    succs[u].add(w)
                    preds[w].add(u)
            succs[u].discard(v)
        for w in succs[v]:
            del vals[(v, w)]
            preds[w].discard(v)
        del preds[v], succs[v]
    result = {(x, y): vals[(x, y)] for x in graph.inputs for y in graph.outputs if (x, y) in vals}
    if blocks:
        return result
    return _assemble(graph, result)


def _assemble(graph: LinearizedGraph, blocks: dict) -> np.ndarray:
    dtype = np.result_type(float, *blocks.values()) if blocks else float
    out = np.zeros(graph.jacobian_shape, dtype=dtype)
    row = 0
    for y in graph.outputs:
        col = 0
        for x in graph.inputs:
            if (x, y) in blocks:
                out[row : row + graph.size(y), col : col + graph.size(x)] = blocks[(x, y)]
            col += graph.size(x)
        row += graph.size(y)
    return out


@dataclass(frozen=True)
class EliminationReport:
    """Costs of the named elimination orders on one graph (``optimal`` None if not searched)."""

    forward: int
    reverse: int
    markowitz: int
    optimal: int | None
    orders: dict[str, list] = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        rows = [("forward", self.forward), ("reverse", self.reverse)]
        rows += [("markowitz", self.markowitz)]
        if self.optimal is not None:
            rows.append(("optimal", self.optimal))
        width = max(len(f"{c:,}") for _, c in rows)
        return "\n".join(f"{name:<10} {c:>{width},}" for name, c in rows)


def compare_orders(graph: LinearizedGraph, exact: bool = True, max_intermediates: int = 16):
    """Forward, reverse, Markowitz and (small graphs) optimal elimination costs."""
    orders = {
        "forward": forward_order(graph),
        "reverse": reverse_order(graph),
        "markowitz": markowitz_order(graph),
    }
    costs = {name: elimination_cost(graph, order) for name, order in orders.items()}
    optimal = None
    if exact and len(orders["forward"]) <= max_intermediates:
        optimal, orders["optimal"] = optimal_order(
            graph, max_intermediates, upper_bound=min(costs.values())
        )
    return EliminationReport(
        costs["forward"], costs["reverse"], costs["markowitz"], optimal, orders
    )
