"""Acyclic colouring of symmetric (Hessian) patterns, and recovery by substitution.

An *acyclic* colouring of the adjacency graph ``G(H)`` is a proper colouring in which every
two-coloured subgraph is a forest (no bicoloured cycle). It is weaker than a star colouring
(whose two-coloured subgraphs are forests of *stars*), so it needs at most as many colours and
often fewer: a path needs 2 instead of 3, a 2-D grid 3 or 4 instead of 5 or 6.

Recovery from ``B = H S`` (one Hessian-vector product per colour) is no longer a gather, but
a substitution along each tree (Gebremedhin, Tarafdar, Manne & Pothen 2009, §4): for a vertex
``u`` of colour ``a`` in a tree of the ``{a, b}`` subgraph, ``B[u, b] = Σ H[u, k]`` over ``u``'s
``b``-coloured neighbours, which are exactly its neighbours in that tree. Rooting each tree
anywhere and going leaves first, every non-root ``u`` with parent ``p`` gives

    ``H[u, p] = B[u, b] − Σ_{children k of u} H[u, k]``,

and the diagonal is direct, ``H[u, u] = B[u, colour(u)]`` (the colouring is proper). Each entry
is a signed sum of up to a tree's depth of ``B`` entries, so rounding errors grow with the depth
(long paths in banded Hessians): that is why the star colouring (every entry one ``B`` entry)
stays the default and ``coloring="acyclic"`` is chosen explicitly, or by ``"auto"`` only when
it saves sweeps.

The forests are found once: node ``(u, b)`` stands for vertex ``u`` in its ``{colour(u), b}``
subgraph, so all the two-coloured forests become the components of one graph on those nodes;
a breadth-first order of it is the substitution order (:mod:`._kernels_graph`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._kernels import kernel
from .coloring import _Pattern, as_pattern, seed_matrix
from .coloring_symmetric import _star_order, _work, star_coloring, symmetrize

__all__ = ["AcyclicColoring", "acyclic_coloring", "is_acyclic_coloring", "color_hessian",
           "recover_hessian_acyclic", "substitution_values"]

try:
    import scipy.sparse as _sp
    from scipy.sparse.csgraph import connected_components as _components
except ImportError:  # pragma: no cover - exercised only without scipy
    _sp = _components = None

#: Vertex orderings tried by the acyclic colouring.
ACYCLIC_ORDERINGS = ("largest_first", "smallest_last", "natural")
#: Hessian colouring methods (``color_hessian``, ``hessian(sparse=True, coloring=...)``).
HESSIAN_METHODS = ("star", "acyclic", "auto")


def _mates(p: _Pattern) -> np.ndarray:
    """For each CSR position of the symmetric ``p``, the position of its transpose entry."""
    rows = np.repeat(np.arange(p.shape[0], dtype=np.int64), p.row_counts)
    return np.lexsort((rows, p.row_cols))


@dataclass(frozen=True, eq=False)
class AcyclicColoring:
    """An acyclic colouring of a symmetric ``n × n`` pattern: ``colors[i]`` per vertex,
    ``sweeps`` Hessian-vector products, and the substitution plan (built on first use)."""

    colors: np.ndarray
    shape: tuple[int, int]
    ordering: str = ""
    _plan: dict = field(default_factory=dict, repr=False)

    mode = "acyclic"

    @property
    def n_colors(self) -> int:
        return int(self.colors.max()) + 1 if self.colors.size else 0

    @property
    def sweeps(self) -> int:
        return self.n_colors

    def seed(self) -> np.ndarray:
        return seed_matrix(self.colors, self.n_colors)

    def __str__(self) -> str:
        n = self.shape[0]
        return (f"acyclic colouring of a {n}x{n} symmetric pattern: {self.n_colors} colours = "
                f"{self.sweeps} Hessian-vector products (recovery by substitution)")


def acyclic_coloring(pattern, ordering: str | None = None, symmetric: bool = False
                     ) -> AcyclicColoring:
    """Greedy acyclic colouring of ``pattern ∪ patternᵀ`` (best of
    :data:`ACYCLIC_ORDERINGS`, or the one ``ordering`` named)."""
    p = as_pattern(pattern) if symmetric else symmetrize(pattern)
    n = p.shape[0]
    if ordering is not None and ordering not in ACYCLIC_ORDERINGS:
        raise ValueError(f"acyclic_coloring: ordering must be one of {ACYCLIC_ORDERINGS}, "
                         f"got {ordering!r}")
    edge = np.minimum(np.arange(p.row_cols.size, dtype=np.int64), _mates(p))
    best, name = None, ""
    for o in (ACYCLIC_ORDERINGS if ordering is None else (ordering,)):
        colors = kernel("acyclic_greedy", _work(p))(_star_order(p, o), p.row_ptr, p.row_cols,
                                                    edge, n) if n else np.zeros(0, np.int64)
        if best is None or colors.max(initial=-1) < best.max(initial=-1):
            best, name = colors, o
    return AcyclicColoring(best, (n, n), name)


def _forest_graph(p: _Pattern, colors: np.ndarray):
    """The off-diagonal edges (one CSR position ``a`` per undirected edge, row < column) and
    their end nodes ``u·c + colour(w)`` and ``w·c + colour(u)``."""
    n = p.shape[0]
    c = int(colors.max(initial=0)) + 1
    rows = np.repeat(np.arange(n, dtype=np.int64), p.row_counts)
    a = np.flatnonzero(rows < p.row_cols)
    u, w = rows[a], p.row_cols[a]
    return a, u * c + colors[w], w * c + colors[u], n * c


def is_acyclic_coloring(pattern, colors) -> bool:
    """Proper, and every two-coloured subgraph is a forest (``edges = nodes − components`` in
    the graph of the nodes ``(vertex, partner colour)``)."""
    if _components is None:
        raise ImportError("is_acyclic_coloring needs scipy (pip install scipy)")
    p = symmetrize(pattern)
    colors = np.asarray(colors)
    n = p.shape[0]
    if colors.shape != (n,) or (colors < 0).any():
        return False
    _, n1, n2, _ = _forest_graph(p, colors)
    rows = np.repeat(np.arange(n), p.row_counts)
    off = rows != p.row_cols
    if np.any(colors[rows[off]] == colors[p.row_cols[off]]):
        return False
    if n1.size == 0:
        return True
    nodes, inv = np.unique(np.concatenate([n1, n2]), return_inverse=True)
    k = n1.size
    g = _sp.csr_matrix((np.ones(k), (inv[:k], inv[k:])), shape=(nodes.size, nodes.size))
    n_comp, _ = _components(g, directed=False)
    return k == nodes.size - n_comp


def _substitution_plan(p: _Pattern, coloring: AcyclicColoring) -> dict:
    """Per tree edge, leaves first: the ``B`` entry, the node and its parent; the CSR positions
    that receive each value; the diagonal's positions and ``B`` entries."""
    if coloring._plan:
        return coloring._plan
    n = p.shape[0]
    colors = coloring.colors
    c = max(coloring.n_colors, 1)
    a, n1, n2, nn = _forest_graph(p, colors)
    ends = np.concatenate([n1, n2])
    others = np.concatenate([n2, n1])
    eid = np.concatenate([np.arange(a.size), np.arange(a.size)])
    by = np.argsort(ends, kind="stable")
    ptr = np.zeros(nn + 1, np.int64)
    np.cumsum(np.bincount(ends, minlength=nn), out=ptr[1:])
    order, parent, pedge = kernel("forest_order", a.size)(ptr, others[by], eid[by], nn)
    kids = order[parent[order] >= 0][::-1]  # non-roots, leaves first
    e = pedge[kids]
    u = kids // c  # the vertex of the node; its parent's vertex is the edge's other end
    rows = np.repeat(np.arange(n, dtype=np.int64), p.row_counts)
    pos = a[e]
    other_vertex = np.where(rows[pos] == u, p.row_cols[pos], rows[pos])
    diag = np.flatnonzero(rows == p.row_cols)
    plan = {"b": u * c + colors[other_vertex], "node": kids, "up": parent[kids],
            "pos": pos, "mate": _mates(p)[pos], "nn": nn,
            "diag": diag, "diag_b": rows[diag] * c + colors[rows[diag]]}
    coloring._plan.update(plan)
    return plan


