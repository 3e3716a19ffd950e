"""Vectorizing transformations: ``vmap`` and the Jacobian family built on it.

``vmap(f)(X)`` stacks ``f`` over an axis of its arguments: ``vmap(f)(X)[b] = f(X[b])`` computed
with whole-array operations (batching rules, :mod:`tensorcalc.interpreters.batch`).

Jacobians are batched derivative sweeps, never a Python loop over rows or columns:

- ``jacfwd``: ``J = J · I`` — the jvp applied to the batch of all basis tangents at once;
- ``jacrev``: ``J = (Jᵀ · I)ᵀ`` — the transposed linear program applied to the batch of all basis
  cotangents; the primal and the linearization are computed once;
- ``jacobian(mode="auto")`` picks the cheaper one from the sizes and the cost model of the traced
  linear program (:mod:`tensorcalc.jacobians`), or assembles the structured product directly.

Layouts (docs/lessons/jacobians.md): ``"numerator"`` gives ``out.shape + in.shape``;
``"denominator"`` gives ``in.shape + out.shape``; ``"gradient"`` (scalar outputs only) gives
``in.shape``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .accumulate.coloring_acyclic import HESSIAN_METHODS
from .accumulate.recycle import Recyclers
from .api import grad, jvp
from .api_util import (
    as_value,
    as_values_at,
    check_array_outputs,
    linearize_for,
    normalize_argnums,
    retry_with_strong_zeros,
)
from .backend_jacobian import foreign_blocks
from .core import backend
from .core.errors import DifferentiationTypeError, NonScalarOutputError, ShapeError
from .core.primitive import get_aval
from .core.tree import tree_flatten, tree_unflatten
from .interpreters.batch import vmap_flat
from .jacobians.driver import compute_blocks
from .jacobians.plan import JacobianPlan, make_plan
from .jacobians.sweeps import DEFAULT_MEMORY_BUDGET, Linearized
from .ops.structural import transpose as _tnp_transpose
from .sparse_plans import SparseHessianPlan, SparseJacobianPlan
from .vmap_dask import chunk_vmap, chunked_axis

AxisSpec = Any


def _is_axis_leaf(x: Any) -> bool:
    return x is None or (isinstance(x, (int, np.integer)) and not isinstance(x, bool))


def _broadcast_prefix(spec: AxisSpec, tree: Any, what: str) -> list[int | None]:
    """One axis per leaf of ``tree``: ``spec`` is an axis or a pytree prefix of ``tree`` whose
    leaves are axes (``None`` included), as in JAX's ``in_axes``."""
    out: list[int | None] = []
    # Explicit stack (depth of user pytrees is small, but keep walks iterative everywhere).
    stack: list[tuple[Any, Any]] = [(spec, tree)]
    pending: list[list[int | None]] = []
    while stack:
        s, t = stack.pop()
        if _is_axis_leaf(s):
            pending.append([None if s is None else int(s)] * len(tree_flatten(t)[0]))
            continue
        s_kids, t_kids = _children(s), _children(t)
        if s_kids is None or t_kids is None or len(s_kids) != len(t_kids) or (
                type(s) is not type(t) and not (isinstance(s, (list, tuple))
                                                and isinstance(t, (list, tuple)))):
            raise ValueError(
                f"vmap: {what} {spec!r} does not match the structure of the arguments "
                f"({tree_flatten(tree)[1]}); give one axis (int or None) per argument, or a "
                "container of axes with the same structure")
        for sk, tk in reversed(list(zip(s_kids, t_kids, strict=True))):
            stack.append((sk, tk))
    for p in pending:
        out.extend(p)
    return out


def _children(x: Any) -> list[Any] | None:
    if isinstance(x, dict):
        return [x[k] for k in sorted(x)]
    if isinstance(x, (list, tuple)):
        return list(x)
    return None


