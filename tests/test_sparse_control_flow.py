"""Sparsity through control flow and custom rules: cond/switch, scan/fori_loop, while_loop,
custom_jvp/custom_vjp and checkpoint. Detected patterns are compared with the nonzeros of dense
Jacobians at random points (a superset always, equal when no cancellation can occur), and the
sparse values with dense Jacobians."""

import importlib

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc import lax
from tensorcalc.core.shapes import ShapedArray
from tensorcalc.interpreters.stage import stage_flat
from tensorcalc.jacobians import pattern as pattern_mod
from tensorcalc.jacobians.pattern import detect_pattern
from tensorcalc.jacobians.sweeps import Linearized
from tensorcalc.transforms import _linearize_for, jacfwd, jacrev

pytest.importorskip("scipy.sparse")
# tensorcalc.lax exports the function while_loop under the module's name
while_mod = importlib.import_module("tensorcalc.lax.while_loop")


def _lin_pattern(f, x):
    report = detect_pattern(_linearize_for(f, (x,), 0, False, "t")[0])
    return report.pattern.toarray(), report


def _staged_pattern(f, x):
    """The pattern read off the staged primal program (a traced predicate keeps its cond)."""
    aval = ShapedArray(x.shape, x.dtype)
    prog = stage_flat(lambda xs: [f(xs[0])], [aval])
    report = detect_pattern(Linearized(prog, [aval], list(prog.out_avals), []))
    return report.pattern.toarray(), report


def _true(f, x, rev=False):
    return (jacrev if rev else jacfwd)(f)(x).reshape(-1, x.size)


def _stencil(u):
    p = tnp.pad(u, 1)
    return u + 0.1 * (p[:-2] + p[2:] - 2.0 * u) - 0.01 * u ** 3


def _scan_ys(u):
    c, ys = lax.scan(lambda c, _: (_stencil(c), tnp.exp(c[:3])), u, None, length=4)
    return tnp.concatenate([c, ys.ravel()])


def _scan_xs(u):
    c, ys = lax.scan(lambda c, x: (c * x, c + tnp.sin(x)), u[0], u[1:])
    return tnp.concatenate([c[None], ys])


def _scan_reverse(u):
    c, ys = lax.scan(lambda c, x: (tnp.roll(c, 1) * x, c[0] * x), u[:4],
                     u[4:].reshape(2, 4), reverse=True)
    return tnp.concatenate([c, ys.ravel()])


def _nested_scan(u):
    def outer(c, _):
        return lax.fori_loop(0, 2, lambda i, v: _stencil(v), c), None

    return lax.scan(outer, u, None, length=2)[0]


def _while(u):
    return lax.while_loop(lambda c: c[1] < 3, lambda c: (_stencil(c[0]), c[1] + 1), (u, 0))[0]


def _ckpt(u):
    return tc.checkpoint(_stencil)(u)[1:] * u[:-1]


@tc.custom_jvp
def _cj(x):
    return tnp.sin(x[1:]) * x[:-1]


def _cj_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _cj(x), tnp.cos(x[1:]) * t[1:] * x[:-1] + tnp.sin(x[1:]) * t[:-1]


_cj.defjvp(_cj_jvp)


@tc.custom_vjp
def _cv(x):
    return tnp.exp(x[1:]) + x[:-1]


def _cv_fwd(x):
    return _cv(x), (x,)


def _cv_bwd(res, ct):
    (x,) = res
    z = tnp.zeros(1)
    return (tnp.concatenate([ct, z]) + tnp.concatenate([z, ct * tnp.exp(x[1:])]),)


_cv.defvjp(_cv_fwd, _cv_bwd)

#: (function, size, exact: no cancellation and no loop of unknown trip count, reverse only)
CASES = [
    (_scan_ys, 12, True, False),
    (_scan_xs, 9, True, False),
    (_scan_reverse, 12, True, False),
    (lambda u: lax.fori_loop(0, 3, lambda i, c: _stencil(c), u), 15, True, False),
    (_nested_scan, 20, True, False),
    (_while, 12, False, False),
    (_ckpt, 10, True, False),
    (_cj, 8, True, False),
    (_cv, 8, True, True),
    (lambda u: _cj(tc.checkpoint(_stencil)(u)), 9, True, False),
]


@pytest.mark.parametrize("f,n,exact,rev", CASES)
def test_control_flow_pattern_covers_the_true_one_and_values_match(f, n, exact, rev, rng):
    x = rng.uniform(0.2, 0.9, n)
    pattern, report = _lin_pattern(f, x)
    assert not report.dense_blocks
    for point in (x, rng.uniform(0.2, 0.9, n)):
        true = _true(f, point, rev) != 0
        assert (pattern >= true).all()
        if exact:
            np.testing.assert_array_equal(pattern, true)
    S = tc.jacobian(f, sparse=True)(x)
    np.testing.assert_allclose(S.toarray(), _true(f, x, rev), rtol=1e-12, atol=1e-14)


def _cond(u):
    return lax.cond(u[0] > 0.5, lambda v: v[1:] * v[:-1], lambda v: tnp.roll(v, 1)[1:], u)


def _switch(u):
    index = (u[0] > 0.5).astype(int) + (u[1] > 0.5).astype(int)
    return lax.switch(index, [lambda v: v * 2.0, lambda v: v[::-1], lambda v: tnp.sin(v)], u)


@pytest.mark.parametrize("f", [_cond, _switch])
def test_cond_pattern_is_the_union_of_the_branches(f, rng):
    x = rng.uniform(0.0, 1.0, 7)
    pattern, report = _staged_pattern(f, x)
    assert not report.dense_blocks
    union = np.zeros_like(pattern)
    for first in (0.2, 0.7):
        for second in (0.2, 0.7):
            point = x.copy()
            point[:2] = first, second
            true = _true(f, point) != 0
            assert (pattern >= true).all()
            union |= true
    np.testing.assert_array_equal(pattern, union)  # and nothing more: the index adds nothing


