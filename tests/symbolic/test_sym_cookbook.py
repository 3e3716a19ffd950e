"""Matrix Cookbook identities as a regression oracle.

Each case is differentiated, compared as an exact printed string (the Cookbook's form; where two
forms are equivalent we note the one we print), and checked numerically on random data against
central differences of the function (independent of the code generator that evaluates the
symbolic result).
"""

import pytest

import tensorcalc.symbolic as ts

V = {k: "vector" for k in "abcd"}

# (equation, function, variable, declared shapes, expected printed derivative)
CASES = [
    (49, "det(X)", "X", {}, "det(X) * inv(X)'"),
    (51, "det(A*X*B)", "X", {}, "det(A * X * B) * A' * inv(A * X * B)' * B'"),  # A, B not square
    (51, "det(A*X*B)", "X", {"A": ("n", "n"), "B": ("n", "n")}, "det(A * X * B) * inv(X)'"),
    (52, "det(X'*A*X)", "X", {"X": ("n", "n")}, "2 * det(X' * A * X) * inv(X)'"),
    (53, "det(X'*A*X)", "X", {"A": "symmetric", "X": ("n", "m")},
     "2 * det(X' * A * X) * A * X * inv(X' * A * X)"),
    (55, "logdet(X'*X)", "X", {"X": ("n", "m")}, "2 * X * inv(X' * X)"),  # 2 (X^+)^T
    (57, "logdet(X)", "X", {}, "inv(X)'"),
    (58, "det(X^3)", "X", {}, "3 * det(X ^ 3) * inv(X)'"),
    (61, "a'*inv(X)*b", "X", V, "-inv(X)' * a * b' * inv(X)'"),
    (62, "det(inv(X))", "X", {}, "-det(inv(X)) * inv(X)'"),
    (63, "tr(A*inv(X)*B)", "X", {}, "-inv(X)' * A' * B' * inv(X)'"),
    (64, "tr(inv(X+A))", "X", {}, "-(inv(A + X) ^ 2)'"),
    (69, "x'*a", "x", V, "a"),
    (69, "a'*x", "x", V, "a"),
    (70, "a'*X*b", "X", V, "a * b'"),
    (71, "a'*X'*b", "X", V, "b * a'"),
    (72, "a'*X*a", "X", V, "a * a'"),
    (77, "b'*X'*X*c", "X", V, "X * (b * c' + c * b')"),
    (78, "(B*x+b)'*C*(D*x+d)", "x", V, "B' * C * (D * x + d) + D' * C' * (B * x + b)"),
    (81, "x'*B*x", "x", {}, "(B + B') * x"),
    (82, "b'*X'*D*X*c", "X", V, "D * X * c * b' + D' * X * b * c'"),
    (83, "(X*b+c)'*D*(X*b+c)", "X", V, "(D + D') * (X * b + c) * b'"),
    (84, "(x-A*s)'*W*(x-A*s)", "s", {"W": "symmetric"}, "-2 * A' * W * (x - A * s)"),
    (88, "(x-A*s)'*W*(x-A*s)", "A", {"W": "symmetric"}, "-2 * W * (x - A * s) * s'"),
    (91, "a'*X^3*b", "X", V, "(X ^ 2)' * a * b' + X' * a * b' * X' + a * b' * (X ^ 2)'"),
    (99, "tr(X)", "X", {}, "eye"),
    (100, "tr(X*A)", "X", {}, "A'"),
    (101, "tr(A*X*B)", "X", {}, "A' * B'"),
    (102, "tr(A*X'*B)", "X", {}, "B * A"),
    (103, "tr(X'*A)", "X", {}, "A"),
    (104, "tr(A*X')", "X", {}, "A"),
    (106, "tr(X^2)", "X", {}, "2 * X'"),
    (107, "tr(X^2*B)", "X", {}, "B' * X' + X' * B'"),
    (108, "tr(X'*B*X)", "X", {}, "(B + B') * X"),
    (111, "tr(X*B*X')", "X", {}, "X * (B + B')"),
    (114, "tr(A*X*B*X)", "X", {}, "A' * X' * B' + B' * X' * A'"),
    (115, "tr(X'*X)", "X", {}, "2 * X"),
    (116, "tr(B'*X'*C*X*B)", "X", {}, "(C + C') * X * B * B'"),
    (117, "tr(X'*B*X*C)", "X", {}, "B * X * C + B' * X * C'"),
    (118, "tr(A*X*B*X'*C)", "X", {}, "A' * C' * X * B' + C * A * X * B"),
    (119, "tr((A*X*B+C)*(A*X*B+C)')", "X", {}, "2 * A' * (A * X * B + C) * B'"),
    (120, "tr(X)^2", "X", {}, "2 * tr(X) * eye"),
    (121, "tr(X^4)", "X", {}, "4 * (X ^ 3)'"),
    (122, "tr(A*X^3)", "X", {}, "(X ^ 2)' * A' + A' * (X ^ 2)' + X' * A' * X'"),
    (124, "tr(A*inv(X)*B)", "X", {}, "-inv(X)' * A' * B' * inv(X)'"),
    (125, "tr(inv(X'*C*X)*A)", "X", {"C": "symmetric"},
     "-C * X * inv(X' * C * X) * (A + A') * inv(X' * C * X)"),
    (126, "tr(inv(X'*C*X)*(X'*B*X))", "X", {"C": "symmetric", "B": "symmetric"},
     "2 * (B - C * X * inv(X' * C * X) * X' * B) * X * inv(X' * C * X)"),
    (129, "norm2(x-a)", "x", V, "(x - a) / norm2(x - a)"),
    (130, "(x-a)/norm2(x-a)", "x", V,
     "eye / norm2(x - a) - (x - a) * (x - a)' / norm2(x - a) ^ 3"),
    (131, "norm2(x)^2", "x", {}, "2 * x"),
    (131, "x'*x", "x", {}, "2 * x"),
    (132, "norm2(X)^2", "X", {}, "2 * X"),
]


