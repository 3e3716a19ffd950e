"""Colouring loops on general adjacency graphs: star bicolouring and acyclic colouring.

Like :mod:`._kernels` (which registers and compiles these with numba when it is installed),
these are plain sequential loops over CSR index arrays (``ptr``, ``idx``: the neighbours of
vertex ``v`` are ``idx[ptr[v]:ptr[v + 1]]``).

*Star bicolouring* runs on the bipartite graph of an ``m × n`` Jacobian (rows are vertices
``0 … m−1``, columns ``m … m+n−1``); only the vertices in ``order`` (a vertex cover) get a
colour, the others keep ``−1`` ("colour 0" in Coleman–Verma: in no seed). Row and column
colours are separate seed spaces (reverse and forward sweeps), so no properness is needed; the
constraints are the distance-2 rule through uncoloured vertices and the star rule (no path on
four vertices alternating between one row colour and one column colour).

*Acyclic colouring* (Gebremedhin, Tarafdar, Manne & Pothen 2007, Algorithm 3.1): a proper
colouring in which every two-coloured subgraph is a forest. The trees are kept as a disjoint-set
forest over the *edges* (each edge with both ends coloured lies in exactly one two-coloured
subgraph). Colouring ``v`` with ``c`` adds the edges ``v – w`` to the ``{c, colour(w)}``
subgraph; that closes a cycle exactly when two neighbours ``w ≠ w'`` of ``v`` of one colour
already lie in one tree of that subgraph, found as: a neighbour ``x`` of ``w`` with
``colour(x) = c`` puts edge ``w – x``'s tree on ``c``'s list, and meeting the same tree from a
second ``w'`` forbids ``c``.
"""

from __future__ import annotations

import numpy as np


def star_bicolor(order: np.ndarray, ptr: np.ndarray, idx: np.ndarray, nv: int) -> np.ndarray:
    """Greedy star colouring of the cover vertices ``order`` of a bipartite graph (see the
    module docstring); colours count from 0 on each side."""
    color = np.full(nv, -1, np.int64)
    forbidden = np.full(nv + 1, -1, np.int64)
    for t in range(order.size):
        v = order[t]
        for a in range(ptr[v], ptr[v + 1]):
            w = idx[a]
            cw = color[w]
            for b in range(ptr[w], ptr[w + 1]):
                x = idx[b]
                if x == v or color[x] < 0:
                    continue
                if cw < 0:  # w is in no seed: v and x must differ to be read through w
                    forbidden[color[x]] = v
                elif forbidden[color[x]] != v:
                    for e in range(ptr[x], ptr[x + 1]):  # would v – w – x – y alternate?
                        y = idx[e]
                        if y != w and color[y] == cw:
                            forbidden[color[x]] = v
                            break
        c = 0
        while forbidden[c] == v:
            c += 1
        color[v] = c
    return color


def _find(parent: np.ndarray, e: int) -> int:
    root = e
    while parent[root] != root:
        root = parent[root]
    while parent[e] != root:  # path compression
        nxt = parent[e]
        parent[e] = root
        e = nxt
    return root


def _union(parent: np.ndarray, a: int, b: int) -> None:
    ra, rb = _find(parent, a), _find(parent, b)
    if ra != rb:
        parent[max(ra, rb)] = min(ra, rb)


def acyclic_greedy(order: np.ndarray, ptr: np.ndarray, idx: np.ndarray, edge: np.ndarray,
                   n: int) -> np.ndarray:
    """Greedy acyclic colouring in ``order``; ``edge[a]`` is one id shared by the two CSR
    positions of an undirected edge (loops ``v – v`` are skipped)."""
    color = np.full(n, -1, np.int64)
    forbidden = np.full(n + 1, -1, np.int64)
    parent = np.arange(idx.size, dtype=np.int64)  # disjoint sets of edge ids (two-coloured trees)
    seen_v = np.full(idx.size, -1, np.int64)  # tree -> the v that last met it
    seen_w = np.full(idx.size, -1, np.int64)  # ... and through which neighbour
    first_v = np.full(n + 1, -1, np.int64)  # colour d -> v's first edge to a d-neighbour
    first_e = np.full(n + 1, -1, np.int64)
    for t in range(order.size):
        v = order[t]
        for a in range(ptr[v], ptr[v + 1]):
            w = idx[a]
            if w != v and color[w] >= 0:
                forbidden[color[w]] = v
        for a in range(ptr[v], ptr[v + 1]):
            w = idx[a]
            if w == v or color[w] < 0:
                continue
            for b in range(ptr[w], ptr[w + 1]):
                x = idx[b]
                if x == v or x == w or color[x] < 0 or forbidden[color[x]] == v:
                    continue
                tree = _find(parent, edge[b])
                if seen_v[tree] != v:
                    seen_v[tree] = v
                    seen_w[tree] = w
                elif seen_w[tree] != w:  # a second way into one tree: a cycle
                    forbidden[color[x]] = v
        c = 0
        while forbidden[c] == v:
            c += 1
        color[v] = c
        # Merge: v's edges to neighbours of one colour d join each other and, through each
        # such w, the tree of w's c-coloured edges in the {c, d} subgraph.
        for a in range(ptr[v], ptr[v + 1]):
            w = idx[a]
            if w == v or color[w] < 0:
                continue
            d = color[w]
            if first_v[d] != v:
                first_v[d] = v
                first_e[d] = edge[a]
            else:
                _union(parent, first_e[d], edge[a])
            for b in range(ptr[w], ptr[w + 1]):
                x = idx[b]
                if x != v and x != w and color[x] == c:
                    _union(parent, edge[a], edge[b])
                    break
    return color


