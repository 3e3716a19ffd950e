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
conventions of the AlphaGrad/Graphax vertex-elimination game, so scalar counts compare with
published tables. Finding the cheapest order is NP-complete; :func:`optimal_order` solves small
graphs exactly by a shortest-path search over the 2ⁿ sets of eliminated vertices.
"""

from __future__ import annotations

import heapq
import itertools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .graph import LinearizedGraph, Vertex
from .structure import Dense, add_structure, compose

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


def _eliminate_in_dicts(pred: dict, succ: dict, v: Vertex) -> tuple:
    """Eliminate ``v`` from bare adjacency dicts (the search's scratch copies of a graph).

    Returns the record ``(v, preds, succs, changed edges)`` of what was done.
    """
    p_v, s_v = pred.pop(v), succ.pop(v)
    for u in p_v:
        del succ[u][v]
    for w in s_v:
        del pred[w][v]
    changed = []
    for u, c_vu in p_v.items():
        for w, c_wv in s_v.items():
            old = succ[u].get(w)
            changed.append((u, w, old))
            product = compose(c_wv, c_vu)[0]
            new = product if old is None else add_structure(old, product)
            succ[u][w] = pred[w][u] = new
    return (v, p_v, s_v, changed)


def _step_costs(pred: dict, succ: dict, candidates, sizes: dict | None) -> list[tuple[int, int]]:
    """``(cost, i)`` of eliminating each candidate next, cheapest first.

    ``sizes`` (all-dense graphs only) switches to the closed form
    ``size(v) · Σ_pred size(u) · Σ_succ size(w)``, which is ``|pred|·|succ|`` on scalars.
    """
    out = []
    for i, v in candidates:
        if sizes is not None:
            total = sizes[v] * sum(sizes[u] for u in pred[v]) * sum(sizes[w] for w in succ[v])
        else:
            total = 0
            for c_vu in pred[v].values():
                for c_wv in succ[v].values():
                    total += compose(c_wv, c_vu)[1]
        out.append((total, i))
    out.sort()
    return out


def _cut_lower_bounds(graph: LinearizedGraph, inter: list[Vertex]) -> list[int]:
    """Per-vertex lower bounds on the cost of eliminating it, whatever the order.

    Whenever ``v`` is eliminated, its predecessors separate it from the inputs in the
    original graph (every path from an input reaches ``v`` through its last surviving
    vertex), so ``Σ_pred size(u)`` is at least the minimum size-weighted vertex cut between
    the inputs and ``v``; likewise for successors and outputs. On a dense graph the step
    costs ``size(v)·Σ_pred size·Σ_succ size``, hence ``size(v)·cut_in(v)·cut_out(v)``.
    """
    preds = {v: list(graph.preds(v)) for v in graph.vertices}
    succs = {v: list(graph.succs(v)) for v in graph.vertices}
    sizes = {v: graph.size(v) for v in graph.vertices}
    out = []
    for v in inter:
        cut_in = _min_vertex_cut(graph.inputs, v, succs, sizes)
        cut_out = _min_vertex_cut(graph.outputs, v, preds, sizes)
        out.append(sizes[v] * cut_in * cut_out)
    return out


def _min_vertex_cut(sources: list, target: Vertex, adjacency: dict, weight: dict) -> int:
    """Minimum total weight of vertices (target excluded) meeting every source→target path.

    Max-flow (Edmonds–Karp, iterative BFS) on the split graph: vertex ``x`` becomes
    ``(x, 0) → (x, 1)`` with capacity ``weight[x]``; edges have unbounded capacity.
    """
    big = sum(weight.values()) + 1
    cap: dict = {}

    def arc(a, b, c):
        cap.setdefault(a, {})
        cap.setdefault(b, {})
        cap[a][b] = cap[a].get(b, 0) + c
        cap[b].setdefault(a, 0)

    for x in adjacency:
        arc((x, 0), (x, 1), big if x == target else weight[x])
        for y in adjacency[x]:
            arc((x, 1), (y, 0), big)
    source = ("source",)
    for x in sources:
        arc(source, (x, 0), big)
    sink = (target, 1)
    flow = 0
    while True:
        parent = {source: None}
        queue = [source]
        for a in queue:  # BFS: the list grows while it is walked
            if sink in parent:
                break
            for b, c in cap[a].items():
                if c > 0 and b not in parent:
                    parent[b] = a
                    queue.append(b)
        if sink not in parent:
            return flow
        push, b = big, sink
        while parent[b] is not None:
            push = min(push, cap[parent[b]][b])
            b = parent[b]
        b = sink
        while parent[b] is not None:
            cap[parent[b]][b] -= push
            cap[b][parent[b]] += push
            b = parent[b]
        flow += push


def optimal_order(
    graph: LinearizedGraph, max_intermediates: int = 20, upper_bound: int | None = None
) -> tuple[int, list[Vertex]]:
    """Cheapest vertex-elimination order: A* over the sets of eliminated vertices.

    The graph left after eliminating a set ``S`` does not depend on the order within ``S``
    (every edge is a path sum through ``S``), so the problem is a shortest path from ``∅`` to
    the full set in the lattice of subsets (the exact ``O*(2ⁿ)`` subset DP), with step cost =
    cost of eliminating one more vertex. A* expands each set at most once, in order of cost
    so far plus a lower bound on the rest: on all-dense graphs the sum of the remaining
    vertices' cut bounds (see :func:`_cut_lower_bounds`; consistent, since each is at most
    that vertex's step cost at any time), else 0. Sets that cannot beat the best of forward,
    reverse and Markowitz (or ``upper_bound``) are never queued. On tensor graphs the set
    memo assumes the structure rules are order-independent like the path sums (true for the
    dense, diagonal and Kronecker rules used in practice). Returns ``(cost, order)``.
    """
    inter = graph.intermediates
    n = len(inter)
    if n > max_intermediates:
        raise ValueError(
            f"exact search over {n} intermediates is too large (limit {max_intermediates}); "
            "use markowitz_order, or raise max_intermediates knowing it costs O(2^n)"
        )
    heuristics = [forward_order(graph), reverse_order(graph), markowitz_order(graph)]
    best_cost, best_order = min(
        ((elimination_cost(graph, order), order) for order in heuristics), key=lambda t: t[0]
    )
    if upper_bound is not None and upper_bound < best_cost:
        best_cost, best_order = upper_bound + 1, None  # find anything at or below the bound
    full = (1 << n) - 1
    # All-dense graphs (scalar graphs in particular) have step costs that follow from vertex
    # sizes alone: they are searched on bitmask adjacency, everything else on structures.
    dense = all(isinstance(j, Dense) and j.nnz for j in graph.edges.values())
    bound = _cut_lower_bounds(graph, inter) if dense else [0] * n
    expand = _bitmask_expander(graph, inter) if dense else _structure_expander(graph, inter)
    best_g: dict[int, int] = {0: 0}
    parent: dict[int, tuple[int, int]] = {}
    heap = [(sum(bound), 0, 0)]
    while heap:
        f, g, mask = heapq.heappop(heap)
        if g > best_g[mask]:
            continue  # a stale entry: this set was reached more cheaply
        if mask == full:
            best_cost, best_order = g, _order_from(parent, inter, full)
            break
        rest = f - g
        for step, i in expand(mask):
            child, cost = mask | (1 << i), g + step
            if cost + rest - bound[i] >= best_cost or cost >= best_g.get(child, cost + 1):
                continue
            best_g[child] = cost
            parent[child] = (mask, i)
            heapq.heappush(heap, (cost + rest - bound[i], cost, child))
        best_g[mask] = -1  # closed: a consistent bound never reopens a set
    if best_order is None:
        raise ValueError(f"no elimination order costs at most upper_bound={upper_bound}")
    return best_cost, list(best_order)


def _structure_expander(graph: LinearizedGraph, inter: list[Vertex]):
    """``expand(mask)``: ``(step cost, i)`` for each vertex left after eliminating ``mask``."""
    base_pred = {v: dict(graph.preds(v)) for v in graph.vertices}
    base_succ = {v: dict(graph.succs(v)) for v in graph.vertices}
    n = len(inter)

    def expand(mask: int) -> list[tuple[int, int]]:
        pred = {v: dict(p) for v, p in base_pred.items()}
        succ = {v: dict(s) for v, s in base_succ.items()}
        for j in range(n):
            if mask >> j & 1:
                _eliminate_in_dicts(pred, succ, inter[j])
        left = [(j, inter[j]) for j in range(n) if not mask >> j & 1]
        return _step_costs(pred, succ, left, None)

    return expand


def _bitmask_expander(graph: LinearizedGraph, inter: list[Vertex]):
    """Like :func:`_structure_expander` for all-dense graphs, on integer bitmask adjacency.

    Eliminating ``k`` merges its successor set into each predecessor's and vice versa; the
    step cost is ``size(k)·Σ_pred size·Σ_succ size`` (``|pred|·|succ|`` on scalar graphs).
    """
    index = {v: k for k, v in enumerate(graph.vertices)}
    base_pred = [sum(1 << index[u] for u in graph.preds(v)) for v in graph.vertices]
    base_succ = [sum(1 << index[w] for w in graph.succs(v)) for v in graph.vertices]
    sizes = [graph.size(v) for v in graph.vertices]
    unit = all(size == 1 for size in sizes)
    ks = [index[v] for v in inter]
    n = len(inter)

    def weight(mask: int) -> int:
        if unit:
            return mask.bit_count()
        return sum(sizes[k] for k in _bits(mask))

    def expand(mask: int) -> list[tuple[int, int]]:
        pred, succ = list(base_pred), list(base_succ)
        for j in range(n):
            if mask >> j & 1:
                k = ks[j]
                clear = ~(1 << k)
                for u in _bits(pred[k]):
                    succ[u] = (succ[u] | succ[k]) & clear
                for w in _bits(succ[k]):
                    pred[w] = (pred[w] | pred[k]) & clear
        out = [
            (sizes[ks[j]] * weight(pred[ks[j]]) * weight(succ[ks[j]]), j)
            for j in range(n)
            if not mask >> j & 1
        ]
        out.sort()
        return out

    return expand


def _bits(mask: int):
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _order_from(parent: dict, inter: list[Vertex], mask: int) -> list[Vertex]:
    order: list[Vertex] = []
    while mask:
        mask, i = parent[mask]
        order.append(inter[i])
    return order[::-1]


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


def _without_last_uses(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any, bool, bool], Any]:
    """``op(a, b)``, callable as ``op(a, b, last_a, last_b)`` (the flags are not its business)."""
    return lambda a, b, _last_a, _last_b: op(a, b)


def eliminate_values(
    graph: LinearizedGraph,
    order: Sequence[Vertex],
    vals: dict[tuple[Vertex, Vertex], Any],
    matmul: Callable[[Any, Any], Any] = operator.matmul,
    add: Callable[[Any, Any], Any] = operator.add,
    last_uses: bool = False,
) -> dict[tuple[Vertex, Vertex], Any]:
    """Eliminate the vertices in ``order`` from edge values ``vals`` (consumed): eliminating
    ``v`` adds ``∂w/∂v · ∂v/∂u`` to the edge ``u → w`` for every predecessor ``u`` and successor
    ``w``. Returns the remaining input → output blocks ``{(x, y): ∂y/∂x}``. ``matmul`` and
    ``add`` combine edge values: dense arrays by default, structured ones when given.

    ``last_uses=True`` calls them as ``matmul(a, b, last_a, last_b)`` and ``add(a, b, True,
    True)``: ``last_a`` says this elimination reads the edge value ``a`` for the last time (an
    edge into ``v`` is read once per successor of ``v``, an edge out of it once per
    predecessor), which lets structured values that only the caller holds be overwritten."""
    if not last_uses:  # two-operand combinators, called by the one loop below
        matmul, add = _without_last_uses(matmul), _without_last_uses(add)
    preds = {v: set(graph.preds(v)) for v in graph.vertices}
    succs = {v: set(graph.succs(v)) for v in graph.vertices}
    for v in order:
        n_u = len(preds[v])
        for i, u in enumerate(preds[v]):
            c_vu = vals.pop((u, v))
            n_w = len(succs[v])
            for k, w in enumerate(succs[v]):
                product = matmul(vals[(v, w)], c_vu, i == n_u - 1, k == n_w - 1)
                if (u, w) in vals:
                    vals[(u, w)] = add(vals[(u, w)], product, True, True)
                else:
                    vals[(u, w)] = product
                    succs[u].add(w)
                    preds[w].add(u)
            succs[u].discard(v)
        for w in succs[v]:
            del vals[(v, w)]
            preds[w].discard(v)
        del preds[v], succs[v]
    return {(x, y): vals[(x, y)] for x in graph.inputs for y in graph.outputs if (x, y) in vals}


def accumulate(
    graph: LinearizedGraph,
    order: Sequence[Vertex],
    values: dict[tuple[Vertex, Vertex], np.ndarray],
    blocks: bool = False,
):
    """The dense test oracle: eliminate in ``order`` on dense arrays; return the Jacobian of
    outputs w.r.t. inputs.

    ``values[(u, w)]`` is the local Jacobian ``∂w/∂u`` of shape ``(size(w), size(u))`` for
    every edge. Numerator layout: the result has shape ``(Σ size(y), Σ size(x))`` with rows
    in ``graph.outputs`` order and columns in ``graph.inputs`` order. With ``blocks=True``
    the dict ``{(x, y): ∂y/∂x}`` of nonzero blocks is returned instead. Products are dense
    NumPy matmuls and the edge structures are ignored: this is the reference that tests
    compare orders and costs against. Jacobians of programs are executed with structured
    values (:mod:`.local`) by :func:`eliminate_values`, from :mod:`tensorcalc.jacobians`.
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
    result = eliminate_values(graph, order, vals)
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
