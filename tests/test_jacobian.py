"""Jacobians: every strategy against central differences and against each other, layouts,
pytrees, chunking (including a tracemalloc bound), plans and errors."""

import tracemalloc

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.jacobians.sweeps import bytes_per_sweep_vector
from tensorcalc.transforms import hessian, hvp, jacfwd, jacobian, jacobian_plan, jacrev
from tests.finite_diff import central_jacobian

MODES = ("forward", "reverse", "structured", "auto")




def _mlp(rng):
    W1, W2 = rng.standard_normal((5, 4)), rng.standard_normal((3, 5))
    return lambda x: tnp.tanh(W2 @ tnp.tanh(W1 @ x))


FUNCS = {
    "mlp": (_mlp, (4,)),
    "elementwise": (lambda rng: lambda x: tnp.sin(x) * x ** 2 + tnp.exp(x / 3), (3, 2)),
    "matrix": (lambda rng: (lambda A: lambda X: (A @ X).T @ tnp.tanh(X))(
        rng.standard_normal((3, 3))), (3, 2)),
    "reduce": (lambda rng: lambda x: tnp.sum(x ** 3, axis=0) - tnp.max(x, axis=1).sum(),
               (4, 3)),
    "broadcast": (lambda rng: lambda x: x[:, None] * x[None, :] + x.sum(), (4,)),
    "index": (lambda rng: lambda x: x[1:, ::2] * x[0, ::2] + tnp.transpose(x)[::2, 1:],
              (3, 3)),
    "scalar_out": (lambda rng: lambda x: tnp.sum(tnp.log(1 + tnp.exp(x))), (5,)),
    "scalar_in": (lambda rng: lambda x: x * tnp.sin(x), ()),
}


