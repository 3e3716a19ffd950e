"""Griewank–Walther binomial checkpointing ("revolve"): the optimal schedule for reversing a
chain of ``T`` steps with ``s`` snapshot slots.

Model. The state entering step 0 is always available (it is the loop's input); ``s`` more
states ("snapshots") may be held at once. Reversing step ``t`` ("youturn") evaluates it once
more while recording its linearization and pulls the cotangent back through it, so every
reversal costs one step evaluation; getting to the state entering step ``t`` costs one
evaluation per step advanced from the nearest held state.

Optimal cost (Griewank 1992; Griewank & Walther, ACM TOMS 26, 2000). With ``S = s + 1``
states held (the input counts) and ``β(S, r) = C(S + r, S)``, the least number of *advances*
needed to reverse ``l`` steps is ``t(l, S) = r·l − β(S + 1, r − 1)`` for the ``r`` with
``β(S, r − 1) < l ≤ β(S, r)``: ``r`` is the number of times the worst step is evaluated beyond
the first, the recompute factor. So ``s`` snapshots reverse up to ``T = C(s + 1 + r, r)``
steps with every step evaluated at most ``r + 1`` times (plus its youturn): memory ``O(s)``
states against time ``O(r·T)``; ``s ≈ (r!·T)^(1/r)``, and with ``s ≈ log T`` also ``r ≈ log T``.
The total of step evaluations, youturns included, is :func:`optimal_evaluations`
``= l + t(l, S)``.

Schedule. Reverse ``[lo, hi)`` holding the state at ``lo`` and ``free`` spare slots: a single
step is a youturn; with no spare slot every step is reached again from ``lo``; otherwise
advance ``m`` steps, snapshot the state at ``lo + m``, reverse ``[lo + m, hi)`` with
``free − 1`` slots, drop the snapshot, and reverse ``[lo, lo + m)`` with ``free`` slots. The
cost ``m + F(l − m, free − 1) + F(m, free)`` is convex in ``m``, so the best ``m`` is found by
bisection on its forward difference with the closed form above: ``O(log l)`` per split, and
the schedule is generated iteratively (an explicit stack, no recursion).
"""

from __future__ import annotations

from collections.abc import Iterator
from math import comb

#: Actions: ("advance", frm, to) — evaluate steps frm … to−1 from the current state at frm;
#: ("snapshot", pos) — keep the current state (at pos); ("restore", pos) — the current state
#: becomes the kept state at pos; ("youturn", t) — reverse step t from the current state at t;
#: ("drop", pos) — release the snapshot at pos.
Action = tuple


def _advances(length: int, held: int) -> int:
    """``t(l, S)``: least number of advances to reverse ``length`` steps holding ``held``
    states (the input included)."""
    if length <= 1:
        return 0
    if held <= 1:
        return length * (length - 1) // 2
    r = 0
    while comb(held + r, held) < length:
        r += 1
    return r * length - comb(held + r, held + 1)


def optimal_evaluations(length: int, snapshots: int) -> int:
    """Least number of step evaluations (youturns included) to reverse ``length`` steps with
    ``snapshots`` slots besides the input."""
    return length + _advances(length, snapshots + 1)


def recompute_factor(length: int, snapshots: int) -> int:
    """The ``r`` of the module docstring: the most evaluations of one step beyond its first."""
    held, r = snapshots + 1, 0
    while comb(held + r, held) < length:
        r += 1
    return r


def snapshots_for(length: int, recompute: int) -> int:
    """The fewest snapshots that reverse ``length`` steps at recompute factor ``recompute``."""
    s = 0
    while recompute_factor(length, s) > recompute:
        s += 1
    return s


def _split(length: int, free: int) -> int:
    """The best number of steps to advance before the next snapshot."""

    def cost(m: int) -> int:
        return m + optimal_evaluations(length - m, free - 1) + optimal_evaluations(m, free)

    lo, hi = 1, length - 1  # smallest m whose forward difference is ≥ 0
    while lo < hi:
        mid = (lo + hi) // 2
        if cost(mid + 1) - cost(mid) >= 0:
            hi = mid
        else:
            lo = mid + 1
    return lo


def schedule(length: int, snapshots: int) -> Iterator[Action]:
    """The actions reversing ``length`` steps with ``snapshots`` spare slots (module doc)."""
    stack: list[tuple] = [("reverse", 0, length, snapshots)]
    while stack:
        task = stack.pop()
        if task[0] == "drop":
            yield task
            continue
        _, lo, hi, free = task
        if hi - lo == 1:
            yield ("restore", lo)
            yield ("youturn", lo)
        elif free == 0:
            for t in range(hi - 1, lo - 1, -1):
                yield ("restore", lo)
                if t > lo:
                    yield ("advance", lo, t)
                yield ("youturn", t)
        else:
            m = _split(hi - lo, free)
            yield ("restore", lo)
            yield ("advance", lo, lo + m)
            yield ("snapshot", lo + m)
            stack.append(("reverse", lo, lo + m, free))
            stack.append(("drop", lo + m))
            stack.append(("reverse", lo + m, hi, free - 1))


def first_sweep(length: int, snapshots: int) -> list[int]:
    """The positions snapshotted before the first youturn: the schedule opens with one forward
    sweep from 0 to ``length − 1``, so the loop's own forward pass can take these snapshots."""
    taken = []
    for action in schedule(length, snapshots):
        if action[0] == "youturn":
            break
        if action[0] == "snapshot":
            taken.append(action[1])
    return taken
