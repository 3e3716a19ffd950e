"""CPU time of the ``bench.speed`` workloads, every implementation interleaved with the others.

On a machine shared with other jobs, wall-clock medians (``python -m bench.speed``) include the
time a process waits for a core, and on this project's 2-core VM that inflated one S6 row 2.5×
between two runs an hour apart. This script reports, per implementation, the median and the
minimum of ``time.process_time()`` (CPU time of the whole process: every thread, user and
system, page faults included), with the implementations timed in alternating rounds so that a
busy minute slows them all alike. The minimum is the figure least disturbed by neighbours; the
ratios are printed from both.

``python -m bench.cpu_time S6 --rounds 3 --calls 100``
"""

from __future__ import annotations

if __name__ == "__main__":
    from .__main__ import pin_threads

    pin_threads(["--threads", "1"])

import numpy as np  # noqa: E402

from ._common import alternating_cpu, load_average, workload_command  # noqa: E402
from .speed import BUILDERS, TARGETS  # noqa: E402
from .suite import load_peers, peer_versions  # noqa: E402


def cpu_times(key: str, rounds: int, calls: int) -> dict[str, list[float]]:
    """Per implementation of workload ``key``: ``rounds × calls`` CPU times in seconds."""
    w = BUILDERS[key](load_peers(1))
    return alternating_cpu({name: impl.fn for name, impl in w.impls.items()}, rounds, calls,
                           warm_each_round=True)


def main(argv: list[str] | None = None) -> None:
    args = workload_command("bench.cpu_time", __doc__, argv, 3, 100,
                            peer_versions(load_peers(1)))
    for key in args.keys:
        times = cpu_times(key, args.rounds, args.calls)
        med = {k: float(np.median(v)) for k, v in times.items()}
        low = {k: min(v) for k, v in times.items()}
        print(f"\n{key}: CPU ms per call, median / minimum of {args.rounds}×{args.calls}")
        for name in times:
            print(f"  {name:34s} {med[name] * 1e3:8.3f} {low[name] * 1e3:8.3f}")
        for wk, label, num, den, bound in TARGETS:
            if wk == key and num in med and den in med:
                print(f"  {label:44s} median {med[num] / med[den]:5.2f}  "
                      f"minimum {low[num] / low[den]:5.2f}  (bound {bound})")
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main()
