"""Conventions at kinks, singular points and non-finite values (docs/conventions.md).

Each test pins down a choice on which JAX, PyTorch or HIPS autograd differ from us (or from each
other), so it fails on at least one peer's behaviour: the "double where" NaN, ``abs′(0)``, ties,
all-−∞ log-sum-exp, the derivative of ``prod`` with zeros, ``std`` of a constant.
"""

import warnings

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
import tensorcalc.scipy.special as tsp

MODES = ("fwd", "rev")


def grad_fwd(f):
    """The derivative of a scalar function of a scalar, in forward mode."""
    return lambda x: tc.jvp(f, (x,), (1.0,))[1]


def derivs(f, x, order=1):
    """The ``order``-th derivative of scalar ``f`` at ``x`` in four ways: forward, reverse,
    and (for order 2) the mixed nestings."""
    x = np.asarray(x, float)
    if order == 1:
        return {"fwd": grad_fwd(f)(x), "rev": tc.grad(f)(x)}
    return {"fwd-fwd": grad_fwd(grad_fwd(f))(x), "rev-rev": tc.grad(tc.grad(f))(x),
            "fwd-rev": grad_fwd(tc.grad(f))(x), "rev-fwd": tc.grad(grad_fwd(f))(x)}


# --- where: the branch not taken never reaches the derivative -------------------------------


def _double_where(x):
    return tnp.where(x > 0, x, tnp.sqrt(-x))


def test_where_untaken_branch_nan_first_order():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # sqrt(-1) in the primal is NumPy's
        for mode, g in derivs(_double_where, 1.0).items():
            assert g == 1.0, mode


def test_where_untaken_branch_nan_second_order():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for mode, h in derivs(_double_where, 1.0, order=2).items():
            assert h == 0.0, mode


def test_where_untaken_branch_taken_branch_still_differentiates():
    # At x = -4 the sqrt branch is taken: d sqrt(-x)/dx = -1/(2 sqrt(4)) = -0.25.
    for mode, g in derivs(_double_where, -4.0).items():
        assert g == pytest.approx(-0.25), mode


