"""Colouring sparse Jacobians: fewer sweeps through compression (Curtis–Powell–Reid).

If columns ``j`` and ``k`` of an ``m × n`` Jacobian ``J`` never share a nonzero row
(*structurally orthogonal*), one forward sweep with the seed ``e_j + e_k`` yields both columns
at once. Grouping columns into such groups is a *partial distance-2 colouring* of the column
vertices of the bipartite row/column graph: two columns need different colours iff they are at
distance 2 (share a row). With the seed matrix ``S`` (``n × c``, ``S[j, colour(j)] = 1``) the
compressed product ``B = J S`` costs ``c`` JVPs, and every nonzero is read back directly:
``J[i, j] = B[i, colour(j)]``. Row colouring is the same on ``Jᵀ``: ``B = Sᵀ J`` costs ``c``
VJPs and ``J[i, j] = B[colour(i), j]``.

At least ``max_i nnz(row i)`` column colours are needed (those columns pairwise share a row);
finding the minimum is NP-hard (Coleman & Moré 1983), so we colour greedily in largest-first
order and keep the cheaper of the row and column colourings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "Coloring",
    "column_coloring",
    "row_coloring",
    "color_jacobian",
    "seed_matrix",
    "is_valid_coloring",
    "recover_jacobian",
]

try:  # scipy is optional: with it, patterns may be sparse and results come back sparse
    import scipy.sparse as _sp
except ImportError:  # pragma: no cover - exercised only without scipy
    _sp = None


def _pattern(pattern) -> np.ndarray:
    """A dense boolean pattern from a bool/number array or a scipy sparse matrix."""
    if _sp is not None and _sp.issparse(pattern):
        pattern = pattern.toarray()
    pat = np.asarray(pattern)
    if pat.ndim != 2:
        raise ValueError(f"a Jacobian sparsity pattern is 2-D, got shape {pat.shape}")
    return pat != 0


def _greedy_distance2(pat: np.ndarray) -> np.ndarray:
    """Greedy partial distance-2 colouring of the columns of ``pat`` (largest first)."""
    m, n = pat.shape
    rows_of = [np.flatnonzero(pat[:, j]) for j in range(n)]
    cols_of = [np.flatnonzero(pat[i, :]) for i in range(m)]
    colors = np.full(n, -1, dtype=np.int64)
    # Largest-first: columns with most nonzeros have the most conflicts; colour them early.
    order = sorted(range(n), key=lambda j: (-len(rows_of[j]), j))
    forbidden = np.full(n + 1, -1, dtype=np.int64)  # forbidden[c] == j: colour c taken near j
    for j in order:
        for i in rows_of[j]:
            neighbour_colors = colors[cols_of[i]]
            forbidden[neighbour_colors[neighbour_colors >= 0]] = j
        c = 0
        while forbidden[c] == j:
            c += 1
        colors[j] = c
    return colors


def column_coloring(pattern) -> np.ndarray:
    """Colour per column such that same-coloured columns share no row."""
    return _greedy_distance2(_pattern(pattern))


def row_coloring(pattern) -> np.ndarray:
    """Colour per row such that same-coloured rows share no column."""
    return _greedy_distance2(_pattern(pattern).T)


def is_valid_coloring(pattern, colors, mode: str = "column") -> bool:
    """True when no two same-coloured columns (rows for ``mode="row"``) share a row (column)."""
    pat = _pattern(pattern)
    if mode == "row":
        pat = pat.T
    elif mode != "column":
        raise ValueError(f"mode must be 'column' or 'row', got {mode!r}")
    colors = np.asarray(colors)
    if colors.shape != (pat.shape[1],) or (colors < 0).any():
        return False
    for i in range(pat.shape[0]):
        used = colors[pat[i]]
        if len(np.unique(used)) != len(used):
            return False
    return True


@dataclass(frozen=True)
class Coloring:
    """A compression plan: ``mode`` 'column' (JVPs) or 'row' (VJPs) and one colour per index."""

    mode: str
    colors: np.ndarray
    shape: tuple[int, int]

    @property
    def n_colors(self) -> int:
        return int(self.colors.max()) + 1 if self.colors.size else 0

    @property
    def sweeps(self) -> int:
        """JVPs (column mode) or VJPs (row mode) needed for the compressed product."""
        return self.n_colors

    def seed(self) -> np.ndarray:
        """``S`` with ``S[k, colour(k)] = 1``; compute ``J @ S`` (column) or ``S.T @ J`` (row)."""
        return seed_matrix(self.colors, self.n_colors)

    def compress(self, jacobian) -> np.ndarray:
        """The compressed product from an explicit ``J`` (for tests; real use runs sweeps)."""
        jac = jacobian.toarray() if _sp is not None and _sp.issparse(jacobian) else jacobian
        jac = np.asarray(jac)
        return jac @ self.seed() if self.mode == "column" else self.seed().T @ jac

    def __str__(self) -> str:
        kind = "JVPs" if self.mode == "column" else "VJPs"
        return (
            f"{self.mode} colouring of a {self.shape[0]}x{self.shape[1]} pattern: "
            f"{self.n_colors} colours = {self.sweeps} {kind}"
        )


def seed_matrix(colors, n_colors: int | None = None) -> np.ndarray:
    """The 0/1 seed ``S`` (``len(colors) × n_colors``) with ``S[k, colors[k]] = 1``."""
    colors = np.asarray(colors, dtype=np.int64)
    if n_colors is None:
        n_colors = int(colors.max()) + 1 if colors.size else 0
    seed = np.zeros((colors.size, n_colors))
    seed[np.arange(colors.size), colors] = 1.0
    return seed


def color_jacobian(pattern, mode: str = "auto") -> Coloring:
    """Colour the pattern by columns, rows, or (``"auto"``) whichever needs fewer colours.

    Ties in ``auto`` go to columns (forward sweeps keep no tape).
    """
    pat = _pattern(pattern)
    if mode not in ("auto", "column", "row"):
        raise ValueError(f"mode must be 'auto', 'column' or 'row', got {mode!r}")
    candidates = []
    if mode in ("auto", "column"):
        candidates.append(Coloring("column", _greedy_distance2(pat), pat.shape))
    if mode in ("auto", "row"):
        candidates.append(Coloring("row", _greedy_distance2(pat.T), pat.shape))
    return min(candidates, key=lambda c: c.n_colors)


def recover_jacobian(pattern, coloring: Coloring, compressed, dense: bool | None = None):
    """Rebuild ``J`` from the compressed product ``J S`` (column) or ``Sᵀ J`` (row).

    Returns a ``scipy.sparse.csr_matrix`` when scipy is importable (unless ``dense=True``),
    else a dense ndarray; layout is numerator (rows = outputs, columns = inputs).
    """
    pat = _pattern(pattern)
    if pat.shape != coloring.shape:
        raise ValueError(f"pattern shape {pat.shape} differs from the colouring's {coloring.shape}")
    compressed = np.asarray(compressed)
    rows, cols = np.nonzero(pat)
    if coloring.mode == "column":
        expected = (pat.shape[0], coloring.n_colors)
        values = compressed[rows, coloring.colors[cols]] if rows.size else np.zeros(0)
    else:
        expected = (coloring.n_colors, pat.shape[1])
        values = compressed[coloring.colors[rows], cols] if rows.size else np.zeros(0)
    if compressed.shape != expected:
        raise ValueError(
            f"compressed product has shape {compressed.shape}; a {coloring.mode} colouring "
            f"with {coloring.n_colors} colours gives {expected}"
        )
    if dense is None:
        dense = _sp is None
    if dense:
        out = np.zeros(pat.shape, dtype=compressed.dtype)
        out[rows, cols] = values
        return out
    if _sp is None:
        raise ImportError("dense=False needs scipy; install scipy or pass dense=True")
    return _sp.csr_matrix((values, (rows, cols)), shape=pat.shape)