@pytest.mark.parametrize("eq, text, wrt, shapes, expected", CASES,
                         ids=[f"({c[0]}) {c[1]}" for c in CASES])
def test_cookbook_identity(eq, text, wrt, shapes, expected):
    d = ts.derivative(text, wrt, shapes=shapes or None)
    assert str(d) == expected
    report = d.check(trials=2, method="central-difference")
    assert report.passed and report.max_rel_error < 1e-6


def test_cookbook_gradient_and_hessian_of_quadratic_plus_linear():
    # Cookbook "Gradient and Hessian": f = x'Ax + b'x
    f = "x'*A*x + b'*x"
    g = ts.derivative(f, "x", shapes=V)
    assert str(g) == "(A + A') * x + b"
    h = ts.hessian(f, "x", shapes=V)
    assert str(h) == "A + A'"
    assert h.latex() == r"A + A^{\top}"
    h.check(method="central-difference")


def test_differentials_40_42_43_in_steps():
    steps = ts.derivative("logdet(X)", "X").steps()
    assert "d(logdet(X)) = tr(inv(X) * dX)" in steps and "(43)" in steps
    steps = ts.derivative("det(X)", "X").steps()
    assert "det(X) * tr(inv(X) * dX)" in steps and "(42)" in steps
    steps = ts.derivative("sum(inv(X))", "X").steps()
    assert "-inv(X) * dX * inv(X)" in steps and "(40)" in steps


@pytest.mark.parametrize("eq, text, wrt, shapes", [
    (81, "x'*B*x", "x", {}), (57, "logdet(X)", "X", {}), (101, "tr(A*X*B)", "X", {}),
    (77, "b'*X'*X*c", "X", V), (131, "x'*x", "x", {}),
])
def test_steps_cite_the_cookbook_equation(eq, text, wrt, shapes):
    assert f"Matrix Cookbook identity ({eq})" in ts.derivative(text, wrt, shapes=shapes).steps()


def test_symmetric_conventions_are_both_named():
    f = "x'*S*x"
    fro = ts.derivative(f, "S", shapes={"S": "symmetric"}, symmetric_convention="frobenius")
    cook = ts.derivative(f, "S", shapes={"S": "symmetric"}, symmetric_convention="cookbook")
    assert str(fro) == "x * x'"
    assert str(cook) == "2 * x * x' - diag(diag(x * x'))"
    for d in (fro, cook):
        d.check(method="central-difference")
    g = ts.derivative("tr(A*S)", "S", shapes={"S": "symmetric"})  # (G + G')/2 with G = A'
    assert str(g) == "(A + A') / 2"
    g.check(method="central-difference")
    assert "cookbook" in cook.steps() and "independent entries" in cook.steps()


def test_diagonal_variable():
    d = ts.derivative("tr(A*D)", "D", shapes={"D": "diagonal"})
    assert str(d) == "diag(diag(A'))"
    d.check(method="central-difference")
