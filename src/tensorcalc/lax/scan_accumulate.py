"""Sums of outer products taken out of a loop: ``Σₜ aₜ bₜᵀ = Aᵀ B`` as one matrix product.

The transpose of a scan accumulates the cotangent of each loop constant in a carry,
``W̄ ← W̄ + eₜ``. For a weight used in a product inside the body (``W h``, ``h Wᵀ``) the term is
an outer product, ``eₜ = d̄ₜ hₜᵀ`` (or ``Hₜᵀ D̄ₜ`` for a batch), so every reverse step builds and
adds a whole ``n × m`` matrix from two vectors: for a 64-unit RNN that is most of the step's
arithmetic and memory traffic. The sum over steps is a single contraction of the stacked
factors,

    Σₜ aₜ ⊗ bₜ = Aᵀ B,    A = [a₀ … a_{T−1}] (T × n),  B = [b₀ … b_{T−1}] (T × m),
    Σₜ Pₜ Qₜ   = P̃ Q̃,    P̃ = [P₀ … P_{T−1}] (n × T·k),  Q̃ = [Q₀; …; Q_{T−1}] (T·k × m),

one BLAS call after the loop, exactly the same sum in another order of additions. So
:func:`hoist_accumulations` rewrites the transposed body: an accumulator carry whose update is
``acc + mul(reshape(a, (n, 1)), b)`` (``b`` of shape ``(m,)`` or ``(1, m)``) or
``acc + matmul(p, q)`` (2-D ``p``, ``q``), and that nothing else reads, passes through
unchanged; the factors become extra ``ys`` of the loop (a factor that is already an ``x`` of
the loop — a stored residual — is read from that array, not stored again); and
:func:`finish_accumulations` adds the contraction to the loop's result. Memory: one ``T × n``
array per stored factor, the size of the residuals the forward loop already keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..compile.passes import dead_code_elimination
from ..core.ir import Program, Var
from ..ops.elementwise import add, add_p, mul_p
from ..ops.products import matmul, matmul_p
from ..ops.structural import reshape, reshape_p, transpose


@dataclass
class Hoisted:
    """Accumulator carry ``carry`` gets ``Σₜ`` of ``kind`` (``"outer"`` or ``"matmul"``) of
    the stacked factors, each ``("x", j)`` (the loop's ``j``-th xs) or ``("y", j)`` (its
    ``j``-th ys, after the rewrite)."""

    carry: int
    kind: str
    left: tuple[str, int]
    right: tuple[str, int]


def _uses(body: Program) -> dict[int, int]:
    count: dict[int, int] = {}
    for eq in body.equations:
        for a in eq.inputs:
            if isinstance(a, Var):
                count[id(a)] = count.get(id(a), 0) + 1
    for a in body.outputs:
        if isinstance(a, Var):
            count[id(a)] = count.get(id(a), 0) + 1
    return count


def _factors(eq: Any, made: dict[int, Any]) -> tuple[str, Var, Var] | None:
    """``(kind, left, right)`` when ``eq``'s output is an outer product or a 2-D matmul of two
    variables, else None."""
    if eq.primitive is matmul_p:
        p, q = eq.inputs
        if isinstance(p, Var) and isinstance(q, Var) and p.aval.ndim == 2 and q.aval.ndim == 2:
            return "matmul", p, q
        return None
    if eq.primitive is not mul_p or eq.outputs[0].aval.ndim != 2:
        return None
    p, q = eq.inputs
    if not (isinstance(p, Var) and isinstance(q, Var)):
        return None
    n, m = eq.outputs[0].aval.shape
    if tuple(p.aval.shape) != (n, 1) or tuple(q.aval.shape) not in ((m,), (1, m)):
        return None
    # The column is usually reshape(a, (n, 1)) of a vector: store the vector.
    src = made.get(id(p))
    if src is not None and src.primitive is reshape_p and isinstance(src.inputs[0], Var) \
            and tuple(src.inputs[0].aval.shape) == (n,):
        p = src.inputs[0]
    return "outer", p, q


def hoist_accumulations(body: Program, num_consts: int, num_acc: int,
                        num_carry: int) -> tuple[Program, list[Hoisted], int]:
    """Rewrite the first ``num_acc`` carries of ``body`` (inputs: consts, carries, xs) as
    described in the module docstring; returns the new body, what to add after the loop and
    the number of ys appended (the stored factors)."""
    nk, nc = num_consts, num_carry
    made = {id(v): eq for eq in body.equations for v in eq.outputs}
    uses = _uses(body)
    x_index = {id(v): j for j, v in enumerate(body.inputs[nk + nc:])}
    per_step = set(x_index) | {id(v) for eq in body.equations for v in eq.outputs} \
        | {id(v) for v in body.inputs[nk:nk + nc]}
    outputs = list(body.outputs)
    extra: list[Var] = []
    plans: list[Hoisted] = []
    n_ys = len(body.outputs) - nc

    def source(v: Var) -> tuple[str, int]:
        if id(v) in x_index:
            return ("x", x_index[id(v)])
        for j, e in enumerate(extra):
            if e is v:
                return ("y", n_ys + j)
        extra.append(v)
        return ("y", n_ys + len(extra) - 1)

    for i in range(num_acc):
        acc_in, acc_out = body.inputs[nk + i], body.outputs[i]
        eq = made.get(id(acc_out)) if isinstance(acc_out, Var) else None
        if eq is None or eq.primitive is not add_p or uses.get(id(acc_in)) != 1:
            continue
        a, b = eq.inputs
        term = b if a is acc_in else a if b is acc_in else None
        if not isinstance(term, Var) or uses.get(id(term)) != 1 or id(term) not in made:
            continue
        found = _factors(made[id(term)], made)
        if found is None or not all(id(v) in per_step for v in found[1:]):
            continue
        kind, left, right = found
        plans.append(Hoisted(i, kind, source(left), source(right)))
        outputs[i] = acc_in
    if not plans:
        return body, [], 0
    new = dead_code_elimination(Program(body.inputs, body.equations, outputs + extra))
    return new, plans, len(extra)


def finish_accumulations(carry: list[Any], plans: list[Hoisted], xs: list[Any],
                         ys: list[Any]) -> list[Any]:
    """``carry`` with each hoisted sum added (``xs``/``ys``: the loop's stacked arrays)."""
    out = list(carry)
    for h in plans:
        left = (xs if h.left[0] == "x" else ys)[h.left[1]]
        right = (xs if h.right[0] == "x" else ys)[h.right[1]]
        shape = tuple(getattr(left, "shape", ()))
        t = shape[0]
        if h.kind == "outer":
            lhs = transpose(reshape(left, (t, -1)), (1, 0))         # n × T
            rhs = reshape(right, (t, -1))                           # T × m
        else:
            k = shape[2]
            lhs = reshape(transpose(left, (1, 0, 2)), (shape[1], t * k))  # n × T·k
            rhs = reshape(right, (t * k, -1))                             # T·k × m
        out[h.carry] = add(out[h.carry], matmul(lhs, rhs))
    return out
