"""The fast paths of a differentiated ``scan``: outer-product accumulations taken out of the
reverse loop (lax/scan_accumulate.py) and the optional Numba loop under ``jit``
(lax/scan_numba.py). Both must give the same values and derivatives as the plain loop."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.lax as lax
import tensorcalc.numpy as tnp
from tensorcalc.core.ir import Program
from tensorcalc.lax import scan_numba
from tensorcalc.lax.scan import scan_p
from tensorcalc.ops.elementwise import mul_p
from tensorcalc.ops.products import matmul_p
from tensorcalc.testing import check_grads

RNG = np.random.default_rng(7)
HAS_NUMBA = importlib.util.find_spec("numba") is not None


def _rnn_loss(W, U, xs, h0):
    def step(h, x):
        return tnp.tanh(W @ h + U @ x), None

    h, _ = lax.scan(step, h0, xs)
    return tnp.sum(h * h)


def _batched_rnn_loss(W, U, xs, h0):
    def step(h, x):
        h = tnp.tanh(h @ W.T + x @ U.T)
        return h, tnp.sum(h)

    h, ys = lax.scan(step, h0, xs)
    return tnp.sum(h * h) + tnp.sum(ys ** 2)


def _bptt(W, U, xs, h0):
    """Backpropagation through time by hand, in NumPy."""
    hs = [h0]
    for x in xs:
        hs.append(np.tanh(W @ hs[-1] + U @ x))
    dh, dW, dU = 2 * hs[-1], np.zeros_like(W), np.zeros_like(U)
    for t in range(len(xs) - 1, -1, -1):
        d = dh * (1 - hs[t + 1] ** 2)
        dW += np.outer(d, hs[t])
        dU += np.outer(d, xs[t])
        dh = W.T @ d
    return dW, dU


def _problem(n=6, hidden=5, inputs=3):
    W = RNG.standard_normal((hidden, hidden)) / np.sqrt(hidden)
    U = RNG.standard_normal((hidden, inputs)) / 2
    return W, U, RNG.standard_normal((n, inputs)), RNG.standard_normal(hidden)


def _reverse_scan_bodies(prog: Program) -> list[Program]:
    return [eq.params["body"] for eq in prog.equations
            if eq.primitive is scan_p and eq.params["reverse"]]


def test_grad_of_rnn_matches_hand_written_backprop():
    W, U, xs, h0 = _problem()
    dW, dU = tc.grad(_rnn_loss, argnums=(0, 1))(W, U, xs, h0)
    eW, eU = _bptt(W, U, xs, h0)
    np.testing.assert_allclose(dW, eW, atol=1e-12)
    np.testing.assert_allclose(dU, eU, atol=1e-12)


def test_reverse_loop_no_longer_builds_the_outer_products():
    W, U, xs, h0 = _problem()
    for loss, args in ((_rnn_loss, (W, U, xs, h0)),
                       (_batched_rnn_loss, (W, U, RNG.standard_normal((6, 4, 3)),
                                            RNG.standard_normal((4, 5))))):
        prog = tc.trace(tc.grad(loss, argnums=(0, 1)), *args)
        bodies = _reverse_scan_bodies(prog)
        assert bodies, "the gradient should hold a reverse scan"
        for body in bodies:
            big = [eq for eq in body.equations if eq.primitive in (mul_p, matmul_p)
                   and tuple(eq.outputs[0].aval.shape) in ((5, 5), (5, 3))]
            assert not big, f"a weight-sized product is still built every step: {big}"


def test_hoisted_accumulation_is_differentiable_to_second_order():
    W, U, xs, h0 = _problem(n=4, hidden=3, inputs=2)
    check_grads(_rnn_loss, (W, U, xs, h0), order=2, modes=("rev",))
    bx, bh = RNG.standard_normal((4, 2, 2)), RNG.standard_normal((2, 3))
    check_grads(_batched_rnn_loss, (W, U, bx, bh), order=2, modes=("rev",))


def test_loop_compiler_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="loop_compiler: mode must be one of"):
        scan_numba.loop_compiler("fortran")


@pytest.fixture
def numba_loops():
    before = scan_numba.loop_compiler()
    scan_numba.loop_compiler("numba")
    yield
    scan_numba.loop_compiler(before)


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed (the NumPy loop is used)")
def test_numba_loop_gives_the_numpy_loops_gradient(numba_loops):
    W, U, xs, h0 = _problem(n=8)
    g = tc.jit(tc.grad(_rnn_loss, argnums=(0, 1)))
    dW, dU = g(W, U, xs, h0)
    assert "one Numba loop" in g.source()
    eW, eU = _bptt(W, U, xs, h0)
    np.testing.assert_allclose(dW, eW, atol=1e-12)
    np.testing.assert_allclose(dU, eU, atol=1e-12)


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed (the NumPy loop is used)")
def test_numba_loop_overflow_reruns_the_numpy_loop_and_warns(numba_loops):
    def f(x, xs):
        return lax.scan(lambda c, s: (c * tnp.exp(s), c), x, xs)

    x, xs = np.ones(2), np.full((6, 2), 200.0)
    j = tc.jit(f)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c, ys = j(x, xs)
    assert "one Numba loop" in j.source()
    assert np.all(np.isinf(c)) and np.isfinite(ys[0]).all()
    assert any("overflow" in str(w.message) for w in caught), [str(w.message) for w in caught]


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed (the NumPy loop is used)")
def test_ineligible_body_keeps_the_numpy_loop(numba_loops):
    # a 0-d carry is outside what the Numba loop handles: the NumPy loop runs, same values
    def f(c0, xs):
        return lax.scan(lambda c, x: (c + tnp.sum(tnp.sin(x)), c), c0, xs)

    xs = RNG.standard_normal((5, 3))
    j = tc.jit(f)
    c, ys = j(0.5, xs)
    assert "one Numba loop" not in j.source()
    pc, pys = 0.5, []
    for x in xs:
        pys.append(pc)
        pc = pc + np.sum(np.sin(x))
    np.testing.assert_allclose(c, pc)
    np.testing.assert_allclose(ys, pys)


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed (the NumPy loop is used)")
def test_numba_loops_are_cached_on_disk(numba_loops, tmp_path, monkeypatch):
    monkeypatch.setenv("TENSORCALC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("TENSORCALC_NUMBA_CACHE", raising=False)
    scan_numba.clear_cache()

    def f(c0, xs):
        return lax.scan(lambda c, x: (tnp.tanh(c * 0.5 + x), c), c0, xs)

    xs = RNG.standard_normal((7, 2))
    first = tc.jit(f)(np.ones(2), xs)
    files = list((tmp_path / "numba_loops").glob("loop_*.py"))
    assert len(files) == 1
    scan_numba.clear_cache()  # a new process would find the module and Numba's cache beside it
    j = tc.jit(f)
    again = j(np.ones(2), xs)
    assert "one Numba loop" in j.source()
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)
