"""Dense Jacobian blocks on arrays of other libraries (torch, CuPy, Dask, array_api_strict).

The Jacobian of the linearized program is its action on a basis: forward, ``J eₖ`` for every
input direction (one batched jvp, ``vmap`` of the linear program over the identity); reverse,
``Jᵀ eₖ`` for every output direction (``vmap`` of the transposed program). The identity is
made by the inputs' library on their device (``xp.eye``), so the blocks are computed and
returned there, never through NumPy. Block ``(j, i)`` has shape ``out_j.shape + in_i.shape``
(numerator layout), like the blocks of :func:`tensorcalc.jacobians.driver.compute_blocks`,
which serves NumPy arrays with structured and chunked accumulation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .core import backend
from .interpreters.batch import vmap_flat
from .interpreters.evaluate import eval_program
from .interpreters.transpose import backward_pass


def foreign_blocks(lin: Any, leaves: list[Any], mode: str) -> list[list[Any]]:
    """``blocks[j][i] = ∂out_j/∂in_i`` on the library of the foreign ``leaves``."""
    xp, first = backend.namespace_and_first(leaves, "jacobian")
    dev = backend.device(first)
    ins = [tuple(int(d) for d in a.shape) for a in lin.in_avals]
    outs = [tuple(int(d) for d in a.shape) for a in lin.out_avals]
    n_in = [int(np.prod(s, dtype=np.int64)) for s in ins]
    n_out = [int(np.prod(s, dtype=np.int64)) for s in outs]
    dt = backend.xp_dtype(xp, np.result_type(*[a.dtype for a in lin.out_avals]))
    forward = mode == "forward" or (mode != "reverse" and sum(n_in) <= sum(n_out))
    if forward:
        eye = xp.eye(sum(n_in), dtype=dt, device=dev)
        pieces = _split_columns(xp, eye, n_in, ins)
        cols = vmap_flat(lambda ts: eval_program(lin.program, list(ts)),
                         pieces, [0] * len(pieces), [0] * len(outs))
        # cols[j]: (Σ n_in, *out_j) → the rows of input i, moved behind the output axes
        blocks = []
        for j, c in enumerate(cols):
            row, off = [], 0
            for i, n in enumerate(n_in):
                part = xp.reshape(c[off:off + n, ...], (n, n_out[j]))
                row.append(xp.reshape(xp.permute_dims(part, (1, 0)), outs[j] + ins[i]))
                off += n
            blocks.append(row)
        return blocks
    eye = xp.eye(sum(n_out), dtype=dt, device=dev)
    pieces = _split_columns(xp, eye, n_out, outs)
    rows = vmap_flat(lambda cts: backward_pass(lin.program, list(cts)),
                     pieces, [0] * len(pieces), [0] * len(ins))
    blocks = [[None] * len(ins) for _ in outs]
    for i, r in enumerate(rows):
        off = 0
        for j, m in enumerate(n_out):
            blocks[j][i] = xp.reshape(r[off:off + m, ...], outs[j] + ins[i])
            off += m
    return blocks


def _split_columns(xp: Any, eye: Any, sizes: list[int], shapes: list[tuple[int, ...]]
                   ) -> list[Any]:
    """The identity's columns cut per leaf and shaped like it, the basis axis in front."""
    out, off = [], 0
    for n, s in zip(sizes, shapes, strict=True):
        out.append(xp.reshape(eye[:, off:off + n], (eye.shape[0], *s)))
        off += n
    return out
