"""The compiled row kernels of ``softmax`` and ``softmax_tangent`` (ops/_softmax_rows.py) against
the NumPy formulas they replace: within 1e-15 relative on ordinary rows, the same zeros,
subnormals and NaN rows where the input holds −∞, very negative, +∞ or NaN entries, derivatives
to order 2 in both modes through the kernels, and eager and jit alike."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
import tensorcalc.scipy.special as tsp
from tensorcalc.ops import softmax as softmax_module
from tensorcalc.ops.softmax import SMALL_FOR_KERNELS, _softmax_impl, _softmax_tangent_impl
from tensorcalc.testing import check_grads

pytestmark = pytest.mark.skipif(not softmax_module.row_kernels(),
                                reason="needs numba (the optional extra `fast`)")


def _numpy_softmax(x: np.ndarray) -> np.ndarray:
    """The plain formula, written out here (not the code under test)."""
    with np.errstate(invalid="ignore", over="ignore"):
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)


def _rows(seed: int = 0, shape: tuple[int, ...] = (4, 64, 37), scale: float = 3.0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape) * scale


@pytest.mark.parametrize("shape", [(4, 64, 37), (64, 128), (2, 3, 512), (8192,)])
def test_softmax_kernel_matches_the_formula_within_1e_15(shape):
    x = _rows(1, shape, 4.0)
    assert x.size >= SMALL_FOR_KERNELS  # the kernel runs
    got, want = _softmax_impl(x, axes=(x.ndim - 1,)), _numpy_softmax(x)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-14)


def test_softmax_kernel_exp_covers_the_whole_normal_range():
    # Differences from the row maximum from 0 down to −760 (subnormal results and 0).
    x = np.linspace(-760.0, 0.0, 2 * SMALL_FOR_KERNELS).reshape(4, -1)
    x[:, -1] = 0.0
    got = _softmax_impl(x, axes=(1,))
    want = _numpy_softmax(x)
    normal = want > np.finfo(np.float64).tiny
    np.testing.assert_allclose(got[normal], want[normal], rtol=1e-15, atol=0)
    # Subnormal results: within one unit of the last place of the subnormal grid (5e-324).
    np.testing.assert_allclose(got[~normal], want[~normal], rtol=0, atol=5e-324)
    assert (got[~normal] > 0).any() and (got[~normal] == 0).any()


def test_minus_infinity_entries_give_zeros_and_bad_rows_give_nan():
    x = _rows(2, (8, 512))
    x[0, :7] = -np.inf  # masked entries: 0, the rest of the row as if they were absent
    x[1, 3] = -1e300
    want = _numpy_softmax(x)
    got = _softmax_impl(x, axes=(1,))
    np.testing.assert_allclose(got[:2], want[:2], rtol=1e-15, atol=0)
    assert np.all(got[0, :7] == 0) and got[1, 3] == 0
    np.testing.assert_allclose(got[0, 7:], _numpy_softmax(x[0, 7:]), rtol=1e-15)
    for bad in (np.nan, np.inf):
        y = x.copy()
        y[5, 100] = bad
        out = _softmax_impl(y, axes=(1,))
        assert np.isnan(out[5]).all()
        np.testing.assert_allclose(out[:5], want[:5], rtol=1e-15)
    y = x.copy()
    y[6] = -np.inf  # an empty row: NaN throughout, as SciPy's softmax
    assert np.isnan(_softmax_impl(y, axes=(1,))[6]).all()


def test_float32_other_axes_and_small_arrays_keep_the_numpy_code():
    x = _rows(3, (64, 128))
    assert _softmax_impl(x.astype(np.float32), axes=(1,)).dtype == np.float32
    np.testing.assert_allclose(_softmax_impl(x, axes=(0,)),
                               _numpy_softmax(x.T).T, rtol=1e-15)
    small = x[:2, :8]
    np.testing.assert_array_equal(_softmax_impl(small, axes=(1,)), _numpy_softmax(small))


def test_strided_input_is_read_correctly():
    x = _rows(4, (128, 64)).T  # a transposed view: not C-contiguous
    # (NumPy sums a strided row sequentially, less accurately: compare with the contiguous rows)
    want = _numpy_softmax(np.ascontiguousarray(x))
    np.testing.assert_allclose(_softmax_impl(x, axes=(1,)), want, rtol=1e-15)


def test_softmax_tangent_kernel_matches_the_formula():
    rng = np.random.default_rng(5)
    s = _numpy_softmax(_rows(5, (4, 64, 40)))
    t = rng.standard_normal(s.shape)
    want = s * (t - np.sum(s * t, axis=-1, keepdims=True))
    got = _softmax_tangent_impl(t, s, axes=(2,))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-17)
    # t − Σ s t cancels: the bound is relative to the terms, s (|t| + Σ |s t|), not to the result
    scale = s * (np.abs(t) + np.sum(np.abs(s * t), axis=-1, keepdims=True))
    assert np.all(np.abs(got - want) <= 1e-15 * scale)
    t[1, 2, 3] = np.inf  # a non-finite tangent: the masked NumPy path
    assert np.isnan(_softmax_tangent_impl(t, s, axes=(2,))[1, 2]).any()


def test_derivatives_through_the_kernels_to_order_2():
    x = _rows(6, (2, 32, 64), 1.0)
    w = np.random.default_rng(7).standard_normal(x.shape)
    check_grads(lambda v: tnp.sum(tsp.softmax(v, axis=-1) * w), (x,), order=2)


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.usefixtures("numpy_tanh")  # compared with eager code
def test_eager_and_jit_agree_on_an_attention_gradient(masked):
    rng = np.random.default_rng(8)
    q, k = rng.standard_normal((2, 4, 64, 16))
    mask = np.where(np.tril(np.ones((64, 64))) > 0, 0.0, -np.inf) if masked else 0.0

    def loss(q, k):
        a = tsp.softmax(q @ tnp.swapaxes(k, -1, -2) / 4.0 + mask, axis=-1)
        return tnp.sum(tnp.tanh(a @ k))

    eager = tc.grad(loss, argnums=(0, 1))(q, k)
    jitted = tc.jit(tc.grad(loss, argnums=(0, 1)))(q, k)
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_array_equal(a, b)
        assert np.isfinite(a).all()


def test_the_environment_switch_turns_the_kernels_off(monkeypatch):
    monkeypatch.setenv("TENSORCALC_SOFTMAX", "numpy")
    monkeypatch.setattr(softmax_module, "_row_kernels", None)
    assert softmax_module.row_kernels() == {}
    x = _rows(9, (64, 128))
    np.testing.assert_array_equal(_softmax_impl(x, axes=(1,)), _numpy_softmax(x))


def test_out_buffers_and_running_in_place():
    # jit passes out= (compile/buffers.numpy_call_of), possibly the dying operand itself.
    x = _rows(10, (8, 512))
    x[2, :9] = -np.inf
    x[3, 5] = np.nan  # a NaN row: NaN throughout, in place too
    want = _softmax_impl(x, axes=(1,))
    out = np.empty_like(x)
    assert _softmax_impl(x, axes=(1,), out=out) is out
    np.testing.assert_array_equal(out, want)
    y = x.copy()
    assert _softmax_impl(y, axes=(1,), out=y) is y
    np.testing.assert_array_equal(y, want)
    s, t = want[[0, 1, 4, 5]], _rows(11, (4, 512))
    t[2, 7] = np.inf  # a row for the masked rule, after rows the kernel wrote
    tan = _softmax_tangent_impl(t, s, axes=(1,))
    for which in ("t", "s"):
        tt, ss = t.copy(), s.copy()
        buf = tt if which == "t" else ss
        assert _softmax_tangent_impl(tt, ss, axes=(1,), out=buf) is buf
        np.testing.assert_array_equal(buf, tan)


@pytest.mark.usefixtures("numpy_tanh")  # compared with eager code
def test_jit_writes_softmax_into_a_buffer_and_matches_eager():
    rng = np.random.default_rng(12)
    q = rng.standard_normal((4, 64, 64))

    def loss(q):
        return tnp.sum(tnp.tanh(tsp.softmax(q / 8.0, axis=-1) @ q))

    g = tc.jit(tc.grad(loss))
    src = g.source(q)
    assert "axes=(2,), out=" in src.split("# softmax\n")[0].splitlines()[-1]
    np.testing.assert_array_equal(g(q), tc.grad(loss)(q))
    np.testing.assert_array_equal(g(q), tc.grad(loss)(q))  # the pooled buffers, again


def test_small_calls_do_not_import_numba():
    # numba's start costs 1-2 s: small softmaxes and convolutions keep the NumPy code.
    code = """if True:
        import sys
        import numpy as np
        import tensorcalc.nn.functional as F
        F.softmax(np.ones((8, 128)), axis=-1)
        F.conv2d(np.ones((4, 1, 12, 12)), np.ones((2, 1, 3, 3)))
        print("numba" in sys.modules)
        F.softmax(np.ones((64, 128)), axis=-1)
        print("numba" in sys.modules)
    """
    import os
    import subprocess
    import sys
    from pathlib import Path
    src = str(Path(tc.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [src, *filter(None, [os.environ.get("PYTHONPATH")])])}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=False, env=env)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False", "True"]
