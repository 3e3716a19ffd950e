"""Sparse Jacobians: detect the pattern from the program, colour it, one sweep per colour.

Pattern: the boolean pattern of ``∂v/∂x`` is propagated through the linear program in
equation order, ``pat(w) = ∨_u pat(∂w/∂u) · pat(u)`` with the structured local Jacobians of
:mod:`.structured` (a diagonal keeps a pattern, a dense block fills it). This is exact up to
numerical cancellation, which only makes the pattern larger, never wrong.

Compression (Curtis–Powell–Reid): columns that share no row get one colour; one forward sweep
with the seed ``Σ_{j ∈ colour} e_j`` gives all their entries, read back as
``J[i, j] = (J S)[i, colour(j)]``. Rows are coloured the same way for reverse sweeps;
:func:`tensorcalc.accumulate.color_jacobian` keeps the cheaper. A pattern with at most one
nonzero per row (diagonal, selections) needs one colour and is coloured without search.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..accumulate import local as L
from ..accumulate.coloring import Coloring, color_jacobian
from ..accumulate.structure import Diagonal, Identity, Permutation, ScaledIdentity, Sparse
from ..core.ir import Program, Var
from ..interpreters.batch import vmap_flat
from .plan import _live_equations
from .structured import NotStructured, local_jacobians
from .sweeps import Linearized, _fwd_fun, _rev_fun

try:
    import scipy.sparse as sp
except ImportError:  # pragma: no cover - exercised only without scipy
    sp = None

#: Dense patterns up to this many entries are coloured by the general greedy algorithm.
COLORING_LIMIT = 1 << 24


def _pattern_of(jac: L.Local) -> Any:
    s = jac.structure
    if isinstance(s, Identity | ScaledIdentity | Diagonal):
        return sp.identity(jac.rows, dtype=bool, format="csr")
    if isinstance(s, Permutation):
        return sp.csr_matrix((np.ones(jac.rows, bool), (np.arange(jac.rows), jac.data)),
                             shape=(jac.rows, jac.cols))
    if isinstance(s, Sparse):
        return jac.data.astype(bool)
    return sp.csr_matrix(L.to_array(jac) != 0)


def sparsity_pattern(lin: Linearized) -> Any:
    """The ``M × N`` boolean pattern (scipy CSR) of the flattened Jacobian."""
    if sp is None:
        raise NotStructured("sparsity detection needs scipy")
    prog = lin.program
    live = _live_equations(prog)
    locals_ = local_jacobians(Program(prog.inputs, live, prog.outputs))
    n_total = sum(lin.in_sizes)
    pats: dict[int, Any] = {}
    off = 0
    for v, n in zip(prog.inputs, lin.in_sizes, strict=True):
        pats[id(v)] = sp.csr_matrix((np.ones(n, bool), (np.arange(n), np.arange(off, off + n))),
                                    shape=(n, n_total))
        off += n
    for eq in live:
        w = eq.outputs[0]
        acc = None
        for a in eq.inputs:
            if isinstance(a, Var) and id(a) in pats:
                term = (_pattern_of(locals_[(a, w)]) @ pats[id(a)]).astype(bool)
                acc = term if acc is None else (acc + term).astype(bool)
        if acc is not None:
            pats[id(w)] = acc.tocsr()
    rows = []
    for atom, m in zip(prog.outputs, lin.out_sizes, strict=True):
        p = pats.get(id(atom)) if isinstance(atom, Var) else None
        rows.append(p if p is not None else sp.csr_matrix((m, n_total), dtype=bool))
    return sp.vstack(rows, format="csr")


def _color(pattern: Any) -> Coloring:
    m, n = pattern.shape
    if pattern.nnz == 0 or np.all(np.diff(pattern.indptr) <= 1):
        # At most one nonzero per row: no two columns share a row, one colour suffices.
        return Coloring("column", np.zeros(n, np.int64), (m, n))
    if m * n > COLORING_LIMIT:
        raise NotStructured(f"a {m}x{n} pattern is too large for the greedy colouring")
    return color_jacobian(pattern.toarray())


def sparse_jacobian(lin: Linearized, dense: bool = False) -> Any:
    """The flattened ``M × N`` Jacobian (numerator layout) as scipy CSR (or dense)."""
    pattern = sparsity_pattern(lin)
    coloring = _color(pattern)
    c = coloring.n_colors
    if coloring.mode == "column":
        seeds = _seeds(coloring.colors, c, lin.in_sizes, lin.in_avals)
        outs = vmap_flat(_fwd_fun(lin.program), seeds, [0] * len(seeds), -1)
        compressed = np.concatenate([np.asarray(o).reshape(-1, c) for o in outs], axis=0)
    else:
        seeds = _seeds(coloring.colors, c, lin.out_sizes, lin.out_avals)
        outs = vmap_flat(_rev_fun(lin.program), seeds, [0] * len(seeds), 0)
        compressed = np.concatenate([np.asarray(o).reshape(c, -1) for o in outs], axis=1)
    rows, cols = pattern.nonzero()
    if coloring.mode == "column":
        vals = compressed[rows, coloring.colors[cols]]
    else:
        vals = compressed[coloring.colors[rows], cols]
    out = sp.csr_matrix((vals, (rows, cols)), shape=pattern.shape)
    return out.toarray() if dense else out


def _seeds(colors: np.ndarray, c: int, sizes: list[int], avals: list[Any]) -> list[Any]:
    total = sum(sizes)
    seed = np.zeros((c, total))
    seed[colors, np.arange(total)] = 1.0
    out, off = [], 0
    for n, av in zip(sizes, avals, strict=True):
        out.append(seed[:, off:off + n].reshape((c, *av.shape)))
        off += n
    return out
