"""``python -m bench``: the whole benchmark suite (see :mod:`bench.suite`).

Thread pools are pinned here, before NumPy, PyTorch or JAX is imported, because BLAS and XLA
read their thread counts once at import: every library gets ``--threads`` threads (default 1)
through the OpenMP/BLAS environment variables, ``torch.set_num_threads`` (in the suite), XLA's
single-threaded Eigen flag when the count is 1, and the process's CPU affinity, so no library
can use more cores than the others.
"""

from __future__ import annotations

import os
import sys


def pin_threads(argv: list[str]) -> int:
    """Read ``--threads N`` from ``argv`` and restrict this process (and its children) to N."""
    threads = 1
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            threads = int(argv[i + 1])
        elif a.startswith("--threads="):
            threads = int(a.split("=", 1)[1])
    n = str(threads)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ[var] = n
    if threads == 1:
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1").strip()
    try:
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, cpus[:threads])
    except (AttributeError, OSError):
        pass
    return threads


if __name__ == "__main__":
    pin_threads(sys.argv[1:])
    from .suite import main

    main(sys.argv[1:])
