"""Control flow: ``jit(grad)`` of a scan RNN against ``jax.jit(jax.grad)`` of the same
``lax.scan``, and the ``jit(grad)`` of an ``odeint`` solve against ``jax.experimental.ode``, in
one run.

    python -m bench.control_flow [--steps 1000] [--hidden 64] [--repeat 7] [--only rnn|odeint]

The RNN is ``h_t = tanh(W h_{t-1} + U x_t)`` with a squared-norm loss on the last state,
hidden size 64, inputs of size 16, float64 on both sides (JAX with x64 enabled, one thread; one
OpenBLAS thread for NumPy). Reported: time per step of the compiled gradient after compilation
(median of ``repeat`` calls), the ratio to JAX (target ≤ 1.5), and the compile time (first call
minus one run) at two trip counts (``steps`` and ten times as many), which must not grow with
the number of steps (the loop is one equation).

The ODE is Lotka–Volterra with 4 parameters, 6 output times on [0, 5], rtol = atol = 1e-8, the
loss the sum of squares of the solution; the gradient with respect to the 4 parameters under
``jit``, with the Numba loops (``loop_compiler("numba")``) and without (``"numpy"``), against
``jax.jit(jax.grad)`` of ``jax.experimental.ode.odeint`` (target ≤ 2×). Both ratios are
medians of calls timed alternately with JAX's, so that both see the same load.
"""

from __future__ import annotations

import argparse
import os
import time

# One BLAS thread, as JAX gets one below: on a shared machine a multi-threaded OpenBLAS waits for
# a descheduled thread inside every matrix product. Set before NumPy loads OpenBLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Compile times are measured cold: no loops from an earlier run's disk cache.
os.environ.setdefault("TENSORCALC_NUMBA_CACHE", "0")

import numpy as np  # noqa: E402

from . import suite  # noqa: F401  (first: it puts the checkout's src/ on the path)

# isort: split
import tensorcalc as tc  # noqa: E402
import tensorcalc.lax as lax  # noqa: E402
import tensorcalc.numpy as tnp  # noqa: E402


def _median(fn, repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def _first_call(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def make_loss(np_mod, scan):
    def loss(W, U, xs, h0):
        def step(h, x):
            h = np_mod.tanh(W @ h + U @ x)
            return h, None

        h, _ = scan(step, h0, xs)
        return np_mod.sum(h * h)

    return loss


def problem(steps: int, hidden: int, rng: np.random.Generator):
    W = rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)
    U = rng.standard_normal((hidden, 16)) / 4.0
    xs = rng.standard_normal((steps, 16))
    h0 = np.zeros(hidden)
    return W, U, xs, h0


def run_tensorcalc(steps: int, hidden: int, repeat: int) -> dict:
    from tensorcalc.lax import scan_numba

    scan_numba.clear_cache()  # each size pays its own compile
    args = problem(steps, hidden, np.random.default_rng(0))
    g = tc.jit(tc.grad(make_loss(tnp, lax.scan), argnums=(0, 1)))
    first = _first_call(lambda: g(*args))
    g(*args)  # warm caches and BLAS before timing, as for the peers
    per_call = _median(lambda: g(*args), repeat)
    # The first call traces, optimizes, compiles and runs once: compile = first - one run.
    return {"compile_s": max(first - per_call, 0.0), "per_step_us": 1e6 * per_call / steps,
            "grad": g(*args), "source_lines": len(g.source().splitlines()),
            "call": lambda: g(*args)}


def numba_startup() -> float | None:
    """Seconds to import Numba and compile trivial functions, one with a BLAS matrix-vector
    product: paid once per process, before any loop (Numba initializes its NumPy and BLAS
    support on first use), so it is kept out of the compile times below."""
    from tensorcalc.lax import scan_numba

    if not scan_numba.numba_available():
        return None
    t0 = time.perf_counter()
    import numba

    numba.njit("float64(float64)")(lambda v: v + 1.0)
    numba.njit("float64[::1](float64[:, ::1], float64[::1])")(lambda a, v: np.dot(a, v))
    return time.perf_counter() - t0


def run_numpy(steps: int, hidden: int, repeat: int) -> float:
    """The same gradient by hand in NumPy (forward loop, then backprop through time): the floor
    for code that calls NumPy once per operation, as tensorcalc's compiled loops do."""
    W, U, xs, h0 = problem(steps, hidden, np.random.default_rng(0))

    def grad():
        hs, h = [h0], h0
        for x in xs:
            h = np.tanh(W @ h + U @ x)
            hs.append(h)
        dh, dW, dU = 2 * h, np.zeros_like(W), np.zeros_like(U)
        for t in range(len(xs) - 1, -1, -1):
            d = dh * (1 - hs[t + 1] ** 2)
            dW += np.outer(d, hs[t])
            dU += np.outer(d, xs[t])
            dh = W.T @ d
        return dW, dU

    return 1e6 * _median(grad, repeat) / steps


def run_jax(steps: int, hidden: int, repeat: int) -> dict | None:
    try:
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                           "intra_op_parallelism_threads=1")
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
    except ImportError:
        return None
    args = problem(steps, hidden, np.random.default_rng(0))
    g = jax.jit(jax.grad(make_loss(jnp, jax.lax.scan), argnums=(0, 1)))

    def call():
        return jax.block_until_ready(g(*args))

    first = _first_call(call)
    call()
    per_call = _median(call, repeat)
    return {"compile_s": max(first - per_call, 0.0), "per_step_us": 1e6 * per_call / steps,
            "grad": call(), "call": call}


