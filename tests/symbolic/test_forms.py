"""Printed forms of issue 18: index notation at any order (numerically equal to the vec form),
determinants through the adjugate, vec/Kronecker identities, recognised closed forms, exact
rationals, zero and identity tensors, the mixed layout and structured Hessians.

References are central differences of hand-written NumPy functions; printed matrix forms are
parsed back and evaluated.
"""

import string

import numpy as np
import pytest

import tensorcalc.symbolic as ts
from tensorcalc.symbolic.adjugate import through_adjugate
from tensorcalc.symbolic.numeric import bind_dims, evaluate_expr
from tensorcalc.symbolic.printing.index import chain_terms


def central(fn, x, h=1e-6):
    """Numerator-layout Jacobian of the plain NumPy function fn at x."""
    x = np.asarray(x, dtype=float)
    f0 = np.asarray(fn(x))
    J = np.zeros(f0.shape + x.shape)
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        J[(...,) + idx] = (np.asarray(fn(x + e)) - np.asarray(fn(x - e))) / (2 * h)
    return J


def cofactor_adjugate(a):
    n = a.shape[0]
    out = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, j, 0), i, 1)
            out[i, j] = (-1) ** (i + j) * np.linalg.det(minor)
    return out


def index_tensor(d, env):
    """Evaluate the index notation of ``d`` with einsum (numerator layout)."""
    terms, out_idx, wrt = chain_terms(d)
    free = list(out_idx) + [a for _, ix in wrt for a in ix]
    T = np.asarray(d.evaluate(**env))
    if d.layout == "denominator":
        raise ValueError("numerator layouts only")
    sizes = dict(zip(free, T.shape, strict=True))
    letters = iter(string.ascii_letters)
    letter: dict = {}

    def lab(ix):
        return "".join(letter.setdefault(a, next(letters)) for a in ix)

    total = np.zeros(T.shape)
    dims = {}
    for t in terms:
        ops, specs = [], []
        for f, ix in t.factors:
            v = np.asarray(evaluate_expr(f, env, dims), dtype=float)
            ops.append(v)
            specs.append(lab(ix))
            for a, n in zip(ix, v.shape, strict=True):
                sizes.setdefault(a, n)
        for a, b in t.deltas:
            ops.append(np.eye(sizes[a] if a in sizes else sizes[b]))
            specs.append(lab((a, b)))
        spec = ",".join(specs) + "->" + lab(free)
        total = total + (np.einsum(spec, *ops) if ops else np.ones(T.shape))
    return total, T


# --------------------------------------------------------------------- index notation (2, 7)

@pytest.mark.parametrize("text, wrts, shapes", [
    ("tanh(W*x)", ("W", "x"), {"W": (3, 2), "x": 2}),
    ("tanh(A*x)", ("x", "x", "x"), {"A": (3, 2), "x": 2}),
    ("inv(X)", ("X", "X"), {"X": (2, 2)}),
    ("x*x'", ("x", "x"), {"x": 3}),
    ("logdet(X)", ("X", "X", "X"), {"X": (2, 2)}),
    ("exp(x'*A*x)", ("A", "x"), {"A": (2, 2), "x": 2}),
    ("x'*S*x*x'*S*x", ("S", "S"), {"S": (2, 2, "symmetric"), "x": 2}),
    ("tr(A*D*D)", ("D", "D"), {"D": (3, 3, "diagonal"), "A": (3, 3)}),
])
def test_index_notation_equals_the_vec_form(text, wrts, shapes):
    d = text
    for w in wrts:
        d = ts.derivative(d, w, shapes=shapes)
    printed = d.index_notation()
    assert "kron" not in printed and "diag_embed" not in printed and "commutation" not in printed
    rng = np.random.default_rng(3)
    env = {}
    for v in sorted(ts.parse(text, shapes).free_vars, key=lambda v: v.name):
        a = rng.uniform(-1, 1, v.shape)
        if len(v.shape) == 2 and v.shape[0] == v.shape[1]:
            a = a + 3 * np.eye(v.shape[0])
            a = (a + a.T) / 2 if v.structure == "symmetric" else a
            a = np.diag(np.diag(a)) if v.structure == "diagonal" else a
        env[v.name] = a
    got, want = index_tensor(d, env)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_jacobian_of_a_jacobian_prints_in_index_notation():
    d = ts.derivative(ts.derivative("tanh(W*x)", "W"), "x")
    assert d.form == "index" and d.shape == ("n", "n", "m", "m")
    assert str(d) == ("d^2 y[i]/dW[j,k]dx[l] = δ[i,j] * δ[k,l] * (vector(1) - tanh(W * x) .^ 2)[i]"
                      " - 2 * δ[i,j] * x[k] * W[i,l] * (tanh(W * x) .* (vector(1) - tanh(W * x)"
                      " .^ 2))[i]")
    assert d.latex().startswith(r"\frac{\partial^{2} y_{i}}{\partial W_{jk}\,\partial x_{l}} = ")
    d.check(method="central-difference")


