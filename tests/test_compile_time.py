"""Compile time grows linearly with program size.

A complexity test, not a timing test: ``jit(grad)`` of a chain ten times longer must take far
less than a hundred times as long to compile. A quadratic pass (a scan over the remaining
program per equation, a collector walking every object made so far) drives the ratio towards
100 (the count-by-scan in the buffer planner gave 33 to 40 at these sizes); linear passes give
≈ 10. The bound 25 leaves room for a loaded machine.
"""

from __future__ import annotations

import time

import numpy as np

import tensorcalc as tc
import tensorcalc.numpy as tnp


def _chain(rounds: int):
    def f(x):
        for _ in range(rounds):
            x = tnp.tanh(tnp.sin(x) * 0.9 + 0.1)
        return tnp.sum(x)
    return f


def _compile_seconds(rounds: int) -> tuple[float, int]:
    x = np.linspace(-1.0, 1.0, 8)
    best = float("inf")
    size = 0
    for _ in range(2):
        g = tc.jit(tc.grad(_chain(rounds)))
        t0 = time.perf_counter()
        g.compile(x)
        best = min(best, time.perf_counter() - t0)
        size = len(g.program(x).equations)
    return best, size


def test_jit_compile_time_is_linear_in_program_size():
    _compile_seconds(10)  # warm imports and caches
    small, n_small = _compile_seconds(200)
    large, n_large = _compile_seconds(2000)
    assert n_large >= 9 * n_small >= 17000  # ~2·10³ and ~2·10⁴ equations
    assert large / small < 25, (f"compiling {n_large} equations took {large:.2f} s, "
                                f"{n_small} took {small:.3f} s: ratio {large / small:.0f}")


def test_compiled_long_chain_matches_eager():
    x = np.linspace(-1.0, 1.0, 8)
    f = _chain(2000)
    np.testing.assert_allclose(tc.jit(tc.grad(f))(x), tc.grad(f)(x), rtol=1e-13)
