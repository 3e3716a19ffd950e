"""The cost of a Jacobian chain depends on the order of the products
(docs/lessons/accumulation.md).

For ``x → z₁ → … → ℓ`` with widths ``d₀, …, d_q`` the Jacobian is ``J_q ··· J₁`` with ``J_i`` of
shape ``d_i × d_{i−1}``. Multiplying ``m×n`` by ``n×p`` costs ``m·n·p`` multiplications, so

* forward (tangent) accumulation, ``J_q(…(J₂J₁))``, costs ``Σ_{i≥2} d_i·d_{i−1}·d₀``;
* reverse (adjoint) accumulation, ``((J_qJ_{q−1})…)J₁``, costs ``Σ_{i<q} d_q·d_i·d_{i−1}``;
* the cheapest bracketing is the matrix-chain dynamic program.

The lesson's network ``10 → 6 → 8 → 2 → 1`` costs 660 forward and 124 reverse, and 124 is the
optimum: with a scalar loss (``d_q = 1 ≤ d₀``) reverse mode is the right order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

import numpy as np

import tensorcalc as tc
import tensorcalc.numpy as tnp

from ..accumulate import ChainCost, chain_cost, multiply_bracketing
from ._common import header, max_err

TITLE = "Forward versus reverse accumulation, and what each costs"

SEED_DIMS = (10, 6, 8, 2, 1)


def forward_terms(dims: Sequence[int]) -> list[str]:
    """The products ``d₀·d_{i−1}·d_i`` (i ≥ 2) that forward accumulation pays."""
    return [f"{dims[0]}*{dims[i - 1]}*{dims[i]}" for i in range(2, len(dims))]


def reverse_terms(dims: Sequence[int]) -> list[str]:
    """The products ``d_q·d_i·d_{i−1}`` (i < q) that reverse accumulation pays."""
    q = len(dims) - 1
    return [f"{dims[q]}*{dims[i]}*{dims[i - 1]}" for i in range(q - 1, 0, -1)]


def write_chain_table(out: TextIO, cost: ChainCost) -> None:
    """The forward / reverse / optimal table with bracketings and the cost terms."""
    dims = cost.dims
    q = len(dims) - 1
    shapes = ", ".join(f"J{i}: {dims[i]}x{dims[i - 1]}" for i in range(1, q + 1))
    out.write(f"  chain  {' -> '.join(str(d) for d in dims)}   ({shapes})\n")
    width = max(len(f"{c:,}") for c in (cost.forward, cost.reverse, cost.optimal))
    brackets = [str(b) for b in (cost.forward_bracketing, cost.reverse_bracketing,
                                 cost.bracketing)]
    bw = max(len(b) for b in brackets)
    terms = [" + ".join(forward_terms(dims)), " + ".join(reverse_terms(dims)), ""]
    for name, c, b, t in zip(("forward", "reverse", "optimal"),
                             (cost.forward, cost.reverse, cost.optimal), brackets, terms,
                             strict=True):
        tail = f"   = {t}" if t and q <= 8 else ""
        out.write(f"  {name:<8} {c:>{width},}  {b:<{bw}}{tail}\n".rstrip() + "\n")
    worst = max(cost.forward, cost.reverse)
    if cost.optimal:
        out.write(f"  best order: {cost.best_mode}; it needs {worst / cost.optimal:.1f}x fewer "
                  f"multiplications than the worse mode ({worst:,}).\n")


def _check_bracketings(cost: ChainCost, rng: np.random.Generator) -> float:
    """All three orders multiply to the same matrix (only the cost differs)."""
    dims = cost.dims
    mats = [rng.standard_normal((dims[i], dims[i - 1])) for i in range(1, len(dims))]
    ref = multiply_bracketing(mats, cost.forward_bracketing)
    return max(max_err(multiply_bracketing(mats, b), ref)
               for b in (cost.reverse_bracketing, cost.bracketing))


def _network_check(rng: np.random.Generator) -> float:
    """dℓ/dx of a real 10→6→8→2→1 network: reverse mode (grad) equals forward mode (jvp)."""
    Ws = [rng.standard_normal((SEED_DIMS[i], SEED_DIMS[i - 1])) / 3 for i in range(1, 5)]

    def loss(x):
        z = x
        for W in Ws[:-1]:
            z = tnp.tanh(W @ z)
        return tnp.sum(Ws[-1] @ z)

    x = rng.standard_normal(SEED_DIMS[0])
    rev = np.asarray(tc.grad(loss)(x))
    fwd = np.array([tc.jvp(loss, (x,), (e,))[1] for e in np.eye(x.size)])
    return max_err(rev, fwd)


def run(out: TextIO, seed: int = 0) -> bool:
    header(out, TITLE)
    out.write("  x(10) -> z1(6) -> z2(8) -> y(2) -> loss(1); dloss/dx^T = J4 J3 J2 J1\n")
    cost = chain_cost(list(SEED_DIMS))
    write_chain_table(out, cost)
    rng = np.random.default_rng(seed)
    same = _check_bracketings(cost, rng)
    out.write(f"  the three orders give the same 1x10 Jacobian (max difference {same:.1e})\n")
    net = _network_check(rng)
    out.write("  a tanh network of these widths: tc.grad (reverse) equals the 10 forward-mode\n"
              f"  jvp columns up to {net:.1e}\n")
    out.write("  rule: a scalar loss (output width 1 <= input width) makes reverse mode cheapest;\n"
              "  many outputs and few inputs favour forward mode.\n")
    return (cost.forward, cost.reverse, cost.optimal) == (660, 124, 124) and same < 1e-9 \
        and net < 1e-9
