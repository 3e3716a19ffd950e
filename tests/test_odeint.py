"""odeint: Dormand–Prince forward solve against analytic solutions and SciPy, adjoint
derivatives against analytic parameter derivatives and finite differences, vmap and jit."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.scipy.integrate import odeint
from tensorcalc.testing import check_grads

TS = np.array([0.0, 0.5, 1.0, 2.0])


def decay(y, t, k):
    return -k * y


def test_exponential_decay_and_its_analytic_derivatives():
    y0, k = 2.0, 0.7
    ys = odeint(decay, np.array([y0]), TS, k)
    np.testing.assert_allclose(ys[:, 0], y0 * np.exp(-k * TS), rtol=1e-7)

    def final(y0, k):
        return odeint(decay, y0, TS, k)[-1, 0]

    gy0, gk = tc.grad(final, argnums=(0, 1))(np.array([y0]), k)
    t = TS[-1]
    np.testing.assert_allclose(gy0, [np.exp(-k * t)], rtol=1e-6)
    np.testing.assert_allclose(gk, -y0 * t * np.exp(-k * t), rtol=1e-6)
    # Derivative w.r.t. the times: ∂y(T)/∂T = −k y(T), ∂y(T)/∂t₀ = +k y(T).
    gt = tc.grad(lambda ts: odeint(decay, np.array([y0]), ts, k)[-1, 0])(TS)
    yt = y0 * np.exp(-k * t)
    np.testing.assert_allclose(gt, [k * yt, 0.0, 0.0, -k * yt], atol=1e-7)


def test_every_output_time_contributes_to_the_gradient():
    # loss = Σ_i y(t_i)²: d/dk = Σ −2 t_i y0² e^{−2 k t_i}.
    y0, k = 1.5, 0.4
    g = tc.grad(lambda k: tnp.sum(odeint(decay, np.array([y0]), TS, k) ** 2))(k)
    np.testing.assert_allclose(g, np.sum(-2 * TS * y0 ** 2 * np.exp(-2 * k * TS)), rtol=1e-6)
    check_grads(lambda y0, k: odeint(decay, y0, TS, k), (np.array([y0]), k), order=1,
                modes=("rev",))


def lotka_volterra(y, t, a, b, c, d):
    return tnp.stack([a * y[0] - b * y[0] * y[1], -c * y[1] + d * y[0] * y[1]])


P = (1.0, 0.4, 0.8, 0.3)
Y0 = np.array([2.0, 1.0])
LV_TS = np.linspace(0.0, 5.0, 6)


def test_lotka_volterra_matches_solve_ivp_and_finite_differences():
    integrate = pytest.importorskip("scipy.integrate")
    a, b, c, d = P
    ref = integrate.solve_ivp(lambda t, y: [a * y[0] - b * y[0] * y[1],
                                            -c * y[1] + d * y[0] * y[1]],
                              (0.0, 5.0), Y0, t_eval=LV_TS, rtol=1e-11, atol=1e-11).y.T
    ys = odeint(lotka_volterra, Y0, LV_TS, *P)
    np.testing.assert_allclose(ys, ref, rtol=1e-6, atol=1e-6)
    check_grads(lambda y0, *p: odeint(lotka_volterra, y0, LV_TS, *p), (Y0, *P), order=1,
                modes=("rev",), rtol=1e-4, atol=1e-4)


def test_closed_over_parameters_are_differentiated():
    def final(k):
        return odeint(lambda y, t: -k * y * tnp.cos(t), np.array([1.0]), TS)[-1, 0]

    # y = exp(−k sin t).
    t = TS[-1]
    np.testing.assert_allclose(final(0.3), np.exp(-0.3 * np.sin(t)), rtol=1e-7)
    np.testing.assert_allclose(tc.grad(final)(0.3), -np.sin(t) * np.exp(-0.3 * np.sin(t)),
                               rtol=1e-6)


def test_odeint_jit_and_vmap():
    f = tc.jit(lambda y0, k: odeint(decay, y0, TS, k))
    np.testing.assert_allclose(f(np.array([2.0]), 0.7)[:, 0], 2.0 * np.exp(-0.7 * TS),
                               rtol=1e-7)
    g = tc.jit(tc.grad(lambda k: odeint(decay, np.array([2.0]), TS, k)[-1, 0]))
    np.testing.assert_allclose(g(0.7), -2.0 * 2.0 * np.exp(-1.4), rtol=1e-6)
    ks = np.array([0.2, 0.7, 1.5])
    ys = tc.vmap(lambda k: odeint(decay, np.array([2.0]), TS, k))(ks)
    np.testing.assert_allclose(ys[..., 0], 2.0 * np.exp(-ks[:, None] * TS), rtol=1e-7)
    gs = tc.vmap(tc.grad(lambda k: odeint(decay, np.array([2.0]), TS, k)[-1, 0]))(ks)
    np.testing.assert_allclose(gs, -4.0 * np.exp(-2.0 * ks), rtol=1e-6)


def test_odeint_bad_input():
    with pytest.raises(tc.ShapeError, match=r"odeint: func returned shape \(1,\)"):
        odeint(lambda y, t: y[:1], np.ones(2), TS)
    with pytest.raises(tc.ShapeError, match="odeint: t must be a 1-D"):
        odeint(decay, np.ones(2), np.ones((2, 2)), 1.0)
    with pytest.raises(ValueError, match="odeint: the times t must be nondecreasing"):
        odeint(decay, np.ones(2), np.array([1.0, 0.0]), 1.0)


def test_second_derivative_forward_over_reverse():
    # d²/dk² y(T) = T² y₀ e^{−k T}; hessian differentiates the adjoint solve in forward mode.
    ts = np.array([0.0, 1.0, 2.0])
    f = lambda k: odeint(decay, np.array([2.0]), ts, k)[-1, 0]  # noqa: E731
    np.testing.assert_allclose(tc.hessian(f)(0.5), 4.0 * 2.0 * np.exp(-1.0), rtol=1e-6)


def test_reverse_over_reverse_names_odeint_and_the_way_out():
    from tensorcalc.lax import WhileLoopReverseModeError

    ts = np.linspace(0.0, 1.0, 3)

    def f(k):
        return tnp.sum(odeint(lambda y, t, k: -k * y, np.array([1.0, 2.0]), ts, k))

    for gg in (tc.grad(tc.grad(f)), tc.jit(tc.grad(tc.grad(f)))):
        with pytest.raises(WhileLoopReverseModeError,
                           match=r"odeint: reverse mode through odeint's own reverse pass.*"
                                 r"tc\.hessian"):
            gg(0.7)
    # the suggested route works: Σₜ 3 e^{−k t} has second derivative Σₜ 3 t² e^{−k t}
    np.testing.assert_allclose(tc.hessian(f)(0.7), 3 * np.sum(ts ** 2 * np.exp(-0.7 * ts)),
                               rtol=1e-6)
