"""Bidirectional colourings: forward seeds on columns and reverse seeds on rows together.

A dense row forces ``n`` column colours and a dense column ``m`` row colours; an arrowhead has
both. With column colours ``φ_c`` (``−1``: the column is in no forward seed) and row colours
``φ_r`` the sweeps give ``B_c = J S_c`` (one JVP per column colour) and ``B_r = S_rᵀ J`` (one VJP
per row colour), and a nonzero ``J[i, j]`` is read *directly* from

- ``B_c[i, φ_c(j)]`` when ``j`` is the only column of colour ``φ_c(j)`` with a nonzero in row
  ``i``, or else from
- ``B_r[φ_r(i), j]`` when ``i`` is the only row of colour ``φ_r(i)`` in column ``j``.

A colouring is valid when every nonzero is read one way or the other
(:func:`is_valid_bicoloring` checks exactly that). Two constructions:

*Direct split*: the rows of a set ``R`` (the dense ones) come from VJPs — a row colouring of
``J[R, :]`` — and the others from JVPs — a column colouring of ``J[R̄, :]``; or the same with
rows and columns swapped. An arrowhead takes 2 JVPs + 1 VJP.

*Star bicolouring* (Coleman & Verma 1998; Gebremedhin, Manne & Pothen 2005, §6): on the
bipartite graph (a vertex per row and per column, an edge per nonzero), choose a vertex cover
(every edge has a coloured end) and colour the cover so that (a) two rows (columns) sharing an
uncoloured column (row) differ, and (b) no path on four vertices alternates between one row
colour and one column colour. Then in the subgraph of row colour ``a`` and column colour ``b``
every component is a star, and each edge ``i – j`` has an end that is a leaf: if ``i`` is, ``j``
is the only ``b``-column of row ``i`` and ``J[i, j] = B_c[i, b]``; otherwise ``j`` is a leaf and
``J[i, j] = B_r[a, j]``. Several covers (dense rows + all columns, dense columns + all rows,
everything, and a minimum cover from a maximum matching, König) and two vertex orders are tried;
the fewest sweeps win.

:func:`best_coloring` picks the cheapest of column, row, direct split and star bicolouring
(sweeps, ties to fewer VJPs) and says what each needed.
"""

from __future__ import annotations

import numpy as np

from ._kernels import kernel
from .coloring import (
    Coloring,
    _best_columns,
    _Pattern,
    _unique_in_line,
    as_pattern,
    cost,
    one_sided,
)

__all__ = ["direct_split", "star_bicoloring", "best_coloring", "is_valid_bicoloring",
           "has_dense_lines"]

try:
    from scipy.sparse import csr_matrix as _csr
    from scipy.sparse.csgraph import maximum_bipartite_matching as _matching
except ImportError:  # pragma: no cover - exercised only without scipy
    _csr = _matching = None


def _thresholds(counts: np.ndarray, limit: int = 3) -> list[int]:
    """Candidate cut-offs for "dense" lines: the largest few distinct counts well above the
    median count."""
    if counts.size == 0:
        return []
    med = float(np.median(counts))
    levels = np.unique(counts[counts > max(2.0 * med, med + 2)])[::-1]
    return [int(v) for v in levels[:limit]]


def has_dense_lines(p: _Pattern) -> bool:
    """Whether some rows or columns are far denser than the median (bidirectional colourings
    may pay)."""
    return bool(_thresholds(p.row_counts) or _thresholds(p.col_counts))


def _split_rows(p: _Pattern, reverse: np.ndarray) -> Coloring:
    """Rows in ``reverse`` by VJPs, the others by JVPs."""
    cols, o = _best_columns(p.rows(~reverse))
    if reverse.all():  # no row is left to the JVPs
        cols = np.full(p.shape[1], -1, np.int64)
    rows, _ = _best_columns(p.rows(reverse).T)
    row_colors = np.where(reverse, rows, -1)
    return Coloring("bidirectional", cols, p.shape, row_colors, np.flatnonzero(reverse), o,
                    "direct split")


def _transposed(c: Coloring) -> Coloring:
    """A bidirectional colouring of ``Jᵀ`` as one of ``J`` (forward and reverse swap)."""
    rows = c.colors
    reverse = np.flatnonzero(rows >= 0)
    return Coloring("bidirectional", c.row_colors, c.shape[::-1], rows, reverse, c.ordering,
                    c.method)


