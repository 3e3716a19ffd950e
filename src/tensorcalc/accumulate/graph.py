"""Linearized computational graphs (the input of vertex elimination).

A program ``y = F(x)`` made of elementary steps ``v_j = φ_j(v_i, …)`` linearizes into a DAG
``G = (V, E)``: vertices are the values (independents ``x``, intermediates ``v``, dependents
``y``), each with a size (the number of scalars, i.e. the product of its shape), and an edge
``(i, j)`` carries the local Jacobian ``c_ji = ∂φ_j/∂v_i`` of shape ``(size_j, size_i)``. The
Jacobian of ``F`` is the sum over all paths from ``x_k`` to ``y_l`` of the products of edge
Jacobians along the path (Bauer's formula), ``∂y_l/∂x_k = Σ_paths Π c``. Eliminating all
intermediates (see :mod:`.eliminate`) leaves a bipartite graph whose edges are exactly these
blocks.

Conventions that keep elimination well defined:

* independents have no in-edges and are never eliminated;
* dependents have no out-edges: :meth:`LinearizedGraph.from_equations` re-routes an output that
  is also used later through a fresh sink vertex with an ``Identity`` edge;
* parallel edges (a value used twice by one step, ``x * x``) are summed on insertion.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable, Sequence

import numpy as np

from .structure import Dense, Identity, LocalJacobian, add_structure

__all__ = ["LinearizedGraph", "OutputCopy"]

Vertex = Hashable


class OutputCopy:
    """Sink vertex standing for an output value that other steps also consume."""

    __slots__ = ("of",)

    def __init__(self, of: Vertex) -> None:
        self.of = of

    def __repr__(self) -> str:
        return f"OutputCopy({self.of!r})"


class LinearizedGraph:
    """A DAG of sized values whose edges carry structured local Jacobians.

    Vertices are any hashable keys (ints, strings, or an engine's ``Var`` objects); insertion
    order is remembered and used to break ties, so a graph built from a program in equation
    order eliminates deterministically.
    """

    def __init__(self) -> None:
        self._size: dict[Vertex, int] = {}
        self._index: dict[Vertex, int] = {}
        self._pred: dict[Vertex, dict[Vertex, LocalJacobian]] = {}
        self._succ: dict[Vertex, dict[Vertex, LocalJacobian]] = {}
        self.inputs: list[Vertex] = []
        self.outputs: list[Vertex] = []

    # -- construction -------------------------------------------------------------------------

    def add_vertex(self, v: Vertex, size: int = 1) -> Vertex:
        if v in self._size:
            if self._size[v] != size:
                raise ValueError(f"vertex {v!r} already has size {self._size[v]}, not {size}")
            return v
        if int(size) != size or size < 0:
            raise ValueError(f"vertex {v!r}: size must be a non-negative int, got {size!r}")
        self._index[v] = len(self._index)
        self._size[v] = int(size)
        self._pred[v] = {}
        self._succ[v] = {}
        return v

    def add_edge(self, src: Vertex, dst: Vertex, jac: LocalJacobian | None = None) -> None:
        """Add ``∂dst/∂src``; a second edge between the same pair is summed into the first."""
        for v in (src, dst):
            if v not in self._size:
                raise KeyError(f"unknown vertex {v!r}; call add_vertex first")
        if src == dst:
            raise ValueError(f"self-loop on {src!r}: a linearized program is acyclic")
        shape = (self._size[dst], self._size[src])
        if jac is None:
            jac = Dense(*shape)
        if jac.shape != shape:
            raise ValueError(
                f"edge {src!r} -> {dst!r} needs a Jacobian of shape (size(dst), size(src)) = "
                f"{shape}, got {jac}"
            )
        old = self._succ[src].get(dst)
        if old is not None:
            jac = add_structure(old, jac)
        self._succ[src][dst] = jac
        self._pred[dst][src] = jac

    def set_edge(self, src: Vertex, dst: Vertex, jac: LocalJacobian) -> None:
        """Replace (not sum) the Jacobian on an edge."""
        self.remove_edge(src, dst)
        self.add_edge(src, dst, jac)

    def remove_edge(self, src: Vertex, dst: Vertex) -> None:
        self._succ[src].pop(dst, None)
        self._pred[dst].pop(src, None)

    def remove_vertex(self, v: Vertex) -> None:
        for u in list(self._pred[v]):
            del self._succ[u][v]
        for w in list(self._succ[v]):
            del self._pred[w][v]
        del self._pred[v], self._succ[v], self._size[v], self._index[v]

    @classmethod
    def from_edges(
        cls,
        edges: Iterable[tuple],
        inputs: Sequence[Vertex],
        outputs: Sequence[Vertex],
        sizes: dict[Vertex, int] | None = None,
    ) -> LinearizedGraph:
        """Build from ``(src, dst)`` or ``(src, dst, jac)`` tuples; sizes default to 1.

        Vertices are added inputs first, then in order of first appearance in ``edges``.
        """
        sizes = dict(sizes or {})
        g = cls()
        for v in inputs:
            g.add_vertex(v, sizes.get(v, 1))
        edge_list = [tuple(e) for e in edges]
        for e in edge_list:
            for v in e[:2]:
                if v not in g._size:
                    size = sizes.get(v)
                    if size is None and len(e) == 3:
                        size = e[2].cols if v == e[0] else e[2].rows
                    g.add_vertex(v, 1 if size is None else size)
        for v in outputs:
            g.add_vertex(v, sizes.get(v, 1))
        for e in edge_list:
            g.add_edge(e[0], e[1], e[2] if len(e) == 3 else None)
        g.inputs = list(inputs)
        g.outputs = list(outputs)
        g.validate()
        return g

    @classmethod
    def from_equations(
        cls,
        equations: Iterable,
        inputs: Sequence[Vertex],
        outputs: Sequence[Vertex],
        local_jacobian: Callable | None = None,
        size_of: Callable[[Vertex], int] | None = None,
    ) -> LinearizedGraph:
        """Build from equations with ``.inputs`` and ``.outputs`` (e.g. a Program's).

        ``local_jacobian(eq, i, j)`` returns the structure of ``∂eq.outputs[j]/∂eq.inputs[i]``,
        or None when that output does not depend on that input (literals, integer indices);
        by default every pair is dense. ``size_of(var)`` defaults to ``prod(var.shape)``.
        Outputs that later equations also read are re-routed through :class:`OutputCopy`
        sinks, and values that lie on no input-to-output path are pruned.
        """
        size_of = size_of or _size_from_shape
        g = cls()
        for v in inputs:
            g.add_vertex(v, size_of(v))
        pending: list[tuple[Vertex, Vertex, LocalJacobian | None]] = []
        for eq in equations:
            for out in eq.outputs:
                g.add_vertex(out, size_of(out))
            for i, inp in enumerate(eq.inputs):
                for j, out in enumerate(eq.outputs):
                    if local_jacobian is None:
                        pending.append((inp, out, None))  # add_edge defaults to dense
                        continue
                    jac = local_jacobian(eq, i, j)
                    if jac is not None:
                        pending.append((inp, out, jac))
        for inp, out, jac in pending:
            g.add_vertex(inp, size_of(inp))  # a free variable not listed as input: a constant
            g.add_edge(inp, out, jac)
        g.inputs = list(inputs)
        g.outputs = []
        for y in outputs:
            if y not in g._size:
                g.add_vertex(y, size_of(y))
            if g._succ[y] or y in g.inputs:
                sink = OutputCopy(y)
                g.add_vertex(sink, g._size[y])
                g.add_edge(y, sink, Identity(g._size[y]))
                y = sink
            g.outputs.append(y)
        g.prune()
        g.validate()
        return g

    # -- queries ------------------------------------------------------------------------------

    @property
    def vertices(self) -> list[Vertex]:
        return list(self._size)

    def size(self, v: Vertex) -> int:
        return self._size[v]

    def preds(self, v: Vertex) -> dict[Vertex, LocalJacobian]:
        """``{u: ∂v/∂u}`` (read-only view by convention)."""
        return self._pred[v]

    def succs(self, v: Vertex) -> dict[Vertex, LocalJacobian]:
        """``{w: ∂w/∂v}``."""
        return self._succ[v]

    def edge(self, src: Vertex, dst: Vertex) -> LocalJacobian | None:
        return self._succ[src].get(dst)

    @property
    def edges(self) -> dict[tuple[Vertex, Vertex], LocalJacobian]:
        return {(u, w): jac for u in self._size for w, jac in self._succ[u].items()}

    @property
    def intermediates(self) -> list[Vertex]:
        """Vertices that elimination removes, in topological order."""
        ends = set(self.inputs) | set(self.outputs)
        return [v for v in self.topological_order() if v not in ends]

    @property
    def jacobian_shape(self) -> tuple[int, int]:
        return (sum(self._size[y] for y in self.outputs), sum(self._size[x] for x in self.inputs))

    def index(self, v: Vertex) -> int:
        """Insertion position (the tie-breaker of every ordering)."""
        return self._index[v]

    def topological_order(self) -> list[Vertex]:
        """Kahn's algorithm; among ready vertices the earliest inserted comes first."""
        indegree = {v: len(p) for v, p in self._pred.items()}
        ready = [(self._index[v], i, v) for i, v in enumerate(self._size) if indegree[v] == 0]
        heapq.heapify(ready)
        order: list[Vertex] = []
        counter = len(ready)
        while ready:
            _, _, v = heapq.heappop(ready)
            order.append(v)
            for w in self._succ[v]:
                indegree[w] -= 1
                if indegree[w] == 0:
                    counter += 1
                    heapq.heappush(ready, (self._index[w], counter, w))
        if len(order) != len(self._size):
            raise ValueError("the graph has a cycle; a linearized program must be a DAG")
        return order

    def validate(self) -> None:
        """Check the conventions in the module docstring; raise ValueError if broken."""
        for x in self.inputs:
            if x not in self._size:
                raise ValueError(f"input {x!r} is not a vertex")
            if self._pred[x]:
                raise ValueError(f"input {x!r} has in-edges from {list(self._pred[x])}")
        for y in self.outputs:
            if y not in self._size:
                raise ValueError(f"output {y!r} is not a vertex")
            if self._succ[y]:
                raise ValueError(
                    f"output {y!r} has out-edges to {list(self._succ[y])}; route it through a "
                    "sink with an Identity edge (from_equations does this)"
                )
        if set(self.inputs) & set(self.outputs):
            raise ValueError("a vertex cannot be both input and output; add an Identity sink")
        self.topological_order()

    def prune(self) -> None:
        """Remove vertices that lie on no input→output path (constants, dead values)."""
        keep_fwd = _reachable(self.inputs, self._succ)
        keep_bwd = _reachable(self.outputs, self._pred)
        ends = set(self.inputs) | set(self.outputs)
        for v in list(self._size):
            if v not in ends and not (v in keep_fwd and v in keep_bwd):
                self.remove_vertex(v)

    def copy(self) -> LinearizedGraph:
        g = LinearizedGraph()
        g._size = dict(self._size)
        g._index = dict(self._index)
        g._pred = {v: dict(p) for v, p in self._pred.items()}
        g._succ = {v: dict(s) for v, s in self._succ.items()}
        g.inputs = list(self.inputs)
        g.outputs = list(self.outputs)
        return g

    def densified(self) -> LinearizedGraph:
        """The same graph with every edge Jacobian made dense (structure forgotten)."""
        g = self.copy()
        for (u, w), jac in self.edges.items():
            g._succ[u][w] = g._pred[w][u] = jac.densify()
        return g

    def sample_values(self, rng: np.random.Generator) -> dict[tuple[Vertex, Vertex], np.ndarray]:
        """Random numeric edge Jacobians respecting each edge's structure (tests, demos)."""
        return {e: jac.sample(rng) for e, jac in self.edges.items()}

    def __repr__(self) -> str:
        n_edges = sum(len(s) for s in self._succ.values())
        return (
            f"LinearizedGraph({len(self.inputs)} inputs, {len(self.intermediates)} "
            f"intermediates, {len(self.outputs)} outputs, {n_edges} edges)"
        )


def _size_from_shape(v) -> int:
    shape = getattr(v, "shape", ())
    return int(np.prod(shape, dtype=np.int64)) if len(shape) else 1


def _reachable(starts: Iterable[Vertex], adjacency: dict) -> set:
    seen = set(starts)
    stack = list(seen)
    while stack:
        v = stack.pop()
        for w in adjacency[v]:
            if w not in seen:
                seen.add(w)
                stack.append(w)
    return seen