def test_higher_orders_read_in_index_notation():
    d3 = ts.derivative(ts.hessian("sum(exp(x))", "x"), "x")
    assert str(d3) == "d^3 f/dx[i]dx[j]dx[k] = δ[i,j] * δ[i,k] * exp(x)[i]"
    d4 = ts.derivative(ts.derivative(d3.parent, "x"), "x")
    assert str(d4) == "d^3 f/dx[i]dx[j]dx[k] = δ[i,j] * δ[i,k] * exp(x)[i]".replace(
        "d^3", "d^4").replace("dx[k] =", "dx[k]dx[l] =").replace("δ[i,k]", "δ[i,k] * δ[i,l]")
    h = ts.derivative(ts.derivative(ts.derivative("tanh(A*x)", "x"), "x"), "x")
    assert h.form == "index" and "A[i,j] * A[i,k] * A[i,l]" in str(h)


def test_zero_and_identity_tensors_print_with_their_shape():
    z = ts.derivative(ts.hessian("x'*A*x", "x"), "x")
    assert str(z) == "zeros(n, n, n)" and z.latex() == r"\mathbf{0}_{n \times n \times n}"
    assert str(ts.derivative("X", "X")) == "eye(m·n)"
    assert str(ts.hessian("tr(X'*X)", "X")) == "2 * eye(m·n)"


# ------------------------------------------------------------------- determinants (item 3)

def test_determinant_gradient_evaluates_at_singular_matrices():
    d = ts.derivative("det(X)", "X")
    assert str(d) == "det(X) * inv(X)'"  # Cookbook (49) as printed ...
    rng = np.random.default_rng(0)
    for rank in (1, 2, 3):
        X = rng.standard_normal((3, rank)) @ rng.standard_normal((rank, 3))
        ref = central(np.linalg.det, X)  # ... evaluated through adj(X)'
        np.testing.assert_allclose(d.evaluate(X=X), ref, atol=1e-8)
    for wrt in ("x", "y"):
        d = ts.derivative("det(x*y')", wrt)
        x, y = rng.standard_normal(3), rng.standard_normal(3)
        got = d.evaluate(x=x, y=y)
        assert np.all(np.isfinite(got))
        fn = (lambda v, y=y: np.linalg.det(np.outer(v, y))) if wrt == "x" else (
            lambda v, x=x: np.linalg.det(np.outer(x, v)))
        np.testing.assert_allclose(got, central(fn, x if wrt == "x" else y), atol=1e-8)


def test_determinant_of_a_product_goes_through_the_adjugate_too():
    d = ts.derivative("det(A*X*B)", "X", shapes={"A": ("n", "n"), "B": ("n", "n")})
    assert str(d) == "det(A * X * B) * inv(X)'"
    assert str(d.numeric_expr) == "det(A) * det(B) * adj(X)'"
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    X = np.outer(rng.standard_normal(3), rng.standard_normal(3))  # rank one
    np.testing.assert_allclose(d.evaluate(A=A, X=X, B=B),
                               central(lambda v: np.linalg.det(A @ v @ B), X), atol=1e-8)


@pytest.mark.parametrize("n", [2, 3])
def test_adjugate_is_differentiated_without_the_inverse(n):
    d = ts.derivative("adj(X)", "X", shapes={"X": (n, n)})
    assert "inv" not in str(d.expr)
    rng = np.random.default_rng(n)
    X = np.outer(rng.standard_normal(n), rng.standard_normal(n))  # singular
    np.testing.assert_allclose(d.evaluate(X=X), central(cofactor_adjugate, X), atol=1e-7)
    g = ts.derivative("tr(adj(X))", "X", shapes={"X": (n, n)})
    assert str(g) == ("eye" if n == 2 else "tr(X) * eye - X'")
    np.testing.assert_allclose(g.evaluate(X=X),
                               central(lambda v: np.trace(cofactor_adjugate(v)), X), atol=1e-7)
    value, _ = d.compile(with_value=True)(X)  # adj's value: through the SVD, no inverse
    np.testing.assert_allclose(value, cofactor_adjugate(X), atol=1e-12)


