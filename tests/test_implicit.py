"""custom_linear_solve, custom_root and the sparse iterative solvers: values against NumPy /
SciPy, implicit derivatives against the derivatives of a direct solve, vmap, jit, bad input."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.lax as lax
import tensorcalc.numpy as tnp
from tensorcalc.scipy.sparse import linalg as tsl
from tensorcalc.testing import check_grads

RNG = np.random.default_rng(0)
_M = RNG.standard_normal((5, 5))
SPD = _M @ _M.T + 5.0 * np.eye(5)
GEN = RNG.standard_normal((5, 5)) + 4.0 * np.eye(5)
B = RNG.standard_normal(5)
BS = RNG.standard_normal((3, 5))


def dense_solve(a, b):
    return lax.custom_linear_solve(lambda x: a @ x, b, lambda mv, r: tnp.linalg.solve(a, r),
                                   symmetric=True)


def general_solve(a, b):
    return lax.custom_linear_solve(
        lambda x: a @ x, b, lambda mv, r: tnp.linalg.solve(a, r),
        transpose_solve=lambda vm, r: tnp.linalg.solve(tnp.transpose(a), r))


def _loss(solver):
    return lambda a, b: tnp.sum(tnp.sin(solver(a, b)))


def _ref_grads(a, b):
    return tc.grad(_loss(tnp.linalg.solve), argnums=(0, 1))(a, b)


def test_custom_linear_solve_matches_numpy_and_its_derivatives():
    np.testing.assert_allclose(dense_solve(SPD, B), np.linalg.solve(SPD, B))
    ga, gb = tc.grad(_loss(dense_solve), argnums=(0, 1))(SPD, B)
    ra, rb = _ref_grads(SPD, B)
    np.testing.assert_allclose(ga, ra, atol=1e-12)
    np.testing.assert_allclose(gb, rb, atol=1e-12)
    np.testing.assert_allclose(tc.jacfwd(dense_solve)(SPD, B),
                               tc.jacfwd(tnp.linalg.solve)(SPD, B), atol=1e-12)
    check_grads(dense_solve, (SPD, B), order=2)
    check_grads(general_solve, (GEN, B), order=2)


def test_the_solve_is_one_equation_and_its_derivative_is_a_solve():
    prog = tc.trace(dense_solve, SPD, B)
    assert [eq.primitive.name for eq in prog.equations] == ["custom_linear_solve"]
    lin = tc.linear_map(dense_solve, SPD, B).program
    assert "custom_linear_solve" in {eq.primitive.name for eq in lin.equations}


def test_custom_linear_solve_vmap_and_jit():
    stack = np.stack([GEN, GEN + np.eye(5), GEN.T])
    np.testing.assert_allclose(tc.vmap(general_solve)(stack, BS),
                               np.linalg.solve(stack, BS[..., None])[..., 0], atol=1e-12)
    np.testing.assert_allclose(tc.vmap(general_solve, in_axes=(None, 0))(GEN, BS),
                               np.linalg.solve(GEN, BS.T).T, atol=1e-12)
    np.testing.assert_allclose(tc.jit(general_solve)(GEN, B), np.linalg.solve(GEN, B))
    g = tc.jit(tc.grad(_loss(general_solve)))(GEN, B)
    np.testing.assert_allclose(g, _ref_grads(GEN, B)[0], atol=1e-12)
    gv = tc.vmap(tc.grad(_loss(general_solve), argnums=1))(stack, BS)
    for k in range(3):
        np.testing.assert_allclose(gv[k], _ref_grads(stack[k], BS[k])[1], atol=1e-12)


def test_custom_linear_solve_pytree_right_hand_side():
    a1, a2 = np.diag([2.0, 4.0]), np.array([[3.0]])

    def solve(b):
        return lax.custom_linear_solve(
            lambda x: {"u": a1 @ x["u"], "v": a2 @ x["v"]}, b,
            lambda mv, r: {"u": r["u"] / np.diag(a1), "v": r["v"] / 3.0}, symmetric=True)

    b = {"u": np.array([2.0, 8.0]), "v": np.array([9.0])}
    out = solve(b)
    np.testing.assert_allclose(out["u"], [1.0, 2.0])
    g = tc.grad(lambda b: tnp.sum(solve(b)["u"]) + tnp.sum(solve(b)["v"]))(b)
    np.testing.assert_allclose(g["u"], [0.5, 0.25])
    np.testing.assert_allclose(g["v"], [1 / 3])


def test_reverse_mode_without_a_transpose_solve_says_what_is_missing():
    def f(a, b):
        return lax.custom_linear_solve(lambda x: a @ x, b, lambda mv, r: tnp.linalg.solve(a, r))

    np.testing.assert_allclose(tc.jvp(lambda b: f(GEN, b), (B,), (B,))[1],
                               np.linalg.solve(GEN, B))
    with pytest.raises(lax.LinearSolveError, match="transpose_solve"):
        tc.grad(lambda b: tnp.sum(f(GEN, b)))(B)


def test_bad_shapes_name_the_function_and_shapes():
    rect = np.ones((3, 5))
    with pytest.raises(lax.LinearSolveError, match=r"custom_linear_solve: matvec.*\(3,\).*\(5,\)"):
        lax.custom_linear_solve(lambda x: rect @ x, B, lambda mv, r: r)
    with pytest.raises(lax.LinearSolveError, match="custom_linear_solve: solve"):
        lax.custom_linear_solve(lambda x: x, B, lambda mv, r: r[:2])
    with pytest.raises(lax.LinearSolveError, match=r"cg: A must be a square.*\(3, 5\)"):
        tsl.cg(rect, B)
    with pytest.raises(lax.LinearSolveError, match=r"gmres: A has shape \(5, 5\) but b has "
                                                   r"shape \(3,\)"):
        tsl.gmres(SPD, np.ones(3))
    with pytest.raises(lax.LinearSolveError, match=r"bicgstab: x0 has shape \(2,\)"):
        tsl.bicgstab(GEN, B, x0=np.ones(2))
    with pytest.raises(lax.LinearSolveError, match=r"custom_root: f"):
        lax.custom_root(lambda x: x[:1], np.ones(2), lambda f, x: x, lambda g, y: y)


# --- custom_root ---------------------------------------------------------------------------


def newton(f, x0):
    return lax.while_loop(lambda x: tnp.abs(f(x)) > 1e-13,
                          lambda x: x - f(x) / tc.grad(f)(x), x0)


def sqrt(a):
    return lax.custom_root(lambda x: x ** 2 - a, 1.0, newton, lambda g, y: y / g(1.0))


def test_newton_sqrt_with_custom_root():
    assert sqrt(2.0) == pytest.approx(np.sqrt(2.0), abs=1e-14)
    assert tc.grad(sqrt)(2.0) == pytest.approx(1 / (2 * np.sqrt(2.0)), abs=1e-14)
    assert tc.grad(tc.grad(sqrt))(2.0) == pytest.approx(-0.25 * 2.0 ** -1.5, abs=1e-12)
    assert float(tc.jvp(sqrt, (2.0,), (1.0,))[1]) == pytest.approx(0.5 / np.sqrt(2.0))
    check_grads(sqrt, (2.0,), order=2)
    a = np.array([1.0, 4.0, 9.0])
    np.testing.assert_allclose(tc.vmap(sqrt)(a), [1.0, 2.0, 3.0])
    np.testing.assert_allclose(tc.vmap(tc.grad(sqrt))(a), 0.5 / np.sqrt(a))
    assert tc.jit(sqrt)(2.0) == pytest.approx(np.sqrt(2.0))
    assert tc.jit(tc.grad(sqrt))(2.0) == pytest.approx(1 / (2 * np.sqrt(2.0)))


def test_custom_root_vector_system_and_aux():
    # x = tanh(W x + θ) solved by fixed-point iteration; tangent solve by a dense Jacobian.
    w = 0.3 * RNG.standard_normal((3, 3))

    def fixed_point(theta):
        def f(x):
            return x - tnp.tanh(w @ x + theta)

        def solve(f, x0):
            x = lax.fori_loop(0, 200, lambda i, x: x - f(x), x0)
            return x, tnp.sum(tnp.abs(f(x)))

        def tangent_solve(g, y):
            return tnp.linalg.solve(tc.jacfwd(g)(y), y)

        return lax.custom_root(f, np.zeros(3), solve, tangent_solve, has_aux=True)

    theta = RNG.standard_normal(3)
    x, resid = fixed_point(theta)
    assert float(resid) < 1e-12
    np.testing.assert_allclose(x, np.tanh(w @ x + theta), atol=1e-12)
    # Implicit derivative: dx/dθ = (I − D W)⁻¹ D with D = diag(1 − x²).
    d = np.diag(1 - np.tanh(w @ x + theta) ** 2)
    want = np.linalg.solve(np.eye(3) - d @ w, d)
    np.testing.assert_allclose(tc.jacfwd(lambda t: fixed_point(t)[0])(theta), want, atol=1e-10)
    np.testing.assert_allclose(tc.jacrev(lambda t: fixed_point(t)[0])(theta), want, atol=1e-10)
    check_grads(lambda t: fixed_point(t)[0], (theta,), order=1)


# --- iterative solvers ---------------------------------------------------------------------

SOLVERS = [("cg", SPD), ("bicgstab", GEN), ("gmres", GEN)]


@pytest.mark.parametrize(("name", "a"), SOLVERS)
def test_iterative_solvers_match_scipy_and_direct_solves(name, a):
    ssl = pytest.importorskip("scipy.sparse.linalg")
    fn = getattr(tsl, name)
    x, info = fn(a, B, tol=1e-10)
    assert info is None
    ref, ref_info = getattr(ssl, name)(a, B, rtol=1e-10)
    assert ref_info == 0
    np.testing.assert_allclose(x, ref, atol=1e-8)
    np.testing.assert_allclose(x, np.linalg.solve(a, B), atol=1e-9)
    # A as a function, and a preconditioner.
    x2, _ = fn(lambda v: a @ v, B, tol=1e-10, M=np.diag(1 / np.diag(a)))
    np.testing.assert_allclose(x2, np.linalg.solve(a, B), atol=1e-9)


@pytest.mark.parametrize(("name", "a"), SOLVERS)
def test_iterative_solver_derivatives_are_solves(name, a):
    fn = getattr(tsl, name)

    def f(a, b):
        return fn(a, b, tol=1e-12)[0]

    ga, gb = tc.grad(_loss(f), argnums=(0, 1))(a, B)
    ra, rb = _ref_grads(a, B)
    np.testing.assert_allclose(ga, ra, atol=1e-9)
    np.testing.assert_allclose(gb, rb, atol=1e-9)
    check_grads(f, (a, B), order=2 if name == "cg" else 1)
    np.testing.assert_allclose(tc.jit(f)(a, B), np.linalg.solve(a, B), atol=1e-9)
    np.testing.assert_allclose(tc.jit(tc.grad(_loss(f)))(a, B), ra, atol=1e-9)
    np.testing.assert_allclose(tc.vmap(f, in_axes=(None, 0))(a, BS),
                               np.linalg.solve(a, BS.T).T, atol=1e-9)
    stack = np.stack([a, a + np.eye(5)])
    np.testing.assert_allclose(tc.vmap(f)(stack, BS[:2]),
                               np.linalg.solve(stack, BS[:2, :, None])[..., 0], atol=1e-9)
