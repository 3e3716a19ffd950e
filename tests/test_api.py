"""The public transformations: grad, value_and_grad, vjp, jvp, linearize, trace, with pytrees,
argnums and has_aux, checked against closed forms."""

from collections import namedtuple

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp


def loss(W, x, y):
    z = tnp.tanh(W @ x)
    return tnp.sum((z - y) ** 2)


def loss_grads_closed_form(W, x, y):
    z = np.tanh(W @ x)
    delta = 2 * (z - y) * (1 - z ** 2)          # dL/d(Wx): tanh′ is diagonal
    return np.outer(delta, x), W.T @ delta      # dL/dW = δxᵀ, dL/dx = Wᵀδ


@pytest.fixture
def wxy(rng):
    return rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal(3)


def test_grad_matches_closed_form(wxy):
    W, x, y = wxy
    gW_ref, gx_ref = loss_grads_closed_form(W, x, y)
    g = tc.grad(loss)(W, x, y)
    assert isinstance(g, np.ndarray) and g.shape == W.shape and g.dtype == W.dtype
    np.testing.assert_allclose(g, gW_ref, rtol=1e-12)
    v, (gW, gx) = tc.value_and_grad(loss, argnums=(0, 1))(W, x, y)
    np.testing.assert_allclose(v, np.sum((np.tanh(W @ x) - y) ** 2))
    np.testing.assert_allclose(gW, gW_ref, rtol=1e-12)
    np.testing.assert_allclose(gx, gx_ref, rtol=1e-12)


def test_negative_argnums_and_kwargs(wxy):
    W, x, y = wxy
    gy = tc.grad(loss, argnums=-1)(W, x, y)
    np.testing.assert_allclose(gy, -2 * (np.tanh(W @ x) - y))
    g = tc.grad(lambda a, scale=1.0: scale * tnp.sum(a ** 2))(x, scale=3.0)
    np.testing.assert_allclose(g, 6 * x)


def test_vjp_pullback_is_transpose_of_jvp(wxy, rng):
    W, x, _ = wxy
    f = lambda W, x: tnp.sin(W @ x) * x[:3]
    out, pullback = tc.vjp(f, W, x)
    u = rng.standard_normal(out.shape)
    ctW, ctx = pullback(u)
    dW, dx = rng.standard_normal(W.shape), rng.standard_normal(x.shape)
    _, jv = tc.jvp(f, (W, x), (dW, dx))
    np.testing.assert_allclose(np.vdot(u, jv), np.vdot(ctW, dW) + np.vdot(ctx, dx))


def test_jvp_closed_form(rng):
    x, dx = rng.standard_normal(5), rng.standard_normal(5)
    y, t = tc.jvp(tnp.exp, (x,), (dx,))
    np.testing.assert_allclose(y, np.exp(x))
    np.testing.assert_allclose(t, np.exp(x) * dx)


def test_jvp_of_constant_output_gives_zeros():
    y, t = tc.jvp(lambda x: np.ones(3) * 2.0, (np.ones(2),), (np.ones(2),))
    np.testing.assert_array_equal(t, np.zeros(3))


def test_linearize_reuses_linearization(rng):
    x = rng.standard_normal(4)
    out, f_lin = tc.linearize(lambda x: tnp.sin(x) * x, x)
    np.testing.assert_allclose(out, np.sin(x) * x)
    for _ in range(3):
        dx = rng.standard_normal(4)
        np.testing.assert_allclose(f_lin(dx), (np.cos(x) * x + np.sin(x)) * dx)
    assert "mul" in str(f_lin.program)


def test_pytrees_in_and_out(rng):
    Params = namedtuple("Params", "w b")
    p = {"layer": Params(rng.standard_normal((2, 3)), rng.standard_normal(2)), "s": [1.5, None]}
    x = rng.standard_normal(3)

    def f(p, x):
        h = p["layer"].w @ x + p["layer"].b
        return tnp.sum(h ** 2) * p["s"][0]

    g = tc.grad(f)(p, x)
    assert isinstance(g["layer"], Params) and g["s"][1] is None
    h = p["layer"].w @ x + p["layer"].b
    np.testing.assert_allclose(g["layer"].w, 2 * 1.5 * np.outer(h, x))
    np.testing.assert_allclose(g["layer"].b, 2 * 1.5 * h)
    np.testing.assert_allclose(g["s"][0], np.sum(h ** 2))

    out, pullback = tc.vjp(lambda x: {"a": x * 2, "b": (x ** 2, tnp.sum(x))}, x)
    (ct,) = pullback({"a": np.ones(3), "b": (np.ones(3), 1.0)})
    np.testing.assert_allclose(ct, 2 + 2 * x + 1)


