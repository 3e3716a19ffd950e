"""Colouring speed and colour counts on the sparse benchmark patterns (no peers needed).

    python -m bench.coloring [--sizes 300,1000] [--repeat 3] [--python]

For each pattern: the time of the colouring the sparse Jacobian/Hessian plan runs (after one
warm-up call that loads the numba cache), and the colours found against the lower bound (the
largest row count for Jacobians). ``--python`` forces the plain Python loops
(``TENSORCALC_COLORING=python``). Medians of ``--repeat`` runs; report the load with them.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from . import suite  # noqa: F401  first: it puts the checkout's src/ on the path

# isort: split
from tensorcalc.accumulate import _kernels  # noqa: E402
from tensorcalc.accumulate.coloring import as_pattern, color_jacobian  # noqa: E402
from tensorcalc.accumulate.coloring_symmetric import star_coloring  # noqa: E402

from .sparse import arrowhead, banded, grid_energy, poisson, rosenbrock  # noqa: E402


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="300,1000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--python", action="store_true")
    a = ap.parse_args(argv)
    if a.python:
        os.environ["TENSORCALC_COLORING"] = "python"
    print(f"backend: {_kernels.warm()}")
    cases = []
    for s in (int(v) for v in a.sizes.split(",")):
        cases.append((f"poisson {s}^2", "jacobian", poisson(s)[4]))
    cases += [("banded 1e5", "jacobian", banded(100_000)[4]),
              ("arrowhead 1e4", "jacobian", arrowhead(10_000)[4]),
              ("grid energy 300^2", "hessian", grid_energy(300)[4]),
              ("rosenbrock 1e5", "hessian", rosenbrock(100_000)[4])]
    for name, kind, pattern in cases:
        p = as_pattern(pattern)
        if kind == "jacobian":
            t, c = timed(lambda p=p: color_jacobian(p, "best"), a.repeat)
            bound = int(p.row_counts.max())
            print(f"{name:<22} {c.mode:<14} {c.sweeps:>4} sweeps (lower bound for columns "
                  f"{bound})  {t * 1e3:9.1f} ms")
        else:
            t, c = timed(lambda p=p: star_coloring(p, symmetric=True), a.repeat)
            print(f"{name:<22} {'star':<14} {c.sweeps:>4} colours  {t * 1e3:9.1f} ms")
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
