"""Tiered fusion: the default ``jit`` fuses a program only once running it has cost as much
as fusing it would.

Fusing pays a one-time cost ``C`` (importing numba, compiling or loading each kernel: from
milliseconds to seconds) and then saves part of every call. Whether it pays depends on how often
the function will be called, which nobody knows in advance: the ski-rental problem. The rule
that never does worse than twice the best choice in hindsight is to rent until the rent paid
equals the price, then buy. So each compiled signature runs its unfused program first and adds
up the time spent in it; once that time reaches the estimated cost ``C`` of fusing it, it
fuses once and switches. If the fused program is never faster, the total is at most ``T + C
≤ 2T``; if it is, the total is at most ``C + C + (fused time)`` — at most twice the cost of
fusing at the start. A function called a handful of times (every test, every script that calls
a gradient a few times) never pays for numba at all.

**The estimate** (:func:`fusion_cost`, constants measured on a 2-core VM): numba's start in a
process that has not loaded a kernel yet, plus per kernel a load from numba's disk cache or a
compilation, each with a part growing with the kernel's size.

**The trial.** After the switch the fused and the unfused program run in turn, one call
each, :data:`TRIAL_CALLS` calls per side; the one with the smaller median time stays
(:class:`_Trial`).

**Bitwise results.** A function's results must not change in the last bit after its N-th
call. ``+ − × ÷``, ``sqrt`` and the selections are IEEE-exact, but whether NumPy's ``sin`` or
``tanh`` is the C library's (as numba's is) depends on the CPU and the dtype (NumPy has SIMD
versions of some, e.g. float32 ``sin`` on AVX2, float64 ``exp`` on AVX-512). So before the first
tier-up of a process, :func:`exact_kernels` runs every fusible expression in a numba loop on a
probe of 2¹⁴ values per dtype (ranges, tiny, huge, subnormal, ±0, ±inf, NaN) and compares the bits
with NumPy's; tiered fusion fuses only the ``(primitive, dtype)`` pairs that agreed. NaNs count
as equal whatever their payload. ``jit(f, fuse=True)`` fuses every kernel, as before.

**Warnings.** A fused loop sets no floating-point flags. When a fused result holds an inf or
NaN the call is redone by the unfused program, so NumPy's warnings (which tensorcalc reports
only for such results) and the strong-zero rerun behave as before tier-up.

**Threads.** The first caller past the threshold builds the fused program under a lock; others
(and re-entrant calls) keep running the unfused one meanwhile and never see a half-built one:
the switch is one attribute assignment.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.ir import Program
from . import fusion
from .buffers import PLAIN_STRONG_ZERO, own_kernels

#: Time spent in the unfused program before the fusion plan is even drawn up (drawing it is a
#: walk over the program: cheap, but not worth doing for a function called twice).
PLAN_AFTER = 0.05
#: When set, replaces the estimated cost of fusing (tests make it tiny).
TIER_COST: float | None = None
#: numba's start in a process (import ≈ 0.6 s, first dispatch ≈ 0.3 s), measured.
NUMBA_START = 0.9
#: A kernel from numba's disk cache, and one compiled: a constant plus a part per operation.
CACHED_KERNEL = (0.01, 3e-4)
COLD_KERNEL = (0.35, 7e-3)
#: After the switch, the fused and the unfused program take turns, call by call, for this many
#: calls each and at least this long in all (the first fused call, which may still compile, not
#: counted); the one with the smaller median time stays (:class:`_Trial`).
TRIAL_CALLS = 25
TRIAL_TIME = 0.04
#: False: keep the fused program without a trial (tests that must not depend on speed).
TRIAL = True
#: How many signatures have tiered up, how many of those went back, and how many could not
#: be fused (numba failed), in this process.
tier_ups = 0
reverts = 0
failures = 0

_PROBE_N = 1 << 14
_SPECIALS = 22 * 22  # every pair of the probe's special values
_exact: frozenset[tuple[Any, np.dtype]] | None = None
_through_numpy: frozenset[tuple[Any, np.dtype]] | None = None
_probe_lock = threading.Lock()


def fusion_cost(plan: fusion.FusionPlan) -> float:
    """Estimated seconds to make ``plan``'s fused program in this process."""
    if TIER_COST is not None:
        return TIER_COST
    cost = 0.0 if fusion._kernels else NUMBA_START
    # The probes (usually cached on disk, each counted as one compiled kernel).
    cost += COLD_KERNEL[0] * ((_exact is None) + (_through_numpy is None))
    on_disk = fusion.cached_digests()
    for k in plan.kernels:
        base, per = CACHED_KERNEL if k.cached(on_disk) else COLD_KERNEL
        cost += base + per * k.size
    return cost


