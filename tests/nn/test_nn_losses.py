"""The fused softmax cross-entropy (gradient ŷ − y): value, stability, and a reverse-mode
gradient equal to ŷ − y exactly, for one-hot and integer labels, with batch axes."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.nn.functional as F
from tensorcalc.nn import _primitives as P


def _ref_softmax(t):
    # The same formula the primitive's rule uses, so the comparison can be exact.
    e = np.exp(t - t.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_grad_is_y_hat_minus_y_exactly_one_hot(rng):
    theta = rng.standard_normal(7)
    y = np.eye(7)[3]
    g = tc.grad(lambda t: F.softmax_cross_entropy(t, y))(theta)
    np.testing.assert_array_equal(g, _ref_softmax(theta) - y)


def test_grad_is_y_hat_minus_y_exactly_integer_labels_batched(rng):
    theta = rng.standard_normal((2, 4, 5))
    labels = rng.integers(0, 5, (2, 4))
    g = tc.grad(lambda t: F.softmax_cross_entropy(t, labels, reduction="sum"))(theta)
    np.testing.assert_array_equal(g, _ref_softmax(theta) - np.eye(5)[labels])


def test_mean_reduction_scales_by_rows(rng):
    theta = rng.standard_normal((6, 3))
    labels = rng.integers(0, 3, 6)
    g = tc.grad(lambda t: F.softmax_cross_entropy(t, labels))(theta)
    np.testing.assert_allclose(g, (_ref_softmax(theta) - np.eye(3)[labels]) / 6, rtol=0,
                               atol=1e-16)


def test_vjp_cotangent_scales_rows(rng):
    theta = rng.standard_normal((3, 4))
    y = np.eye(4)[[0, 1, 3]]
    out, pullback = tc.vjp(lambda t: F.softmax_cross_entropy(t, y, reduction="none"), theta)
    c = np.array([1.0, -2.0, 0.5])
    (g,) = pullback(c)
    np.testing.assert_allclose(g, c[:, None] * (_ref_softmax(theta) - y), atol=1e-15)


def test_value_matches_composed_formula(rng):
    theta = rng.standard_normal((4, 6))
    labels = rng.integers(0, 6, 4)
    want = -np.mean(np.log(_ref_softmax(theta))[np.arange(4), labels])
    assert F.softmax_cross_entropy(theta, labels) == pytest.approx(want, rel=1e-12)
    assert F.softmax_cross_entropy(theta, np.eye(6)[labels]) == pytest.approx(want, rel=1e-12)


def test_stable_for_huge_logits():
    theta = np.array([[1000.0, 0.0, -1000.0], [-1e300, 0.0, 1e300]])
    loss = F.softmax_cross_entropy(theta, np.array([0, 2]), reduction="none")
    assert np.all(np.isfinite(loss))
    g = tc.grad(lambda t: F.softmax_cross_entropy(t, np.array([0, 2])))(theta)
    assert np.all(np.isfinite(g))


def test_minus_inf_logit_with_zero_label_is_fine():
    theta = np.array([0.0, -np.inf, 1.0])
    y = np.array([1.0, 0.0, 0.0])
    loss = F.softmax_cross_entropy(theta, y)
    assert np.isfinite(loss)
    assert loss == pytest.approx(np.log(1 + np.e))


def test_second_order_and_soft_labels(rng):
    theta = rng.standard_normal((3, 4))
    soft = rng.dirichlet(np.ones(4), size=3)
    tc.check_grads(lambda t, y: F.softmax_cross_entropy(t, y), (theta, soft), order=2)
    # Hessian of one row: diag(ŷ) − ŷŷᵀ (the softmax Jacobian).
    row = theta[0]
    h = np.array([tc.jvp(tc.grad(lambda t: F.softmax_cross_entropy(t, soft[0])), (row,), (e,))[1]
                  for e in np.eye(4)])
    p = _ref_softmax(row)
    np.testing.assert_allclose(h, np.diag(p) - np.outer(p, p), atol=1e-12)


def test_class_axis_argument(rng):
    theta = rng.standard_normal((5, 3))
    labels = rng.integers(0, 5, 3)
    a = F.softmax_cross_entropy(theta, labels, axis=0)
    b = F.softmax_cross_entropy(theta.T, labels)
    assert a == pytest.approx(b)


@pytest.mark.parametrize("labels, match", [
    (np.array([0, 1]), "integer labels must have shape"),
    (np.ones((3, 2)), "float labels must be one-hot"),
])
def test_bad_label_shapes(labels, match):
    with pytest.raises(ValueError, match=match):
        F.softmax_cross_entropy(np.zeros((3, 4)), labels)


def test_label_out_of_range():
    with pytest.raises(ValueError, match=r"must lie in \[0, 4\)"):
        F.softmax_cross_entropy(np.zeros((2, 4)), np.array([1, 4]))


def test_bad_reduction():
    with pytest.raises(ValueError, match="reduction='avg'"):
        F.softmax_cross_entropy(np.zeros((2, 4)), np.array([1, 2]), reduction="avg")


def test_bce_with_logits_gradient_is_sigmoid_minus_y(rng):
    x = rng.standard_normal(8) * 3
    y = rng.integers(0, 2, 8).astype(float)
    g = tc.grad(lambda t: F.binary_cross_entropy_with_logits(t, y, reduction="sum"))(x)
    np.testing.assert_allclose(g, 1 / (1 + np.exp(-x)) - y, atol=1e-14)
    big = F.binary_cross_entropy_with_logits(np.array([800.0, -800.0]), np.array([0.0, 1.0]),
                                             reduction="none")
    np.testing.assert_allclose(big, [800.0, 800.0])


def test_mse(rng):
    a, b = rng.standard_normal((2, 5, 3))
    assert F.mse(a, b) == pytest.approx(np.mean((a - b) ** 2))
    g = tc.grad(lambda p: F.mse(p, b, reduction="sum"))(a)
    np.testing.assert_allclose(g, 2 * (a - b))


def test_xent_under_vmap(rng):
    vmap = getattr(tc, "vmap", None)
    if vmap is None:
        transforms = pytest.importorskip("tensorcalc.transforms")
        vmap = transforms.vmap
    theta = rng.standard_normal((4, 5))
    y = np.eye(5)[rng.integers(0, 5, 4)]
    got = vmap(P.softmax_xent)(theta, y)
    np.testing.assert_allclose(got, P.softmax_xent(theta, y))
