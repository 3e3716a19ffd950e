"""W1's eight matrix products, timed one by one: NumPy's BLAS with the C-ordered result the
generated code asks for, the same BLAS computing the transposed product ``(Bᵀ Aᵀ)ᵀ`` (the
result then lies in Fortran order), and PyTorch's BLAS (optional).

Why: W1's jitted gradient spends most of its time in these products, so which BLAS runs them
and in which orientation decides W1 against JAX. A row-major ``C = A B`` (m×n) reaches a
column-major BLAS as ``Cᵀ = Bᵀ Aᵀ``, whose leading dimension is n; the transposed orientation
gives it m. Where m ≫ n a BLAS kernel blocked for a long leading dimension may run faster that
way. ``python -m bench.gemm_orientation`` (one thread; float64; the caches are evicted before
each call, as in the generated code where the operands come from memory).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread settings)

N = 1797  # the digits batch
#: (name, m, k, n) of W1's products: forward, then the backward's weight and input products.
PRODUCTS = [("X W1", N, 64, 256), ("h1 W2", N, 256, 256), ("h2 W3", N, 256, 10),
            ("h2ᵀ δ3", 256, N, 10), ("δ3 W3ᵀ", N, 10, 256), ("h1ᵀ δ2", 256, N, 256),
            ("δ2 W2ᵀ", N, 256, 256), ("Xᵀ δ1", 64, N, 256)]


def _best(matmul: Callable[..., Any], a: Any, b: Any, out: Any, evict: list[np.ndarray],
          rounds: int = 7, calls: int = 10) -> float:
    """Seconds of the fastest round's mean call of ``matmul(a, b, out=out)``."""
    matmul(a, b, out=out)
    best = float("inf")
    for _ in range(rounds):
        total = 0.0
        for _ in range(calls):
            for e in evict:
                e += 1.0  # 32 MiB written: the operands leave the caches
            t0 = time.perf_counter()
            matmul(a, b, out=out)
            total += time.perf_counter() - t0
        best = min(best, total / calls)
    return best


def main() -> None:
    rng = np.random.default_rng(0)
    evict = [np.ones((1 << 19,)) for _ in range(8)]
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    print(f"NumPy {np.__version__}, BLAS: {_blas()}; torch: "
          f"{torch.__version__ if torch is not None else 'not installed'}; one thread")
    print(f"{'product':10} {'m':>5} {'k':>5} {'n':>5} {'C order ms':>11} {'(BᵀAᵀ)ᵀ ms':>12} "
          f"{'torch ms':>9}")
    totals = [0.0, 0.0, 0.0, 0.0]
    for name, m, k, n in PRODUCTS:
        a, b = rng.standard_normal((m, k)), rng.standard_normal((k, n))
        c, ct = np.empty((m, n)), np.empty((n, m))
        plain = _best(np.matmul, a, b, c, evict)
        turned = _best(np.matmul, b.T, a.T, ct, evict)
        line = f"{name:10} {m:5d} {k:5d} {n:5d} {plain * 1e3:11.3f} {turned * 1e3:12.3f}"
        totals[0] += plain
        totals[1] += turned
        totals[2] += min(plain, turned)
        if torch is not None:
            t = _best(torch.matmul, torch.from_numpy(a), torch.from_numpy(b),
                      torch.from_numpy(c), evict)
            totals[3] += t
            line += f" {t * 1e3:9.3f}"
        print(line)
    print(f"total: C order {totals[0] * 1e3:.2f} ms, transposed {totals[1] * 1e3:.2f} ms, "
          f"the better of the two {totals[2] * 1e3:.2f} ms"
          + (f", torch {totals[3] * 1e3:.2f} ms" if torch is not None else ""))


def _blas() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "see numpy.show_runtime()"
    infos = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
             for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(infos) or "unknown"


if __name__ == "__main__":
    main()
