"""The Jacobian sparsity pattern of a linear program, in O(nnz), from the ops' sparsity rules.

Every value ``v`` of the linearized program carries the Boolean pattern ``P_v`` of ``∂v/∂x``
(``size(v) × N``, CSR, ``N`` = all input entries): the inputs start with identity blocks, and an
equation ``w = op(u₁ … u_k)`` sets ``P_w = ∨ᵢ Lᵢ · P_{uᵢ}`` with the local factor ``Lᵢ`` its
primitive's sparsity rule declares (:mod:`tensorcalc.interpreters.sparsity`):

* ``SAME`` shares ``P_u`` (no copy), ``Gather`` picks rows of ``P_u`` — both cost the rows'
  nonzeros; ``Pairs`` is a sparse Boolean product; ``DENSE`` gives every row of ``P_w`` the union
  of ``P_u``'s columns (the pessimistic answer for that one equation, reported in the plan);
* a pattern is dropped after its last use, so memory follows the live patterns' nonzeros.

Nothing here looks at values: the pattern is *structural* (entries that happen to be 0.0 at
this point are kept, cancellation is never assumed), so it is a superset of the true pattern
and equal to it when no cancellation occurs. No dense ``size(w) × N`` block is ever formed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.ir import Equation, Literal, Program, Var
from ..interpreters.sparsity import (
    DENSE,
    SAME,
    Gather,
    Pairs,
    ProgramQuery,
    SparsityQuery,
    program_sparsity_rules,
    sparsity_rules,
)
from .sweeps import DEFAULT_MEMORY_BUDGET, Linearized

try:
    import scipy.sparse as sp
except ImportError:  # pragma: no cover - exercised only without scipy
    sp = None

SCIPY_MISSING = ("sparse Jacobians and Hessians need SciPy (the result is a scipy.sparse "
                 "matrix): install it with `pip install scipy` (or `pip install "
                 "tensorcalc[sparse]`)")


def require_scipy() -> Any:
    """``scipy.sparse``, or an ImportError that says how to install it (never a dense
    fallback)."""
    if sp is None:
        raise ImportError(SCIPY_MISSING)
    return sp


@dataclass
class PatternReport:
    """The detected pattern and how it was found."""

    pattern: Any  # scipy CSR, bool, M × N
    equations: int = 0
    dense_blocks: Counter = field(default_factory=Counter)  # primitive name -> equations
    peak_bytes: int = 0


def _nbytes(p: Any) -> int:
    return int(p.indices.nbytes + p.indptr.nbytes + p.data.nbytes)


def _csr(indptr: np.ndarray, indices: np.ndarray, shape: tuple[int, int]) -> Any:
    return sp.csr_matrix((np.ones(indices.size, bool), indices, indptr), shape=shape)


def take_rows(p: Any, src: np.ndarray) -> Any:
    """Rows ``src`` of the CSR ``p`` (``-1``: an empty row), without a Python loop."""
    lens = np.diff(p.indptr)
    valid = src >= 0
    safe = np.where(valid, src, 0)
    counts = np.where(valid, lens[safe], 0)
    indptr = np.zeros(src.size + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    total = int(indptr[-1])
    starts = np.repeat(p.indptr[safe].astype(np.int64) - indptr[:-1], counts)
    indices = p.indices[starts + np.arange(total, dtype=np.int64)]
    return _csr(indptr, indices, (src.size, p.shape[1]))


def _dense_rows(p: Any, rows: int) -> Any:
    """Every one of ``rows`` rows depends on every column ``p`` touches."""
    cols = np.unique(p.indices)
    indptr = np.arange(rows + 1, dtype=np.int64) * cols.size
    return _csr(indptr, np.tile(cols, rows), (rows, p.shape[1]))


def _apply(factor: Any, p: Any, rows: int) -> Any:
    if factor is SAME:
        return p
    if isinstance(factor, Gather):
        return take_rows(p, factor.src)
    if isinstance(factor, Pairs):
        src = _as_gather(factor, rows)
        if src is not None:  # one source per row (a pad, a scatter to distinct places)
            return take_rows(p, src)
        local = sp.csr_matrix((np.ones(factor.rows.size, bool), (factor.rows, factor.cols)),
                              shape=(rows, p.shape[0]))
        out = (local @ p).tocsr()
        out.sum_duplicates()
        return out
    return _dense_rows(p, rows)


def _as_gather(factor: Pairs, rows: int) -> np.ndarray | None:
    """The pairs as a row selection when no row has two of them (then rows of ``P_u`` are
    copied, which is cheaper than a sparse product)."""
    if factor.rows.size == 0 or factor.rows.size > rows:
        return None
    if np.bincount(factor.rows, minlength=rows).max() > 1:
        return None
    src = np.full(rows, -1, np.int64)
    src[factor.rows] = factor.cols
    return src


def _union(a: Any | None, b: Any) -> Any:
    if a is None:
        return b
    out = (a + b).tocsr()
    out.sum_duplicates()
    return out


def _size(v: Var) -> int:
    return int(np.prod(v.aval.shape, dtype=np.int64))


def _last_uses(equations: list[Equation], keep: set[int]) -> dict[int, int]:
    last: dict[int, int] = {}
    for t, eq in enumerate(equations):
        for a in eq.inputs:
            if isinstance(a, Var):
                last[id(a)] = t
    return {k: t for k, t in last.items() if k not in keep}


def _factors(eq: Equation, k: int, report: PatternReport) -> list[Any]:
    rule = sparsity_rules.get(eq.primitive)
    n_out = len(eq.outputs)
    if rule is None:
        report.dense_blocks[f"{eq.primitive.name} (no sparsity rule)"] += 1
        return [DENSE] * n_out
    q = SparsityQuery(k, tuple(a.aval for a in eq.inputs), tuple(v.aval for v in eq.outputs),
                      tuple(a.value if isinstance(a, Literal) else None for a in eq.inputs),
                      dict(eq.params))
    got = rule(q)
    factors = list(got) if isinstance(got, (list, tuple)) else [got]
    if len(factors) != n_out:
        raise ValueError(f"the sparsity rule of {eq.primitive.name} gave {len(factors)} "
                         f"factors for {n_out} results")
    for f in factors:
        if f is DENSE:
            report.dense_blocks[f"{eq.primitive.name} (rule: dense)"] += 1
    return factors


def _check_budget(nbytes: int, budget: int, eq: Equation) -> None:
    if nbytes > budget:
        raise MemoryError(
            f"sparsity detection: the patterns alive after `{eq.primitive.name}` take "
            f"{nbytes / 2**20:.1f} MiB, more than memory_budget={budget} bytes "
            f"({budget / 2**20:.1f} MiB). The Jacobian is not sparse enough for this budget: "
            "raise memory_budget, or use a dense Jacobian / Jacobian-vector products.")


def detect_pattern(lin: Linearized, memory_budget: int | None = None) -> PatternReport:
    """The ``M × N`` Boolean CSR pattern of the flattened Jacobian of ``lin``."""
    require_scipy()
    budget = DEFAULT_MEMORY_BUDGET if memory_budget is None else int(memory_budget)
    prog = lin.program
    n_total = sum(lin.in_sizes)
    report = PatternReport(None, len(live_equations(prog)))
    seeds, off = [], 0
    for n in lin.in_sizes:
        seeds.append(_csr(np.arange(n + 1, dtype=np.int64),
                          np.arange(off, off + n, dtype=np.int64), (n, n_total)))
        off += n
    algebra = PatternAlgebra(n_total, report, budget)
    rows = []
    for p, m in zip(algebra.propagate(prog, seeds, top=True), lin.out_sizes, strict=True):
        rows.append(p if p is not None else sp.csr_matrix((m, n_total), dtype=bool))
    pattern = sp.vstack(rows, format="csr") if len(rows) != 1 else rows[0].copy()
    pattern.sum_duplicates()
    report.pattern = pattern
    return report


class PatternAlgebra:
    """The pattern engine, as control-flow rules see it (``defsparsity_program``): patterns
    are Boolean CSR matrices ``size(v) × N`` over the outer program's inputs, ``None`` when a
    value depends on none of them."""

    def __init__(self, n_cols: int, report: PatternReport, budget: int) -> None:
        self.n_cols, self.report, self.budget = n_cols, report, budget

    def propagate(self, program: Program, in_pats: list[Any], top: bool = False) -> list[Any]:
        """The patterns of ``program``'s outputs, given those of its inputs (an iterative walk
        over its live equations; sub-programs recurse one level per nesting)."""
        live = live_equations(program)
        pats: dict[int, Any] = {id(v): p for v, p in zip(program.inputs, in_pats, strict=True)
                                if p is not None}
        outs = {id(a) for a in program.outputs if isinstance(a, Var)}
        last = _last_uses(live, outs)
        held = sum(_nbytes(p) for p in pats.values())
        for t, eq in enumerate(live):
            ins = [pats.get(id(a)) if isinstance(a, Var) else None for a in eq.inputs]
            if any(p is not None for p in ins):
                for w, acc in zip(eq.outputs, self._equation(eq, ins), strict=True):
                    if acc is not None:
                        pats[id(w)] = acc
                        held += _nbytes(acc)
            if top:
                self.report.peak_bytes = max(self.report.peak_bytes, held)
                _check_budget(held, self.budget, eq)
            for a in eq.inputs:
                if isinstance(a, Var) and last.get(id(a)) == t and id(a) in pats:
                    held -= _nbytes(pats.pop(id(a)))
        return [pats.get(id(a)) if isinstance(a, Var) else None for a in program.outputs]

    def _equation(self, eq: Equation, ins: list[Any]) -> list[Any]:
        rule = program_sparsity_rules.get(eq.primitive)
        if rule is not None:
            q = ProgramQuery(self, ins, tuple(a.aval for a in eq.inputs),
                             tuple(v.aval for v in eq.outputs), dict(eq.params))
            got = rule(q)
            if got is DENSE:
                self.report.dense_blocks[f"{eq.primitive.name} (rule: dense)"] += 1
                return [self.dense(ins, _size(w)) for w in eq.outputs]
            if len(got) != len(eq.outputs):
                raise ValueError(f"the sparsity rule of {eq.primitive.name} gave {len(got)} "
                                 f"patterns for {len(eq.outputs)} results")
            return list(got)
        accs: list[Any] = [None] * len(eq.outputs)
        for k, p in enumerate(ins):
            if p is None:
                continue
            for j, f in enumerate(_factors(eq, k, self.report)):
                accs[j] = _union(accs[j], _apply(f, p, _size(eq.outputs[j])))
        return accs

    # --- what rules combine patterns with ------------------------------------------------

    def union(self, a: Any, b: Any) -> Any:
        """``a ∨ b`` (``None`` is the empty pattern)."""
        if a is None or b is None:
            return b if a is None else a
        return _union(a, b)

    def same(self, a: Any, b: Any) -> bool:
        """Whether two patterns are equal."""
        if a is None or b is None:
            return (a is None or a.nnz == 0) and (b is None or b.nnz == 0)
        return a.shape == b.shape and a.nnz == b.nnz and (a != b).nnz == 0

    def rows(self, p: Any, start: int, stop: int) -> Any:
        """Rows ``start:stop`` (one step of a stacked operand)."""
        return None if p is None else p[start:stop]

    def stack(self, pieces: list[Any], sizes: list[int]) -> Any:
        """The patterns stacked row-wise (``None`` pieces are empty blocks of their size)."""
        if all(p is None for p in pieces):
            return None
        blocks = [sp.csr_matrix((n, self.n_cols), dtype=bool) if p is None else p
                  for p, n in zip(pieces, sizes, strict=True)]
        return sp.vstack(blocks, format="csr")

    def dense(self, ins: list[Any], rows: int) -> Any:
        """Every one of ``rows`` rows depends on every column any of ``ins`` touches."""
        acc = None
        for p in ins:
            if p is not None:
                acc = self.union(acc, _dense_rows(p, 1))
        return None if acc is None else _dense_rows(acc, rows)


def live_equations(program: Program) -> list[Equation]:
    """Equations whose result reaches an output (a reverse walk over the program)."""
    live = {id(a) for a in program.outputs if isinstance(a, Var)}
    keep = []
    for eq in reversed(program.equations):
        if any(id(v) in live for v in eq.outputs):
            keep.append(eq)
            live.update(id(a) for a in eq.inputs if isinstance(a, Var))
    keep.reverse()
    return keep
