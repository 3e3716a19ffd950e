"""Generated code for PyTorch and JAX beside NumPy, and check() against the generated code."""

import dataclasses
import inspect

import numpy as np
import pytest

import tensorcalc.symbolic as ts
from tensorcalc.symbolic.printing.backends import compile_target, translate

CASES = [
    ("x' * A * x", "x"), ("sum(max(x, y))", "x"), ("max(x)", "x"), ("softmax(X, 1)", "X"),
    ("sum(logsumexp(X, 0))", "X"), ("tr(expm(A))", "A"), ("tr(B * expm(A))", "A"),
    ("expm(A)", "A"), ("x[i]", "x"), ("tr(X ^ k)", "X"), ("x' * vec(X)", "X"),
    ("sum(relu(W * x) + softplus(x) .* arcsinh(x))", "x"), ("log(det(X))", "X"),
    ("A * X * B", "X"), ("diag(x)", "x"), ("tr(adj(X))", "X"),
    ("sum(sigmoid(x) .* step(x) .* abs(x))", "x"), ("x .^ a", "x"), ("X ^ 3", "X"),
    ("logsumexp(x) - softmax(x)' * y", "x"), ("inv(X) * b", "X"), ("min(x, 0.5)", "x"),
    ("X'", "X"), ("sum(log(exp(-y .* (X * w)) + vector(1)))", "w"),
]


def _inputs(d, seed=0):
    rng = np.random.default_rng(seed)
    fn = d.compile(True)
    env = {}
    for p in inspect.signature(fn).parameters:
        v = next(v for v in d.base.free_vars if v.name == p)
        if v.structure == "integer":
            env[p] = 1 if p == "i" else 3
        elif not v.shape:
            env[p] = float(rng.uniform(0.5, 1.5))
        else:
            shape = tuple(4 ** (1 + str(s).count("·")) if isinstance(s, str) else s
                          for s in v.shape)
            x = rng.uniform(0.2, 1.0, shape)
            if ".^" not in str(d.base):  # a real power needs a positive base
                x = x * rng.choice([-1.0, 1.0], shape)
            if len(shape) == 2:
                x = x * 0.3 + 2 * np.eye(4)
            env[p] = x
    return fn, env


@pytest.mark.parametrize("text, wrt", CASES, ids=[f"{t}|{w}" for t, w in CASES])
def test_torch_code_matches_numpy(text, wrt):
    torch = pytest.importorskip("torch", reason="PyTorch is optional")
    d = ts.derivative(text, wrt)
    fn, env = _inputs(d)
    src = d.source("torch", name="f")
    assert src.startswith("import torch") and "np." not in src
    got = compile_target(src, "f")(**env)
    for g, w in zip(got, fn(**env), strict=True):
        assert isinstance(g, torch.Tensor) and g.dtype == torch.float64
        np.testing.assert_allclose(g.numpy(), w, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("text, wrt", CASES, ids=[f"{t}|{w}" for t, w in CASES])
def test_jax_code_matches_numpy(text, wrt):
    pytest.importorskip("jax", reason="JAX is optional")
    d = ts.derivative(text, wrt)
    fn, env = _inputs(d)
    src = d.source("jax", name="f")
    assert "import jax.numpy as jnp" in src
    got = compile_target(src, "f")(**env)
    for g, w in zip(got, fn(**env), strict=True):
        # JAX computes in float32 unless jax_enable_x64 is set
        scale = 1.0 + np.abs(w)
        assert np.max(np.abs(np.asarray(g, dtype=float) - w) / scale) < 5e-3


def test_torch_code_is_differentiable_by_torch():
    torch = pytest.importorskip("torch", reason="PyTorch is optional")
    d = ts.derivative("sum(softplus(A * x))", "x")
    f = compile_target(d.source("torch", name="f"), "f")
    A = torch.tensor(np.arange(12.0).reshape(3, 4) / 10, dtype=torch.float64)
    x = torch.tensor([0.1, -0.2, 0.3, 0.4], dtype=torch.float64, requires_grad=True)
    value, grad = f(x=x, A=A)
    (auto,) = torch.autograd.grad(value, x)
    np.testing.assert_allclose(grad.detach().numpy(), auto.numpy(), rtol=1e-12)


def test_unknown_target_and_untranslatable_names_raise():
    d = ts.derivative("x' * x", "x")
    with pytest.raises(ValueError, match="target must be one of"):
        d.source("tensorflow")
    with pytest.raises(TypeError, match="no torch translation for np.fft"):
        translate("import numpy as np\n\n\ndef f(x):\n    return np.fft.fft(x)\n", "torch")


def test_check_against_the_generated_code():
    for text, wrt in [("x' * A * x", "x"), ("tr(expm(A))", "A"), ("A * X * B", "X"),
                      ("sum(softmax(X, 1) .* Y)", "X")]:
        report = ts.derivative(text, wrt).check(method="generated")
        assert report.method == "generated" and report.passed
    h = ts.hessian("x' * A * x + sum(exp(x))", "x")
    report = h.check(method="generated")
    assert "each order checked against the one below" in report.note


def test_check_against_the_generated_code_finds_a_wrong_derivative():
    d = ts.derivative("x' * A * x", "x")
    wrong = dataclasses.replace(d, expr=ts.parse("A * x", {"A": ("n", "n")}), _compiled={})
    with pytest.raises(ts.DerivativeMismatch, match="generated"):
        wrong.check(method="generated")
    with pytest.raises(ValueError, match="method must be"):
        d.check(method="symbolic")


@pytest.mark.parametrize("target, head", [("torch", "import torch"), ("jax", "import jax")])
def test_cli_prints_torch_and_jax_functions(target, head):
    from tests.cli._run import run_cli

    res = run_cli("derive", "sum(softplus(A * x))", "--wrt", "x", "--format", target)
    assert res.returncode == 0 and res.stdout.startswith(head)
    assert "def f_and_df(A, x):" in res.stdout
