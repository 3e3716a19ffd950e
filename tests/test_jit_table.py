"""Long programs run as a table of steps (tensorcalc.compile.table) instead of compiled source.

The table calls the same ufuncs on the same operands and ``out=`` buffers in the same order as
the source, so its results are the source's bit for bit: checked on the whole op-record table
(the threshold lowered to 0, so every record's gradient runs as a table), with the call pool
reused by a second call, on the strong-zero check, and on a program long enough to take the
table by default. It frees what the source frees, where the source frees it (peak memory).
"""

from __future__ import annotations

import tracemalloc
import zlib

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.compile.pool as pool_mod
import tensorcalc.numpy as tnp
from tensorcalc.compile import codegen, table
from tensorcalc.core.tree import tree_flatten
from tests.records import all_records
from tests.test_jit_pool import strong_zero_gradient_gives_the_pool_back
from tests.test_jit_records import record_gradient_and_jit

RECORDS = all_records()


@pytest.fixture(autouse=True)
def _numpy_code(monkeypatch):
    """Keep each signature on its NumPy code (no tier-up to fused kernels midway)."""
    monkeypatch.setenv("TENSORCALC_JIT_FUSE", "0")


def _is_table(jitted) -> bool:
    return jitted._last.fn.__code__.co_name == "run_table"


def _assert_same_bits(got, want):
    for a, b in zip(tree_flatten(got)[0], tree_flatten(want)[0], strict=True):
        assert type(a) is type(b)
        np.testing.assert_array_equal(a, b)
        assert np.asarray(a).dtype == np.asarray(b).dtype


@pytest.mark.parametrize("rec", RECORDS, ids=[r.id for r in RECORDS])
def test_record_gradients_as_a_table_give_the_source_bits(rec, monkeypatch):
    monkeypatch.setattr(pool_mod, "POOL_MIN_BYTES", 0)  # pool buffers of any size
    g, args, want = record_gradient_and_jit(rec, np.random.default_rng(zlib.crc32(
        rec.id.encode())))
    monkeypatch.setattr(table, "TABLE_ABOVE", 0)
    j = tc.jit(g)
    first = j(*args)
    assert _is_table(j) or not j._last.program.equations
    kept = [np.array(a, copy=True) for a in tree_flatten(first)[0]]
    second = j(*args)  # on the buffers the first call left in the pool
    _assert_same_bits(first, want)
    _assert_same_bits(second, want)
    for a, b in zip(tree_flatten(first)[0], kept, strict=True):
        np.testing.assert_array_equal(a, b)  # the second call left the first's results alone


def _chain(rounds):
    def f(x):
        for _ in range(rounds):
            x = tnp.tanh(tnp.sin(x) * 0.9 + 0.1)
        return tnp.sum(x)
    return f


def test_a_long_program_runs_as_a_table_with_the_bits_of_its_source():
    x = np.linspace(-1.0, 1.0, 16)
    g = tc.jit(tc.grad(_chain(2500)))
    got = g(x)
    compiled = g._last
    assert _is_table(g) and len(compiled.program.equations) > table.TABLE_ABOVE
    assert compiled._source is None  # not written until asked for
    fn, _ = codegen.compile_program(compiled.program, "f", plain_strong_zeros=True)
    (want,) = fn(x)
    _assert_same_bits(got, want)
    # The source it shows is the compact straight-line source of the same program.
    src = g.source()
    assert src.startswith("def jit_grad_f(x1):") and " *= " in src
    np.testing.assert_allclose(got, tc.grad(_chain(2500))(x), rtol=1e-13)


def test_the_table_frees_what_the_source_frees(monkeypatch):
    """Peak traced memory of one call, table against source, on large arrays: a register set
    to None where the source has ``del`` keeps the same arrays alive at every step. (The
    source's recycled results are turned off: the table does not recycle, so the source
    would allocate its result one call less.)"""
    monkeypatch.setenv("TENSORCALC_JIT_RECYCLE", "0")
    x = np.linspace(-1.0, 1.0, 50_000)  # 400 KB per array
    g = tc.grad(_chain(40))

    def peak(fn):
        fn(x)  # warm: the pool is made on the first call
        tracemalloc.start()
        try:
            fn(x)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    for pool in (True, False):
        source = tc.jit(g, pool=pool)
        source(x)
        assert not _is_table(source)
        with pytest.MonkeyPatch.context() as m:
            m.setattr(table, "TABLE_ABOVE", 0)
            as_table = tc.jit(g, pool=pool)
            as_table(x)
        assert _is_table(as_table)
        _assert_same_bits(as_table(x), source(x))
        want, got = peak(source), peak(as_table)
        assert abs(got - want) < 0.5 * x.nbytes, (pool, got, want)
        assert (want < 3 * x.nbytes) == pool  # (the pool holds the buffers between calls)


