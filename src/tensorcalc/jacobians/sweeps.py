"""Jacobians by batched sweeps through a staged linear program.

For ``y = f(x)`` linearized at ``x`` into the linear program ``L: ẋ ↦ J ẋ`` (flattened, ``J`` is
``M × N`` with ``M = Σ size(yⱼ)``, ``N = Σ size(xᵢ)``):

- forward sweeps evaluate ``L`` on a batch of basis tangents: ``J [e_{c₀} … e_{c₁}]`` gives the
  columns ``c₀ … c₁`` of ``J`` at once (``vmap`` of the linear program);
- reverse sweeps run the transpose ``Lᵀ`` on a batch of basis cotangents:
  ``[e_{r₀} … e_{r₁}]ᵀ J`` gives rows ``r₀ … r₁``.

The primal function and its linearization are evaluated once; only the linear program is
batched. ``chunk`` bounds how many basis vectors go through in one batch, so the batched
intermediates take ``chunk × Σ size(vᵢ)`` scalars rather than ``N × …``: peak memory is
bounded by chunking at the price of more (smaller) sweeps.

The result is returned as numerator-layout blocks ``blocks[j][i]`` of shape
``yⱼ.shape + xᵢ.shape``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.ir import Literal, Program, Var
from ..core.primitive import Tracer
from ..core.shapes import ShapedArray, is_concrete
from ..core.zeros import Zero, instantiate
from ..interpreters.batch import vmap_flat
from ..interpreters.evaluate import eval_program
from ..interpreters.transpose import backward_pass
from ..ops.structural import getitem, reshape, transpose

#: Default bound on the memory of the batched intermediates of one sweep (bytes).
DEFAULT_MEMORY_BUDGET = 1 << 30


@dataclass
class Linearized:
    """A function evaluated and linearized at a point, flattened to lists of leaves."""

    program: Program
    in_avals: list[ShapedArray]
    out_avals: list[ShapedArray]
    outputs: list[Any]

    @property
    def in_sizes(self) -> list[int]:
        return [int(math.prod(a.shape)) for a in self.in_avals]

    @property
    def out_sizes(self) -> list[int]:
        return [int(math.prod(a.shape)) for a in self.out_avals]


def bytes_per_sweep_vector(program: Program) -> int:
    """Bytes one basis vector occupies in the batched intermediates (an upper bound: every
    value of the linear program alive at once)."""
    total = 0
    for v in program.inputs:
        total += _nbytes(v)
    for eq in program.equations:
        for v in eq.outputs:
            total += _nbytes(v)
    return max(total, 1)


def _nbytes(v: Var) -> int:
    return int(np.prod(v.aval.shape, dtype=np.int64)) * max(np.dtype(v.aval.dtype).itemsize, 1)


def choose_chunk(n: int, program: Program, chunk_size: int | None,
                 memory_budget: int | None) -> int:
    """Basis vectors per sweep: ``chunk_size`` if given, else as many as fit the budget."""
    if n == 0:
        return 1
    if chunk_size is not None:
        return max(1, min(int(chunk_size), n))
    budget = DEFAULT_MEMORY_BUDGET if memory_budget is None else int(memory_budget)
    return max(1, min(n, budget // bytes_per_sweep_vector(program)))


def _basis(sizes: Sequence[int], avals: Sequence[ShapedArray], start: int, stop: int
           ) -> list[np.ndarray]:
    """Rows ``start:stop`` of the identity, split into one batched array per leaf."""
    c = stop - start
    out = []
    off = 0
    for n, av in zip(sizes, avals, strict=True):
        dtype = av.dtype if np.issubdtype(av.dtype, np.inexact) else np.float64
        e = np.zeros((c, n), dtype)
        lo, hi = max(start, off), min(stop, off + n)
        if lo < hi:
            r = np.arange(lo, hi)
            e[r - start, r - off] = 1.0
        out.append(e.reshape((c, *av.shape)))
        off += n
    return out


def _empty_blocks(lin: Linearized) -> list[list[np.ndarray]]:
    blocks = []
    for oa, m in zip(lin.out_avals, lin.out_sizes, strict=True):
        row = []
        for ia, n in zip(lin.in_avals, lin.in_sizes, strict=True):
            dt = np.result_type(oa.dtype, ia.dtype, np.float64 if oa.dtype.kind in "biu" else
                                oa.dtype)
            row.append(np.zeros((m, n), dt))
        blocks.append(row)
    return blocks


def _shape_blocks(lin: Linearized, flat: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    return [[b.reshape((*oa.shape, *ia.shape)) for b, ia in zip(row, lin.in_avals, strict=True)]
            for row, oa in zip(flat, lin.out_avals, strict=True)]


def last_uses(program: Program) -> list[list[int]]:
    """For each equation, the ids of the variables it reads for the last time (program outputs
    excluded): the values a sweep can drop once that equation has run."""
    keep = {id(a) for a in program.outputs if isinstance(a, Var)}
    last: dict[int, int] = {}
    for t, eq in enumerate(program.equations):
        for a in eq.inputs:
            if isinstance(a, Var):
                last[id(a)] = t
    drops: list[list[int]] = [[] for _ in program.equations]
    for key, t in last.items():
        if key not in keep:
            drops[t].append(key)
    return drops


def eval_dropping(program: Program, args: list[Any]) -> list[Any]:
    """``eval_program`` that lets go of every value after its last use. A batched sweep holds
    ``chunk`` copies of each intermediate; keeping only the live ones bounds its memory by
    the widest cut of the program instead of the whole program — and fresh memory is what a
    large first call pays most for (page faults), more than the arithmetic."""
    if not all(is_concrete(v.aval.shape) for v in program.inputs):
        return eval_program(program, args)  # symbolic dimensions: the general evaluator
    if len(args) != len(program.inputs):
        raise TypeError(f"program takes {len(program.inputs)} inputs, got {len(args)}")
    env: dict[int, Any] = {id(v): a for v, a in zip(program.inputs, args, strict=True)}
    for eq, drops in zip(program.equations, last_uses(program), strict=True):
        vals = [a.value if isinstance(a, Literal) else env[id(a)] for a in eq.inputs]
        out = eq.primitive.bind(*vals, **eq.params)
        del vals
        if eq.primitive.multiple_results:
            for v, o in zip(eq.outputs, out, strict=True):
                env[id(v)] = o
        else:
            env[id(eq.outputs[0])] = out
        for key in drops:
            env.pop(key, None)
    results = []
    for a in program.outputs:
        r = a.value if isinstance(a, Literal) else env[id(a)]
        results.append(instantiate(r) if type(r) is Zero else r)
    return results


def _fwd_fun(program: Program) -> Callable[[list[Any]], list[Any]]:
    def apply_linear(tangents: list[Any]) -> list[Any]:
        return eval_dropping(program, tangents)

    return apply_linear


def _rev_fun(program: Program) -> Callable[[list[Any]], list[Any]]:
    def apply_transpose(cotangents: list[Any]) -> list[Any]:
        cts = backward_pass(program, cotangents)
        return [instantiate(c) if type(c) is Zero else c for c in cts]

    return apply_transpose


def is_nested(lin: Linearized) -> bool:
    """Whether the linearization holds values of an outer transformation (``hessian`` =
    ``jacfwd(jacrev(f))``): then the blocks are built with traced operations, in one sweep."""
    if any(isinstance(o, Tracer) for o in lin.outputs):
        return True
    for eq in lin.program.equations:
        for a in eq.inputs:
            if isinstance(a, Literal) and isinstance(a.value, Tracer):
                return True
    return False


def _traced_blocks(lin: Linearized, batched: list[Any], by_rows: bool) -> list[list[Any]]:
    """Blocks from one full sweep, with operations that outer transformations can trace."""
    rows = lin.out_sizes if not by_rows else lin.in_sizes
    blocks: list[list[Any]] = [[None] * len(lin.in_avals) for _ in lin.out_avals]
    for k, ys in enumerate(batched):
        off = 0
        total = sum(lin.in_sizes if not by_rows else lin.out_sizes)
        flat = reshape(ys, (total, rows[k]))
        for piece, n in enumerate(lin.in_sizes if not by_rows else lin.out_sizes):
            part = getitem(flat, (slice(off, off + n),))
            off += n
            if by_rows:  # reverse: part is (m_j, n_i) rows of output leaf `piece`, input k
                j, i = piece, k
            else:  # forward: part is (n_i, m_j) columns of input leaf `piece`, output k
                j, i = k, piece
                part = transpose(part)
            shape = (*lin.out_avals[j].shape, *lin.in_avals[i].shape)
            blocks[j][i] = reshape(part, shape)
    return blocks


def forward_jacobian(lin: Linearized, chunk: int) -> list[list[np.ndarray]]:
    """Numerator-layout blocks by forward sweeps over the input basis, ``chunk`` at a time."""
    n_total = sum(lin.in_sizes)
    apply_linear = _fwd_fun(lin.program)
    if is_nested(lin):
        basis = _basis(lin.in_sizes, lin.in_avals, 0, n_total)
        ys = vmap_flat(apply_linear, basis, [0] * len(basis), 0)
        return _traced_blocks(lin, ys, by_rows=False)
    flat = _empty_blocks(lin)
    for start in range(0, n_total, chunk):
        stop = min(start + chunk, n_total)
        basis = _basis(lin.in_sizes, lin.in_avals, start, stop)
        ys = vmap_flat(apply_linear, basis, [0] * len(basis), 0)
        off = 0
        for i, n in enumerate(lin.in_sizes):
            lo, hi = max(start, off), min(stop, off + n)
            if lo < hi:
                for j, y in enumerate(ys):
                    cols = np.asarray(y).reshape(stop - start, -1)[lo - start:hi - start]
                    flat[j][i][:, lo - off:hi - off] = cols.T
            off += n
    return _shape_blocks(lin, flat)


def reverse_jacobian(lin: Linearized, chunk: int) -> list[list[np.ndarray]]:
    """Numerator-layout blocks by reverse sweeps over the output basis, ``chunk`` at a time."""
    m_total = sum(lin.out_sizes)
    apply_transpose = _rev_fun(lin.program)
    if is_nested(lin):
        basis = _basis(lin.out_sizes, lin.out_avals, 0, m_total)
        xs = vmap_flat(apply_transpose, basis, [0] * len(basis), 0)
        return _traced_blocks(lin, xs, by_rows=True)
    flat = _empty_blocks(lin)
    for start in range(0, m_total, chunk):
        stop = min(start + chunk, m_total)
        basis = _basis(lin.out_sizes, lin.out_avals, start, stop)
        xs = vmap_flat(apply_transpose, basis, [0] * len(basis), 0)
        off = 0
        for j, m in enumerate(lin.out_sizes):
            lo, hi = max(start, off), min(stop, off + m)
            if lo < hi:
                for i, x in enumerate(xs):
                    rows = np.asarray(x).reshape(stop - start, -1)[lo - start:hi - start]
                    flat[j][i][lo - off:hi - off, :] = rows
            off += m
    return _shape_blocks(lin, flat)
