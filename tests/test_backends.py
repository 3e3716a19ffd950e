"""Transformations on every array backend (tests/backends.py): an MLP's gradient eager and
under ``jit``, a logistic-regression Hessian, ``vmap`` of per-example gradients; results are of
the input's library on the input's device and agree with NumPy. Plus the rules around them:
two libraries in one call raise, Dask stays lazy until ``.compute()`` (strong-zero policy
included), and a gradient runs on a two-process ``dask.distributed`` cluster."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.core.backend import BackendError
from tests.backends import PARAMS, Backend

# --- the models: written with tnp functions, so they run on any backend ------------------


def mlp_loss(params, X, Y):
    h = tnp.tanh(tnp.add(tnp.matmul(X, params["W1"]), params["b1"]))
    logits = tnp.add(tnp.matmul(h, params["W2"]), params["b2"])
    return tc.nn.functional.softmax_cross_entropy(logits, Y)


def logistic_loss(w, X, y):
    z = tnp.matmul(X, w)
    return tnp.mean(tnp.logaddexp(0.0, tnp.multiply(tnp.negative(y), z)))


def _mlp_data(rng):
    params = {"W1": rng.standard_normal((8, 6)) * 0.5, "b1": rng.standard_normal(6) * 0.1,
              "W2": rng.standard_normal((6, 3)) * 0.5, "b2": np.zeros(3)}
    X = rng.standard_normal((16, 8))
    Y = np.eye(3)[rng.integers(0, 3, 16)]
    return params, X, Y


def _logistic_data(rng, n=40, d=4):
    X = rng.standard_normal((n, d))
    y = np.sign(rng.standard_normal(n))
    return rng.standard_normal(d) * 0.3, X, y


def _check(b: Backend, got, want):
    got_leaves, want_leaves = tc.core.tree_leaves(got), tc.core.tree_leaves(want)
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves, strict=True):
        assert b.is_mine(g), f"got a {type(g).__name__} on {b.name}"
        assert tuple(g.shape) == np.shape(w)
        if b.has_values:
            tol = 2e-4 if b.dtype == "float32" else 1e-10
            np.testing.assert_allclose(b.get(g), w, rtol=tol, atol=tol)


@pytest.fixture(params=PARAMS)
def xb(request) -> Backend:
    return request.param


# --- transformations ----------------------------------------------------------------------


def test_mlp_gradient_eager_and_jit(xb, rng):
    params, X, Y = _mlp_data(rng)
    want = tc.grad(mlp_loss)(params, X, Y)
    p, x, y = xb.put(params), xb.put(X), xb.put(Y)
    _check(xb, tc.grad(mlp_loss)(p, x, y), want)
    jg = tc.jit(tc.grad(mlp_loss))
    _check(xb, jg(p, x, y), want)
    _check(xb, jg(p, x, y), want)  # the cached compiled function


def test_logistic_hessian(xb, rng):
    w, X, y = _logistic_data(rng)
    want = tc.hessian(logistic_loss)(w, X, y)
    _check(xb, tc.hessian(logistic_loss)(xb.put(w), xb.put(X), xb.put(y)), want)


def test_vmap_of_per_example_gradients(xb, rng):
    w, X, y = _logistic_data(rng, n=12)
    per_example = tc.vmap(tc.grad(logistic_loss), in_axes=(None, 0, 0))
    want = per_example(w, X[:, None, :], y[:, None])
    _check(xb, per_example(xb.put(w), xb.put(X[:, None, :]), xb.put(y[:, None])), want)


def test_jvp_and_vjp_keep_the_device(xb, rng):
    w, X, y = _logistic_data(rng)
    f = lambda w: tnp.tanh(tnp.matmul(X_b, w))  # noqa: E731
    X_b = xb.put(X)
    out, tangent = tc.jvp(f, (xb.put(w),), (xb.put(np.ones_like(w)),))
    _, pull = tc.vjp(f, xb.put(w))
    (ct,) = pull(xb.put(np.ones(X.shape[0])))
    for v in (out, tangent, ct):
        assert xb.is_mine(v)


def test_jit_source_uses_the_namespace(xb, rng):
    if xb.module == "numpy":
        pytest.skip("NumPy keeps its own generated code (np. calls, out= buffers)")
    w, X, y = _logistic_data(rng)
    jg = tc.jit(tc.grad(logistic_loss))
    jg(xb.put(w), xb.put(X), xb.put(y))
    src = jg.source()
    assert "xp." in src and "np." not in src.replace("xp.", "")
    # out= buffers only where the library takes them (torch); the standard has no out=.
    # Every backend releases intermediates at their last use, as eager code would.
    assert ("out=" in src) == (xb.module == "torch")
    assert "\n    del " in src


# --- the rules around the backends -------------------------------------------------------


def test_two_libraries_in_one_call_raise():
    torch = pytest.importorskip("torch")
    xs = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match="torch.*array_api_strict|array_api_strict.*torch"):
        tc.grad(logistic_loss)(torch.zeros(3), xs.zeros((4, 3)), xs.ones(4))
    with pytest.raises(TypeError, match="numpy.ndarray"):
        tc.grad(logistic_loss)(torch.zeros(3), np.zeros((4, 3)), torch.ones(4))
    with pytest.raises(TypeError, match="two libraries"):
        tnp.add(torch.zeros(3), xs.zeros(3))


def test_two_devices_in_one_call_raise():
    xs = pytest.importorskip("array_api_strict")
    a = xs.zeros(3)
    b = xs.asarray(np.zeros((4, 3)), device=xs.Device("device1"))
    with pytest.raises(TypeError, match="different devices"):
        tc.grad(logistic_loss)(a, b, xs.ones(4))


def test_numpy_only_function_names_itself_and_the_backend(monkeypatch):
    torch = pytest.importorskip("torch")
    pytest.importorskip("scipy")
    import scipy._lib._array_api as sp_api

    monkeypatch.setattr(sp_api, "SCIPY_ARRAY_API", False)
    with pytest.raises(BackendError, match=r"erf.*torch.*SCIPY_ARRAY_API"):
        tc.scipy.special.erf(torch.linspace(0, 1, 3, dtype=torch.float64))


def test_foreign_array_never_silently_becomes_numpy():
    torch = pytest.importorskip("torch")
    t = torch.linspace(0.1, 1, 4, dtype=torch.float64)
    for fn in (tnp.sin, tnp.cumsum, tnp.sort, lambda v: tnp.sum(v, axis=0),
               lambda v: tnp.where(v > 0.5, v, 0.0), lambda v: tnp.concatenate([v, v])):
        assert isinstance(fn(t), torch.Tensor)


# --- Dask: lazy until .compute(), and on a cluster ---------------------------------------


def _forbid_compute(dsk, keys, **kwargs):  # a dask scheduler that fails the test
    raise AssertionError("a Dask graph was computed inside a tensorcalc transformation")


def test_dask_gradient_and_jit_build_graphs_only(rng):
    da = pytest.importorskip("dask.array")
    import dask

    w, X, y = _logistic_data(rng, n=60)
    want = tc.grad(logistic_loss)(w, X, y)
    Xd, yd, wd = da.from_array(X, chunks=(15, 4)), da.from_array(y, chunks=15), da.asarray(w)
    with dask.config.set(scheduler=_forbid_compute):
        g = tc.grad(logistic_loss)(wd, Xd, yd)
        gj = tc.jit(tc.grad(logistic_loss))(wd, Xd, yd)
        H = tc.hessian(logistic_loss)(wd, Xd, yd)
    assert isinstance(g, da.Array) and isinstance(gj, da.Array) and isinstance(H, da.Array)
    np.testing.assert_allclose(g.compute(), want, rtol=1e-12)
    np.testing.assert_allclose(gj.compute(), want, rtol=1e-12)
    np.testing.assert_allclose(H.compute(), tc.hessian(logistic_loss)(w, X, y), rtol=1e-12)


def _branchy(x):
    # sqrt'(0) = inf in the branch not taken: only the strong zero keeps the NaN out
    return tnp.sum(tnp.where(x > 0, tnp.sqrt(tnp.abs(x)), tnp.multiply(x, x)))


def test_strong_zero_policy_per_backend(xb):
    x = np.array([0.0, 4.0, -2.0])
    want = tc.grad(_branchy)(x)
    assert np.all(np.isfinite(want))
    if xb.lazy:
        import dask

        with dask.config.set(scheduler=_forbid_compute):  # Dask: no NaN test, no compute
            g = tc.grad(_branchy)(xb.put(x))
    else:
        g = tc.grad(_branchy)(xb.put(x))
    _check(xb, g, want)


def test_dask_results_do_not_depend_on_chunking(rng):
    da = pytest.importorskip("dask.array")
    w, X, y = _logistic_data(rng, n=42)
    gs = [tc.grad(logistic_loss)(da.asarray(w), da.from_array(X, chunks=(c, 4)),
                                 da.from_array(y, chunks=c)).compute() for c in (42, 11, 6)]
    np.testing.assert_allclose(gs[1], gs[0], rtol=1e-12)
    np.testing.assert_allclose(gs[2], gs[0], rtol=1e-12)


def test_gradient_on_a_two_process_local_cluster(rng):
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    w, X, y = _logistic_data(rng, n=4000, d=5)
    want = tc.grad(logistic_loss)(w, X, y)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        Xd = da.from_array(X, chunks=(500, 5)).persist()
        yd = da.from_array(y, chunks=500).persist()
        g = tc.grad(logistic_loss)(da.asarray(w), Xd, yd)
        assert isinstance(g, da.Array)
        got = client.compute(g).result()
        workers = client.run(lambda: 1)
    assert len(workers) == 2
    np.testing.assert_allclose(got, want, rtol=1e-12)
