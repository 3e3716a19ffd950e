"""Derivatives of any order by nesting, checked against closed forms, and the levels of nested
transformations kept apart (no perturbation confusion)."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp


def test_grad_of_grad_closed_form():
    f = lambda x: tnp.sin(x) * x
    d2 = tc.grad(tc.grad(f))
    for x in (0.3, -1.2, 2.0):
        assert d2(x) == pytest.approx(2 * np.cos(x) - x * np.sin(x), rel=1e-12)


def test_third_and_fourth_derivative():
    f = lambda x: tnp.exp(2.0 * x)
    d = f
    for k in range(1, 5):
        d = tc.grad(d)
        assert d(0.5) == pytest.approx(2.0 ** k * np.exp(1.0), rel=1e-12)


def test_jvp_of_grad_is_hessian_vector_product(rng):
    A = rng.standard_normal((4, 4))
    f = lambda x: tnp.sum(x * (A @ x)) + tnp.sum(tnp.sin(x))
    x, v = rng.standard_normal(4), rng.standard_normal(4)
    _, hv = tc.jvp(tc.grad(f), (x,), (v,))
    H = A + A.T - np.diag(np.sin(x))
    np.testing.assert_allclose(hv, H @ v, rtol=1e-12)


def test_grad_of_jvp_and_vjp_of_vjp(rng):
    x, v = rng.standard_normal(3), rng.standard_normal(3)
    g = tc.grad(lambda x: tnp.sum(tc.jvp(tnp.tanh, (x,), (v,))[1]))(x)
    t = np.tanh(x)
    np.testing.assert_allclose(g, -2 * t * (1 - t ** 2) * v)

    def grad_via_vjp(x):
        return tc.vjp(lambda x: tnp.sum(x ** 3), x)[1](1.0)[0]

    u = rng.standard_normal(3)
    np.testing.assert_allclose(tc.vjp(grad_via_vjp, x)[1](u)[0], 6 * x * u)


def test_no_perturbation_confusion():
    # d/dx [ x * (d/dy (x + y)) ] = d/dx [x * 1] = 1; a tape that confuses the levels gives 2.
    f = lambda x: x * tc.grad(lambda y: x + y)(1.0)
    assert tc.grad(f)(3.0) == pytest.approx(1.0)
    # d/dx [ x * d/dy (x * y) ] = d/dx x² = 2x
    g = lambda x: x * tc.grad(lambda y: x * y)(2.0)
    assert tc.grad(g)(3.0) == pytest.approx(6.0)
    # the same in forward mode over reverse mode
    _, t = tc.jvp(g, (3.0,), (1.0,))
    assert t == pytest.approx(6.0)


def test_mixed_partials_of_two_arguments():
    f = lambda x, y: tnp.sin(x * y)
    dxdy = tc.grad(tc.grad(f, argnums=0), argnums=1)
    x, y = 0.7, -0.4
    assert dxdy(x, y) == pytest.approx(np.cos(x * y) - x * y * np.sin(x * y), rel=1e-12)


@pytest.mark.parametrize("order", [2, 3])
def test_check_grads_high_order(order, rng):
    tc.check_grads(lambda W, x: tnp.tanh(W @ x) * x[0], (rng.standard_normal((2, 3)),
                                                        rng.standard_normal(3)), order=order)
