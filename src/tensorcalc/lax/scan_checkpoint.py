"""Checkpointed scans: ``lax.scan(…, checkpoint=…)`` for long loops under reverse mode.

A plain scan differentiated in reverse mode keeps the residuals of every step: memory grows
like ``T`` (steps) × (residuals per step). The schedules here trade recomputation for memory:

- ``"steps"``: each step is a :func:`~tensorcalc.checkpointing.checkpoint` block; only the carry
  entering each step is stored (``T`` carries), and each step's residuals are recomputed when
  its backward step runs. Recompute: one extra forward of the loop.
- ``d`` levels (an int ``d ≥ 2``; ``"sqrt"`` is ``d = 2``): the ``T`` steps are cut into
  segments of ``b^(d−1)`` steps with ``b = ⌈T^(1/d)⌉``, each segment a checkpointed scan of
  ``b`` segments of the level below, down to plain scans of ``b`` steps. The forward pass
  stores one carry per top segment; the backward pass of a segment recomputes the carries of
  its sub-segments, and so on. Memory: about ``d·b`` carries plus one innermost segment's
  residuals (``b`` steps), i.e. ``O(d·T^(1/d))``; ``"sqrt"`` stores ``O(√T)``. Recompute:
  ``d − 1`` extra forward evaluations of the loop.
- ``"log"``: ``d = ⌈log₈ T⌉`` levels, ``b ≤ 8``: ``O(log T)`` snapshots at an ``O(log T)``
  recompute factor, with the nested-segment schedule above.
- ``"revolve"`` / ``("revolve", s)``: the optimal Griewank–Walther binomial schedule
  (:mod:`tensorcalc.lax.revolve`): ``s`` snapshots reverse ``T = C(s + 1 + r, r)`` steps with
  every step evaluated at most ``r + 1`` times besides its reversal; ``"revolve"`` takes the
  fewest snapshots with ``r = 2`` (``s ≈ √(2T)``).

The schedule is built when the loop is staged: ``d`` nested levels (no recursion at run time);
the tail ``T mod b^(k)`` of each level runs at the level below.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ..core.primitive import get_aval
from ..core.tree import tree_flatten, tree_unflatten


def _levels(n: int, checkpoint: Any) -> int:
    if checkpoint == "sqrt":
        return 2
    if checkpoint == "log":
        return max(2, math.ceil(math.log(max(n, 2)) / math.log(8)))
    if isinstance(checkpoint, int) and not isinstance(checkpoint, bool) and checkpoint >= 1:
        return checkpoint
    raise ValueError(f"scan: checkpoint must be None, 'steps', 'sqrt', 'log', 'revolve', "
                     f"('revolve', snapshots) or a number of levels ≥ 1; got {checkpoint!r}")


def checkpointed_scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs_leaves: list[Any],
                      x_tree: Any, n: int, reverse: bool, checkpoint: Any) -> tuple[Any, Any]:
    """The loop of :func:`~tensorcalc.lax.scan.scan` under a checkpointing schedule."""
    import tensorcalc.numpy as tnp

    from ..checkpointing import checkpoint as remat
    from .scan import scan

    def step(c: Any, x_leaves: list[Any]) -> tuple[Any, Any]:
        return f(c, tree_unflatten(x_tree, x_leaves))

    if checkpoint == "steps":
        return scan(remat(step), init, xs_leaves, length=n, reverse=reverse)
    if checkpoint == "revolve" or (isinstance(checkpoint, tuple) and len(checkpoint) == 2
                                   and checkpoint[0] == "revolve"):
        from .revolve import revolve_scan

        snaps = None if checkpoint == "revolve" else checkpoint[1]
        return revolve_scan(f, init, xs_leaves, x_tree, n, reverse, snaps)
    d = _levels(n, checkpoint)
    b = max(2, math.ceil(round(n ** (1.0 / d), 9)))
    if reverse:
        xs_leaves = [x[::-1] for x in xs_leaves]
    # bodies[k] runs b**k steps on xs of leading shape (b,)*k; bodies[0] is one step.
    bodies: list[Callable[[Any, list[Any]], tuple[Any, Any]]] = [step]
    for k in range(1, d):
        inner = bodies[k - 1] if k == 1 else remat(bodies[k - 1])
        bodies.append(_segment(scan, inner, b))
    carry, pos, y_parts = init, 0, []
    for k in range(d - 1, -1, -1):
        m = b ** k
        q = (n - pos) // m
        if q == 0:
            continue
        seg = [tnp.reshape(x[pos:pos + q * m], (q,) + (b,) * k + tuple(get_aval(x).shape[1:]))
               for x in xs_leaves]
        body = bodies[k] if k == 0 else remat(bodies[k])
        carry, ys = scan(body, carry, seg, length=q)
        y_leaves, y_tree = tree_flatten(ys)
        y_parts.append([tnp.reshape(y, (q * m,) + tuple(get_aval(y).shape[k + 1:]))
                        for y in y_leaves])
        pos += q * m
    ys_leaves = [y[0] if len(y) == 1 else tnp.concatenate(list(y), axis=0)
                 for y in zip(*y_parts, strict=True)]
    if reverse:
        ys_leaves = [y[::-1] for y in ys_leaves]
    return carry, tree_unflatten(y_tree, ys_leaves)


def _segment(scan: Callable[..., Any], inner: Callable[[Any, list[Any]], tuple[Any, Any]],
             b: int) -> Callable[[Any, list[Any]], tuple[Any, Any]]:
    """``b`` runs of ``inner`` as one scan (its ``ys`` keep their per-level axes)."""

    def segment(c: Any, x_leaves: list[Any]) -> tuple[Any, Any]:
        return scan(inner, c, list(x_leaves), length=b)

    return segment