def substitution_values(p: _Pattern, coloring: AcyclicColoring, compressed) -> np.ndarray:
    """The entries of the symmetric ``p`` (CSR order) from ``B = H S`` (``n × c``)."""
    plan = _substitution_plan(p, coloring)
    flat = np.ascontiguousarray(compressed).reshape(-1)
    values = np.zeros(p.row_cols.size, np.result_type(flat, np.float64))
    values[plan["diag"]] = flat[plan["diag_b"]]
    tree = kernel("substitute", plan["b"].size)(plan["b"], plan["node"], plan["up"],
                                                flat.astype(values.dtype, copy=False),
                                                plan["nn"])
    values[plan["pos"]] = tree
    values[plan["mate"]] = tree
    return values


def recover_hessian_acyclic(pattern, coloring: AcyclicColoring, compressed,
                            dense: bool | None = None):
    """``H`` (symmetric pattern, every structural entry kept) from ``B = H S`` by substitution
    along the two-coloured trees (see the module docstring)."""
    p = symmetrize(pattern)
    n = p.shape[0]
    compressed = np.asarray(compressed)
    if compressed.shape != (n, coloring.n_colors):
        raise ValueError(f"recover_hessian_acyclic: compressed product has shape "
                         f"{compressed.shape}; an acyclic colouring with {coloring.n_colors} "
                         f"colours of a {n}x{n} pattern gives {(n, coloring.n_colors)}")
    values = substitution_values(p, coloring, compressed)
    if dense is None:
        dense = _sp is None
    if dense:
        out = np.zeros((n, n), values.dtype)
        out[np.repeat(np.arange(n), p.row_counts), p.row_cols] = values
        return out
    return _sp.csr_matrix((values, p.row_cols.copy(), p.row_ptr.copy()), shape=(n, n))


def color_hessian(pattern, method: str = "star", symmetric: bool = False):
    """Colour a Hessian pattern: ``"star"`` (direct recovery, the default), ``"acyclic"``
    (fewer colours, recovery by substitution), or ``"auto"`` (acyclic only when it needs fewer
    colours than star)."""
    if method not in HESSIAN_METHODS:
        raise ValueError(f"color_hessian: method must be one of {HESSIAN_METHODS}, got "
                         f"{method!r}")
    p = as_pattern(pattern) if symmetric else symmetrize(pattern)
    if method == "star":
        return star_coloring(p, symmetric=True)
    acyclic = acyclic_coloring(p, symmetric=True)
    if method == "acyclic":
        return acyclic
    star = star_coloring(p, symmetric=True)
    return acyclic if acyclic.sweeps < star.sweeps else star
