"""conv2d and pooling against direct NumPy loops, and their derivatives."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.nn.functional as F
import tensorcalc.numpy as tnp


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


def conv_loop_general(x, w, stride, padding, dilation, groups):
    """Direct loop for any number of spatial axes, with dilation and groups."""
    n, c = x.shape[:2]
    o, cg = w.shape[:2]
    kernel, nd = w.shape[2:], w.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    out_sp = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in
                   zip(x.shape[2:], padding, dilation, kernel, stride, strict=True))
    out = np.zeros((n, o, *out_sp))
    og = o // groups
    for j in range(o):
        g = j // og
        for pos in np.ndindex(*out_sp):
            acc = np.zeros(n)
            for ch in range(cg):
                for k in np.ndindex(*kernel):
                    idx = tuple(st * q + d * kk for st, q, d, kk in
                                zip(stride, pos, dilation, k, strict=True))
                    acc += xp[(slice(None), g * cg + ch) + idx] * w[(j, ch) + k]
            out[(slice(None), j) + pos] = acc
    assert nd == len(out_sp)
    return out


@pytest.mark.parametrize("stride, padding, dilation, groups", [
    ((1, 1), (0, 0), (2, 1), 1), ((2, 1), (1, 2), (1, 2), 2), ((1, 2), (2, 0), (2, 2), 4)])
def test_conv2d_dilation_and_groups_match_loop(rng, stride, padding, dilation, groups):
    x = rng.standard_normal((2, 4, 8, 7))
    w = rng.standard_normal((8, 4 // groups, 3, 2))
    got = F.conv2d(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    np.testing.assert_allclose(got, conv_loop_general(x, w, stride, padding, dilation, groups),
                               atol=1e-12)
    tc.check_grads(lambda x, w: F.conv2d(x, w, stride=stride, padding=padding,
                                         dilation=dilation, groups=groups), (x, w), order=2,
                   modes=("fwd", "rev"))


@pytest.mark.parametrize("stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 1, 2, 3)])
def test_conv1d_matches_loop_and_differentiates(rng, stride, padding, dilation, groups):
    x = rng.standard_normal((2, 3, 11))
    w = rng.standard_normal((6, 3 // groups, 3))
    b = rng.standard_normal(6)
    got = F.conv1d(x, w, b, stride=stride, padding=padding, dilation=dilation, groups=groups)
    want = conv_loop_general(x, w, (stride,), (padding,), (dilation,), groups) + b[:, None]
    np.testing.assert_allclose(got, want, atol=1e-12)
    tc.check_grads(lambda x, w, b: F.conv1d(x, w, b, stride, padding, dilation, groups),
                   (x, w, b), order=2, modes=("fwd", "rev"))


def test_conv_is_one_primitive_with_transposes_of_its_own(rng):
    x, w = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3))
    names = [eq.primitive.name for eq in tc.trace(
        tc.grad(lambda x, w: (F.conv2d(x, w, padding=1) ** 2).sum(), argnums=(0, 1)),
        x, w).equations]
    assert {"nn.conv", "nn.conv_dx", "nn.conv_dw"} <= set(names)
    assert "getitem" not in names and "index_add" not in names  # no gather, no scatter-add


@pytest.mark.parametrize("axes", [(0, 0), (0, None), (None, 0)])
def test_vmap_of_conv_gradients_matches_a_loop(rng, axes):
    x, w = rng.standard_normal((3, 2, 4, 6, 5)), rng.standard_normal((3, 4, 2, 3, 3))
    xs = x if axes[0] == 0 else x[0]
    ws = w if axes[1] == 0 else w[0]

    def loss(x, w):
        return (F.max_pool2d(F.relu(F.conv2d(x, w, padding=1, groups=2)), 2) ** 2).sum()

    got = tc.vmap(tc.grad(loss, argnums=(0, 1)), in_axes=axes)(xs, ws)
    for i in range(3):
        want = tc.grad(loss, argnums=(0, 1))(xs[i] if axes[0] == 0 else xs,
                                             ws[i] if axes[1] == 0 else ws)
        for g, e in zip(got, want, strict=True):
            np.testing.assert_allclose(g[i], e, atol=1e-12)


def test_jit_of_cnn_gradient_equals_eager(rng):
    x, w = rng.standard_normal((4, 1, 8, 8)), rng.standard_normal((5, 1, 3, 3))
    v = rng.standard_normal((125, 3))

    def loss(w, v):
        h = F.avg_pool2d(F.max_pool2d(F.relu(F.conv2d(x, w, padding=1)), 2), 2, 1, 1)
        return (tnp.reshape(h, (4, -1)) @ v).sum()

    got = tc.jit(tc.grad(loss, argnums=(0, 1)))(w, v)
    want = tc.grad(loss, argnums=(0, 1))(w, v)
    for g, e in zip(got, want, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-13, atol=1e-13)


def test_hessian_of_conv_loss_matches_finite_differences(rng):
    x, w = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 2, 2, 2))

    def loss(w):
        return (F.conv2d(x, w, stride=2, padding=1) ** 3).sum()

    H = tc.hessian(loss)(w).reshape(w.size, w.size)
    g = tc.grad(loss)
    eps = 1e-6
    fd = np.stack([(g(w + eps * e.reshape(w.shape)) - g(w - eps * e.reshape(w.shape))).ravel()
                   / (2 * eps) for e in np.eye(w.size)], axis=1)
    np.testing.assert_allclose(H, fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("call, match", [
    (lambda: F.conv2d(np.zeros((1, 4, 5, 5)), np.zeros((3, 2, 3, 3)), groups=2),
     "split into 2 groups"),
    (lambda: F.conv1d(np.zeros((1, 2, 5)), np.zeros((2, 2, 3)), dilation=0), "dilation"),
    (lambda: F.conv1d(np.zeros((1, 2, 5, 5)), np.zeros((2, 2, 3))), "must be 3-D"),
])
def test_grouped_and_dilated_conv_errors(call, match):
    with pytest.raises((ValueError, TypeError, tc.ShapeError), match=match):
        call()
