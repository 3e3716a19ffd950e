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
    _above,
    _find,
    _sift_down,
    _sift_up,
    _union,
    acyclic_greedy,
    dsatur_d2,
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


def _ordering(deg: np.ndarray, col_ptr: np.ndarray, col_rows: np.ndarray,
              row_ptr: np.ndarray, row_cols: np.ndarray, n: int, smallest: bool,
              by_last: bool) -> np.ndarray:
    """Smallest-last (``smallest=True``) or incidence-degree order, written out in one loop.

    Vertices sit in doubly linked buckets by key (remaining distance-2 degree, or already
    ordered distance-2 neighbours; both counted with multiplicity over shared rows); ``link``
    keeps ``next`` and ``prev`` side by side (one cache line per move). Per ordered column the
    distinct distance-2 neighbours are gathered first and each is moved once, not once per
    shared row (13 moves instead of 25 on a 5-point stencil). ``by_last``: in the order of
    their *last* occurrence, which leaves the buckets as one move per occurrence would;
    otherwise of their first (ties broken differently; that order also walks the pattern with
    better locality, about twice as fast on a stencil)."""
    maxd = 0
    for j in range(n):
        if deg[j] > maxd:
            maxd = deg[j]
    key = deg.copy() if smallest else np.zeros(n, np.int64)
    head = np.full(maxd + 1, -1, np.int64)
    link = np.full((n, 2), -1, np.int64)
    start = 0
    for j in range(n):
        if deg[j] > deg[start]:
            start = j
    for s in range(n):  # push in this order: the last pushed leaves its bucket first
        j = s if smallest else n - 1 - s
        if not smallest and j == start:
            continue
        d = key[j]
        link[j, 0] = head[d]
        if head[d] >= 0:
            link[head[d], 1] = j
        head[d] = j
    if not smallest:
        link[start, 0] = head[0]
        if head[0] >= 0:
            link[head[0], 1] = start
        head[0] = start
    done = np.zeros(n, np.bool_)
    count = np.zeros(n, np.int64)
    last = np.zeros(n, np.int64)
    touched = np.empty(n, np.int64)
    order = np.empty(n, np.int64)
    cur = 0
    for t in range(n):
        if smallest:
            while head[cur] < 0:
                cur += 1
        else:
            while cur > 0 and head[cur] < 0:
                cur -= 1
        j = head[cur]
        nx = link[j, 0]
        head[cur] = nx
        if nx >= 0:
            link[nx, 1] = -1
        done[j] = True
        order[n - 1 - t if smallest else t] = j
        nt = 0
        step = 0
        for a in range(col_ptr[j], col_ptr[j + 1]):
            i = col_rows[a]
            for b in range(row_ptr[i], row_ptr[i + 1]):
                k = row_cols[b]
                if not done[k]:
                    if count[k] == 0:
                        touched[nt] = k
                        nt += 1
                    count[k] += 1
                    if by_last:
                        last[k] = step
                        step += 1
        for s in range(1, nt if by_last else 0):  # sort by last occurrence: a dozen entries
            k = touched[s]
            r = s - 1
            while r >= 0 and last[touched[r]] > last[k]:
                touched[r + 1] = touched[r]
                r -= 1
            touched[r + 1] = k
        for s in range(nt):
            k = touched[s]
            old = key[k]
            new = max(old - count[k], 0) if smallest else min(old + count[k], maxd)
            count[k] = 0
            if new == old:
                continue
            pv, nx = link[k, 1], link[k, 0]
            if pv >= 0:
                link[pv, 0] = nx
            else:
                head[old] = nx
            if nx >= 0:
                link[nx, 1] = pv
            link[k, 0] = head[new]
            link[k, 1] = -1
            if head[new] >= 0:
                link[head[new], 1] = k
            head[new] = k
            key[k] = new
            if (smallest and new < cur) or (not smallest and new > cur):
                cur = new
    return order


def smallest_last(deg: np.ndarray, col_ptr: np.ndarray, col_rows: np.ndarray,
                  row_ptr: np.ndarray, row_cols: np.ndarray, n: int) -> np.ndarray:
    """Smallest-last order (Matula–Beck): repeatedly remove a column of least remaining
    distance-2 degree (counted with multiplicity over shared rows); colour in reverse."""
    return _ordering(deg, col_ptr, col_rows, row_ptr, row_cols, n, True, True)


def smallest_last_fast(deg: np.ndarray, col_ptr: np.ndarray, col_rows: np.ndarray,
                       row_ptr: np.ndarray, row_cols: np.ndarray, n: int) -> np.ndarray:
    """Smallest-last with the other tie-breaking (first occurrence): tried first."""
    return _ordering(deg, col_ptr, col_rows, row_ptr, row_cols, n, True, False)


def incidence_degree(deg: np.ndarray, col_ptr: np.ndarray, col_rows: np.ndarray,
                     row_ptr: np.ndarray, row_cols: np.ndarray, n: int) -> np.ndarray:
    """Incidence-degree order: next is a column with the most already-ordered distance-2
    neighbours (counted with multiplicity), starting from one of largest degree."""
    return _ordering(deg, col_ptr, col_rows, row_ptr, row_cols, n, False, True)


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
    "smallest_last_fast": smallest_last_fast,
    "incidence_degree": incidence_degree, "star_greedy": star_greedy,
    "star_bicolor": star_bicolor, "acyclic_greedy": acyclic_greedy,
    "forest_order": forest_order, "substitute": substitute, "dsatur_d2": dsatur_d2,
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
    helpers = {"_ordering": jit(_ordering), "_find": jit(_find), "_above": jit(_above)}
    helpers["_union"] = _clone(_union, helpers, jit)
    helpers["_sift_up"] = _clone(_sift_up, helpers, jit)
    helpers["_sift_down"] = _clone(_sift_down, helpers, jit)
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
        _compiled["smallest_last_fast"](np.ones(3, np.int64), ptr, i, ptr, i, 3)  # type: ignore
        _compiled["incidence_degree"](np.ones(3, np.int64), ptr, i, ptr, i, 3)  # type: ignore
        _compiled["star_greedy"](i, ptr, i, 3)  # type: ignore[index]
        _compiled["star_bicolor"](i, ptr, i, 3)  # type: ignore[index]
        _compiled["acyclic_greedy"](i, ptr, i, i, 3)  # type: ignore[index]
        _compiled["forest_order"](ptr, i, i, 3)  # type: ignore[index]
        _compiled["dsatur_d2"](np.ones(3, np.int64), ptr, i, ptr, i, 3)  # type: ignore[index]
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
