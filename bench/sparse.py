"""Sparse Jacobians and Hessians at scale, with peers in the same run.

    python -m bench.sparse [--sizes 100,300,1000] [--repeat 7] [--casadi-max 100000]

Problems: the 2-D nonlinear Poisson residual (5-point stencil written with ``tnp.pad`` and
slicing), a banded residual with long-range couplings (n = 10⁵), an arrowhead (n = 10⁴), sparse
Hessians of a grid energy and of the chained Rosenbrock function (n = 10⁵). For each:

* tensorcalc: *first call* (a fresh ``jacobian(f, sparse=True)``: linearize, detect, colour,
  sweep, recover; each phase's time is printed from ``plan.timings``) and *reuse* (a plan at
  a new point: the compiled sweeps and the gather), the colour/sweep count, whether the
  pattern equals the hand-derived one, and the peak memory of the first call (tracemalloc)
  against the CSR arrays;
* CasADi SX: graph construction (symbols, ``jacobian``/``hessian``, ``Function``) and
  evaluation reported separately; ``scipy.optimize._numdiff.approx_derivative`` with the pattern
  and its column groups given; the hand-assembled ``scipy.sparse`` matrix; ``jax.jacfwd``
  dense (jit) where the dense matrix fits in 1 GB, measured after all the other problems (its
  10⁸-entry result slowed the next first calls several-fold). ``sparsejac`` is not installed
  here, so it is skipped.

Figures are medians of ``--repeat`` runs after a warm-up; the machine is shared, so report the
load (printed at the end) with them.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

import numpy as np

from . import suite  # noqa: F401  first: it puts the checkout's src/ on the path

# isort: split
import scipy.sparse as sp  # noqa: E402
from scipy.optimize._numdiff import approx_derivative, group_columns  # noqa: E402

import tensorcalc as tc  # noqa: E402
import tensorcalc.numpy as tnp  # noqa: E402
from tensorcalc.accumulate import _kernels  # noqa: E402
from tensorcalc.sparse_plans import PHASES  # noqa: E402

try:
    import casadi as ca
except ImportError:  # pragma: no cover - an optional peer
    ca = None
try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
except ImportError:  # pragma: no cover - an optional peer
    jax = None


def median(fn, repeat, warmup=3):
    for _ in range(warmup):  # a plan compiles its sweeps on its second call
        fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def once(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def peak_bytes(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- problems: (tensorcalc function, NumPy function, CasADi builder, hand-assembled) ----------

def poisson(n):
    def f(u):
        U = u.reshape(n, n)
        P = tnp.pad(U, 1)
        lap = P[:-2, 1:-1] + P[2:, 1:-1] + P[1:-1, :-2] + P[1:-1, 2:] - 4.0 * U
        return (lap - 0.1 * tnp.exp(U)).reshape(-1)

    def f_np(u):
        U = u.reshape(n, n)
        P = np.pad(U, 1)
        return (P[:-2, 1:-1] + P[2:, 1:-1] + P[1:-1, :-2] + P[1:-1, 2:] - 4.0 * U
                - 0.1 * np.exp(U)).reshape(-1)

    idx = np.arange(n * n).reshape(n, n)
    rows = [idx, idx[1:], idx[:-1], idx[:, 1:], idx[:, :-1]]
    cols = [idx, idx[:-1], idx[1:], idx[:, :-1], idx[:, 1:]]
    r = np.concatenate([a.ravel() for a in rows])
    c = np.concatenate([a.ravel() for a in cols])
    pattern = sp.csr_matrix((np.ones(r.size, bool), (r, c)), shape=(n * n, n * n))
    ones = np.ones(r.size - n * n)

    def hand(u):
        diag = -4.0 - 0.1 * np.exp(u)
        return sp.csr_matrix((np.concatenate([diag, ones]), (r, c)), shape=(n * n, n * n))

    def casadi_build():
        u = ca.SX.sym("u", n * n)
        U = ca.reshape(u, n, n)
        z = ca.SX.zeros(1, n)
        zc = ca.SX.zeros(n + 2, 1)
        P = ca.horzcat(zc, ca.vertcat(z, U, z), zc)
        lap = (P[0:n, 1:n + 1] + P[2:n + 2, 1:n + 1] + P[1:n + 1, 0:n] + P[1:n + 1, 2:n + 2]
               - 4.0 * U - 0.1 * ca.exp(U))
        return ca.Function("J", [u], [ca.jacobian(ca.reshape(lap, n * n, 1), u)])

    return f, f_np, casadi_build, hand, pattern


def banded(n, far=1000):
    def f(x):
        return x ** 2 - tnp.roll(x, 1) * tnp.roll(x, -1) + 0.1 * tnp.sin(tnp.roll(x, far)) \
            + tnp.roll(x, -far)

    def f_np(x):
        return x ** 2 - np.roll(x, 1) * np.roll(x, -1) + 0.1 * np.sin(np.roll(x, far)) \
            + np.roll(x, -far)

    i = np.arange(n)
    r = np.concatenate([i] * 5)
    c = np.concatenate([i, (i - 1) % n, (i + 1) % n, (i - far) % n, (i + far) % n])
    pattern = sp.csr_matrix((np.ones(r.size, bool), (r, c)), shape=(n, n))

    def hand(x):
        vals = np.concatenate([2 * x, -np.roll(x, -1), -np.roll(x, 1),
                               0.1 * np.cos(np.roll(x, far)), np.ones(n)])
        return sp.csr_matrix((vals, (r, c)), shape=(n, n))

    def casadi_build():
        x = ca.SX.sym("x", n)

        def roll(v, k):
            k %= n
            return ca.vertcat(v[n - k:], v[:n - k]) if k else v

        out = x ** 2 - roll(x, 1) * roll(x, -1) + 0.1 * ca.sin(roll(x, far)) + roll(x, -far)
        return ca.Function("J", [x], [ca.jacobian(out, x)])

    return f, f_np, casadi_build, hand, pattern


def arrowhead(n):
    def f(x):
        return tnp.concatenate([tnp.sum(x ** 2)[None], x[1:] * x[0] + x[1:] ** 3])

    def f_np(x):
        return np.concatenate([np.sum(x ** 2, keepdims=True), x[1:] * x[0] + x[1:] ** 3])

    i = np.arange(1, n)
    r = np.concatenate([np.zeros(n, int), i, i])
    c = np.concatenate([np.arange(n), np.zeros(n - 1, int), i])
    pattern = sp.csr_matrix((np.ones(r.size, bool), (r, c)), shape=(n, n))

    def hand(x):
        vals = np.concatenate([2 * x, x[1:], x[0] + 3 * x[1:] ** 2])
        return sp.csr_matrix((vals, (r, c)), shape=(n, n))

    def casadi_build():
        x = ca.SX.sym("x", n)
        out = ca.vertcat(ca.sumsqr(x), x[1:] * x[0] + x[1:] ** 3)
        return ca.Function("J", [x], [ca.jacobian(out, x)])

    return f, f_np, casadi_build, hand, pattern


def grid_energy(n):
    def e(u):
        U = u.reshape(n, n)
        return tnp.sum((U[1:] - U[:-1]) ** 2) + tnp.sum((U[:, 1:] - U[:, :-1]) ** 2) \
            + tnp.sum(tnp.cosh(U))

    idx = np.arange(n * n).reshape(n, n)
    pairs = [(idx[1:], idx[:-1]), (idx[:, 1:], idx[:, :-1])]
    deg = np.zeros((n, n))
    deg[1:] += 1
    deg[:-1] += 1
    deg[:, 1:] += 1
    deg[:, :-1] += 1
    fwd = [a.ravel() for a, _ in pairs]
    bwd = [b.ravel() for _, b in pairs]
    r = np.concatenate([idx.ravel(), *fwd, *bwd])
    c = np.concatenate([idx.ravel(), *bwd, *fwd])
    pattern = sp.csr_matrix((np.ones(r.size, bool), (r, c)), shape=(n * n, n * n))
    off = -2.0 * np.ones(r.size - n * n)

    def hand(u):
        return sp.csr_matrix((np.concatenate([2 * deg.ravel() + np.cosh(u), off]), (r, c)),
                             shape=(n * n, n * n))

    def casadi_build():
        u = ca.SX.sym("u", n * n)
        U = ca.reshape(u, n, n)
        E = ca.sumsqr(U[1:, :] - U[:-1, :]) + ca.sumsqr(U[:, 1:] - U[:, :-1]) \
            + ca.sum1(ca.sum2(ca.cosh(U)))
        return ca.Function("H", [u], [ca.hessian(E, u)[0]])

    return e, None, casadi_build, hand, pattern


def rosenbrock(n):
    def e(x):
        return tnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)

    i = np.arange(n - 1)
    r = np.concatenate([np.arange(n), i, i + 1])
    c = np.concatenate([np.arange(n), i + 1, i])
    pattern = sp.csr_matrix((np.ones(r.size, bool), (r, c)), shape=(n, n))

    def hand(x):
        d = np.zeros(n)
        d[:-1] += 1200.0 * x[:-1] ** 2 - 400.0 * x[1:] + 2.0
        d[1:] += 200.0
        o = -400.0 * x[:-1]
        return sp.csr_matrix((np.concatenate([d, o, o]), (r, c)), shape=(n, n))

    def casadi_build():
        x = ca.SX.sym("x", n)
        E = ca.sum1(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
        return ca.Function("H", [x], [ca.hessian(E, x)[0]])

    return e, None, casadi_build, hand, pattern


# --- running one problem ---------------------------------------------------------------------

def run(name, problem, size, kind, args, rng):
    f, f_np, casadi_build, hand, pattern = problem
    x0 = rng.uniform(0.1, 0.9, size)
    x1 = rng.uniform(0.1, 0.9, size)
    make = tc.hessian if kind == "hessian" else tc.jacobian
    fresh = make(f, sparse=True)
    first, J = once(lambda: fresh(x0))
    phases = {k: fresh.timings[k] for k in PHASES if k in fresh.timings}
    plan = (tc.sparse_hessian_plan if kind == "hessian" else tc.sparse_jacobian_plan)(f, x0)
    reuse = median(lambda: plan(x1), args.repeat)
    exact = (J.nnz == pattern.nnz and (J.astype(bool) != pattern).nnz == 0)
    ref = hand(x0)
    err = float(abs(J - ref).max()) if J.nnz else 0.0
    csr = J.data.nbytes + J.indices.nbytes + J.indptr.nbytes
    peak = peak_bytes(lambda: make(f, sparse=True)(x0)) if size <= args.memory_max else None
    row = {"problem": name, "n": size, "nnz": J.nnz, "sweeps": plan.sweeps,
           "mode": plan.coloring.mode, "exact": exact, "err": err, "first": first,
           "reuse": reuse, "mem": None if peak is None else peak / csr, "phases": phases}
    row["hand"] = median(lambda: hand(x1), args.repeat)
    slow = name == "arrowhead" and not args.slow_peers  # CasADi builds for minutes, FD: n groups
    if f_np is not None and size <= args.numdiff_max and not slow:
        groups = group_columns(pattern)
        row["numdiff"] = median(lambda: approx_derivative(f_np, x1, sparsity=(pattern, groups)),
                                max(3, args.repeat // 2))
    if ca is not None and size <= args.casadi_max and not slow:
        build, F = once(casadi_build)
        row["casadi_build"] = build
        row["casadi_eval"] = median(lambda: F(x1), args.repeat)
    if jax is not None and kind == "jacobian" and size * size * 8 <= args.dense_max:
        # Measured after every tensorcalc problem: a dense Jacobian of 10⁸ entries leaves the
        # process's memory in a state that slows the next first calls several-fold.
        DEFERRED.append((name, lambda: _jax_dense(f_np, x1, args.repeat)))
    report(row)
    return row


#: Peer measurements run at the end of the script: (problem name, timing function).
DEFERRED = []


def _jax_dense(f_np, x, repeat):
    g = jax.jit(jax.jacfwd(_as_jax(f_np)))
    return median(lambda: g(x).block_until_ready(), 2, warmup=1)  # seconds per call


def _as_jax(f_np):
    """The same NumPy residual with ``np`` bound to ``jax.numpy``."""
    code = f_np.__code__
    glb = dict(f_np.__globals__)
    glb["np"] = jnp
    return type(f_np)(code, glb, f_np.__name__, f_np.__defaults__, f_np.__closure__)


def fmt(v, unit="ms"):
    if v is None:
        return "—"
    return f"{1e3 * v:.1f} ms" if unit == "ms" else f"{v:.3g} s"


def report(r):
    mem = "—" if r["mem"] is None else f"{r['mem']:.1f}x CSR"
    parts = [f"{r['problem']:<26} n={r['n']:<8} nnz={r['nnz']:<9} sweeps={r['sweeps']} "
             f"({r['mode']}) exact={r['exact']} err={r['err']:.1e}",
             f"    tensorcalc first call {fmt(r['first'], 's')}, reuse {fmt(r['reuse'])}, "
             f"peak mem {mem}",
             "      first call by phase: " + ", ".join(f"{k} {v:.3f} s"
                                                      for k, v in r["phases"].items()),
             f"    hand-assembled scipy {fmt(r['hand'])}"]
    if "numdiff" in r:
        parts.append(f"    scipy approx_derivative (pattern given) {fmt(r['numdiff'])}")
    if "casadi_eval" in r:
        parts.append(f"    CasADi SX build {fmt(r['casadi_build'], 's')}, eval "
                     f"{fmt(r['casadi_eval'])}; reuse / CasADi eval = "
                     f"{r['reuse'] / r['casadi_eval']:.2f}x")
    print("\n".join(parts), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,300,1000", help="Poisson grid sides")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--casadi-max", type=int, default=100_000, help="largest n for CasADi")
    ap.add_argument("--numdiff-max", type=int, default=100_000)
    ap.add_argument("--memory-max", type=int, default=100_000, help="largest n for tracemalloc")
    ap.add_argument("--dense-max", type=int, default=1 << 30, help="bytes of a dense Jacobian")
    ap.add_argument("--only", default="", help="comma-separated problem names")
    ap.add_argument("--slow-peers", action="store_true",
                    help="also run CasADi and approx_derivative on the arrowhead (minutes)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    t, _ = once(lambda: (tc.sparse_jacobian_plan(lambda x: x[1:] * x[:-1], np.ones(8)),
                         tc.sparse_hessian_plan(lambda x: tnp.sum(x[1:] * x[:-1]), np.ones(8))))
    t_numba, backend = once(_kernels.warm)
    print(f"warm-up: imports and tracing {t:.2f} s; numba import + cached colouring loops "
          f"{t_numba:.2f} s (backend: {backend}; paid once per process, not in the first-call "
          "figures below); sparsejac: not installed, skipped")
    sides = [int(s) for s in args.sizes.split(",") if s]
    todo = [(f"poisson {s}x{s}", poisson(s), s * s, "jacobian") for s in sides]
    todo += [("banded, long-range", banded(100_000), 100_000, "jacobian"),
             ("arrowhead", arrowhead(10_000), 10_000, "jacobian"),
             ("grid energy 100x100 (H)", grid_energy(100), 10_000, "hessian"),
             ("grid energy 300x300 (H)", grid_energy(300), 90_000, "hessian"),
             ("chained Rosenbrock (H)", rosenbrock(100_000), 100_000, "hessian")]
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    for name, problem, size, kind in todo:
        if only and not any(name.startswith(o) for o in only):
            continue
        run(name, problem, size, kind, args, rng)
    for name, timing in DEFERRED:
        print(f"{name:<26} jax.jit(jax.jacfwd) dense {fmt(timing())}", flush=True)
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
