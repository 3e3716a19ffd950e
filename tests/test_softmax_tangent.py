"""softmax's linear map ``T_s(t) = s ⊙ (t − Σ s ⊙ t)`` as one primitive: its values against the
dense Jacobian ``diag(s) − s sᵀ`` written out with NumPy, its symmetry (it is its own
transpose), the empty-slice convention, batching with different batch axes, float32, and jit."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
import tensorcalc.scipy.special as tsp
from tensorcalc.ops.softmax import softmax_tangent_p


def _dense_softmax_jacobian(x: np.ndarray) -> np.ndarray:
    """∂s_i/∂x_j = s_i (δ_ij − s_j) for softmax over the last axis, one block per row, as a
    generalized Jacobian of shape x.shape + x.shape (zero between different rows)."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    s = e / e.sum(axis=-1, keepdims=True)
    rows = s.reshape(-1, s.shape[-1])
    n, k = rows.shape
    jac = np.zeros((n, k, n, k))
    for r in range(n):
        jac[r, :, r, :] = np.diag(rows[r]) - np.outer(rows[r], rows[r])
    return jac.reshape(x.shape + x.shape)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)])
def test_jacobian_matches_the_dense_formula_in_both_modes(shape):
    x = np.random.default_rng(0).standard_normal(shape)
    f = lambda v: tsp.softmax(v, axis=-1)  # noqa: E731
    want = _dense_softmax_jacobian(x)
    np.testing.assert_allclose(tc.jacfwd(f)(x), want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(tc.jacrev(f)(x), want, rtol=1e-13, atol=1e-15)


def test_the_map_is_its_own_transpose():
    rng = np.random.default_rng(1)
    x, u, v = (rng.standard_normal((4, 6)) for _ in range(3))
    f = lambda a: tsp.softmax(a, axis=1)  # noqa: E731
    jv = tc.jvp(f, (x,), (v,))[1]
    ju = tc.jvp(f, (x,), (u,))[1]
    vjp_u = tc.vjp(f, x)[1](u)[0]
    assert np.isclose(np.vdot(u, jv), np.vdot(vjp_u, v), rtol=1e-13)
    np.testing.assert_allclose(vjp_u, ju, rtol=1e-13, atol=1e-16)  # Tᵀ = T


def test_linear_program_holds_one_softmax_tangent_and_no_select():
    x = np.random.default_rng(2).standard_normal((3, 5))
    prog = tc.linear_map(lambda v: tsp.softmax(v, axis=-1), x).program
    names = [eq.primitive.name for eq in prog.equations]
    assert names == ["softmax_tangent"]
    back = tc.trace(lambda v: tc.vjp(lambda a: tsp.softmax(a, axis=-1), v)[1](v), x)
    assert [eq.primitive for eq in back.equations].count(softmax_tangent_p) == 1
    assert "select" not in [eq.primitive.name for eq in back.equations]


@pytest.mark.parametrize("jit", [False, True])
def test_empty_rows_get_zero_and_other_rows_are_untouched(jit):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4))
    x[1] = -np.inf
    w = rng.standard_normal((3, 4))

    def loss(v):
        s = tsp.softmax(v, axis=1)
        return tnp.sum(tnp.where(tnp.isnan(s), 0.0, s) * w)

    g = (tc.jit(tc.grad(loss)) if jit else tc.grad(loss))(x)
    assert np.all(g[1] == 0.0)
    keep = [0, 2]
    want = tc.grad(lambda v: tnp.sum(tsp.softmax(v, axis=1) * w[keep]))(x[keep])
    np.testing.assert_allclose(g[keep], want, rtol=1e-13)
    t = tc.jvp(lambda v: tsp.softmax(v, axis=1), (x,), (w,))[1]
    assert np.all(t[1] == 0.0) and np.all(np.isfinite(t))


def test_vmap_with_a_shared_tangent_and_with_batched_tangents():
    rng = np.random.default_rng(4)
    xs = rng.standard_normal((5, 3, 4))
    v = rng.standard_normal((3, 4))  # one tangent for every example: unbatched in T's rule
    f = lambda a: tsp.softmax(a, axis=0)  # noqa: E731
    got = tc.vmap(lambda a: tc.jvp(f, (a,), (v,))[1])(xs)
    want = np.stack([tc.jvp(f, (a,), (v,))[1] for a in xs])
    np.testing.assert_allclose(got, want, rtol=1e-13)
    vs = rng.standard_normal(xs.shape)
    got = tc.vmap(lambda a, t: tc.vjp(f, a)[1](t)[0], in_axes=(0, 1))(xs, vs.swapaxes(0, 1))
    want = np.stack([tc.vjp(f, a)[1](t)[0] for a, t in zip(xs, vs, strict=True)])
    np.testing.assert_allclose(got, want, rtol=1e-13)


