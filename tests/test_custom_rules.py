"""``custom_jvp``, ``custom_vjp`` and ``stop_gradient``: the user's rules are used by every
transformation, at every order, and bad rules get clear errors.

The examples follow the ones JAX documents for these APIs, in our own words: a log(1 + eˣ)
whose naive derivative overflows, a gradient clipped in the backward pass, a rule that itself
calls a custom function, residuals that are pytrees."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.lax import stop_gradient as lax_stop_gradient

X = np.array([-1.5, 0.0, 0.7, 2.0])


# --- custom_jvp --------------------------------------------------------------------------------


@tc.custom_jvp
def softplus(x):
    return tnp.logaddexp(0.0, x)


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    # σ(x) written so that it never overflows; the naive rule e^x / (1 + e^x) is inf/inf at 800.
    return softplus(x), t * tc_sigmoid(x)


def tc_sigmoid(x):
    return 0.5 * (tnp.tanh(0.5 * x) + 1.0)


def test_custom_jvp_rule_is_used_where_the_plain_derivative_overflows():
    assert tc.grad(softplus)(800.0) == 1.0
    naive = tc.grad(lambda x: tnp.log1p(tnp.exp(x)))
    with np.errstate(over="ignore", invalid="ignore"):
        assert naive(800.0) != 1.0  # e^800 overflows: the plain chain rule cannot give 1


def test_custom_jvp_in_both_modes_to_second_order():
    tc.check_grads(lambda x: tnp.sum(softplus(x) ** 2), (X,), order=2, modes=("fwd", "rev"))
    want = 0.5 * (np.tanh(0.5 * X) + 1.0)
    for jac in (tc.jacfwd, tc.jacrev, tc.jacobian):
        np.testing.assert_allclose(np.diagonal(jac(softplus)(X)), want, rtol=1e-14)
    h = tc.hessian(lambda x: tnp.sum(softplus(x)))(X)
    np.testing.assert_allclose(np.diagonal(h), want * (1 - want), rtol=1e-12)


def test_custom_jvp_under_vmap_and_jit():
    want = 0.5 * (np.tanh(0.5 * X) + 1.0)
    np.testing.assert_allclose(tc.vmap(tc.grad(softplus))(X), want, rtol=1e-14)
    np.testing.assert_allclose(tc.grad(lambda v: tnp.sum(tc.vmap(softplus)(v)))(X), want,
                               rtol=1e-14)
    np.testing.assert_allclose(tc.jit(tc.grad(lambda v: tnp.sum(softplus(v))))(X), want,
                               rtol=1e-14)
    np.testing.assert_allclose(tc.grad(tc.jit(lambda v: tnp.sum(softplus(v))))(X), want,
                               rtol=1e-14)


def test_custom_jvp_prints_as_one_equation():
    text = str(tc.trace(softplus, X))
    assert "custom_jvp_call[call=custom_jvp(softplus)]" in text


@tc.custom_jvp
def scaled_softplus(x, k):
    return softplus(x) * k


@scaled_softplus.defjvp
def _scaled_jvp(primals, tangents):
    (x, k), (tx, tk) = primals, tangents
    # The rule calls a custom function itself, and differentiates it with jvp.
    y, dy = tc.jvp(softplus, (x,), (tx,))
    return y * k, dy * k + y * tk


def test_a_rule_may_call_custom_functions():
    tc.check_grads(lambda x, k: tnp.sum(scaled_softplus(x, k)), (X, 3.0), order=2,
                   modes=("fwd", "rev"))


def test_custom_jvp_nondiff_argnums_and_pytrees():
    def power_sum(n, tree):
        return tnp.sum(tree["a"] ** n) + tnp.sum(tree["b"])

    f = tc.custom_jvp(power_sum, nondiff_argnums=(0,))

    def f_jvp(n, primals, tangents):
        (tree,), (t,) = primals, tangents
        out = power_sum(n, tree)
        return out, tnp.sum(n * tree["a"] ** (n - 1) * t["a"]) + tnp.sum(t["b"])

    f.defjvp(f_jvp)
    tree = {"a": X, "b": np.ones(2)}
    g = tc.grad(lambda t: f(3, t))(tree)
    np.testing.assert_allclose(g["a"], 3 * X ** 2)
    np.testing.assert_allclose(g["b"], np.ones(2))


def test_bad_custom_jvp_rules_are_named():
    f = tc.custom_jvp(lambda x: tnp.sin(x))
    with pytest.raises(TypeError, match="has no rule"):
        tc.grad(f)(1.0)
    f.defjvp(lambda primals, tangents: tnp.sin(primals[0]))
    with pytest.raises(tc.CustomRuleError, match="must return a pair"):
        tc.grad(f)(1.0)
    f.defjvp(lambda primals, tangents: (tnp.sin(primals[0]), tnp.ones(3)))
    with pytest.raises(tc.CustomRuleError, match=r"shape \(3,\), expected \(\)"):
        tc.grad(f)(1.0)


# --- custom_vjp --------------------------------------------------------------------------------


@tc.custom_vjp
def clip_gradient(lo, hi, x):
    return x


def _clip_fwd(lo, hi, x):
    return x, (lo, hi)


def _clip_bwd(res, g):
    lo, hi = res
    return None, None, tnp.clip(g, lo, hi)


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


def _clipped_loss(x):
    return tnp.sum(clip_gradient(-0.5, 0.5, x) * 3.0)


def test_custom_vjp_rule_in_reverse_mode_vmap_and_jit():
    half = np.full(X.shape, 0.5)
    np.testing.assert_array_equal(tc.grad(_clipped_loss)(X), half)
    np.testing.assert_array_equal(tc.jit(tc.grad(_clipped_loss))(X), half)
    np.testing.assert_array_equal(tc.vjp(_clipped_loss, X)[1](2.0)[0], np.full(X.shape, 0.5))
    per_example = tc.vmap(tc.grad(lambda v: clip_gradient(-0.5, 0.5, v) * 3.0))(X)
    np.testing.assert_array_equal(per_example, half)
    through_vmap = tc.grad(lambda v: tnp.sum(
        tc.vmap(lambda e: clip_gradient(-0.5, 0.5, e))(v) * 3.0))(X)
    np.testing.assert_array_equal(through_vmap, half)
    np.testing.assert_array_equal(tc.jacobian(lambda v: clip_gradient(-0.5, 0.5, v) * 3.0)(X),
                                  np.diag(half))


def test_custom_vjp_forward_mode_raises_and_names_the_function():
    for attempt in (lambda: tc.jvp(_clipped_loss, (X,), (X,)),
                    lambda: tc.jacfwd(lambda v: clip_gradient(-0.5, 0.5, v))(X),
                    lambda: tc.linearize(_clipped_loss, X)[1](X)):
        with pytest.raises(tc.CustomRuleError, match="'clip_gradient' is a custom_vjp"):
            attempt()


@tc.custom_vjp
def norm_sq(x):
    return tnp.sum(x * x)


def _norm_fwd(x):
    return tnp.sum(x * x), {"x": x, "twice": (2.0, x)}  # residuals may be pytrees


def _norm_bwd(res, g):
    c, x = res["twice"]
    return (g * c * x,)


norm_sq.defvjp(_norm_fwd, _norm_bwd)


def test_custom_vjp_residual_pytrees_and_second_order():
    np.testing.assert_allclose(tc.grad(norm_sq)(X), 2 * X)
    # Reverse over reverse and forward over reverse differentiate fwd and bwd themselves.
    v = np.array([1.0, -2.0, 0.5, 3.0])
    np.testing.assert_allclose(tc.grad(lambda x: tc.grad(norm_sq)(x) @ v)(X), 2 * v)
    np.testing.assert_allclose(tc.hessian(norm_sq)(X), 2 * np.eye(4))


def test_bad_custom_vjp_rules_are_named():
    f = tc.custom_vjp(lambda x, y: x * y)
    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * res[1],))
    with pytest.raises(tc.CustomRuleError, match="returned 1 cotangents for 2 arguments"):
        tc.grad(f)(2.0, 3.0)
    f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (tnp.ones(3), g * res[0]))
    with pytest.raises(tc.ShapeError, match=r"shape \(3,\), expected \(\)"):
        tc.grad(f)(2.0, 3.0)
    f.defvjp(lambda x, y: x * y, lambda res, g: (g, g))
    with pytest.raises(tc.CustomRuleError, match="must return a pair"):
        tc.grad(f)(2.0, 3.0)


# --- stop_gradient ------------------------------------------------------------------------------


def test_stop_gradient_is_a_constant_to_every_derivative():
    f = lambda x: tc.stop_gradient(x) * x  # noqa: E731
    assert tc.grad(f)(3.0) == 3.0
    assert tc.jvp(f, (3.0,), (1.0,))[1] == 3.0
    assert tc.grad(tc.grad(f))(3.0) == 0.0
    np.testing.assert_array_equal(tc.vmap(tc.grad(f))(X), X)
    assert lax_stop_gradient is tc.stop_gradient
    tree = {"a": X}
    assert tc.stop_gradient(tree)["a"] is X  # plain values pass through untouched
    assert tc.jit(tc.grad(f))(3.0) == 3.0
