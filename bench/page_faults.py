"""Minor page faults and CPU time per call of the jitted ``bench.speed`` workloads, with jit's
call pool (:mod:`tensorcalc.compile.pool`) on and off, in one process.

Each workload is built twice, once under ``TENSORCALC_JIT_POOL=0`` (read when a signature is
compiled), and both jitted functions are timed with the peers (torch, JAX: their allocations
and frees move glibc's heap too) in alternating rounds (``bench._common.alternating_cpu``).
Page faults are ``resource.getrusage``'s ``ru_minflt`` around each call: the faults of
touching fresh pages, which a pool that keeps its buffers between calls avoids.

``python -m bench.page_faults S1,S2,S6 --rounds 5 --calls 60``
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

if __name__ == "__main__":
    from .__main__ import pin_threads

    pin_threads(["--threads", "1"])

import numpy as np  # noqa: E402

from ._common import alternating_cpu, load_average, workload_command  # noqa: E402
from .speed import BUILDERS  # noqa: E402
from .suite import load_peers, peer_versions  # noqa: E402

NO_PEERS = SimpleNamespace(torch=None, jax=None, jnp=None, autograd=None, anp=None)


def _implementations(key: str, peers: SimpleNamespace) -> dict[str, Callable[[], Any]]:
    """The workload's jit implementation compiled with the pool on and off, and the peers'."""
    fns: dict[str, Callable[[], Any]] = {}
    was = os.environ.get("TENSORCALC_JIT_POOL")
    try:
        for pool in ("1", "0"):
            os.environ["TENSORCALC_JIT_POOL"] = pool  # read as each signature compiles
            w = BUILDERS[key](peers if pool == "0" else NO_PEERS)
            for name, impl in w.impls.items():
                if "tensorcalc" not in name:
                    fns[name] = impl.fn
                elif "jit" in name:
                    fns[f"tensorcalc jit, pool {'on' if pool == '1' else 'off'}"] = impl.fn
    finally:
        if was is None:
            del os.environ["TENSORCALC_JIT_POOL"]
        else:
            os.environ["TENSORCALC_JIT_POOL"] = was
    return fns


def _counted(fn: Callable[[], Any], faults: list[int]) -> Callable[[], Any]:
    def call() -> Any:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        out = fn()
        faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        return out

    return call


def main(argv: list[str] | None = None) -> None:
    peers = load_peers(1)
    args = workload_command("bench.page_faults", __doc__, argv, 5, 60, peer_versions(peers))
    for key in args.keys:
        fns = _implementations(key, peers)
        faults: dict[str, list[int]] = {name: [] for name in fns}
        times = alternating_cpu({name: _counted(fn, faults[name]) for name, fn in fns.items()},
                                args.rounds, args.calls, warm_each_round=True)
        print(f"\n{key}: minor page faults per call (mean, median), CPU ms per call (median, "
              f"minimum of {args.rounds}×{args.calls}), every implementation interleaved")
        for name in fns:
            print(f"  {name:34s} {np.mean(faults[name]):8.1f} {np.median(faults[name]):6.0f} "
                  f"{np.median(times[name]) * 1e3:9.3f} {min(times[name]) * 1e3:9.3f}")
        on, off = times["tensorcalc jit, pool on"], times["tensorcalc jit, pool off"]
        print(f"  pool on / off: median {np.median(on) / np.median(off):5.2f}  "
              f"minimum {min(on) / min(off):5.2f}")
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