@pytest.mark.parametrize("n", [2, 3])
def test_hessian_of_det_evaluates_at_singular_matrices(n):
    h = ts.hessian("det(X)", "X", shapes={"X": (n, n)})
    rng = np.random.default_rng(12)
    X = np.outer(rng.standard_normal(n), rng.standard_normal(n))  # rank one
    H = h.evaluate(X=X)
    ref = central(lambda v: central(np.linalg.det, v, 1e-5), X, 1e-5)
    np.testing.assert_allclose(H, ref, atol=1e-6)


# ---------------------------------------------------- clean Hessians, parse back (item 4)

@pytest.mark.parametrize("text, printed, fn, hess", [
    ("log(x'*A*x)", "(A + A') * (eye / (x' * A * x) - x * x' * (A + A') / (x' * A * x) ^ 2)",
     lambda x, A: np.log(x @ A @ x), None),
    ("(x'*A*x)^2", "2 * (A + A') * ((x' * A * x) * eye + x * x' * (A + A'))",
     lambda x, A: (x @ A @ x) ** 2, None),
    ("exp(x'*A*x)", "exp(x' * A * x) * (A + A') * (x * x' * (A + A') + eye)",
     lambda x, A: np.exp(x @ A @ x), None),
])
def test_hessians_of_quadratic_forms_print_in_matrix_form(text, printed, fn, hess):
    h = ts.hessian(text, "x")
    assert h.form == "matrix" and str(h) == printed
    rng = np.random.default_rng(2)
    A = rng.uniform(-0.3, 0.3, (3, 3)) + np.eye(3)
    x = rng.uniform(0.2, 0.6, 3)
    ref = central(lambda v: central(lambda u: fn(u, A), v, 1e-5), x, 1e-5)
    got = h.evaluate(x=x, A=A)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)
    back = ts.parse(printed)  # round trip: the text parses to an equal expression
    np.testing.assert_allclose(evaluate_expr(back, {"x": x, "A": A}, {"n": 3}), got, rtol=1e-12)


def test_vec_kronecker_identities():
    from tensorcalc.symbolic.expr import Identity, Kron, Var, Vec, mul, transpose

    s = ts.simplify
    x, M, B = Var("x", ("n",)), Var("M", ("k", "n")), Var("B", ("k", "k"))
    assert str(s(mul(Kron(transpose(x), Identity("k")), Vec(M)))) == "M * x"
    assert str(s(mul(transpose(Vec(M)), Kron(x, Identity("k"))))) == "x' * M'"
    assert str(s(mul(transpose(Vec(Identity("k"))), Kron(Identity("k"), B)))) == "vec(B')'"
    assert str(s(Kron(x, x))) == "vec(x * x')"


# ------------------------------------------------------------- closed forms (item 5)

LOGISTIC = ("-(y'*log(vector(1) ./ (vector(1) + exp(-X*w))) + (vector(1)-y)'*log(vector(1) - "
            "vector(1) ./ (vector(1) + exp(-X*w))))")


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_written_out_logistic_loss():
    d = ts.derivative(LOGISTIC, "w")
    assert str(d) == "X' * (sigmoid(X * w) - y)"
    rng = np.random.default_rng(4)
    X, y, w = rng.standard_normal((6, 3)), rng.uniform(0, 1, 6), rng.standard_normal(3)

    def loss(v):
        p = _sigmoid(X @ v)
        return -(y @ np.log(p) + (1 - y) @ np.log(1 - p))

    np.testing.assert_allclose(d.evaluate(X=X, y=y, w=w), central(loss, w), rtol=1e-6)


def test_softplus_form_of_the_logistic_loss():
    # log(1 + exp(-Xw)) plus the label term: 1 - sigmoid(-Xw) = sigmoid(Xw) in the gradient
    d = ts.derivative("sum(log(vector(1) + exp(-X*w))) - (vector(1)-y)'*(-X*w)", "w")
    assert str(d) == "X' * (sigmoid(X * w) - y)"
    d.check(method="central-difference")


