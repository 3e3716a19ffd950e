"""Reusable sparse Jacobian and Hessian plans: detect and colour once, then only sweep.

``plan = sparse_jacobian_plan(f, x0)`` linearizes ``f`` at ``x0``, finds the structural pattern
of the flattened ``M × N`` Jacobian (numerator layout: rows are the output entries of all output
leaves, columns the input entries of all differentiated leaves), colours it and precomputes the
seeds and the recovery index. ``plan(x)`` then linearizes at ``x`` and runs only the compressed
sweeps and one gather; the result is a ``scipy.sparse`` matrix (CSR unless ``format=`` says
otherwise) holding every structural nonzero, zeros included. ``sparse_hessian_plan`` does the
same for the Hessian of a scalar function (the Jacobian of its gradient) with a star colouring
and Hessian-vector products (forward over reverse).

A plan stays valid while the linearized program has the same equations (the pattern is
structural, so it holds at every such point); when a call sees a different program (another
branch of ``tnp.where`` is not different, but another Python branch or other indices is), the
plan re-detects and re-colours, and counts it in ``plan.replans``. ``jit(plan)`` or
``jit(jacobian(f, sparse=True))`` compiles the sweeps and the recovery into one NumPy function;
a plan does that itself from its second call on (``plan.use_jit = False`` turns it off; a
function that ``jit`` cannot trace stays eager, and then the signature check above applies).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .accumulate.coloring_acyclic import HESSIAN_METHODS
from .api import grad
from .api_util import linearize_for, retry_with_strong_zeros
from .compile import jit
from .core import backend
from .core.errors import TensorcalcError
from .core.primitive import Tracer
from .core.tree import tree_flatten
from .jacobians.pattern import live_equations, require_scipy
from .jacobians.sparse import (
    FORMATS,
    SparseCore,
    build_core,
    compressed_values,
    make_result,
    program_signature,
)
from .jacobians.sparse_dask import check_sparse_backend, foreign_call
from .jacobians.sweeps import Linearized
from .ops.elementwise import div_p, mul_p
from .ops.products import matmul_p
from .ops.strong_zero import div_sz_p, mul_sz_p

_SCALINGS = (mul_p, mul_sz_p, div_p, div_sz_p)
#: The phases of a first call, in order, as ``plan.timings`` names them.
PHASES = ("linearize", "detect", "colour", "index", "sweeps + recovery")


def _check_format(fmt: str, fname: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"{fname}: format={fmt!r} must be one of {FORMATS} (scipy CSR, CSC, "
                         "COO, a dense ndarray, or a pydata `sparse` COO array)")
    return fmt


def mults_per_sweep(lin: Linearized) -> int:
    """Multiplications of one sweep through the linear program: one per entry of each scaling
    (``mul``/``div`` by a constant) and ``K`` per entry of a matmul with inner size ``K``; moves,
    sums and reshapes are free."""
    total = 0
    for eq in live_equations(lin.program):
        size = int(np.prod(eq.outputs[0].aval.shape, dtype=np.int64))
        if eq.primitive in _SCALINGS:
            total += size
        elif eq.primitive is matmul_p:
            total += size * int(eq.inputs[0].aval.shape[-1])
    return total


class SparseJacobianPlan:
    """Pattern, colouring and recovery index of ``jacobian(f, sparse=True)``; call it at new
    points. ``print(plan)`` shows the pattern, the colourings tried and the sweeps."""

    kind = "jacobian"
    title = "Sparse Jacobian plan"
    coloring_method = "star"  # Hessians: "star", "acyclic" or "auto" (sparse_hessian_plan)

    def __init__(self, fun: Callable[..., Any], argnums: int | Sequence[int] = 0,
                 has_aux: bool = False, format: str = "csr", memory_budget: int | None = None,
                 fname: str = "sparse_jacobian_plan") -> None:
        require_scipy()
        self.fun = fun
        self.argnums = argnums
        self.has_aux = has_aux
        self.format = _check_format(format, fname)
        self.memory_budget = memory_budget
        self.fname = fname
        self.core: SparseCore | None = None
        self.replans = -1  # the first detection is not a re-plan
        self.timings: dict[str, float] = {}
        self.use_jit = True
        self.calls = 0
        self._jitted: Any = None
        self.mults_per_sweep = 0
        self.__name__ = f"{fname}({getattr(fun, '__name__', 'f')})"

    def _target(self) -> Callable[..., Any]:
        return self.fun

    def _linearize(self, args: tuple[Any, ...]) -> tuple[Linearized, Any]:
        leaves = tree_flatten(args)[0]
        if backend.any_foreign(leaves):  # the sweeps run there (jacobians/sparse_dask.py)
            check_sparse_backend(leaves, self.fname)
        lin, _, _, aux = linearize_for(self._target(), args, self.argnums, self.has_aux,
                                       self.fname)
        return lin, aux

    def _ensure(self, lin: Linearized) -> SparseCore:
        if self.core is None or program_signature(lin) != self.core.signature:
            t0 = time.perf_counter()
            self.core = build_core(lin, self.kind, self.memory_budget, self.coloring_method)
            self.timings["detect + colour"] = time.perf_counter() - t0
            self.timings.update(self.core.timings)
            self.mults_per_sweep = mults_per_sweep(lin)
            self.replans += 1
        return self.core

    def prepare(self, *args: Any) -> SparseJacobianPlan:
        """Detect and colour at ``args`` (what ``sparse_jacobian_plan`` does); returns self."""
        lin, _ = self._linearize(args)
        self._ensure(lin)
        return self

    def _values(self, *args: Any) -> tuple[Any, Any]:
        """The structural nonzeros (CSR order) at ``args``, and the auxiliary data. The first
        eager call records how long each phase took (``plan.timings``)."""
        t0 = time.perf_counter()
        lin, aux = self._linearize(args)
        t1 = time.perf_counter()
        core = self._ensure(lin)
        t2 = time.perf_counter()
        values = compressed_values(core, lin)
        if "sweeps + recovery" not in self.timings and not isinstance(values, Tracer):
            self.timings.update({"linearize": t1 - t0,
                                 "sweeps + recovery": time.perf_counter() - t2})
        return values, aux

    def __call__(self, *args: Any) -> Any:
        if backend.any_foreign(tree_flatten(args)[0]):
            return foreign_call(self, args)  # Dask: lazy; eager: scipy (sparse_dask.py)
        values, aux = self._evaluate(args)
        out = make_result(self.core, values, self.format)
        return (out, aux) if self.has_aux else out

    def _evaluate(self, args: tuple[Any, ...]) -> tuple[Any, Any]:
        """From the second call on (the pattern is known), the sweeps and the gather run as
        one compiled function (``jit``: the linear program's constants fold into a few NumPy
        calls). A function ``jit`` cannot trace (Python control flow on values) stays eager;
        so does a call made inside another transformation."""
        self.calls += 1
        traced = any(isinstance(x, Tracer) for x in tree_flatten(args)[0])
        if self.use_jit and self.core is not None and self.calls > 1 and not traced:
            if self._jitted is None:
                self._jitted = jit(self._values)
            try:
                return self._jitted(*args)
            except (TensorcalcError, TypeError):
                self.use_jit = False  # the eager path below raises again if it is real
        return retry_with_strong_zeros(lambda: self._values(*args))

    # --- what the plan knows --------------------------------------------------------------

    def _core(self) -> SparseCore:
        if self.core is None:
            raise ValueError(f"{self.fname}: the plan has not seen a point yet; call it (or "
                             "build it with sparse_jacobian_plan(f, x)) first")
        return self.core

    @property
    def pattern(self) -> Any:
        """The structural pattern (scipy CSR, bool) of the flattened matrix."""
        core = self._core()
        sp = require_scipy()
        return sp.csr_matrix((np.ones(core.nnz, bool), core.indices, core.indptr),
                             shape=core.shape)

    @property
    def coloring(self) -> Any:
        return self._core().coloring

    @property
    def nnz(self) -> int:
        return self._core().nnz

    @property
    def shape(self) -> tuple[int, int]:
        return self._core().shape

    @property
    def sweeps(self) -> int:
        core = self._core()
        return core.jvps + core.vjps

    @property
    def dense_blocks(self) -> dict[str, int]:
        """Equations whose block was taken as dense (no sparsity rule, or a rule that says so)."""
        return dict(self._core().report.dense_blocks)

    def __str__(self) -> str:
        if self.core is None:
            return f"{self.title} for {getattr(self.fun, '__name__', 'f')}: not prepared yet"
        core = self.core
        m, n = core.shape
        total = m * n
        share = 100.0 * core.nnz / total if total else 0.0
        lines = [f"{self.title}: {m:,} outputs x {n:,} inputs" if self.kind == "jacobian"
                 else f"{self.title}: {n:,} x {n:,} (symmetric)",
                 f"  pattern: {core.nnz:,} structural nonzeros ({share:.3g}% of {total:,}), "
                 f"{core.nnz / max(m, 1):.3g} per row, from {core.report.equations} equations",
                 f"  pattern memory: {core.report.peak_bytes / 2**20:.3g} MiB peak"]
        if core.report.dense_blocks:
            dense = ", ".join(f"{k} x{v}" for k, v in sorted(core.report.dense_blocks.items()))
            lines.append(f"  dense blocks (conservative, that equation only): {dense}")
        else:
            lines.append("  dense blocks: none (every primitive has a sparsity rule)")
        lines.append("  colourings (sweeps):")
        for name, c in core.alternatives.items():
            lines.append(f"    {name:<30}{c}")
        ordering = getattr(core.coloring, "ordering", "")
        how = f", {ordering} order" if ordering else ""
        if self.kind == "hessian":
            counts = f"{core.jvps} Hessian-vector products"
        else:
            counts = f"{core.jvps} JVPs + {core.vjps} VJPs = {core.jvps + core.vjps} sweeps"
        method = getattr(core.coloring, "method", "")  # bidirectional: split or star bicolouring
        kind = core.coloring.mode + (f" ({method})" if method else "")
        lines.append(f"  chosen: {kind} colouring{how}: {counts} "
                     f"(dense: {min(m, n):,})")
        per = self.mults_per_sweep
        lines.append(f"  expected multiplications: {core.jvps + core.vjps} x {per:,} = "
                     f"{(core.jvps + core.vjps) * per:,} per evaluation "
                     f"(dense sweeps: {min(m, n) * per:,})")
        if "detect + colour" in self.timings:
            phases = ", ".join(f"{k} {self.timings[k]:.3g} s" for k in PHASES
                               if k in self.timings)
            lines.append(f"  phases: {phases}; re-plans: {max(self.replans, 0)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        if self.core is None:
            return f"<{type(self).__name__} (not prepared)>"
        m, n = self.core.shape
        return (f"<{type(self).__name__} {m}x{n}, nnz={self.core.nnz}, "
                f"{self.sweeps} sweeps ({self.core.coloring.mode})>")


class SparseHessianPlan(SparseJacobianPlan):
    """Pattern, star colouring and symmetric recovery of ``hessian(f, sparse=True)``."""

    kind = "hessian"
    title = "Sparse Hessian plan"

    def _target(self) -> Callable[..., Any]:
        return grad(self.fun, self.argnums, has_aux=self.has_aux)


def sparse_jacobian_plan(fun: Callable[..., Any], *args: Any, argnums: int | Sequence[int] = 0,
                         has_aux: bool = False, format: str = "csr",
                         memory_budget: int | None = None) -> SparseJacobianPlan:
    """Detect and colour the sparse Jacobian of ``fun`` at ``args``; ``plan(*new_args)``
    evaluates it (a ``format`` scipy matrix, ``M × N`` numerator layout over all leaves) with
    only the compressed sweeps. ``memory_budget`` (bytes, 1 GiB by default) bounds the
    patterns, the sweeps and the result; exceeding it raises ``MemoryError``."""
    return SparseJacobianPlan(fun, argnums, has_aux, format, memory_budget,
                              "sparse_jacobian_plan").prepare(*args)


def sparse_hessian_plan(fun: Callable[..., Any], *args: Any, argnums: int | Sequence[int] = 0,
                        has_aux: bool = False, format: str = "csr",
                        memory_budget: int | None = None, coloring: str = "star"
                        ) -> SparseHessianPlan:
    """Detect the Hessian pattern of scalar ``fun`` at ``args`` (the Jacobian pattern of its
    gradient) and colour it; ``plan(*new_args)`` runs one Hessian-vector product per colour
    and recovers the symmetric ``N × N`` matrix. ``coloring``: ``"star"`` (direct recovery,
    the default), ``"acyclic"`` (fewer products, recovery by substitution, eager only) or
    ``"auto"`` (acyclic when it saves products)."""
    plan = SparseHessianPlan(fun, argnums, has_aux, format, memory_budget,
                             "sparse_hessian_plan")
    if coloring not in HESSIAN_METHODS:
        raise ValueError(f"sparse_hessian_plan: coloring={coloring!r} must be one of "
                         f"{HESSIAN_METHODS} (star: direct recovery; acyclic: fewer colours, "
                         "recovery by substitution)")
    plan.coloring_method = coloring
    return plan.prepare(*args)
