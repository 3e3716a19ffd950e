"""How much of a jitted call is its matrix products, next to JAX jit's whole call and JAX's
products alone: W1 (``bench.suite``) and S4 (``bench.speed``).

Why: on some CPUs W1 and S4 under ``jit`` stay 5–15% behind JAX jit while W1's jitted
gradient equals a hand-written NumPy backprop. This script splits the jitted call into the
time spent inside ``np.matmul`` and the rest. The products are timed in place, in the
program's own cache state, by wrapping ``numpy.matmul`` for the calls that measure it (the
generated code looks ``np.matmul`` up at each call). Then each of the same products is
timed under ``jax.jit``, with the same shapes and the same operands transposed. If JAX's
products alone are faster by about the whole gap, then the BLAS makes the gap, not the code
around the products.

``python -m bench.blas_share`` (one thread, as ``python -m bench``; ``--rounds``, ``--only``)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from .__main__ import pin_threads

pin_threads([])  # before NumPy and JAX are imported: one thread each

import numpy as np  # noqa: E402  (after the thread settings)

from ._common import load_average, machine, median_time  # noqa: E402


class _Products:
    """While active, ``numpy.matmul`` is a wrapper that adds the time of each call to
    ``seconds`` and records its operands' shapes, dtype and orientation in ``shapes``."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.shapes: list[tuple] = []
        self._real = np.matmul

    def __enter__(self) -> _Products:
        real, clock = self._real, time.perf_counter

        def timed(a: Any, b: Any, *args: Any, **kwargs: Any) -> Any:
            t0 = clock()
            r = real(a, b, *args, **kwargs)
            self.seconds += clock() - t0
            self.shapes.append((_layout(a), _layout(b), np.result_type(a, b)))
            return r

        np.matmul = timed
        return self

    def __exit__(self, *exc: object) -> None:
        np.matmul = self._real


def _layout(a: Any) -> tuple[tuple[int, ...], bool]:
    """``(shape, transposed)``: a 2-D operand that is a transposed C array counts as such."""
    a = np.asarray(a)
    transposed = a.ndim == 2 and a.flags.f_contiguous and not a.flags.c_contiguous
    return tuple(a.shape), transposed


def split(fn: Callable[[], Any], rounds: int) -> tuple[float, float, list[tuple]]:
    """Median seconds of a call of ``fn`` and of its part inside ``np.matmul``, and the
    products of one call."""
    for _ in range(3):
        fn()
    totals, inner, shapes = [], [], []
    for _ in range(rounds):
        with _Products() as p:
            t0 = time.perf_counter()
            fn()
            totals.append(time.perf_counter() - t0)
        inner.append(p.seconds)
        shapes = p.shapes
    return float(np.median(totals)), float(np.median(inner)), shapes


def products_alone(shapes: list[tuple], rounds: int, jax: Any = None) -> float:
    """Seconds of the products in ``shapes``, each timed alone and warm, summed (medians):
    NumPy's ``matmul``, or each product under ``jax.jit`` when ``jax`` is given."""
    rng = np.random.default_rng(0)
    total = 0.0
    for (sa, ta), (sb, tb), dtype in shapes:
        def operand(shape: tuple, transposed: bool, dtype: Any = dtype) -> Any:
            stored = rng.standard_normal(shape[::-1] if transposed else shape).astype(dtype)
            return stored if jax is None else jax.numpy.asarray(stored)

        a, b = operand(sa, ta), operand(sb, tb)
        if jax is None:
            def call(x: Any = a, y: Any = b, ta: bool = ta, tb: bool = tb) -> Any:
                return np.matmul(x.T if ta else x, y.T if tb else y)
        else:
            f = jax.jit(lambda x, y, ta=ta, tb=tb: (x.T if ta else x) @ (y.T if tb else y))

            def call(x: Any = a, y: Any = b, f: Any = f) -> Any:
                return f(x, y).block_until_ready()
        total += median_time(call, rounds)
    return total


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    ap = argparse.ArgumentParser(prog="python -m bench.blas_share", description=__doc__)
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--only", default="W1,S4", help="comma-separated: W1, S4")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    from . import overhead, speed
    from .suite import load_peers, peer_versions

    peers = load_peers(1)
    print(f"machine: {machine()}")
    print(f"peers: {peer_versions(peers)}")
    print(f"load average at start: {load_average()}")
    print(f"command: python -m bench.blas_share --rounds {args.rounds} --only {args.only}")
    cases = {"W1": (lambda: overhead.mlp_workload(peers), "tensorcalc jit(grad)",
                    "JAX jit(grad)"),
             "S4": (lambda: speed.hvp_workload(peers), "tensorcalc jit", "JAX jit(jvp(grad))")}
    out: dict[str, dict[str, float]] = {}
    head = (f"  {'workload':8s} {'products':>8s} {'jit ms':>8s} {'in matmul':>10s} {'rest':>6s}"
            f" {'NumPy alone':>9s} {'JAX ms':>8s} {'JAX alone':>9s} {'jit/JAX':>8s}"
            f" {'alone/alone':>9s}")
    print(head)
    for key in [k for k in args.only.split(",") if k]:
        if key not in cases:
            raise SystemExit(f"bench.blas_share: unknown workload {key!r}; choose from "
                             f"{', '.join(cases)}")
        build, ours, theirs = cases[key]
        w = build()
        total, inner, shapes = split(w.impls[ours].fn, args.rounds)
        if not shapes:
            raise SystemExit(f"bench.blas_share: {key}'s jitted call made no np.matmul call; "
                             "the generated code no longer calls np.matmul by name")
        alone = products_alone(shapes, args.rounds)
        row = {"jit": total, "jit products": inner, "NumPy products alone": alone}
        jax_total = jax_prod = float("nan")
        if peers.jax is not None and theirs in w.impls:
            jax_total = median_time(w.impls[theirs].fn, args.rounds)
            jax_prod = products_alone(shapes, args.rounds, peers.jax)
            row.update({"JAX": jax_total, "JAX products alone": jax_prod})
        out[key] = row
        print(f"  {key:8s} {len(shapes):8d} {total * 1e3:8.2f} {inner * 1e3:10.2f} "
              f"{(total - inner) * 1e3:6.2f} {alone * 1e3:9.2f} {jax_total * 1e3:8.2f} "
              f"{jax_prod * 1e3:9.2f} {total / jax_total:8.2f} {alone / jax_prod:9.2f}")
    print("  in matmul: the jitted call's time inside np.matmul; alone: each of the same")
    print("  products timed by itself, warm, and summed (NumPy's matmul, or under jax.jit)")
    print(f"load average at end: {load_average()}")
    return out


if __name__ == "__main__":
    main()