def direct_split(p: _Pattern) -> Coloring:
    """The cheapest direct split over a few "dense" cut-offs, for rows and for columns."""
    p = as_pattern(p)
    cands = [_split_rows(p, p.row_counts >= cut) for cut in _thresholds(p.row_counts)]
    cands += [_transposed(_split_rows(p.T, p.col_counts >= cut))
              for cut in _thresholds(p.col_counts)]
    if not cands:
        cands = [_split_rows(p, np.zeros(p.shape[0], bool))]
    return min(cands, key=cost)


def _bipartite(p: _Pattern) -> tuple[np.ndarray, np.ndarray]:
    """CSR adjacency of the bipartite graph: rows are vertices ``0…m−1``, columns ``m…m+n−1``."""
    m, _ = p.shape
    nnz = p.row_cols.size
    ptr = np.concatenate([p.row_ptr[:-1], p.col_ptr + nnz])
    idx = np.concatenate([p.row_cols + m, p.col_rows])
    return ptr, idx


def _ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """``concatenate([arange(a, b) for a, b in zip(starts, stops)])`` without a Python loop."""
    lens = stops - starts
    offs = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    return offs + np.arange(int(lens.sum()))


def _min_cover(p: _Pattern) -> np.ndarray | None:
    """A minimum vertex cover of the bipartite graph (König: from a maximum matching, the
    rows not reachable by alternating paths from unmatched rows, plus the reachable columns)."""
    if _matching is None:
        return None
    m, n = p.shape
    mat = _csr((np.ones(p.row_cols.size), p.row_cols, p.row_ptr), shape=(m, n))
    col_of_row = np.asarray(_matching(mat, perm_type="column"))  # row i -> matched column
    row_of_col = np.full(n, -1, np.int64)
    matched = np.flatnonzero(col_of_row >= 0)
    row_of_col[col_of_row[matched]] = matched
    seen_r = col_of_row < 0
    seen_c = np.zeros(n, bool)
    frontier = np.flatnonzero(seen_r)
    while frontier.size:  # alternating BFS: any edge row -> column, matched edge back
        cols = p.row_cols[_ranges(p.row_ptr[frontier], p.row_ptr[frontier + 1])]
        cols = np.unique(cols[~seen_c[cols]])
        seen_c[cols] = True
        rows = row_of_col[cols]
        rows = rows[(rows >= 0) & ~seen_r[np.maximum(rows, 0)]]
        seen_r[rows] = True
        frontier = rows
    return np.concatenate([~seen_r, seen_c])


def _covers(p: _Pattern) -> list[np.ndarray]:
    m, n = p.shape
    covers = [np.ones(m + n, bool)]
    for cut in _thresholds(p.row_counts)[:2]:
        covers.append(np.concatenate([p.row_counts >= cut, np.ones(n, bool)]))
    for cut in _thresholds(p.col_counts)[:2]:
        covers.append(np.concatenate([np.ones(m, bool), p.col_counts >= cut]))
    mc = _min_cover(p)
    if mc is not None:
        covers.append(mc)
    return covers


def star_bicoloring(p: _Pattern) -> Coloring:
    """The cheapest greedy star bicolouring over the candidate covers and orders (see the
    module docstring)."""
    p = as_pattern(p)
    m, n = p.shape
    ptr, idx = _bipartite(p)
    deg = np.diff(np.append(ptr, idx.size))
    counts = np.concatenate([p.row_counts, p.col_counts])
    work = int(np.dot(counts, counts) * max(float(counts.mean()) if counts.size else 0, 1.0))
    best = None
    for cover in _covers(p):
        verts = np.flatnonzero(cover)
        by_degree = verts[np.argsort(-deg[verts], kind="stable")]
        # rows first: the dense rows take the few reverse colours before the columns settle
        rows_first = np.concatenate([by_degree[by_degree < m], by_degree[by_degree >= m]])
        for name, order in (("largest_first", by_degree), ("rows_first", rows_first)):
            color = kernel("star_bicolor", work)(order, ptr, idx, m + n)
            cols, rows = _trim(p, color[m:], color[:m])
            c = Coloring("bidirectional", cols, (m, n), rows, np.flatnonzero(rows >= 0), name,
                         "star bicolouring")
            if best is None or cost(c) < cost(best):
                best = c
    return best


#: Trimming checks each colour class once, O(nnz) each; above this many it is skipped.
TRIM_LIMIT = 64


