"""tensorcalc.numpy.linalg beyond the op records: values and result types match NumPy, closed-form
derivatives, the norm′(0) = 0 convention, forward mode where peers have none, the multi_dot
bracketing, and the errors (operator, shapes, what to do)."""

import itertools

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.core.errors import ShapeError
from tensorcalc.numpy.linalg import _chain_order

LA = tnp.linalg
LinAlgError = np.linalg.LinAlgError


def _traced(f, *args):
    """``f(*args)`` evaluated on traced values (forward mode), returning the primal output."""
    return tc.jvp(f, args, tuple(np.zeros_like(a) for a in args))[0]


@pytest.fixture
def mats(rng):
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((3, 3))
    spd = b @ b.T + 3 * np.eye(3)
    tall = rng.standard_normal((5, 3))
    return a, spd, tall


# --- values and result types ----------------------------------------------------------------


def test_traced_values_match_numpy(mats, rng):
    a, spd, tall = mats
    stack = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    cases = [
        (LA.inv, np.linalg.inv, (stack,)),
        (LA.det, np.linalg.det, (stack,)),
        (LA.solve, np.linalg.solve, (stack, rng.standard_normal(3))),
        (LA.solve, np.linalg.solve, (a, rng.standard_normal((2, 3, 4)))),
        (LA.cholesky, np.linalg.cholesky, (spd,)),
        (LA.eigvalsh, np.linalg.eigvalsh, (spd,)),
        (LA.pinv, np.linalg.pinv, (tall,)),
        (lambda x: LA.svd(x, compute_uv=False), lambda x: np.linalg.svd(x, compute_uv=False),
         (tall,)),
        (lambda x: LA.matrix_power(x, -3), lambda x: np.linalg.matrix_power(x, -3), (stack,)),
        (LA.norm, np.linalg.norm, (tall,)),
        (lambda x: LA.norm(x, "nuc"), lambda x: np.linalg.norm(x, "nuc"), (tall,)),
    ]
    for ours, theirs, args in cases:
        np.testing.assert_allclose(_traced(ours, *args), theirs(*args), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn,fields", [
    (lambda x: LA.slogdet(x), ("sign", "logabsdet")),
    (lambda x: LA.eigh(x + x.T), ("eigenvalues", "eigenvectors")),
    (lambda x: LA.qr(x), ("Q", "R")),
    (lambda x: LA.qr(x, mode="complete"), ("Q", "R")),
    (lambda x: LA.svd(x), ("U", "S", "Vh")),
    (lambda x: LA.svd(x, full_matrices=False), ("U", "S", "Vh")),
])
def test_namedtuples_like_numpy(fn, fields, rng):
    x = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    plain = fn(x)
    traced = _traced(fn, x)
    assert plain._fields == fields
    assert traced._fields == fields
    for p, t in zip(plain, traced, strict=True):
        np.testing.assert_allclose(t, p, rtol=1e-12, atol=1e-12)


def test_qr_and_svd_shapes_match_numpy(rng):
    for m, n in [(5, 3), (3, 5), (4, 4)]:
        x = rng.standard_normal((2, m, n))
        for mode in ("reduced", "complete", "r"):
            want = np.linalg.qr(x, mode=mode)
            got = _traced(lambda a, mode=mode: LA.qr(a, mode=mode), x)
            assert [np.shape(g) for g in tc.tree_flatten(got)[0]] == \
                [np.shape(w) for w in tc.tree_flatten(want)[0]]
        for full in (True, False):
            want = np.linalg.svd(x, full_matrices=full)
            got = _traced(lambda a, full=full: LA.svd(a, full_matrices=full), x)
            assert [g.shape for g in got] == [w.shape for w in want]


def test_lstsq_matches_numpy(rng):
    for a_shape, b_shape in [((5, 3), (5,)), ((5, 3), (5, 2)), ((3, 5), (3,))]:
        a, b = rng.standard_normal(a_shape), rng.standard_normal(b_shape)
        want = np.linalg.lstsq(a, b)
        got = _traced(LA.lstsq, a, b)
        assert got[2] == want[2]
        for g, w in zip((got[0], got[1], got[3]), (want[0], want[1], want[3]), strict=True):
            assert np.shape(g) == np.shape(w)
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_lstsq_rank_deficient_has_empty_residuals(rng):
    a = rng.standard_normal((5, 2)) @ rng.standard_normal((2, 3))  # rank 2
    x, res, rank, s = _traced(LA.lstsq, a, rng.standard_normal(5))
    assert rank == 2 and np.shape(res) == (0,)


