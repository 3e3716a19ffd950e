"""Colouring sparse Jacobians: fewer sweeps through compression (Curtis–Powell–Reid).

If columns ``j`` and ``k`` of an ``m × n`` Jacobian ``J`` never share a nonzero row
(*structurally orthogonal*), one forward sweep with the seed ``e_j + e_k`` yields both columns
at once. Grouping columns into such groups is a *partial distance-2 colouring* of the column
vertices of the bipartite row/column graph. With the seed ``S`` (``n × c``,
``S[j, colour(j)] = 1``) the compressed product ``B = J S`` costs ``c`` JVPs and every nonzero is
read back directly: ``J[i, j] = B[i, colour(j)]``. Rows are coloured the same way on ``Jᵀ``:
``B = Sᵀ J`` costs ``c`` VJPs and ``J[i, j] = B[colour(i), j]``.

At least ``max_i nnz(row i)`` column colours are needed; the minimum is NP-hard (Coleman & Moré
1983), so columns are coloured greedily in a few orders — largest-first, smallest-last and
incidence-degree (ColPack's) — and the fewest colours win. All work is on CSR/CSC index arrays:
``O(Σᵢ nnz(row i)²)`` time, ``O(nnz)`` memory, no dense pattern.

*Bidirectional* colourings (forward seeds on columns and reverse seeds on rows together: the
direct split and Coleman–Verma's star bicolouring, for rows and columns that are dense) are in
:mod:`.coloring_bidirectional`; symmetric (Hessian) colourings — star and acyclic — in
:mod:`.coloring_symmetric` and :mod:`.coloring_acyclic`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._kernels import backend, kernel

#: Inner-loop steps (``Σᵢ nnz(row i)²``) above which, without numba, only largest-first is
#: tried (about a second of Python per greedy pass at this size).
PYTHON_WORK_LIMIT = 1_000_000

__all__ = [
    "Coloring",
    "column_coloring",
    "row_coloring",
    "color_jacobian",
    "seed_matrix",
    "is_valid_coloring",
    "recover_jacobian",
    "ORDERINGS",
]

try:  # scipy is optional for the colouring API: dense Boolean patterns work without it
    import scipy.sparse as _sp
except ImportError:  # pragma: no cover - exercised only without scipy
    _sp = None

#: Vertex orderings tried by the greedy colourings (``dsatur`` picks the next column as it
#: goes: the one whose distance-2 neighbours use the most distinct colours).
ORDERINGS = ("largest_first", "smallest_last", "incidence_degree", "dsatur")


class _Pattern:
    """A Boolean ``m × n`` pattern as CSR and CSC index arrays (int64)."""

    def __init__(self, shape: tuple[int, int], row_ptr: np.ndarray, row_cols: np.ndarray,
                 col_ptr: np.ndarray, col_rows: np.ndarray) -> None:
        self.shape = shape
        self.row_ptr, self.row_cols = row_ptr, row_cols
        self.col_ptr, self.col_rows = col_ptr, col_rows

    @property
    def T(self) -> _Pattern:
        m, n = self.shape
        return _Pattern((n, m), self.col_ptr, self.col_rows, self.row_ptr, self.row_cols)

    @property
    def row_counts(self) -> np.ndarray:
        return np.diff(self.row_ptr)

    @property
    def col_counts(self) -> np.ndarray:
        return np.diff(self.col_ptr)

    def rows(self, keep: np.ndarray) -> _Pattern:
        """The pattern with only the rows where ``keep`` is True (others emptied)."""
        m, n = self.shape
        rows = np.repeat(np.arange(m), self.row_counts)
        mask = keep[rows]
        return _from_coo(rows[mask], self.row_cols[mask], (m, n))

    def cols(self, keep: np.ndarray) -> _Pattern:
        return self.T.rows(keep).T


def _from_coo(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> _Pattern:
    m, n = shape
    rows = np.asarray(rows, np.int64)
    cols = np.asarray(cols, np.int64)
    if _sp is not None:  # scipy's COO -> CSR/CSC conversions are O(nnz), no sort by key
        return _from_scipy(_sp.csr_matrix((np.ones(rows.size, bool), (rows, cols)),
                                          shape=shape))
    key = np.unique(rows * n + cols) if rows.size else np.zeros(0, np.int64)
    r, c = (key // n, key % n) if n else (key, key)
    row_ptr = np.zeros(m + 1, np.int64)
    np.cumsum(np.bincount(r, minlength=m), out=row_ptr[1:])
    by_col = np.lexsort((r, c))
    col_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(c, minlength=n), out=col_ptr[1:])
    return _Pattern((m, n), row_ptr, c, col_ptr, r[by_col])


def _from_scipy(csr) -> _Pattern:
    csr.sum_duplicates()  # canonical: sorted column indices, no repeats
    csc = csr.tocsc()
    csc.sort_indices()
    return _Pattern(csr.shape, csr.indptr.astype(np.int64), csr.indices.astype(np.int64),
                    csc.indptr.astype(np.int64), csc.indices.astype(np.int64))


def to_scipy(p: _Pattern):
    """The Boolean scipy CSR matrix of a pattern (shares no arrays with it)."""
    return _sp.csr_matrix((np.ones(p.row_cols.size, bool), p.row_cols.copy(), p.row_ptr.copy()),
                          shape=p.shape)


def as_pattern(pattern) -> _Pattern:
    """A :class:`_Pattern` from a Boolean/number array or any scipy.sparse matrix (its stored
    entries are the pattern, explicit zeros included)."""
    if isinstance(pattern, _Pattern):
        return pattern
    if _sp is not None and _sp.issparse(pattern):
        if pattern.ndim != 2:
            raise ValueError(f"a Jacobian sparsity pattern is 2-D, got shape {pattern.shape}")
        return _from_scipy(_sp.csr_matrix(pattern, copy=True))
    pat = np.asarray(pattern)
    if pat.ndim != 2:
        raise ValueError(f"a Jacobian sparsity pattern is 2-D, got shape {pat.shape}")
    r, c = np.nonzero(pat)
    return _from_coo(r, c, pat.shape)


def _d2_degrees(p: _Pattern) -> np.ndarray:
    """Distance-2 degree of each column, counted with multiplicity: ``Σ_{i ∋ j} (nnz(i) − 1)``."""
    per_entry = p.row_counts[p.col_rows] - 1
    return np.add.reduceat(np.append(per_entry, 0), p.col_ptr[:-1]) * (p.col_counts > 0)


def _order(p: _Pattern, ordering: str, deg: np.ndarray | None = None) -> np.ndarray:
    n = p.shape[1]
    deg = _d2_degrees(p).astype(np.int64) if deg is None else deg
    if ordering == "largest_first":
        return np.argsort(-deg, kind="stable")
    if ordering == "natural":
        return np.arange(n, dtype=np.int64)
    args = (deg, p.col_ptr, p.col_rows, p.row_ptr, p.row_cols, n)
    if ordering in ("smallest_last", "incidence_degree", "smallest_last_fast"):
        return kernel(ordering, _work(p))(*args)
    raise ValueError(f"ordering must be one of {ORDERINGS + ('natural',)}, got {ordering!r}")


def _greedy(p: _Pattern, ordering: str, deg: np.ndarray | None = None) -> np.ndarray:
    n = p.shape[1]
    if n == 0:
        return np.zeros(0, np.int64)
    if ordering == "dsatur":
        deg = _d2_degrees(p).astype(np.int64) if deg is None else deg
        colors = kernel("dsatur_d2", _work(p))(deg, p.col_ptr, p.col_rows, p.row_ptr,
                                               p.row_cols, n)
        if colors[0] >= 0:
            return colors
        ordering = "largest_first"  # more than 63 colours: DSATUR's masks are full
    order = _order(p, ordering, deg)
    return kernel("greedy_d2", _work(p))(order, p.col_ptr, p.col_rows, p.row_ptr, p.row_cols, n)


def _work(p: _Pattern) -> int:
    """Inner-loop steps of a distance-2 sweep: every row is scanned once per entry in it."""
    counts = p.row_counts
    return int(np.dot(counts, counts))


def _best_columns(p: _Pattern, orderings: tuple[str, ...] = ORDERINGS) -> tuple[np.ndarray, str]:
    """The fewest colours over ``orderings``; stops early at the lower bound (the largest row
    count), which no colouring can beat."""
    bound = int(p.row_counts.max(initial=0))
    if p.shape[1] == 0 or bound <= 1:
        # At most one nonzero per row: no two columns share a row, one colour suffices.
        return np.zeros(p.shape[1], np.int64), "trivial"
    deg = _d2_degrees(p).astype(np.int64)
    attempts = [(v, o) for o in orderings
                for v in (("smallest_last_fast", o) if o == "smallest_last" else (o,))]
    if orderings == ORDERINGS and _work(p) >= PYTHON_WORK_LIMIT and backend() == "python":
        # (the size first: backend() imports numba, which small patterns never need.)
        # Without numba every ordering is a Python loop over the pattern, and the others cost
        # several times largest-first's (argsort + one greedy pass): on a 10⁵-column stencil
        # 3 s against a minute. Largest-first alone gives 7 colours there, the best 5; the
        # documented remedy is the `sparse` extra, which compiles the loops.
        attempts = [("largest_first", "largest_first")]
    elif orderings == ORDERINGS:
        # Smallest-last (in its faster tie-breaking) first: it reaches the bound most often
        # (stencils), and then the others are never run.
        attempts.insert(0, attempts.pop(1))
    best, name = None, ""
    for variant, o in attempts:
        colors = _greedy(p, variant, deg)
        if best is None or colors.max() < best.max():
            best, name = colors, o
        if best.max() + 1 <= bound:
            break
    return best, name


def column_coloring(pattern, ordering: str | None = None) -> np.ndarray:
    """Colour per column such that same-coloured columns share no row (best of
    :data:`ORDERINGS`, or the one ``ordering`` named)."""
    p = as_pattern(pattern)
    return _best_columns(p, ORDERINGS if ordering is None else (ordering,))[0]


def row_coloring(pattern, ordering: str | None = None) -> np.ndarray:
    """Colour per row such that same-coloured rows share no column."""
    p = as_pattern(pattern).T
    return _best_columns(p, ORDERINGS if ordering is None else (ordering,))[0]


def is_valid_coloring(pattern, colors, mode: str = "column") -> bool:
    """True when no two same-coloured columns (rows for ``mode="row"``) share a row (column)."""
    p = as_pattern(pattern)
    if mode == "row":
        p = p.T
    elif mode != "column":
        raise ValueError(f"mode must be 'column' or 'row', got {mode!r}")
    colors = np.asarray(colors)
    if colors.shape != (p.shape[1],) or (colors < 0).any():
        return False
    rows = np.repeat(np.arange(p.shape[0]), p.row_counts)
    key = rows * (int(colors.max(initial=0)) + 1) + colors[p.row_cols]
    return np.unique(key).size == key.size


@dataclass(frozen=True, eq=False)
class Coloring:
    """A compression plan. ``mode``: ``"column"`` (``colors`` per column, JVPs), ``"row"``
    (per row, VJPs) or ``"bidirectional"`` (``colors`` per column for the rows outside
    ``reverse_rows``, ``row_colors`` per row for those inside: JVPs + VJPs)."""

    mode: str
    colors: np.ndarray
    shape: tuple[int, int]
    row_colors: np.ndarray | None = None
    reverse_rows: np.ndarray | None = None
    ordering: str = ""
    method: str = ""  # bidirectional: "direct split" or "star bicolouring"

    @property
    def n_colors(self) -> int:
        return int(self.colors.max(initial=-1)) + 1

    @property
    def n_row_colors(self) -> int:
        if self.row_colors is None:
            return 0
        used = self.row_colors[self.row_colors >= 0]
        return int(used.max()) + 1 if used.size else 0

    @property
    def sweeps(self) -> int:
        """JVPs + VJPs needed for the compressed products."""
        return self.n_colors + self.n_row_colors

    @property
    def jvps(self) -> int:
        return self.n_colors if self.mode in ("column", "bidirectional") else 0

    @property
    def vjps(self) -> int:
        return self.n_colors if self.mode == "row" else self.n_row_colors

    def from_rows(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """For the nonzeros ``(rows[k], cols[k])`` (all of the pattern's), whether each is read
        from the row product ``S_rᵀ J`` rather than from ``J S``. A column product entry
        ``(J S)[i, colour(j)]`` is ``J[i, j]`` when ``j`` is the only column of its colour in row
        ``i``; otherwise the row product must hold it (the colouring guarantees one of them)."""
        if self.mode == "column":
            return np.zeros(rows.size, bool)
        if self.mode == "row":
            return np.ones(rows.size, bool)
        return ~_unique_in_line(rows, self.colors[cols], self.shape[0])

    def seed(self) -> np.ndarray:
        """``S`` with ``S[k, colour(k)] = 1``; compute ``J @ S`` (column) or ``S.T @ J`` (row)."""
        return seed_matrix(self.colors, self.n_colors)

    def compress(self, jacobian) -> np.ndarray:
        """The compressed product from an explicit ``J`` (for tests; real use runs sweeps)."""
        jac = jacobian.toarray() if _sp is not None and _sp.issparse(jacobian) else jacobian
        jac = np.asarray(jac)
        if self.mode == "bidirectional":
            raise ValueError("a bidirectional colouring has two compressed products: "
                             "J @ seed() and row_seed().T @ J")
        return jac @ self.seed() if self.mode == "column" else self.seed().T @ jac

    def row_seed(self) -> np.ndarray:
        """The row seed of a bidirectional colouring (rows outside ``reverse_rows`` are 0)."""
        if self.row_colors is None:
            raise ValueError(f"a {self.mode} colouring has no row seed")
        return seed_matrix(self.row_colors, self.n_row_colors)

    def __str__(self) -> str:
        m, n = self.shape
        if self.mode == "bidirectional":
            how = f" ({self.method})" if self.method else ""
            return (f"bidirectional colouring{how} of a {m}x{n} pattern: {self.n_colors} JVPs "
                    f"+ {self.n_row_colors} VJPs = {self.sweeps} sweeps")
        kind = "JVPs" if self.mode == "column" else "VJPs"
        return (f"{self.mode} colouring of a {m}x{n} pattern: "
                f"{self.n_colors} colours = {self.sweeps} {kind}")


def _unique_in_line(lines: np.ndarray, colors: np.ndarray, n_lines: int) -> np.ndarray:
    """Per nonzero: coloured (``colors ≥ 0``) and the only one of its colour in its line (row
    ``lines[k]``); the test for reading it from the compressed product."""
    if lines.size == 0:
        return np.zeros(0, bool)
    c = int(colors.max(initial=-1)) + 2  # colour -1 gets its own slot
    key = lines * c + colors + 1
    counts = np.bincount(key, minlength=n_lines * c)
    return (colors >= 0) & (counts[key] == 1)


def seed_matrix(colors, n_colors: int | None = None) -> np.ndarray:
    """The 0/1 seed ``S`` (``len(colors) × n_colors``) with ``S[k, colors[k]] = 1``
    (entries with a negative colour get a zero row)."""
    colors = np.asarray(colors, dtype=np.int64)
    if n_colors is None:
        n_colors = int(colors.max()) + 1 if colors.size else 0
    seed = np.zeros((colors.size, n_colors))
    k = np.flatnonzero(colors >= 0)
    seed[k, colors[k]] = 1.0
    return seed


def one_sided(p: _Pattern, mode: str) -> Coloring:
    colors, o = _best_columns(p if mode == "column" else p.T)
    return Coloring(mode, colors, p.shape, ordering=o)


def color_jacobian(pattern, mode: str = "auto") -> Coloring:
    """Colour the pattern by columns, rows, or both. ``"auto"``: the cheaper of the column and
    row colourings; ``"best"``: the cheapest of those and the bidirectional ones
    (:func:`~.coloring_bidirectional.best_coloring`); ``"bidirectional"``: the cheaper of the
    direct split and the star bicolouring; ``"split"`` / ``"star_bicoloring"``: that one.

    Ties go to fewer VJPs (forward sweeps keep no tape). A side whose lower bound (the largest
    row / column count) cannot beat the best found is skipped.
    """
    from . import coloring_bidirectional as bi  # it builds on this module

    modes = ("auto", "best", "column", "row", "bidirectional", "split", "star_bicoloring")
    if mode not in modes:
        raise ValueError(f"color_jacobian: mode must be one of {modes}, got {mode!r}")
    p = as_pattern(pattern)
    if mode in ("column", "row"):
        return one_sided(p, mode)
    if mode == "split":
        return bi.direct_split(p)
    if mode == "star_bicoloring":
        return bi.star_bicoloring(p)
    if mode == "bidirectional":
        return min((bi.direct_split(p), bi.star_bicoloring(p)), key=cost)
    return bi.best_coloring(p, bidirectional=mode == "best")[0]


def cost(c: Coloring) -> tuple[int, int]:
    """What the colouring choices minimize: sweeps, then VJPs (a reverse sweep records and
    replays a tape, a forward one does not)."""
    return (c.sweeps, c.vjps)


def recover_jacobian(pattern, coloring: Coloring, compressed, dense: bool | None = None,
                     row_compressed=None):
    """Rebuild ``J`` from the compressed products ``J S`` (column), ``Sᵀ J`` (row), or both
    (bidirectional: ``compressed = J S``, ``row_compressed = S_rᵀ J``).

    Returns a ``scipy.sparse.csr_matrix`` holding every structural entry of ``pattern`` (zeros
    included) when scipy is importable (unless ``dense=True``), else a dense ndarray;
    layout is numerator (rows = outputs, columns = inputs).
    """
    p = as_pattern(pattern)
    if p.shape != coloring.shape:
        raise ValueError(f"pattern shape {p.shape} differs from the colouring's {coloring.shape}")
    compressed = np.asarray(compressed)
    rows = np.repeat(np.arange(p.shape[0]), p.row_counts)
    cols = p.row_cols
    m, n = p.shape
    if coloring.mode == "row":
        expected = (coloring.n_colors, n)
    else:
        expected = (m, coloring.n_colors)
    if compressed.shape != expected:
        raise ValueError(
            f"compressed product has shape {compressed.shape}; a {coloring.mode} colouring "
            f"with {coloring.n_colors} colours gives {expected}")
    if coloring.mode == "column":
        values = compressed[rows, coloring.colors[cols]]
    elif coloring.mode == "row":
        values = compressed[coloring.colors[rows], cols]
    else:
        rc = np.asarray(row_compressed)
        if rc.shape != (coloring.n_row_colors, n):
            raise ValueError(f"row_compressed has shape {rc.shape}; expected "
                             f"{(coloring.n_row_colors, n)}")
        by_row = coloring.from_rows(rows, cols)
        values = np.empty(rows.size, np.result_type(compressed, rc))
        values[by_row] = rc[coloring.row_colors[rows[by_row]], cols[by_row]]
        fwd = ~by_row
        values[fwd] = compressed[rows[fwd], coloring.colors[cols[fwd]]]
    if dense is None:
        dense = _sp is None
    if dense:
        out = np.zeros(p.shape, dtype=compressed.dtype)
        out[rows, cols] = values
        return out
    if _sp is None:
        raise ImportError("dense=False needs scipy; install it with `pip install scipy` or "
                          "pass dense=True")
    return _sp.csr_matrix((values, cols.copy(), p.row_ptr.copy()), shape=p.shape)
