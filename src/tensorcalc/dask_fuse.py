"""One task per row chunk: the graph of a gradient over chunked Dask data, fused chunk by chunk.

For a loss that is a sum over row chunks, ``L(w) = Σ_b ℓ(X_b w, y_b)``, the gradient is
``∇L = Σ_b X_bᵀ ℓ′(X_b w, y_b)``: everything that touches chunk ``b`` (reading or making
``X_b``, the forward product ``X_b w``, the elementwise derivative, the backward product
``X_bᵀ ȳ_b``, the chunk's partial sum) depends on that chunk alone, and only the partial sums
meet in the reduction. Dask's graph of that computation has one task per operation and chunk,
and ``X_b`` has three consumers (``y`` may be derived from it, the forward and the backward
product), so the scheduler must keep ``X_b`` until the backward product runs, and may run the
elementwise steps on another worker, shipping ``X_b w`` there and ``ȳ_b`` back.

:func:`fuse_row_chunks` rewrites the graph so that each row chunk is one task: the tasks whose
keys carry block index ``b`` along the first axis, in the arrays that are cut into the most
row blocks, are fused into one task that runs them in order and frees each intermediate as
soon as its last consumer inside the chunk has run (Dask's own subgraph execution). That task
returns what the rest of the graph needs from the chunk (here: a partial sum of ``d`` numbers).
A chunk is then read once, on one worker, and a worker holds about one chunk's intermediates
per thread. Fusion never changes a value: it only regroups the same tasks. It is skipped (the
graph is returned as it is) when there are fewer than two row chunks, or when grouping would
make the fused tasks depend on each other in a cycle (a statistic over all chunks used inside
each chunk, such as centring by the column means).
"""

from __future__ import annotations

import operator
from collections import defaultdict
from typing import Any

from .core.tree import tree_flatten, tree_unflatten


def is_dask_array(x: Any) -> bool:
    """Whether ``x`` is a Dask array (decided from its type, without importing Dask)."""
    return type(x).__module__.startswith("dask.array") and hasattr(x, "__dask_graph__")


def fuse_dask_results(tree: Any) -> Any:
    """``tree`` with its Dask arrays (fused together, so shared chunks stay shared) rewritten by
    :func:`fuse_row_chunks`; anything else is returned as it is."""
    leaves, treedef = tree_flatten(tree)
    at = [i for i, x in enumerate(leaves) if is_dask_array(x)]
    if not at:
        return tree
    fused = fuse_row_chunks([leaves[i] for i in at])
    for i, x in zip(at, fused, strict=True):
        leaves[i] = x
    return tree_unflatten(treedef, leaves)


def _flat_keys(keys: Any) -> list[Any]:
    out, stack = [], [keys]
    while stack:
        k = stack.pop()
        if isinstance(k, list):
            stack.extend(k)
        else:
            out.append(k)
    return out


def fuse_row_chunks(arrays: list[Any]) -> list[Any]:
    """The Dask ``arrays`` with one task per row chunk (module docstring), or unchanged."""
    try:
        return _fuse(arrays)
    except (ImportError, AttributeError, TypeError, ValueError):
        # A Dask without these task objects, or one whose graph API moved: fusion only
        # regroups tasks, so the unfused graph is the same computation, only scheduled finer.
        return arrays


