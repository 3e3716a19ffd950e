"""``jit(fuse=True)``: elementwise chains compiled into one Numba loop give the results of the
unfused code — bitwise for ``+ − × ÷`` (IEEE-exact, same order), within 1e-15 relative for the
transcendental functions (the C library instead of NumPy's SIMD versions) — on the op-record
table's elementwise rows, in float64 and float32, with strong zeros and BLAS calls untouched."""

import sys

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.compile import fusion
from tests.concurrency import isolated_kernel_cache
from tests.records import elementwise as ew_records

numba = pytest.importorskip("numba", reason="fusion needs numba (the 'fast' extra)")


_kernel_cache = isolated_kernel_cache("fused")


def _both(fun, *args, **kw):
    plain = tc.jit(fun, fuse=False, **kw)
    fused = tc.jit(fun, fuse=True, **kw)
    return plain(*args), fused(*args), fused


def _arith(x, y):
    for _ in range(4):
        x = (x * 0.75 + y) / (1.5 - y * x) - 0.25 * x
    return tnp.sum(x * y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_arithmetic_chain_is_bitwise_identical(rng, dtype):
    x, y = (rng.uniform(-0.5, 0.5, (3, 7)).astype(dtype) for _ in range(2))
    g = tc.grad(_arith, argnums=(0, 1))
    (px, py), (fx, fy), fused = _both(g, x, y)
    assert "fused[" in fused.source(x, y)
    assert fx.dtype == px.dtype == dtype
    np.testing.assert_array_equal(fx, px)
    np.testing.assert_array_equal(fy, py)


def _trig(x):
    for _ in range(3):
        x = tnp.tanh(tnp.sin(x) * 0.9 + tnp.exp(-x * x)) + tnp.sqrt(tnp.abs(x) + 1.0)
    return tnp.sum(tnp.log(tnp.cos(x) + 2.0) + tnp.maximum(x, 0.1) - tnp.minimum(x, -0.1))


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-5)])
def test_transcendental_chain_and_its_gradient_agree(rng, dtype, rtol):
    # A few ulp per function, compounded along a 30-operation chain and its derivative (the
    # single-operation bound, 1e-15, is checked on the op-record rows below).
    x = rng.standard_normal(50).astype(dtype)
    for fun in (_trig, tc.grad(_trig)):
        p, f, _ = _both(fun, x)
        assert np.asarray(f).dtype == np.asarray(p).dtype
        np.testing.assert_allclose(f, p, rtol=rtol, atol=0)


_FUSIBLE_ROWS = [r for r in ew_records.RECORDS if r.id.endswith(str(ew_records.SHAPES[-1]))]


@pytest.mark.parametrize("rec", _FUSIBLE_ROWS, ids=lambda r: r.id)
def test_op_record_rows_fused_equal_unfused(rec):
    args = rec.args(np.random.default_rng(0))
    x = args[0]
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        pytest.skip("a row without a float array argument")

    def loss(*a):
        return tnp.sum(rec.fn(*a) * tnp.sin(a[0]))
    p, f, _ = _both(tc.grad(loss), *args)
    np.testing.assert_allclose(f, p, rtol=1e-15, atol=1e-300)


def test_views_are_read_where_they_lie(rng):
    # Kernels index their operands with the strides they have: a transpose, a strided slice and
    # a broadcast row, with no copies, give the unfused bits.
    x = rng.uniform(-1, 1, (6, 8))[:, ::2]
    y = rng.uniform(-1, 1, (4, 6))

    def f(x, y):
        return (x.T * 0.5 + y) / (1.5 - y * x.T) + tnp.broadcast_to(y[0], (4, 6)) * x.T
    p, f_, fused = _both(f, x, y)
    assert "fused[" in fused.source(x, y)
    np.testing.assert_array_equal(f_, p)


def test_strong_zeros_survive_fusion(rng):
    # sqrt′(0) = ∞ in the untaken branch: the fused fast pass makes 0 · ∞ = NaN, its result is
    # scanned and the checked, unfused program reruns.
    x = np.array([0.0, 1.0, -2.0, 4.0, 0.0])

    def f(x):
        return tnp.sum(tnp.where(x > 0, tnp.sqrt(tnp.where(x > 0, x, 0.0)), 0.0) * tnp.cos(x))
    p, f_, fused = _both(tc.grad(f), x)
    assert "fused[" in fused.source(x)
    np.testing.assert_array_equal(f_, p)
    assert np.all(np.isfinite(f_)) and f_[0] == 0.0


def test_matmul_stays_blas_and_buffers_are_still_reused(rng):
    W1, W2 = rng.standard_normal((6, 8)), rng.standard_normal((8, 3))
    x = rng.standard_normal((5, 6))

    def loss(W1, W2):
        h = tnp.tanh(x @ W1) * 0.5 + tnp.sin(x @ W1)
        return tnp.sum(tnp.exp(-(h @ W2) ** 2))
    g = tc.grad(loss, argnums=(0, 1))
    (p1, p2), (f1, f2), fused = _both(g, W1, W2)
    src = fused.source(W1, W2)
    assert "np.matmul(" in src and "fused[" in src and "out=" in src
    np.testing.assert_allclose(f1, p1, rtol=1e-14)
    np.testing.assert_allclose(f2, p2, rtol=1e-14)


def test_fusion_is_linear_and_leaves_other_programs_alone(rng):
    prog = tc.trace(lambda x: tnp.sum(x, axis=0) @ x, rng.standard_normal((3, 3)))
    assert fusion.fuse_elementwise(prog).equations == prog.equations


def test_kernels_are_cached_on_disk(rng, tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORCALC_CACHE_DIR", str(tmp_path))
    x = rng.standard_normal(4)
    tc.jit(lambda x: tnp.sin(x) * 3.25 + tnp.cos(x) / 7.5, fuse=True)(x)
    assert list((tmp_path / "fused").glob("tc_fused_*.py"))


def test_fuse_without_numba_is_a_clear_error(monkeypatch):
    jit_module = sys.modules["tensorcalc.compile.jit"]  # the package's `jit` shadows the name
    monkeypatch.setattr(jit_module, "numba_available", lambda: False)
    with pytest.raises(ImportError, match="numba"):
        tc.jit(lambda x: x, fuse=True)
    monkeypatch.setenv("TENSORCALC_JIT_FUSE", "1")
    assert not tc.jit(lambda x: x).fuse  # the environment switch falls back to NumPy code
