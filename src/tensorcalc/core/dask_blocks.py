"""Dask arrays: linear algebra and ``take_along_axis`` as blockwise task graphs.

``dask.array.linalg`` covers one 2-D matrix in particular chunkings (``inv``, ``solve`` and
``cholesky`` want square chunks, ``qr`` and ``svd`` tall-and-skinny or short-and-fat ones) and
has no ``det``, ``slogdet``, ``eigh`` or ``pinv``; Dask has no ``take_along_axis`` at all. The
stacks of small matrices that tensorcalc's rules and users produce fit another scheme: a matrix
function ``f`` maps the last two axes of a block and broadcasts over the others, so it is a
generalized ufunc. :func:`linalg` builds it with ``dask.array.apply_gufunc``: the two matrix
axes are rechunked to one chunk each, the batch axes keep their chunks, and every task applies
the chunk library's own ``linalg.f`` (found with ``array_api_compat``: NumPy chunks get NumPy,
CuPy chunks CuPy) to one block. The result is a lazy Dask array like any other; nothing is
computed on the client.

One large matrix that is tall and skinny (a single column chunk, several row chunks) still goes
to Dask's own ``qr``/``svd`` (TSQR), which never gathers the matrix into one task.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

# name -> gufunc signature of ``f(a)`` (or ``f(a, b)``) and each output's dtype: "=" the
# input's, "r" its real counterpart (eigenvalues, singular values, log|det| of a complex
# matrix), "c" its complex counterpart (the general eigenproblem)
_SIGNATURES: dict[str, tuple[str, str]] = {
    "inv": ("(n,n)->(n,n)", "="),
    "cholesky": ("(n,n)->(n,n)", "="),
    "det": ("(n,n)->()", "="),
    "slogdet": ("(n,n)->(),()", "=r"),
    "eigh": ("(n,n)->(n),(n,n)", "r="),
    "eigvalsh": ("(n,n)->(n)", "r"),
    "eig": ("(n,n)->(n),(n,n)", "cc"),
    "eigvals": ("(n,n)->(n)", "c"),
    "pinv": ("(m,n)->(n,m)", "="),
    "svdvals": ("(m,n)->(k)", "r"),
    "solve": ("(n,n),(n,r)->(n,r)", "="),
    "qr reduced": ("(m,n)->(m,k),(k,n)", "=="),
    "qr complete": ("(m,n)->(m,m),(m,n)", "=="),
    "svd reduced": ("(m,n)->(m,k),(k),(k,n)", "=r="),
    "svd full": ("(m,n)->(m,m),(k),(n,n)", "=r="),
}


def _dtype(kind: str, dt: np.dtype) -> np.dtype:
    if kind == "r":
        return np.empty(0, dt).real.dtype
    if kind == "c":
        return np.result_type(dt, np.complex64)
    return dt


def _on_block(name: str, dtypes: tuple[np.dtype, ...], kwargs: dict[str, Any]
              ) -> Callable[..., Any]:
    def block_linalg(*blocks: Any) -> Any:
        import array_api_compat

        bxp = array_api_compat.array_namespace(*blocks)
        out = getattr(bxp.linalg, name)(*blocks, **kwargs)
        # every block in the declared dtype (NumPy's eig is real when all eigenvalues are)
        outs = [bxp.astype(o, getattr(bxp, d.name)) for o, d in
                zip(out if len(dtypes) > 1 else (out,), dtypes, strict=True)]
        return tuple(outs) if len(dtypes) > 1 else outs[0]

    block_linalg.__name__ = f"block_{name}"
    return block_linalg


def _aligned(args: list[Any]) -> list[Any]:
    """The arguments with their batch axes chunked alike (apply_gufunc needs it): each takes
    the chunks of the argument with the most batch axes where the sizes agree."""
    ref = max(args, key=lambda a: a.ndim)
    out = []
    for a in args:
        lead = ref.ndim - a.ndim
        out.append(a.rechunk({i: ref.chunks[lead + i] if a.shape[i] == ref.shape[lead + i]
                              else -1 for i in range(a.ndim - 2)}))
    return out


def _tall_and_skinny(a: Any) -> bool:
    return a.ndim == 2 and len(a.chunks[1]) == 1 and len(a.chunks[0]) > 1


def linalg(xp: Any, name: str) -> Callable[..., Any]:
    """``xp.linalg.<name>`` for Dask arrays of any chunking and any batch shape (module doc);
    None when there is no blockwise form of ``name``."""
    if name not in ("qr", "svd") and name not in _SIGNATURES:
        return None  # type: ignore[return-value]

    def dask_linalg(*args: Any, **kwargs: Any) -> Any:
        import dask.array as da

        key = name
        if name == "qr":
            mode = kwargs.get("mode", "reduced")
            if mode == "reduced" and _tall_and_skinny(args[0]):
                return xp.linalg.qr(args[0])
            key = f"qr {mode}"
        elif name == "svd":
            full = kwargs.get("full_matrices", True)
            if not full and _tall_and_skinny(args[0]):
                return xp.linalg.svd(args[0], full_matrices=False)
            key = f"svd {'full' if full else 'reduced'}"
        signature, kinds = _SIGNATURES[key]
        m, n = (int(d) for d in args[0].shape[-2:])
        dt = np.result_type(*(np.dtype(a.dtype) for a in args))
        dtypes = tuple(_dtype(k, dt) for k in kinds)
        # the matrix axes in one chunk (rechunked here: apply_gufunc's own allow_rechunk
        # builds graphs that fail to optimize after a reshape)
        blocks = _aligned([a.rechunk({a.ndim - 2: -1, a.ndim - 1: -1}) for a in args])
        return da.apply_gufunc(
            _on_block(name, dtypes, kwargs), signature, *blocks,
            output_dtypes=dtypes if len(dtypes) > 1 else dtypes[0],
            output_sizes={"k": min(m, n)})

    dask_linalg.__name__ = f"dask_{name}"
    return dask_linalg


def take_along_axis(x: Any, idx: Any, axis: int) -> Any:
    """``take_along_axis`` of two Dask arrays of one shape off ``axis``: ``axis`` in one chunk,
    the other axes chunked alike, and NumPy's (or the chunk library's) function per block."""
    import array_api_compat
    import dask.array as da

    axis = axis % x.ndim
    x = x.rechunk({axis: -1})
    idx = da.asarray(idx).rechunk({i: -1 if i == axis else c for i, c in enumerate(x.chunks)})

    def block_take_along(xb: Any, ib: Any) -> Any:
        return array_api_compat.array_namespace(xb).take_along_axis(xb, ib, axis=axis)

    return da.map_blocks(block_take_along, x, idx, dtype=x.dtype, chunks=idx.chunks,
                         meta=x._meta)


def reshape_any_chunks(xp: Any, x: Any, shape: tuple[int, ...]) -> Any:
    """``xp.reshape``, also of a Dask array of any chunking. Dask reshapes only by merging or
    splitting chunks evenly; with every axis after the first in one chunk it can always
    flatten, and a flat array it can always split (rechunks in the graph: nothing is
    computed)."""
    try:
        return xp.reshape(x, shape)
    except NotImplementedError:
        if not hasattr(x, "rechunk"):
            raise
        flat = xp.reshape(x.rechunk({i: -1 for i in range(1, x.ndim)}), (-1,))
        return xp.reshape(flat, shape)
