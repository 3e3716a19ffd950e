"""Sparse Jacobians and Hessians: detect the pattern, colour it, one sweep per colour.

1. *Pattern* — :func:`~tensorcalc.jacobians.pattern.detect_pattern` pushes Boolean CSR
   patterns through the linearized program with the ops' sparsity rules, ``O(nnz)``.
2. *Colouring* — Jacobians: the cheapest of column (JVPs), row (VJPs) and bidirectional
   colourings (:mod:`tensorcalc.accumulate.coloring`); Hessians (the Jacobian of the gradient,
   symmetric): a star colouring (:mod:`tensorcalc.accumulate.coloring_symmetric`).
3. *Sweeps* — the linear program is evaluated on the ``c`` seed vectors at once (a batched
   JVP ``J S``; for Hessians the linearized gradient, i.e. forward-over-reverse Hessian-vector
   products ``H S``) and/or transposed on the row seeds (``S_rᵀ J``).
4. *Recovery* — each structural nonzero is one entry of the compressed products: a gather with
   a precomputed index (the values come out in CSR order, so the result is
   ``csr_matrix((values, indices, indptr))`` with the detected pattern, zeros included).

The gather is written with ``tensorcalc.numpy`` operations, so under ``jit`` the sweeps and the
recovery are staged into one program; the pattern and colouring are found while tracing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..accumulate.coloring import Coloring
from ..accumulate.coloring_acyclic import (
    HESSIAN_METHODS,
    AcyclicColoring,
    acyclic_coloring,
    substitution_values,
)
from ..accumulate.coloring_bidirectional import best_coloring
from ..accumulate.coloring_symmetric import (
    StarColoring,
    hessian_gather,
    star_coloring,
    symmetrize,
)
from ..core.errors import ConcretizationError
from ..core.ir import Program
from ..core.primitive import Tracer
from ..core.tree import register_pytree_node
from ..interpreters.batch import vmap_flat
from ..ops.shape import concatenate
from ..ops.structural import broadcast_to, getitem, reshape
from .pattern import PatternReport, detect_pattern, live_equations, require_scipy
from .sweeps import (
    DEFAULT_MEMORY_BUDGET,
    Linearized,
    _fwd_fun,
    _nbytes,
    _rev_fun,
    bytes_per_sweep_vector,
    is_nested,
)

FORMATS = ("csr", "csc", "coo", "dense", "pydata")


@dataclass
class SparseCore:
    """What a sparse plan computes once: pattern, colouring, seeds and the gather index."""

    kind: str  # "jacobian" or "hessian"
    shape: tuple[int, int]
    report: PatternReport
    coloring: Coloring | StarColoring
    indptr: np.ndarray
    indices: np.ndarray
    gather: np.ndarray  # flat positions in [(J S)ᵀ (c×m) ravelled, S_rᵀ J (c_r×n) ravelled]
    col_seeds: np.ndarray | None  # (c, n)
    row_seeds: np.ndarray | None  # (c_r, m)
    signature: tuple[Any, ...]
    memory_budget: int
    alternatives: dict[str, str] = field(default_factory=dict)
    substitution: Any = None  # acyclic Hessian colouring: (symmetric pattern, colouring)
    groups: tuple[np.ndarray, np.ndarray] | None = None  # see _recovery_groups
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase of the build

    @property
    def nnz(self) -> int:
        return int(self.indices.size)

    @property
    def jvps(self) -> int:
        return 0 if self.col_seeds is None else self.col_seeds.shape[0]

    @property
    def vjps(self) -> int:
        return 0 if self.row_seeds is None else self.row_seeds.shape[0]


def program_signature(lin: Linearized) -> tuple[Any, ...]:
    """The live equations' primitives, shapes and (hashed) parameters: two linearizations
    with one signature have one structural pattern."""
    sig = []
    for eq in live_equations(lin.program):
        params = tuple(sorted((k, _freeze(v)) for k, v in eq.params.items()))
        sig.append((eq.primitive, tuple(tuple(a.aval.shape) for a in eq.inputs),
                    tuple(type(a).__name__ for a in eq.inputs), params))
    return tuple(sig)


def _freeze(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return ("array", v.shape, str(v.dtype), hash(v.tobytes()))
    if isinstance(v, (tuple, list)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, slice):
        return ("slice", v.start, v.stop, v.step)
    try:
        hash(v)
    except TypeError:
        return ("id", id(v))
    return v


def _seeds_of(colors: np.ndarray, c: int) -> np.ndarray:
    seeds = np.zeros((c, colors.size))
    k = np.flatnonzero(colors >= 0)
    seeds[colors[k], k] = 1.0
    return seeds


def _jacobian_coloring(pattern: Any, lin: Linearized) -> tuple[Coloring, dict[str, str]]:
    """The colouring with the fewest sweeps: column, row, direct split or star bicolouring
    (:func:`~tensorcalc.accumulate.coloring_bidirectional.best_coloring`); rows only when the
    program can only be pulled back (a ``custom_vjp`` rule)."""
    transpose_only = any(eq.primitive.transpose_only for eq in live_equations(lin.program))
    return best_coloring(pattern, transpose_only=transpose_only)


def _jacobian_gather(pattern: Any, coloring: Coloring) -> np.ndarray:
    """Flat positions of the nonzeros (CSR order) in ``[(J S)ᵀ, S_rᵀ J]`` ravelled: the sweeps
    come out colour-major, ``(c, m)`` and ``(c_r, n)``, and are read in place. Built in place
    in one int64 array (nnz-sized temporaries are what this costs)."""
    m, n = pattern.shape
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(pattern.indptr))
    cols = pattern.indices
    if coloring.mode == "row":
        out = coloring.colors.astype(np.int64)[rows]
        out *= n
        out += cols
        return out
    out = coloring.colors.astype(np.int64)[cols]
    out *= m
    out += rows
    if coloring.mode == "bidirectional":
        by_row = np.flatnonzero(coloring.from_rows(rows, cols))
        rc = coloring.row_colors[rows[by_row]].astype(np.int64)
        out[by_row] = m * coloring.n_colors + rc * n + cols[by_row]
    return out


def _hessian_coloring(sym: Any, method: str) -> tuple[Any, dict[str, str]]:
    """Star (direct gather), acyclic (substitution) or, for ``"auto"``, acyclic only when it
    needs fewer Hessian-vector products."""
    if method not in HESSIAN_METHODS:
        raise ValueError(f"sparse Hessian: coloring={method!r} must be one of {HESSIAN_METHODS}")
    star = star_coloring(sym, symmetric=True)
    bound = int(sym.row_counts.max(initial=0))
    alt = {"star (HVPs)": str(star.sweeps)}
    if method == "star":
        alt["column (HVPs, no symmetry)"] = f"needs >= {bound}"
        return star, alt
    acyclic = acyclic_coloring(sym, symmetric=True)
    alt["acyclic (HVPs, substitution)"] = str(acyclic.sweeps)
    return (acyclic if method == "acyclic" or acyclic.sweeps < star.sweeps else star), alt


def build_core(lin: Linearized, kind: str, memory_budget: int | None,
               hessian_coloring: str = "star") -> SparseCore:
    """Detect, colour and index once (see the module docstring)."""
    require_scipy()
    budget = DEFAULT_MEMORY_BUDGET if memory_budget is None else int(memory_budget)
    t0 = time.perf_counter()
    report = detect_pattern(lin, budget)
    t1 = time.perf_counter()
    pattern = report.pattern
    m, n = pattern.shape
    if kind == "hessian":
        sym = symmetrize(pattern)
        coloring, alternatives = _hessian_coloring(sym, hessian_coloring)
        t2 = time.perf_counter()
        indptr, indices = sym.row_ptr, sym.row_cols
        if isinstance(coloring, AcyclicColoring):
            gather = np.zeros(0, np.int64)  # no gather: substitution (compressed_values)
        else:
            key = hessian_gather(sym, coloring.colors)  # i·c + colour in B = H S (n × c)
            c = max(coloring.n_colors, 1)
            gather = (key % c) * n + key // c  # the same entry of Bᵀ, as the sweeps give it
        col_seeds, row_seeds = _seeds_of(coloring.colors, coloring.n_colors), None
    else:
        coloring, alternatives = _jacobian_coloring(pattern, lin)
        t2 = time.perf_counter()
        indptr, indices = pattern.indptr, pattern.indices
        gather = _jacobian_gather(pattern, coloring)
        col_seeds = row_seeds = None
        if coloring.mode == "column":
            col_seeds = _seeds_of(coloring.colors, coloring.n_colors)
        elif coloring.mode == "row":
            row_seeds = _seeds_of(coloring.colors, coloring.n_colors)
        else:
            col_seeds = _seeds_of(coloring.colors, coloring.n_colors)
            row_seeds = _seeds_of(coloring.row_colors, coloring.n_row_colors)
    index = np.int32 if max(m, n, indices.size) < 2**31 - 1 else np.int64  # scipy's choice
    indptr, indices = indptr.astype(index, copy=False), indices.astype(index, copy=False)
    core = SparseCore(kind, (m, n), report, coloring, indptr, indices, gather, col_seeds,
                      row_seeds, program_signature(lin), budget, alternatives)
    if isinstance(coloring, AcyclicColoring):
        core.substitution = (sym, coloring)
    _check_result_memory(core, lin)
    core.timings.update({"detect": t1 - t0, "colour": t2 - t1,
                         "index": time.perf_counter() - t2})
    return core


def _check_result_memory(core: SparseCore, lin: Linearized) -> None:
    """The result and at least one sweep at a time must fit the budget."""
    m, n = core.shape
    one = max(bytes_per_sweep_vector(lin.program), (m if core.jvps else n) * 8)
    nbytes = core.nnz * 16 + (one if core.jvps + core.vjps else 0)
    if nbytes > core.memory_budget:
        raise MemoryError(
            f"sparse {core.kind}: the {core.nnz:,} nonzeros of a {m}x{n} matrix and one "
            f"compressed sweep need {nbytes / 2**20:.1f} MiB, more than "
            f"memory_budget={core.memory_budget} bytes; raise memory_budget.")


def _split_leaves(seeds: np.ndarray, sizes: list[int], avals: list[Any]) -> list[np.ndarray]:
    out, off = [], 0
    for size, av in zip(sizes, avals, strict=True):
        dt = av.dtype if np.issubdtype(av.dtype, np.inexact) else np.float64
        out.append(seeds[:, off:off + size].astype(dt, copy=False).reshape((-1, *av.shape)))
        off += size
    return out


def _sweep(fun: Any, seeds: np.ndarray, sizes: list[int], avals: list[Any],
           out_sizes: list[int], chunk: int) -> Any:
    """``fun`` on every seed (rows of ``seeds``), ``chunk`` at a time; the results flattened
    to ``(c, Σ out_sizes)`` — the transposed compressed product."""
    parts = []
    for lo in range(0, seeds.shape[0], chunk):
        leaves = _split_leaves(seeds[lo:lo + chunk], sizes, avals)
        outs = vmap_flat(fun, leaves, [0] * len(leaves), 0)
        k = leaves[0].shape[0] if leaves else 0
        flat = [reshape(_batched(o, k, s), (k, s)) for o, s in zip(outs, out_sizes, strict=True)]
        parts.append(flat[0] if len(flat) == 1 else concatenate(flat, axis=1))
    return parts[0] if len(parts) == 1 else concatenate(parts, axis=0)


def _batched(o: Any, k: int, size: int) -> Any:
    """An output that does not depend on the seeds comes back unbatched: give it the axis."""
    shape = tuple(np.shape(o)) if not isinstance(o, Tracer) else tuple(o.shape)
    if int(np.prod(shape, dtype=np.int64)) == k * size and (shape[:1] == (k,) or size == 0):
        return o
    return broadcast_to(reshape(o, (1, size)), (k, size))


def compressed_values(core: SparseCore, lin: Linearized) -> Any:
    """The structural nonzeros (CSR order) of the Jacobian/Hessian of ``lin``: the sweeps and
    the gather. Traced operations when ``lin`` belongs to an outer transformation (``jit``):
    then all colours go in one batch. Otherwise the colours go in batches that fit the memory
    budget and ``SWEEP_BLOCK_BYTES``; the batches' compressed products are collected and
    gathered once when they are O(nnz) (``BUFFER_FACTOR``), else each batch's nonzeros are read
    out before the next batch is computed."""
    m, n = core.shape
    sides = []  # (linear function, seeds, seed sizes/avals, result sizes, width)
    if core.col_seeds is not None:  # (c, m) = (J S)ᵀ: entry (i, colour) at colour·m + i
        sides.append((_fwd_fun(lin.program), core.col_seeds, lin.in_sizes, lin.in_avals,
                      lin.out_sizes, m))
    if core.row_seeds is not None:  # (c_r, n) = S_rᵀ J
        sides.append((_rev_fun(lin.program), core.row_seeds, lin.out_sizes, lin.out_avals,
                      lin.in_sizes, n))
    if not sides:
        return np.zeros(0)
    if core.substitution is not None:
        return _substituted(core, lin, sides[0])
    if is_nested(lin):
        pieces = [reshape(_sweep(fun, seeds, sizes, avals, outs, seeds.shape[0]), (-1,))
                  for fun, seeds, sizes, avals, outs, _ in sides]
        flat = pieces[0] if len(pieces) == 1 else concatenate(pieces, axis=0)
        return getitem(flat, (core.gather,))
    per = bytes_per_sweep_vector(lin.program)
    room = core.memory_budget - core.nnz * 16
    # Seeds per batch: what the budget allows, and no more than keeps each batched value near
    # SWEEP_BLOCK_BYTES — big fresh arrays cost more in page faults than their arithmetic, and
    # same-size blocks are recycled by the allocator from one batch to the next.
    block = max(1, SWEEP_BLOCK_BYTES // widest_value_bytes(lin.program))
    chunks = []  # (side, lo, hi)
    for s, (_, seeds, *_rest, width) in enumerate(sides):
        c = seeds.shape[0]
        chunk = max(1, min(c, block, room // max(per, width * 8, 1)))
        chunks.extend((s, lo, min(lo + chunk, c)) for lo in range(0, c, chunk))
    if not chunks:  # no seeds at all: an empty pattern
        return np.zeros(core.nnz)
    if len(chunks) == 1:  # one batch: the gather reads the compressed product in place
        # (the other side, if any, has no seeds, so this side's products start at 0)
        fun, seeds, sizes, avals, outs, _ = sides[chunks[0][0]]
        b = np.asarray(_sweep(fun, seeds, sizes, avals, outs, seeds.shape[0])).reshape(-1)
        return b[core.gather]
    base = np.cumsum([0] + [s[1].shape[0] * s[5] for s in sides])
    if int(base[-1]) <= BUFFER_FACTOR * core.nnz and room >= (int(base[-1]) + core.nnz) * 8:
        # The compressed products are about as big as the result: collect them, gather once.
        buf = None
        for s, lo, hi in chunks:
            fun, seeds, sizes, avals, outs, width = sides[s]
            b = np.asarray(_sweep(fun, seeds[lo:hi], sizes, avals, outs, hi - lo)).reshape(-1)
            if buf is None:
                buf = np.empty(int(base[-1]), b.dtype)
            buf[base[s] + lo * width:base[s] + hi * width] = b
        return buf[core.gather]
    # Compressed products much larger than the result (colours that each cover few nonzeros):
    # read each batch's nonzeros out before the next batch, grouped by seed.
    order, bounds = _recovery_groups(core, [s[1].shape[0] for s in sides])
    first = np.cumsum([0] + [s[1].shape[0] for s in sides])
    values = None
    for s, lo, hi in chunks:
        fun, seeds, sizes, avals, outs, width = sides[s]
        b = np.asarray(_sweep(fun, seeds[lo:hi], sizes, avals, outs, hi - lo)).reshape(-1)
        if values is None:
            values = np.empty(core.nnz, b.dtype)
        # the nonzeros this batch holds: those recovered from seeds first[s]+lo … first[s]+hi
        take = order[bounds[first[s] + lo]:bounds[first[s] + hi]]
        values[take] = b[core.gather[take] - (base[s] + lo * width)]
    return values


def _substituted(core: SparseCore, lin: Linearized, side: tuple[Any, ...]) -> np.ndarray:
    """Acyclic Hessian colouring: ``Bᵀ = (H S)ᵀ`` by colour chunks, then the substitution
    along the two-coloured trees (sequential, so eager only)."""
    if is_nested(lin):
        raise ConcretizationError(
            "sparse Hessian with coloring='acyclic' recovers the entries by substitution, a "
            "sequential loop that cannot be traced; under jit (or another transformation) use "
            "coloring='star' (direct recovery, a gather)")
    fun, seeds, sizes, avals, outs, width = side
    c = seeds.shape[0]
    room = core.memory_budget - core.nnz * 16
    chunk = max(1, min(c, room // max(bytes_per_sweep_vector(lin.program), width * 8, 1)))
    parts = [np.asarray(_sweep(fun, seeds[lo:lo + chunk], sizes, avals, outs,
                               min(chunk, c - lo))) for lo in range(0, c, chunk)]
    bt = np.concatenate(parts, axis=0).reshape(c, width)
    sym, coloring = core.substitution
    return substitution_values(sym, coloring, bt.T)
#: Target size (bytes) of one batched intermediate of a sweep (see ``compressed_values``).
SWEEP_BLOCK_BYTES = 16 << 20
#: Batched sweeps are collected whole when their compressed products are at most this many
#: times the number of nonzeros (memory stays O(nnz)); otherwise read out batch by batch.
BUFFER_FACTOR = 2


def widest_value_bytes(program: Program) -> int:
    """Bytes of the largest value of ``program`` for one seed."""
    widest = max((_nbytes(v) for v in program.inputs), default=1)
    for eq in program.equations:
        widest = max(widest, *(_nbytes(v) for v in eq.outputs))
    return max(widest, 1)


def _recovery_groups(core: SparseCore, counts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The nonzeros grouped by the seed that recovers them: ``order[bounds[s]:bounds[s+1]]``
    are read from sweep ``s`` (column seeds first, then row seeds). The seed of a nonzero is
    its column's colour (its row's colour for row seeds); a counting sort on those small
    integers, O(nnz), once per plan."""
    if core.groups is None:
        total = sum(counts)
        small = np.int16 if total < 2**15 else np.int32
        col = getattr(core.coloring, "colors", None)
        if core.kind == "hessian" or not isinstance(core.coloring, Coloring):
            seed = np.floor_divide(core.gather, max(core.shape[1], 1)).astype(small)
        else:
            rows = np.repeat(np.arange(core.shape[0], dtype=np.int32), np.diff(core.indptr))
            if core.coloring.mode == "row":
                seed = col.astype(small)[rows]
            else:
                seed = col.astype(small)[core.indices]
                if core.coloring.mode == "bidirectional":
                    by_row = core.coloring.from_rows(rows, core.indices)
                    seed[by_row] = counts[0] + core.coloring.row_colors.astype(small)[
                        rows[by_row]]
        order = np.argsort(seed, kind="stable")  # a radix sort for small integers
        bounds = np.searchsorted(seed[order], np.arange(total + 1, dtype=seed.dtype))
        core.groups = (order, bounds)
    return core.groups