def vmap(fun: Callable[..., Any], in_axes: AxisSpec = 0, out_axes: AxisSpec = 0,
         axis_size: int | None = None) -> Callable[..., Any]:
    """Vectorize ``fun`` over an axis of its arguments: ``vmap(f)(X)[b] == f(X[b])``.

    ``in_axes`` is an int (the batch axis of every argument), ``None`` (not batched), or a
    tuple with one entry per positional argument, each an int, ``None`` or a pytree of those
    matching the argument. ``out_axes`` places the batch axis in the outputs the same way.
    Composes with ``grad``, ``jvp``, ``vjp`` and itself in any order."""
    if not (_is_axis_leaf(in_axes) or isinstance(in_axes, (tuple, list, dict))):
        raise TypeError(f"vmap: in_axes must be an int, None or a tuple of those, got "
                        f"{in_axes!r}")

    def vmapped(*args: Any) -> Any:
        # a function or a string (in_axes None) reaches ``fun`` as it is
        arrays = [i for i, a in enumerate(args) if not (callable(a) or isinstance(a, str))]
        args = as_values_at(args, arrays, "vmap")
        spec = in_axes
        if isinstance(spec, list):
            spec = tuple(spec)
        if isinstance(spec, tuple) and len(spec) != len(args):
            raise ValueError(f"vmap: in_axes has {len(spec)} entries but the function was "
                             f"called with {len(args)} positional arguments")
        leaves, in_tree = tree_flatten(args)
        dims = _broadcast_prefix(spec if isinstance(spec, tuple) else (spec,) * len(args),
                                 args, "in_axes")
        for leaf, d in zip(leaves, dims, strict=True):
            if d is None:
                continue
            nd = get_aval(leaf).ndim
            if not -nd <= d < nd:
                raise ShapeError(
                    f"vmap: in_axes={d} is out of range for an argument of shape "
                    f"{get_aval(leaf).shape} (rank {nd}); the batch axis must exist")
        store: dict[str, Any] = {}

        def flat(ins: list[Any]) -> list[Any]:
            out = fun(*tree_unflatten(in_tree, ins))
            out_leaves, store["tree"] = tree_flatten(out)
            store["out"] = out
            check_array_outputs(out_leaves, "vmap", "outputs")
            return out_leaves

        def out_dims() -> list[int | None]:
            return _broadcast_prefix(out_axes, store["out"], "out_axes")

        chunks = chunked_axis(leaves, dims) if backend.any_foreign(leaves) else None
        outs = chunk_vmap(flat, leaves, dims, out_dims, chunks) if chunks else None
        if outs is None:  # a chunked Dask axis maps chunk by chunk (vmap_dask.py), else this
            outs = vmap_flat(flat, leaves, dims, out_dims, axis_size)
        return tree_unflatten(store["tree"], [_own(o) for o in outs])

    vmapped.__name__ = f"vmap({getattr(fun, '__name__', 'f')})"
    return vmapped


def _own(x: Any) -> Any:
    """Results are ordinary writable arrays (broadcast views are materialized)."""
    if isinstance(x, np.ndarray) and not x.flags.writeable:
        return np.array(x)
    return x


def _check_positive_chunk(chunk_size: int | None, fname: str) -> None:
    if chunk_size is not None and (not isinstance(chunk_size, (int, np.integer))
                                   or isinstance(chunk_size, bool) or chunk_size <= 0):
        raise ValueError(f"{fname}: chunk_size must be a positive int (the number of basis "
                         f"vectors per sweep) or None, got {chunk_size!r}")



# --- Jacobians ------------------------------------------------------------------------------

LAYOUTS = ("numerator", "denominator", "gradient")
MODES = ("auto", "forward", "reverse", "structured")
_MODE_ALIASES = {"fwd": "forward", "rev": "reverse", "jacfwd": "forward", "jacrev": "reverse"}


def _check_options(fname: str, layout: str, mode: str, chunk_size: Any,
                   memory_budget: Any) -> str:
    if layout not in LAYOUTS:
        raise ValueError(f"{fname}: layout={layout!r} is not one of {', '.join(LAYOUTS)} "
                         "(numerator: out.shape + in.shape; denominator: in.shape + "
                         "out.shape; gradient: in.shape, scalar outputs only)")
    mode = _MODE_ALIASES.get(mode, mode)
    if mode not in MODES:
        raise ValueError(f"{fname}: mode={mode!r} is not one of {', '.join(MODES)}")
    _check_positive_chunk(chunk_size, fname)
    if memory_budget is not None and (not isinstance(memory_budget, (int, np.integer))
                                      or memory_budget <= 0):
        raise ValueError(f"{fname}: memory_budget must be a positive number of bytes or None, "
                         f"got {memory_budget!r}")
    return mode


_linearize_for = linearize_for  # the name tests and older callers use


