"""Generated NumPy code: solve instead of inv, shape asserts, CSE, compile/evaluate, check()."""

import warnings

import numpy as np
import pytest

import tensorcalc.symbolic as ts


def test_inverse_times_vector_becomes_solve():
    d = ts.derivative("a' * inv(X) * b", "b", shapes={"a": "vector", "b": "vector"})
    src = d.numpy_source()
    assert "np.linalg.solve" in src and "np.linalg.inv" not in src
    d.check(method="central-difference")
    src = ts.derivative("x' * inv(A) * x", "x").numpy_source(with_value=False)
    assert "np.linalg.solve" in src and "np.linalg.inv" not in src


def test_source_is_standalone_and_asserts_shapes():
    d = ts.derivative("x' * A * x", "x")
    src = d.numpy_source()
    assert src.startswith("import numpy as np")
    assert "def f_and_df(x, A):" in src
    assert "assert A.shape == (_n, _n)" in src
    ns: dict = {}
    exec(compile(src, "<test>", "exec"), ns)  # the generated code runs on its own
    f = ns["f_and_df"]
    A, x = np.arange(9.0).reshape(3, 3), np.array([1.0, 2.0, 3.0])
    value, grad = f(x, A)
    assert value == pytest.approx(x @ A @ x)
    np.testing.assert_allclose(grad, (A + A.T) @ x)
    with pytest.raises(AssertionError, match="A: expected shape"):
        f(x, np.ones((3, 4)))
    with pytest.raises(AssertionError, match="must have 2 axes"):
        f(x, np.ones(3))


def test_common_subexpressions_are_hoisted():
    d = ts.derivative("sum(log(exp(-y .* (X*w)) + vector(1)))", "w")
    src = d.numpy_source()
    body = src.split('"""')[-1]
    assert "_t0 = " in body
    assert body.count("X @ w") == 1  # computed once, shared by value and gradient


def test_compile_and_evaluate():
    d = ts.derivative("logdet(X)", "X")
    f = d.compile()
    X = np.eye(3) * 2 + 0.1
    value, grad = f(X)
    assert value == pytest.approx(np.linalg.slogdet(X)[1])
    np.testing.assert_allclose(grad, np.linalg.inv(X).T)
    np.testing.assert_allclose(d.evaluate(X=X), np.linalg.inv(X).T)
    with pytest.raises(TypeError, match="needs values for X"):
        d.evaluate(Y=X)


def test_closed_form_hessian_does_not_read_x():
    h = ts.hessian("x' * A * x", "x")
    src = h.numpy_source(with_value=False)
    assert "def df(A):" in src
    A = np.random.default_rng(0).standard_normal((4, 4))
    np.testing.assert_allclose(h.evaluate(A=A, x=np.zeros(4)), A + A.T)


def test_vec_form_is_reshaped_to_the_layout():
    d = ts.derivative("A * X * B", "X")
    rng = np.random.default_rng(0)
    A, X, B = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 5))
    T = d.evaluate(A=A, X=X, B=B)
    assert T.shape == (2, 5, 3, 4)
    np.testing.assert_allclose(T, np.einsum("ik,lj->ijkl", A, B))
    Td = ts.derivative("A * X * B", "X", layout="denominator").evaluate(A=A, X=X, B=B)
    np.testing.assert_allclose(Td, np.transpose(T, (2, 3, 0, 1)))


def test_python_keywords_and_np_as_variable_names():
    d = ts.derivative("lambda' * np", "np", shapes={"np": "vector"})
    src = d.numpy_source()
    assert "def f_and_df(lambda_, np_):" in src
    d.check(method="central-difference")


def test_softmax_helper_is_stable():
    d = ts.derivative("logsumexp(x)", "x")
    value, g = d.compile()(np.array([1000.0, 1000.0]))
    assert value == pytest.approx(1000 + np.log(2))
    np.testing.assert_allclose(g, [0.5, 0.5])


def test_check_report_and_mismatch():
    d = ts.derivative("x' * A * x", "x")
    r = d.check(trials=2, method="central-difference")
    assert r.passed and r.ok and r.method == "central-difference" and r.trials == 2
    assert r.max_error == r.max_abs_error < 1e-6
    assert "OK" in str(r)
    wrong = ts.derivative("x' * A * x", "x")
    wrong.expr = ts.parse("A * x", shapes={"A": ("n", "n"), "x": ("n",)})  # drop the A' x
    wrong._compiled.clear()
    with pytest.raises(ts.DerivativeMismatch) as info:
        wrong.check(method="central-difference")
    assert not info.value.report.passed


