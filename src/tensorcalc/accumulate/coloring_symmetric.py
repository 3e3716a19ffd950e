"""Star colouring for symmetric (Hessian) patterns, and symmetric direct recovery.

A Hessian ``H`` is symmetric, so ``H[i, j]`` may be read from column ``j`` *or* from column
``i``. Colour the vertices of the adjacency graph ``G(H)`` (an edge ``i – j`` per off-diagonal
nonzero) such that

1. adjacent vertices differ (a proper colouring: the diagonal ``H[i, i] = B[i, colour(i)]``), and
2. every path on four vertices uses at least three colours (*star colouring*: each two-coloured
   subgraph is a forest of stars),

then ``B = H S`` (one Hessian-vector product per colour, forward-over-reverse) determines every
entry directly: in the star containing edge ``i – j``, one endpoint is a leaf, and if ``j`` is
the only neighbour of ``i`` with ``colour(j)``, ``H[i, j] = B[i, colour(j)]``; otherwise ``i`` is
the only neighbour of ``j`` with ``colour(i)`` and ``H[i, j] = B[j, colour(i)]``
(Gebremedhin, Manne & Pothen, "What color is your Jacobian?", SIAM Review 2005). A star
colouring needs at most as many colours as the column colouring of ``H``, often far fewer: an
arrowhead (a dense row and column) needs 2 instead of ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kernels import kernel
from .coloring import (
    _from_coo,
    _Pattern,
    as_pattern,
    column_coloring,
    seed_matrix,
    to_scipy,
)

__all__ = ["StarColoring", "star_coloring", "is_star_coloring", "recover_hessian",
           "symmetrize"]

try:
    import scipy.sparse as _sp
except ImportError:  # pragma: no cover - exercised only without scipy
    _sp = None

#: Vertex orderings tried by the star colouring.
STAR_ORDERINGS = ("largest_first", "smallest_last", "natural")


def symmetrize(pattern) -> _Pattern:
    """``P ∪ Pᵀ`` of a square pattern (the detected Hessian pattern may be one-sided where a
    program computes ``H[i, j]`` and ``H[j, i]`` along different paths)."""
    if _sp is not None and isinstance(pattern, _Pattern):
        pattern = to_scipy(pattern)
    if _sp is not None and _sp.issparse(pattern):
        if pattern.shape[0] != pattern.shape[1]:
            raise ValueError(f"a Hessian pattern is square, got shape {pattern.shape}")
        b = _sp.csr_matrix(pattern, dtype=bool)
        return as_pattern((b + b.T).tocsr())
    p = as_pattern(pattern)
    m, n = p.shape
    if m != n:
        raise ValueError(f"a Hessian pattern is square, got shape {p.shape}")
    rows = np.repeat(np.arange(m), p.row_counts)
    return _from_coo(np.concatenate([rows, p.row_cols]), np.concatenate([p.row_cols, rows]),
                     (m, n))


def _star_order(p: _Pattern, ordering: str) -> np.ndarray:
    n = p.shape[0]
    deg = p.row_counts.astype(np.int64)
    if ordering == "largest_first":
        return np.argsort(-deg, kind="stable")
    if ordering == "natural":
        return np.arange(n, dtype=np.int64)
    if ordering == "smallest_last":
        # smallest-last on the adjacency graph: the distance-2 kernel on the graph's
        # "edge × vertex" incidence would count wrongly, so degrees are distance-1 here.
        return kernel("smallest_last", _work(p))(deg, _IDENTITY_PTR(n),
                                                 np.arange(n, dtype=np.int64), p.row_ptr,
                                                 p.row_cols, n)
    raise ValueError(f"ordering must be one of {STAR_ORDERINGS}, got {ordering!r}")


def _work(p: _Pattern) -> int:
    """Inner-loop steps of the star colouring: neighbours of neighbours of neighbours."""
    deg = p.row_counts
    return int(np.dot(deg, deg) * max(float(deg.mean()) if deg.size else 0.0, 1.0))


def _IDENTITY_PTR(n: int) -> np.ndarray:  # noqa: N802 - a constant-like helper
    return np.arange(n + 1, dtype=np.int64)


@dataclass(frozen=True, eq=False)
class StarColoring:
    """A star colouring of a symmetric ``n × n`` pattern: ``colors[i]`` per vertex; ``sweeps``
    Hessian-vector products (one per colour)."""

    colors: np.ndarray
    shape: tuple[int, int]
    ordering: str = ""
    column_colors: int = 0  # what a plain (non-symmetric) column colouring needs, for reports

    mode = "star"

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
        return (f"star colouring of a {n}x{n} symmetric pattern: {self.n_colors} colours = "
                f"{self.sweeps} Hessian-vector products")


def star_coloring(pattern, ordering: str | None = None, symmetric: bool = False
                  ) -> StarColoring:
    """Greedy star colouring of the symmetric pattern ``pattern ∪ patternᵀ`` (best of
    :data:`STAR_ORDERINGS`, or the one ``ordering`` named; ``symmetric=True``: the pattern is
    already symmetric)."""
    p = as_pattern(pattern) if symmetric else symmetrize(pattern)
    n = p.shape[0]
    best, name = None, ""
    for o in (STAR_ORDERINGS if ordering is None else (ordering,)):
        colors = kernel("star_greedy", _work(p))(_star_order(p, o), p.row_ptr, p.row_cols, n) \
            if n else np.zeros(0, np.int64)
        if best is None or colors.max(initial=-1) < best.max(initial=-1):
            best, name = colors, o
    if ordering is None and n:
        # A distance-2 colouring (columns of H + I sharing no row) is a star colouring too, and
        # its orderings sometimes beat the star greedy's (a 2-D grid: 5 against 6).
        d2 = column_coloring(_with_diagonal(p))
        if d2.max() < best.max():
            best, name = d2, "distance-2"
    return StarColoring(best, (n, n), name)


def _with_diagonal(p: _Pattern) -> _Pattern:
    n = p.shape[0]
    rows = np.repeat(np.arange(n), p.row_counts)
    return _from_coo(np.concatenate([rows, np.arange(n)]),
                     np.concatenate([p.row_cols, np.arange(n)]), (n, n))


def is_star_coloring(pattern, colors) -> bool:
    """Proper, and every two-coloured subgraph is a forest of stars (no bicoloured path on
    four vertices)."""
    p = symmetrize(pattern)
    colors = np.asarray(colors)
    n = p.shape[0]
    if colors.shape != (n,) or (colors < 0).any():
        return False
    rows = np.repeat(np.arange(n), p.row_counts)
    off = rows != p.row_cols
    i, j = rows[off], p.row_cols[off]
    if np.any(colors[i] == colors[j]):
        return False
    # Path a–b–c–d bicoloured: colours alternate, so b and c each have ≥ 2 neighbours of the
    # other's colour. In a star every edge has an endpoint with exactly one neighbour of the
    # other colour, so check that per edge.
    c = int(colors.max(initial=0)) + 1
    counts = np.bincount(i * c + colors[j], minlength=n * c)
    ci, cj = counts[i * c + colors[j]], counts[j * c + colors[i]]
    return bool(np.all((ci == 1) | (cj == 1)))


def recover_hessian(pattern, coloring: StarColoring, compressed, dense: bool | None = None):
    """``H`` (symmetric pattern, every structural entry kept) from ``B = H S``."""
    p = symmetrize(pattern)
    n = p.shape[0]
    compressed = np.asarray(compressed)
    if compressed.shape != (n, coloring.n_colors):
        raise ValueError(f"compressed product has shape {compressed.shape}; a star colouring "
                         f"with {coloring.n_colors} colours gives {(n, coloring.n_colors)}")
    gather = hessian_gather(p, coloring.colors)
    values = compressed.reshape(-1)[gather]
    if dense is None:
        dense = _sp is None
    if dense:
        out = np.zeros((n, n), compressed.dtype)
        out[np.repeat(np.arange(n), p.row_counts), p.row_cols] = values
        return out
    return _sp.csr_matrix((values, p.row_cols.copy(), p.row_ptr.copy()), shape=(n, n))


def hessian_gather(p: _Pattern, colors: np.ndarray) -> np.ndarray:
    """For each stored entry of the symmetric ``p`` (CSR order), its flat position in
    ``B = H S`` (``n × c``): ``i·c + colour(j)`` where ``j`` is ``i``'s only neighbour of that
    colour, else ``j·c + colour(i)``."""
    n = p.shape[0]
    c = int(colors.max(initial=0)) + 1
    rows = np.repeat(np.arange(n, dtype=np.int64), p.row_counts)
    cols = p.row_cols
    key_ij = rows * c + colors[cols]
    counts = np.bincount(key_ij, minlength=n * c)
    unique_in_row = counts[key_ij] == 1
    return np.where(unique_in_row, key_ij, cols * c + colors[rows])


def column_colors_of(pattern) -> int:
    """Colours of a plain column colouring (the non-symmetric alternative), for reports."""
    cols = column_coloring(symmetrize(pattern))
    return int(cols.max()) + 1 if cols.size else 0