def _fuse(arrays: list[Any]) -> list[Any]:
    import dask.array as da
    from dask._task_spec import Task, TaskRef, convert_legacy_graph
    from dask.base import tokenize
    from dask.highlevelgraph import HighLevelGraph

    wanted = set()
    for a in arrays:
        wanted.update(_flat_keys(a.__dask_keys__()))
    dsk = _cull(convert_legacy_graph(dict(HighLevelGraph.merge(
        *[a.__dask_graph__() for a in arrays]))), wanted)
    deps = {k: set(t.dependencies) & dsk.keys() for k, t in dsk.items()}
    group_of = _row_groups(dsk, deps)
    if group_of is None:
        return arrays
    if _quotient_has_cycle(deps, group_of):
        return arrays
    members: dict[int, list[Any]] = defaultdict(list)
    for k, b in group_of.items():
        members[b].append(k)
    used_outside = set(wanted)
    for k, ds in deps.items():
        for d in ds:
            if d in group_of and group_of.get(k) != group_of[d]:
                used_outside.add(d)
    token = tokenize(*[a.name for a in arrays])
    new = {k: t for k, t in dsk.items() if k not in group_of}
    for b, keys in members.items():
        outs = [k for k in keys if k in used_outside]
        fkey = (f"tc-row-chunk-{token}", b)
        collect = Task((f"tc-row-chunk-outputs-{token}", b), _pack,
                       *[TaskRef(k) for k in outs])
        new[fkey] = Task.fuse(*[dsk[k] for k in keys], collect, key=fkey)
        for j, k in enumerate(outs):
            new[k] = Task(k, operator.getitem, TaskRef(fkey), j)
    return [da.Array(new, a.name, a.chunks, meta=a._meta) for a in arrays]


def _pack(*values: Any) -> tuple[Any, ...]:
    return values


def _cull(dsk: dict[Any, Any], wanted: set[Any]) -> dict[Any, Any]:
    keep, stack = set(), list(wanted)
    while stack:
        k = stack.pop()
        if k in keep or k not in dsk:
            continue
        keep.add(k)
        stack.extend(dsk[k].dependencies)
    return {k: dsk[k] for k in keep}


def _row_groups(dsk: dict[Any, Any], deps: dict[Any, set[Any]]) -> dict[Any, int] | None:
    """Key → row block. Seeds: the tasks of the layers cut into the largest number ``N ≥ 2``
    of blocks along the first axis (block index ``b`` = the key's first index). Then, in
    dependency order, a task joins block ``b`` when its only grouped dependencies are in ``b``
    (constants such as ``w`` are shared, not grouped); a task that meets two blocks (a
    reduction) stays outside."""
    blocks: dict[str, set[int]] = defaultdict(set)
    for k in dsk:
        if isinstance(k, tuple) and len(k) >= 2 and isinstance(k[1], int):
            blocks[k[0]].add(k[1])
    if not blocks:
        return None
    n = max(len(v) for v in blocks.values())
    if n < 2:
        return None
    rows = {name for name, v in blocks.items() if len(v) == n}
    group_of = {k: k[1] for k in dsk if isinstance(k, tuple) and len(k) >= 2 and k[0] in rows}
    for k in _topological(deps):
        if k in group_of:
            continue
        met = {group_of[d] for d in deps[k] if d in group_of}
        if len(met) == 1:
            group_of[k] = met.pop()
    return group_of


def _topological(deps: dict[Any, set[Any]]) -> list[Any]:
    users: dict[Any, list[Any]] = defaultdict(list)
    indeg = {k: 0 for k in deps}
    for k, ds in deps.items():
        for d in ds:
            if d in indeg:
                users[d].append(k)
                indeg[k] += 1
    ready = [k for k, v in indeg.items() if v == 0]
    order = []
    while ready:
        k = ready.pop()
        order.append(k)
        for u in users[k]:
            indeg[u] -= 1
            if indeg[u] == 0:
                ready.append(u)
    return order


def _quotient_has_cycle(deps: dict[Any, set[Any]], group_of: dict[Any, int]) -> bool:
    """Whether the graph with each row group contracted to one node has a cycle (Kahn)."""
    def node(k: Any) -> Any:
        b = group_of.get(k)
        return k if b is None else ("group", b)

    succ: dict[Any, set[Any]] = defaultdict(set)
    indeg: dict[Any, int] = defaultdict(int)
    nodes = {node(k) for k in deps}
    for k, ds in deps.items():
        v = node(k)
        for d in ds:
            u = node(d)
            if u != v and v not in succ[u]:
                succ[u].add(v)
                indeg[v] += 1
    ready = [u for u in nodes if indeg[u] == 0]
    seen = 0
    while ready:
        u = ready.pop()
        seen += 1
        for v in succ[u]:
            indeg[v] -= 1
            if indeg[v] == 0:
                ready.append(v)
    return seen != len(nodes)