def test_written_out_cross_entropy():
    d = ts.derivative("-y'*log(exp(W*x) / sum(exp(W*x)))", "W")
    assert str(d) == "(sum(y) * softmax(W * x) - y) * x'"
    rng = np.random.default_rng(5)
    W, x, y = rng.standard_normal((4, 3)), rng.standard_normal(3), rng.uniform(0, 1, 4)

    def loss(V):
        z = V @ x
        return -y @ np.log(np.exp(z) / np.sum(np.exp(z)))

    np.testing.assert_allclose(d.evaluate(W=W, x=x, y=y), central(loss, W), rtol=1e-6)
    assert str(ts.derivative("log(sum(exp(x)))", "x")) == "softmax(x)"
    assert str(ts.derivative("1/(1+exp(-a))", "a")) == "(1 - sigmoid(a)) * sigmoid(a)"


# ----------------------------------------------------------------- exact numbers (item 6)

@pytest.mark.parametrize("text, printed", [
    ("1/6", "1/6"), ("A/6", "A / 6"), ("2/18", "1/9"), ("0.5*A", "A / 2"), ("A/2", "A / 2"),
    ("x/3 + y/3", "(x + y) / 3"), ("a*x + a*y", "a * (x + y)"),
    ("2*A*x + 2*B*x", "2 * (A + B) * x"), ("2*x + 4*y", "2 * x + 4 * y"),
])
def test_exact_rationals_and_common_factors(text, printed):
    e = ts.simplify(text)
    assert str(e) == printed
    rng = np.random.default_rng(6)
    env = {v.name: rng.standard_normal(tuple(3 for _ in v.shape))
           for v in sorted(e.free_vars, key=lambda v: v.name)}
    orig = ts.parse(text)
    back = ts.parse(printed)
    np.testing.assert_allclose(evaluate_expr(back, env, {"n": 3}),
                               evaluate_expr(orig, env, {"n": 3}), rtol=1e-14)


def test_exact_coefficients_in_derivatives():
    assert str(ts.derivative("x'*x/6", "x")) == "x / 3"
    assert str(ts.derivative("x'*A*x/3", "x")) == "(A + A') * x / 3"


# --------------------------------------------------------------------- mixed layout (9)

def test_mixed_layout_matches_matrixcalculus_org():
    # the three examples of matrixcalculus.org's documentation ("contraction along the last axes")
    for text, wrt, want in [("v'*x", "x", "v"), ("A*x", "x", "A"), ("tr(A*X)", "X", "A'")]:
        d = ts.derivative(text, wrt, layout="mixed")
        assert (str(d), d.layout) == (want, "mixed")
    d = ts.derivative("A*X*B", "X", layout="mixed")
    assert d.shape == ("n", "p", "m", "k")
    d.check(method="central-difference")


# -------------------------------------------------------------- structured Hessians (10)

def _sym_fd(fn, S, h=1e-4):
    """∂²f/∂s_ij ∂s_kl over the independent entries s_ij = S_ij = S_ji (Cookbook)."""
    n = S.shape[0]

    def unit(i, j):
        E = np.zeros((n, n))
        E[i, j] = E[j, i] = 1.0
        return E

    H = np.zeros((n, n, n, n))
    for i, j, k, m in np.ndindex(n, n, n, n):
        A, B = unit(i, j) * h, unit(k, m) * h
        H[i, j, k, m] = (fn(S + A + B) - fn(S + A - B) - fn(S - A + B) + fn(S - A - B)) / (
            4 * h * h)
    return H


