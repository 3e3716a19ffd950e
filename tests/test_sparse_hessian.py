"""Sparse Hessians: pattern of the linearized gradient, star colouring, Hessian-vector
products, symmetric recovery — against dense Hessians."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp

sp = pytest.importorskip("scipy.sparse")


def rosenbrock(x):
    return tnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def grid_energy(n):
    def energy(u):
        U = u.reshape(n, n)
        gx = U[1:, :] - U[:-1, :]
        gy = U[:, 1:] - U[:, :-1]
        return tnp.sum(gx ** 2) + tnp.sum(gy ** 2) + tnp.sum(tnp.cosh(U)) + tnp.sum(U ** 4)

    return energy


def arrow_energy(x):
    return tnp.sum(x[0] * x[1:] ** 2) + tnp.sum(tnp.exp(x))


@pytest.mark.parametrize("f,size", [(rosenbrock, 40), (grid_energy(7), 49), (arrow_energy, 30),
                                    (lambda x: tnp.sum(tnp.sin(x) * tnp.roll(x, 3)), 12)])
def test_sparse_hessian_equals_dense(f, size, rng):
    x = rng.uniform(-1, 1, size)
    H = tc.hessian(f, sparse=True)(x)
    assert sp.issparse(H)
    dense = tc.hessian(f)(x)
    np.testing.assert_allclose(H.toarray(), dense, rtol=1e-10, atol=1e-10)
    assert not np.any((dense != 0) & (H.toarray() == 0) & ~H.astype(bool).toarray())
    np.testing.assert_array_equal((H != H.T).nnz, 0)


def test_hessian_plan_counts_and_reuse(rng):
    x = rng.uniform(-1, 1, 1000)
    plan = tc.sparse_hessian_plan(rosenbrock, x)
    assert plan.nnz == 3 * 1000 - 2  # tridiagonal
    assert plan.sweeps == 3 and plan.coloring.mode == "star"
    for _ in range(2):
        y = rng.uniform(-1, 1, 1000)
        H = plan(y)
        v = rng.standard_normal(1000)
        np.testing.assert_allclose(H @ v, tc.hvp(rosenbrock, (y,), (v,))[0], rtol=1e-10)
    text = str(plan)
    assert "Sparse Hessian plan: 1,000 x 1,000 (symmetric)" in text and "star (HVPs)" in text


def test_arrowhead_hessian_needs_two_products(rng):
    x = rng.uniform(-1, 1, 500)
    plan = tc.sparse_hessian_plan(arrow_energy, x)
    assert plan.sweeps == 2
    np.testing.assert_allclose(plan(x).toarray(), tc.hessian(arrow_energy)(x), atol=1e-10)


def test_hessian_formats_and_aux(rng):
    def f(x):
        return tnp.sum(x ** 3), {"n": x.shape[0]}

    x = rng.standard_normal(6)
    H, aux = tc.hessian(f, sparse=True, has_aux=True, format="coo")(x)
    assert H.format == "coo" and aux == {"n": 6}
    np.testing.assert_allclose(H.toarray(), np.diag(6 * x))