# --- closed-form derivatives ----------------------------------------------------------------


def test_det_and_logdet_gradients(mats):
    a = mats[0]
    np.testing.assert_allclose(tc.grad(LA.det)(a), np.linalg.det(a) * np.linalg.inv(a).T,
                               rtol=1e-10)
    np.testing.assert_allclose(tc.grad(lambda x: LA.slogdet(x).logabsdet)(a),
                               np.linalg.inv(a).T, rtol=1e-10)


def test_eigvalsh_gradient_is_outer_product_of_eigenvector(mats):
    spd = mats[1]
    w, v = np.linalg.eigh(spd)
    g = tc.grad(lambda x: LA.eigvalsh(x)[-1])(spd)
    # The default symmetrizes the input: the gradient is the symmetric v vᵀ.
    want = np.outer(v[:, -1], v[:, -1])
    np.testing.assert_allclose(g, want, atol=1e-12)
    # Reading the lower triangle only, as NumPy does, the gradient lives there (doubled).
    g = tc.grad(lambda x: LA.eigvalsh(x, symmetrize_input=False)[-1])(spd)
    want = np.tril(2 * want, -1) + np.diag(np.diag(want))
    np.testing.assert_allclose(g, want, atol=1e-12)


def test_nuclear_norm_gradient_is_u_vt(rng):
    x = rng.standard_normal((4, 3))
    u, s, vh = np.linalg.svd(x, full_matrices=False)
    np.testing.assert_allclose(tc.grad(lambda a: LA.norm(a, "nuc"))(x), u @ vh, atol=1e-12)


def test_forward_mode_lstsq_and_full_svd(rng):
    """The gaps of peers: torch's lstsq has no forward mode; HIPS autograd's svd fails with
    full_matrices=True. Both work here, in forward and reverse mode, to second order."""
    a, b = rng.standard_normal((6, 3)), rng.standard_normal(6)
    tc.check_grads(lambda a, b: LA.lstsq(a, b)[0], (a, b), order=2, modes=("fwd",))
    x = rng.standard_normal((4, 3))
    tc.check_grads(lambda a: LA.svd(a)[0][:, :3] @ LA.svd(a)[2], (x,), order=2)


def test_jacfwd_equals_jacrev():
    from tensorcalc.transforms import jacfwd, jacrev

    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3))
    for f in (LA.pinv, lambda a: LA.svd(a, compute_uv=False), lambda a: LA.qr(a).R):
        np.testing.assert_allclose(jacfwd(f)(x), jacrev(f)(x), atol=1e-10)


def test_completed_basis_is_orthonormal_to_first_order(rng):
    """Q̇ of the completed basis keeps Q orthogonal: Qᵀ Q̇ is antisymmetric."""
    x, dx = rng.standard_normal((5, 2)), rng.standard_normal((5, 2))
    for f in (lambda a: LA.qr(a, mode="complete").Q, lambda a: LA.svd(a).U):
        q, dq = tc.jvp(f, (x,), (dx,))
        k = q.T @ dq
        np.testing.assert_allclose(k, -k.T, atol=1e-12)


# --- norm′(0) = 0 ---------------------------------------------------------------------------


@pytest.mark.parametrize("kw", [{}, {"ord": 2}, {"ord": 3}, {"ord": 0.5}, {"ord": 1},
                                {"ord": np.inf}, {"axis": 1}, {"ord": "fro", "axis": (0, 1)},
                                {"keepdims": True}])
def test_norm_gradient_at_zero_is_zero(kw):
    x = np.zeros((2, 3)) if "axis" in kw or kw.get("ord") == "fro" else np.zeros(4)

    def f(a):
        return tnp.sum(LA.norm(a, **kw))

    g_rev = tc.grad(f)(x)
    _, g_fwd = tc.jvp(f, (x,), (np.ones_like(x),))
    assert np.all(g_rev == 0) and np.isfinite(g_rev).all()
    assert g_fwd == 0


def test_norm_gradient_at_zero_in_a_batch(rng):
    x = rng.standard_normal((3, 4))
    x[1] = 0.0
    g = tc.grad(lambda a: tnp.sum(LA.norm(a, axis=1)))(x)
    np.testing.assert_allclose(g[1], 0.0)
    np.testing.assert_allclose(g[0], x[0] / np.linalg.norm(x[0]))


