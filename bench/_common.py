"""Shared benchmark helpers: timing by median, peer imports that may be missing, a machine
description for the report."""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any


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


def optional(name: str) -> Any:
    """Import a peer library, or return None (peers are optional benchmark dependencies)."""
    try:
        return __import__(name)
    except Exception:
        return None


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numpy as np

    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"NumPy {np.__version__}")


def fmt_row(name: str, seconds: float | None, ref: float | None, unit: str = "ms",
            per: int | None = None) -> str:
    if seconds is None:
        return f"  {name:<38} {'(not installed)':>12}"
    scale = {"ms": 1e3, "us": 1e6}[unit]
    val = seconds * scale / (per or 1)
    ratio = f"{seconds / ref:7.2f}x" if ref else ""
    return f"  {name:<38} {val:10.2f} {unit}{'/op' if per else ''}  {ratio}"
