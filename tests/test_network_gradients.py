"""The seven network gradients of docs/lessons/networks.md computed by the library in both modes.

The Jacobian is assembled here row by row from vjp and column by column from jvp (a test may
loop; the library's own jacobian does not), and each result is compared with the closed form
the lesson derives by hand."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp


def jac_rev(f, x):
    out, pullback = tc.vjp(f, x)
    rows = [pullback(e.reshape(np.shape(out)))[0] for e in np.eye(np.size(out))]
    return np.stack(rows).reshape(np.shape(out) + np.shape(x))


def jac_fwd(f, x):
    cols = [tc.jvp(f, (x,), (e.reshape(np.shape(x)),))[1] for e in np.eye(np.size(x))]
    return np.moveaxis(np.stack(cols), 0, -1).reshape(np.shape(f(x)) + np.shape(x))


@pytest.fixture
def W(rng):
    return rng.standard_normal((4, 3))


@pytest.mark.parametrize("jac", [jac_rev, jac_fwd])
def test_2_8_1_jacobian_of_Wx_is_W(W, rng, jac):
    x = rng.standard_normal(3)
    np.testing.assert_allclose(jac(lambda x: W @ x, x), W, rtol=1e-14)


@pytest.mark.parametrize("jac", [jac_rev, jac_fwd])
def test_2_8_2_jacobian_of_xW_is_W_transpose(W, rng, jac):
    x = rng.standard_normal(4)
    np.testing.assert_allclose(jac(lambda x: x @ W, x), W.T, rtol=1e-14)


@pytest.mark.parametrize("jac", [jac_rev, jac_fwd])
def test_2_8_3_jacobian_of_identity_is_I(rng, jac):
    x = rng.standard_normal(5)
    np.testing.assert_array_equal(jac(lambda x: x * 1.0, x), np.eye(5))


@pytest.mark.parametrize("jac", [jac_rev, jac_fwd])
def test_2_8_4_elementwise_jacobian_is_diag(rng, jac):
    x = rng.standard_normal(5)
    np.testing.assert_allclose(jac(tnp.tanh, x), np.diag(1 - np.tanh(x) ** 2), rtol=1e-14)


def scalar_head(z):
    return tnp.sum(tnp.sin(z) * z)          # any scalar J(z); δ = ∂J/∂z = cos(z) z + sin(z)


def test_2_8_5_dJ_dW_is_delta_x_transpose(W, rng):
    x = rng.standard_normal(3)
    z = W @ x
    delta = tc.grad(scalar_head)(z)
    np.testing.assert_allclose(delta, np.cos(z) * z + np.sin(z), rtol=1e-14)
    gW = tc.grad(lambda W: scalar_head(W @ x))(W)
    np.testing.assert_allclose(gW, np.outer(delta, x), rtol=1e-13)


def test_2_8_6_dJ_dW_is_x_transpose_delta_batched(rng):
    X, W = rng.standard_normal((6, 4)), rng.standard_normal((4, 3))   # rows are samples
    Z = X @ W
    delta = tc.grad(scalar_head)(Z)
    gW = tc.grad(lambda W: scalar_head(X @ W))(W)
    np.testing.assert_allclose(gW, X.T @ delta, rtol=1e-13)


def softmax(t):
    e = tnp.exp(t - tnp.max(t))
    return e / tnp.sum(e)


def test_2_8_7_softmax_cross_entropy_gradient_is_yhat_minus_y(rng):
    theta = rng.standard_normal(5)
    y = np.eye(5)[2]
    J = lambda t: -tnp.sum(y * tnp.log(softmax(t)))
    yhat = np.exp(theta) / np.exp(theta).sum()
    np.testing.assert_allclose(tc.grad(J)(theta), yhat - y, rtol=1e-12, atol=1e-15)
    # forward mode agrees: ⟨ŷ − y, v⟩
    v = rng.standard_normal(5)
    np.testing.assert_allclose(tc.jvp(J, (theta,), (v,))[1], (yhat - y) @ v, rtol=1e-12)