# --- results: scipy matrices, and a pytree so that jit can return them -----------------------


class _Structure:
    """The index arrays of a result (compared by identity: one per plan)."""

    def __init__(self, fmt: str, indptr: np.ndarray, indices: np.ndarray,
                 shape: tuple[int, int]) -> None:
        self.fmt, self.indptr, self.indices, self.shape = fmt, indptr, indices, shape

    def build(self, values: Any) -> Any:
        sp = require_scipy()
        values = np.asarray(values)
        mat = sp.csr_matrix((values, self.indices.copy(), self.indptr.copy()), shape=self.shape)
        return to_format(mat, self.fmt)


class SparseResult:
    """A sparse matrix whose values are still traced (inside ``jit``): a pytree whose one leaf
    is the values; rebuilt as a scipy matrix when the values are arrays."""

    def __init__(self, structure: _Structure, values: Any) -> None:
        self.structure, self.values = structure, values

    @property
    def shape(self) -> tuple[int, int]:
        return self.structure.shape


def _unflatten_result(structure: _Structure, leaves: list[Any]) -> Any:
    (values,) = leaves
    if isinstance(values, Tracer):
        return SparseResult(structure, values)
    return structure.build(values)


register_pytree_node(SparseResult, lambda r: ([r.values], r.structure), _unflatten_result)


def make_result(core: SparseCore, values: Any, fmt: str) -> Any:
    structure = _Structure(fmt, core.indptr, core.indices, core.shape)
    return _unflatten_result(structure, [values])


def to_format(mat: Any, fmt: str) -> Any:
    """``mat`` (scipy CSR) as ``fmt``; structural zeros are kept in every format."""
    if fmt == "csr":
        return mat
    if fmt == "csc":
        return mat.tocsc()
    if fmt == "coo":
        return mat.tocoo()
    if fmt == "dense":
        return mat.toarray()
    if fmt == "pydata":
        try:
            import sparse as pydata_sparse  # noqa: PLC0415 - an optional extra
        except ImportError:
            raise ImportError("format='pydata' needs the `sparse` package: "
                              "pip install sparse") from None
        return pydata_sparse.COO.from_scipy_sparse(mat)
    raise ValueError(f"format={fmt!r} must be one of {FORMATS}")
