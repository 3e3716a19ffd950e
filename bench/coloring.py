"""Colouring speed and colour counts on the sparse benchmark patterns (no peers needed).

    python -m bench.coloring [--sizes 300,1000] [--repeat 3] [--python] [--oracle]

For each pattern: the time of the colouring the sparse Jacobian/Hessian plan runs (after one
warm-up call that loads the numba cache), and the colours found against the lower bound (the
largest row count for Jacobians); for Hessians the star and the acyclic counts. ``--python``
forces the plain Python loops (``TENSORCALC_COLORING=python``). ``--oracle`` also colours the
same patterns at reduced sizes with NetworkX's greedy colourings (largest-first, smallest-last,
DSATUR) of the explicit distance-2 graph (Jacobians) or squared graph (Hessians: a distance-2
colouring is a star colouring). Medians of ``--repeat`` runs; report the load with them.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.sparse as sp

from . import suite  # noqa: F401  first: it puts the checkout's src/ on the path

# isort: split
from tensorcalc.accumulate import _kernels  # noqa: E402
from tensorcalc.accumulate.coloring import as_pattern  # noqa: E402
from tensorcalc.accumulate.coloring_acyclic import acyclic_coloring  # noqa: E402
from tensorcalc.accumulate.coloring_bidirectional import best_coloring  # noqa: E402
from tensorcalc.accumulate.coloring_symmetric import star_coloring  # noqa: E402

from .sparse import arrowhead, banded, grid_energy, poisson, rosenbrock  # noqa: E402


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


def _nx_best(adj):
    import networkx as nx  # an optional oracle (the `test` extra)

    g = nx.Graph()
    g.add_nodes_from(range(adj.shape[0]))
    coo = sp.triu(adj, 1).tocoo()
    g.add_edges_from(zip(coo.row.tolist(), coo.col.tolist(), strict=True))
    return {s: max(nx.greedy_color(g, s).values()) + 1
            for s in ("largest_first", "smallest_last", "DSATUR")}


def oracle():
    """Ours against NetworkX on the benchmark patterns at reduced sizes."""
    print("oracle (NetworkX greedy on the explicit graph), reduced sizes:")
    for name, kind, pattern in [("poisson 60^2", "jacobian", poisson(60)[4]),
                                ("banded 3000, far=100", "jacobian", banded(3000, 100)[4]),
                                ("grid energy 60^2", "hessian", grid_energy(60)[4]),
                                ("rosenbrock 3000", "hessian", rosenbrock(3000)[4])]:
        b = sp.csr_matrix(pattern, dtype=np.int64)
        if kind == "jacobian":
            ours = best_coloring(as_pattern(pattern))[0].sweeps
            nx_counts = _nx_best((b.T @ b) != 0)
        else:
            ours = star_coloring(pattern).sweeps
            nx_counts = _nx_best(((b @ b) + b) != 0)
        best = min(nx_counts.values())
        print(f"  {name:<22} ours {ours:>3}   networkx {nx_counts}   ratio {ours / best:.2f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="300,1000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--python", action="store_true")
    ap.add_argument("--oracle", action="store_true")
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
            t, (c, alt) = timed(lambda p=p: best_coloring(p), a.repeat)
            bound = int(p.row_counts.max())
            print(f"{name:<22} {c.mode:<14} {c.sweeps:>4} sweeps (lower bound for columns "
                  f"{bound})  {t * 1e3:9.1f} ms   {alt}")
        else:
            t, c = timed(lambda p=p: star_coloring(p, symmetric=True), a.repeat)
            ta, ac = timed(lambda p=p: acyclic_coloring(p, symmetric=True), a.repeat)
            print(f"{name:<22} {'star':<14} {c.sweeps:>4} colours  {t * 1e3:9.1f} ms   "
                  f"acyclic {ac.sweeps} colours {ta * 1e3:.1f} ms")
    if a.oracle:
        oracle()
    print(f"load: {os.getloadavg()}")


if __name__ == "__main__":
    main()