def test_where_untaken_branch_vector_and_jacobian_rows():
    x = np.array([1.0, -4.0, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        g = tc.grad(lambda v: tnp.sum(tnp.where(v > 0, v, tnp.sqrt(-v))))(x)
        np.testing.assert_allclose(g, [1.0, -0.25, 1.0])
        # Each row of the Jacobian pulls back a one-hot cotangent: zeros everywhere else.
        _, pull = tc.vjp(lambda v: tnp.where(v > 0, v, tnp.sqrt(-v)), x)
        for i in range(3):
            e = np.zeros(3)
            e[i] = 1.0
            row = pull(e)[0]
            assert np.all(np.isfinite(row))


def test_where_untaken_division_by_zero():
    # 1/x on the untaken branch at x = 0: the derivative factor is -1/x² = -inf.
    f = lambda x: tnp.where(x == 0, 1.0, tnp.sin(x) / x)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for mode, g in derivs(f, 0.0).items():
            assert g == 0.0, mode


def test_zero_cotangent_times_infinite_factor_is_zero_in_a_jacobian_row():
    # sqrt′(0) = +inf on the diagonal; the off-diagonal entries are exactly 0, not NaN.
    x = np.array([0.0, 4.0])
    _, pull = tc.vjp(tnp.sqrt, x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        np.testing.assert_array_equal(pull(np.array([0.0, 1.0]))[0], [0.0, 0.25])
        np.testing.assert_array_equal(pull(np.array([1.0, 0.0]))[0], [np.inf, 0.0])


def test_nan_cotangent_still_propagates():
    # Only exact zeros are strong: a NaN arriving from downstream is not hidden.
    _, pull = tc.vjp(lambda v: v * 3.0, np.array([1.0, 2.0]))
    assert np.isnan(pull(np.array([np.nan, 1.0]))[0][0])


# --- kinks ----------------------------------------------------------------------------------


def test_abs_derivative_at_zero_is_zero():
    for mode, g in derivs(tnp.abs, 0.0).items():
        assert g == 0.0, mode  # JAX gives 1


def test_maximum_with_zero_at_zero_shares_equally():
    # maximum(x, 0) is not relu: a tie shares the derivative, relu′(0) = 0 is nn's convention.
    for mode, g in derivs(lambda x: tnp.maximum(x, 0.0), 0.0).items():
        assert g == 0.5, mode
    g = tc.grad(lambda a, b: tnp.maximum(a, b), argnums=(0, 1))(1.0, 1.0)
    assert g == (0.5, 0.5)


def test_max_reduction_ties_share_equally():
    g = tc.grad(lambda v: tnp.max(v))(np.array([3.0, 1.0, 3.0, 3.0]))
    np.testing.assert_allclose(g, [1 / 3, 0.0, 1 / 3, 1 / 3])
    g = tc.grad(lambda v: tnp.min(v))(np.array([0.0, 0.0]))
    np.testing.assert_allclose(g, [0.5, 0.5])


def test_clip_on_the_bound_shares_with_the_bound():
    g = tc.grad(lambda x, lo: tnp.clip(x, lo, 2.0), argnums=(0, 1))(1.0, 1.0)
    assert g == (0.5, 0.5)
    assert tc.grad(lambda x: tnp.clip(x, 0.0, 2.0))(1.0) == 1.0
    assert tc.grad(lambda x: tnp.clip(x, 0.0, 2.0))(3.0) == 0.0


def test_fmax_ignores_nan_in_the_derivative():
    g = tc.grad(lambda a, b: tnp.fmax(a, b), argnums=(0, 1))(np.nan, 2.0)
    assert g == (0.0, 1.0)


def test_hypot_at_origin_is_zero():
    g = tc.grad(lambda a, b: tnp.hypot(a, b), argnums=(0, 1))(0.0, 0.0)
    assert g == (0.0, 0.0)


def test_std_of_constant_has_zero_derivative():
    x = np.ones(4)
    for mode, g in {"rev": tc.grad(lambda v: tnp.std(v))(x),
                    "fwd": tc.jvp(lambda v: tnp.std(v), (x,), (np.arange(4.0),))[1]}.items():
        assert np.all(np.asarray(g) == 0.0), mode


def test_sqrt_derivative_at_zero_is_inf():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for mode, g in derivs(tnp.sqrt, 0.0).items():
            assert g == np.inf, mode


def test_rounding_has_zero_derivative_and_predicates_none():
    for f in (tnp.floor, tnp.ceil, tnp.trunc, tnp.rint, tnp.round):
        assert tc.grad(lambda x, f=f: f(x) + 0.0 * x)(1.3) == 0.0
    assert tc.grad(lambda x: tnp.where(tnp.isfinite(x), x * 2.0, 0.0))(1.0) == 2.0


# --- prod and cumprod with zeros ------------------------------------------------------------


def test_prod_gradient_with_one_zero():
    x = np.array([2.0, 0.0, 3.0])
    for g in (tc.grad(tnp.prod)(x), tc.jvp(tnp.prod, (x,), (np.array([0.0, 1.0, 0.0]),))[1]):
        assert np.all(np.isfinite(g))
    np.testing.assert_array_equal(tc.grad(tnp.prod)(x), [0.0, 6.0, 0.0])


def test_prod_gradient_with_several_zeros():
    np.testing.assert_array_equal(tc.grad(tnp.prod)(np.array([0.0, 5.0, 0.0])), [0.0, 0.0, 0.0])
    # The Hessian of x0·x1·x2 at (0, 5, 0) has the entry ∂²/∂x0∂x2 = x1 = 5.
    h = tc.grad(lambda v: tc.grad(tnp.prod)(v)[0])(np.array([0.0, 5.0, 0.0]))
    np.testing.assert_array_equal(h, [0.0, 0.0, 5.0])


def test_cumprod_gradient_with_zero():
    x = np.array([2.0, 0.0, 3.0, 4.0])
    g = tc.grad(lambda v: tnp.sum(tnp.cumprod(v)))(x)
    # d/dx1 of (x0 + x0x1 + x0x1x2 + x0x1x2x3) = x0 + x0x2 + x0x2x3 = 2 + 6 + 24.
    np.testing.assert_array_equal(g, [1.0, 32.0, 0.0, 0.0])


# --- log-sum-exp family at all −∞ -----------------------------------------------------------


def test_logsumexp_all_neg_inf_zero_gradient():
    x = np.full(3, -np.inf)
    assert tsp.logsumexp(x) == -np.inf
    for f in (lambda v: tsp.logsumexp(v), lambda v: tsp.logsumexp(v, b=np.ones(3)),
              lambda v: tnp.logaddexp(v[0], v[1])):
        for mode, g in {"rev": tc.grad(f)(x),
                        "fwd": tc.jvp(f, (x,), (np.ones(3),))[1]}.items():
            assert np.all(np.asarray(g) == 0.0), mode


def test_logsumexp_masked_row_keeps_other_rows():
    x = np.array([[-np.inf, -np.inf], [0.0, np.log(3.0)]])
    g = tc.grad(lambda v: tnp.sum(tsp.logsumexp(v, axis=1)))(x)
    np.testing.assert_allclose(g, [[0.0, 0.0], [0.25, 0.75]])


def test_softmax_all_neg_inf_zero_gradient():
    x = np.full(3, -np.inf)
    assert np.all(np.isnan(tsp.softmax(x)))  # SciPy's value
    for f in (lambda v: tsp.softmax(v)[0], lambda v: tsp.log_softmax(v)[2]):
        for mode, g in {"rev": tc.grad(f)(x),
                        "fwd": tc.jvp(f, (x,), (np.ones(3),))[1]}.items():
            assert np.all(np.asarray(g) == 0.0), mode


def test_softmax_partial_neg_inf_is_a_mask():
    x = np.array([0.0, -np.inf, 0.0])
    g = tc.grad(lambda v: tsp.softmax(v)[0])(x)
    np.testing.assert_allclose(g, [0.25, 0.0, -0.25])


@pytest.mark.parametrize("f", [tnp.log, tnp.log2, tnp.log10, tnp.reciprocal, tnp.arctanh])
def test_singular_points_give_inf_not_silent_numbers(f):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        x = 0.0 if f is not tnp.arctanh else 1.0
        g = tc.grad(f)(x)
    assert not np.isfinite(g)


def test_forward_basis_tangents_get_zero_not_nan_off_the_diagonal():
    x = np.array([0.0, 8.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for f in (tnp.cbrt, tnp.log2, tnp.reciprocal):
            col = tc.jvp(f, (x,), (np.array([0.0, 1.0]),))[1]
            assert col[0] == 0.0 and np.isfinite(col[1])


def test_strong_zero_retry_is_used_only_when_a_nan_appears(monkeypatch):
    # The common case never enforces strong zeros; a NaN result triggers one careful rerun.
    import tensorcalc.ops.strong_zero as safe

    calls = []
    real = safe._all_finite
    monkeypatch.setattr(safe, "_all_finite", lambda f, nonzero: calls.append(1) or real(f, nonzero))
    tc.grad(lambda x: tnp.sum(tnp.sin(x) * x))(np.ones(3))
    assert calls == []
    g = tc.grad(lambda x: tnp.where(x > 0, x, tnp.sqrt(-x)))(1.0)
    assert g == 1.0 and calls
    f = tc.jit(tc.grad(lambda x: tnp.where(x > 0, x, tnp.sqrt(-x))))
    assert f(1.0) == 1.0


def _guarded_sqrt(x):
    # sqrt′(0) = ∞ in the branch not taken: the unchecked pass makes 0 · ∞ = NaN and reruns.
    return tnp.sum(tnp.where(x > 0, tnp.sqrt(tnp.abs(x)), 0.0) * x)


def test_the_unchecked_pass_leaks_no_invalid_value_warning():
    x = np.array([0.0, 1.0, -2.0, 0.0])
    want = np.array([0.0, 1.5, 0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # eager: no warning at all
        np.testing.assert_array_equal(tc.grad(_guarded_sqrt)(x), want)
        np.testing.assert_array_equal(tc.vjp(_guarded_sqrt, x)[1](1.0)[0], want)
        np.testing.assert_array_equal(tc.jacobian(_guarded_sqrt)(x), want)
        assert tc.linearize(_guarded_sqrt, x)[1](np.ones(4)) == 1.5
        assert tc.hessian(_guarded_sqrt)(x)[1, 1] == 0.75
    with warnings.catch_warnings():
        # Compiled code computes sqrt′(0) = 0.5 / 0 itself (a divide warning, as NumPy's);
        # what it must not show is the 0 · ∞ of the discarded first pass.
        warnings.filterwarnings("error", message="invalid value", category=RuntimeWarning)
        np.testing.assert_array_equal(tc.jit(tc.grad(_guarded_sqrt))(x), want)


def test_the_users_invalid_raise_setting_is_kept():
    x = np.array([0.0, 1.0, -2.0, 0.0])
    with np.errstate(invalid="raise", divide="ignore"):
        # The internal 0 · ∞ raises in the first pass; the checked rerun does not.
        np.testing.assert_array_equal(tc.grad(_guarded_sqrt)(x), [0.0, 1.5, 0.0, 0.0])
        with pytest.raises(FloatingPointError):
            tc.grad(lambda y: tnp.sum(tnp.sqrt(y - 3.0)))(x)  # the user's own invalid sqrt


def _runtime_warnings(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [w for w in caught if issubclass(w.category, RuntimeWarning)]


@pytest.mark.parametrize("transform", [tc.grad, lambda f: tc.jit(tc.grad(f))])
def test_floating_point_warnings_point_at_the_users_line(transform):
    # They used to point into the library (core/primitive.py, interpreters/forward.py).
    g = transform(lambda x: tnp.sum(tnp.log(x)))
    out, caught = _runtime_warnings(lambda: g(np.array([0.0, 1.0])))
    assert np.isinf(out[0])
    assert caught and all(w.filename == __file__ for w in caught), \
        [(w.filename, w.lineno) for w in caught]
    assert "divide by zero" in str(caught[0].message)


@pytest.mark.parametrize("compute", [
    lambda: tc.grad(lambda x: tnp.sum(tnp.where(x > 0, tnp.log(x), 0.0)))(np.array([0.0, 1.0])),
    lambda: tc.jacobian(lambda a: tnp.diag(tnp.log(a - 2.0)))(np.array([[3.0, 2.0], [1.0, 4.0]])),
    lambda: tc.jit(tc.grad(lambda x: tnp.sum(tnp.where(x > 0, tnp.sqrt(x), x))))(np.zeros(2)),
])
def test_no_warning_for_a_result_that_is_exactly_right(compute):
    out, caught = _runtime_warnings(compute)
    assert np.isfinite(out).all()
    assert caught == [], [str(w.message) for w in caught]


def test_user_error_settings_are_respected():
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        tc.grad(lambda x: tnp.sum(tnp.log(x)))(np.array([0.0, 1.0]))
    with np.errstate(all="ignore"):
        _, caught = _runtime_warnings(lambda: tc.grad(lambda x: tnp.sum(tnp.log(x)))(np.zeros(1)))
    assert caught == []
