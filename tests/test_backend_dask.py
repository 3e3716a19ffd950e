"""Dask at scale: gradients fused into one task per row chunk, sparse Jacobian colour sweeps as
Dask tasks, ``vmap`` over a chunked axis chunk by chunk, and all three on a two-process
``dask.distributed`` cluster bound to 127.0.0.1. Every Dask test asserts that building the
result computes nothing (a scheduler that fails the test) and checks values against central
differences of plain NumPy code or against NumPy arrays. Sparse Jacobians on eager libraries
(torch, array_api_strict) are checked here too. Skipped when Dask is absent."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.core.backend import BackendError

da = pytest.importorskip("dask.array", reason="Dask is not installed (pip install "
                                               "tensorcalc[dask])")
import dask  # noqa: E402  (after the skip)
from dask.delayed import Delayed  # noqa: E402


def _forbid_compute(dsk, keys, **kwargs):  # a Dask scheduler that fails the test
    raise AssertionError("a Dask graph was computed while tensorcalc built it")


def no_compute():
    return dask.config.set(scheduler=_forbid_compute)


def logistic_loss(w, X, y):
    z = tnp.matmul(X, w)
    return tnp.mean(tnp.logaddexp(0.0, tnp.multiply(tnp.negative(y), z)))


def _logistic_np(w, X, y):
    return np.mean(np.logaddexp(0.0, -y * (X @ w)))


def _central(f, x, eps=1e-6):
    """Central differences of a NumPy function ``f: R^n → R^m`` (``m × n``; ``m = 1`` gives
    a row)."""
    cols = []
    for k in range(x.size):
        e = np.zeros_like(x)
        e.flat[k] = eps
        cols.append((np.atleast_1d(f(x + e)) - np.atleast_1d(f(x - e))) / (2 * eps))
    return np.stack(cols, axis=-1)


@pytest.fixture
def data():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 5))
    y = np.sign(rng.standard_normal(60))
    w = rng.standard_normal(5) * 0.3
    return w, X, y


def _tasks(arr, prefix):
    graph = dict(arr.__dask_graph__())
    return [k for k in graph if (k[0] if isinstance(k, tuple) else k).startswith(prefix)]


# --- 1. gradients: one task per row chunk ---------------------------------------------------


def test_gradient_is_one_task_per_row_chunk(data):
    w, X, y = data
    Xd = da.from_array(X, chunks=(15, 5))
    yd = da.sign(Xd[:, 0] + 0.1)  # derived from X: X has three consumers in the gradient
    with no_compute():
        g = tc.grad(logistic_loss)(da.asarray(w), Xd, yd)
        val, g2 = tc.value_and_grad(logistic_loss)(da.asarray(w), Xd, yd)
    assert isinstance(g, da.Array)
    assert len(_tasks(g, "tc-row-chunk-")) == 4  # the 4 row chunks, nothing else per chunk
    assert not _tasks(g, "matmul") and not _tasks(g, "from-array")  # all inside the chunk tasks
    y_np = np.sign(X[:, 0] + 0.1)
    want = _central(lambda v: _logistic_np(v, X, y_np), w)[0]
    np.testing.assert_allclose(g.compute(), want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(g2.compute(), want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(val.compute(), _logistic_np(w, X, y_np), rtol=1e-12)


def test_fusion_is_skipped_when_chunks_depend_on_each_other(data):
    # centring by the column means: every chunk needs a statistic of all chunks
    w, X, _ = data

    def centred(v, A):
        Ac = tnp.subtract(A, tnp.mean(A, axis=0))
        return tnp.sum(tnp.matmul(Ac, v) ** 2)

    with no_compute():
        g = tc.grad(centred)(da.asarray(w), da.from_array(X, chunks=(15, 5)))
    assert not _tasks(g, "tc-row-chunk-")
    Xc = X - X.mean(axis=0)
    want = _central(lambda v: np.sum((Xc @ v) ** 2), w)[0]
    np.testing.assert_allclose(g.compute(), want, rtol=1e-6)


def test_one_chunk_and_numpy_gradients_are_untouched(data):
    w, X, y = data
    g1 = tc.grad(logistic_loss)(da.asarray(w), da.from_array(X), da.from_array(y))
    assert not _tasks(g1, "tc-row-chunk-")
    assert type(tc.grad(logistic_loss)(w, X, y)) is np.ndarray
    np.testing.assert_allclose(g1.compute(), tc.grad(logistic_loss)(w, X, y), rtol=1e-12)


# --- 2. sparse Jacobians: colour sweeps as Dask tasks ---------------------------------------


def residual(u):
    return u[:-2] - 2 * u[1:-1] + u[2:] + tnp.exp(u[1:-1]) * u[1:-1] ** 2


def _residual_np(u):
    return u[:-2] - 2 * u[1:-1] + u[2:] + np.exp(u[1:-1]) * u[1:-1] ** 2


def arrowhead(u):  # a dense row and a dense column: the colouring sweeps both ways
    return tnp.concatenate([u[:-1] * u[1:] + u[0], tnp.reshape(tnp.sum(u ** 2), (1,))])


def _arrowhead_np(u):
    return np.concatenate([u[:-1] * u[1:] + u[0], [np.sum(u ** 2)]])


def test_sparse_jacobian_sweeps_are_dask_tasks():
    u = np.linspace(-1.0, 1.0, 40)
    ud = da.from_array(u, chunks=10)
    with no_compute():
        J = tc.jacobian(residual, sparse=True)(ud)
        plan = tc.sparse_jacobian_plan(residual, ud)
        J2 = plan(ud + 0.5)
    assert isinstance(J, Delayed)
    A = J.compute()
    assert A.format == "csr" and A.shape == (38, 40) and A.nnz == 3 * 38
    np.testing.assert_allclose(A.toarray(), _central(_residual_np, u), atol=1e-7)
    np.testing.assert_allclose(J2.compute().toarray(), _central(_residual_np, u + 0.5),
                               atol=1e-7)
    assert plan.sweeps == 3 and plan.replans == 0  # detected once, from the structure


def test_sparse_bidirectional_dense_and_hessian_on_dask():
    u = np.linspace(0.2, 1.4, 24)
    ud = da.from_array(u, chunks=6)
    with no_compute():
        J = tc.jacobian(arrowhead, sparse=True)(ud)
        Jd = tc.jacobian(residual, sparse="dense")(ud)
        H = tc.hessian(lambda v: tnp.sum(residual(v) ** 2), sparse=True)(ud)
    plan = tc.sparse_jacobian_plan(arrowhead, u)
    assert plan.core.jvps and plan.core.vjps  # both sides are swept
    np.testing.assert_allclose(J.compute().toarray(), _central(_arrowhead_np, u), atol=1e-6)
    assert isinstance(Jd, da.Array)
    np.testing.assert_allclose(Jd.compute(), _central(_residual_np, u), atol=1e-7)
    gnp = tc.grad(lambda v: tnp.sum(residual(v) ** 2))
    np.testing.assert_allclose(H.compute().toarray(), _central(gnp, u), atol=1e-5)


def test_sparse_on_eager_backends_sweeps_there_and_recovers_on_the_host():
    torch = pytest.importorskip("torch")
    u = np.linspace(0.2, 1.4, 24)
    for f, f_np in ((residual, _residual_np), (arrowhead, _arrowhead_np)):
        want = _central(f_np, u)
        J = tc.jacobian(f, sparse=True)(torch.asarray(u))
        assert J.format == "csr" and J.dtype == np.float64
        np.testing.assert_allclose(J.toarray(), want, atol=1e-6)
        J32 = tc.jacobian(f, sparse=True)(torch.asarray(u, dtype=torch.float32))
        assert J32.dtype == np.float32
        np.testing.assert_allclose(J32.toarray(), want, rtol=1e-4, atol=1e-4)
    with pytest.raises(BackendError, match=r"sparse.*'meta' device.*dense jacobian"):
        tc.jacobian(residual, sparse=True)(torch.empty(8, dtype=torch.float64, device="meta"))


def test_sparse_on_array_api_strict_second_device():
    xs = pytest.importorskip("array_api_strict")
    u = np.linspace(0.2, 1.4, 24)
    J = tc.jacobian(residual, sparse=True)(xs.asarray(u, device=xs.Device("device1")))
    np.testing.assert_allclose(J.toarray(), _central(_residual_np, u), atol=1e-6)


# --- 3. vmap over a chunked axis -----------------------------------------------------------


def test_vmap_maps_over_chunks(data):
    w, X, y = data
    Xd, yd = da.from_array(X, chunks=(16, 5)), da.from_array(y, chunks=16)
    per_example = tc.vmap(tc.grad(logistic_loss), in_axes=(None, 0, 0))
    with no_compute():
        G = per_example(da.asarray(w), Xd, yd)
        Gt = tc.vmap(tc.grad(logistic_loss), in_axes=(None, 0, 0), out_axes=1)(
            da.asarray(w), Xd, yd)
    assert isinstance(G, da.Array) and G.chunks == ((16, 16, 16, 12), (5,))
    assert Gt.chunks == ((5,), (16, 16, 16, 12))
    assert len(_tasks(G, "one_chunk")) == 4  # one task per chunk
    want = np.stack([_central(lambda v, i=i: _logistic_np(v, X[i:i + 1], y[i:i + 1]), w)[0]
                     for i in range(len(y))])
    np.testing.assert_allclose(G.compute(), want, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(Gt.compute(), want.T, rtol=1e-6, atol=1e-9)


def test_vmap_chunks_follow_the_first_chunked_argument(data):
    w, X, y = data
    Xd, yd = da.from_array(X, chunks=(20, 5)), da.from_array(y, chunks=7)  # unaligned
    with no_compute():
        G = tc.vmap(tc.grad(logistic_loss), in_axes=(None, 0, 0))(da.asarray(w), Xd, yd)
    assert G.chunks[0] == (20, 20, 20)
    np.testing.assert_allclose(
        G.compute(), tc.vmap(tc.grad(logistic_loss), in_axes=(None, 0, 0))(w, X, y),
        rtol=1e-12)


def test_vmap_of_a_single_chunk_batches_the_operations(data):
    w, X, y = data
    G = tc.vmap(tc.grad(logistic_loss), in_axes=(None, 0, 0))(
        da.asarray(w), da.from_array(X), da.from_array(y))
    assert not _tasks(G, "one_chunk")
    np.testing.assert_allclose(
        G.compute(), tc.vmap(tc.grad(logistic_loss), in_axes=(None, 0, 0))(w, X, y),
        rtol=1e-12)


# --- 4. all of it on a two-process cluster --------------------------------------------------


def test_fused_gradient_sparse_sweeps_and_vmap_on_a_local_cluster(data):
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not "
                                                            "installed")
    w, X, y = data
    u = np.linspace(-1.0, 1.0, 40)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        Xd = da.from_array(X, chunks=(15, 5)).persist()
        yd = da.from_array(y, chunks=15).persist()
        g = tc.grad(logistic_loss)(da.asarray(w), Xd, yd)
        G = tc.vmap(tc.grad(logistic_loss), in_axes=(None, 0, 0))(da.asarray(w), Xd, yd)
        J = tc.jacobian(residual, sparse=True)(da.from_array(u, chunks=10))
        got_g, got_G, got_J = client.compute([g, G, J], sync=True)
        assert len(client.run(lambda: 1)) == 2
    assert len(_tasks(g, "tc-row-chunk-")) == 4
    np.testing.assert_allclose(got_g, tc.grad(logistic_loss)(w, X, y), rtol=1e-12)
    np.testing.assert_allclose(
        got_G, tc.vmap(tc.grad(logistic_loss), in_axes=(None, 0, 0))(w, X, y), rtol=1e-12)
    np.testing.assert_allclose(got_J.toarray(), _central(_residual_np, u), atol=1e-7)
