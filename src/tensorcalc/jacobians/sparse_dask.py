"""Sparse Jacobians and Hessians on other array libraries: on Dask, colour sweeps as Dask tasks.

The plan is the one of :mod:`tensorcalc.jacobians.sparse`; only where the numbers are computed
changes. For ``y = f(x)`` with ``J = ∂y/∂x`` (``M × N``, numerator layout, all leaves
flattened) and a column colouring with seed matrix ``S`` (``N × c``, ``S[k, g] = 1`` when
column ``k`` has colour ``g``):

1. *Pattern and colouring* are structural: they are found once, on the client, from the
   linearized program's equations and shapes (the ops' sparsity rules). No value is read, so
   nothing is computed, although the program's constants are Dask arrays.
2. *Sweeps.* ``Sᵀ`` becomes a Dask array with one chunk per colour (and the input's chunks
   along ``N``); the linear program, batched over the colours, gives ``(J S)ᵀ`` (``c × M``)
   as a Dask array, each colour's compressed product its own tasks, spread over the workers.
   Row colourings transpose the program instead (``S_rᵀ J``); Hessians sweep the linearized
   gradient (``H S``, forward over reverse).
3. *Recovery* reads each structural nonzero from the compressed products (entry ``(i, k)`` is
   ``(J S)[i, colour(k)]``) with the plan's gather index and builds the scipy matrix: one
   ``dask.delayed`` task.

The result is therefore lazy like every other result on Dask: a ``dask.delayed.Delayed``
whose ``.compute()`` (or ``client.compute``) gives the concrete ``scipy.sparse`` matrix (CSR
unless ``format=`` says otherwise), and a Dask array for ``format="dense"``. A Delayed and not
a Dask array of sparse blocks, because ``scipy.sparse`` matrices are not array chunks Dask can
slice or concatenate; the compressed products are ``c × M`` numbers, the size of the result,
so gathering them on one worker costs no more than holding the matrix.

Strong zeros follow Dask's policy (docs/backends.md): the checked products are used throughout
(one ``where`` per product), and no NaN test reads a value.

Eager libraries (torch, CuPy, array_api_strict) take the same steps without the graph: the
sweeps run on the inputs' library and device (the seeds are made there), and the compressed
products, ``c × M`` numbers, are converted to NumPy explicitly (``from_dlpack``, after
``.cpu()`` for torch) at the recovery step, so the result is a ``scipy.sparse`` matrix on the
host. Strong zeros follow the eager policy: plain products, and a rerun with checked ones if the
compressed products hold a NaN (one test on host data). torch ``meta`` tensors have no values
to recover and raise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import backend
from ..core.context import strong_zero_checks
from ..core.tree import tree_flatten
from ..interpreters.batch import vmap_flat
from ..ops.shape import concatenate
from ..ops.structural import reshape
from .sparse import SparseCore, _batched, _split_leaves, _Structure
from .sweeps import Linearized, _fwd_fun, _rev_fun


def is_dask(x: Any) -> bool:
    return type(x).__module__.partition(".")[0] == "dask"


def check_sparse_backend(leaves: list[Any], fname: str) -> None:
    """Two libraries in one call raise ``TypeError``; torch ``meta`` tensors (no values to
    recover) raise ``BackendError``."""
    _, first = backend.namespace_and_first(leaves, fname)
    if first is not None and not is_dask(first) and str(backend.device(first)) == "meta":
        raise backend.BackendError(
            f"{fname}(sparse=...): a sparse Jacobian's values are read out of the compressed "
            f"products, and {type(first).__name__} on the 'meta' device has none (shape "
            f"{tuple(first.shape)}); use a dense jacobian for shapes only")


def foreign_call(plan: Any, args: tuple[Any, ...]) -> Any:
    """``plan(*args)`` when ``args`` hold arrays of another library: on Dask a lazy result
    (the sweeps and the recovery as a graph, nothing computed); on eager libraries the sweeps
    there and a ``scipy.sparse`` matrix (module docstring)."""
    leaves = tree_flatten(args)[0]
    check_sparse_backend(leaves, plan.fname)
    xp, first = backend.namespace_and_first(leaves, plan.fname)
    if not is_dask(first):
        return _eager_call(plan, args, xp, backend.device(first))
    with strong_zero_checks():  # Dask's strong-zero policy: checked products, no NaN test
        lin, aux = plan._linearize(args)
        core = plan._ensure(lin)
        flat = _compressed(core, lin, _chunk_hints(plan, args))
    out = lazy_result(core, flat, plan.format)
    return (out, aux) if plan.has_aux else out


def _eager_call(plan: Any, args: tuple[Any, ...], xp: Any, dev: Any) -> Any:
    def sweep() -> tuple[SparseCore, np.ndarray, Any]:
        lin, aux = plan._linearize(args)
        core = plan._ensure(lin)
        flat = _compressed(core, lin, [], lambda part, ref: xp.asarray(part, device=dev))
        return core, host_copy(flat), aux

    core, flat, aux = sweep()
    if np.isnan(flat).any():  # a plain 0 · ∞ may have made it: rerun with checked products
        with strong_zero_checks():
            core, flat, aux = sweep()
    out = _Structure(plan.format, core.indptr, core.indices, core.shape).build(
        flat[core.gather])
    return (out, aux) if plan.has_aux else out


def host_copy(x: Any) -> np.ndarray:
    """An explicit copy of a foreign array to NumPy (the recovery step of eager backends)."""
    if isinstance(x, np.ndarray):
        return x.reshape(-1)
    if type(x).__module__.startswith("cupy"):  # device memory: CuPy's own copy to the host
        return x.get().reshape(-1)
    if hasattr(x, "detach"):  # torch: off the autograd graph and off the GPU first
        x = x.detach().cpu()
    return np.from_dlpack(x).reshape(-1)


def _chunk_hints(plan: Any, args: tuple[Any, ...]) -> list[Any]:
    """The differentiated leaves, so that the seeds take their chunks."""
    nums = (plan.argnums,) if isinstance(plan.argnums, int) else tuple(plan.argnums)
    return tree_flatten(tuple(args[i] for i in nums))[0]


def dask_seeds(part: np.ndarray, ref: Any) -> Any:
    """Seeds of one leaf as a Dask array with one chunk per colour and, along the leaf's axes,
    the chunks of the Dask array ``ref`` they seed (when it is known)."""
    import dask.array as da

    inner = (tuple(ref.chunks) if is_dask(ref) and tuple(ref.shape) == part.shape[1:]
             else tuple(part.shape[1:]))
    return da.from_array(part, chunks=((1,) * part.shape[0], *inner))


def _seed_leaves(seeds: np.ndarray, sizes: list[int], avals: list[Any], like: list[Any],
                 place: Callable[[np.ndarray, Any], Any]) -> list[Any]:
    """The seed rows split per leaf and placed on the backend by ``place(part, ref)``."""
    return [place(part, like[k] if k < len(like) else None)
            for k, part in enumerate(_split_leaves(seeds, sizes, avals))]


def _compressed(core: SparseCore, lin: Linearized, hints: list[Any],
                place: Callable[[np.ndarray, Any], Any] = dask_seeds) -> Any:
    """``[(J S)ᵀ ravelled, (S_rᵀ J) ravelled]`` as one flat array of the backend (the
    gather's input)."""
    sides = []  # (linear function, seeds, seed sizes/avals, result sizes, chunk hints)
    if core.col_seeds is not None:
        sides.append((_fwd_fun(lin.program), core.col_seeds, lin.in_sizes, lin.in_avals,
                      lin.out_sizes, hints))
    if core.row_seeds is not None:
        sides.append((_rev_fun(lin.program), core.row_seeds, lin.out_sizes, lin.out_avals,
                      lin.in_sizes, list(lin.outputs)))
    pieces = []
    for fun, seeds, sizes, avals, out_sizes, like in sides:
        k = seeds.shape[0]
        outs = vmap_flat(fun, _seed_leaves(seeds, sizes, avals, like, place),
                        [0] * len(sizes), 0)
        flat = [reshape(_batched(o, k, s), (k * s,)) for o, s in
                zip(outs, out_sizes, strict=True)]
        pieces.extend(flat)
    if not pieces:
        return np.zeros(0)
    return pieces[0] if len(pieces) == 1 else concatenate(pieces, axis=0)


def _recover(flat: np.ndarray, gather: np.ndarray, structure: _Structure) -> Any:
    """The structural nonzeros (CSR order) read from the compressed products, as a matrix."""
    return structure.build(np.asarray(flat).reshape(-1)[gather])


def lazy_result(core: SparseCore, flat: Any, fmt: str) -> Any:
    """A Delayed of the scipy matrix (a Dask array for ``format="dense"``)."""
    import dask
    import dask.array as da

    structure = _Structure(fmt, core.indptr, core.indices, core.shape)
    if not is_dask(flat):  # no sweep (an empty or constant pattern): the values are known
        flat = da.asarray(np.asarray(flat, dtype=np.float64).reshape(-1))
    result = dask.delayed(_recover, pure=True)(flat, core.gather, structure)
    if fmt == "dense":
        return da.from_delayed(result, core.shape, dtype=backend.numpy_dtype(flat.dtype))
    return result