def test_float32_stays_float32():
    x = np.random.default_rng(5).standard_normal((2, 8)).astype(np.float32)
    g = tc.grad(lambda v: tnp.sum(tsp.softmax(v, axis=-1) ** 2))(x)
    assert g.dtype == np.float32
    want = tc.grad(lambda v: tnp.sum(tsp.softmax(v, axis=-1) ** 2))(x.astype(np.float64))
    np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-6)


def test_second_order_through_the_map_matches_finite_differences():
    x = np.random.default_rng(6).standard_normal((2, 3, 4))
    tc.testing.check_grads(lambda v: tnp.sum(tnp.tanh(tsp.softmax(v, axis=-1)) * v), (x,),
                           order=2, modes=("fwd", "rev"))


def test_mismatched_shapes_name_the_primitive():
    with pytest.raises(ValueError, match="softmax_tangent"):
        tc.trace(lambda t, s: softmax_tangent_p.bind(t, s, axes=(0,)), np.ones(3), np.ones(4))


def test_slices_whose_softmax_is_nan_throughout_get_zero():
    # docs/conventions.md: a NaN in a slice, or only +∞ entries, make softmax NaN on the whole
    # slice, like the all −∞ slice; the derivative there is 0 and the other rows are untouched.
    x = np.array([[np.nan, 1.0, 2.0], [np.inf, np.inf, np.inf], [0.5, -1.0, 2.0]])
    with np.errstate(invalid="ignore"):
        s = tsp.softmax(x, axis=1)
        assert np.all(np.isnan(s[:2]))
        t = tc.jvp(lambda v: tsp.softmax(v, axis=1), (x,), (np.ones_like(x),))[1]
    assert np.all(t[:2] == 0.0)
    np.testing.assert_allclose(t[2], 0.0, atol=1e-15)  # Σ s = 1: the all-ones direction is flat
    u = np.array([[1.0, 2.0, 3.0]] * 3)
    with np.errstate(invalid="ignore"):
        ct = tc.vjp(lambda v: tsp.softmax(v, axis=1), x)[1](u)[0]
    assert np.all(ct[:2] == 0.0)
    s2 = s[2]
    np.testing.assert_allclose(ct[2], s2 * (u[2] - s2 @ u[2]), rtol=1e-13)


def test_a_zero_cotangent_on_a_nan_entry_stays_zero_under_jit_and_eager():
    # x holds +∞: softmax is NaN at that entry and 0 elsewhere in the row. The cotangent is 0
    # where softmax is NaN, so by the strong-zero rule (docs/conventions.md) nothing of the NaN
    # reaches the gradient; jit (whose NaN checks watch only mul_sz/div_sz) must agree.
    x = np.array([[np.inf, 1.0, 2.0], [0.1, 0.2, 0.3]])
    u = np.array([[0.0, 1.0, 0.0], [1.0, 2.0, 3.0]])

    def pull(v):
        return tc.vjp(lambda a: tsp.softmax(a, axis=1), v)[1](u)[0]

    with np.errstate(invalid="ignore"):
        eager, jitted = pull(x), tc.jit(pull)(x)
    np.testing.assert_array_equal(eager, jitted)
    assert np.all(eager[0] == 0.0)
    e = np.exp(x[1] - x[1].max())
    s = e / e.sum()
    np.testing.assert_allclose(eager[1], s * (u[1] - s @ u[1]), rtol=1e-13)


def test_sparsity_pattern_is_one_dense_block_per_slice():
    from tensorcalc.jacobians.pattern import detect_pattern
    from tensorcalc.transforms import _linearize_for

    def pattern(f, x):
        return detect_pattern(_linearize_for(f, (x,), 0, False, "t")[0]).pattern.toarray()

    x = np.random.default_rng(7).standard_normal((2, 3, 4))
    want = _dense_softmax_jacobian(x).reshape(x.size, x.size) != 0
    np.testing.assert_array_equal(pattern(lambda v: tsp.softmax(v, axis=-1), x), want)
    y = np.random.default_rng(8).standard_normal((3, 4))  # over axis 0: the transposed layout
    jt = _dense_softmax_jacobian(y.T).transpose(1, 0, 3, 2).reshape(y.size, y.size) != 0
    np.testing.assert_array_equal(pattern(lambda v: tsp.softmax(v, axis=0), y), jt)


def test_jit_reuses_the_buffer_softmax_read():
    """softmax returns a fresh array, so under jit the scores it read are dead once it ran and
    the next elementwise result is written into their buffer (``out=``) instead of a new one."""
    def f(x):
        return tc.nn.functional.softmax(x * 2.0, axis=-1) + 1.0

    x = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    g = tc.jit(f)
    src = g.source(x)
    add_line = [ln for ln in src.splitlines() if "add" in ln][-1]
    assert "out=" in add_line, src
    z = 2.0 * x
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(g(x), e / e.sum(axis=-1, keepdims=True) + 1.0, rtol=1e-15)
