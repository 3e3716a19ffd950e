"""The order/shape matrix: derivatives of order 1-6 in every layout have the documented shape,
and their values match central differences of a hand-written NumPy function.

Layouts of a nested derivative (docs/symbolic.md): numerator, mixed and gradient stack the
input shapes after the output, out + X + X + ...; denominator reverses the groups,
... + X + X + out. Values are checked through random directions: contracting the k-th
derivative with u1, ..., uk equals ∂ᵏ/∂t1...∂tk f(x + Σ tᵢ uᵢ) at t = 0, which a 2ᵏ-point central
stencil (Richardson-extrapolated) gives from the plain NumPy function alone.
"""

import itertools

import numpy as np
import pytest

import tensorcalc.symbolic as ts

N = 3
SHAPES = {"x": N, "A": (N, N), "X": (2, 2), "B": (2, 2), "C": (2, 2), "W": (2, N)}


def _mat(rng, shape):
    return rng.uniform(-0.5, 0.5, shape)


def _square(rng, n):
    return np.eye(n) + 0.3 * rng.uniform(-1, 1, (n, n))


# (expression, variable, plain NumPy function of (variable value, env), highest order tested)
CASES = [
    ("(x'*x)^2", "x", lambda v, e: (v @ v) ** 2, 6),
    ("x*x'", "x", lambda v, e: np.outer(v, v), 6),
    ("tanh(A*x)", "x", lambda v, e: np.tanh(e["A"] @ v), 6),
    ("sum(exp(x))", "x", lambda v, e: np.sum(np.exp(v)), 6),
    ("x'*A*x", "x", lambda v, e: v @ e["A"] @ v, 6),
    ("tr(X^3)", "X", lambda v, e: np.trace(v @ v @ v), 6),
    ("C*X*B", "X", lambda v, e: e["C"] @ v @ e["B"], 6),
    ("tanh(W*x)", "W", lambda v, e: np.tanh(v @ e["x"]), 6),
    ("inv(X)", "X", lambda v, e: np.linalg.inv(v), 4),
    ("logdet(X)", "X", lambda v, e: np.linalg.slogdet(v)[1], 5),
    ("det(X)", "X", lambda v, e: np.linalg.det(v), 4),
    ("exp(x'*A*x)", "x", lambda v, e: np.exp(v @ e["A"] @ v), 4),
    ("log(x'*A*x)", "x", lambda v, e: np.log(v @ e["A"] @ v), 4),
    ("softmax(x)", "x", lambda v, e: np.exp(v) / np.sum(np.exp(v)), 4),
]
LAYOUTS = ("numerator", "denominator", "mixed", "gradient")


def _env(rng):
    A = _square(rng, N)
    return {"x": rng.uniform(0.2, 0.8, N), "A": A @ A.T + np.eye(N), "X": _square(rng, 2),
            "C": _mat(rng, (2, 2)), "B": _mat(rng, (2, 2)), "W": _mat(rng, (2, N))}


def _values(text, env):
    """Keyword values for ``evaluate``: the expression's variables."""
    names = {v.name for v in ts.parse(text, SHAPES).free_vars}
    return {k: env[k] for k in names}


def _directional(fn, x, dirs, h):
    """∂ᵏ/∂t1...∂tk fn(x + Σ tᵢ uᵢ) at 0 by the 2ᵏ-point central stencil."""
    total = 0.0
    for signs in itertools.product((1, -1), repeat=len(dirs)):
        point = x + h * sum(s * u for s, u in zip(signs, dirs, strict=True))
        total = total + np.prod(signs) * np.asarray(fn(point), dtype=float)
    return total / (2 * h) ** len(dirs)


def _reference(fn, x, dirs):
    h = 0.04 if len(dirs) > 2 else 1e-3
    return (4 * _directional(fn, x, dirs, h / 2) - _directional(fn, x, dirs, h)) / 3


def _to_numerator(T, layout, k, in_nd, out_nd):
    """Axes of a k-th derivative in ``layout`` reordered to out + X1 + ... + Xk."""
    if layout != "denominator":
        return T
    groups = [list(range(i * in_nd, (i + 1) * in_nd)) for i in range(k)]  # Xk, ..., X1
    out = list(range(k * in_nd, k * in_nd + out_nd))
    return np.transpose(T, out + [a for g in reversed(groups) for a in g])


def _contract(T, dirs, in_nd):
    for u in reversed(dirs):  # the last axes belong to the last stage
        T = np.tensordot(T, u, axes=in_nd)
    return T


def _derivatives(text, wrt, layout, order):
    out, d = [], text
    for _ in range(order):
        d = ts.derivative(d, wrt, layout=layout, shapes=SHAPES, steps=False)
        out.append(d)
    return out


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("text, wrt, fn, top", CASES, ids=[c[0] for c in CASES])
def test_order_shape_matrix(text, wrt, fn, top, layout):
    f = ts.parse(text, SHAPES)
    x = next(v for v in f.free_vars if v.name == wrt)
    out_shape = (f.shape[1],) if len(f.shape) == 2 and f.shape[0] == 1 else f.shape
    if layout == "gradient" and out_shape:
        with pytest.raises(ValueError, match="scalar function"):
            ts.derivative(text, wrt, layout=layout, shapes=SHAPES)
        return
    rng = np.random.default_rng(7)
    env = _env(rng)
    values = _values(text, env)
    in_nd, out_nd = len(x.shape), len(out_shape)
    for k, d in enumerate(_derivatives(text, wrt, layout, top), start=1):
        if layout == "denominator":
            expected = tuple(x.shape) * k + tuple(out_shape)
        else:
            expected = tuple(out_shape) + tuple(x.shape) * k
        assert d.shape == expected, (k, d.shape)
        assert d.order == k and d.layout == layout
        T = np.asarray(d.evaluate(**values))
        assert T.shape == expected
        dirs = [rng.uniform(-1, 1, x.shape) for _ in range(k)]
        got = _contract(_to_numerator(T, layout, k, in_nd, out_nd), dirs, in_nd)
        ref = _reference(lambda v: fn(v, env), values[wrt], dirs)
        scale = max(1.0, float(np.max(np.abs(ref))))
        np.testing.assert_allclose(got, ref, atol=2e-3 * scale, err_msg=f"order {k}")


def test_nested_value_is_the_previous_tensor():
    """The generated function returns the previous stage as a tensor, not its vec matrix."""
    d3 = _derivatives("(x'*x)^2", "x", "numerator", 4)[-1]
    fn = d3.compile(with_value=True)
    x = np.array([0.3, -0.2, 0.5])
    value, deriv = fn(x)
    assert value.shape == (N, N, N) and deriv.shape == (N, N, N, N)
    # d³/dx³ of (x'x)² is 8 (δ_ij x_k + δ_ik x_j + δ_jk x_i)
    eye = np.eye(N)
    want = 8 * (np.einsum("ij,k->ijk", eye, x) + np.einsum("ik,j->ijk", eye, x)
                + np.einsum("jk,i->ijk", eye, x))
    np.testing.assert_allclose(value, want, atol=1e-12)