def test_has_aux(rng):
    x = rng.standard_normal(3)

    def f(x):
        return tnp.sum(x ** 2), {"norm": tnp.sqrt(tnp.sum(x ** 2)), "tag": "ok"}

    g, aux = tc.grad(f, has_aux=True)(x)
    np.testing.assert_allclose(g, 2 * x)
    assert isinstance(aux["norm"], np.floating | float) and aux["tag"] == "ok"
    (v, aux2), g2 = tc.value_and_grad(f, has_aux=True)(x)
    np.testing.assert_allclose(v, np.sum(x ** 2))
    out, pullback, aux3 = tc.vjp(f, x, has_aux=True)
    np.testing.assert_allclose(pullback(1.0)[0], 2 * x)
    _, t, aux4 = tc.jvp(f, (x,), (np.ones(3),), has_aux=True)
    np.testing.assert_allclose(t, 2 * np.sum(x))


def test_python_float_inputs_and_outputs():
    assert tc.grad(lambda x: x * x * 3.0)(2.0) == pytest.approx(12.0)
    assert tc.grad(lambda x: tnp.sin(x))(0.0) == pytest.approx(1.0)


def test_integer_args_outside_argnums_are_constants():
    f = lambda x, n: tnp.sum(x ** n)
    np.testing.assert_allclose(tc.grad(f)(np.array([1.0, 2.0]), 3), [3.0, 12.0])
    out, pullback = tc.vjp(f, np.array([1.0, 2.0]), np.array(3))
    ctx, ctn = pullback(1.0)
    assert ctn is None


def test_trace_prints_equations_with_shapes(wxy):
    W, x, y = wxy
    prog = tc.trace(loss, W, x, y)
    text = str(prog)
    assert text.splitlines()[0] == "program(a:f64[3,4], b:f64[4], c:f64[3])"
    assert "d:f64[3] = matmul a b" in text and "tanh" in text and "reduce_sum" in text
    prog.typecheck()
    np.testing.assert_allclose(prog(W, x, y)[0], loss(W, x, y))


def test_trace_with_symbolic_dimensions(rng):
    prog = tc.trace(lambda A, x: tnp.sum(x * (A @ x)), tc.ShapeDtype(("n", "n")),
                    tc.ShapeDtype(("n",)))
    assert "f64[n,n]" in str(prog) and "f64[n]" in str(prog)
    for n in (2, 5):
        A, x = rng.standard_normal((n, n)), rng.standard_normal(n)
        np.testing.assert_allclose(prog(A, x)[0], x @ A @ x)
    with pytest.raises(tc.ShapeError):
        tc.trace(lambda A, x: A @ x, tc.ShapeDtype(("n", "n")), tc.ShapeDtype(("m",)))


def test_symbolic_reshape_evaluates_with_bound_sizes(rng):
    prog = tc.trace(lambda X: tnp.sum(tnp.reshape(X, (X.shape[0] * X.shape[1],)) ** 2),
                    tc.ShapeDtype(("m", "n")))
    X = rng.standard_normal((2, 3))
    np.testing.assert_allclose(prog(X)[0], np.sum(X ** 2))


def test_float32_is_preserved(rng):
    x = rng.standard_normal(4).astype(np.float32)
    g = tc.grad(lambda x: tnp.sum(tnp.tanh(x) * 2.0))(x)
    assert g.dtype == np.float32
    _, t = tc.jvp(lambda x: tnp.exp(x) * 0.5, (x,), (np.ones(4, np.float32),))
    assert t.dtype == np.float32


def test_numpy_functions_on_tracers_are_routed():
    g = tc.grad(lambda x: np.sum(np.sin(x) * np.exp(x)))(np.array([0.1, 0.2]))
    x = np.array([0.1, 0.2])
    np.testing.assert_allclose(g, np.cos(x) * np.exp(x) + np.sin(x) * np.exp(x))


def test_direct_paths_agree_with_the_general_rules(rng):
    # Elementwise functions on concrete arrays and products/sums with Python numbers take a
    # direct path in forward mode (defjvp_diag / defjvp_scalar); under a second derivative the
    # general rules run. Both must give the same derivatives, in float32 too.
    for dtype in (np.float64, np.float32):
        x = rng.standard_normal(5).astype(dtype)

        def f(x):
            return tnp.sum(tnp.tanh(tnp.sin(x) * 0.9 + 0.1) * 2 - 1.5 + tnp.exp(x) * tnp.cos(x)
                           + tnp.sqrt(x * x + 1.0) + tnp.abs(x) - (3 - x) * (x - 3))

        g = tc.grad(f)(x)
        assert g.dtype == dtype
        ref = tc.jvp(lambda x: tc.grad(f)(x), (x,), (np.ones_like(x),))[0]  # general rules
        np.testing.assert_allclose(g, ref, rtol=1e-5 if dtype == np.float32 else 1e-13)
        tc.check_grads(f, (x,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("argnums", [(0, 0), (0, -2), (1, 0, 1)])
@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "jacobian", "hessian"])
def test_duplicate_argnums_are_refused(transform, argnums):
    # argnums=(0, 0) used to return a zero gradient for the first copy.
    def f(x, y):
        return tnp.sum(x * y)

    x, y = np.ones(2), np.arange(2.0)
    with pytest.raises(ValueError, match=r"more than once"):
        getattr(tc, transform)(f, argnums=argnums)(x, y)
