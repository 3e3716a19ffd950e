"""Benchmark of the implicit solves (issue 12). Run: ``python bench/implicit.py [--quick]``.

1. ``odeint`` gradient of Lotka–Volterra (4 parameters, 6 output times, rtol = atol = 1e-8)
   under ``jit``: tensorcalc (adjoint method) against ``jax.experimental.ode.odeint`` (when JAX
   imports; otherwise its line says the peer is missing). Target: within 2× of JAX.
2. ``cg`` gradient of a 50×50 SPD solve with respect to the matrix, under ``jit``.

Medians after a warm-up call (which compiles); ratios > 1 mean the peer is slower.
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

try:
    import tensorcalc as tc
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    import tensorcalc as tc

import tensorcalc.numpy as tnp  # noqa: E402
from tensorcalc.scipy.integrate import odeint  # noqa: E402
from tensorcalc.scipy.sparse.linalg import cg  # noqa: E402


def _median(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


TS = np.linspace(0.0, 5.0, 6)
Y0 = np.array([2.0, 1.0])
P = (1.0, 0.4, 0.8, 0.3)


def _lv(xnp):
    def lv(y, t, a, b, c, d):
        return xnp.stack([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])
    return lv


def bench_odeint(repeat: int) -> None:
    lv = _lv(tnp)
    loss = tc.jit(tc.grad(lambda *p: tnp.sum(odeint(lv, Y0, TS, *p, rtol=1e-8, atol=1e-8)
                                             ** 2), argnums=(0, 1, 2, 3)))
    t_tc = _median(lambda: loss(*P), repeat)
    print(f"odeint grad (Lotka–Volterra, 4 params), jit: tensorcalc {t_tc * 1e3:.1f} ms")
    try:
        import jax
        import jax.numpy as jnp
        from jax.experimental.ode import odeint as jodeint
    except Exception as e:  # noqa: BLE001 (any failure to import the peer skips it)
        print(f"  jax.experimental.ode: peer missing ({type(e).__name__}: {e}); skipped")
        return
    jax.config.update("jax_enable_x64", True)
    jlv = _lv(jnp)
    jloss = jax.jit(jax.grad(lambda *p: jnp.sum(jodeint(jlv, jnp.asarray(Y0), jnp.asarray(TS),
                                                        *p, rtol=1e-8, atol=1e-8) ** 2),
                             argnums=(0, 1, 2, 3)))
    jp = tuple(jnp.asarray(p) for p in P)

    def run_jax():
        jax.block_until_ready(jloss(*jp))

    t_jax = _median(run_jax, repeat)
    g_tc = np.array([float(v) for v in loss(*P)])
    g_jax = np.array([float(v) for v in jloss(*jp)])
    print(f"  jax {t_jax * 1e3:.1f} ms; tensorcalc / jax = {t_tc / t_jax:.2f} "
          f"(target ≤ 2); max |grad difference| = {np.abs(g_tc - g_jax).max():.1e}")


def bench_cg(repeat: int) -> None:
    rng = np.random.default_rng(0)
    m = rng.standard_normal((50, 50))
    a = m @ m.T / 50 + np.eye(50)
    b = rng.standard_normal(50)
    g = tc.jit(tc.grad(lambda a: tnp.sum(cg(a, b, tol=1e-10)[0] ** 2)))
    print(f"cg grad w.r.t. A (50×50 SPD), jit: tensorcalc {_median(lambda: g(a), repeat) * 1e3:.1f}"
          " ms")


if __name__ == "__main__":
    reps = 3 if "--quick" in sys.argv else 10
    bench_odeint(reps)
    bench_cg(reps)
