"""Tiered fusion, the default ``jit`` with numba installed: a signature runs unfused until the
time spent in it reaches the cost of fusing, then switches to fused kernels of only the
operations a probe found bitwise NumPy's — so its results never change, in any bit, when it
switches. Thresholds are monkeypatched tiny here; the defaults make tier-up rare."""

import sys
import threading
import time

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc import nn
from tensorcalc.compile import fusion, tiering
from tensorcalc.ops import elementwise as ew
from tests.concurrency import isolated_kernel_cache
from tests.records import elementwise as ew_records

numba = pytest.importorskip("numba", reason="fusion needs numba (the 'fast' extra)")
jit_module = sys.modules["tensorcalc.compile.jit"]  # the package's `jit` shadows the name


_kernel_cache = isolated_kernel_cache("tiered")


@pytest.fixture
def eager_tiers(monkeypatch):
    """Tier up at the first call and never time the fused program (no speed-dependent
    switch back in these tests)."""
    monkeypatch.delenv("TENSORCALC_JIT_FUSE", raising=False)
    monkeypatch.setattr(tiering, "PLAN_AFTER", 0.0)
    monkeypatch.setattr(tiering, "TIER_COST", 0.0)
    monkeypatch.setattr(tiering, "TRIAL", False)


def _compiled(f):
    (c,) = f.cache.values()
    return c


def _mixed(x):
    for _ in range(3):
        x = tnp.tanh(tnp.sin(x) * 0.9 + 0.1) * tnp.exp(-x * x) + tnp.sqrt(tnp.abs(x) + 1.0)
        x = tnp.maximum(x, 0.2) - tnp.minimum(x, -0.1) / (1.5 + tnp.cos(x))
    return tnp.sum(tnp.log(x + 3.0) + nn.relu(x - 1.0))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tiers_up_after_enough_time_and_keeps_every_bit(rng, eager_tiers, monkeypatch, dtype):
    x = rng.standard_normal(40).astype(dtype)
    want = tc.jit(tc.grad(_mixed), fuse=False)(x)
    g = tc.jit(tc.grad(_mixed))
    assert g.tiered and not g.fuse
    monkeypatch.setattr(tiering, "PLAN_AFTER", float("inf"))  # not yet paid for
    before = tiering.tier_ups
    for _ in range(3):
        np.testing.assert_array_equal(g(x), want)
    assert "fused[" not in g.source() and tiering.tier_ups == before
    monkeypatch.setattr(tiering, "PLAN_AFTER", 0.0)
    g(x)  # this call's time crosses the threshold: the next ones run fused
    assert "fused[" in g.source() and tiering.tier_ups == before + 1
    assert _compiled(g).tier is None  # no trial (eager_tiers): the fused program stays
    for _ in range(3):
        got = g(x)
        assert got.dtype == dtype
        assert got.tobytes() == want.tobytes()  # bitwise, the sign of zeros included


def test_only_operations_the_probes_found_exact_are_fused(rng, eager_tiers):
    """Inline where numba's expression is NumPy's bits, through NumPy's own loop where only
    that is, and not at all otherwise."""
    x = rng.standard_normal(16)
    g = tc.jit(tc.grad(_mixed))
    g(x)
    exact, through = tiering.exact_kernels(), tiering.numpy_loop_kernels()
    assert not exact & through
    plan = fusion.plan_fusion(g.program(), fusible=exact, through_numpy=through)
    fused_away = {id(v) for k in plan.kernels for v in k.outs}
    src = g.source()
    f64 = np.dtype(np.float64)
    for eq in g.program().equations:
        if eq.primitive in fusion.KERNELS and (eq.primitive, f64) not in exact | through:
            assert id(eq.outputs[0]) not in fused_away
    assert src.count("fused[") == len(plan.kernels)
    unfused = tc.jit(tc.grad(_mixed), fuse=False)
    unfused(x)
    for p in (ew.tanh_p, ew.sin_p, ew.exp_p):
        if (p, f64) in through:  # fused through NumPy's loop: no NumPy call left for it
            assert f"# {p.name}\n" in unfused.source() and f"# {p.name}\n" not in src
            assert any("call_loop(" in k.src for k in plan.kernels)
    np.testing.assert_array_equal(g(x), unfused(x))


