"""``odeint``'s forward solve and adjoint as one ``while_loop`` each, over all output times.

:mod:`tensorcalc.scipy.integrate` runs one loop per interval of ``t``, with the work between
intervals (dense output, restarting the adjoint, a vector-Jacobian product to start each
interval) as straight-line code around them. When the loops are compiled to Numba functions
(:mod:`tensorcalc.lax.while_numba`), a step costs about a microsecond and that code between
loops, a few hundred NumPy calls, dominates; so when the loops will be compiled, these
versions move it into the loops. Each iteration either takes a step or handles an output time:

* forward: at ``t ≥ tⱼ`` the iteration records ``y(tⱼ)`` (the dense output of the last accepted
  step) in row ``j`` of the result and moves to ``j + 1``; otherwise it steps;
* adjoint (backwards, in ``τ = −t``): at ``τ ≥ −tⱼ₋₁`` the iteration restarts the state at
  ``tⱼ₋₁`` — ``y`` from the forward solution, ``ȳ ← ȳ(tⱼ₋₁) + gⱼ₋₁``, ``t̄₀ ← t̄₀ − t̄ⱼ₋₁`` — and
  the step's last stage (first-same-as-last) is evaluated at the restart point, so the restart
  costs no extra evaluation of the right-hand side.

A value indexed by the traced ``j`` is a one-hot sum ``Σᵢ [i = j] aᵢ`` (what the scalarized loops
compile). The arithmetic of each step is the same as the per-interval loops'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import numpy as tnp
from ..core.primitive import get_aval
from ..lax import while_loop

__all__ = ["adjoint_all", "solve_all"]


def _pick(arr: Any, j: Any) -> Any:
    """``arr[j]`` along the first axis for a traced integer ``j``."""
    shape = tuple(get_aval(arr).shape)
    hot = tnp.reshape(tnp.equal(np.arange(shape[0]), j), (shape[0],) + (1,) * (len(shape) - 1))
    return tnp.sum(tnp.where(hot, arr, 0.0), axis=0)


def solve_all(fn: Callable, y0: Any, f0: Any, dt: Any, ts: Any, rtol: float, atol: float,
              mxstep: int, step: Callable, interpolate: Callable) -> Any:
    """``y`` at every time of ``ts`` (an ``(m, n)`` array) and the last step size, one loop."""
    m = get_aval(ts).shape[0]
    n = get_aval(y0).shape[0]
    t0 = ts[0]
    zeros = tnp.zeros((5, n), dtype=get_aval(y0).dtype)
    buf = tnp.zeros((m, n), dtype=get_aval(y0).dtype) + y0
    rows = np.arange(m).reshape(m, 1)

    def cond(s: Any) -> Any:
        i, dt, j = s[0], s[4], s[7]
        return tnp.logical_and(tnp.logical_and(j < m, i < mxstep), dt > 0)

    def body(s: Any) -> Any:
        j, buf = s[7], s[8]
        target = _pick(ts, j)
        record = s[3] >= target
        stepped, _ = step(fn, tuple(s[:7]), rtol, atol)
        kept = tuple(tnp.where(record, old, new) for old, new in zip(s[:7], stepped,
                                                                      strict=True))
        y_t = interpolate(s[3], s[5], s[6], target)
        buf = tnp.where(tnp.logical_and(record, tnp.equal(rows, j)), y_t, buf)
        return kept + (j + tnp.where(record, 1, 0), buf)

    out = while_loop(cond, body, (0, y0, f0, t0, dt, t0, zeros + y0, 1, buf))
    return out[8], out[4]


def adjoint_all(aug: Callable, ys: Any, g: Any, ts: Any, t_bars: Any, seed: Any, dt: Any,
                n: int, rtol: float, atol: float, mxstep: int, step: Callable,
                interpolate: Callable) -> Any:
    """The adjoint state at ``t[0]`` after integrating back over every interval, one loop.
    ``t_bars[i]`` is the jump of ``t̄₀`` entering interval ``i`` (0 for ``i = 0``). The loop
    starts at ``t[-1]`` in the state ``seed`` (``ȳ``, ``t̄₀``, ``θ̄`` zero), one interval past
    the last, so that its first iteration is a restart into the initial adjoint state: the
    right-hand side there comes from that iteration's last stage, not from code before the
    loop."""
    m = get_aval(ts).shape[0]
    tau0 = -ts[m - 1]
    zeros = tnp.zeros((5,) + tuple(get_aval(seed).shape), dtype=get_aval(seed).dtype)

    def cond(s: Any) -> Any:
        i, dt, j = s[0], s[4], s[7]
        return tnp.logical_and(tnp.logical_and(j >= 1, i < mxstep), dt > 0)

    def body(s: Any) -> Any:
        j = s[7]
        target = -_pick(ts, j - 1)
        restart = s[3] >= target
        end = interpolate(s[3], s[5], s[6], target)
        fresh = tnp.concatenate([_pick(ys, j - 1), end[n:2 * n] + _pick(g, j - 1),
                                 end[2 * n:2 * n + 1] - tnp.reshape(_pick(t_bars, j - 1), (1,)),
                                 end[2 * n + 1:]])
        stepped, f_last = step(aug, tuple(s[:7]), rtol, atol, (restart, fresh, target))
        i, y, f, t, dt, last_t, coeff = stepped
        return (tnp.where(restart, s[0], i), tnp.where(restart, fresh, y),
                tnp.where(restart, f_last, f), tnp.where(restart, target, t),
                tnp.where(restart, s[4], dt), tnp.where(restart, target, last_t),
                tnp.where(restart, zeros + fresh, coeff), j - tnp.where(restart, 1, 0))

    # j = m: the pick of row j - 1 is the last output time, where the restart puts ȳ = g[-1].
    out = while_loop(cond, body, (0, seed, seed, tau0, dt, tau0, zeros + seed, m))
    return out[1]
