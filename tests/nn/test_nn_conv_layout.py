"""The NumPy convolution and pooling impls in their fast layouts: batch-innermost arrays, im2col
in blocks of output rows, and the tiled max-pool scatter, each against direct loops."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.nn.functional as F
from tensorcalc.nn import _conv, _layout, _pool


def conv_loop_general(x, w, stride, padding, dilation, groups):
    """Direct loop over output positions and kernel offsets, any number of spatial axes."""
    n, cg, o = x.shape[0], w.shape[1], w.shape[0]
    kernel = w.shape[2:]
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in padding])
    out_sp = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1 for s, p, d, k, st in
                   zip(x.shape[2:], padding, dilation, kernel, stride, strict=True))
    out = np.zeros((n, o, *out_sp))
    for j in range(o):
        g = j // (o // groups)
        for pos in np.ndindex(*out_sp):
            for ch in range(cg):
                for k in np.ndindex(*kernel):
                    idx = tuple(st * q + d * kk for st, q, d, kk in
                                zip(stride, pos, dilation, k, strict=True))
                    out[(slice(None), j) + pos] += xp[(slice(None), g * cg + ch) + idx] \
                        * w[(j, ch) + k]
    return out


def max_pool_loop(x, k):
    n, c, h, wd = x.shape
    out = np.empty((n, c, h // k, wd // k))
    for r, s in np.ndindex(h // k, wd // k):
        out[:, :, r, s] = x[:, :, r * k:(r + 1) * k, s * k:(s + 1) * k].max(axis=(2, 3))
    return out


def _batch_inner(a):
    """The same values stored as (C, *S, N): the layout the impls produce."""
    return _layout.nfirst(_layout.nlast(a))


CASES = [  # x shape, w shape, stride, padding, dilation, groups
    ((3, 4, 9, 7), (6, 2, 3, 2), (1, 1), (1, 0), (1, 1), 2),
    ((2, 3, 10, 8), (4, 3, 3, 3), (2, 1), (2, 1), (1, 2), 1),
    ((2, 2, 13), (4, 1, 3), (2,), (1,), (2,), 2),
]


@pytest.mark.parametrize("block", [1, 200, 10_000, 1 << 30])  # rows per block: 1, some, all
@pytest.mark.parametrize("xs, ws, stride, padding, dilation, groups", CASES)
def test_blocked_im2col_matches_loops_and_adjoints(rng, monkeypatch, block, xs, ws, stride,
                                                   padding, dilation, groups):
    monkeypatch.setattr(_conv, "BLOCK_BYTES", block)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    geo = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    want = conv_loop_general(x, w, stride, padding, dilation, groups)
    for xin in (x, _batch_inner(x)):
        np.testing.assert_allclose(_conv._conv_impl(xin, w, **geo), want, atol=1e-12)
    # The transposes against the loop through ⟨ȳ, conv(x, w)⟩ = ⟨conv_dx(ȳ, w), x⟩ =
    # ⟨conv_dw(x, ȳ), w⟩ (the loop is linear in each argument).
    ct = rng.standard_normal(want.shape)
    dx = _conv._conv_dx_impl(ct, w, in_spatial=xs[2:], **geo)
    dw = _conv._conv_dw_impl(x, _batch_inner(ct), kernel=ws[2:], **geo)
    assert dx.shape == x.shape and dw.shape == w.shape
    x2, w2 = rng.standard_normal(xs), rng.standard_normal(ws)
    lhs_x = np.vdot(ct, conv_loop_general(x2, w, stride, padding, dilation, groups))
    lhs_w = np.vdot(ct, conv_loop_general(x, w2, stride, padding, dilation, groups))
    np.testing.assert_allclose(np.vdot(dx, x2), lhs_x, rtol=1e-12)
    np.testing.assert_allclose(np.vdot(dw, w2), lhs_w, rtol=1e-12)


def test_conv_returns_the_batch_innermost_layout_and_the_relu_keeps_it(rng):
    x, w = rng.standard_normal((5, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    y = F.relu(F.conv2d(x, w, np.ones(3), padding=1))
    assert y.strides[0] == y.itemsize           # batch innermost
    np.testing.assert_allclose(y, np.maximum(conv_loop_general(x, w, (1, 1), (1, 1), (1, 1), 1)
                                             + 1.0, 0.0), atol=1e-12)


def _scatter_loop(ct, x, k):
    """The max-pool cotangent with ties sharing equally, window by window."""
    out = np.zeros_like(x)
    for idx in np.ndindex(*ct.shape):
        n, c, r, s = idx
        win = x[n, c, r * k:(r + 1) * k, s * k:(s + 1) * k]
        m = win == win.max()
        out[n, c, r * k:(r + 1) * k, s * k:(s + 1) * k] += m * ct[idx] / m.sum()
    return out


@pytest.mark.parametrize("layout", ["channels first", "batch innermost"])
def test_tiled_max_pool_scatter_matches_a_loop_with_ties(rng, layout):
    # relu outputs: windows of all zeros tie four ways, others have a single maximum
    x = np.maximum(np.round(rng.standard_normal((3, 2, 6, 4)), 1), 0.0)
    x = x if layout == "channels first" else _batch_inner(x)
    y = F.max_pool2d(x, 2)
    np.testing.assert_array_equal(y, max_pool_loop(x, 2))
    ct = rng.standard_normal(y.shape)
    got = _pool._pool_scatter_impl(ct, x, y, kernel=(2, 2), stride=(2, 2), padding=(0, 0))
    np.testing.assert_allclose(got, _scatter_loop(ct, x, 2), rtol=1e-15, atol=0)
    g = tc.grad(lambda t: (F.max_pool2d(t, 2) * ct).sum())(x)
    np.testing.assert_allclose(g, _scatter_loop(ct, x, 2), rtol=1e-15, atol=0)


def test_tiled_max_pool_scatter_keeps_infinite_cotangents_off_the_maximum(rng):
    x = np.array([[[[1.0, 2.0], [0.0, -1.0]]]])
    ct = np.array([[[[np.inf]]]])
    got = _pool._pool_scatter_impl(ct, x, F.max_pool2d(x, 2), kernel=(2, 2), stride=(2, 2),
                                   padding=(0, 0))
    np.testing.assert_array_equal(got, [[[[0.0, np.inf], [0.0, 0.0]]]])   # no 0 · ∞ = NaN