def test_the_probe_finds_ieee_operations_exact_and_rejects_a_wrong_kernel(monkeypatch):
    exact = tiering.exact_kernels()
    for dtype in (np.float32, np.float64):
        for p in (ew.add_p, ew.sub_p, ew.mul_p, ew.div_p, ew.neg_p, ew.sqrt_p, ew.abs_p,
                  ew.maximum_p, ew.minimum_p):
            assert (p, np.dtype(dtype)) in exact, (p, dtype)
    monkeypatch.setitem(fusion.KERNELS, ew.sin_p, "math.cos({0})")
    monkeypatch.setitem(fusion.KERNELS, ew.maximum_p, "({0} if {0} >= {1} else {1})")
    monkeypatch.setattr(tiering, "_exact", None)
    wrong = tiering.exact_kernels()
    for dtype in (np.float32, np.float64):
        assert (ew.sin_p, np.dtype(dtype)) not in wrong
        assert (ew.maximum_p, np.dtype(dtype)) not in wrong  # max(0, -0) is -0 in NumPy
        assert (ew.add_p, np.dtype(dtype)) in wrong


def test_a_program_with_nothing_to_fuse_never_compiles_kernels(rng, eager_tiers, monkeypatch):
    def no_numba(*a, **k):
        raise AssertionError("a kernel was compiled")
    monkeypatch.setattr(fusion, "_load", no_numba)
    monkeypatch.setattr(tiering, "exact_kernels", no_numba)
    A = rng.standard_normal((4, 4))
    g = tc.jit(tc.grad(lambda A: tnp.sum(tnp.sum(A, axis=0) @ A)))
    for _ in range(3):
        np.testing.assert_allclose(g(A), tc.grad(lambda A: tnp.sum(tnp.sum(A, axis=0) @ A))(A))
    assert _compiled(g).tier is None and "fused[" not in g.source()


def test_a_second_thread_runs_unfused_while_the_first_fuses(rng, eager_tiers, monkeypatch):
    x = rng.standard_normal(32)
    want = tc.jit(tc.grad(_mixed), fuse=False)(x)
    started, release = threading.Event(), threading.Event()
    program = fusion.FusionPlan.program

    def slow_program(self):
        started.set()
        assert release.wait(60)
        return program(self)
    monkeypatch.setattr(fusion.FusionPlan, "program", slow_program)
    g = tc.jit(tc.grad(_mixed))
    got: list = []
    first = threading.Thread(target=lambda: got.append(g(x)))
    first.start()
    assert started.wait(60)
    for _ in range(5):  # meanwhile: no waiting, no half-built program, the same bits
        assert g(x).tobytes() == want.tobytes()
    assert "fused[" not in g.source()
    release.set()
    first.join(60)
    assert got[0].tobytes() == want.tobytes()
    assert "fused[" in g.source() and g(x).tobytes() == want.tobytes()


def test_strong_zero_rerun_and_warnings_still_work_after_tier_up(eager_tiers):
    x = np.array([0.0, 1.0, -2.0, 4.0, 0.0])

    def f(x):  # sqrt′(0) = ∞ in the untaken branch: 0 · ∞ in the fast pass
        return tnp.sum(tnp.where(x > 0, tnp.sqrt(tnp.where(x > 0, x, 0.0)), 0.0) * tnp.cos(x))
    want = tc.jit(tc.grad(f), fuse=False)(x)
    g = tc.jit(tc.grad(f))
    for _ in range(3):
        np.testing.assert_array_equal(g(x), want)
    assert "fused[" in g.source() and np.all(np.isfinite(want))

    h = tc.jit(lambda x: tnp.log(x) * 2.0 + 1.0)
    h(np.ones(3))
    assert "fused[" in h.source()
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        out = h(np.array([0.0, 1.0, 2.0]))
    assert out[0] == -np.inf
    s = tc.jit(lambda x: tnp.sum(tnp.log(x) * 2.0 + 1.0))  # a NumPy scalar result
    s(np.ones(3))
    assert "fused[" in s.source()
    with pytest.warns(RuntimeWarning, match="divide by zero"):
        assert s(np.array([0.0, 1.0, 2.0])) == -np.inf


def test_a_failing_numba_keeps_the_numpy_code(rng, eager_tiers, monkeypatch):
    def broken(*a, **k):
        raise RuntimeError("numba is broken")
    monkeypatch.setattr(fusion, "_load", broken)
    monkeypatch.setattr(tiering, "_exact", frozenset(
        (p, np.dtype(d)) for p in fusion.KERNELS for d in (np.float32, np.float64)))
    x = rng.standard_normal(8)
    want = tc.jit(tc.grad(_mixed), fuse=False)(x)
    g = tc.jit(tc.grad(_mixed))
    failures = tiering.failures
    for _ in range(3):
        assert g(x).tobytes() == want.tobytes()
    assert tiering.failures == failures + 1 and _compiled(g).tier is None