def _apply_layout(block: Any, out_nd: int, in_nd: int, layout: str) -> Any:
    if layout == "denominator" and out_nd and in_nd:
        perm = tuple(range(out_nd, out_nd + in_nd)) + tuple(range(out_nd))
        if backend.is_foreign(block):
            return backend.namespace(block).permute_dims(block, perm)
        return np.transpose(block, perm) if isinstance(block, np.ndarray) else \
            _tnp_transpose(block, perm)
    return block


def _assemble(blocks: list[list[Any]], lin: Linearized, dyn_tree: Any, out_tree: Any,
              argnums: Any, layout: str, fname: str) -> Any:
    if layout == "gradient":
        bad = [a.shape for a in lin.out_avals if a.shape != ()]
        if bad:
            raise NonScalarOutputError(
                f"{fname}: layout='gradient' needs a scalar output, but the function returned "
                f"shape {bad[0]}; use layout='numerator' (out.shape + in.shape) or "
                "'denominator' (in.shape + out.shape)")
    rows = []
    for j, row in enumerate(blocks):
        out_nd = len(lin.out_avals[j].shape)
        laid = [_apply_layout(_own(b), out_nd, len(lin.in_avals[i].shape), layout)
                for i, b in enumerate(row)]
        per_arg = tree_unflatten(dyn_tree, laid)
        rows.append(per_arg[0] if isinstance(argnums, int) else per_arg)
    return tree_unflatten(out_tree, rows)


def _jacobian_impl(fun: Callable[..., Any], argnums: Any, mode: str, layout: str,
                   chunk_size: int | None, has_aux: bool, memory_budget: int | None,
                   fname: str, sparse: Any = False, format: str = "csr",
                   holomorphic: bool = False) -> Callable[..., Any]:
    mode = _check_options(fname, layout, mode, chunk_size, memory_budget)
    if sparse:
        return _sparse_impl(SparseJacobianPlan, fun, argnums, layout, has_aux, memory_budget,
                            fname, sparse, format)

    recyclers = Recyclers()  # the memory of its dense products, between calls

    def jacobian_f(*args: Any) -> Any:
        return retry_with_strong_zeros(lambda: jacobian_once(*args))

    def jacobian_once(*args: Any) -> Any:
        lin, dyn_tree, out_tree, aux = _linearize_for(fun, args, argnums, has_aux, fname,
                                                      holomorphic, mode)
        how = mode
        if any(a.dtype.kind == "c" for a in lin.in_avals + lin.out_avals) and mode in (
                "auto", "structured"):
            # Sweeps only: the structured local Jacobians are real-matrix machinery, and a
            # non-holomorphic map (conj, Re) is no complex matrix at all.
            how = "reverse" if not holomorphic or sum(lin.out_sizes) <= sum(lin.in_sizes) \
                else "forward"
        _check_dense_size(lin, memory_budget, fname)
        leaves = tree_flatten(args)[0]
        if backend.any_foreign(leaves):  # computed on the inputs' library and device
            blocks = foreign_blocks(lin, leaves, how)
        else:
            recycler = recyclers.take()
            blocks = compute_blocks(lin, how, chunk_size, memory_budget, recycler.empty)
            recyclers.give(recycler)
        jac = _assemble(blocks, lin, dyn_tree, out_tree, argnums, layout, fname)
        return (jac, aux) if has_aux else jac

    jacobian_f.__name__ = f"{fname}({getattr(fun, '__name__', 'f')})"
    return jacobian_f


def _sparse_impl(plan_cls: type, fun: Callable[..., Any], argnums: Any, layout: str,
                 has_aux: bool, memory_budget: int | None, fname: str, sparse: Any,
                 format: str) -> Any:
    """``sparse=True``: a plan that detects and colours at its first call and re-uses that
    while the program keeps its equations (so a Newton loop pays detection once)."""
    if sparse not in (True, "scipy", "dense"):
        raise ValueError(f"{fname}: sparse={sparse!r} must be False, True / 'scipy' (a "
                         "scipy.sparse matrix) or 'dense' (an array found by colouring)")
    if layout != "numerator":
        raise ValueError(f"{fname}: sparse=True gives the flattened M x N matrix in numerator "
                         f"layout; layout={layout!r} is not supported with it (transpose the "
                         "result: .T)")
    return plan_cls(fun, argnums, has_aux, "dense" if sparse == "dense" else format,
                    memory_budget, fname)