def test_jit_of_a_sparse_jacobian_through_switch_keeps_the_union(rng):
    x = rng.uniform(0.0, 1.0, 7)
    x[:2] = 0.7, 0.2  # branch 1: the reversal
    S = tc.jit(tc.jacobian(_switch, sparse=True))(x)
    union, _ = _staged_pattern(_switch, x)
    assert S.nnz == union.sum()  # the structural pattern of every branch, zeros included
    np.testing.assert_allclose(S.toarray(), _true(_switch, x), atol=1e-15)


def test_a_stencil_loop_gives_a_band_not_a_dense_block():
    n, steps = 200, 5
    f = lambda u: lax.fori_loop(0, steps, lambda i, c: _stencil(c), u)  # noqa: E731
    x = np.full(n, 0.5)
    S = tc.jacobian(f, sparse=True)(x)
    rows, cols = S.nonzero()
    assert np.abs(rows - cols).max() == steps
    band = sum(n - abs(k) for k in range(-steps, steps + 1))
    assert S.nnz == band < n * n // 10
    np.testing.assert_allclose(S.toarray(), _true(f, x), rtol=1e-12, atol=1e-15)


def test_a_long_scan_stops_at_its_fixed_point(monkeypatch):
    calls = []
    original = pattern_mod.PatternAlgebra.propagate

    def counting(self, program, in_pats, top=False):
        calls.append(top)
        return original(self, program, in_pats, top)

    monkeypatch.setattr(pattern_mod.PatternAlgebra, "propagate", counting)
    f = lambda u: lax.scan(lambda c, _: (0.5 * tnp.roll(c, 1) + 0.5 * c, c[:2]), u, None,  # noqa: E731
                           length=10_000)
    x = np.full(6, 0.5)
    pattern, _ = _lin_pattern(lambda u: tnp.concatenate([f(u)[0], f(u)[1].ravel()]), x)
    assert pattern.shape == (6 + 20_000, 6)
    assert pattern[:6].all()  # the roll reaches every entry after 5 steps ...
    assert len(calls) < 50  # ... and then every later step repeats: the body is not rerun
    np.testing.assert_array_equal(pattern[6:8], np.eye(6, dtype=bool)[:2])  # step 0: c[:2]
    assert pattern[-2:].all()


def test_a_while_loop_that_does_not_settle_is_coarsened_to_a_superset(monkeypatch, rng):
    monkeypatch.setattr(while_mod, "WHILE_SPARSITY_STEPS", 2)
    x = rng.uniform(0.2, 0.9, 30)
    pattern, _ = _lin_pattern(_while, x)
    assert (pattern >= (_true(_while, x) != 0)).all()
    np.testing.assert_allclose(tc.jacobian(_while, sparse=True)(x).toarray(), _true(_while, x),
                               rtol=1e-12, atol=1e-15)


def test_sparse_hessian_through_a_scan(rng):
    def energy(u):
        c = lax.fori_loop(0, 2, lambda i, v: _stencil(v), u)
        return tnp.sum(c ** 2)

    x = rng.uniform(0.2, 0.9, 25)
    H = tc.hessian(energy, sparse=True)(x)
    dense = tc.hessian(energy)(x)
    np.testing.assert_allclose(H.toarray(), dense, rtol=1e-10, atol=1e-12)
    rows, cols = H.nonzero()
    assert np.abs(rows - cols).max() <= 4 and H.nnz < x.size ** 2 // 2


# --- property: random loops of positive-slope steps have exactly the dense pattern ---------

_STEPS = {
    "shift": lambda c: tnp.pad(c, 1)[:-2] + c,
    "back": lambda c: tnp.pad(c, 1)[2:] + 2.0 * c,
    "roll": lambda c: tnp.roll(c, 2) * 0.5 + c,
    "exp": lambda c: tnp.exp(c * 0.1),
    # c_i (2 − 1/(1 + c_j)): both slopes positive, and the factor lies in (1, 2), so repeated
    # pairs neither underflow (c_i c_j squared ten times is 0.0 in float64) nor overflow
    "pair": lambda c: c * (2.0 - 1.0 / (1.0 + tnp.concatenate([c[1:], c[:1]]))),
}


@example(ops=["pair", "pair"], length=5, n=3, seed=0, wrap="scan")  # underflowed before
@settings(max_examples=25, deadline=None)
@given(ops=st.lists(st.sampled_from(sorted(_STEPS)), min_size=1, max_size=3),
       length=st.integers(1, 6), n=st.integers(3, 12), seed=st.integers(0, 2**16),
       wrap=st.sampled_from(["scan", "fori", "checkpoint"]))
def test_random_loops_detect_exactly_the_true_pattern(ops, length, n, seed, wrap):
    def body(c):
        for name in ops:
            c = _STEPS[name](c)
        return c

    if wrap == "scan":
        def f(u):
            c, ys = lax.scan(lambda c, _: (body(c), c[:1] * 2.0), u, None, length=length)
            return tnp.concatenate([c, ys.ravel()])
    elif wrap == "fori":
        def f(u):
            return lax.fori_loop(0, length, lambda i, c: body(c), u)
    else:
        def f(u):
            return tc.checkpoint(body)(u)

    # every local derivative is positive on (0.1, 0.9): no cancellation, so equality holds
    x = np.random.default_rng(seed).uniform(0.1, 0.9, n)
    pattern, _ = _lin_pattern(f, x)
    np.testing.assert_array_equal(pattern, _true(f, x) != 0)