class Tier:
    """The tiering state of one compiled signature (see the module docstring)."""

    def __init__(self, program: Program,
                 build: Callable[[Program], tuple[Any, str | Callable[[], str]]]) -> None:
        self.program, self.build = program, build
        self.spent = 0.0
        self.calls = 0
        self.threshold = 0.0  # the estimated cost, once planned (PLAN_AFTER before)
        self.planned = False
        self._lock = threading.Lock()

    def account(self, seconds: float, compiled: Any) -> None:
        """Add one call's time; past the threshold, plan (once) and then fuse (once)."""
        self.spent += seconds  # a lost update under a race only delays the switch a little
        self.calls += 1
        limit = self.threshold if self.planned else PLAN_AFTER
        if self.spent < limit or not self._lock.acquire(blocking=False):
            return
        try:
            if compiled.tier is not self:
                return  # another thread finished meanwhile
            if not self.planned:
                self.planned = True
                # Before the probe has run (it needs numba) the plan assumes every kernel exact.
                plan = fusion.plan_fusion(self.program, fusible=_exact,
                                          through_numpy=_through_numpy or frozenset())
                if not plan.kernels:
                    compiled.tier = None  # nothing to fuse: stop counting
                    return
                self.threshold = fusion_cost(plan)
                if self.spent < self.threshold:
                    return
            self._switch(compiled)
        finally:
            self._lock.release()

    def _switch(self, compiled: Any) -> None:
        global tier_ups, failures
        compiled.tier = None
        try:
            plan = fusion.plan_fusion(self.program, fusible=exact_kernels(),
                                      through_numpy=numpy_loop_kernels())
            if not plan.kernels:
                return
            fused, source = self.build(plan.program())
        except Exception:  # noqa: BLE001  (a broken numba install: keep the NumPy code)
            failures += 1  # the results are the NumPy code's either way; only speed is lost
            return
        tiered = _finite_or_rerun(fused, compiled.fn)
        trial = _Trial((tiered, source), (compiled.fn, compiled.lazy_source)) if TRIAL else None
        compiled.fn, compiled.source = tiered, source
        compiled.tier = trial
        tier_ups += 1


class _Trial:
    """Runs the fused and the unfused program in turn, one call each, and keeps the one whose
    median time is smaller. Why a trial: a kernel call costs numba's dispatch (≈ 0.5 µs per
    array argument), so short groups on small arrays can lose to NumPy's in-place calls. Why
    in turn: on a shared VM the speed drifts by 10–20% within minutes, so the fused calls
    compared with the unfused calls made before them would measure the drift, and a gain of a
    few percent (W1's fused program: 2.5%) came out either way. Side by side, both see the
    same machine. Both give the same bits (tiering fuses only what keeps them), so which one
    runs a given call is invisible in the results."""

    def __init__(self, fused: tuple[Callable[..., Any], Any],
                 unfused: tuple[Callable[..., Any], Any]) -> None:
        self.sides = (fused, unfused)  # (function, source) each
        self.times: tuple[list[float], list[float]] = ([], [])
        self.skip = True  # the first fused call may still compile or load kernels

    def account(self, seconds: float, compiled: Any) -> None:
        global reverts
        side = 0 if compiled.fn is self.sides[0][0] else 1  # what this call ran (a race with
        if self.skip:                                        # another thread only blurs it)
            self.skip = False
        else:
            self.times[side].append(seconds)
        if compiled.tier is not self:
            return
        fused, unfused = self.times
        if min(len(fused), len(unfused)) >= TRIAL_CALLS and \
                sum(fused) + sum(unfused) >= TRIAL_TIME:
            compiled.tier = None
            keep = 0 if float(np.median(fused)) <= float(np.median(unfused)) else 1
            reverts += keep
            compiled.fn, compiled.source = self.sides[keep]
            return
        compiled.fn, compiled.source = self.sides[1 - side]  # the other one next


def _finite_or_rerun(fused: Callable[..., Any], unfused: Callable[..., Any]
                     ) -> Callable[..., Any]:
    def tiered(*args: Any) -> Any:
        out = fused(*args)
        for v in out:
            # A sum is one pass; it may overflow to inf on finite data, which only costs the
            # rerun (the same bits, from the unfused program).
            # (``v.sum()``, the method: 1.5 µs less per result than ``np.sum``.)
            if isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "fc" and \
                    not np.isfinite(v.sum()):
                return unfused(*args)
        return out
    return tiered


def exact_kernels() -> frozenset[tuple[Any, np.dtype]]:
    """The ``(primitive, dtype)`` pairs of :data:`fusion.KERNELS` whose numba loop gives
    NumPy's bits on the probe (module docstring); computed once per process."""
    global _exact
    with _probe_lock:
        if _exact is None:
            _exact = frozenset(pair for dtype in (np.float32, np.float64)
                               for pair in _probe(np.dtype(dtype)))
    return _exact


def numpy_loop_kernels() -> frozenset[tuple[Any, np.dtype]]:
    """The pairs of :data:`fusion.NUMPY_LOOPS` not in :func:`exact_kernels` whose fused
    kernel, calling NumPy's own loop (:mod:`tensorcalc.compile.ufunc_loops`), gives NumPy's
    bits on the probe; computed once per process (empty when the loops cannot be read)."""
    global _through_numpy
    exact = exact_kernels()
    with _probe_lock:
        if _through_numpy is None:
            found: list[tuple[Any, np.dtype]] = []
            for dtype in (np.dtype(np.float32), np.dtype(np.float64)):
                wanted = [p for p in fusion.NUMPY_LOOPS if (p, dtype) not in exact]
                try:
                    with own_kernels(False):  # the probe is of NumPy's functions, any size
                        found += _probe_numpy_loops(wanted, dtype)
                except (LookupError, ImportError, OSError):
                    pass  # another NumPy layout, or no numba: those stay NumPy calls
            _through_numpy = frozenset(found)
    return _through_numpy