def _check_dense_size(lin: Linearized, memory_budget: int | None, fname: str) -> None:
    """Refuse a dense Jacobian larger than the memory budget before computing any of it: the
    sweeps are chunked to the budget, but the assembled result is not, and filling gigabytes
    of mostly zeros would end in a MemoryError (or swapping) after the whole computation."""
    budget = DEFAULT_MEMORY_BUDGET if memory_budget is None else int(memory_budget)
    m, n = sum(lin.out_sizes), sum(lin.in_sizes)
    itemsize = max((np.dtype(a.dtype).itemsize for a in lin.out_avals), default=8)
    nbytes = m * n * itemsize
    if nbytes > budget:
        raise MemoryError(
            f"{fname}: the dense Jacobian is {m} × {n} ({nbytes / 2**20:.1f} MiB), more than "
            f"memory_budget={budget} bytes ({budget / 2**20:.1f} MiB). Use sparse=True for a "
            "scipy.sparse matrix when most entries are zero, a Jacobian-vector product "
            "(tc.jvp / tc.vjp) if you only need its action, or raise memory_budget.")


def jacobian(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, mode: str = "auto",
             layout: str = "numerator", chunk_size: int | None = None, has_aux: bool = False,
             memory_budget: int | None = None, sparse: bool | str = False,
             format: str = "csr", holomorphic: bool = False) -> Callable[..., Any]:
    """Return a function computing the Jacobian of ``fun`` w.r.t. ``args[argnums]``.

    Layout ``"numerator"`` (default): each block has shape ``out.shape + in.shape``;
    ``"denominator"``: ``in.shape + out.shape``; ``"gradient"``: ``in.shape`` (scalar outputs).
    Pytrees nest like JAX: the output's structure outside, the arguments' structure inside
    (a tuple of blocks when ``argnums`` is a tuple).

    ``mode``: ``"forward"`` (batched jvp over the input basis), ``"reverse"`` (batched
    transposed sweeps over the output basis), ``"structured"`` (multiply the structured local
    Jacobians of the linearized program in the cheapest order), or ``"auto"`` (the cheapest of
    these by the cost model; see :func:`jacobian_plan`). ``chunk_size`` bounds the basis vectors
    per sweep (peak memory ∝ chunk_size); without it sweeps are chunked to fit
    ``memory_budget`` bytes (1 GiB by default).

    ``sparse=True`` detects the structural sparsity pattern from the program (O(nnz), the ops'
    sparsity rules), colours it (column, row or bidirectional) and makes one sweep per colour;
    the result is the flattened ``M × N`` Jacobian (all output leaves by all input leaves,
    numerator layout) as a ``scipy.sparse`` matrix in ``format`` (``"csr"``, ``"csc"``,
    ``"coo"``, ``"dense"``, ``"pydata"``), every structural nonzero kept. The returned function
    is a :class:`~tensorcalc.sparse_plans.SparseJacobianPlan`: later calls reuse the pattern and
    colouring. Without SciPy it raises ImportError (never a silent dense result).

    ``holomorphic=True``: complex inputs and outputs, the complex Jacobian ``f′(z)``. Without it
    complex inputs are allowed in reverse mode for real outputs (rows ``∂fᵢ/∂x − i ∂fᵢ/∂y``).
    """
    return _jacobian_impl(fun, argnums, mode, layout, chunk_size, has_aux, memory_budget,
                          "jacobian", sparse, format, holomorphic)


def jacfwd(fun: Callable[..., Any], argnums: int | Sequence[int] = 0,
           layout: str = "numerator", chunk_size: int | None = None, has_aux: bool = False,
           memory_budget: int | None = None, holomorphic: bool = False) -> Callable[..., Any]:
    """Forward-mode Jacobian (one batched sweep per chunk of input basis vectors); the layout,
    pytree and ``holomorphic`` conventions are those of :func:`jacobian`."""
    return _jacobian_impl(fun, argnums, "forward", layout, chunk_size, has_aux, memory_budget,
                          "jacfwd", holomorphic=holomorphic)


def jacrev(fun: Callable[..., Any], argnums: int | Sequence[int] = 0,
           layout: str = "numerator", chunk_size: int | None = None, has_aux: bool = False,
           memory_budget: int | None = None, holomorphic: bool = False) -> Callable[..., Any]:
    """Reverse-mode Jacobian (one batched transposed sweep per chunk of output basis vectors,
    the primal evaluated once); the layout and pytree conventions are those of :func:`jacobian`.
    """
    return _jacobian_impl(fun, argnums, "reverse", layout, chunk_size, has_aux, memory_budget,
                          "jacrev", holomorphic=holomorphic)


