"""The one-pass max-pooling cotangent (nn/_pool_numba.py), used for 2-D tiling windows: the
same bits as the NumPy code it replaces and as a scatter loop written here, with ties, NaN
and infinite cotangents, both layouts and float32; the gradient of a pooled network through
``check_grads`` at order 2, and eager against jit."""

from types import SimpleNamespace

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.nn.functional as F
from tensorcalc.nn import _layout, _pool

pytestmark = pytest.mark.skipif(_pool._scatter_loop(2, np.zeros(1)) is None,
                                reason="needs numba (the optional extra `fast`)")


def _numpy_path(monkeypatch, *args, **kw):
    """``pool_scatter`` with the compiled loop switched off (the NumPy code)."""
    with monkeypatch.context() as m:
        m.setattr(_pool, "_loops", False)
        return _pool._pool_scatter_impl(*args, **kw)


@pytest.fixture
def calls(monkeypatch):
    """The compiled loop's calls in this test (a list of the ``ct`` shapes it was given)."""
    loop = _pool._scatter_loop(2, np.zeros(1))
    seen = []

    def counted(xt, yt, ct, out, k0, k1):
        seen.append(ct.shape)
        loop(xt, yt, ct, out, k0, k1)
    monkeypatch.setattr(_pool, "_loops", SimpleNamespace(max_pool2d_scatter=counted))
    return seen


def scatter_loop(ct, x, y, k):
    """``x̄[n, c, K₀i + p, K₁j + q] = ȳ[n, c, i, j] / #ties`` at each tied maximum, else 0."""
    out = np.zeros(x.shape, np.result_type(ct, x))
    n_, c_, ho, wo = y.shape
    for n in range(n_):
        for c in range(c_):
            for i in range(ho):
                for j in range(wo):
                    block = x[n, c, k[0] * i:k[0] * (i + 1), k[1] * j:k[1] * (j + 1)]
                    ties = block == y[n, c, i, j]
                    if ties.any():
                        out[n, c, k[0] * i:k[0] * (i + 1), k[1] * j:k[1] * (j + 1)][ties] = \
                            ct[n, c, i, j] / ties.sum()
    return out


def _tied(rng, shape, dtype=np.float64):
    """Values on a coarse grid, so that many windows hold tied maxima."""
    return rng.integers(0, 3, shape).astype(dtype)


@pytest.mark.parametrize("n, c, sp, k", [(16, 6, (28, 28), (2, 2)), (3, 2, (6, 9), (3, 3)),
                                          (1, 1, (4, 4), (2, 1)), (5, 4, (8, 6), (2, 3))])
@pytest.mark.parametrize("batch_inner", [True, False])
def test_the_loop_gives_the_numpy_code_s_bits(monkeypatch, calls, rng, n, c, sp, k,
                                              batch_inner):
    x = _tied(rng, (n, c, *sp))
    if batch_inner:  # the layout convolutions produce (nn/_layout.py)
        x = _layout.nfirst(_layout.nlast(x))
    geo = dict(kernel=k, stride=k, padding=(0, 0))
    y = _pool._max_pool_impl(x, **geo)
    ct = rng.standard_normal(y.shape)  # channels first, as a dense layer's cotangent comes
    got = _pool._pool_scatter_impl(ct, x, y, **geo)
    assert calls == [(c, *y.shape[2:], n)]
    want = _numpy_path(monkeypatch, ct, x, y, **geo)
    assert got.shape == x.shape and got.dtype == want.dtype
    assert np.array_equal(got, want)  # (a zero off the maxima may differ in sign only)
    assert np.array_equal(got, scatter_loop(ct, x, y, k))


def test_nan_and_infinite_cotangents_stay_on_their_maxima(monkeypatch, calls, rng):
    x = _tied(rng, (16, 2, 4, 4))
    x[0, 0, 0, 0] = np.nan  # its window's maximum is NaN: no entry ties with it
    geo = dict(kernel=(2, 2), stride=(2, 2), padding=(0, 0))
    y = _pool._max_pool_impl(x, **geo)
    ct = rng.standard_normal(y.shape)
    ct[1, 1, 1, 1], ct[2, 0, 0, 1] = np.inf, np.nan
    got = _pool._pool_scatter_impl(ct, x, y, **geo)
    assert len(calls) == 1
    want = _numpy_path(monkeypatch, ct, x, y, **geo)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, scatter_loop(ct, x, y, (2, 2)))
    assert not got[0, 0, :2, :2].any()  # the NaN window: nothing is a maximum there
    assert np.isinf(got[1, 1, 2:, 2:]).any() and not np.isnan(got[1, 1, 2:, 2:]).any()


def test_float32_uses_the_loop_and_mixed_dtypes_do_not(monkeypatch, calls, rng):
    x = _tied(rng, (16, 3, 6, 6), np.float32)
    geo = dict(kernel=(2, 2), stride=(2, 2), padding=(0, 0))
    y = _pool._max_pool_impl(x, **geo)
    ct = rng.standard_normal(y.shape).astype(np.float32)
    got = _pool._pool_scatter_impl(ct, x, y, **geo)
    assert got.dtype == np.float32 and len(calls) == 1
    np.testing.assert_array_equal(got, _numpy_path(monkeypatch, ct, x, y, **geo))
    assert _pool._scatter_loop(2, ct.astype(np.float64), x, y) is None
    mixed = _pool._pool_scatter_impl(ct.astype(np.float64), x, y, **geo)
    assert mixed.dtype == np.float64 and len(calls) == 1
    np.testing.assert_allclose(mixed, scatter_loop(ct.astype(np.float64), x, y, (2, 2)))


def test_the_switch_keeps_the_numpy_code(monkeypatch):
    monkeypatch.setattr(_pool, "_loops", None)
    monkeypatch.setenv("TENSORCALC_POOL", "numpy")
    assert _pool._scatter_loop(2, np.zeros(1)) is None
    monkeypatch.setattr(_pool, "_loops", None)  # (the next caller imports the loops again)


def _cnn(p, x):
    h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1], padding=1)), 2)
    return tc.numpy.sum(tc.numpy.tanh(tc.numpy.reshape(h, (x.shape[0], -1)) @ p[2]))


def test_a_pooled_network_differentiates_to_order_2(rng):
    x = rng.standard_normal((16, 1, 6, 6))
    p = [rng.standard_normal((3, 1, 3, 3)) * 0.5, rng.standard_normal(3) * 0.1,
         rng.standard_normal((27, 2)) * 0.3]
    tc.check_grads(lambda w: _cnn([w, p[1], p[2]], x), (p[0],), order=2, modes=("rev",))
    tc.check_grads(lambda xx: _cnn(p, xx), (x,), order=2)


def test_eager_and_jit_gradients_are_the_same_bits(calls, rng):
    x = rng.standard_normal((32, 1, 8, 8))
    p = [rng.standard_normal((4, 1, 3, 3)), np.zeros(4), rng.standard_normal((64, 2))]
    g = tc.grad(_cnn)
    eager = g(p, x)
    jitted = tc.jit(g)
    for _ in range(2):
        for a, b in zip(eager, jitted(p, x), strict=True):
            np.testing.assert_array_equal(a, b)
    assert len(calls) == 3  # eager, then jit's two calls
