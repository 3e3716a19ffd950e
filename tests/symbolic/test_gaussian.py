"""Gaussian expectations E[f(x)], x ~ N(m, S), against the closed forms of Isserlis' theorem
written out in NumPy."""

import numpy as np
import pytest

import tensorcalc.symbolic as ts
from tensorcalc.symbolic.numeric import evaluate_expr

SHAPES = {"x": 3, "m": 3, "a": 3, "A": (3, 3), "S": "symmetric", "B": (3, 3),
          "C": "symmetric"}  # a symmetric C keeps the quartic's closed form in matrix form


def _env(seed=0):
    rng = np.random.default_rng(seed)
    L = rng.normal(size=(3, 3))
    A = rng.normal(size=(3, 3))
    return {"m": rng.normal(size=3), "a": rng.normal(size=3), "A": (A + A.T) / 2, "C": A + A.T,
            "B": rng.normal(size=(3, 3)), "S": L @ L.T + np.eye(3),
            "b": 0.7, "d": 1.3}


def quartic(e):
    A, S, m = e["C"], e["S"], e["m"]
    q = np.trace(A @ S) + m @ A @ m
    return q * q + 2 * np.trace(A @ S @ A @ S) + 4 * m @ A @ S @ A @ m


CASES = [
    ("x' * A * x", lambda e: np.trace(e["A"] @ e["S"]) + e["m"] @ e["A"] @ e["m"]),
    ("x' * B * x", lambda e: np.trace(e["B"] @ e["S"]) + e["m"] @ e["B"] @ e["m"]),
    ("(a' * x) ^ 2", lambda e: e["a"] @ e["S"] @ e["a"] + (e["a"] @ e["m"]) ** 2),
    ("x * x'", lambda e: e["S"] + np.outer(e["m"], e["m"])),
    ("B * x + a", lambda e: e["B"] @ e["m"] + e["a"]),
    ("(x' * C * x) ^ 2", quartic),
    ("(x' * x) * x", lambda e: (np.trace(e["S"]) + e["m"] @ e["m"]) * e["m"] + 2 * e["S"] @ e["m"]),
    ("sum(x .* x)", lambda e: np.trace(e["S"]) + e["m"] @ e["m"]),
    ("x' * A * x - 2 * a' * x + 5", lambda e: np.trace(e["A"] @ e["S"])
     + e["m"] @ e["A"] @ e["m"] - 2 * e["a"] @ e["m"] + 5),
]


@pytest.mark.parametrize("f, want", CASES, ids=[c[0] for c in CASES])
def test_expectations_match_isserlis(f, want):
    e = ts.parse(f"expect({f}, x, m, S)", SHAPES)
    assert "x" not in {v.name for v in e.free_vars}
    env = _env()
    np.testing.assert_allclose(evaluate_expr(e, env, {}), want(env), rtol=1e-10)
    back = ts.parse(str(e), SHAPES)  # the closed form prints in the input language
    np.testing.assert_allclose(evaluate_expr(back, env, {}), want(env), rtol=1e-10)


def test_scalar_gaussian_moments():
    env = _env()
    b, d = env["b"], env["d"]
    for f, want in [("c ^ 3", b**3 + 3 * b * d), ("c ^ 4", b**4 + 6 * b * b * d + 3 * d * d),
                    ("c", b), ("c ^ 2", b * b + d)]:
        e = ts.parse(f"expect({f}, c, b, d)")
        assert evaluate_expr(e, env, {}) == pytest.approx(want)


def test_printed_closed_forms():
    assert str(ts.parse("expect(x * x', x, m, S)", SHAPES)) == "S + m * m'"
    assert str(ts.parse("expect((a' * x) ^ 2, x, m, S)", SHAPES)) == "(a' * m) ^ 2 + a' * S * a"
    assert str(ts.parse("expect(c ^ 3, c, b, d)")) == "3 * b * d + b ^ 3"
    assert str(ts.expectation("x' * A * x", "x", "m", "S", shapes={"A": "symmetric"})) == (
        "m' * A * m + tr(S * A)")


def test_expectations_can_be_differentiated():
    d = ts.derivative("expect(x' * A * x, x, m, S)", "m")
    assert str(d) == "(A + A') * m"
    g = ts.derivative("expect(x' * A * x, x, m, S)", "S", shapes={"S": ("n", "n")})
    assert str(g) == "(A + A') / 2"


def test_non_polynomials_and_bad_shapes_are_refused():
    with pytest.raises(ts.UnsupportedExpression, match="polynomials in x only"):
        ts.parse("expect(sum(exp(x)), x, m, S)")
    with pytest.raises(ts.ShapeError, match="x must be a scalar or a"):
        ts.parse("expect(tr(X), X, M, S)")
    with pytest.raises(ts.ShapeError, match="the mean"):
        ts.parse("expect(x' * x, x, a, S)", {"x": 3, "a": 4})
    with pytest.raises(ts.ParseError, match="expect takes 4 arguments"):
        ts.parse("expect(x' * x, x, m)")
