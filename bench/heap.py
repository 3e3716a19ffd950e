"""Time and minor page faults per call with glibc's thresholds kept (the default) and as glibc
sets them itself (``TENSORCALC_HEAP=system``), each in a fresh process that imports no peer.

torch and JAX free large blocks of their own, and so raise glibc's mmap and trim thresholds for
the whole process (``tensorcalc/core/heap.py``); in ``python -m bench.speed``, which imports
them, tensorcalc's calls rarely fault. A user's process that imports only tensorcalc is the
case this script measures: every row is a subprocess that builds one ``bench.speed`` workload
with no peers, calls one implementation until it has run for ``--seconds``, and reports the
median wall time and the median ``ru_minflt`` difference per call. The two settings alternate,
``--rounds`` times each.

``python -m bench.heap S1,S2 --rounds 2``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ._common import load_average, machine

_CHILD = """
import json, resource, sys, time
import numpy as np
from bench.speed import BUILDERS
from types import SimpleNamespace
peers = SimpleNamespace(torch=None, jax=None, jnp=None, autograd=None, anp=None)
w = BUILDERS[sys.argv[1]](peers)
fn = w.impls[sys.argv[2]].fn
for _ in range(3):
    fn()
times, faults, end = [], [], time.perf_counter() + float(sys.argv[3])
while time.perf_counter() < end or len(times) < 10:
    f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    t0 = time.perf_counter()
    fn()
    times.append(time.perf_counter() - t0)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0)
print(json.dumps([float(np.median(times)), float(np.median(faults))]))
"""

#: (workload, implementation) rows; the implementations are tensorcalc's rows of bench.speed
ROWS = {
    "S1": ("tensorcalc jit(grad)", "tensorcalc eager grad"),
    "S2": ("tensorcalc jit(grad)", "tensorcalc eager grad"),
    "S3": ("tensorcalc jit", "tensorcalc eager"),
    "S4": ("tensorcalc jit", "tensorcalc eager"),
    "S6": ("tensorcalc jit", "tensorcalc eager"),
}


def run_child(key: str, impl: str, heap: str, seconds: float) -> tuple[float, float]:
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env.pop("TENSORCALC_HEAP", None)
    if heap == "system":
        env["TENSORCALC_HEAP"] = "system"
    root = Path(__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(root / "src"),
                                         env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", _CHILD, key, impl, str(seconds)], env=env,
                         capture_output=True, text=True, check=True, cwd=root)
    ms, faults = json.loads(out.stdout.strip().splitlines()[-1])
    return ms * 1e3, faults


def main(argv: list[str] | None = None) -> SimpleNamespace:
    ap = argparse.ArgumentParser(prog="python -m bench.heap", description=__doc__)
    ap.add_argument("only", nargs="?", default="S1,S2",
                    help=f"comma-separated workloads among {', '.join(ROWS)}")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args(argv)
    keys = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in ROWS]
    if unknown:
        ap.error(f"unknown workload(s) {', '.join(unknown)}: choose among {', '.join(ROWS)}")
    print(f"machine: {machine()}")
    print(f"load average at start: {load_average()}")
    print(f"command: python -m bench.heap {','.join(keys)} --rounds {args.rounds} "
          f"--seconds {args.seconds:g}")
    print("one fresh process per cell, no peers imported; ms and minor faults: median per call")
    print(f"  {'workload / implementation':40s} {'kept ms':>9s} {'faults':>7s} "
          f"{'system ms':>10s} {'faults':>7s} {'kept/system':>12s}")
    results = {}
    for key in keys:
        for impl in ROWS[key]:
            cells: dict[str, list[tuple[float, float]]] = {"kept": [], "system": []}
            for _ in range(args.rounds):
                for heap in ("kept", "system"):
                    cells[heap].append(run_child(key, impl, heap, args.seconds))
            kept = np.median([c[0] for c in cells["kept"]])
            system = np.median([c[0] for c in cells["system"]])
            fk = np.median([c[1] for c in cells["kept"]])
            fs = np.median([c[1] for c in cells["system"]])
            results[(key, impl)] = (kept, fk, system, fs)
            print(f"  {key + ' ' + impl:40s} {kept:9.2f} {fk:7.0f} {system:10.2f} {fs:7.0f} "
                  f"{kept / system:12.2f}")
    print(f"load average at end: {load_average()}")
    return SimpleNamespace(results=results)


if __name__ == "__main__":
    main()
