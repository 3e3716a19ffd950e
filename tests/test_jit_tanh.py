"""jit's own float64 ``tanh`` (src/tensorcalc/ops/_tanh_kernel.py): within 2 ulp of the exact
value and of NumPy's everywhere (checked against an 80-bit reference), NumPy's special values,
any strides and in place; jit runs it from TANH_KERNEL_FROM entries on, in generated code and
tables alike, never fused (so tier-up never changes a result); small arrays, float32, eager
code, ``fuse=False`` and ``TENSORCALC_TANH=numpy`` get NumPy's."""

import os
import subprocess
import sys

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.compile import fusion, table, tiering
from tensorcalc.ops import elementwise as ew
from tensorcalc.ops._base import kernel_module
from tests.concurrency import isolated_kernel_cache

BIG = ew.TANH_KERNEL_FROM
_MODULE = kernel_module("TENSORCALC_TANH", "tensorcalc.ops._tanh_kernel")
pytestmark = pytest.mark.skipif(_MODULE is None,
                                reason="jit's tanh kernel needs numba (the 'fast' extra)")
_kernel_cache = isolated_kernel_cache("tanh")


@pytest.fixture(autouse=True)
def _jit_runs_the_kernel(monkeypatch):
    """jit's choice as on a CPU where NumPy's float64 tanh is a scalar loop (on one with
    AVX-512 jit keeps NumPy's: test_the_choice_follows_numpy_s_loop_and_the_switch)."""
    monkeypatch.setattr(ew, "_jit_tanh", _MODULE)


def _kernel():
    return ew.jit_tanh(np.float64, BIG)


def test_the_choice_follows_numpy_s_loop_and_the_switch(monkeypatch):
    for vectorized, env, want in ((False, "", _MODULE), (True, "", None),
                                  (True, "kernel", _MODULE), (False, "numpy", None)):
        monkeypatch.setattr(ew, "_jit_tanh", False)
        monkeypatch.setattr(ew, "numpy_tanh_is_vectorized", lambda v=vectorized: v)
        monkeypatch.setenv("TENSORCALC_TANH", env)
        assert ew.jit_tanh(np.float64, BIG) is want, (vectorized, env)
        assert ew.jit_tanh(np.float64, BIG - 1) is None
        assert ew.jit_tanh(np.float32, BIG) is None


def _wide(n=200_000):
    rng = np.random.default_rng(3)
    return np.concatenate([
        rng.uniform(-1, 1, n), rng.uniform(-25, 25, n),
        rng.standard_normal(n) * 10.0 ** rng.uniform(-300, 3, n),
        np.nextafter(0.625, [-1.0, 2.0]), -np.nextafter(0.625, [-1.0, 2.0]),
        [0.625, -0.625, 18.0, 19.1, 372.0, 374.0, 709.0, 711.0]])


def _ulps(got, ref):
    """|got − ref| in units of the last place of ``got`` (``ref`` in long double)."""
    return np.abs(got.astype(np.longdouble) - ref) / np.spacing(np.abs(got)).astype(np.longdouble)


def test_within_two_ulp_of_the_exact_value_and_of_numpy_s():
    x = _wide()
    got = _kernel().tanh_into(x)
    exact = np.tanh(x.astype(np.longdouble))
    if np.finfo(np.longdouble).nmant < 60:
        pytest.skip("long double is no wider than double here: no reference to check against")
    nonzero = exact != 0
    assert _ulps(got[nonzero], exact[nonzero]).max() <= 2.0
    assert _ulps(got, np.tanh(x).astype(np.longdouble)).max() <= 2.0
    assert np.max(np.abs(got - np.tanh(x)) / np.abs(np.tanh(x)).clip(1e-300)) <= 1e-15


def test_special_values_are_numpy_s():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 2.2250738585072014e-308,
                  1e-200, -1e-17, 374.0, -374.0, 1e300, -np.finfo(float).max])
    got = _kernel().tanh_into(x)
    want = np.tanh(x)
    np.testing.assert_array_equal(got, want)  # (NaN where NaN)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))  # −0 stays −0


def test_shapes_strides_scalars_and_in_place():
    tanh_into = _kernel().tanh_into
    x = np.linspace(-3, 3, 60).reshape(3, 4, 5)
    want = tanh_into(x.copy())
    np.testing.assert_array_equal(tanh_into(x[:, ::2, 1:]), want[:, ::2, 1:])
    out = np.empty((3, 4, 5))
    assert tanh_into(x, out) is out
    np.testing.assert_array_equal(out, want)
    y = x.copy()
    tanh_into(y, y)
    np.testing.assert_array_equal(y, want)
    strided = np.empty((3, 8, 5))[:, ::2]
    tanh_into(x, strided)
    np.testing.assert_array_equal(strided, want)
    r = tanh_into(np.float64(0.5))
    assert type(r) is np.float64 and r == tanh_into(np.array([0.5]))[0]
    assert type(tanh_into(np.array(0.5))) is np.float64
    assert tanh_into(np.empty((0, 3))).shape == (0, 3)