def hessian(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, mode: str = "auto",
            chunk_size: int | None = None, has_aux: bool = False, sparse: bool | str = False,
            format: str = "csr", memory_budget: int | None = None,
            holomorphic: bool = False, coloring: str | None = None) -> Callable[..., Any]:
    """Hessian of a scalar function: the Jacobian of its gradient, shape ``in.shape + in.shape``
    (symmetric, so numerator and denominator layouts agree). The gradient's linearization is
    planned like any linear program: for ``xᵀAx`` it is assembled as ``A + Aᵀ`` directly.
    ``holomorphic=True``: ``f″(z)`` of a complex-analytic ``f`` of complex inputs.

    ``sparse=True``: the ``N × N`` Hessian over all differentiated entries as a ``format``
    scipy matrix — pattern of the linearized gradient, star colouring, one Hessian-vector
    product (forward over reverse) per colour, symmetric recovery
    (:class:`~tensorcalc.sparse_plans.SparseHessianPlan`). ``coloring`` (sparse only):
    ``"star"`` (the default; direct recovery), ``"acyclic"`` (fewer products, recovery by
    substitution, eager only) or ``"auto"``."""
    if coloring is not None and not sparse:
        raise ValueError(f"hessian: coloring={coloring!r} chooses the colouring of a sparse "
                         "Hessian; pass sparse=True with it, or drop coloring=")
    if sparse:
        if holomorphic:
            raise ValueError("hessian: sparse=True is for real Hessians; drop holomorphic=True "
                             "or sparse=True")
        plan = _sparse_impl(SparseHessianPlan, fun, argnums, "numerator", has_aux,
                            memory_budget, "hessian", sparse, format)
        if coloring is not None:
            if coloring not in HESSIAN_METHODS:
                raise ValueError(f"hessian: coloring={coloring!r} must be one of "
                                 f"{HESSIAN_METHODS} (star: direct recovery; acyclic: fewer "
                                 "colours, recovery by substitution)")
            plan.coloring_method = coloring
        return plan
    grad_fun = grad(fun, argnums, has_aux=has_aux, holomorphic=holomorphic)
    inner = jacobian(grad_fun, argnums, mode=mode, chunk_size=chunk_size, has_aux=has_aux,
                     holomorphic=holomorphic)

    def hessian_f(*args: Any) -> Any:
        if not holomorphic:
            nums = normalize_argnums(argnums, len(args), "hessian")
            leaves = tree_flatten(tuple(as_value(args[i]) for i in nums))[0]
            if any(get_aval(x).dtype.kind == "c" for x in leaves):
                raise DifferentiationTypeError(
                    "hessian: an argument has a complex dtype; the Hessian of a real "
                    "function of complex inputs is not a complex matrix. Pass "
                    "holomorphic=True for a complex-analytic function, or take the Hessian "
                    "in the real and imaginary parts (hessian of f(x + 1j*y) in (x, y)).")
        return inner(*args)

    hessian_f.__name__ = f"hessian({getattr(fun, '__name__', 'f')})"
    return hessian_f


def hvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """Hessian-vector product ``∇²f(x) · v`` of scalar ``fun`` by forward-over-reverse
    (``jvp`` of ``grad``): one gradient's cost, no Hessian formed. ``primals`` and
    ``tangents`` are tuples like those of :func:`tensorcalc.jvp`; the result is shaped like
    ``primals`` (a tuple, one entry per argument)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("hvp(f, primals, tangents): primals and tangents must be tuples, "
                        "e.g. tc.hvp(f, (x,), (v,))")
    nums = tuple(range(len(primals)))
    return jvp(grad(fun, argnums=nums), tuple(primals), tuple(tangents))[1]


def jacobian_plan(fun: Callable[..., Any], *args: Any, argnums: int | Sequence[int] = 0
                  ) -> JacobianPlan:
    """What ``jacobian(fun, mode="auto")(*args)`` will do and why: ``print(plan)`` lists each
    step's local Jacobian (shape and structure), the multiplication counts of forward and
    reverse sweeps and of forward / reverse / Markowitz / exact (or chain-DP) elimination, and
    the choice; ``plan.cost("forward" | "reverse" | "optimal")`` returns the counts."""
    lin = _linearize_for(fun, args, argnums, False, "jacobian_plan")[0]
    return make_plan(lin)