TS = np.linspace(0.0, 5.0, 6)
Y0 = np.array([2.0, 1.0])
LV_PARAMS = (1.0, 0.4, 0.8, 0.3)


def _lotka_volterra(np_mod):
    def lv(y, t, a, b, c, d):
        return np_mod.stack([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])
    return lv


def _alternated(ours, theirs, repeat: int) -> tuple[float, float, float]:
    """Medians of ``ours``, of ``theirs`` and of their ratio, timed call by call in turn."""
    a, b, r = [], [], []
    for _ in range(repeat):
        t_ours, t_theirs = _median(ours, 1), _median(theirs, 1)
        a.append(t_ours)
        b.append(t_theirs)
        r.append(t_ours / t_theirs)
    return float(np.median(a)), float(np.median(b)), float(np.median(r))


def run_odeint(repeat: int) -> None:
    from tensorcalc.lax import scan_numba
    from tensorcalc.scipy.integrate import odeint

    print(f"odeint gradient, Lotka–Volterra (4 params, 6 times, rtol = atol = 1e-8); load "
          f"average {os.getloadavg()[0]:.2f}")
    lv = _lotka_volterra(tnp)

    def loss(*p):
        return tnp.sum(odeint(lv, Y0, TS, *p, rtol=1e-8, atol=1e-8) ** 2)

    ours = {}
    before = scan_numba.loop_compiler()
    for mode in ("numba", "numpy"):
        if mode == "numba" and not scan_numba.numba_available():
            print("  Numba loops: numba not installed (pip install numba); skipped")
            continue
        scan_numba.loop_compiler(mode)
        g = tc.jit(tc.grad(loss, argnums=(0, 1, 2, 3)))
        first = _first_call(lambda g=g: g(*LV_PARAMS))
        g(*LV_PARAMS)
        ours[mode] = (g, first)
    scan_numba.loop_compiler(before)
    peer = None
    try:
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                           "intra_op_parallelism_threads=1")
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        from jax.experimental.ode import odeint as jodeint

        jlv = _lotka_volterra(jnp)
        jg = jax.jit(jax.grad(lambda *p: jnp.sum(jodeint(jlv, jnp.asarray(Y0), jnp.asarray(TS),
                                                         *p, rtol=1e-8, atol=1e-8) ** 2),
                              argnums=(0, 1, 2, 3)))
        jp = tuple(jnp.asarray(p) for p in LV_PARAMS)

        def peer():
            return jax.block_until_ready(jg(*jp))

        jax_first = _first_call(peer)
        peer()
    except ImportError:
        print("  jax.jit(jax.grad) of jax.experimental.ode.odeint: not installed; ratios not "
              "measured")
    for mode, (g, first) in ours.items():
        label = "Numba loops" if mode == "numba" else "NumPy loops"
        if peer is None:
            t = _median(lambda g=g: g(*LV_PARAMS), repeat)
            print(f"  tensorcalc jit(grad), {label}: {1e3 * t:9.3f} ms   first call {first:.1f} s")
            continue
        t, t_jax, ratio = _alternated(lambda g=g: g(*LV_PARAMS), peer, repeat)
        err = max(abs(float(a) - float(b)) for a, b in zip(g(*LV_PARAMS), peer(), strict=True))
        print(f"  tensorcalc jit(grad), {label}: {1e3 * t:9.3f} ms   first call {first:.1f} s; "
              f"JAX {1e3 * t_jax:.3f} ms (first call {jax_first:.1f} s); ratio {ratio:.1f} "
              f"(target <= 2: {'met' if ratio <= 2 else 'NOT met'}); max |grad difference| "
              f"{err:.1e}")


