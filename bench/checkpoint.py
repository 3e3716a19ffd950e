"""Checkpointed scans: memory and time of reverse mode through a long loop.

Gradient with respect to the weights of a tanh RNN, ``h ← tanh(W h + U x_t)`` with hidden size
64 over 10,000 steps, loss ``sum(h_T)``, with a plain ``lax.scan`` and with the checkpointing
schedules of ``lax.scan(…, checkpoint=…)``. Peak memory is :mod:`tracemalloc`'s high-water mark
of one gradient call (NumPy reports its buffers to it); time is the median of timed calls
without tracing. Target: with revolve checkpointing, ≤ 10% of the plain peak at ≤ 3× its time.

``python -m bench.checkpoint [--steps N] [--schedules None,sqrt,revolve]``
"""

from __future__ import annotations

import gc
import os
import sys
import tracemalloc
from typing import Any

import numpy as np

try:
    import tensorcalc as tc
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    import tensorcalc as tc
import tensorcalc.lax as lax
import tensorcalc.numpy as tnp

from ._common import measure

HIDDEN = 64
SCHEDULES: list[Any] = [None, "steps", "sqrt", "log", "revolve"]


def make_grad(steps: int, schedule: Any) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    w = rng.standard_normal((HIDDEN, HIDDEN)) * (0.9 / np.sqrt(HIDDEN))
    u = rng.standard_normal((HIDDEN, HIDDEN)) * (0.5 / np.sqrt(HIDDEN))
    xs = rng.standard_normal((steps, HIDDEN))

    def loss(w: Any, u: Any) -> Any:
        h, _ = lax.scan(lambda h, x: (tnp.tanh(w @ h + u @ x), None), np.zeros(HIDDEN), xs,
                        checkpoint=schedule)
        return tnp.sum(h)

    return tc.grad(loss, (0, 1)), (w, u)


def peak_bytes(fn: Any, args: tuple[Any, ...]) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main(argv: list[str]) -> None:
    steps = 10_000
    if "--steps" in argv:
        steps = int(argv[argv.index("--steps") + 1])
    schedules = SCHEDULES
    if "--schedules" in argv:  # e.g. --schedules None,sqrt,revolve (None, the baseline, first)
        names = argv[argv.index("--schedules") + 1].split(",")
        schedules = [None if n == "None" else int(n) if n.isdigit() else n for n in names]
    print(f"reverse mode through a {steps}-step tanh RNN scan (hidden {HIDDEN})")
    print(f"{'schedule':>10} {'peak MiB':>10} {'time s':>9} {'memory':>8} {'time':>7}")
    base_mem = base_time = 0.0
    ref = None
    results = {}
    for schedule in schedules:
        fn, args = make_grad(steps, schedule)
        g = fn(*args)
        if ref is None:
            ref = g
        err = max(float(np.max(np.abs(a - b))) for a, b in zip(g, ref, strict=True))
        mem = peak_bytes(fn, args)
        t, _ = measure(lambda fn=fn, args=args: fn(*args), budget=3.0, min_repeat=3)
        if schedule is None:
            base_mem, base_time = mem, t
        results[schedule] = (mem / base_mem, t / base_time)
        print(f"{schedule!s:>10} {mem / 2**20:10.2f} {t:9.3f} {mem / base_mem:8.1%} "
              f"{t / base_time:6.2f}x   (max |Δgrad| {err:.1e})")
    m, r = results["revolve"]
    ok = m <= 0.10 and r <= 3.0
    print(f"target (revolve: memory ≤ 10% of plain at ≤ 3x time): "
          f"{'met' if ok else 'NOT met'} ({m:.1%}, {r:.2f}x)")


if __name__ == "__main__":
    main(sys.argv[1:])
