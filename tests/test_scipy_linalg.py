"""tensorcalc.scipy.linalg values against scipy.linalg (issue 17, item 6); derivatives are in
tests/records/scipy_linalg.py."""

import numpy as np
import pytest

import tensorcalc as tc

sl = pytest.importorskip("scipy.linalg")
tsl = pytest.importorskip("tensorcalc.scipy.linalg")

RNG = np.random.default_rng(11)
A = 0.5 * RNG.standard_normal((3, 3))
E = RNG.standard_normal((3, 3))
S = A @ A.T + np.eye(3)
M = RNG.standard_normal((4, 4)) + 3 * np.eye(4)
B = RNG.standard_normal(4)


def test_expm_and_its_frechet_derivative():
    np.testing.assert_allclose(tc.jit(tsl.expm)(A), sl.expm(A), rtol=1e-12)
    want = sl.expm_frechet(A, E, compute_expm=False)
    np.testing.assert_allclose(tsl.expm_frechet(A, E, compute_expm=False), want, rtol=1e-10)
    ea, fr = tsl.expm_frechet(A, E)
    np.testing.assert_allclose(ea, sl.expm(A), rtol=1e-12)
    np.testing.assert_allclose(fr, want, rtol=1e-10)
    np.testing.assert_allclose(tc.jvp(tsl.expm, (A,), (E,))[1], want, rtol=1e-10)
    # Reverse mode is the adjoint L(Aᵀ, ·): <C, L(A, E)> = <L(Aᵀ, C), E>.
    c = RNG.standard_normal((3, 3))
    (g,) = tc.vjp(tsl.expm, A)[1](c)
    assert np.sum(g * E) == pytest.approx(np.sum(c * want), rel=1e-10)


def test_sqrtm_and_lu_values():
    np.testing.assert_allclose(tc.jit(tsl.sqrtm)(S), sl.sqrtm(S), rtol=1e-10)
    lu, piv = tc.jit(tsl.lu_factor)(M)
    lu2, piv2 = sl.lu_factor(M)
    np.testing.assert_allclose(lu, lu2, rtol=1e-12)
    np.testing.assert_array_equal(piv, piv2)
    for trans in (0, 1):
        got = tc.jit(lambda m, b, t=trans: tsl.lu_solve(tsl.lu_factor(m), b, trans=t))(M, B)
        np.testing.assert_allclose(got, sl.lu_solve((lu2, piv2), B, trans=trans), rtol=1e-12)
    got = tc.vmap(lambda m: tsl.lu_solve(tsl.lu_factor(m), B))(np.stack([M, M.T]))
    np.testing.assert_allclose(got[1], np.linalg.solve(M.T, B), rtol=1e-12)


@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("trans", [0, 1, 2, "C"])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular(lower, trans, unit):
    c = M + 1j * RNG.standard_normal((4, 4))
    for a in (M, c):
        f = tc.jit(lambda a, b: tsl.solve_triangular(a, b, trans=trans, lower=lower,
                                                     unit_diagonal=unit))
        np.testing.assert_allclose(f(a, B), sl.solve_triangular(
            a, B, trans=trans, lower=lower, unit_diagonal=unit), rtol=1e-10)


@pytest.mark.parametrize("lower", [True, False])
def test_cho_factor_and_solve(lower):
    c, low = tc.jit(lambda s: tsl.cho_factor(s, lower=lower))(S)
    want = np.linalg.cholesky(S) if lower else np.linalg.cholesky(S).T
    np.testing.assert_allclose(c, want, rtol=1e-12)
    got = tc.jit(lambda s, b: tsl.cho_solve(tsl.cho_factor(s, lower=lower), b))(S, B[:3])
    np.testing.assert_allclose(got, sl.cho_solve(sl.cho_factor(S, lower=lower), B[:3]),
                               rtol=1e-12)


def test_block_diag_and_reexports():
    blocks = [RNG.standard_normal((2, 2)), RNG.standard_normal(3), 2.0, np.zeros((0, 2))]
    np.testing.assert_allclose(tc.jit(tsl.block_diag)(*blocks), sl.block_diag(*blocks))
    np.testing.assert_allclose(tsl.cholesky(S), sl.cholesky(S), rtol=1e-12)
    np.testing.assert_allclose(tsl.eigh(S, eigvals_only=True), sl.eigh(S, eigvals_only=True))
    q, r = tsl.qr(M, mode="economic")
    np.testing.assert_allclose(q @ r, M, rtol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="trans"):
        tc.jit(lambda a, b: tsl.solve_triangular(a, b, trans="X"))(M, B)
    with pytest.raises(ValueError, match="trans"):
        tsl.lu_solve(sl.lu_factor(M), B, trans=2)
    with pytest.raises(np.linalg.LinAlgError, match="square"):
        tsl.expm(np.ones((2, 3)))


@pytest.mark.parametrize("name,args", [
    ("toeplitz", (RNG.standard_normal(3), RNG.standard_normal(4))),
    ("toeplitz", (RNG.standard_normal(3) + 1j * RNG.standard_normal(3),)),
    ("circulant", (RNG.standard_normal(4),)),
    ("hankel", (RNG.standard_normal(3), RNG.standard_normal(4))),
    ("hankel", (RNG.standard_normal(3),)),
])
def test_structured_matrix_constructors(name, args):
    fn = getattr(tsl, name)
    np.testing.assert_allclose(tc.jit(fn)(*args), getattr(sl, name)(*args))
    np.testing.assert_allclose(fn(*args), getattr(sl, name)(*args))
    tc.check_grads(fn, args, order=2, modes=("fwd", "rev"))


def test_solve_sylvester_and_polar():
    a, b = M[:3, :3], M[:2, :2]
    q = RNG.standard_normal((3, 2))
    np.testing.assert_allclose(tc.jit(tsl.solve_sylvester)(a, b, q), sl.solve_sylvester(a, b, q),
                               rtol=1e-10)
    x = RNG.standard_normal((4, 3))
    for side in ("right", "left"):
        for got, want in zip(tc.jit(lambda a, s=side: tsl.polar(a, s))(x), sl.polar(x, side),
                             strict=True):
            np.testing.assert_allclose(got, want, atol=1e-12)
