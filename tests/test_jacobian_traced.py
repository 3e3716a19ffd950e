"""Structured elimination on traced values: Jacobians and Hessians inside ``jit`` (and other
transformations) multiply vectors and scale a matrix once instead of sweeping a basis.

Results are checked against NumPy closed forms and central differences; the strong-zero
products are checked on numbers chosen to make ``0 · ∞`` and ``0 · NaN``.
"""

from __future__ import annotations

import numpy as np

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.accumulate.structure import Dense, Diagonal, ScaledIdentity
from tensorcalc.core.context import strong_zero_checks
from tensorcalc.jacobians.traced import Traced, traced_add, traced_matmul
from tensorcalc.transforms import hessian, jacfwd, jacobian, jacrev
from tests.finite_diff import central_jacobian


def _logistic(m=40, n=6, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    y = np.sign(rng.standard_normal(m))
    w = 0.3 * rng.standard_normal(n)

    def loss(v):
        return tnp.sum(tnp.log(1 + tnp.exp(-y * (A @ v))))

    p = 1 / (1 + np.exp(-y * (A @ w)))
    return loss, w, A, (A.T * (p * (1 - p))) @ A


def test_jit_hessian_is_the_closed_form_and_scales_the_matrix_once():
    loss, w, A, closed = _logistic()
    h = tc.jit(hessian(loss))
    np.testing.assert_allclose(h(w), closed, rtol=1e-12, atol=1e-13)
    # The sweep would multiply every elementwise factor into an (n, m) batch; the elimination
    # multiplies m-vectors and forms one scaled copy of A.
    m, n = A.shape
    big = [eq for eq in h.program(w).equations if eq.primitive.name != "matmul"
           and any(int(np.prod(v.aval.shape)) == m * n for v in eq.outputs)]
    assert len(big) <= 1, [eq.primitive.name for eq in big]


def test_hessian_under_other_transformations_matches_eager():
    loss, w, _, closed = _logistic(m=15, n=4, seed=1)
    np.testing.assert_allclose(jacfwd(jacrev(loss))(w), closed, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(tc.jit(jacfwd(tc.grad(loss)))(w), closed, rtol=1e-12,
                               atol=1e-13)
    # grad of a traced Hessian entry: d/dw H[0, 0] against central differences of the eager H
    g = tc.grad(lambda v: hessian(loss)(v)[0, 0])
    np.testing.assert_allclose(g(w), central_jacobian(lambda v: hessian(loss)(v)[0, 0], w),
                               rtol=1e-6, atol=1e-8)


def test_where_branch_with_nan_stays_out_of_the_jit_hessian():
    x = np.array([-1.5, -0.2, 0.3, 0.8, 2.0])
    wts = np.arange(1.0, 6.0)

    def f(v):
        return tnp.sum(wts * tnp.where(v < 0, v * v, tnp.sqrt(v)))

    want = np.diag(np.where(x < 0, 2 * wts, -wts / (4 * np.abs(x) ** 1.5)))
    np.testing.assert_allclose(tc.jit(hessian(f))(x), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hessian(f)(x), want, rtol=1e-12, atol=1e-14)


def test_programs_with_other_kinds_still_sweep_correctly():
    rng = np.random.default_rng(2)
    B = rng.standard_normal((3, 2))

    def f(v):  # a transpose and a reduction: kinds the traced elimination leaves to sweeps
        m = tnp.reshape(tnp.sin(v), (2, 3)).T
        return tnp.sum(tnp.tanh(m @ B.T) ** 2) + tnp.sum(v ** 3)

    x = rng.standard_normal(6)
    got = tc.jit(hessian(f))(x)
    np.testing.assert_allclose(got, hessian(f)(x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got, central_jacobian(tc.grad(f), x), rtol=1e-6, atol=1e-7)


def test_jit_jacobian_of_a_tanh_map():
    rng = np.random.default_rng(3)
    W1, W2 = rng.standard_normal((7, 5)), rng.standard_normal((4, 7))
    x = rng.standard_normal(5)

    def f(v):
        return tnp.tanh(W2 @ tnp.tanh(W1 @ v))

    h1 = np.tanh(W1 @ x)
    h2 = np.tanh(W2 @ h1)
    closed = ((1 - h2 ** 2)[:, None] * W2) @ ((1 - h1 ** 2)[:, None] * W1)
    np.testing.assert_allclose(tc.jit(jacobian(f))(x), closed, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tc.jit(jacobian(tc.jit(f)))(x), closed, rtol=1e-12,
                               atol=1e-14)


def _diag(d, strong=False):
    d = np.asarray(d, float)
    return Traced(Diagonal(d.size), d, strong)


def test_products_keep_the_strong_zero_side():
    inf, nan = np.inf, np.nan
    with strong_zero_checks():
        # tangent side: a zero from the earlier factor survives an infinite later one
        got = traced_matmul(_diag([inf, 2.0]), _diag([0.0, 3.0]))
        np.testing.assert_array_equal(got.data, [0.0, 6.0])
        # constant side (a where mask): the later zero discards an earlier NaN
        got = traced_matmul(_diag([0.0, 2.0], strong=True), _diag([nan, 3.0]))
        np.testing.assert_array_equal(got.data, [0.0, 6.0])
        # column scaling: a zero diagonal entry zeroes its column, inf or not
        A = Traced(Dense(2, 2), np.array([[inf, 1.0], [1.0, 1.0]]))
        got = traced_matmul(A, _diag([0.0, 1.0]))
        np.testing.assert_array_equal(got.data, [[0.0, 1.0], [0.0, 1.0]])
        # row scaling by a constant-side mask
        got = traced_matmul(_diag([0.0, 1.0], strong=True),
                            Traced(Dense(2, 2), np.array([[nan, nan], [1.0, 2.0]])))
        np.testing.assert_array_equal(got.data, [[0.0, 0.0], [1.0, 2.0]])
        # a scaled identity times a diagonal, and sums of paths
        got = traced_matmul(Traced(ScaledIdentity(2), -1.0), _diag([0.0, 4.0]))
        np.testing.assert_array_equal(got.data, [0.0, -4.0])
        s = traced_add(_diag([1.0, 2.0]), Traced(ScaledIdentity(2), 0.5))
        np.testing.assert_array_equal(s.data, [1.5, 2.5])
        d = traced_add(A, _diag([1.0, 2.0]))
        np.testing.assert_array_equal(d.data, [[inf, 1.0], [1.0, 3.0]])


def test_batched_and_differentiated_traced_hessians():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((7, 3))

    def loss(v):
        return tnp.sum(tnp.log(1 + tnp.exp(A @ v)))

    def closed(v):
        p = 1 / (1 + np.exp(-(A @ v)))
        return (A.T * (p * (1 - p))) @ A

    X = rng.standard_normal((4, 3))
    want = np.stack([closed(v) for v in X])
    np.testing.assert_allclose(tc.vmap(hessian(loss))(X), want, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tc.jit(tc.vmap(hessian(loss)))(X), want, rtol=1e-12,
                               atol=1e-14)
    g = tc.grad(lambda v: tnp.sum(tc.jit(hessian(loss))(v) ** 2))(X[0])
    np.testing.assert_allclose(g, central_jacobian(lambda v: np.sum(closed(v) ** 2), X[0]),
                               rtol=1e-6, atol=1e-8)
