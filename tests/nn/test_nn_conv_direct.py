"""The direct 2-D convolution loops (nn/_conv_numba.py), used for short GEMM inner dimensions:
against a direct loop written here and against the im2col + GEMM code they replace (both
transposes too), through ``check_grads`` at order 2, and eager against jit."""

import numpy as np
import pytest
from tests.nn.test_nn_conv import conv_loop_general

import tensorcalc as tc
import tensorcalc.nn.functional as F
from tensorcalc.nn import _conv

pytestmark = pytest.mark.skipif(_conv.direct_kernels() is None,
                                reason="needs numba (the optional extra `fast`)")

#: batch, channels, spatial, outputs, kernel, stride, padding, dilation, groups: each case is
#: chosen so the direct loops run (a batch of 16 or more, inner dimensions of 32 or less).
CASES = [
    (16, 1, (12, 12), 6, (5, 5), (1, 1), (2, 2), (1, 1), 1),
    (17, 4, (11, 9), 6, (3, 3), (2, 1), (1, 0), (1, 1), 2),
    (16, 2, (12, 10), 4, (3, 2), (1, 2), (2, 1), (2, 1), 2),
    (20, 3, (7, 8), 3, (2, 3), (1, 1), (0, 1), (1, 2), 3),
]


def _uses_direct(n, c, k, o, groups):
    return (n >= _conv.DIRECT_MIN_BATCH and c // groups * np.prod(k) <= _conv.DIRECT_INNER
            and o // groups <= _conv.DIRECT_INNER)


def _gemm_path(monkeypatch, fn, *args, **kw):
    """``fn`` run with the direct loops switched off (the im2col + GEMM code)."""
    with monkeypatch.context() as m:
        m.setattr(_conv, "_direct", False)
        return fn(*args, **kw)


@pytest.mark.parametrize("n, c, sp, o, k, stride, padding, dilation, groups", CASES)
def test_direct_loops_match_the_loop_and_the_gemm_code(monkeypatch, rng, n, c, sp, o, k,
                                                       stride, padding, dilation, groups):
    assert _uses_direct(n, c, k, o, groups)
    geo = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    x = rng.standard_normal((n, c, *sp))
    w = rng.standard_normal((o, c // groups, *k))
    b = rng.standard_normal(o)
    got = F.conv2d(x, w, b, **geo)
    want = conv_loop_general(x, w, stride, padding, dilation, groups) + b[:, None, None]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    ct = rng.standard_normal(got.shape)
    dx = _conv._conv_dx_impl(ct, w, in_spatial=sp, **geo)
    dw = _conv._conv_dw_impl(x, ct, kernel=k, **geo)
    gemm_dx = _gemm_path(monkeypatch, _conv._conv_dx_impl, ct, w, in_spatial=sp, **geo)
    gemm_dw = _gemm_path(monkeypatch, _conv._conv_dw_impl, x, ct, kernel=k, **geo)
    # The sums run in another order than BLAS's: a few ulp of the largest term.
    np.testing.assert_allclose(dx, gemm_dx, rtol=0, atol=1e-14 * np.abs(gemm_dx).max())
    np.testing.assert_allclose(dw, gemm_dw, rtol=0, atol=1e-14 * np.abs(gemm_dw).max())
    # The transposes by the dot-product identity against the loop's forward map.
    lhs = np.vdot(ct, conv_loop_general(x, w, stride, padding, dilation, groups))
    assert np.isclose(np.vdot(dx, x), lhs, rtol=1e-12)
    assert np.isclose(np.vdot(dw, w), lhs, rtol=1e-12)


def test_float32_and_small_batches_keep_the_gemm_code(monkeypatch, rng):
    calls = []
    with monkeypatch.context() as m:
        m.setattr(_conv._direct, "conv2d", lambda *a: calls.append(a))
        x = rng.standard_normal((16, 1, 8, 8))
        w = rng.standard_normal((2, 1, 3, 3))
        F.conv2d(x.astype(np.float32), w.astype(np.float32))
        F.conv2d(x[:4], w)
    assert calls == []


def test_gradients_through_the_direct_loops_to_order_2(rng):
    x = rng.standard_normal((16, 1, 6, 5))
    w = rng.standard_normal((3, 1, 3, 2))
    b = rng.standard_normal(3)
    tc.check_grads(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1), (x, w, b),
                   order=2)


def test_lenet_gradient_eager_equals_jit(rng):
    x = rng.standard_normal((16, 1, 12, 12))
    p = [rng.standard_normal((6, 1, 5, 5)) / 5, np.zeros(6),
         rng.standard_normal((16, 6, 3, 3)) / 7, np.zeros(16)]

    def loss(p, x):
        h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1], padding=2)), 2)
        h = F.relu(F.conv2d(h, p[2], p[3]))
        return tc.numpy.sum(h * h)

    eager = tc.grad(loss)(p, x)
    jitted = tc.jit(tc.grad(loss))(p, x)
    for a, b in zip(eager, jitted, strict=True):
        np.testing.assert_array_equal(a, b)
