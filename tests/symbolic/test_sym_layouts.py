"""Layouts, higher orders, vec/Kronecker forms, structured variables and refusals."""

import numpy as np
import pytest

import tensorcalc.symbolic as ts


def test_layouts_for_a_jacobian():
    num = ts.derivative("A * x", "x")
    den = ts.derivative("A * x", "x", layout="denominator")
    assert (str(num), num.shape, num.layout) == ("A", ("n", "m"), "numerator")
    assert (str(den), den.shape, den.layout) == ("A'", ("m", "n"), "denominator")
    rng = np.random.default_rng(1)
    A, x = rng.standard_normal((3, 2)), rng.standard_normal(2)
    np.testing.assert_allclose(num.evaluate(A=A, x=x), A)
    np.testing.assert_allclose(den.evaluate(A=A, x=x), A.T)
    for d in (num, den):
        d.check(method="central-difference")


def test_gradient_layout_needs_a_scalar():
    g = ts.derivative("tr(A*X)", "X", layout="gradient")
    assert str(g) == "A'" and g.shape == ("m", "n")
    with pytest.raises(ValueError, match="scalar function"):
        ts.derivative("A * x", "x", layout="gradient")
    with pytest.raises(ValueError, match="layout must be"):
        ts.derivative("A * x", "x", layout="sideways")


def test_scalar_function_layouts_agree():
    shapes = set()
    for layout in ("numerator", "denominator", "gradient"):
        d = ts.derivative("a' * X * b", "X", layout=layout, shapes={"a": "vector", "b": "vector"})
        shapes.add((str(d), d.shape))
    assert shapes == {("a * b'", ("n", "m"))}


def test_derivative_with_respect_to_a_scalar():
    d = ts.derivative("exp(a) * X", "a")
    assert str(d) == "exp(a) * X" and d.shape == ("n", "m")
    d.check(method="central-difference")
    assert str(ts.derivative("a^3 + sin(a)", "a")) == "3 * a ^ 2 + cos(a)"


@pytest.mark.parametrize("text, wrt, expected, shape", [
    ("A*X*B", "X", "kron(B', A)", ("n", "p", "m", "k")),
    ("X'", "X", "commutation(n, m)", ("m", "n", "n", "m")),
    ("inv(X)", "X", "-kron(inv(X)', inv(X))", ("n", "n", "n", "n")),
    ("x * x'", "x", "kron(eye, x) + kron(x, eye)", ("n", "n", "n")),
    ("exp(X)", "X", "diag(vec(exp(X)))", ("n", "m", "n", "m")),
    ("A * X * b", "X", "kron(b', A)", ("n", "m", "k")),
])
def test_vec_form_for_tensor_results(text, wrt, expected, shape):
    d = ts.derivative(text, wrt, shapes={"b": "vector"})
    assert d.form == "vec"
    assert str(d) == expected and d.shape == shape
    d.check(method="central-difference")
    d2 = ts.derivative(text, wrt, layout="denominator", shapes={"b": "vector"})
    assert d2.shape == shape[len(shape) - len(d.wrt.shape):] + shape[: len(shape) - len(
        d.wrt.shape)]
    d2.check(method="central-difference")


def test_hessians():
    assert str(ts.hessian("x'*A*x", "x")) == "A + A'"
    h = ts.hessian("tr(X'*X)", "X")
    assert str(h) == "2 * eye(m·n)" and h.shape == ("n", "m", "n", "m") and h.form == "vec"
    h.check(method="central-difference")
    h = ts.hessian("logdet(X)", "X")
    assert str(h) == "d^2 f/dX[i,j]dX[k,l] = -inv(X)[j,k] * inv(X)[l,i]"
    assert str(h.expr) == "-kron(inv(X), inv(X)') * commutation(n, n)"
    h.check(method="central-difference")
    h = ts.hessian("norm2(x)", "x")
    assert str(h) == "eye / norm2(x) - x * x' / norm2(x) ^ 3"
    with pytest.raises(ValueError, match="scalar function"):
        ts.hessian("A*x", "x")


