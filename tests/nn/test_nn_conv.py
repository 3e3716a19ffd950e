"""conv2d and pooling against direct NumPy loops, and their derivatives."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.nn.functional as F


def conv_loop(x, w, b, stride, padding):
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    (sh, sw), (ph, pw) = stride, padding
    xp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw))
    xp[:, :, ph:ph + h, pw:pw + wd] = x
    oh, ow = (h + 2 * ph - kh) // sh + 1, (wd + 2 * pw - kw) // sw + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(n):
        for j in range(o):
            for r in range(oh):
                for s in range(ow):
                    patch = xp[i, :, r * sh:r * sh + kh, s * sw:s * sw + kw]
                    out[i, j, r, s] = np.sum(patch * w[j]) + (b[j] if b is not None else 0)
    return out


def pool_loop(x, k, stride, padding, reduce, fill):
    n, c, h, wd = x.shape
    xp = np.full((n, c, h + 2 * padding, wd + 2 * padding), fill)
    xp[:, :, padding:padding + h, padding:padding + wd] = x
    oh, ow = (h + 2 * padding - k) // stride + 1, (wd + 2 * padding - k) // stride + 1
    out = np.zeros((n, c, oh, ow))
    for r in range(oh):
        for s in range(ow):
            out[:, :, r, s] = reduce(xp[:, :, r * stride:r * stride + k,
                                        s * stride:s * stride + k], axis=(2, 3))
    return out


@pytest.mark.parametrize("stride, padding", [((1, 1), (0, 0)), ((2, 1), (1, 2)), ((2, 2), (1, 1))])
def test_conv2d_matches_loop(rng, stride, padding):
    x = rng.standard_normal((2, 3, 7, 6))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    got = F.conv2d(x, w, b, stride=stride, padding=padding)
    np.testing.assert_allclose(got, conv_loop(x, w, b, stride, padding), atol=1e-12)


def test_conv2d_gradients(rng):
    x = rng.standard_normal((2, 2, 5, 4))
    w = rng.standard_normal((3, 2, 2, 3))
    b = rng.standard_normal(3)
    tc.check_grads(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1), (x, w, b),
                   order=2)


def test_conv2d_weight_gradient_is_correlation_with_delta(rng):
    # ∂J/∂W[o, c, i, j] = Σ_{n,r,s} δ[n, o, r, s] x[n, c, r + i, s + j] (stride 1, no padding):
    # the matmul rule ∂J/∂W = δ colsᵀ (docs/lessons/networks.md) in convolution form.
    x = rng.standard_normal((2, 2, 5, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    delta = rng.standard_normal((2, 3, 3, 3))
    g = tc.grad(lambda w_: (F.conv2d(x, w_) * delta).sum())(w)
    want = np.zeros_like(w)
    for i in range(3):
        for j in range(3):
            want[:, :, i, j] = np.einsum("nors,ncrs->oc", delta, x[:, :, i:i + 3, j:j + 3])
    np.testing.assert_allclose(g, want, atol=1e-12)


def _separated(rng, shape):
    # Distinct values far apart: no ties and no near-ties for finite differences.
    return rng.permutation(np.arange(np.prod(shape)) * 0.37).reshape(shape) - 3.0


@pytest.mark.parametrize("k, stride, padding", [(2, 2, 0), (3, 1, 1), (3, 2, 1)])
def test_max_pool_matches_loop_and_differentiates(rng, k, stride, padding):
    x = _separated(rng, (2, 2, 6, 5))
    got = F.max_pool2d(x, k, stride, padding)
    np.testing.assert_array_equal(got, pool_loop(x, k, stride, padding, np.max, -np.inf))
    tc.check_grads(lambda t: F.max_pool2d(t, k, stride, padding), (x,), order=2)


@pytest.mark.parametrize("k, stride, padding", [(2, 2, 0), (3, 1, 1)])
def test_avg_pool_matches_loop_and_differentiates(rng, k, stride, padding):
    x = rng.standard_normal((2, 3, 5, 6))
    got = F.avg_pool2d(x, k, stride, padding)
    np.testing.assert_allclose(got, pool_loop(x, k, stride, padding, np.mean, 0.0), atol=1e-12)
    tc.check_grads(lambda t: F.avg_pool2d(t, k, stride, padding), (x,), order=2)


def test_max_pool_ties_share_the_gradient():
    x = np.ones((1, 1, 2, 2))
    g = tc.grad(lambda t: F.max_pool2d(t, 2).sum())(x)
    np.testing.assert_allclose(g, np.full((1, 1, 2, 2), 0.25))


@pytest.mark.parametrize("call, match", [
    (lambda: F.conv2d(np.zeros((3, 5, 5)), np.zeros((2, 3, 3, 3))), "must be 4-D"),
    (lambda: F.conv2d(np.zeros((1, 2, 5, 5)), np.zeros((2, 3, 3, 3))), "has 2 channels"),
    (lambda: F.conv2d(np.zeros((1, 3, 2, 2)), np.zeros((2, 3, 3, 3))), "larger than"),
    (lambda: F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 3, 3, 3)), stride=0), "stride"),
    (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), (2, 2, 2)), "pair of ints"),
])
def test_conv_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()