def test_jit_runs_it_for_large_float64_and_numpy_s_elsewhere():
    x = _wide(BIG)[:BIG * 3]
    f = tc.jit(lambda v: tnp.tanh(v * 1.0))
    np.testing.assert_array_equal(f(x), _kernel().tanh_into(x))
    assert not np.array_equal(_kernel().tanh_into(x), np.tanh(x))  # (the test can tell)
    small = x[:BIG - 1].copy()
    np.testing.assert_array_equal(f(small), np.tanh(small))  # below the bound: NumPy's
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(f(x32), np.tanh(x32))
    np.testing.assert_array_equal(tnp.tanh(x), np.tanh(x))  # eager is NumPy's
    np.testing.assert_array_equal(tc.jit(tnp.tanh, fuse=False)(x), np.tanh(x))
    assert "_tanh64(" in f.source(x) and "_tanh64(" not in f.source(small)


def _chain(v):
    for _ in range(5):
        v = tnp.tanh(tnp.sin(v) * 0.9 + 0.1) * 1.5
    return tnp.sum(v * v)


@pytest.mark.parametrize("shape", [(BIG,), (3, BIG // 2 + 1), (2, 3, BIG)])
def test_plain_fused_tiered_and_table_give_the_same_bits(shape, monkeypatch):
    x = np.random.default_rng(4).uniform(-3, 3, shape)
    g = tc.grad(_chain)
    monkeypatch.setattr(tiering, "TIER_COST", 1e9)  # the default's NumPy code, never fused
    unfused = tc.jit(g)
    plain = unfused(x)
    assert "_tanh64(" in unfused.source(x)
    fused = tc.jit(g, fuse=True)
    src = fused.source(x)
    assert "fused[" in src and "_tanh64(" in src  # the rest fuses around the kernel calls
    np.testing.assert_array_equal(fused(x), plain)
    monkeypatch.setattr(tiering, "TIER_COST", 0.0)
    monkeypatch.setattr(tiering, "PLAN_AFTER", 0.0)
    ups = tiering.tier_ups
    tiered = tc.jit(g)
    results = [tiered(x) for _ in range(4)]
    assert tiering.tier_ups == ups + 1  # (the trial may then go back, when fused is slower)
    for r in results:
        np.testing.assert_array_equal(r, plain)
    monkeypatch.setattr(tiering, "TIER_COST", 1e9)
    monkeypatch.setattr(table, "TABLE_ABOVE", 0)  # every program a table of steps
    np.testing.assert_array_equal(tc.jit(g)(x), plain)
    # fuse=False is NumPy's code throughout: eager evaluation's bits, as a table too
    np.testing.assert_array_equal(tc.jit(g, fuse=False)(x), g(x))
    monkeypatch.setattr(table, "TABLE_ABOVE", 10**9)
    np.testing.assert_array_equal(tc.jit(g, fuse=False)(x), g(x))
    np.testing.assert_allclose(plain, g(x), rtol=1e-12, atol=1e-14)  # the gradient is right


def test_derivatives_under_jit_to_order_2():
    x = np.random.default_rng(5).uniform(-2, 2, (2, BIG // 2))
    tc.check_grads(tc.jit(lambda v: tnp.sum(tnp.tanh(v) ** 3)), (x,), order=2,
                   modes=("fwd", "rev"))


def test_a_large_tanh_is_never_fused_and_a_small_one_may_be():
    for n, fused in ((BIG, False), (16, True)):
        x = np.linspace(-1, 1, n)
        prog = tc.jit(lambda v: tnp.tanh(v * 2.0) + 1.0).program(x)
        kernels = fusion.plan_fusion(prog, min_size=1).kernels
        assert any("tanh" in k.src for k in kernels) == fused


def test_the_switch_keeps_numpy_s_tanh_under_jit():
    code = ("import numpy as np, tensorcalc as tc, tensorcalc.numpy as tnp\n"
            f"x = np.linspace(-3, 3, {BIG})\n"
            "print(np.array_equal(tc.jit(tnp.tanh)(x), np.tanh(x)))\n")
    env = dict(os.environ, TENSORCALC_TANH="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=300, check=True)
    assert out.stdout.strip() == "True"
