"""Complex numbers (issue 17, item 4): the gradient convention of a real loss of complex inputs
(JAX's: ``∂f/∂x − i ∂f/∂y``), checked against central differences in the real and imaginary
directions and against JAX itself when it is installed; ``holomorphic=True`` on the Jacobian
family; the refusals that keep a wrong number from coming out."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp

LA = tnp.linalg
RNG = np.random.default_rng(17)
Z = RNG.standard_normal((2, 2)) + 1j * RNG.standard_normal((2, 2)) + 2 * np.eye(2)


def _fd_wirtinger(f, z, eps=1e-6):
    """``∂f/∂x − i ∂f/∂y`` of a real ``f`` by central differences, entry by entry."""
    g = np.zeros(z.shape, complex)
    for idx in np.ndindex(z.shape):
        e = np.zeros(z.shape)
        e[idx] = eps
        dx = (f(z + e) - f(z - e)) / (2 * eps)
        dy = (f(z + 1j * e) - f(z - 1j * e)) / (2 * eps)
        g[idx] = dx - 1j * dy
    return g


LOSSES = {
    "abs2": lambda z: tnp.sum(tnp.abs(z) ** 2),
    "abs": lambda z: tnp.sum(tnp.abs(z)),
    "real_sq": lambda z: tnp.sum(tnp.real(z * z)),
    "imag_exp": lambda z: tnp.sum(tnp.imag(tnp.exp(z))),
    "angle": lambda z: tnp.sum(tnp.angle(z)),
    "conj_prod": lambda z: tnp.sum(tnp.real(tnp.conj(z) * tnp.sin(z))),
    "vdot": lambda z: tnp.real(tnp.vdot(z, z @ z)),
    "logabsdet": lambda z: LA.slogdet(z)[1],
    "real_det": lambda z: tnp.real(LA.det(z)),
    "inv": lambda z: tnp.sum(tnp.abs(LA.inv(z)) ** 2),
    "eigvals": lambda z: tnp.sum(tnp.abs(LA.eigvals(z)) ** 2),
    "eigvalsh": lambda z: tnp.sum(LA.eigvalsh(z @ tnp.conj(z).T) ** 3),
    "svdvals": lambda z: tnp.sum(LA.svd(z, compute_uv=False) ** 3),
    "qr_r": lambda z: tnp.sum(tnp.real(LA.qr(z)[1]) * tnp.imag(LA.qr(z)[1])),
    "cholesky": lambda z: tnp.sum(tnp.abs(LA.cholesky(z @ tnp.conj(z).T + np.eye(2))) ** 2),
    "var": lambda z: tnp.var(z) + tnp.std(z[0]),
    "norm_fro": lambda z: LA.norm(z),
    "norm_nuc": lambda z: LA.norm(z, "nuc"),
    "norm_2": lambda z: LA.norm(z, 2) + LA.norm(z[:, 0], 3),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_real_loss_of_complex_matches_central_differences(name):
    f = LOSSES[name]
    g = tc.grad(f)(Z)
    np.testing.assert_allclose(g, _fd_wirtinger(lambda z: float(f(z)), Z), rtol=1e-5, atol=1e-6)
    assert g.dtype == np.complex128 and g.shape == Z.shape


@pytest.mark.parametrize("name", sorted(set(LOSSES) - {"cholesky", "qr_r"}))
def test_real_loss_of_complex_matches_jax(name):
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    jax.config.update("jax_enable_x64", True)
    jfuns = {
        "abs2": lambda z: jnp.sum(jnp.abs(z) ** 2),
        "abs": lambda z: jnp.sum(jnp.abs(z)),
        "real_sq": lambda z: jnp.sum(jnp.real(z * z)),
        "imag_exp": lambda z: jnp.sum(jnp.imag(jnp.exp(z))),
        "angle": lambda z: jnp.sum(jnp.angle(z)),
        "conj_prod": lambda z: jnp.sum(jnp.real(jnp.conj(z) * jnp.sin(z))),
        "vdot": lambda z: jnp.real(jnp.vdot(z, z @ z)),
        "logabsdet": lambda z: jnp.linalg.slogdet(z)[1],
        "real_det": lambda z: jnp.real(jnp.linalg.det(z)),
        "inv": lambda z: jnp.sum(jnp.abs(jnp.linalg.inv(z)) ** 2),
        "eigvals": lambda z: jnp.sum(jnp.abs(jnp.linalg.eigvals(z)) ** 2),
        "eigvalsh": lambda z: jnp.sum(jnp.linalg.eigvalsh(z @ jnp.conj(z).T) ** 3),
        "svdvals": lambda z: jnp.sum(jnp.linalg.svd(z, compute_uv=False) ** 3),
        "var": lambda z: jnp.var(z) + jnp.std(z[0]),
        "norm_fro": lambda z: jnp.linalg.norm(z),
        "norm_nuc": lambda z: jnp.linalg.norm(z, "nuc"),
        "norm_2": lambda z: jnp.linalg.norm(z, 2) + jnp.linalg.norm(z[:, 0], 3),
    }
    np.testing.assert_allclose(tc.grad(LOSSES[name])(Z), np.asarray(jax.grad(jfuns[name])(Z)),
                               rtol=1e-8, atol=1e-10)


def test_documented_value_abs2():
    assert tc.grad(lambda z: tnp.abs(z) ** 2)(np.complex128(1 + 1j)) == 2 - 2j
    assert tc.grad(tnp.abs)(np.complex128(0)) == 0  # |z|'(0) = 0, as abs'(0) = 0


def test_real_input_through_complex_gets_real_part():
    # Re((1 + 2i) x²) = x²: the gradient 2x is real.
    g = tc.grad(lambda x: tnp.real((1 + 2j) * x * x))(2.0)
    assert g == pytest.approx(4.0) and np.isrealobj(g)
    (ct,) = tc.vjp(lambda x: (1 + 2j) * x, 2.0)[1](np.complex128(1 + 1j))
    assert ct == pytest.approx(-1.0)   # Re((1 + 2i)(1 + i))


def test_holomorphic_jacobians_agree():
    z = RNG.standard_normal(3) + 1j * RNG.standard_normal(3)

    def f(z):
        return tnp.sin(z) * z[0] + z @ z

    want = np.diag(np.cos(z) * z[0]) + np.outer(np.sin(z), [1, 0, 0]) + 2 * z[None, :]
    for jac in (tc.jacobian, tc.jacfwd, tc.jacrev):
        np.testing.assert_allclose(jac(f, holomorphic=True)(z), want, rtol=1e-12)
    h = tc.hessian(lambda z: tnp.sum(tnp.exp(z) * z[1]), holomorphic=True)(z)
    want_h = np.diag(np.exp(z) * z[1])
    want_h[:, 1] += np.exp(z)
    want_h[1, :] += np.exp(z)
    np.testing.assert_allclose(h, want_h, rtol=1e-12)


def test_jacrev_of_real_outputs_of_complex_inputs():
    z = RNG.standard_normal(2) + 1j * RNG.standard_normal(2)
    j = tc.jacrev(lambda z: tnp.abs(z) ** 2 * 3.0)(z)
    np.testing.assert_allclose(j, np.diag(6 * np.conj(z)), rtol=1e-12)
    np.testing.assert_allclose(tc.jacobian(lambda z: tnp.abs(z) ** 2 * 3.0)(z), j)


def test_refusals():
    z = np.array([1 + 1j, 2.0])
    with pytest.raises(tc.DifferentiationTypeError, match="holomorphic=True"):
        tc.jacfwd(tnp.abs)(z)
    with pytest.raises(tc.DifferentiationTypeError, match="complex output needs holomorphic"):
        tc.jacrev(tnp.sin)(z)
    with pytest.raises(tc.DifferentiationTypeError, match="needs complex outputs"):
        tc.jacobian(tnp.abs, holomorphic=True)(z)
    with pytest.raises(tc.DifferentiationTypeError, match="needs complex inputs"):
        tc.jacobian(tnp.sin, holomorphic=True)(np.ones(2))
    with pytest.raises(tc.DifferentiationTypeError, match="hessian"):
        tc.hessian(lambda z: tnp.sum(tnp.abs(z)))(z)
    with pytest.raises(tc.DifferentiationTypeError, match="holomorphic=True"):
        tc.grad(lambda z: tnp.sum(z * z))(z)


def test_parts_on_plain_arrays_are_numpy():
    z = np.array([1 + 2j, -3j])
    for name in ("real", "imag", "conj", "conjugate", "angle", "iscomplex", "isreal"):
        np.testing.assert_array_equal(getattr(tnp, name)(z), getattr(np, name)(z))
    assert tnp.iscomplexobj(z) and not tnp.isrealobj(z)
    x = np.array([1.0, -2.0])
    assert tc.grad(lambda x: tnp.sum(tnp.real(x) + tnp.imag(x) + tnp.conj(x)))(x).tolist() == [
        2.0, 2.0]


def test_eig_matches_numpy_and_vmaps():
    a = RNG.standard_normal((2, 4, 4))
    w = tc.jit(LA.eigvals)(a)
    np.testing.assert_allclose(np.sort_complex(w[0]), np.sort_complex(np.linalg.eigvals(a[0])),
                               rtol=1e-10)
    assert w.dtype == np.complex128
    np.testing.assert_allclose(tc.vmap(LA.eigvals)(a), w, rtol=1e-12)


def test_eig_degenerate_eigenvalues_give_non_finite_vectors_and_the_group_trace():
    # A repeated eigenvalue: V̇ does not exist (inf/NaN); the group's λ̇ sums to tr of its block.
    a = np.diag([2.0, 2.0, 5.0])
    t = RNG.standard_normal((3, 3))
    _, dw = tc.jvp(LA.eigvals, (a,), (t,))
    assert np.all(np.isfinite(dw))
    w = np.linalg.eigvals(a).real
    group = np.isclose(w, 2.0)
    assert np.sum(dw[group]).real == pytest.approx(t[0, 0] + t[1, 1])
    with np.errstate(all="ignore"):
        _, (_, dv) = tc.jvp(LA.eig, (a,), (t,))
    assert not np.all(np.isfinite(dv))
