"""What tensorcalc runs on: versions, the CPU, NumPy's BLAS and the choices jit makes from them.

Everything tensorcalc computes with arrays of more than a few hundred entries is NumPy's (and its
BLAS's) work: a matrix product under ``jit`` is one ``np.matmul``. So the speed a user sees
depends first on which BLAS kernels NumPy loaded, and that is chosen once, when NumPy is
imported, by the BLAS library from the CPU it detects. :func:`environment_info` collects what
decides it, and :func:`print_environment_info` (the command ``tensorcalc info``) prints it, as
``jax.print_environment_info()`` and ``numpy.show_runtime()`` do for their libraries.

One case is worth a warning of its own (:func:`blas_advice`): OpenBLAS runs the kernels of the
core named by the environment variable ``OPENBLAS_CORETYPE`` when it is set, and some machines
set it to work around bugs of older OpenBLAS builds. Measured on this project's VM, an AMD EPYC
with AVX-512 whose environment sets ``OPENBLAS_CORETYPE=Haswell``: NumPy 2.4's OpenBLAS 0.3.31
then runs its AVX2 kernels, and a float64 product of 1797×256 by 256×256 takes 4.8 ms, against
3.0 ms with the AVX-512 "SkylakeX" kernels that it picks by itself once the variable is unset.
XLA (JAX) uses AVX-512 there either way, so on such a machine a comparison with JAX compares BLAS
kernels, not autodiff. The variable is read once, when NumPy loads OpenBLAS: it must be changed
before Python starts.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping
from importlib import metadata
from typing import Any, TextIO

import numpy as np

from .core.heap import heap_choice

# OpenBLAS's names (openblas_get_corename) of the x86 kernel sets that use AVX-512
AVX512_CORES = frozenset(("skylakex", "cooperlake", "sapphirerapids"))

# optional packages whose presence changes what tensorcalc does (docs/backends.md, docs/jit.md)
OPTIONAL = ("numba", "scipy", "threadpoolctl", "torch", "jax", "dask", "cupy",
            "array-api-strict", "scikit-learn")


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cpus() -> int:
    """Logical CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def cpu_features() -> dict[str, bool]:
    """The vector extensions NumPy detected at import (its own dispatch table; empty where
    NumPy's layout differs)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:
        return {}
    keys = ("AVX2", "FMA3", "AVX512F", "AVX512_SKX", "ASIMD", "SVE")
    return {k: bool(features[k]) for k in keys if k in features}


def blas_pools() -> list[dict[str, Any]] | None:
    """The BLAS libraries loaded in this process, as threadpoolctl reports them (library,
    version, kernel set as ``architecture``, threads), or None without threadpoolctl (the
    ``nn`` extra installs it)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [dict(p) for p in threadpool_info() if p.get("user_api") == "blas"]


def blas_advice(pools: list[dict[str, Any]] | None, features: dict[str, bool],
                environ: Mapping[str, str] = os.environ) -> list[str]:
    """Warnings about the BLAS kernels in ``pools`` on a CPU with ``features``, in a process
    started with ``environ``: an OpenBLAS running kernels without AVX-512 on a CPU that has it
    (module docstring)."""
    if not pools or not features.get("AVX512_SKX"):
        return []
    out = []
    for p in pools:
        core = str(p.get("architecture") or "")
        if p.get("internal_api") != "openblas" or not core or core.lower() in AVX512_CORES:
            continue
        forced = environ.get("OPENBLAS_CORETYPE")
        fix = (f"OPENBLAS_CORETYPE={forced} in the environment chose them; where a current "
               "OpenBLAS needs no such workaround, unset it (with OPENBLAS_L2_SIZE, set with it)"
               if forced else "OpenBLAS did not recognize the CPU; set "
               "OPENBLAS_CORETYPE=SkylakeX")
        out.append(
            f"NumPy's BLAS (OpenBLAS {p.get('version', '?')}) runs its {core} kernels, which "
            "use no AVX-512, on a CPU that has it: matrix products can take 1.6 times as long "
            f"as with its AVX-512 kernels. {fix} before Python starts (OpenBLAS reads it once, "
            "when NumPy loads it), then check the kernels with `tensorcalc info`.")
    return out


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def jit_tanh_choice() -> str:
    """Which float64 ``tanh`` jit runs on large arrays, NumPy's or its own numba kernel
    (docs/jit.md, "jit's own float64 tanh"): ``ops.elementwise.jit_tanh``'s choice, read
    without importing numba."""
    from importlib.util import find_spec

    from .ops.elementwise import jit_tanh_wanted

    switch = os.environ.get("TENSORCALC_TANH", "").lower()
    if not jit_tanh_wanted():
        return ("NumPy's (TENSORCALC_TANH=numpy)" if switch == "numpy"
                else "NumPy's (its AVX-512 loop)")
    if find_spec("numba") is None:
        return "NumPy's (a scalar loop on this CPU; numba, the `fast` extra, is not installed)"
    if switch == "kernel":
        return "jit's numba kernel (TENSORCALC_TANH=kernel)"
    return "jit's numba kernel (NumPy's float64 tanh is a scalar loop on this CPU)"


def environment_info() -> dict[str, Any]:
    """Versions, CPU, NumPy's BLAS, optional packages and jit's choices, with ``advice``: the
    list of warnings (:func:`blas_advice`)."""
    from . import __version__

    features = cpu_features()
    pools = blas_pools()
    return {
        "tensorcalc": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpus": f"{os.cpu_count()} logical, {usable_cpus()} usable by this process",
        "numpy": np.__version__,
        "cpu features (NumPy)": ", ".join(k for k, v in features.items() if v) or "none known",
        "blas": pools,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "optional": {name: _version(name) for name in OPTIONAL},
        "jit tanh": jit_tanh_choice(),
        "heap": heap_choice(),
        "advice": blas_advice(pools, features),
    }


def blas_summary(pools: list[dict[str, Any]] | None) -> str:
    """One line per BLAS library: ``openblas 0.3.31, kernels Haswell, 1 thread``."""
    if pools is None:
        return "unknown (threadpoolctl is not installed)"
    if not pools:
        return "none loaded"
    return "; ".join(f"{p.get('internal_api', '?')} {p.get('version', '?')}, kernels "
                     f"{p.get('architecture') or '?'}, {p.get('num_threads', '?')} thread(s)"
                     for p in pools)


def print_environment_info(file: TextIO | None = None) -> None:
    """Print :func:`environment_info` as ``key: value`` lines, warnings last."""
    out = file if file is not None else sys.stdout
    info = environment_info()
    for key, value in info.items():
        if key == "blas":
            print(f"blas: {blas_summary(value)}", file=out)
        elif key == "optional":
            have = ", ".join(f"{k} {v}" for k, v in value.items() if v) or "none"
            missing = ", ".join(k for k, v in value.items() if not v) or "none"
            print(f"optional packages: {have}\nnot installed: {missing}", file=out)
        elif key == "advice":
            for line in value:
                print(f"warning: {line}", file=out)
        elif key == "OPENBLAS_CORETYPE":
            print(f"OPENBLAS_CORETYPE: {value if value is not None else 'unset'}", file=out)
        else:
            print(f"{key}: {value}", file=out)
