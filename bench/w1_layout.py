"""What a layout pass in jit would be worth on W1: the program ``jit(grad(mlp_loss))`` generates
for W1, written out by hand twice and timed alternately.

* **C**: as jit writes it today (``tc.jit(tc.grad(bench.overhead.mlp_loss)).source(...)``):
  C-ordered pool buffers, every product ``np.matmul(a, b, out=buffer)``.
* **F**: the same operations, with the products whose result has m ≥ 2n computed as
  ``(Bᵀ Aᵀ)ᵀ`` (``np.matmul(b.T, a.T, out=buffer.T)``) into Fortran-ordered pool buffers, so the
  elementwise operations that follow read and write in that order.

OpenBLAS (``bench.gemm_orientation``) runs such products faster transposed; this script
measures what is left of that once the operations between the products see Fortran-ordered
arrays. The two agree to about 1e-15 relative, not bit for bit: OpenBLAS sums a transposed
product in another order. ``python -m bench.w1_layout --rounds 60``
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402  (after the thread settings)

from ._common import load_average, machine  # noqa: E402
from .overhead import digits, init_mlp, numpy_backprop  # noqa: E402


def w1_program(params: list, X: np.ndarray, Y: np.ndarray, fortran: bool) -> Callable[[], tuple]:
    """W1's generated gradient program, C-ordered or with the m ≥ 2n products in Fortran
    order (module docstring). Returns ``(gW1, gb1, gW2, gb2, gW3, gb3)`` per call."""
    (W1, b1), (W2, b2), (W3, b3) = params
    m, h = X.shape[0], W1.shape[1]
    order = "F" if fortran else "C"
    buf = [np.empty((m, h), order=order) for _ in range(4)] + [np.empty((m, W3.shape[1]))
                                                                for _ in range(3)]
    scale = -1.0 / m

    def mm(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
        if out.flags.f_contiguous and not out.flags.c_contiguous:
            np.matmul(b.T, a.T, out=out.T)
            return out
        return np.matmul(a, b, out=out)

    def program() -> tuple:
        v9 = mm(X, W1, buf[0])
        np.add(v9, b1, out=v9)
        np.tanh(v9, out=v9)
        v10 = np.multiply(v9, v9, out=buf[1])
        np.subtract(1.0, v10, out=v10)
        v11 = mm(v9, W2, buf[2])
        np.add(v11, b2, out=v11)
        np.tanh(v11, out=v11)
        v12 = np.multiply(v11, v11, out=buf[3])
        np.subtract(1.0, v12, out=v12)
        v13 = np.matmul(v11, W3, out=buf[4])  # (m, 10): an input (Y) has its shape, so C
        np.add(v13, b3, out=v13)
        v15 = np.max(v13, axis=1).reshape(m, 1)
        v17 = np.equal(v13, v15).astype(np.float64)
        v21 = np.divide(v17, np.sum(v17, axis=1).reshape(m, 1), out=buf[5])
        np.subtract(v13, v15, out=v13)
        np.exp(v13, out=v13)
        v23 = np.sum(v13, axis=1).reshape(m, 1)
        v25 = np.multiply(scale, Y, out=buf[6])
        v28 = np.negative(np.sum(v25, axis=1).reshape(m, 1))
        v29 = np.divide(v28, v23)
        np.multiply(np.broadcast_to(v29, v13.shape), v13, out=v13)
        v32 = np.sum(v13, axis=1).reshape(m, 1)
        np.add(v25, v13, out=v25)
        np.negative(v32, out=v29)
        np.add(v28, v29, out=v28)
        np.multiply(np.broadcast_to(v28, v21.shape), v21, out=v21)
        np.add(v25, v21, out=v25)
        gb3 = np.sum(v25, axis=0)
        gW3 = np.matmul(v25.T, v11).T if fortran else np.matmul(v11.T, v25)  # 256 ≥ 2·10
        v11 = mm(v25, W3.T, v11)
        np.multiply(v11, v12, out=v11)
        gb2 = np.sum(v11, axis=0)
        gW2 = np.matmul(v9.T, v11)
        v9 = mm(v11, W2.T, v9)
        np.multiply(v9, v10, out=v9)
        gb1 = np.sum(v9, axis=0)
        gW1 = np.matmul(X.T, v9)
        return gW1, gb1, gW2, gb2, gW3, gb3

    return program


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(prog="python -m bench.w1_layout", description=__doc__)
    ap.add_argument("--rounds", type=int, default=60)
    args = ap.parse_args(argv)
    X, Y = digits()
    params = init_mlp(np.random.default_rng(0))
    ref = numpy_backprop(params, X, Y)
    ref_flat = [a for pair in ref for a in pair]
    programs = {"C": w1_program(params, X, Y, False), "F": w1_program(params, X, Y, True)}
    for name, prog in programs.items():  # both compute W1's gradient
        err = max(float(np.abs(a - b).max() / np.abs(b).max())
                  for a, b in zip(prog(), ref_flat, strict=True))
        if err > 1e-12:
            raise AssertionError(f"bench.w1_layout: program {name} is off by {err:.2e}")
    diff = max(float(np.abs(a - b).max() / np.abs(b).max())
               for a, b in zip(programs["F"](), programs["C"](), strict=True))
    print(f"machine: {machine()}")
    print(f"load average at start: {load_average()}")
    print(f"command: python -m bench.w1_layout --rounds {args.rounds}")
    times: dict[str, list[float]] = {name: [] for name in programs}
    for _ in range(args.rounds):
        for name, prog in programs.items():
            t0 = time.perf_counter()
            prog()
            times[name].append(time.perf_counter() - t0)
    out = {}
    for name in programs:
        t = np.array(times[name][5:] or times[name])
        out[name] = float(np.median(t))
        print(f"  {name}: median {np.median(t) * 1e3:7.2f} ms   minimum {t.min() * 1e3:7.2f} ms")
    print(f"  F / C: {out['F'] / out['C']:.3f} (median); results differ by {diff:.1e} "
          "relative")
    print(f"load average at end: {load_average()}")
    return out


if __name__ == "__main__":
    main()
