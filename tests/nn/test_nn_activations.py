"""Activations: values, kink conventions (relu′(0) = 0), stability and derivatives."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.nn.functional as F


def _away_from_zero(rng, shape):
    return rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "gelu", "softplus", "sigmoid",
                                  "tanh"])
def test_check_grads(name, rng):
    fn = getattr(F, name)
    tc.check_grads(fn, (_away_from_zero(rng, (3, 4)),), order=2)


def test_relu_derivative_at_zero_is_zero():
    g = tc.grad(lambda x: F.relu(x).sum())(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(g, [0.0, 0.0, 1.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
def test_relu_values_match_the_select_it_replaces(dtype):
    x = np.array([-2.0, -0.0, 0.0, 0.5, np.inf, -np.inf, np.nan]).astype(dtype, copy=False) \
        if dtype is not np.int64 else np.array([-2, 0, 3])
    want = np.where(x > 0, x, 0.0)
    got = F.relu(x)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
    assert not np.signbit(got[~np.isnan(want)]).any()           # +0 for −0, as the select
    np.testing.assert_array_equal(tc.jit(F.relu)(x), want)


def test_relu_cotangents_off_the_mask_stay_zero_even_when_infinite():
    # the select convention: the branch not taken never lets inf or NaN into the derivative
    x = np.array([-1.0, 2.0, -3.0, 4.0])
    ct = np.array([np.inf, -2.0, np.nan, 1.0])
    want = np.array([0.0, -2.0, 0.0, 1.0])
    _, pull = tc.vjp(F.relu, x)
    np.testing.assert_array_equal(pull(ct)[0], want)
    np.testing.assert_array_equal(tc.jit(lambda c: tc.vjp(F.relu, x)[1](c)[0])(ct), want)
    np.testing.assert_array_equal(tc.jvp(F.relu, (x,), (ct,))[1], want)
    # a NaN on the mask passes through
    np.testing.assert_array_equal(pull(np.array([0.0, np.nan, 0.0, 1.0]))[0],
                                  [0.0, np.nan, 0.0, 1.0])


def test_relu_gradient_vmaps_and_differentiates_twice(rng):
    x = _away_from_zero(rng, (3, 5))
    g = tc.vmap(tc.grad(lambda r: (F.relu(r) ** 3).sum()))(x)
    np.testing.assert_allclose(g, 3 * np.maximum(x, 0) ** 2, rtol=1e-14)
    h = tc.hessian(lambda r: (F.relu(r) ** 3).sum())(x[0])
    np.testing.assert_allclose(h, np.diag(6 * np.maximum(x[0], 0)), rtol=1e-14)


def test_leaky_relu_slope():
    g = tc.grad(lambda x: F.leaky_relu(x, 0.1).sum())(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_allclose(g, [0.1, 0.1, 1.0])


def test_sigmoid_and_softplus_are_stable():
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    s = F.sigmoid(x)
    np.testing.assert_allclose(s, [0.0, 1 / (1 + np.exp(30.0)), 0.5, 1 / (1 + np.exp(-30.0)), 1.0],
                               rtol=1e-12)
    assert F.softplus(np.array(1000.0)) == 1000.0
    g = tc.grad(lambda t: F.softplus(t).sum())(x)
    np.testing.assert_allclose(g, s)
    # σ′(0) = 1/4 and softplus″(0) = 1/4: no kink hidden in the stable formulas.
    assert tc.grad(F.sigmoid)(0.0) == pytest.approx(0.25)
    assert tc.grad(tc.grad(F.softplus))(0.0) == pytest.approx(0.25)


def test_elu_large_input_has_finite_gradient():
    g = tc.grad(lambda x: F.elu(x).sum())(np.array([1000.0, -3.0]))
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g, [1.0, np.exp(-3.0)])


def test_gelu_forms():
    x = np.linspace(-3, 3, 7)
    approx = F.gelu(x)
    from math import erf
    exact_ref = np.array([0.5 * v * (1 + erf(v / np.sqrt(2))) for v in x])
    np.testing.assert_allclose(approx, exact_ref, atol=1e-3)
    np.testing.assert_allclose(F.gelu(x, approximate=False), exact_ref, atol=1e-12)


def test_softmax_and_log_softmax(rng):
    x = rng.standard_normal((3, 5)) * 50
    p = F.softmax(x, axis=1)
    np.testing.assert_allclose(p.sum(1), 1.0)
    np.testing.assert_allclose(np.exp(F.log_softmax(x)), p, atol=1e-12)
    tc.check_grads(lambda t: F.softmax(t, axis=0), (rng.standard_normal((3, 4)),), order=2)
    tc.check_grads(F.log_softmax, (rng.standard_normal((3, 4)),), order=2)


def test_one_hot():
    np.testing.assert_array_equal(F.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(TypeError, match="integers"):
        F.one_hot(np.array([0.5]), 3)


def test_sigmoid_and_softmax_are_the_special_primitives():
    from tensorcalc.core.primitive import Primitive
    x = np.ones((2, 3))
    prims = lambda f: [eq.primitive.name for eq in tc.trace(f, x).equations]  # noqa: E731
    assert prims(F.sigmoid) == ["expit"]
    assert prims(F.softmax) == ["softmax"]
    assert prims(F.log_softmax) == ["log_softmax"]
    assert "nn.sigmoid" not in Primitive.registry