def test_norm_errors():
    with pytest.raises(ValueError, match="vectors"):
        tc.grad(lambda a: LA.norm(a, "fro", axis=0))(np.ones(3))
    with pytest.raises(ValueError, match="matrices"):
        tc.grad(lambda a: LA.norm(a, 3, axis=(0, 1)))(np.ones((2, 2)))


# --- matrix_power and multi_dot -------------------------------------------------------------


def test_matrix_power_values(rng):
    a = rng.standard_normal((2, 3, 3)) + 2 * np.eye(3)
    for n in range(-3, 7):
        np.testing.assert_allclose(_traced(lambda x, n=n: LA.matrix_power(x, n), a),
                                   np.linalg.matrix_power(a, n), rtol=1e-10, atol=1e-12)
    with pytest.raises(TypeError, match="integer"):
        _traced(lambda x: LA.matrix_power(x, 1.5), a)


def test_chain_order_is_optimal(rng):
    def cost(dims, i, j, split):
        if i == j:
            return 0
        k = split[i][j]
        return (cost(dims, i, k, split) + cost(dims, k + 1, j, split)
                + dims[i] * dims[k + 1] * dims[j + 1])

    def best(dims, i, j):
        if i == j:
            return 0
        return min(best(dims, i, k) + best(dims, k + 1, j) + dims[i] * dims[k + 1] * dims[j + 1]
                   for k in range(i, j))

    for _ in range(20):
        dims = list(rng.integers(1, 30, size=rng.integers(3, 7)))
        split = _chain_order(dims)
        n = len(dims) - 2
        assert cost(dims, 0, n, split) == best(dims, 0, n)


def test_multi_dot_stages_the_cheapest_bracketing(rng):
    a, b, c = rng.standard_normal((10, 100)), rng.standard_normal((100, 5)), \
        rng.standard_normal((5, 50))
    prog = tc.trace(lambda a, b, c: LA.multi_dot([a, b, c]), a, b, c)
    first = prog.equations[0]
    assert first.primitive.name == "matmul"
    assert [v.aval.shape for v in first.inputs] == [(10, 100), (100, 5)]  # (AB)C
    np.testing.assert_allclose(_traced(lambda *m: LA.multi_dot(list(m)), a, b, c),
                               np.linalg.multi_dot([a, b, c]), rtol=1e-12)
    prog = tc.trace(lambda a, b, c: LA.multi_dot([a, b, c]), c.T, b.T, a.T)
    assert [v.aval.shape for v in prog.equations[0].inputs] == [(5, 100), (100, 10)]  # A(BC)


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fn,name", [(LA.inv, "inv"), (LA.det, "det"), (LA.cholesky, "cholesky"),
                                     (LA.eigh, "eigh"), (LA.slogdet, "slogdet")])
def test_non_square_names_operator_and_shape(fn, name):
    x = np.ones((2, 3))
    for call in (lambda: fn(x), lambda: _traced(fn, x)):
        with pytest.raises(LinAlgError, match=rf"{name}: .*square.*\(2, 3\)") as info:
            call()
        assert isinstance(info.value, ShapeError)


