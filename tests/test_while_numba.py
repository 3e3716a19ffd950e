"""Numba-compiled while loops under jit (lax/while_numba.py): the same values as the NumPy
loop, fallbacks for what cannot be scalarized, and odeint's loops compiled end to end."""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.lax as lax
import tensorcalc.numpy as tnp
from tensorcalc.lax import scan_numba, while_numba
from tensorcalc.scipy.integrate import odeint

HAS_NUMBA = importlib.util.find_spec("numba") is not None
needs_numba = pytest.mark.skipif(not HAS_NUMBA,
                                 reason="numba is not installed (the NumPy loop is used)")
MARK = "one Numba loop (tensorcalc.lax.while_numba)"


@pytest.fixture
def mode():
    before = scan_numba.loop_compiler()

    def set_mode(m: str) -> None:
        scan_numba.loop_compiler(m)

    yield set_mode
    scan_numba.loop_compiler(before)


def newton_like(a, b, x0):
    """A loop touching each scalarized operation: matmul, indexing (and its transpose, under
    grad), concatenate, select, reductions, an integer counter and a boolean predicate."""
    def cond(s):
        i, x, r = s
        return tnp.logical_and(i < 40, r > 1e-12)

    def body(s):
        i, x, r = s
        y = a @ x + b
        z = tnp.concatenate([y[:1] * y[1], tnp.sin(y[1:])])
        x_new = 0.5 * x + 0.1 * tnp.where(z > 0, z, -z) / (1.0 + tnp.max(tnp.abs(z)))
        return i + 1, x_new, tnp.sum((x_new - x) ** 2)

    i, x, r = lax.while_loop(cond, body, (0, x0, 1.0))
    return tnp.sum(x * x) + r


def _args():
    rng = np.random.default_rng(3)
    return rng.standard_normal((3, 3)) / 3, rng.standard_normal(3), rng.standard_normal(3)


def _run(fn, m, mode_setter, *args):
    mode_setter(m)
    f = tc.jit(fn)
    return f(*args), f.source(*args)


@needs_numba
def test_compiled_while_loop_gives_the_numpy_loops_values(mode):
    args = _args()
    ref, src_np = _run(newton_like, "numpy", mode, *args)
    got, src_nb = _run(newton_like, "numba", mode, *args)
    assert MARK not in src_np and MARK in src_nb
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13)
    # And the eager (Python) loop.
    np.testing.assert_allclose(got, newton_like(*args), rtol=1e-13, atol=1e-13)


@needs_numba
def test_compiled_while_loop_in_forward_mode_matches(mode):
    args = _args()
    jac = lambda a, b, x0: tc.jacfwd(newton_like, argnums=2)(a, b, x0)  # noqa: E731
    ref, _ = _run(jac, "numpy", mode, *args)
    got, src = _run(jac, "numba", mode, *args)
    assert MARK in src
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13)


@needs_numba
def test_loops_that_differ_in_a_literal_bound_share_one_compile(mode):
    mode("numba")
    scan_numba.clear_cache()

    def upto(bound):
        return tc.jit(lambda x: lax.while_loop(lambda s: s[0] < bound,
                                               lambda s: (s[0] + 1.0, s[1] * 1.5), (0.0, x))[1])

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(upto(3.0)(x), x * 1.5 ** 3, rtol=1e-15)
    np.testing.assert_allclose(upto(5.0)(x), x * 1.5 ** 5, rtol=1e-15)
    loops = [k for k in scan_numba._cache if "def while_loop" in k[0]]
    assert len(loops) == 1


@needs_numba
def test_large_or_unsupported_values_keep_the_numpy_loop(mode):
    mode("numba")
    big = np.ones(while_numba.MAX_ELEMENTS + 1)

    def loop(x):
        return lax.while_loop(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * 2.0), (0, x))[1]

    f = tc.jit(loop)
    np.testing.assert_allclose(f(big), big * 8.0)
    assert MARK not in f.source(big)
    small = np.ones(3)

    def sorting(x):  # sort has no scalar form here
        return lax.while_loop(lambda s: s[0] < 3,
                              lambda s: (s[0] + 1, tnp.sort(s[1]) * 2.0), (0, x))[1]

    g = tc.jit(sorting)
    np.testing.assert_allclose(g(small), small * 8.0)
    assert MARK not in g.source(small)