@pytest.mark.parametrize("text, fn", [
    ("x'*S*x*x'*S*x", lambda S, x: (x @ S @ x) ** 2),
    ("logdet(S)", lambda S, x: np.linalg.slogdet(S)[1]),
    ("tr(S*S*S)", lambda S, x: np.trace(S @ S @ S)),
])
def test_structured_hessians_both_conventions(text, fn):
    rng = np.random.default_rng(8)
    S = rng.uniform(-0.3, 0.3, (3, 3))
    S = (S + S.T) / 2 + 2 * np.eye(3)
    x = rng.standard_normal(3)
    env = {"S": S, "x": x} if "x" in text else {"S": S}
    cook = ts.hessian(text, "S", shapes={"S": "symmetric"}, symmetric_convention="cookbook")
    H = _sym_fd(lambda M: fn(M, x), S)
    np.testing.assert_allclose(cook.evaluate(**env), H, rtol=1e-5, atol=1e-5)
    fro = ts.hessian(text, "S", shapes={"S": "symmetric"})
    Hf = fro.evaluate(**env)
    # Frobenius: the bilinear form on symmetric directions, symmetric in (i,j) and in (k,l)
    U, V = rng.standard_normal((2, 3, 3))
    U, V = U + U.T, V + V.T
    h = 1e-4
    second = (fn(S + h * U + h * V, x) - fn(S + h * U - h * V, x) - fn(S - h * U + h * V, x)
              + fn(S - h * U - h * V, x)) / (4 * h * h)
    np.testing.assert_allclose(np.einsum("ij,ijkl,kl->", U, Hf, V), second, rtol=1e-5)
    np.testing.assert_allclose(Hf, np.transpose(Hf, (1, 0, 2, 3)), atol=1e-12)
    np.testing.assert_allclose(Hf, np.transpose(Hf, (0, 1, 3, 2)), atol=1e-12)


def test_diagonal_hessian():
    h = ts.hessian("tr(A*D*D)", "D", shapes={"D": "diagonal"})
    rng = np.random.default_rng(9)
    A, D = rng.standard_normal((3, 3)), np.diag(rng.standard_normal(3))
    H = h.evaluate(A=A, D=D)
    want = np.zeros((3, 3, 3, 3))
    for i in range(3):  # f = Σ_i A_ii d_i², so H[i,i,i,i] = 2 A_ii and every other entry is 0
        want[i, i, i, i] = 2 * A[i, i]
    np.testing.assert_allclose(H, want, atol=1e-12)


# ------------------------------------------------------------------------ round trips

def _dims_from(e, env):
    dims = {}
    for v in e.free_vars:
        shape = (v.shape[1],) if len(v.shape) == 2 and v.shape[0] == 1 else v.shape
        for d, n in zip(shape, np.shape(env[v.name]), strict=True):
            dims[d] = n
    return dims


def _round_trip_cases():
    from tensorcalc.symbolic.cookbook import IDENTITIES, VECTORS

    cases = [(text, wrt, VECTORS) for _, text, wrt in IDENTITIES]
    cases += [(LOGISTIC, "w", {}), ("-y'*log(exp(W*x) / sum(exp(W*x)))", "W", {}),
              ("log(x'*A*x)", "x", {}), ("x'*x/6 + a*x'*y", "x", {}),
              ("det(A*X*B)", "X", {"A": ("n", "n"), "B": ("n", "n")})]
    return cases


@pytest.mark.parametrize("text, wrt, shapes", _round_trip_cases(),
                         ids=[f"{c[1]}:{c[0][:30]}" for c in _round_trip_cases()])
def test_matrix_forms_parse_back_to_equal_expressions(text, wrt, shapes):
    d = ts.derivative(text, wrt, shapes=shapes)
    assert d.form == "matrix"
    rng = np.random.default_rng(11)
    f = ts.parse(text, shapes)
    dims = bind_dims(sorted(f.free_vars, key=lambda v: text.find(v.name)))  # tall first
    env = {}
    for v in sorted(f.free_vars, key=lambda v: v.name):
        shape = tuple(dims.get(x, x) for x in v.shape)
        a = rng.uniform(0.2, 1.0, shape)
        if len(shape) == 2 and shape[0] == shape[1]:
            a = a + shape[0] * np.eye(shape[0])
            a = (a + a.T) / 2 if v.structure == "symmetric" else a
        env[v.name] = a
    back = ts.parse(str(d), {k: v for k, v in shapes.items() if k in str(d)} or None)
    want = np.asarray(d.evaluate(**env), dtype=float)
    sizes = _dims_from(back, env)
    for x, n in zip(back.shape, np.shape(want), strict=False):  # a bare eye's size
        sizes.setdefault(x, n)
    # evaluated as tensorcalc evaluates: det(M) inv(M) through adj(M) (det(A*X*B) with
    # non-square A, B is singular at these sizes)
    got = np.asarray(evaluate_expr(through_adjugate(back), env, sizes), dtype=float)
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-9, atol=1e-12)
