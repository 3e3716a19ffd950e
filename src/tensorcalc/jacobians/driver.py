"""Choosing and running a Jacobian strategy for a linearized function.

``compute_blocks`` returns numerator-layout blocks ``∂yⱼ/∂xᵢ`` (shape ``yⱼ.shape + xᵢ.shape``)
by one of: forward sweeps (``N`` basis tangents), reverse sweeps (``M`` basis cotangents), or
structured accumulation (multiplying the local Jacobians of the linear program in the order the
planner picked). ``mode="auto"`` asks :func:`~tensorcalc.jacobians.plan.make_plan` which is
cheapest in multiplications. Inside another transformation (``jit(hessian(f))``) the
elimination runs on traced values when the program's kinds allow it
(:mod:`~tensorcalc.jacobians.traced`), else one batched sweep. ``empty`` is where the
structured elimination's new dense values take their memory (the calling Jacobian function's
recycler, :mod:`tensorcalc.accumulate.recycle`).
"""

from __future__ import annotations

from typing import Any

from .plan import make_plan
from .skeleton import elimination_for
from .structured import structured_jacobian
from .sweeps import Linearized, choose_chunk, forward_jacobian, is_nested, reverse_jacobian
from .traced import traced_jacobian


def compute_blocks(lin: Linearized, mode: str, chunk_size: int | None,
                   memory_budget: int | None, empty: Any = None) -> list[list[Any]]:
    if mode in ("auto", "structured"):
        if any(eq.primitive.transpose_only for eq in lin.program.equations):
            # A custom_vjp rule can only be pulled back: no structure to read, no forward.
            mode = "reverse"
        elif any(v.aval.dtype.kind == "c" for eq in lin.program.equations
                 for v in eq.outputs):
            # Complex intermediates: Re, Im and conj are ℝ-linear, not complex matrices, so
            # the structured product of local Jacobians would be wrong; sweeps are exact.
            n, m = sum(lin.in_sizes), sum(lin.out_sizes)
            mode = "forward" if n <= m else "reverse"
        elif is_nested(lin):
            # Constants that are values of an outer transformation have no numbers to
            # multiply as arrays: eliminate with traced operations when the kinds allow it
            # and that is cheaper, else sweep (forward when N <= M) with traced operations.
            blocks = traced_jacobian(lin)
            if blocks is not None:
                return blocks
            n, m = sum(lin.in_sizes), sum(lin.out_sizes)
            mode = "forward" if n <= m else "reverse"
        else:
            elimination = elimination_for(lin)  # the skeleton of an earlier call's shape
            if elimination is not None:
                return structured_jacobian(lin, elimination, empty)
            plan = make_plan(lin)
            if plan.graph is not None:
                return structured_jacobian(lin, plan, empty)
            mode = plan.choice
    if mode == "forward":
        chunk = choose_chunk(sum(lin.in_sizes), lin.program, chunk_size, memory_budget)
        return forward_jacobian(lin, chunk)
    chunk = choose_chunk(sum(lin.out_sizes), lin.program, chunk_size, memory_budget)
    return reverse_jacobian(lin, chunk)