def _trim(p: _Pattern, cols: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop whole colour classes (highest first, columns then rows) while every nonzero stays
    readable: a greedy colouring often seeds lines whose entries the other side already gives."""
    m, n = p.shape
    r = np.repeat(np.arange(m, dtype=np.int64), p.row_counts)
    c = p.row_cols
    cols, rows = cols.copy(), rows.copy()
    if cols.max(initial=-1) + rows.max(initial=-1) + 2 > TRIM_LIMIT:
        return cols, rows
    for side in ("cols", "rows"):
        mine = cols if side == "cols" else rows
        for k in range(int(mine.max(initial=-1)), -1, -1):
            members = mine == k
            trial = np.where(members, -1, mine)
            tc, tr = (trial, rows) if side == "cols" else (cols, trial)
            if np.all(_unique_in_line(r, tc[c], m) | _unique_in_line(c, tr[r], n)):
                mine[:] = np.where(mine > k, mine - 1, trial)  # keep the colours contiguous
    return cols, rows


def is_valid_bicoloring(pattern, coloring: Coloring) -> bool:
    """Whether every nonzero of ``pattern`` is read directly from ``J S_c`` or ``S_rᵀ J``."""
    p = as_pattern(pattern)
    if p.shape != coloring.shape:
        return False
    m, n = p.shape
    rows = np.repeat(np.arange(m, dtype=np.int64), p.row_counts)
    cols = p.row_cols
    col_colors = coloring.colors if coloring.mode != "row" else np.full(n, -1, np.int64)
    row_colors = coloring.row_colors if coloring.mode == "bidirectional" else (
        coloring.colors if coloring.mode == "row" else np.full(m, -1, np.int64))
    if col_colors.shape != (n,) or row_colors.shape != (m,):
        return False
    by_cols = _unique_in_line(rows, col_colors[cols], m)
    by_rows = _unique_in_line(cols, row_colors[rows], n)
    return bool(np.all(by_cols | by_rows))


#: :func:`best_coloring` skips the star bicolouring above this many inner-loop steps (each of
#: the candidate colourings visits the neighbours of the neighbours of every vertex; a dense row
#: makes that quadratic, and the direct split, which needs no such loop, is then tried alone).
STAR_BICOLOR_WORK = 20_000_000


def bicoloring_work(p: _Pattern) -> int:
    """Steps of one star bicolouring: ``Σ deg(w)²`` over rows and columns ``w``, per cover."""
    rows, cols = p.row_counts, p.col_counts
    return int(np.dot(rows, rows) + np.dot(cols, cols)) * (len(_covers(p)) * 2)


def best_coloring(pattern, bidirectional: bool = True, transpose_only: bool = False
                  ) -> tuple[Coloring, dict[str, str]]:
    """The cheapest colouring and what each kind needed (for ``print(plan)``). A one-sided
    colouring whose lower bound (the largest row / column count) cannot beat the best found
    is skipped; bidirectional ones are tried only when some rows or columns are dense.
    ``transpose_only``: the program can only be pulled back (a ``custom_vjp``), rows only."""
    p = as_pattern(pattern)
    if transpose_only:
        c = one_sided(p, "row")
        return c, {"row (VJPs)": str(c.sweeps)}
    alt: dict[str, str] = {}
    cands: list[Coloring] = []
    if bidirectional and has_dense_lines(p):
        for label, make in (("direct split", direct_split), ("star bicolouring",
                                                             star_bicoloring)):
            if make is star_bicoloring and bicoloring_work(p) > STAR_BICOLOR_WORK:
                alt[f"{label} (JVP + VJP)"] = f"skipped (~{bicoloring_work(p):.1e} steps)"
                continue
            c = make(p)
            cands.append(c)
            alt[f"{label} (JVP + VJP)"] = f"{c.sweeps} = {c.jvps} + {c.vjps}"
    sides = sorted([(int(p.row_counts.max(initial=0)), 0, "column"),
                    (int(p.col_counts.max(initial=0)), 1, "row")])
    for bound, _, side in sides:
        label = f"{side} ({'JVPs' if side == 'column' else 'VJPs'})"
        best = min(cands, key=cost) if cands else None
        # a row colouring cannot win a tie, nor anything a tie with a VJP-free colouring
        if best is not None and (bound > best.sweeps or bound == best.sweeps and (
                side == "row" or best.vjps == 0)):
            alt[label] = f"skipped (needs >= {bound})"
            continue
        c = one_sided(p, side)
        cands.append(c)
        alt[label] = str(c.sweeps)
    return min(cands, key=cost), alt
