"""Shared benchmark helpers: median timing with a time budget, peak memory, peer imports that
may be missing, the workload record every suite fills in, and a machine description.

Timing is the median of repeated wall-clock runs after one warm-up call (which also compiles
whatever a jit compiles), so a workload's first-call cost is reported separately, never mixed
into its median. Peak memory of NumPy-based code is measured with :mod:`tracemalloc` (NumPy
reports its array buffers to it); PyTorch and JAX allocate outside Python's allocator, so their
peaks come from a child process's resident-set high-water mark (``python -m bench --rss``).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def median_time(fn: Callable[[], Any], repeat: int = 30, warmup: int = 3,
                min_time: float = 0.0) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < repeat or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def measure(fn: Callable[[], Any], budget: float = 1.0, min_repeat: int = 5,
            max_repeat: int = 300) -> tuple[float, int]:
    """Median seconds of ``fn()`` and the number of timed runs: one warm-up, then as many runs
    as fit in ``budget`` seconds, clamped to ``[min_repeat, max_repeat]`` (a call slower than
    the budget is still timed ``min_repeat`` times, unless it alone exceeds 4x the budget)."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if first > 4 * budget:
        # Too slow to repeat within the budget: time a second (warm) call once.
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0, 1
    repeat = int(min(max_repeat, max(min_repeat, budget / max(first, 1e-7))))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), repeat


def alternating_cpu(fns: dict[str, Callable[[], Any]], rounds: int, calls: int = 1,
                    warm_each_round: bool = False) -> dict[str, list[float]]:
    """CPU seconds (``time.process_time``: every thread of the process, page faults included)
    of each call of each function, the functions taken in turn round after round (``calls``
    calls each per round), so that on a machine shared with other jobs a busy minute slows
    them all alike. ``warm_each_round``: one untimed call and a garbage collection before each
    function's calls in every round."""
    out: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            if warm_each_round:
                fn()  # caches, compiled code, the allocator's free lists
                gc.collect()
            for _ in range(calls):
                c0 = time.process_time()
                fn()
                out[name].append(time.process_time() - c0)
    return out


def traced_peak(fn: Callable[[], Any]) -> float:
    """Peak bytes allocated through Python's tracked allocators during one ``fn()`` call (NumPy
    array buffers included), above what was allocated before the call."""
    was = tracemalloc.is_tracing()
    if not was:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        if not was:
            tracemalloc.stop()
    return float(max(peak - base, 0))


def rss_kib(field_name: str) -> int | None:
    """``VmRSS`` (current) or ``VmHWM`` (peak) of this process in KiB, from /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_rss_peak() -> bool:
    """Return freed heap memory to the system (so the next call's allocations show up as
    resident-set growth instead of reusing pages already resident), then reset this process's
    resident-set high-water mark (Linux: ``5 > clear_refs``)."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def optional(name: str) -> Any:
    """Import a peer library, or return None (peers are optional benchmark dependencies)."""
    try:
        return __import__(name)
    except Exception:
        return None


@dataclass
class Impl:
    """One implementation of a workload: a zero-argument callable returning the result (any
    nesting of arrays/tensors), and the allocator family that decides how memory is measured."""

    fn: Callable[[], Any]
    family: str = "numpy"  # "numpy" (tracemalloc sees it), "torch" or "jax"
    note: str = ""


@dataclass
class Workload:
    """A benchmark problem with its implementations; ``ref`` names the ratio's denominator and
    ``per`` divides times into a per-operation cost (W2)."""

    key: str
    title: str
    ref: str
    impls: dict[str, Impl] = field(default_factory=dict)
    per: int = 1
    unit: str = "ms"
    extra: dict[str, float] = field(default_factory=dict)  # e.g. compile seconds


def flat_values(x: Any) -> np.ndarray:
    """All numbers of a result (arrays, tensors, nested tuples/lists/dicts) as one vector."""
    parts: list[np.ndarray] = []
    stack = [x]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, (list, tuple)):
            stack.extend(reversed(v))
        else:
            if hasattr(v, "detach"):
                v = v.detach().numpy()
            parts.append(np.asarray(v, dtype=np.float64).ravel())
    return np.concatenate(parts) if parts else np.zeros(0)


def machine() -> str:
    """CPU model, logical CPUs usable by this process, Python, NumPy and its BLAS kernels
    (tensorcalc.environment), followed by a ``warning:`` line for a BLAS that runs slower
    kernels than the CPU has: such a run measures the BLAS, not tensorcalc."""
    from tensorcalc.environment import (
        blas_advice,
        blas_pools,
        blas_summary,
        cpu_features,
        cpu_model,
        usable_cpus,
    )

    blas = ""
    try:
        cfg = np.show_config(mode="dicts")  # NumPy >= 1.25
        blas = cfg["Build Dependencies"]["blas"]["name"]
    except Exception:
        pass
    forced = os.environ.get("OPENBLAS_CORETYPE")
    pools = blas_pools()
    return (f"{cpu_model()}, {os.cpu_count()} logical CPUs ({usable_cpus()} usable), "
            f"Python {platform.python_version()}, NumPy {np.__version__}"
            + (f" ({blas})" if blas else "") + f"; BLAS: {blas_summary(pools)}"
            + (f", OPENBLAS_CORETYPE={forced} set" if forced else "")
            + "".join(f"\nwarning: {w}" for w in blas_advice(pools, cpu_features())))


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def fmt_row(name: str, seconds: float | None, ref: float | None, unit: str = "ms",
            per: int | None = None) -> str:
    if seconds is None:
        return f"  {name:<38} {'(not installed)':>12}"
    scale = {"ms": 1e3, "us": 1e6}[unit]
    val = seconds * scale / (per or 1)
    ratio = f"{seconds / ref:7.2f}x" if ref else ""
    return f"  {name:<38} {val:10.2f} {unit}{'/op' if per else ''}  {ratio}"


def workload_command(prog: str, doc: str | None, argv: list[str] | None, rounds: int,
                     calls: int, peer_line: str) -> argparse.Namespace:
    """Parse ``only [--rounds R] [--calls C]`` for a script over bench.speed's workloads and
    print the header every such script starts with (machine, peers, load, the command)."""
    ap = argparse.ArgumentParser(prog=f"python -m {prog}",
                                 description=(doc or prog).split("\n")[0])
    ap.add_argument("only", help="comma-separated workloads of bench.speed (S1 … S6, W2)")
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--calls", type=int, default=calls, help="timed calls per row per round")
    args = ap.parse_args(argv)
    words = " ".join(argv if argv is not None else sys.argv[1:])
    print(f"machine: {machine()}\npeers: {peer_line}; float64, 1 thread\n"
          f"load average at start: {load_average()}\ncommand: python -m {prog} {words}")
    args.keys = [k.strip() for k in args.only.split(",") if k.strip()]
    return args
