"""Benchmark of tensorcalc.symbolic (issue 5). Run: ``python bench/symbolic.py [--quick]``.

1. Derive + simplify every Matrix Cookbook identity of the test oracle (cold caches each run):
   median milliseconds, target < 50 ms each.
1b. Derivatives of order 1-4 of the order/shape matrix expressions (issue 18): the whole nested
   chain, printed in its display form; target < 1 s each, the slowest reported.
2. Compiled closed-form Hessians against the hand-written NumPy closed form and against
   ``torch.func.hessian`` (when torch imports), all in the same process:
   * f = x'Ax at n = 2048: the symbolic Hessian is A + A' and never reads x;
   * logistic loss sum(log(exp(-y .* (X*w)) + vector(1))) with X of 2000×500:
     X' diag(y² σ(z)(1 − σ(z))) X, z = −y ⊙ Xw.
Ratios > 1 mean the peer is slower than tensorcalc. Thread counts are printed, not pinned.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time

import numpy as np

try:
    import tensorcalc.symbolic as ts
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    import tensorcalc.symbolic as ts

from tensorcalc.symbolic.cookbook import IDENTITIES, VECTORS  # noqa: E402

TARGET_MS = 50.0


def median_seconds(fn, repeat: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _clear_caches() -> None:
    from tensorcalc.symbolic import canonical

    for fn in (canonical.key, canonical.node_count, canonical.transposes):
        fn.cache_clear()


def bench_identities(repeat: int) -> list[tuple[int, str, float]]:
    rows = []
    for eq, text, wrt in IDENTITIES:
        def run(text=text, wrt=wrt):
            _clear_caches()
            return ts.derivative(text, wrt, shapes=VECTORS, steps=False)

        rows.append((eq, f"d/d{wrt} {text}", median_seconds(run, repeat)))
    return rows


def bench_quadratic_hessian(n: int, repeat: int) -> dict:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((n, n))
    x = rng.standard_normal(n)
    h = ts.hessian("x' * A * x", "x")
    f = h.compile(with_value=False)  # def df(A): ... return A + A.T
    out = {"symbolic": str(h), "tensorcalc": median_seconds(lambda: f(A=A), repeat),
           "numpy": median_seconds(lambda: A + A.T, repeat)}
    np.testing.assert_allclose(f(A=A), A + A.T)
    torch = _torch()
    if torch is not None:
        At, xt = torch.from_numpy(A), torch.from_numpy(x)
        hess = torch.func.hessian(lambda v: v @ At @ v)
        out["torch.func.hessian"] = median_seconds(lambda: hess(xt), max(2, repeat // 5))
        np.testing.assert_allclose(hess(xt).numpy(), A + A.T, rtol=1e-10, atol=1e-10)
    return out


#: The order/shape matrix of tests/symbolic/test_orders.py (issue 18): each is differentiated
#: again and again; the time of order k is the whole chain 1..k, cold caches.
ORDER_CASES = [
    ("(x'*x)^2", "x"), ("x*x'", "x"), ("tanh(A*x)", "x"), ("sum(exp(x))", "x"),
    ("x'*A*x", "x"), ("tr(X^3)", "X"), ("C*X*B", "X"), ("tanh(W*x)", "W"), ("inv(X)", "X"),
    ("logdet(X)", "X"), ("det(X)", "X"), ("exp(x'*A*x)", "x"), ("log(x'*A*x)", "x"),
    ("softmax(x)", "x"),
]
ORDER_TARGET_S = 1.0


def bench_orders(top: int, repeat: int) -> list[tuple[str, int, float]]:
    rows = []
    for text, wrt in ORDER_CASES:
        for k in range(1, top + 1):
            def run(text=text, wrt=wrt, k=k):
                _clear_caches()
                d = text
                for _ in range(k):
                    d = ts.derivative(d, wrt, steps=False)
                return str(d)  # the display form (index notation is chosen when shorter)

            cpu = []

            def timed(run=run, cpu=cpu):
                c0 = time.process_time()
                run()
                cpu.append(time.process_time() - c0)

            wall = median_seconds(timed, repeat, warmup=0)
            rows.append((f"d^{k}/d{wrt}^{k} {text}", k, wall, statistics.median(cpu)))
    return rows


LOGISTIC = "sum(log(exp(-y .* (X*w)) + vector(1)))"


def bench_logistic_hessian(m: int, n: int, repeat: int) -> dict:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((m, n)) / np.sqrt(n)
    y = rng.choice([-1.0, 1.0], m)
    w = rng.standard_normal(n)
    h = ts.hessian(LOGISTIC, "w")
    f = h.compile(with_value=False)

    def by_hand():
        z = -y * (X @ w)
        p = 1.0 / (1.0 + np.exp(-z))
        return X.T @ ((y * y * p * (1 - p))[:, None] * X)

    out = {"symbolic": str(h), "tensorcalc": median_seconds(lambda: f(X=X, w=w, y=y), repeat),
           "numpy": median_seconds(by_hand, repeat)}
    np.testing.assert_allclose(f(X=X, w=w, y=y), by_hand(), rtol=1e-9, atol=1e-12)
    torch = _torch()
    if torch is not None:
        Xt, yt, wt = (torch.from_numpy(a) for a in (X, y, w))

        def loss(v):
            return torch.sum(torch.log(torch.exp(-yt * (Xt @ v)) + 1.0))

        hess = torch.func.hessian(loss)
        out["torch.func.hessian"] = median_seconds(lambda: hess(wt), max(2, repeat // 5))
        np.testing.assert_allclose(hess(wt).numpy(), by_hand(), rtol=1e-8, atol=1e-10)
    return out


def _torch():
    try:
        import torch
    except Exception:
        return None
    return torch if hasattr(torch, "func") else None


def _report(title: str, res: dict) -> None:
    print(f"\n{title}\n  symbolic Hessian: {res['symbolic']}")
    ref = res["tensorcalc"]
    for name in ("tensorcalc", "numpy", "torch.func.hessian"):
        if name not in res:
            print(f"  {name:<22} (not installed)")
            continue
        t = res[name]
        print(f"  {name:<22} {t * 1e3:10.3f} ms   {t / ref:8.2f}x tensorcalc")


def main(argv: list[str]) -> None:
    quick = "--quick" in argv
    torch = _torch()
    print(f"tensorcalc.symbolic benchmark — {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, NumPy {np.__version__}"
          + (f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ""))
    rows = bench_identities(repeat=3 if quick else 9)
    print(f"\nDerive + simplify, Matrix Cookbook identities (median of {3 if quick else 9}, "
          f"cold caches), target < {TARGET_MS:.0f} ms:")
    for eq, name, t in rows:
        flag = "" if t * 1e3 < TARGET_MS else "   <-- over target"
        print(f"  ({eq:>3}) {name:<42} {t * 1e3:8.2f} ms{flag}")
    times = [t * 1e3 for *_, t in rows]
    print(f"  median {statistics.median(times):.2f} ms, max {max(times):.2f} ms, "
          f"{sum(t < TARGET_MS for t in times)}/{len(times)} under target")
    orders = bench_orders(top=4, repeat=1 if quick else 3)
    print(f"\nDerivatives of order 1-4 (whole chain, median of {1 if quick else 3}, cold caches), "
          f"target < {ORDER_TARGET_S:.0f} s:")
    print("  (wall time; CPU time of this process in brackets: on a shared machine the wall time"
          " includes waiting for a core)")
    for name, k, t, c in orders:
        if k == 4 or t >= ORDER_TARGET_S:
            flag = "" if t < ORDER_TARGET_S else "   <-- over target"
            print(f"  {name:<36} {t * 1e3:9.1f} ms  [{c * 1e3:7.1f} ms CPU]{flag}")
    worst = max(orders, key=lambda r: r[2])
    print(f"  slowest: {worst[0]} {worst[2] * 1e3:.1f} ms wall, {worst[3] * 1e3:.1f} ms CPU; "
          f"{sum(t < ORDER_TARGET_S for _, _, t, _ in orders)}/{len(orders)} under target "
          f"(wall), {sum(c < ORDER_TARGET_S for *_, c in orders)}/{len(orders)} (CPU)")
    n = 512 if quick else 2048
    _report(f"Hessian of x'Ax, n = {n} (compiled symbolic vs closed form vs torch.func)",
            bench_quadratic_hessian(n, repeat=5 if quick else 20))
    m, k = (400, 100) if quick else (2000, 500)
    _report(f"Hessian of the logistic loss, X {m}×{k}",
            bench_logistic_hessian(m, k, repeat=3 if quick else 10))


if __name__ == "__main__":
    main(sys.argv[1:])