@needs_numba
def test_auto_compiles_once_enough_iterations_ran(mode):
    mode("auto")
    scan_numba.clear_cache()
    bound = float(scan_numba.MIN_STEPS) / 2 + 0.5  # two calls pass MIN_STEPS iterations

    def loop(x):
        return lax.while_loop(lambda s: s[0] < bound, lambda s: (s[0] + 1.0, s[1] * 0.99),
                              (0.0, x))[1]

    f, x = tc.jit(loop), np.array([1.0, 3.0])
    expect = x * 0.99 ** np.ceil(bound)
    compiled = lambda: [k for k in scan_numba._cache if "def while_loop" in k[0]]  # noqa: E731
    np.testing.assert_allclose(f(x), expect, rtol=1e-13)
    assert compiled() == []  # the first call ran the NumPy loop
    np.testing.assert_allclose(f(x), expect, rtol=1e-13)
    np.testing.assert_allclose(f(x), expect, rtol=1e-13)
    assert len(compiled()) == 1


@needs_numba
def test_overflow_reruns_the_numpy_loop_and_warns(mode):
    mode("numba")
    f = tc.jit(lambda x: lax.while_loop(lambda s: s[0] < 5,
                                        lambda s: (s[0] + 1, s[1] * 1e200), (0, x))[1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = f(np.array([1.0, 2.0]))
    assert np.all(np.isinf(out))
    assert any("overflow" in str(w.message) for w in caught)


def decay(y, t, k):
    return -k * y


TS = np.array([0.0, 0.5, 1.0])


@needs_numba
def test_odeint_gradient_with_compiled_loops_matches_numpy_and_analytic(mode):
    def loss(y0, k):
        return tnp.sum(odeint(decay, y0, TS, k) ** 2)

    y0, k = np.array([2.0]), 0.7
    ref, _ = _run(tc.grad(loss, argnums=(0, 1)), "numpy", mode, y0, k)
    got, src = _run(tc.grad(loss, argnums=(0, 1)), "numba", mode, y0, k)
    assert src.count(MARK) >= 2  # the forward solve and the adjoint
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-12, atol=1e-13)
    e = np.exp(-2 * k * TS)  # y = y0 e^{-kt}: d/dk Σ y² = Σ -2 t y0² e^{-2kt}
    np.testing.assert_allclose(got[1], np.sum(-2 * TS * y0[0] ** 2 * e), rtol=1e-6)
    np.testing.assert_allclose(got[0], [np.sum(2 * y0[0] * e)], rtol=1e-6)



def forced(y, t, k):
    return -k * y[::-1] * y + 0.3 * tnp.cos(t)


@needs_numba
@pytest.mark.parametrize("ts", [np.array([0.0, 0.4, 0.4, 1.1, 1.5]), np.array([0.2])])
def test_odeint_single_loops_match_the_per_interval_loops(mode, ts):
    # Under "numba" each direction is one loop over all output times (integrate_loop.py);
    # under "numpy" one loop per interval: same steps, same values. Repeated times and a
    # single time are the edge cases of the interval bookkeeping.
    def loss(y0, t, k):
        return tnp.sum(odeint(forced, y0, t, k) ** 2)

    args = (np.array([1.0, 0.5]), ts, 0.8)
    g = tc.grad(loss, argnums=(0, 1, 2))
    ref, _ = _run(g, "numpy", mode, *args)
    got, src = _run(g, "numba", mode, *args)
    if len(ts) > 1:
        assert src.count(MARK) == 2  # one forward loop, one adjoint loop
    for a, b in zip(got, ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    ys_ref, _ = _run(lambda y0, t, k: odeint(forced, y0, t, k), "numpy", mode, *args)
    ys, _ = _run(lambda y0, t, k: odeint(forced, y0, t, k), "numba", mode, *args)
    np.testing.assert_allclose(ys, ys_ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(ys, odeint(forced, *args), rtol=1e-12, atol=1e-13)
