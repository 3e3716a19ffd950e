"""Shared test helpers for code that must behave under threads and with Numba's disk cache.

``run_threads`` starts one thread per argument tuple with a very short switch interval, so the
threads interleave inside the code under test (Python's default of 5 ms would let each call
run to its end undisturbed), and restores the interval however the threads end.
``isolated_kernel_cache`` gives a test module its own fused-kernel cache directory, so kernels
compiled by one module never satisfy another's (a cache hit would hide a compile).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

import pytest


def run_threads(target: Callable[..., Any], args: Iterable[tuple[Any, ...]],
                switch_interval: float = 1e-6) -> None:
    """Run ``target(*a)`` for each ``a`` in ``args``, all at once, and wait for them."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(switch_interval)
    try:
        threads = [threading.Thread(target=target, args=a) for a in args]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)


def isolated_kernel_cache(name: str) -> Any:
    """An autouse, module-scoped fixture pointing ``TENSORCALC_CACHE_DIR`` at a fresh
    directory; assign it to a module-level name in the test module to use it."""
    @pytest.fixture(autouse=True, scope="module")
    def _kernel_cache(tmp_path_factory: Any) -> Any:
        mp = pytest.MonkeyPatch()
        mp.setenv("TENSORCALC_CACHE_DIR", str(tmp_path_factory.mktemp(name)))
        yield
        mp.undo()

    return _kernel_cache
