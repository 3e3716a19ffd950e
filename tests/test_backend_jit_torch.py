"""``tc.jit`` on torch tensors with ``out=`` buffers and the fused torch kernels (addmm,
tanh_backward): the buffered code gives the results of eager ``tc.grad`` on the same tensors
and of the same program compiled without buffers, never writes into an argument, keeps its
results apart, and handles what torch refuses (in-place writes over a differently strided view
of the same memory, ``out=`` under autograd). Skipped when torch is absent."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.core.backend import BackendError
from tensorcalc.core.tree import tree_flatten
from tests.records import all_records

torch = pytest.importorskip("torch")
from tensorcalc.compile.xp_codegen import compile_xp_program  # noqa: E402

RECORDS = all_records()


def mlp_loss(params, X, Y):
    """The benchmark's network shape: tanh layers, a max-shifted log-softmax cross-entropy."""
    h = X
    for W, b in params[:-1]:
        h = tnp.tanh(h @ W + b)
    W, b = params[-1]
    z = h @ W + b
    zmax = tnp.max(z, axis=1, keepdims=True)
    lse = tnp.log(tnp.sum(tnp.exp(z - zmax), axis=1, keepdims=True)) + zmax
    return -tnp.sum(Y * (z - lse)) / X.shape[0]


def _mlp(rng, dtype):
    sizes = (12, 16, 16, 5)
    params = [(torch.asarray(rng.standard_normal((m, n)) / np.sqrt(m), dtype=dtype),
               torch.asarray(rng.standard_normal(n) * 0.1, dtype=dtype))
              for m, n in zip(sizes[:-1], sizes[1:], strict=True)]
    X = torch.asarray(rng.standard_normal((30, 12)), dtype=dtype)
    Y = torch.asarray(np.eye(5)[rng.integers(0, 5, 30)], dtype=dtype)
    return params, X, Y


def _unbuffered(jitted, *args):
    """The same optimized program compiled without out= buffers or fused kernels."""
    compiled = jitted.compile(*args)
    leaves = [x for k, x in enumerate(tree_flatten(list(args))[0]) if k not in compiled.fixed]
    xp = tc.core.backend.namespace(leaves[0])
    fn, source = compile_xp_program(compiled.program, xp, leaves[0].device, "plain",
                                    plain_strong_zeros=True, reuse_buffers=False)
    assert "out=" not in source
    return tree_flatten(list(fn(*leaves)))[0]


def _close(got, want, dtype):
    tol = 1e-5 if dtype == torch.float32 else 1e-13
    g, w = tree_flatten(got)[0], tree_flatten(want)[0]
    assert len(g) == len(w)
    for a, b in zip(g, w, strict=True):
        assert isinstance(a, torch.Tensor) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_mlp_gradient_with_buffers_matches_eager_and_torch(rng, dtype):
    params, X, Y = _mlp(rng, dtype)
    jg = tc.jit(tc.grad(mlp_loss))
    got = jg(params, X, Y)
    src = jg.source()
    assert "out=" in src and "torch.addmm(" in src and "tanh_backward" in src
    _close(got, tc.grad(mlp_loss)(params, X, Y), dtype)
    _close(tree_flatten(got)[0], _unbuffered(jg, params, X, Y), dtype)
    # PyTorch's own backward of the same loss on the same tensors
    leaves = [p.clone().requires_grad_(True) for W_b in params for p in W_b]
    pairs = [(leaves[i], leaves[i + 1]) for i in range(0, len(leaves), 2)]
    h = X
    for W, b in pairs[:-1]:
        h = torch.tanh(h @ W + b)
    z = h @ pairs[-1][0] + pairs[-1][1]
    (-(Y * torch.log_softmax(z, dim=1)).sum() / X.shape[0]).backward()
    _close(tree_flatten(got)[0], [p.grad for p in leaves], dtype)


def test_arguments_are_never_written_and_results_stay_apart(rng):
    params, X, Y = _mlp(rng, torch.float64)
    before = [t.clone() for t in tree_flatten([params, X, Y])[0]]
    jg = tc.jit(tc.grad(mlp_loss))
    first = tree_flatten(jg(params, X, Y))[0]
    kept = [t.clone() for t in first]
    second = tree_flatten(jg(params, X, Y))[0]
    for a, b in zip(tree_flatten([params, X, Y])[0], before, strict=True):
        assert torch.equal(a, b)
    ptrs = {t.data_ptr() for t in first} | {t.data_ptr() for t in second}
    assert len(ptrs) == 2 * len(first)  # no result shares memory with another
    for a, b in zip(first, kept, strict=True):
        assert torch.equal(a, b)  # the second call did not write into the first's results