def _versions() -> list[str]:
    import importlib.metadata as md

    out = []
    for name in ("numpy", "numba", "jax", "jaxlib"):
        try:
            out.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            out.append(f"{name} not installed")
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--only", choices=("rnn", "odeint"), default=None)
    a = p.parse_args(argv)
    print("versions: " + ", ".join(_versions()))
    startup = numba_startup()
    if startup is not None:
        print(f"Numba start-up (import, first compiles with BLAS, once per process): "
              f"{startup:.1f} s")
    if a.only != "rnn":
        run_odeint(a.repeat)
    if a.only == "odeint":
        return
    print(f"scan RNN, hidden {a.hidden}, {a.steps} steps, float64; load average "
          f"{os.getloadavg()[0]:.2f}")
    ours = run_tensorcalc(a.steps, a.hidden, a.repeat)
    long_steps = 10 * a.steps
    longer = run_tensorcalc(long_steps, a.hidden, 3)
    same = ("same" if ours["source_lines"] == longer["source_lines"] else "DIFFERENT")
    print(f"  tensorcalc jit(grad)     {ours['per_step_us']:8.2f} us/step   compile "
          f"{1e3 * ours['compile_s']:7.1f} ms ({a.steps} steps), "
          f"{1e3 * longer['compile_s']:7.1f} ms ({long_steps} steps); generated source "
          f"{ours['source_lines']} lines at {a.steps} steps, {same} at {long_steps}")
    print(f"  hand-written NumPy BPTT  {run_numpy(a.steps, a.hidden, a.repeat):8.2f} us/step")
    peer = run_jax(a.steps, a.hidden, a.repeat)
    if peer is None:
        print("  jax.jit(jax.grad)        not installed (pip install jax): ratio not measured")
        return
    err = max(float(np.max(np.abs(np.asarray(o) - np.asarray(j))))
              for o, j in zip(ours["grad"], peer["grad"], strict=True))
    ratio = ours["per_step_us"] / peer["per_step_us"]
    print(f"  jax.jit(jax.grad)        {peer['per_step_us']:8.2f} us/step   compile "
          f"{1e3 * peer['compile_s']:7.1f} ms")
    print(f"  ratio tensorcalc / JAX   {ratio:8.2f}   (target <= 1.5: "
          f"{'met' if ratio <= 1.5 else 'NOT met'}); max |grad difference| {err:.1e}")
    # On a shared machine the load changes between the two timing windows above; timing the
    # two alternately, call by call, lets both see the same load.
    pairs = []
    for _ in range(a.repeat):
        t_ours = _median(ours["call"], 1)
        t_jax = _median(peer["call"], 1)
        pairs.append(t_ours / t_jax)
    inter = float(np.median(pairs))
    print(f"  ratio, calls alternated  {inter:8.2f}   (median of {a.repeat} pairs; target <= 1.5: "
          f"{'met' if inter <= 1.5 else 'NOT met'})")


if __name__ == "__main__":
    main()