def forest_order(ptr: np.ndarray, adj: np.ndarray, eid: np.ndarray, nn: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breadth-first order of every tree of a forest (``adj``/``eid``: neighbour and edge id
    per CSR position): the visited nodes, and per node its parent and the edge to it (−1 at
    roots). Isolated nodes are left out."""
    parent = np.full(nn, -1, np.int64)
    pedge = np.full(nn, -1, np.int64)
    seen = np.zeros(nn, np.bool_)
    order = np.empty(nn, np.int64)
    size = 0
    for s in range(nn):
        if seen[s] or ptr[s + 1] == ptr[s]:
            continue
        seen[s] = True
        order[size] = s
        head = size
        size += 1
        while head < size:
            u = order[head]
            head += 1
            for a in range(ptr[u], ptr[u + 1]):
                w = adj[a]
                if not seen[w]:
                    seen[w] = True
                    parent[w] = u
                    pedge[w] = eid[a]
                    order[size] = w
                    size += 1
    return order[:size], parent, pedge


def substitute(b_index: np.ndarray, node: np.ndarray, up: np.ndarray, flat: np.ndarray,
               nn: int) -> np.ndarray:
    """Tree edges leaves first: ``value[t] = flat[b_index[t]] − acc[node[t]]``, then
    ``acc[up[t]] += value[t]`` (the sum of the already-known entries in that row and colour)."""
    acc = np.zeros(nn, flat.dtype)
    value = np.empty(b_index.size, flat.dtype)
    for t in range(b_index.size):
        v = flat[b_index[t]] - acc[node[t]]
        value[t] = v
        acc[up[t]] += v
    return value


def _above(a: int, b: int, sat: np.ndarray, deg: np.ndarray) -> bool:
    """DSATUR's priority: more distinct neighbour colours, then larger degree, then lower
    index (NetworkX's tie-breaking, so that the oracle comparison is like for like)."""
    if sat[a] != sat[b]:
        return sat[a] > sat[b]
    if deg[a] != deg[b]:
        return deg[a] > deg[b]
    return a < b


def _sift_up(heap: np.ndarray, pos: np.ndarray, t: int, sat: np.ndarray,
             deg: np.ndarray) -> None:
    v = heap[t]
    while t > 0:
        up = (t - 1) // 2
        if not _above(v, heap[up], sat, deg):
            break
        heap[t] = heap[up]
        pos[heap[t]] = t
        t = up
    heap[t] = v
    pos[v] = t


def _sift_down(heap: np.ndarray, pos: np.ndarray, size: int, sat: np.ndarray,
               deg: np.ndarray) -> None:
    t = 0
    v = heap[0]
    while True:
        kid = 2 * t + 1
        if kid >= size:
            break
        if kid + 1 < size and _above(heap[kid + 1], heap[kid], sat, deg):
            kid += 1
        if not _above(heap[kid], v, sat, deg):
            break
        heap[t] = heap[kid]
        pos[heap[t]] = t
        t = kid
    heap[t] = v
    pos[v] = t


def dsatur_d2(deg: np.ndarray, col_ptr: np.ndarray, col_rows: np.ndarray,
              row_ptr: np.ndarray, row_cols: np.ndarray, n: int) -> np.ndarray:
    """DSATUR (Brélaz) for the partial distance-2 column colouring: next is an uncoloured
    column whose distance-2 neighbours already use the most distinct colours (ties: larger
    ``deg``, then lower index), coloured with the smallest free colour. A binary max-heap with
    positions holds the uncoloured columns; a colour seen for the first time around a column
    raises it.

    The colours seen around each column are a 63-bit mask, so this gives up (returns all
    ``−1``) when a 64th colour would be needed; the other orderings handle such patterns."""
    colors = np.full(n, -1, np.int64)
    seen = np.zeros(n, np.int64)  # bit c: some distance-2 neighbour has colour c
    sat = np.zeros(n, np.int64)
    heap = np.arange(n, dtype=np.int64)
    pos = np.arange(n, dtype=np.int64)
    for t in range(n):
        _sift_up(heap, pos, t, sat, deg)
    size = n
    for _ in range(n):
        j = heap[0]
        size -= 1
        heap[0] = heap[size]
        pos[heap[0]] = 0
        pos[j] = -1
        if size > 0:
            _sift_down(heap, pos, size, sat, deg)
        c = 0
        while (seen[j] >> c) & 1:
            c += 1
        if c >= 63:
            colors[:] = -1
            return colors
        colors[j] = c
        bit = np.int64(1) << c
        for a in range(col_ptr[j], col_ptr[j + 1]):
            i = col_rows[a]
            for b in range(row_ptr[i], row_ptr[i + 1]):
                k = row_cols[b]
                if colors[k] >= 0 or seen[k] & bit:
                    continue
                seen[k] |= bit
                sat[k] += 1
                _sift_up(heap, pos, pos[k], sat, deg)
    return colors
