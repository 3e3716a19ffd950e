"""``vmap`` over a chunked Dask axis: one task per chunk, the chunks of the result unchanged.

``vmap(f)(X)[b] = f(X[b])`` holds example by example, so it holds chunk by chunk: when the
mapped axis of a Dask argument is cut into chunks ``X = [X₁; X₂; …]`` (along that axis),

    vmap(f)(X) = [vmap(f)(X₁); vmap(f)(X₂); …]

with the results joined along each output's batch axis. Each chunk becomes one Dask task that
runs the ordinary (NumPy) ``vmap`` on that chunk's data, so per-example gradients of a chunked
dataset stay lazy, are computed where the chunk lives, and come back chunked exactly like the
input along the mapped axis (``out.chunks[out_axis] == X.chunks[in_axis]``). Arguments not
mapped (``in_axes=None``) are shared by every task (Dask computes a lazy one once and ships
it). The output shapes and dtypes come from tracing one chunk abstractly (shapes only), so
building the graph reads no value.

The chunk path is taken when every mapped argument is a Dask array and one of them has more
than one chunk along its mapped axis; the others are rechunked to match along that axis. In
every other case (one chunk, NumPy or other libraries, a function that cannot be traced on
abstract values) ``vmap`` batches the operations themselves, as on NumPy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .core.errors import TensorcalcError
from .core.primitive import get_aval
from .core.shapes import ShapedArray
from .interpreters.batch import vmap_flat
from .interpreters.stage import stage_flat


def _is_dask(x: Any) -> bool:
    return type(x).__module__.partition(".")[0] == "dask" and hasattr(x, "chunks")


def chunked_axis(leaves: list[Any], dims: list[int | None]) -> tuple[int, ...] | None:
    """The chunk sizes along the mapped axis when the chunk path applies (module docstring)."""
    chunks = None
    for leaf, d in zip(leaves, dims, strict=True):
        if d is None:
            if not (_is_dask(leaf) or isinstance(leaf, (np.ndarray, np.generic, int, float,
                                                          complex, bool))):
                return None
            continue
        if not _is_dask(leaf):
            return None
        c = tuple(leaf.chunks[d % leaf.ndim])
        if len(c) > 1 and chunks is None:
            chunks = c
    return chunks


def chunk_vmap(flat: Callable[[list[Any]], list[Any]], leaves: list[Any],
               dims: list[int | None], out_dims: Callable[[], list[int | None]],
               chunks: tuple[int, ...]) -> list[Any] | None:
    """The outputs of ``vmap_flat(flat, leaves, dims, out_dims)`` as Dask arrays built chunk by
    chunk; None when ``flat`` cannot be traced abstractly (the caller batches instead)."""
    import dask
    import dask.array as da

    dims = [None if d is None else d % leaves[i].ndim for i, d in enumerate(dims)]
    avals = {}
    for k in sorted(set(chunks)):  # one abstract trace per distinct chunk size
        try:
            program = stage_flat(lambda ins: vmap_flat(flat, ins, dims, out_dims),
                                 [_chunk_aval(x, d, k) for x, d in zip(leaves, dims, strict=True)])
        except (TensorcalcError, TypeError, ValueError):
            return None
        avals[k] = [a.aval for a in program.outputs]
    odims = [None if d is None else d % max(len(a.shape), 1)
             for d, a in zip(out_dims(), avals[chunks[0]], strict=True)]
    fixed = list(odims)

    def one_chunk(*xs: Any) -> tuple[Any, ...]:
        outs = vmap_flat(flat, list(xs), dims, fixed)
        # a Dask array that ``fun`` closes over leaves a graph in the result: compute it here,
        # inside this task (the synchronous scheduler, so no task waits on the cluster)
        return tuple(o.compute(scheduler="sync") if _is_dask(o) else o for o in outs)

    parts: list[list[Any]] = [[] for _ in odims]
    lo = 0
    for k in chunks:
        args = [x if d is None else _rows(x, d, lo, lo + k) for x, d in zip(leaves, dims,
                                                                             strict=True)]
        res = dask.delayed(one_chunk, pure=True, nout=len(odims))(*args)
        for j, av in enumerate(avals[k]):
            parts[j].append(da.from_delayed(res[j], tuple(int(s) for s in av.shape),
                                            dtype=av.dtype))
        lo += k
    # an output that is not batched (out_axes=None) is the same from every chunk: take one
    return [p[0] if d is None else da.concatenate(p, axis=d) for p, d in zip(parts, odims,
                                                                            strict=True)]


def _chunk_aval(x: Any, d: int | None, k: int) -> ShapedArray:
    av = get_aval(x)
    shape = tuple(int(s) for s in av.shape)
    if d is not None:
        shape = shape[:d] + (k,) + shape[d + 1:]
    return ShapedArray(shape, av.dtype)


def _rows(x: Any, d: int, lo: int, hi: int) -> Any:
    return x[(slice(None),) * d + (slice(lo, hi),)]