def test_check_falls_back_when_the_engine_cannot_help(monkeypatch):
    import tensorcalc.symbolic.numeric as numeric

    def broken(*args, **kwargs):
        raise NotImplementedError("no rule for slogdet")

    monkeypatch.setattr(numeric, "_engine_reference", broken)
    r = ts.derivative("logdet(X)", "X").check()
    assert r.method == "central-difference"
    assert "slogdet" in r.note


def test_check_against_the_numeric_engine():
    tc = pytest.importorskip("tensorcalc")
    if not hasattr(tc, "jacobian"):
        pytest.importorskip("tensorcalc.transforms")
    for f, x in [("x' * A * x", "x"), ("logdet(X)", "X"), ("A*X*B", "X"),
                 ("sum(log(exp(-y .* (X*w)) + vector(1)))", "w"), ("softmax(x)", "x")]:
        r = ts.derivative(f, x).check(method="engine")
        assert r.method == "engine" and r.passed and r.max_rel_error < 1e-10
    r = ts.hessian("sum(log(exp(-y .* (X*w)) + vector(1)))", "w").check(method="engine")
    assert r.method == "engine" and r.passed


@pytest.mark.parametrize("expr, wrt", [
    ("np' * np_", "np"), ("np' * np_", "np_"),
    ("lambda' * lambda_", "lambda"), ("lambda' * lambda_", "lambda_"),
    ("float' * int + np' * x", "x"),
])
def test_colliding_variable_names_get_distinct_parameters(expr, wrt):
    # np/np_ and lambda/lambda_ used to become one parameter, and evaluate() then passed one
    # variable's value for both.
    names = sorted({n.strip("' ") for n in expr.replace("*", "+").split("+")})
    d = ts.derivative(expr, wrt, shapes={n: "vector" for n in names})
    rng = np.random.default_rng(0)
    values = {n: rng.standard_normal(3) for n in names}
    others = [n for n in names if n != wrt]
    want = sum(values[n] for n in others) if expr.count("*") == 1 else values["np"]
    np.testing.assert_allclose(d.evaluate(**values), want)
    d.check(method="central-difference")


def _cofactor_adjugate(x):
    n = x.shape[0]
    out = np.empty_like(x)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(x, j, 0), i, 1)
            out[i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return out


@pytest.mark.parametrize("with_value", [False, True])
def test_adjugate_derivative_refuses_a_numerically_singular_matrix(with_value):
    # det(X)·inv(X) formulas were 11-40 % off at singular X: a finite wrong tensor.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2)) @ rng.standard_normal((2, 3))    # rank 2, cond ~ 1e16
    d = ts.derivative("sum(adj(X))", "X")
    with pytest.raises(np.linalg.LinAlgError, match=r"adj\(X\): the matrix is numerically "
                                                    r"singular \(condition number"):
        d.compile(with_value=with_value)(x)
    # A regular matrix still gives the derivative (against central differences of cofactors).
    x = rng.standard_normal((3, 3))
    h, fd = 1e-6, np.empty((3, 3))
    for i in range(3):
        for j in range(3):
            e = np.zeros((3, 3))
            e[i, j] = h
            fd[i, j] = (_cofactor_adjugate(x + e).sum() - _cofactor_adjugate(x - e).sum()) / (2 * h)
    np.testing.assert_allclose(d.evaluate(X=x), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("expr", ["tr(exp(X))", "sum(diag(exp(X)))", "diag(exp(X))",
                                  "3 * diag(exp(X))", "sum(diag(exp(X) .* X))"])
def test_diag_of_elementwise_is_differentiated_on_the_diagonal_only(expr):
    # eye .* exp(X) used to compute exp on every entry: an off-diagonal overflow gave
    # 0 · inf = NaN where the derivative is 0.
    x = np.array([[0.2, 1000.0], [-3.0, 0.5]])
    d = ts.derivative(expr, "X")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = d.evaluate(X=x)
    safe = np.array([[0.2, 1.0], [-3.0, 0.5]])    # same diagonal, harmless off-diagonal
    np.testing.assert_allclose(got, d.evaluate(X=safe), rtol=1e-14)
    assert np.isfinite(got).all()
    d.check(method="central-difference")
