"""What makes a sparse Jacobian's first call cheap: sweeps that let go of dead values, colours
batched in blocks with an O(nnz) recovery, and the same values whichever way the seeds are
batched."""

import tracemalloc

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.jacobians import sparse as sparse_mod
from tensorcalc.jacobians.sweeps import eval_dropping
from tensorcalc.transforms import _linearize_for, jacfwd, jacrev

pytest.importorskip("scipy.sparse")


def _poisson(n):
    def f(u):
        U = u.reshape(n, n)
        P = tnp.pad(U, 1)
        return (P[:-2, 1:-1] + P[2:, 1:-1] + P[1:-1, :-2] + P[1:-1, 2:] - 4.0 * U
                - 0.1 * tnp.exp(U)).reshape(-1)

    return f


def _arrowhead(x):
    return tnp.concatenate([tnp.sum(x ** 2)[None], x[1:] * x[0]])


def _few_rows(x):
    return tnp.stack([tnp.sum(x), tnp.sum(tnp.sin(x)), x[0] * x[3]])


def _chain(x):
    return tnp.sum(x[1:] * x[:-1] + tnp.cos(x[1:]) ** 2)


@pytest.mark.parametrize("block,buffer", [(sparse_mod.SWEEP_BLOCK_BYTES, 2), (1, 2), (1, 0)])
@pytest.mark.parametrize("f,n,mode", [(_poisson(9), 81, "column"),
                                      (_arrowhead, 40, "bidirectional"),
                                      (_few_rows, 30, "row")])
def test_values_do_not_depend_on_how_the_seeds_are_batched(f, n, mode, block, buffer,
                                                           monkeypatch, rng):
    monkeypatch.setattr(sparse_mod, "SWEEP_BLOCK_BYTES", block)  # 1: one seed per batch
    monkeypatch.setattr(sparse_mod, "BUFFER_FACTOR", buffer)  # 0: read out batch by batch
    x = rng.uniform(0.2, 0.9, n)
    plan = tc.sparse_jacobian_plan(f, x)
    assert plan.coloring.mode == mode and plan.sweeps > 1
    dense = jacrev(f)(x).reshape(-1, n)
    np.testing.assert_allclose(plan(x).toarray(), dense, rtol=1e-12, atol=1e-14)
    x2 = rng.uniform(0.2, 0.9, n)
    plan.use_jit = False  # the eager chunked path again, at a new point
    np.testing.assert_allclose(plan(x2).toarray(), jacrev(f)(x2).reshape(-1, n), rtol=1e-12,
                               atol=1e-14)


@pytest.mark.parametrize("block,buffer", [(sparse_mod.SWEEP_BLOCK_BYTES, 2), (1, 2), (1, 0)])
def test_hessian_values_do_not_depend_on_the_batching(block, buffer, monkeypatch, rng):
    monkeypatch.setattr(sparse_mod, "SWEEP_BLOCK_BYTES", block)
    monkeypatch.setattr(sparse_mod, "BUFFER_FACTOR", buffer)
    x = rng.uniform(0.2, 0.9, 30)
    H = tc.hessian(_chain, sparse=True)(x)
    np.testing.assert_allclose(H.toarray(), tc.hessian(_chain)(x), rtol=1e-10, atol=1e-12)


def test_the_dropping_evaluator_agrees_with_the_program(rng):
    x = rng.uniform(0.2, 0.9, 49)
    lin = _linearize_for(_poisson(7), (x,), 0, False, "t")[0]
    t = rng.standard_normal(49)
    (got,) = eval_dropping(lin.program, [t])
    np.testing.assert_allclose(got, jacfwd(_poisson(7))(x) @ t, rtol=1e-12)


def _sweep_peak(f, x):
    plan = tc.sparse_jacobian_plan(f, x)
    lin = _linearize_for(f, (x,), 0, False, "t")[0]
    tracemalloc.start()
    try:
        sparse_mod.compressed_values(plan.core, lin)
        return tracemalloc.get_traced_memory()[1], plan
    finally:
        tracemalloc.stop()


def test_a_sweep_holds_the_live_values_not_the_whole_program():
    # 40 elementwise steps: a sweep that kept every intermediate would hold 40 vectors.
    def deep(x):
        for k in range(40):
            x = tnp.sin(x) * (1.0 + 0.01 * k)
        return x

    n = 50_000
    peak, plan = _sweep_peak(deep, np.full(n, 0.3))
    assert plan.sweeps == 1
    assert peak < 10 * n * 8, f"{peak / (n * 8):.1f} vectors alive at once"