@pytest.mark.parametrize("name", list(FUNCS))
@pytest.mark.parametrize("mode", MODES)
def test_modes_match_central_differences(name, mode, rng):
    make, shape = FUNCS[name]
    f = make(rng)
    x = rng.standard_normal(shape)
    J = jacobian(f, mode=mode)(x)
    np.testing.assert_allclose(J, central_jacobian(f, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(J, jacfwd(f)(x), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("chunk", [1, 3, 7, 100])
def test_chunks_agree(chunk, rng):
    f = _mlp(rng)
    x = rng.standard_normal(4)
    J = jacfwd(f)(x)
    np.testing.assert_allclose(jacfwd(f, chunk_size=chunk)(x), J, rtol=1e-13)
    np.testing.assert_allclose(jacrev(f, chunk_size=chunk)(x), J, rtol=1e-13)


def test_layouts(rng):
    f = lambda X: tnp.tanh(X).sum(axis=0)  # noqa: E731  (3,2) -> (2,)
    X = rng.standard_normal((3, 2))
    J = jacobian(f)(X)
    assert J.shape == (2, 3, 2)
    D = jacobian(f, layout="denominator")(X)
    assert D.shape == (3, 2, 2)
    np.testing.assert_allclose(D, np.transpose(J, (1, 2, 0)))
    g = jacobian(lambda X: tnp.sum(X ** 2), layout="gradient")(X)
    np.testing.assert_allclose(g, 2 * X)
    with pytest.raises(tc.NonScalarOutputError, match="gradient"):
        jacobian(f, layout="gradient")(X)


def test_pytrees_and_argnums(rng):
    x, y = rng.standard_normal(3), rng.standard_normal((2, 3))

    def f(a, d):
        return {"s": tnp.sum(a * d["y"], axis=1), "t": (a ** 2, d["y"][0] * 2.0)}

    for mode in ("forward", "reverse", "auto"):
        J = jacobian(f, argnums=(0, 1), mode=mode)(x, {"y": y})
        assert J["s"][0].shape == (2, 3) and J["s"][1]["y"].shape == (2, 2, 3)
        np.testing.assert_allclose(J["s"][0], y)
        np.testing.assert_allclose(J["t"][0][0], np.diag(2 * x))
        np.testing.assert_allclose(J["t"][1][1]["y"][:, 0, :], 2 * np.eye(3))
        np.testing.assert_allclose(J["t"][1][1]["y"][:, 1, :], 0)
        J0 = jacobian(f, mode=mode)(x, {"y": y})
        np.testing.assert_allclose(J0["t"][0], np.diag(2 * x))
    jac, aux = jacobian(lambda a: (a * 2.0, "aux"), has_aux=True)(x)
    assert aux == "aux" and np.allclose(jac, 2 * np.eye(3))


def test_hessian_and_hvp(rng):
    A = rng.standard_normal((5, 5))
    x = rng.standard_normal(5)
    H = hessian(lambda x: x @ (A @ x))(x)
    np.testing.assert_allclose(H, A + A.T, rtol=1e-13)
    plan = jacobian_plan(tc.grad(lambda x: x @ (A @ x)), x)
    assert plan.choice == "structured"
    f = lambda x: tnp.sum(tnp.sin(x) * x ** 3)  # noqa: E731
    H2 = hessian(f)(x)
    np.testing.assert_allclose(H2, central_jacobian(tc.grad(f), x), rtol=1e-6, atol=1e-7)
    for mode in ("forward", "reverse"):
        np.testing.assert_allclose(hessian(f, mode=mode)(x), H2, rtol=1e-12, atol=1e-13)
    v = rng.standard_normal(5)
    (hv,) = hvp(f, (x,), (v,))
    np.testing.assert_allclose(hv, H2 @ v, rtol=1e-12)
    # nested: jacfwd of jacrev (traced constants, sweeps with traced operations)
    np.testing.assert_allclose(jacfwd(jacrev(f))(x), H2, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(jacrev(jacfwd(f))(x), H2, rtol=1e-12, atol=1e-13)
    # logistic loss Hessian = A^T diag(p(1-p)) A
    B = rng.standard_normal((7, 5))
    yy = np.sign(rng.standard_normal(7))
    loss = lambda w: tnp.sum(tnp.log(1 + tnp.exp(-yy * (B @ w))))  # noqa: E731
    p = 1 / (1 + np.exp(-yy * (B @ x)))
    np.testing.assert_allclose(hessian(loss)(x), (B.T * (p * (1 - p))) @ B, rtol=1e-10)


def test_chain_plan_counts():
    from tensorcalc.accumulate import chain_cost
    for dims, expect in [([10, 6, 8, 2, 1], (660, 124, 124)),
                         ([50, 50, 2, 50, 50], (135000, 135000, 15000)),
                         ([10, 100, 10, 100, 10], (30000, 30000, 21000))]:
        c = chain_cost(dims)
        assert (c.forward, c.reverse, c.optimal) == expect
        # the same chain as a program of dense matmuls: the plan reports the same counts
        rng = np.random.default_rng(0)
        Ws = [rng.standard_normal((dims[k + 1], dims[k])) for k in range(len(dims) - 1)]

        def f(x, Ws=Ws):
            for W in Ws:
                x = W @ x
            return x

        plan = jacobian_plan(f, rng.standard_normal(dims[0]))
        assert (plan.cost("forward"), plan.cost("reverse"), plan.cost("optimal")) == expect
        assert "chain DP" in str(plan)
        np.testing.assert_allclose(jacobian(f)(np.zeros(dims[0])), jacfwd(f)(np.zeros(dims[0])),
                                   rtol=1e-10)


def test_chunk_bounds_memory():
    n = 4000
    rng = np.random.default_rng(0)
    c = rng.standard_normal(n)

    def f(x):
        h = tnp.sin(x) * c
        h = tnp.tanh(h + x) * h
        return tnp.sum(h * h) + tnp.sum(h)

    x = rng.standard_normal(n)
    expect = jacrev(f)(x)

    def peak(**kw):
        tracemalloc.start()
        J = jacfwd(f, **kw)(x)
        _, pk = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        np.testing.assert_allclose(J, expect, rtol=1e-10)
        return pk

    lin = tc.linear_map(f, x)
    per_vector = bytes_per_sweep_vector(lin.program)
    budget = 8 * 2**20
    # Without chunking the batched intermediates would take n * per_vector (about 2 GB).
    assert n * per_vector > 100 * budget
    assert peak(memory_budget=budget) < 2 * budget
    assert peak(chunk_size=20) < 20 * per_vector * 2 + 2**20


def test_errors(rng):
    x = rng.standard_normal(3)
    with pytest.raises(ValueError, match="layout='numerater'"):
        jacobian(tnp.sin, layout="numerater")
    with pytest.raises(ValueError, match="mode="):
        jacobian(tnp.sin, mode="sideways")
    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError, match="chunk_size"):
            jacobian(tnp.sin, chunk_size=bad)
    with pytest.raises(tc.DifferentiationTypeError, match="dtype int"):
        jacobian(tnp.sin)(np.arange(3))
    with pytest.raises(TypeError, match="not an array"):
        jacobian(lambda a: "no")(x)
    with pytest.raises(tc.DifferentiationTypeError, match="output of dtype"):
        jacobian(lambda a: a > 0)(x)
    with pytest.raises(ValueError, match="strategy"):
        jacobian_plan(tnp.sin, x).cost("sideways")


@pytest.mark.parametrize("mode", MODES)
def test_a_jacobian_never_shares_memory_with_the_callers_constants(mode, rng):
    """``jacobian(lambda x: W @ x)`` is ``W``; it is returned as a new array, so writing into
    the Jacobian cannot change ``W`` (the structured elimination hands out ``W`` itself
    otherwise)."""
    W = rng.standard_normal((3, 4))
    keep = W.copy()
    J = jacobian(lambda x: W @ x, mode=mode)(rng.standard_normal(4))
    np.testing.assert_array_equal(J, keep)
    assert not np.shares_memory(J, W) and J.flags.writeable
    J[...] = 0.0
    np.testing.assert_array_equal(W, keep)
    Jj = jacobian(tc.jit(lambda x: W @ x), mode=mode)(rng.standard_normal(4))
    assert not np.shares_memory(Jj, W)


def test_elimination_in_place_keeps_shared_intermediates(rng):
    """A branching program: ``h = D₁W₁x`` feeds two outputs and a pass-through (``I·B = B``),
    so the structured elimination reads intermediates several times; the products it writes
    into are only those it reads for the last time. Checked against forward sweeps and
    central differences, and the constants are left as they were."""
    W1, W2, W3 = (rng.standard_normal(s) for s in ((6, 5), (4, 6), (6, 6)))
    keep = [W.copy() for W in (W1, W2, W3)]

    def f(x):
        h = tnp.tanh(W1 @ x)
        g = h * 1.0 + tnp.sin(W3 @ h)
        return tnp.concatenate([tnp.tanh(W2 @ h), W2 @ g, (h * 2.0) * g])

    x = rng.standard_normal(5)
    J = jacobian(f, mode="structured")(x)
    np.testing.assert_allclose(J, jacfwd(f)(x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(J, central_jacobian(f, x), rtol=1e-6, atol=1e-7)
    for W, k in zip((W1, W2, W3), keep, strict=True):
        np.testing.assert_array_equal(W, k)


def test_an_output_that_is_also_an_intermediate_keeps_its_block(rng):
    """``h`` is an output and feeds another: eliminating ``h`` hands its block on unchanged
    to the output's copy (``I·B = B``) and multiplies it into the other output. Whichever of
    the two comes first (the successor order varies from trace to trace), the block handed on
    must not be scaled in place afterwards."""
    W = rng.standard_normal((4, 3))
    c = rng.standard_normal(4)

    def f(x):
        h = tnp.tanh(W @ x)
        return h, h * c

    x = rng.standard_normal(3)
    D = np.diag(1 - np.tanh(W @ x) ** 2)
    for _ in range(20):  # new variables each trace, so new orders of the sets of successors
        Jh, Jg = jacobian(f, mode="structured")(x)
        np.testing.assert_allclose(Jh, D @ W, rtol=1e-13)
        np.testing.assert_allclose(Jg, c[:, None] * (D @ W), rtol=1e-13)
