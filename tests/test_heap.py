"""glibc's thresholds after the numeric engine loads (core/heap.py): freed megabytes are kept
between calls by default, and TENSORCALC_HEAP=system leaves glibc's own behaviour.

Each case runs in a fresh interpreter (the thresholds are process-wide and only go up) that
allocates and frees eight 1 MiB arrays five times and counts the minor page faults of each
round after the first. Below NumPy's 4 MiB hugepage bound every page is a 4 KiB page, so a
round whose memory comes back from the kernel faults about 2,048 times."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tensorcalc.core import heap

pytestmark = pytest.mark.skipif(heap.glibc_version() is None,
                                reason="glibc's thresholds only: this C library is not glibc")

_ROUNDS = """
import json, resource
import numpy as np
import tensorcalc.ops  # the numeric engine: keep_large_blocks runs here
from tensorcalc.core.heap import heap_choice

def round_faults():
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    arrays = [np.ones(2 ** 17) for _ in range(8)]  # 8 x 1 MiB, every page written
    del arrays
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0

print(json.dumps({"faults": [round_faults() for _ in range(5)][1:], "choice": heap_choice()}))
"""


def _run(heap_env: str | None) -> dict:
    env = dict(os.environ)
    env.pop("TENSORCALC_HEAP", None)
    env.pop("GLIBC_TUNABLES", None)  # (fixed thresholds would turn glibc's adjustment off)
    env.pop("MALLOC_TRIM_THRESHOLD_", None)
    env.pop("MALLOC_MMAP_THRESHOLD_", None)
    if heap_env is not None:
        env["TENSORCALC_HEAP"] = heap_env
    src = str(Path(__file__).resolve().parent.parent / "src")
    env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", _ROUNDS], env=env, capture_output=True,
                         text=True, check=True, timeout=120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _thp_always() -> bool:
    try:
        text = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False
    return "[always]" in text


def test_freed_megabytes_are_kept_between_rounds():
    got = _run(None)
    assert got["choice"].startswith("freed megabytes kept")
    # Once the first round has grown the heap, later rounds reuse its pages.
    assert max(got["faults"]) < 100, got


def test_system_setting_leaves_glibc_returning_the_memory():
    got = _run("system")
    assert got["choice"] == "glibc's own thresholds (TENSORCALC_HEAP=system)"
    if _thp_always():
        pytest.skip("transparent hugepages are always on: the heap may fault 2 MiB at a time")
    # glibc's own thresholds (1 MiB and 2 MiB after the first round) trim the 8 MiB again at
    # every round: this is what the default setting avoids.
    assert min(got["faults"]) > 1000, got


def test_choice_is_reported_and_made_once(monkeypatch):
    first = heap.keep_large_blocks()
    monkeypatch.setenv("TENSORCALC_HEAP", "system")
    assert heap.keep_large_blocks() == first  # (once per process: the engine has loaded)
    assert heap.heap_choice() == first
    from tensorcalc.environment import environment_info

    assert environment_info()["heap"] == first


def test_block_is_two_pages_under_glibcs_bound():
    # glibc compares the chunk size with its flag bits against 4 MiB * sizeof(long), so the
    # block's chunk (its size plus a header, rounded up to pages) must stay a page below it.
    import ctypes

    bound = 4 * 1024 * 1024 * ctypes.sizeof(ctypes.c_long)
    chunk = -(-(heap.BLOCK + 16) // 4096) * 4096
    assert chunk < bound
    assert heap.BLOCK >= bound - 3 * 4096  # and still raises the thresholds close to 32 MiB
