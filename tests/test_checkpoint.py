"""``tc.checkpoint`` / ``tc.remat`` and checkpointed scans: the same values and derivatives
as without checkpointing (both modes, order 2, under vmap and jit), and the memory they save
(tracemalloc peaks, compared as ratios)."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.lax as lax
import tensorcalc.numpy as tnp

RNG = np.random.default_rng(0)
W = RNG.standard_normal((3, 3)) * 0.5
X = np.array([0.3, -0.2, 0.5])
POLICIES = [None, tc.checkpoint_policies.dots_saveable,
            tc.checkpoint_policies.save_only_these_names("h")]


def block(x, w):
    h = tc.checkpoint_name(tnp.tanh(w @ x), "h")
    return tnp.sin(h) * x + tnp.einsum("ij,j->i", w, h)


def chain(x, w, policy=None, ck=True):
    f = tc.checkpoint(block, policy) if ck else block
    return tnp.sum(f(f(x, w), w) ** 2)


@pytest.mark.parametrize("policy", POLICIES, ids=["none", "dots", "names"])
def test_gradients_match_and_check_to_order_two(policy):
    g = tc.grad(lambda x, w: chain(x, w, policy), (0, 1))(X, W)
    ref = tc.grad(lambda x, w: chain(x, w, ck=False), (0, 1))(X, W)
    for a, b in zip(g, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    tc.check_grads(lambda x, w: chain(x, w, policy), (X, W), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("policy", POLICIES, ids=["none", "dots", "names"])
def test_vmap_jit_and_hessian(policy):
    xs = np.stack([X, -X, 2 * X])
    ref = tc.vmap(tc.grad(lambda x: chain(x, W, ck=False)))(xs)
    np.testing.assert_allclose(tc.vmap(tc.grad(lambda x: chain(x, W, policy)))(xs), ref,
                               rtol=1e-12)
    np.testing.assert_allclose(tc.grad(lambda x: tnp.sum(tc.vmap(
        lambda x: chain(x, W, policy))(x)))(xs), ref, rtol=1e-12)
    np.testing.assert_allclose(tc.jit(tc.grad(lambda x: chain(x, W, policy)))(X), ref[0],
                               rtol=1e-12)
    np.testing.assert_allclose(tc.grad(tc.jit(lambda x: chain(x, W, policy)))(X), ref[0],
                               rtol=1e-12)
    np.testing.assert_allclose(tc.hessian(lambda x: chain(x, W, policy))(X),
                               tc.hessian(lambda x: chain(x, W, ck=False))(X), rtol=1e-10)


def test_the_linear_program_holds_only_the_block_inputs():
    prog = tc.linear_map(lambda x: chain(x, W), X).program
    lins = [eq for eq in prog.equations if eq.primitive.name == "checkpoint_lin"]
    assert len(lins) == 2 and len(prog.equations) == 4
    assert "checkpoint[body=… policy=None]" in str(tc.trace(lambda x: chain(x, W), X))
    saved = tc.linear_map(lambda x: chain(x, W, tc.checkpoint_policies.dots_saveable), X)
    assert all(eq.params["n_saved"] == 2 for eq in saved.program.equations[:2])


def test_checkpoint_inside_scan_inside_grad_and_eager_call():
    def loop(w, h0, ck):
        body = tc.checkpoint(lambda h, x: (tnp.tanh(w @ h + x), tnp.sum(h))) if ck else \
            (lambda h, x: (tnp.tanh(w @ h + x), tnp.sum(h)))
        h, ys = lax.scan(body, h0, XS)
        return tnp.sum(h) + tnp.sum(ys)

    g = tc.grad(lambda w, h: loop(w, h, True), (0, 1))(W, X)
    ref = tc.grad(lambda w, h: loop(w, h, False), (0, 1))(W, X)
    for a, b in zip(g, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    tc.check_grads(lambda w, h: loop(w, h, True), (W, X), order=2, modes=("fwd", "rev"))
    assert np.allclose(tc.checkpoint(block)(X, W), block(X, W))
    assert tc.remat is tc.checkpoint


XS = RNG.standard_normal((5, 3)) * 0.5


def _rnn(w, h0, xs, ck, reverse=False):
    h, ys = lax.scan(lambda h, x: (tnp.tanh(w @ h + x), {"s": tnp.sin(h)}), h0, xs,
                     checkpoint=ck, reverse=reverse)
    return tnp.sum(h) + tnp.sum(ys["s"] * tnp.arange(xs.shape[0] * 1.0)[:, None])


@pytest.mark.parametrize("ck", ["steps", "sqrt", 3, "revolve"])
@pytest.mark.parametrize("reverse", [False, True])
def test_checkpointed_scans_give_plain_scan_gradients(ck, reverse):
    xs = RNG.standard_normal((23, 3)) * 0.5
    ref = tc.grad(lambda *a: _rnn(*a, None, reverse), (0, 1, 2))(W, X, xs)
    got = tc.grad(lambda *a: _rnn(*a, ck, reverse), (0, 1, 2))(W, X, xs)
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    assert np.isclose(_rnn(W, X, xs, ck, reverse), _rnn(W, X, xs, None, reverse))
    tc.check_grads(lambda w, h: _rnn(w, h, xs[:7], ck, reverse), (W, X), order=2,
                   modes=("fwd", "rev"))


def test_checkpointed_scan_under_vmap_and_jit():
    xs = RNG.standard_normal((10, 3)) * 0.5
    g = tc.jit(tc.grad(lambda w: _rnn(w, X, xs, "sqrt")))(W)
    np.testing.assert_allclose(g, tc.grad(lambda w: _rnn(w, X, xs, None))(W), rtol=1e-12)
    v = tc.vmap(tc.grad(lambda h: _rnn(W, h, xs, "revolve")))(np.stack([X, -X]))
    r = tc.vmap(tc.grad(lambda h: _rnn(W, h, xs, None)))(np.stack([X, -X]))
    np.testing.assert_allclose(v, r, rtol=1e-12)
    with pytest.raises(ValueError, match="checkpoint must be"):
        tc.grad(lambda w: _rnn(w, X, xs, "bogus"))(W)


def _peak(fn, *args):
    gc.collect()
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_checkpointing_a_chain_cuts_the_reverse_mode_peak():
    # 8 blocks of 8 elementwise steps on 50,000 floats: reverse mode keeps 64 residual arrays
    # without checkpointing, 8 block inputs plus one block's residuals with it (≈ 1/4).
    def blk(x):
        for _ in range(8):
            x = tnp.sin(x) * 1.01
        return x

    def run(x, ck):
        f = tc.checkpoint(blk) if ck else blk
        for _ in range(8):
            x = f(x)
        return tnp.sum(x)

    x = np.linspace(0.0, 1.0, 50_000)
    np.testing.assert_allclose(tc.grad(lambda x: run(x, True))(x),
                               tc.grad(lambda x: run(x, False))(x), rtol=1e-12)
    plain = _peak(tc.grad(lambda x: run(x, False)), x)
    ck = _peak(tc.grad(lambda x: run(x, True)), x)
    assert ck <= 0.4 * plain, (ck, plain)


def test_checkpointed_long_scan_cuts_the_peak():
    xs = RNG.standard_normal((2000, 16)) * 0.3
    w = RNG.standard_normal((16, 16)) * 0.2

    def loss(w, ck):
        h, _ = lax.scan(lambda h, x: (tnp.tanh(w @ h + x), None), np.zeros(16), xs,
                        checkpoint=ck)
        return tnp.sum(h)

    plain = _peak(tc.grad(lambda w: loss(w, None)), w)
    for ck in ("sqrt", "revolve"):
        got = _peak(tc.grad(lambda w, ck=ck: loss(w, ck)), w)
        assert got <= 0.15 * plain, (ck, got, plain)


def test_dots_saveable_does_not_recompute_the_products():
    from tensorcalc.ops.products import matmul_p

    calls = []
    impl = matmul_p.impl

    def counting(*a, **k):
        calls.append(1)
        return impl(*a, **k)

    def count(policy):
        calls.clear()
        matmul_p.impl = counting
        try:
            tc.grad(lambda x: tnp.sum(tc.checkpoint(lambda x: tnp.sin(W @ x) * x,
                                                    policy)(x)))(X)
        finally:
            matmul_p.impl = impl
        return len(calls)

    # Forward W x, then (no policy) W x again in the recompute; the transpose's Wᵀ ȳ.
    assert count(tc.checkpoint_policies.dots_saveable) == count(None) - 1
