"""Sparse Jacobians: detected patterns (from the ops' sparsity rules), compressed sweeps,
values against dense Jacobians, plans, jit, formats, budgets and errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.interpreters.sparsity import sparsity_rules
from tensorcalc.jacobians import pattern as pattern_mod
from tensorcalc.jacobians.pattern import detect_pattern
from tensorcalc.ops.shape import roll_p
from tensorcalc.transforms import _linearize_for, jacfwd, jacobian

sp = pytest.importorskip("scipy.sparse")

C = np.random.default_rng(5).standard_normal((7, 12)) * (np.random.default_rng(6).random((7, 12))
                                                         < 0.3)


def _dense(f, x):
    J = jacfwd(f)(x)
    return J.reshape(-1, x.size)


def _pattern(f, x):
    return detect_pattern(_linearize_for(f, (x,), 0, False, "t")[0]).pattern.toarray()


CASES = [
    (lambda x: x ** 2, (50,)),
    (lambda x: tnp.sin(x[1:] * x[:-1]) + x[1:], (30,)),
    (lambda x: tnp.sum(x, axis=1) * x[:, 0], (6, 4)),
    (lambda x: tnp.transpose(x) * 2.0 + x[::-1].T, (4, 4)),
    (lambda x: tnp.tanh(x)[::2] - x[1::2] ** 3, (20,)),
    (lambda x: tnp.pad(x, 2)[1:-3] * tnp.exp(x), (9,)),
    (lambda x: tnp.concatenate([x[:3] ** 2, tnp.sin(x), x[-2:]]), (8,)),
    (lambda x: tnp.roll(x, 2) * x + tnp.cumsum(x ** 2), (10,)),
    (lambda x: C @ tnp.sin(x), (12,)),
    (lambda x: tnp.sin(x) @ C.T, (12,)),
    (lambda x: x[np.array([3, 1, 1, 0])] * x[:4], (5,)),
    (lambda x: x.at[np.array([0, 2, 2])].add(x[:3] ** 2), (6,)),
    (lambda x: tnp.where(x > 0, x ** 2, tnp.cos(x)), (12,)),
    (lambda x: tnp.broadcast_to(x[:, None], (4, 3)) * tnp.arange(3.0), (4,)),
    (lambda x: tnp.max(x.reshape(3, 4), axis=0) + tnp.prod(x.reshape(3, 4), axis=1).sum(), (12,)),
    (lambda x: tnp.take_along_axis(x.reshape(2, 3), np.array([[2, 0], [1, 1]]), axis=1), (6,)),
    (lambda x: tnp.einsum("ij,jk->ik", C[:, :4], tnp.sin(x).reshape(4, 3)).ravel(), (12,)),
    (lambda x: tnp.einsum("bj,jk,bk->b", x.reshape(3, 4), C[:4, :5], C[:3, 5:10]), (12,)),
]


@pytest.mark.parametrize("f,shape", CASES)
def test_sparse_equals_dense_and_pattern_covers(f, shape, rng):
    x = rng.standard_normal(shape)
    dense = _dense(f, x)
    S = jacobian(f, sparse=True)(x)
    assert sp.issparse(S) and S.format == "csr"
    np.testing.assert_allclose(S.toarray(), dense, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jacobian(f, sparse="dense")(x), dense, rtol=1e-12, atol=1e-14)
    pat = _pattern(f, x)
    assert not np.any((dense != 0) & ~pat), "the detected pattern misses a nonzero"


def test_diagonal_pattern_needs_one_sweep(rng):
    x = rng.standard_normal(1000)
    plan = tc.sparse_jacobian_plan(lambda x: tnp.exp(x) * 3.0, x)
    S = plan(x)
    assert S.nnz == 1000 and plan.sweeps == 1
    np.testing.assert_allclose(S.diagonal(), 3 * np.exp(x))


def test_sparse_options_errors():
    with pytest.raises(ValueError, match="sparse="):
        jacobian(tnp.sin, sparse="coo")
    with pytest.raises(ValueError, match="format="):
        jacobian(tnp.sin, sparse=True, format="lil")
    with pytest.raises(ValueError, match="layout"):
        jacobian(tnp.sin, sparse=True, layout="denominator")


def test_structural_zeros_are_kept_and_formats(rng):
    c = np.array([1.0, 0.0, 2.0, 0.0])
    f = lambda x: x * c  # noqa: E731
    x = rng.standard_normal(4)
    S = jacobian(f, sparse=True)(x)
    assert S.nnz == 4  # the two 0.0 entries are structural: kept, as CasADi does
    np.testing.assert_array_equal(S.data, c)
    for fmt, kind in (("csc", "csc"), ("coo", "coo")):
        M = jacobian(f, sparse=True, format=fmt)(x)
        assert M.format == kind and M.nnz == 4
    assert isinstance(jacobian(f, sparse=True, format="dense")(x), np.ndarray)


def test_no_dense_fallback_for_large_sparse_problems(rng):
    n = 20_000  # above the old 4,096-unknown dense cliff
    x = rng.standard_normal(n)
    f = lambda x: tnp.pad(x, 1)[2:] * x + tnp.pad(x, 1)[:-2] - x ** 3  # noqa: E731
    plan = tc.sparse_jacobian_plan(f, x)
    S = plan(x)
    assert sp.issparse(S) and S.nnz == 3 * n - 2
    assert plan.sweeps == 3
    d = np.diag(S.toarray()[:50, :50])
    np.testing.assert_allclose(d, x[1:51] - 3 * x[:50] ** 2)  # ∂/∂x_i of x_{i+1} x_i - x_i³


def test_scipy_missing_is_a_clear_import_error(monkeypatch, rng):
    monkeypatch.setattr(pattern_mod, "sp", None)
    with pytest.raises(ImportError, match="pip install scipy"):
        jacobian(tnp.sin, sparse=True)(rng.standard_normal(3))
    with pytest.raises(ImportError, match="pip install scipy"):
        tc.hessian(lambda x: tnp.sum(x ** 3), sparse=True)(rng.standard_normal(3))


def test_memory_budget_raises(rng):
    x = rng.standard_normal(400)
    f = lambda x: tnp.sum(x) * x  # noqa: E731  dense: 160,000 nonzeros
    with pytest.raises(MemoryError, match="memory_budget"):
        jacobian(f, sparse=True, memory_budget=100_000)(x)
    assert jacobian(f, sparse=True)(x).nnz == 400 * 400


def test_primitive_without_rule_is_dense_for_its_block_only(monkeypatch, rng):
    monkeypatch.delitem(sparsity_rules, roll_p)
    x = rng.standard_normal(12)
    f = lambda x: tnp.sin(x) * 2.0 + tnp.roll(x[:4], 1).sum() * 0.0 + x[::-1]  # noqa: E731
    plan = tc.sparse_jacobian_plan(f, x)
    assert plan.dense_blocks == {"roll (no sparsity rule)": 1}
    assert "roll (no sparsity rule) x1" in str(plan)
    np.testing.assert_allclose(plan(x).toarray(), _dense(f, x), atol=1e-14)
    # only the four entries the roll reads become dense in its rows: 12 outputs x 4 inputs,
    # merged with the diagonal and anti-diagonal
    assert plan.nnz <= 12 * 4 + 2 * 12


def test_plan_reuse_and_print(rng):
    n = 12

    def residual(u):
        U = u.reshape(n, n)
        P = tnp.pad(U, 1)
        lap = P[:-2, 1:-1] + P[2:, 1:-1] + P[1:-1, :-2] + P[1:-1, 2:] - 4 * U
        return (lap - 0.1 * tnp.exp(U)).reshape(-1)

    x0 = rng.standard_normal(n * n)
    plan = tc.sparse_jacobian_plan(residual, x0)
    assert plan.nnz == 5 * n * n - 4 * n and plan.sweeps == 5
    for _ in range(3):  # the 2nd and later calls run compiled
        x = rng.standard_normal(n * n)
        np.testing.assert_allclose(plan(x).toarray(), _dense(residual, x), atol=1e-12)
    assert plan.replans == 0
    text = str(plan)
    for word in ("144 outputs x 144 inputs", f"{plan.nnz:,} structural nonzeros",
                 "column (JVPs)", "5 JVPs + 0 VJPs = 5 sweeps", "expected multiplications"):
        assert word in text
    assert repr(plan).startswith("<SparseJacobianPlan 144x144")


def test_plan_replans_when_the_program_changes(rng):
    def f(x):
        if x[0] > 0:  # Python control flow on a value: jit cannot trace it
            return x ** 2
        return tnp.roll(x, 1) * x

    x = np.abs(rng.standard_normal(6))
    plan = tc.sparse_jacobian_plan(f, x)
    for y in (-x, x, -x):
        np.testing.assert_allclose(plan(y).toarray(), _dense(f, y), atol=1e-14)
    assert plan.replans >= 1 and not plan.use_jit


def test_jit_of_sparse_jacobian_and_hessian(rng):
    f = lambda x: tnp.sin(x[1:]) * x[:-1] + tnp.pad(x, 1)[2:-1]  # noqa: E731
    x = rng.standard_normal(15)
    J = tc.jit(jacobian(f, sparse=True))(x)
    assert sp.issparse(J)
    np.testing.assert_allclose(J.toarray(), _dense(f, x), atol=1e-14)
    e = lambda x: tnp.sum(tnp.sin(x[1:] * x[:-1])) + tnp.sum(x ** 4)  # noqa: E731
    H = tc.jit(tc.hessian(e, sparse=True))(x)
    np.testing.assert_allclose(H.toarray(), tc.hessian(e)(x), atol=1e-12)


def test_several_arguments_and_outputs(rng):
    f = lambda a, b: (a * b[:3], tnp.sin(b) + b[0])  # noqa: E731
    a, b = rng.standard_normal(3), rng.standard_normal(5)
    S = jacobian(f, argnums=(0, 1), sparse=True)(a, b)
    ja = jacfwd(f, argnums=(0, 1))(a, b)
    dense = np.block([[ja[0][0], ja[0][1]], [ja[1][0], ja[1][1]]])
    np.testing.assert_allclose(S.toarray(), dense, atol=1e-14)


def test_arrowhead_needs_at_most_four_sweeps(rng):
    n = 300
    f = lambda x: tnp.concatenate([tnp.sum(x ** 2)[None], x[1:] * x[0]])  # noqa: E731
    x = rng.standard_normal(n)
    plan = tc.sparse_jacobian_plan(f, x)
    assert plan.sweeps <= 4 and plan.coloring.mode == "bidirectional"
    np.testing.assert_allclose(plan(x).toarray(), _dense(f, x), atol=1e-13)


def test_pattern_memory_grows_linearly():
    def make(n):
        return lambda u: tnp.pad(u, 1)[2:] + tnp.pad(u, 1)[:-2] - 2 * tnp.sin(u)

    peaks = []
    for n in (2_000, 8_000):
        lin = _linearize_for(make(n), (np.ones(n),), 0, False, "t")[0]
        peaks.append(detect_pattern(lin).peak_bytes)
    assert 3.0 < peaks[1] / peaks[0] < 5.0  # O(nnz): 4x the unknowns, about 4x the bytes


def test_stencil_jacobian_memory_stays_within_budget():
    import tracemalloc

    n = 317  # 100,489 unknowns

    def residual(u):
        U = u.reshape(n, n)
        P = tnp.pad(U, 1)
        lap = P[:-2, 1:-1] + P[2:, 1:-1] + P[1:-1, :-2] + P[1:-1, 2:] - 4 * U
        return (lap - tnp.exp(U)).reshape(-1)

    x = np.full(n * n, 0.1)
    tracemalloc.start()
    try:
        J = jacobian(residual, sparse=True)(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    csr_bytes = J.data.nbytes + J.indices.nbytes + J.indptr.nbytes
    assert J.nnz == 5 * n * n - 4 * n
    assert peak < 50 * csr_bytes  # the O(nnz) target: at most 50x the CSR arrays
    assert peak < 400 * 2**20  # and a fixed budget (a dense Jacobian would be 80 GB)


# --- property tests: random sparse programs -------------------------------------------------

# Derivatives that never underflow to 0.0 on the values these programs reach (tanh′ of a large
# value would: that is a numerical zero, not a structural one).
_UNARY = [tnp.sin, tnp.arctan, lambda v: tnp.log1p(v * v) + v, lambda v: v + 0.1 * tnp.sin(v)]
_N = 10


def _apply(op, v, rng_op):
    kind, arg = op
    if kind == "unary":
        return _UNARY[arg % len(_UNARY)](v)
    if kind == "shift":
        k = 1 + arg % 3
        # v shifted right by k; the offset keeps values off 0.0, where a product's structural
        # entry would vanish numerically (the pattern keeps it: that is not cancellation)
        return tnp.pad(v, k)[:_N] * 1.5 + 1.0
    if kind == "roll":
        return tnp.roll(v, arg % _N)
    if kind == "mix":  # v[i] * v[perm[i]]
        perm = np.random.default_rng(arg).permutation(_N)
        return v * v[perm]
    if kind == "matmul":
        r = np.random.default_rng(arg)
        c = (r.random((_N, _N)) < 0.15) * r.uniform(1.0, 2.0, (_N, _N))
        return c @ v + 1.0  # an empty row of c would be a value 0.0 (see "shift")
    if kind == "cumsum":
        return tnp.cumsum(v)
    return v.reshape(2, _N // 2).T.reshape(-1)  # "transpose"


_OPS = st.lists(st.tuples(st.sampled_from(["unary", "shift", "roll", "mix", "matmul",
                                           "cumsum", "transpose"]),
                          st.integers(0, 1000)), min_size=1, max_size=6)


@settings(max_examples=30, deadline=None)
@given(_OPS, st.integers(0, 2**31 - 1))
def test_property_random_programs(ops, seed):
    rng = np.random.default_rng(seed)

    def f(x):
        v = x
        for op in ops:
            v = _apply(op, v, rng)
        return v + tnp.sin(x) * 0.5

    x = rng.uniform(0.3, 0.9, _N)
    dense = _dense(f, x)
    pat = _pattern(f, x)
    true = dense != 0
    assert not np.any(true & ~pat)  # superset always
    # No subtraction, positive coefficients and a generic point: no cancellation, so equal.
    np.testing.assert_array_equal(pat, true)
    np.testing.assert_allclose(jacobian(f, sparse=True)(x).toarray(), dense, rtol=1e-10,
                               atol=1e-12)


def test_plain_python_colouring_loops_end_to_end(monkeypatch, rng):
    from tensorcalc.accumulate import _kernels

    monkeypatch.setenv("TENSORCALC_COLORING", "python")  # as if numba were not installed
    assert _kernels.backend() == "python"
    n = 100  # 10⁴ columns: more work than SMALL_WORK, so numba would be used otherwise

    def residual(u):
        U = u.reshape(n, n)
        P = tnp.pad(U, 1)
        return (P[:-2, 1:-1] + P[2:, 1:-1] + P[1:-1, :-2] + P[1:-1, 2:] - U ** 3).reshape(-1)

    x = rng.standard_normal(n * n)
    plan = tc.sparse_jacobian_plan(residual, x)
    assert plan.sweeps == 5
    J = plan(x)
    np.testing.assert_allclose(J.diagonal(), -3 * x ** 2)
    assert J.nnz == 5 * n * n - 4 * n


def test_pydata_format_needs_its_package(rng):
    try:
        import sparse  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install sparse"):
            jacobian(tnp.sin, sparse=True, format="pydata")(rng.standard_normal(3))
    else:  # pragma: no cover - only where the optional package is installed
        assert jacobian(tnp.sin, sparse=True, format="pydata")(rng.standard_normal(3)).nnz == 3


def test_colours_are_swept_in_chunks_under_a_tight_budget(rng):
    f = lambda x: tnp.ravel(tnp.outer(x, tnp.sin(x)))  # noqa: E731  60 colours
    x = rng.standard_normal(60)
    plan = tc.sparse_jacobian_plan(f, x, memory_budget=250_000)
    plan.use_jit = False  # the eager path is the one that chunks
    assert plan.sweeps == 60
    np.testing.assert_allclose(plan(x).toarray(), _dense(f, x), atol=1e-14)


def test_one_sided_bidirectional_colouring_reads_its_own_side(rng):
    # Found by the property above: c @ x (+ sin x) with this c has a dense column, so the
    # direct split takes that column by rows and leaves the column seeds empty; the single
    # batch must then be the row side's, not the (empty) column side's.
    def f(x):
        return _apply(("matmul", 163), x, rng) + tnp.sin(x) * 0.5

    x = rng.uniform(0.3, 0.9, _N)
    plan = tc.sparse_jacobian_plan(f, x)
    np.testing.assert_allclose(plan(x).toarray(), _dense(f, x), rtol=1e-10, atol=1e-12)