def test_third_order_never_refuses_to_display():
    d3 = ts.derivative(ts.hessian("sum(exp(x))", "x"), "x")
    assert d3.order == 3 and d3.shape == ("n", "n", "n")
    assert str(d3) and d3.latex() and d3.mathml()
    d3.check(method="central-difference")
    T = d3.evaluate(x=np.array([0.1, 0.2, 0.3]))
    expected = np.zeros((3, 3, 3))
    for i, v in enumerate(np.exp([0.1, 0.2, 0.3])):
        expected[i, i, i] = v
    np.testing.assert_allclose(T, expected)


def test_fourth_order_of_a_quartic():
    d4 = ts.derivative(ts.derivative(ts.hessian("(x'*x)^2", "x"), "x"), "x")
    assert d4.order == 4
    d4.check(method="central-difference", trials=1)


def test_unknown_variable_and_zero_derivatives():
    with pytest.raises(ValueError, match="does not contain the variable 'q'"):
        ts.derivative("x'*x", "q")
    z = ts.derivative("sum(sign(x))", "x")  # sign' = 0 almost everywhere: an exact zero
    assert str(z) == "zeros(n)" and z.shape == ("n",)
    np.testing.assert_array_equal(z.evaluate(x=np.ones(3)), np.zeros(3))


def test_adjugate():
    ts.derivative("tr(adj(X))", "X").check(method="central-difference")
    ts.derivative("adj(X)", "X").check(method="central-difference", trials=1)


def test_unsupported_constructs_raise_and_name_the_construct():
    # X^k with a symbolic k has a closed-form gradient only inside a trace or a determinant
    with pytest.raises(ts.UnsupportedExpression, match="symbolic exponent"):
        ts.derivative("tr(A * X^k)", "X")
    # kron's gradient and vec-form Jacobian are supported
    from tensorcalc.symbolic.expr import Kron, Sum, Var

    X = Var("X", ("n", "n"))
    ts.derivative(Sum(Kron(X, X)), "X").check(method="central-difference", trials=1)
    ts.derivative(Kron(X, X), "X").check(method="central-difference", trials=1)


def test_derivative_accepts_strings_expressions_and_results():
    e = ts.parse("x'*A*x")
    a = ts.derivative("x'*A*x", "x")
    b = ts.derivative(e, "x")
    c = ts.derivative(a, "x")
    assert str(a) == str(b) and str(c) == "A + A'" and c.parent is a


@pytest.mark.parametrize("text, wrt, index", [
    ("A*X*B", "X", "dF[i,j]/dX[k,l] = A[i,k] * B[l,j]"),
    ("X'", "X", "dF[i,j]/dX[k,l] = δ[j,k] * δ[i,l]"),
    ("inv(X)", "X", "dF[i,j]/dX[k,l] = -inv(X)[i,k] * inv(X)[l,j]"),
    ("x * x'", "x", "dF[i,j]/dx[k] = δ[i,k] * x[j] + δ[j,k] * x[i]"),
    ("A*X*b", "X", "dy[i]/dX[j,k] = A[i,j] * b[k]"),
])
def test_index_notation_of_vec_results(text, wrt, index):
    d = ts.derivative(text, wrt, shapes={"b": "vector"})
    assert d.index_notation() == index


def test_index_form_replaces_nonstandard_vec_symbols():
    d = ts.derivative("diag(x) * A", "x")
    assert d.form == "index"
    assert str(d) == "dF[i,j]/dx[k] = δ[i,k] * A[i,j]"
    assert d.latex() == r"\frac{\partial F_{ij}}{\partial x_{k}} = \delta_{ik} A_{ij}"
    assert d.mathml().startswith('<math display="block">')
    assert "index notation" in d.steps()
    d.check(method="central-difference")


def test_hessian_of_a_linear_function_is_an_exact_zero():
    h = ts.hessian("a'*x", "x", shapes={"a": "vector"})
    assert str(h) == "zeros(n, n)" and h.shape == ("n", "n")
    np.testing.assert_array_equal(h.evaluate(a=np.ones(2), x=np.zeros(2)), np.zeros((2, 2)))
    h = ts.hessian("2*tr(X)", "X")
    assert str(h) == "zeros(n, n, n, n)" and h.shape == ("n", "n", "n", "n")
    h.check(method="central-difference")