def test_singular_matrix_names_operator():
    s = np.array([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(LinAlgError, match="inv: Singular matrix.*pinv"):
        LA.inv(s)
    with pytest.raises(LinAlgError, match="inv: Singular matrix"):
        tc.grad(lambda a: tnp.sum(LA.inv(a)))(s)
    with pytest.raises(LinAlgError, match="solve: Singular matrix"):
        tc.grad(lambda a: tnp.sum(LA.solve(a, np.ones(2))))(s)
    with pytest.raises(LinAlgError, match=r"det \(derivative\).*singular"):
        tc.grad(LA.det)(s)
    with pytest.raises(LinAlgError, match="cholesky: Matrix is not positive definite"):
        tc.grad(lambda a: tnp.sum(LA.cholesky(a)))(-np.eye(2))


def test_solve_shape_error_explains_numpy2_rule():
    with pytest.raises(LinAlgError, match=r"solve: a has shape \(3, 3\) and b has shape "
                                          r"\(2, 3\)"):
        tc.grad(lambda a: tnp.sum(LA.solve(a, np.ones((2, 3)))))(np.eye(3))


def test_unsupported_cases_raise_instead_of_guessing(rng):
    x = rng.standard_normal((3, 3))
    with pytest.raises(NotImplementedError, match="raw"):
        _traced(lambda a: LA.qr(a, mode="raw"), x)
    with pytest.raises(NotImplementedError, match="hermitian"):
        _traced(lambda a: LA.svd(a, hermitian=True), x + x.T)
    with pytest.raises(NotImplementedError, match="complex"):
        tc.jvp(LA.pinv, (x + 0j,), (x + 0j,))  # inv and the factorizations take complex


def test_uplo_is_validated():
    with pytest.raises(ValueError, match="UPLO"):
        LA.eigh(np.eye(2), UPLO="X")


def test_every_public_name_exists():
    for name in LA.__all__:
        assert hasattr(LA, name), name
    for name in ("inv", "pinv", "det", "slogdet", "solve", "lstsq", "cholesky", "qr", "eigh",
                 "eigvalsh", "svd", "norm", "matrix_power", "multi_dot"):
        assert name in LA.__all__


def test_batched_solve_broadcasts_like_numpy(rng):
    for a_shape, b_shape in itertools.product([(3, 3), (2, 3, 3), (4, 1, 3, 3)],
                                              [(3,), (3, 2), (2, 3, 2), (1, 3, 1)]):
        a = rng.standard_normal(a_shape) + 3 * np.eye(3)
        b = rng.standard_normal(b_shape)
        np.testing.assert_allclose(_traced(LA.solve, a, b), np.linalg.solve(a, b), rtol=1e-10)


def test_array_api_functions_match_numpy(rng):
    x, y = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3), rng.standard_normal((2, 3, 3))
    for name, args, kw in [("trace", (x,), {"offset": 1}), ("diagonal", (x,), {}),
                           ("matrix_transpose", (y,), {}), ("vecdot", (x, y), {"axis": 1}),
                           ("cond", (x,), {}), ("cond", (x, "fro"), {}), ("cond", (x, -2), {}),
                           ("cross", (x, y), {}), ("outer", (x[0, 0], y[0, 1]), {})]:
        got = _traced(lambda *a, name=name, kw=kw: getattr(LA, name)(*a, **kw), *args)
        np.testing.assert_allclose(got, getattr(np.linalg, name)(*args, **kw), rtol=1e-10,
                                   err_msg=name)


def test_matrix_rank_needs_concrete_values(rng):
    a = rng.standard_normal((4, 2)) @ rng.standard_normal((2, 3))
    assert _traced(lambda x: LA.matrix_rank(x) + 0.0 * x[0, 0], a) == 2
    with pytest.raises(tc.ConcretizationError):
        tc.trace(LA.matrix_rank, a)


def test_pass_through_functions_say_so():
    # numpy.roots is NumPy's own for plain arrays and refuses a traced value by name
    np.testing.assert_allclose(np.sort(tnp.roots([1.0, -3.0, 2.0])), [1.0, 2.0])
    with pytest.raises(tc.NotDifferentiableError, match=r"numpy\.roots .*argument 0"):
        tc.grad(lambda p: tnp.roots(p).real.sum())(np.array([1.0, -3.0, 2.0]))


@pytest.mark.parametrize("fn", [
    lambda a: tnp.sum(LA.cholesky(a) * tnp.arange(9.0).reshape(3, 3)),
    lambda a: tnp.sum(LA.cholesky(a, upper=True)[0]),
    lambda a: LA.eigvalsh(a)[-1] * 2 + LA.eigvalsh(a, UPLO="U")[0],
    lambda a: tnp.sum(LA.eigh(a).eigenvectors[:, 0] ** 2 * tnp.arange(3.0)),
])
def test_cholesky_and_eigh_gradients_are_symmetric_by_default(fn):
    # A covariance optimisation must not get non-symmetric iterates: the default symmetrizes
    # the input, as JAX and PyTorch do; symmetrize_input=False keeps NumPy's one-triangle read.
    rng = np.random.default_rng(3)
    b = rng.standard_normal((3, 3))
    a = b @ b.T + 3 * np.eye(3) + np.diag([0.0, 1.0, 2.5])
    g = tc.grad(fn)(a)
    np.testing.assert_allclose(g, g.T, rtol=1e-12, atol=1e-12)
    assert np.abs(np.tril(g, -1)).max() > 1e-6
    np.testing.assert_array_equal(LA.cholesky(a), np.linalg.cholesky(a))


def test_symmetrize_input_false_reads_one_triangle():
    rng = np.random.default_rng(4)
    b = rng.standard_normal((3, 3))
    a = b @ b.T + 3 * np.eye(3)
    g = tc.grad(lambda x: tnp.sum(LA.cholesky(x, symmetrize_input=False)))(a)
    np.testing.assert_array_equal(np.triu(g, 1), 0)