def test_the_strong_zero_signal_in_a_table_gives_the_pool_back_first(monkeypatch):
    """The NaN of sqrt′(0) · 0, checked where the product is made: the table raises jit's
    signal after putting its pool back, and the checked rerun gives the strong-zero result."""
    monkeypatch.setattr(pool_mod, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(table, "TABLE_ABOVE", 0)
    g, got = strong_zero_gradient_gives_the_pool_back()
    assert _is_table(g) and g._last.nan_checks
    assert "_give(_pool); raise _StrongZeroNaN" in g.source()
    assert np.all(np.isfinite(got[0])) and len(g._last.fn.pools) == 1


def test_a_loop_in_a_table_keeps_its_generated_statements(monkeypatch):
    """A ``scan`` is emitted as several statements: in a table it becomes a function of its
    operands with those statements, compiled with the table's other non-ufunc equations."""
    def f(x):
        def body(c, xi):
            return c * tnp.sin(xi) + 1.0, c * xi
        c, ys = tc.lax.scan(body, tnp.sum(x), x)
        return c + tnp.sum(tnp.reshape(ys, (2, 3)).T ** 2)

    x = np.linspace(0.1, 0.9, 6)
    want = tc.jit(tc.grad(f))(x)
    monkeypatch.setattr(table, "TABLE_ABOVE", 0)
    j = tc.jit(tc.grad(f))
    _assert_same_bits(j(x), want)
    assert _is_table(j)


def test_a_table_takes_the_arguments_the_source_takes(monkeypatch):
    monkeypatch.setattr(table, "TABLE_ABOVE", 0)
    fn = table.table_program(tc.jit(lambda a, b: a * b + 1.0).program(np.ones(3), np.ones(3)))
    np.testing.assert_array_equal(fn(np.arange(3.0), np.ones(3))[0], [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="takes 2 arguments"):
        fn(np.ones(3))


def test_tables_off_compile_the_source(monkeypatch):
    monkeypatch.setattr(table, "TABLE_ABOVE", 0)
    monkeypatch.setenv("TENSORCALC_JIT_TABLE", "0")
    j = tc.jit(lambda a: tnp.sin(a) * 2.0)
    np.testing.assert_array_equal(j(np.ones(3)), np.sin(np.ones(3)) * 2.0)
    assert not _is_table(j) and j._last._source is not None


def test_fused_kernels_run_in_a_table(monkeypatch):
    """``jit(fuse=True)``: the fused kernels are equations that are not one ufunc call, so a
    table calls each through its own compiled function, with the same bits as the source."""
    from tensorcalc.compile.fusion import numba_available

    if not numba_available():
        pytest.skip("numba (the fast extra) is not installed")

    def f(x):
        for _ in range(5):
            x = tnp.tanh(tnp.sin(x) * 0.9 + 0.1)
        return tnp.sum(x * x)

    x = np.linspace(-1.0, 1.0, 64)
    want = tc.jit(tc.grad(f), fuse=True)(x)
    monkeypatch.setattr(table, "TABLE_ABOVE", 0)
    j = tc.jit(tc.grad(f), fuse=True)
    _assert_same_bits(j(x), want)
    assert _is_table(j) and "fused" in j.source()


def test_a_table_program_tiers_up_without_writing_its_source(monkeypatch):
    """Tiered fusion keeps the unfused table for a switch back without writing its source
    (at 10⁵ equations that costs a second), and builds the fused program as a table too."""
    from tensorcalc.compile import tiering
    from tensorcalc.compile.fusion import numba_available

    if not numba_available():
        pytest.skip("numba (the fast extra) is not installed")
    monkeypatch.delenv("TENSORCALC_JIT_FUSE")
    monkeypatch.setattr(tiering, "PLAN_AFTER", 0.0)
    monkeypatch.setattr(tiering, "TIER_COST", 0.0)
    monkeypatch.setattr(tiering, "TRIAL_CALLS", 1 << 60)  # a trial that never ends
    monkeypatch.setattr(table, "TABLE_ABOVE", 0)

    def f(x):
        for _ in range(4):
            x = tnp.sin(x) * 0.9 + tnp.cos(x) * 0.1
        return tnp.sum(x * x)

    x = np.linspace(-1.0, 1.0, 64)
    want = tc.jit(tc.grad(f), fuse=False)(x)
    j = tc.jit(tc.grad(f))
    for _ in range(3):
        _assert_same_bits(j(x), want)
    (compiled,) = j.cache.values()
    trial = compiled.tier  # in its trial: the fused and the unfused table take turns
    (fused, fused_source), (unfused, unfused_source) = trial.sides
    assert unfused.__code__.co_name == "run_table"
    assert callable(fused_source) and callable(unfused_source)  # neither source written
    assert "fused[" in fused_source() and "fused[" not in unfused_source()
