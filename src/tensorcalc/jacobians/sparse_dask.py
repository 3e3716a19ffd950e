"""Sparse Jacobians and Hessians of functions of Dask arrays: the colour sweeps as Dask tasks.

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
"""

from __future__ import annotations

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
    """Sparse plans run on NumPy and Dask arrays; arrays of other libraries raise."""
    backend.namespace_and_first(leaves, fname)  # two libraries in one call: TypeError
    for v in leaves:
        if backend.is_foreign(v) and not is_dask(v):
            raise backend.BackendError(
                f"{fname}(sparse=...): sparse Jacobians and Hessians run on NumPy and Dask "
                f"arrays; {backend.backend_name(backend.namespace(v))} arrays "
                f"({type(v).__name__}, shape {tuple(v.shape)}) are not supported. Pass NumPy "
                "or Dask arrays, or drop sparse= for a dense Jacobian on this backend")


def dask_call(plan: Any, args: tuple[Any, ...]) -> Any:
    """``plan(*args)`` when ``args`` hold Dask arrays: detect and colour (first call, or a new
    program), then build the sweeps and the recovery as a graph; nothing is computed."""
    leaves = tree_flatten(args)[0]
    check_sparse_backend(leaves, plan.fname)
    with strong_zero_checks():  # Dask's strong-zero policy: checked products, no NaN test
        lin, aux = plan._linearize(args)
        core = plan._ensure(lin)
        flat = _compressed(core, lin, _chunk_hints(plan, args))
    out = lazy_result(core, flat, plan.format)
    return (out, aux) if plan.has_aux else out


def _chunk_hints(plan: Any, args: tuple[Any, ...]) -> list[Any]:
    """The differentiated leaves, so that the seeds take their chunks."""
    nums = (plan.argnums,) if isinstance(plan.argnums, int) else tuple(plan.argnums)
    return tree_flatten(tuple(args[i] for i in nums))[0]


def _seed_leaves(seeds: np.ndarray, sizes: list[int], avals: list[Any],
                 like: list[Any]) -> list[Any]:
    """The seed rows split per leaf, as Dask arrays with one chunk per colour and, along the
    leaf's axes, the chunks of the Dask array it seeds (when that array is known)."""
    import dask.array as da

    out = []
    for k, part in enumerate(_split_leaves(seeds, sizes, avals)):
        ref = like[k] if k < len(like) else None
        inner = (tuple(ref.chunks) if is_dask(ref) and tuple(ref.shape) == part.shape[1:]
                 else tuple(part.shape[1:]))
        out.append(da.from_array(part, chunks=((1,) * part.shape[0], *inner)))
    return out


def _compressed(core: SparseCore, lin: Linearized, hints: list[Any]) -> Any:
    """``[(J S)ᵀ ravelled, (S_rᵀ J) ravelled]`` as one flat Dask array (the gather's input)."""
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
        outs = vmap_flat(fun, _seed_leaves(seeds, sizes, avals, like), [0] * len(sizes), 0)
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