def _probe_numpy_loops(prims: list[Any], dtype: np.dtype) -> list[tuple[Any, np.dtype]]:
    """Those of ``prims`` whose blocked kernel gives ``impl``'s bits on the probe values,
    element by element and one special value at a time."""
    from .fusion_blocks import probe_program

    a, _ = _probe_values(dtype)
    # The probe, as a 2-d array, exercises the blocks and the outer loop (block tails are
    # covered by tests/test_jit_fusion_blocks.py: 2¹⁴ has no divisor that leaves one).
    a = a.reshape(-1, 1 << 9)
    prog = probe_program(prims, a.shape, dtype)
    kernel = fusion.plan_fusion(prog, min_size=1, fusible=frozenset(),
                                through_numpy=frozenset((p, dtype) for p in prims)).program()
    fused = kernel.equations[0].primitive
    got = fused.impl(a) if fused.multiple_results else (fused.impl(a),)
    ok = []
    with np.errstate(all="ignore"):
        for p, g in zip(prims, got, strict=True):
            want = np.asarray(p.impl(a))
            one = np.concatenate([p.impl(v) for v in a.ravel()[:_SPECIALS].reshape(-1, 1)])
            if want.dtype == dtype and _same_bits(g, want) and \
                    _same_bits(g.ravel()[:_SPECIALS], one):
                ok.append((p, dtype))
    return ok


def _probe_values(dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(12345)
    info = np.finfo(dtype)
    special = np.array([0.0, -0.0, 1.0, -1.0, 0.5, np.inf, -np.inf, np.nan, info.tiny,
                        -info.tiny, info.tiny / 8, info.max, -info.max, info.eps, 710.0, -745.0,
                        88.5, -103.0, np.pi, -np.pi / 2, 1e22, 2.0 ** 60], dtype)
    assert special.size ** 2 == _SPECIALS
    n = (_PROBE_N - _SPECIALS) // 4
    with np.errstate(over="ignore"):
        parts = [special.repeat(special.size), rng.uniform(-1, 1, n), rng.uniform(-30, 30, n),
                 rng.standard_normal(n) * 10.0 ** rng.uniform(-8, 8, n),
                 np.exp(rng.uniform(-700, 700, n))]
        a = np.concatenate(parts).astype(dtype)
    b = np.concatenate([np.tile(special, special.size),
                        rng.permutation(a[special.size ** 2:])]).astype(dtype)
    return a, b


def _probe(dtype: np.dtype) -> list[tuple[Any, np.dtype]]:
    prims = list(fusion.KERNELS)
    arity = [2 if "{1}" in fusion.KERNELS[p] else 1 for p in prims]
    ctype = "np.float32" if dtype == np.float32 else "np.float64"
    body = [f"        o{j}[i] = {fusion.KERNELS[p].format('x', 'y', z='z')}"
            for j, p in enumerate(prims)]
    outs = ", ".join(f"o{j}" for j in range(len(prims)))
    src = "\n".join([
        "import math", "import numpy as np", "from numba import njit", "",
        "@njit(cache=True, error_model='numpy')", f"def _loop(a, b, {outs}):",
        f"    z = {ctype}(0.0)", "    for i in range(a.shape[0]):",
        "        x = a[i]", "        y = b[i]", *body, "",
        "def kernel(a, b):",
        f"    outs = [np.empty(a.shape, {ctype}) for _ in range({len(prims)})]",
        "    _loop(a, b, *outs)", "    return outs", ""])
    a, b = _probe_values(dtype)
    got = fusion._load(src)(a, b)
    exact = []
    with np.errstate(all="ignore"):
        for p, n, g in zip(prims, arity, got, strict=True):
            impl = PLAIN_STRONG_ZERO.get(p, p.impl)  # what jit's fast pass runs
            want = np.asarray(impl(a, b) if n == 2 else impl(a))
            # NumPy's scalar loops (short arrays, tails) may differ from its SIMD body (fmax
            # of -0): the special values are also computed one length-1 array at a time.
            one = np.concatenate([impl(a[i:i + 1], b[i:i + 1]) if n == 2 else impl(a[i:i + 1])
                                  for i in range(_SPECIALS)])
            if want.dtype == dtype and _same_bits(g, want) and _same_bits(g[:_SPECIALS], one):
                exact.append((p, dtype))
    return exact


def _same_bits(x: np.ndarray, y: np.ndarray) -> bool:
    nan = np.isnan(x)
    if not np.array_equal(nan, np.isnan(y)):
        return False
    ints = np.uint32 if x.dtype == np.float32 else np.uint64
    return bool(np.array_equal(x.view(ints)[~nan], y.view(ints)[~nan]))