def _slowed(fn, seconds):
    def slow(*args):
        time.sleep(seconds)
        return fn(*args)
    return slow


@pytest.mark.parametrize("slower", ["fused", "unfused"])
def test_the_trial_keeps_the_faster_program(rng, eager_tiers, monkeypatch, slower):
    # The fused and the unfused program take turns; the one with the smaller median stays.
    monkeypatch.setattr(tiering, "TRIAL", True)
    monkeypatch.setattr(tiering, "TRIAL_CALLS", 3)
    monkeypatch.setattr(tiering, "TRIAL_TIME", 0.0)
    x = rng.standard_normal(8)
    want = tc.jit(lambda x: tnp.sin(x) * 2.0 + x * x, fuse=False)(x)
    g = tc.jit(lambda x: tnp.sin(x) * 2.0 + x * x)
    g(x)  # tiers up at once (eager_tiers), and this first fused call is not timed
    compiled = _compiled(g)
    trial = compiled.tier
    assert isinstance(trial, tiering._Trial) and "fused[" in g.source()
    (fused, fused_src), (unfused, unfused_src) = trial.sides
    if slower == "fused":
        fused = _slowed(fused, 0.003)
        compiled.fn = fused
    else:
        unfused = _slowed(unfused, 0.003)
    trial.sides = ((fused, fused_src), (unfused, unfused_src))
    ran = []
    reverts = tiering.reverts
    for _ in range(12):
        ran.append("fused[" in g.source())
        assert g(x).tobytes() == want.tobytes()  # either program: the same bits
    assert compiled.tier is None
    assert ran[:6] == [True, False] * 3  # in turn until each side has its three calls
    if slower == "fused":
        assert "fused[" not in g.source() and tiering.reverts == reverts + 1
    else:
        assert "fused[" in g.source() and tiering.reverts == reverts


def test_switches(monkeypatch):
    f = tnp.sin
    monkeypatch.delenv("TENSORCALC_JIT_FUSE", raising=False)
    assert tc.jit(f).tiered and not tc.jit(f).fuse
    assert not tc.jit(f, fuse=False).tiered and not tc.jit(f, fuse=True).tiered
    monkeypatch.setenv("TENSORCALC_JIT_FUSE", "0")
    assert not tc.jit(f).tiered and not tc.jit(f).fuse
    monkeypatch.setenv("TENSORCALC_JIT_FUSE", "1")
    assert tc.jit(f).fuse and not tc.jit(f).tiered


def test_without_numba_nothing_changes(rng, eager_tiers, monkeypatch):
    monkeypatch.setattr(jit_module, "numba_available", lambda: False)
    g = tc.jit(tc.grad(_mixed))
    assert not g.tiered
    x = rng.standard_normal(8)
    for _ in range(3):
        g(x)
    assert _compiled(g).tier is None and "fused[" not in g.source()


def test_relu_fuses_with_fmax_semantics(eager_tiers):
    x = np.array([-2.0, -0.0, 0.0, 3.0, np.nan, np.inf, -np.inf, 0.5])

    def f(x):
        return nn.relu(x * 2.0 - 0.5) * 3.0 + nn.relu(-x)
    for dtype in (np.float64, np.float32):
        xs = x.astype(dtype)
        want = tc.jit(f, fuse=False)(xs)
        fused = tc.jit(f, fuse=True)
        got = fused(xs)
        assert "fused[" in fused.source() and got.dtype == dtype
        np.testing.assert_array_equal(got, want)  # NaN → 0, as np.fmax(x, 0)
        assert not np.isnan(got).any()


_ROWS = [r for r in ew_records.RECORDS if r.id.endswith(str(ew_records.SHAPES[-1]))]


@pytest.mark.parametrize("rec", _ROWS, ids=lambda r: r.id)
def test_op_record_rows_tiered_are_bitwise_unfused(rec, eager_tiers):
    args = rec.args(np.random.default_rng(0))
    if not isinstance(args[0], np.ndarray) or args[0].dtype.kind != "f":
        pytest.skip("a row without a float array argument")

    def loss(*a):
        return tnp.sum(rec.fn(*a) * tnp.sin(a[0]) + a[0] * a[0])
    want = tc.jit(tc.grad(loss), fuse=False)(*args)
    g = tc.jit(tc.grad(loss))
    for _ in range(2):
        assert g(*args).tobytes() == want.tobytes()
    assert "fused[" in g.source()
