"""Deep-learning derivatives: closed forms a framework user expects to see."""

import numpy as np

import tensorcalc.symbolic as ts

LOGISTIC_PM1 = "sum(log(exp(-y .* (X*w)) + vector(1)))"  # matrixcalculus.org's example, y in ±1
LOGISTIC_01 = "-(y'*log(sigmoid(X*w)) + (vector(1)-y)'*log(vector(1)-sigmoid(X*w)))"


def test_linear_layer_jacobian_is_the_weight_matrix():
    d = ts.derivative("W*x", "x")
    assert str(d) == "W" and d.shape == ("n", "m") and d.layout == "numerator"
    assert str(ts.derivative("W*x", "x", layout="denominator")) == "W'"
    d.check(method="central-difference")


def test_weight_gradient_is_delta_x_transpose():
    d = ts.derivative("delta'*W*x", "W", shapes={"delta": "vector"})
    assert str(d) == "delta * x'"
    assert d.latex() == r"\delta x^{\top}"
    d.check(method="central-difference")


def test_softmax_cross_entropy_gradient():
    d = ts.derivative("-y'*log(softmax(z))", "z")
    # exact for any y; with a one-hot (or any sum-to-one) y this is softmax(z) - y
    assert str(d) == "sum(y) * softmax(z) - y"
    d.check(method="central-difference")
    assert str(ts.derivative("logsumexp(z) - y'*z", "z")) == "softmax(z) - y"


def test_logistic_loss_gradient_and_hessian_01_labels():
    g = ts.derivative(LOGISTIC_01, "w")
    assert str(g) == "X' * (sigmoid(X * w) - y)"
    g.check(method="central-difference")
    h = ts.hessian(LOGISTIC_01, "w")
    assert str(h) == "X' * diag(sigmoid(X * w) .* (vector(1) - sigmoid(X * w))) * X"
    h.check(method="central-difference")
    # the softplus form gives the same gradient
    g2 = ts.derivative("sum(log(vector(1) + exp(X*w))) - y'*X*w", "w")
    assert str(g2) == str(g)


def test_logistic_loss_pm1_labels_matrixcalculus_example():
    g = ts.derivative(LOGISTIC_PM1, "w")
    assert str(g) == "-X' * (y .* sigmoid(-(y .* (X * w))))"
    assert g.latex() == (r"-X^{\top} \left(y \odot \sigma\left(-\left(y \odot \left(X w\right)"
                         r"\right)\right)\right)")
    g.check(method="central-difference")
    h = ts.hessian(LOGISTIC_PM1, "w")
    assert str(h).startswith("X' * diag(") and str(h).endswith(") * X")
    h.check(method="central-difference")


def test_logsumexp_hessian_closed_form():
    for f in ("logsumexp(x)", "log(sum(exp(x)))"):
        assert str(ts.derivative(f, "x")) == "softmax(x)"
        h = ts.hessian(f, "x")
        assert str(h) == "diag(softmax(x)) - softmax(x) * softmax(x)'"
        h.check(method="central-difference")


def test_relu_and_tanh_layers():
    d = ts.derivative("relu(W*x)", "x")
    assert str(d) == "diag(step(W * x)) * W"
    d.check(method="central-difference")
    d = ts.derivative("sum(relu(W*x))", "W")
    assert str(d) == "step(W * x) * x'"
    d.check(method="central-difference")
    ts.derivative("tanh(W*x)", "W").check(method="central-difference")


def test_closed_form_hessian_evaluates_like_hand_written_numpy():
    rng = np.random.default_rng(0)
    X, w, y = rng.standard_normal((20, 5)), rng.standard_normal(5), rng.integers(0, 2, 20) * 1.0
    H = ts.hessian(LOGISTIC_01, "w").evaluate(X=X, w=w, y=y)
    p = 1 / (1 + np.exp(-X @ w))
    np.testing.assert_allclose(H, X.T @ (p * (1 - p) * X.T).T, rtol=1e-12)
