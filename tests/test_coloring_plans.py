"""The colouring choices inside sparse plans: star bicolouring / direct split for Jacobians
with dense rows and columns, acyclic colouring with substitution for Hessians — values against
dense Jacobians and Hessians, and what ``print(plan)`` says was chosen."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp

sp = pytest.importorskip("scipy.sparse")


def grid_energy(n):
    def energy(u):
        U = u.reshape(n, n)
        return tnp.sum((U[1:] - U[:-1]) ** 2) + tnp.sum((U[:, 1:] - U[:, :-1]) ** 2) \
            + tnp.sum(tnp.cosh(U)) + tnp.sum(U ** 4)

    return energy


def chain(x):
    return tnp.sum(tnp.sin(x[1:] * x[:-1])) + tnp.sum(x ** 4)


@pytest.mark.parametrize("f,size", [(grid_energy(8), 64), (chain, 40)])
def test_acyclic_hessian_plan_equals_dense(f, size, rng):
    x = rng.uniform(-1, 1, size)
    dense = tc.hessian(f)(x)
    star = tc.sparse_hessian_plan(f, x)
    acyc = tc.sparse_hessian_plan(f, x, coloring="acyclic")
    assert acyc.coloring.mode == "acyclic" and star.coloring.mode == "star"
    assert acyc.sweeps < star.sweeps  # grid: 4 < 5, path: 2 < 3
    for y in (x, rng.uniform(-1, 1, size)):  # the second call runs the reused plan
        ref = tc.hessian(f)(y)
        np.testing.assert_allclose(acyc(y).toarray(), ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(star(x).toarray(), dense, rtol=1e-10, atol=1e-10)
    auto = tc.sparse_hessian_plan(f, x, coloring="auto")
    assert auto.coloring.mode == "acyclic"
    text = str(acyc)
    assert "acyclic (HVPs, substitution)" in text and "star (HVPs)" in text
    assert "chosen: acyclic colouring" in text


def test_acyclic_plan_under_jit_says_to_use_star(rng):
    x = rng.uniform(-1, 1, 30)
    plan = tc.sparse_hessian_plan(chain, x, coloring="acyclic")
    with pytest.raises(tc.ConcretizationError, match="coloring='star'"):
        tc.jit(plan)(x)
    with pytest.raises(ValueError, match="coloring='greedy'.*star"):
        tc.sparse_hessian_plan(chain, x, coloring="greedy")


def test_jacobian_plan_with_dense_rows_and_columns_prints_the_bidirectional_choice(rng):
    n = 60

    def f(x):  # two dense rows (sums), two dense columns (x[0], x[1] everywhere), a band
        band = x ** 2 + tnp.roll(x, 1) * tnp.roll(x, -1)
        coupled = band + x[0] * tnp.sin(x) + x[1] ** 2
        return tnp.concatenate([tnp.sum(x ** 2)[None], tnp.sum(tnp.cos(x))[None], coupled])

    x = rng.uniform(-1, 1, n)
    plan = tc.sparse_jacobian_plan(f, x)
    dense = tc.jacfwd(f)(x)
    np.testing.assert_allclose(plan(x).toarray(), dense, rtol=1e-12, atol=1e-12)
    text = str(plan)
    assert "direct split (JVP + VJP)" in text and "star bicolouring (JVP + VJP)" in text
    assert plan.coloring.mode == "bidirectional" and plan.sweeps <= 3 + 2 + 2
    assert f"chosen: bidirectional ({plan.coloring.method}) colouring" in text


def test_hessian_sparse_takes_the_coloring_choice(rng):
    x = rng.uniform(-1, 1, 40)
    hess = tc.hessian(chain, sparse=True, coloring="acyclic")
    np.testing.assert_allclose(hess(x).toarray(), tc.hessian(chain)(x), rtol=1e-10, atol=1e-10)
    assert hess.coloring.mode == "acyclic" and hess.sweeps == 2
    assert tc.hessian(chain, sparse=True).__call__(x) is not None
    with pytest.raises(ValueError, match="pass sparse=True"):
        tc.hessian(chain, coloring="acyclic")
    with pytest.raises(ValueError, match="coloring='greedy'.*star"):
        tc.hessian(chain, sparse=True, coloring="greedy")