def test_in_place_over_a_transposed_view_is_not_emitted(rng):
    # exp(a) dies in y + yᵀ: writing the sum over y would read yᵀ while writing y, which torch
    # refuses (NumPy copies); the code must allocate instead.
    def f(a):
        y = tnp.exp(a)
        return tnp.sum(tnp.sin(y + tnp.transpose(y)) * a)

    a = torch.asarray(rng.standard_normal((5, 5)))
    for g in (f, tc.grad(f)):
        _close(tc.jit(g)(a), g(a), torch.float64)


def test_fusions_need_values_with_one_reader(rng):
    def f(A, W, b, g):
        p = A @ W
        t = tnp.tanh(p + b)
        s = 1.0 - t * t
        return tnp.sum(g * s) + tnp.sum(p), s  # p and s have another reader

    args = [torch.asarray(rng.standard_normal(s)) for s in ((4, 3), (3, 6), (6,), (4, 6))]
    jf = tc.jit(f)
    _close(jf(*args), f(*args), torch.float64)
    src = jf.source()
    assert "addmm" not in src and "tanh_backward" not in src


def test_autograd_through_the_compiled_function(rng):
    # torch refuses out= while autograd records; the unbuffered variant runs then.
    params, X, Y = _mlp(rng, torch.float64)
    jl = tc.jit(mlp_loss)
    W0 = params[0][0].clone().requires_grad_(True)
    loss = jl([(W0, params[0][1]), *params[1:]], X, Y)
    loss.backward()
    want = tc.grad(mlp_loss)(params, X, Y)[0][0]
    np.testing.assert_allclose(W0.grad.numpy(), want.numpy(), rtol=1e-12, atol=1e-14)
    assert "out=" in jl.source()


def _scalar_loss(rec, args):
    rng = np.random.default_rng(7)
    weights = [rng.standard_normal(np.shape(x)) for x in tree_flatten(rec.fn(*args))[0]]

    def loss(*a):
        leaves = tree_flatten(rec.fn(*a))[0]
        return sum(tnp.sum(tnp.real(x * torch.asarray(w))) for x, w in
                   zip(leaves, weights, strict=True))
    return loss


@pytest.mark.parametrize("rec", RECORDS[::4], ids=[r.id for r in RECORDS[::4]])
def test_record_gradients_with_buffers_match_eager(rec):
    """A quarter of the op-record table: jit(grad) with buffers against eager grad, on torch."""
    if "rev" not in rec.modes:
        pytest.skip("forward-mode-only record")
    rng = np.random.default_rng(zlib.crc32(rec.id.encode()))
    np_args = rec.args(rng)
    diff = tuple(i for i, a in enumerate(np_args)
                 if isinstance(a, np.ndarray) and a.dtype == np.float64)
    if not diff:
        pytest.skip("no float64 argument to differentiate")
    # NumPy scalars too: a NumPy scalar argument next to tensors is not what this tests
    args = [torch.asarray(np.array(a)) if isinstance(a, (np.ndarray, np.generic)) else a
            for a in np_args]
    g = tc.grad(_scalar_loss(rec, np_args), argnums=diff)
    try:
        want = g(*args)  # eager on torch: what the compiled code must reproduce
    except (BackendError, TypeError, NotImplementedError) as err:
        pytest.skip(f"eager grad does not run on torch: {type(err).__name__}")
    try:
        got = tc.jit(g)(*args)
    except tc.ConcretizationError:
        pytest.skip("value-dependent (rank, pivots): not traceable without concrete values")
    g_leaves, w_leaves = tree_flatten(got)[0], tree_flatten(want)[0]
    for a, b in zip(g_leaves, w_leaves, strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-9, atol=1e-9)


def test_a_returned_constant_is_a_fresh_tensor_each_call():
    # the gradient of a linear function is a constant of the program; a caller that edits
    # one result in place must not change what later calls return
    g = tc.jit(tc.grad(lambda x: tnp.sum(3.0 * x)))
    t = torch.ones((2, 3), dtype=torch.float64)
    first = g(t)
    first.add_(1.0)
    assert torch.equal(g(t), torch.full((2, 3), 3.0, dtype=torch.float64))
