"""The sequential loops of graph colouring, compiled by numba when it is installed.

Greedy colouring is inherently sequential (each vertex takes the smallest colour its
neighbours leave free), so it is written as plain loops over CSR/CSC index arrays. With numba
(an optional extra) these loops are compiled once and cached on disk; without it the very same
functions run as Python, which is fine up to some 10⁴ vertices. ``TENSORCALC_COLORING=python``
forces the Python path (the tests run both).

Conventions: a pattern is given by its CSR (``row_ptr``, ``row_cols``) and CSC (``col_ptr``,
``col_rows``) index arrays; a *column* colouring colours the columns so that no two of one
colour share a row (partial distance-2 colouring of the bipartite graph).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ._kernels_graph import (
    _find,
    _union,
    acyclic_greedy,
    forest_order,
    star_bicolor,
    substitute,
)


def greedy_d2(order: np.ndarray, col_ptr: np.ndarray, col_rows: np.ndarray,
              row_ptr: np.ndarray, row_cols: np.ndarray, n: int) -> np.ndarray:
    """Colour columns in ``order`` with the smallest colour no column sharing a row has."""
    colors = np.full(n, -1, np.int64)
    forbidden = np.full(n + 1, -1, np.int64)
    for t in range(order.size):
        j = order[t]
        for a in range(col_ptr[j], col_ptr[j + 1]):
            i = col_rows[a]
            for b in range(row_ptr[i], row_ptr[i + 1]):
                c = colors[row_cols[b]]
                if c >= 0:
                    forbidden[c] = j
        c = 0
        while forbidden[c] == j:
            c += 1
        colors[j] = c
    return colors


def _bucket_insert(head: np.ndarray, nxt: np.ndarray, prv: np.ndarray, d: int, j: int) -> None:
    nxt[j] = head[d]
    prv[j] = -1
    if head[d] >= 0:
        prv[head[d]] = j
    head[d] = j


def _bucket_remove(head: np.ndarray, nxt: np.ndarray, prv: np.ndarray, d: int, j: int) -> None:
    if prv[j] >= 0:
        nxt[prv[j]] = nxt[j]
    else:
        head[d] = nxt[j]
    if nxt[j] >= 0:
        prv[nxt[j]] = prv[j]


def _bucket_move(head: np.ndarray, nxt: np.ndarray, prv: np.ndarray, old: int, new: int,
                 j: int) -> None:
    _bucket_remove(head, nxt, prv, old, j)
    _bucket_insert(head, nxt, prv, new, j)


def _gather_d2(j: int, col_ptr: np.ndarray, col_rows: np.ndarray, row_ptr: np.ndarray,
               row_cols: np.ndarray, skip: np.ndarray, count: np.ndarray, last: np.ndarray,
               touched: np.ndarray) -> int:
    """The distinct distance-2 neighbours ``k`` of column ``j`` with ``skip[k]`` False go to
    ``touched[:return value]``; ``count[k]`` (zero on entry) is how many rows they share.
    Batching per distinct neighbour moves each one between buckets once, not once per
    shared row (on a 5-point stencil 13 moves instead of 25). They are listed in the order of
    their *last* occurrence, so that the buckets end up as with one move per occurrence (the
    tie-breaking that the orderings' colour counts were tuned with)."""
    nt = 0
    step = 0
    for a in range(col_ptr[j], col_ptr[j + 1]):
        i = col_rows[a]
        for b in range(row_ptr[i], row_ptr[i + 1]):
            k = row_cols[b]
            if not skip[k]:
                if count[k] == 0:
                    touched[nt] = k
                    nt += 1
                count[k] += 1
                last[k] = step
                step += 1
    for s in range(1, nt):  # insertion sort by last occurrence: a dozen entries
        k = touched[s]
        t = s - 1
        while t >= 0 and last[touched[t]] > last[k]:
            touched[t + 1] = touched[t]
            t -= 1
        touched[t + 1] = k
    return nt


def smallest_last(deg: np.ndarray, col_ptr: np.ndarray, col_rows: np.ndarray,
                  row_ptr: np.ndarray, row_cols: np.ndarray, n: int) -> np.ndarray:
    """Smallest-last order (Matula–Beck): repeatedly remove a column of least remaining
    distance-2 degree (counted with multiplicity over shared rows); colour in reverse."""
    deg = deg.copy()
    maxd = 0
    for j in range(n):
        if deg[j] > maxd:
            maxd = deg[j]
    head = np.full(maxd + 1, -1, np.int64)
    nxt = np.full(n, -1, np.int64)
    prv = np.full(n, -1, np.int64)
    for j in range(n):
        _bucket_insert(head, nxt, prv, deg[j], j)
    removed = np.zeros(n, np.bool_)
    count = np.zeros(n, np.int64)
    last = np.zeros(n, np.int64)
    touched = np.empty(n, np.int64)
    order = np.empty(n, np.int64)
    mind = 0
    for t in range(n - 1, -1, -1):
        while head[mind] < 0:
            mind += 1
        j = head[mind]
        _bucket_remove(head, nxt, prv, mind, j)
        removed[j] = True
        order[t] = j
        nt = _gather_d2(j, col_ptr, col_rows, row_ptr, row_cols, removed, count, last,
                        touched)
        for s in range(nt):
            k = touched[s]
            d = max(deg[k] - count[k], 0)
            count[k] = 0
            if d != deg[k]:
                _bucket_move(head, nxt, prv, deg[k], d, k)
                deg[k] = d
                if d < mind:
                    mind = d
    return order


def incidence_degree(deg: np.ndarray, col_ptr: np.ndarray, col_rows: np.ndarray,
                     row_ptr: np.ndarray, row_cols: np.ndarray, n: int) -> np.ndarray:
    """Incidence-degree order: next is a column with the most already-ordered distance-2
    neighbours (counted with multiplicity), starting from one of largest degree."""
    maxd = 0
    for j in range(n):
        if deg[j] > maxd:
            maxd = deg[j]
    inc = np.zeros(n, np.int64)
    head = np.full(maxd + 1, -1, np.int64)
    nxt = np.full(n, -1, np.int64)
    prv = np.full(n, -1, np.int64)
    start = 0
    for j in range(n):
        if deg[j] > deg[start]:
            start = j
    for j in range(n - 1, -1, -1):
        if j != start:
            _bucket_insert(head, nxt, prv, 0, j)
    _bucket_insert(head, nxt, prv, 0, start)  # first out of bucket 0
    done = np.zeros(n, np.bool_)
    count = np.zeros(n, np.int64)
    last = np.zeros(n, np.int64)
    touched = np.empty(n, np.int64)
    order = np.empty(n, np.int64)
    top = 0
    for t in range(n):
        while top > 0 and head[top] < 0:
            top -= 1
        j = head[top]
        _bucket_remove(head, nxt, prv, top, j)
        done[j] = True
        order[t] = j
        nt = _gather_d2(j, col_ptr, col_rows, row_ptr, row_cols, done, count, last, touched)
        for s in range(nt):
            k = touched[s]
            d = min(inc[k] + count[k], maxd)
            count[k] = 0
            if d != inc[k]:
                _bucket_move(head, nxt, prv, inc[k], d, k)
                inc[k] = d
                if d > top:
                    top = d
    return order


def star_greedy(order: np.ndarray, ptr: np.ndarray, idx: np.ndarray, n: int) -> np.ndarray:
    """Greedy star colouring of an adjacency graph (Gebremedhin–Manne–Pothen 2005,
    Algorithm 4.1): a proper colouring in which no path on four vertices is bicoloured.

    Colouring ``v``, for every neighbour ``w`` and every coloured ``x`` next to ``w``: if ``w``
    is uncoloured, ``x``'s colour is forbidden (distance-2 rule); if ``w`` is coloured, it is
    forbidden only when ``x`` already has a neighbour ``y ≠ w`` of ``w``'s colour, which would
    make ``v – w – x – y`` bicoloured.
    """
    color = np.full(n, -1, np.int64)
    forbidden = np.full(n + 1, -1, np.int64)
    for t in range(order.size):
        v = order[t]
        for a in range(ptr[v], ptr[v + 1]):
            w = idx[a]
            if w == v:
                continue
            cw = color[w]
            if cw >= 0:
                forbidden[cw] = v
            for b in range(ptr[w], ptr[w + 1]):
                x = idx[b]
                if x == v or x == w or color[x] < 0:
                    continue
                if cw < 0:
                    forbidden[color[x]] = v
                elif forbidden[color[x]] != v:
                    for e in range(ptr[x], ptr[x + 1]):
                        y = idx[e]
                        if y != w and y != x and color[y] == cw:
                            forbidden[color[x]] = v
                            break
        c = 0
        while forbidden[c] == v:
            c += 1
        color[v] = c
    return color


_PYTHON: dict[str, Callable[..., Any]] = {
    "greedy_d2": greedy_d2, "smallest_last": smallest_last,
    "incidence_degree": incidence_degree, "star_greedy": star_greedy,
    "star_bicolor": star_bicolor, "acyclic_greedy": acyclic_greedy,
    "forest_order": forest_order, "substitute": substitute,
}
_compiled: dict[str, Callable[..., Any]] | None = None


def _clone(fn: Callable[..., Any], helpers: dict[str, Any], jit: Any) -> Any:
    """``fn`` compiled, its helper calls bound to the compiled helpers."""
    g = dict(fn.__globals__)
    g.update(helpers)
    return jit(type(fn)(fn.__code__, g, fn.__name__, fn.__defaults__, fn.__closure__))


def _compile() -> dict[str, Callable[..., Any]] | None:
    try:
        import numba
    except ImportError:
        return None
    jit = numba.njit(cache=True, nogil=True)
    helpers = {"_bucket_insert": jit(_bucket_insert), "_bucket_remove": jit(_bucket_remove),
               "_gather_d2": jit(_gather_d2), "_find": jit(_find)}
    helpers["_bucket_move"] = _clone(_bucket_move, helpers, jit)
    helpers["_union"] = _clone(_union, helpers, jit)
    out = {name: _clone(fn, helpers, jit) for name, fn in _PYTHON.items()}
    return out


#: Below this many inner-loop steps the Python loops are used even when numba is installed:
#: importing numba and loading its cached machine code costs more than the work itself.
SMALL_WORK = 200_000


def backend() -> str:
    """``"numba"`` when the compiled loops are used, else ``"python"``."""
    if os.environ.get("TENSORCALC_COLORING", "").lower() == "python":
        return "python"
    global _compiled
    if _compiled is None:
        _compiled = _compile() or {}
    return "numba" if _compiled else "python"


def warm() -> str:
    """Load (or compile) every numba loop now rather than inside the first large colouring;
    returns the backend. Costs the numba import plus the cache reads, once per process."""
    if backend() == "numba":
        i = np.arange(3, dtype=np.int64)
        ptr = np.arange(4, dtype=np.int64)
        _compiled["greedy_d2"](i, ptr, i, ptr, i, 3)  # type: ignore[index]
        _compiled["smallest_last"](np.ones(3, np.int64), ptr, i, ptr, i, 3)  # type: ignore
        _compiled["incidence_degree"](np.ones(3, np.int64), ptr, i, ptr, i, 3)  # type: ignore
        _compiled["star_greedy"](i, ptr, i, 3)  # type: ignore[index]
        _compiled["star_bicolor"](i, ptr, i, 3)  # type: ignore[index]
        _compiled["acyclic_greedy"](i, ptr, i, i, 3)  # type: ignore[index]
        _compiled["forest_order"](ptr, i, i, 3)  # type: ignore[index]
        _compiled["substitute"](i, i, i, np.ones(3), 3)  # type: ignore[index]
    return backend()


def kernel(name: str, work: int | None = None) -> Callable[..., Any]:
    """The loop ``name``, compiled when numba is available and the ``work`` (inner-loop
    steps, when known) is large enough to pay for it."""
    if work is not None and work < SMALL_WORK and not _compiled:
        return _PYTHON[name]
    if backend() == "numba":
        return _compiled[name]  # type: ignore[index]
    return _PYTHON[name]
