"""The backend ports of issue 14 beyond the op-record table: Dask's blockwise linear algebra
(any chunking, stacks of matrices, lazy until ``.compute()``), Dask's ``take_along_axis`` and
uneven reshapes, compositions that keep their index arithmetic in the array's own library
(quantile, interp, unwrap, place), and the refusal to copy a tracer's foreign value to NumPy.

References are NumPy's own functions (``numpy.linalg``, ``numpy.quantile``, ...) and, for
derivatives, tensorcalc on NumPy arrays, which tests/test_op_records.py checks against central
differences."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.core.backend import BackendError

LA = tnp.linalg


def _forbid_compute(dsk, keys, **kwargs):  # a dask scheduler that fails the test
    raise AssertionError("a Dask graph was computed inside a tensorcalc call")


def _spd(rng, shape, n):
    a = rng.standard_normal(shape + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


# (function, NumPy's, input maker): each a matrix function of a stack of matrices
_LINALG = [
    ("det", LA.det, np.linalg.det, lambda r: r.standard_normal((3, 4, 4))),
    ("slogdet", lambda a: LA.slogdet(a)[1], lambda a: np.linalg.slogdet(a)[1],
     lambda r: r.standard_normal((2, 3, 3))),
    ("inv", LA.inv, np.linalg.inv, lambda r: _spd(r, (3,), 4)),
    ("cholesky", LA.cholesky, np.linalg.cholesky, lambda r: _spd(r, (2,), 5)),
    ("eigvalsh", LA.eigvalsh, np.linalg.eigvalsh, lambda r: _spd(r, (3,), 4)),
    ("pinv", LA.pinv, np.linalg.pinv, lambda r: r.standard_normal((2, 5, 3))),
    ("svdvals", LA.svdvals, np.linalg.svdvals, lambda r: r.standard_normal((3, 4, 6))),
    ("qr_complete_R", lambda a: LA.qr(a, mode="complete")[1],
     lambda a: np.linalg.qr(a, mode="complete")[1], lambda r: r.standard_normal((2, 5, 3))),
    ("eigvals_abs", lambda a: tnp.abs(LA.eigvals(a)), lambda a: np.abs(np.linalg.eigvals(a)),
     lambda r: r.standard_normal((2, 3, 3))),
]


@pytest.mark.parametrize(("name", "fn", "ref", "make"), _LINALG, ids=[c[0] for c in _LINALG])
def test_dask_linalg_on_any_chunking_stays_lazy(rng, name, fn, ref, make):
    da = pytest.importorskip("dask.array")
    import dask

    a = make(rng)
    # chunks that split every axis, the matrix axes unevenly: Dask's own linalg refuses these
    ad = da.from_array(a, chunks=(1,) + tuple(max(1, d - 1) for d in a.shape[1:]))
    want_grad = tc.grad(lambda x: tnp.sum(tnp.sin(fn(x))))(a)
    with dask.config.set(scheduler=_forbid_compute):
        out = fn(ad)
        g = tc.grad(lambda x: tnp.sum(tnp.sin(fn(x))))(ad)
    assert isinstance(out, da.Array) and isinstance(g, da.Array)
    np.testing.assert_allclose(out.compute(), ref(a), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(g.compute(), want_grad, rtol=1e-8, atol=1e-10)


def test_dask_solve_broadcasts_batch_axes_of_different_chunks(rng):
    da = pytest.importorskip("dask.array")
    a, b = _spd(rng, (4,), 3), rng.standard_normal((4, 3, 2))
    got = LA.solve(da.from_array(a, chunks=(1, 2, 2)), da.from_array(b, chunks=(2, 3, 1)))
    np.testing.assert_allclose(got.compute(), np.linalg.solve(a, b), rtol=1e-10)


def test_dask_tall_and_skinny_qr_keeps_its_row_chunks(rng):
    da = pytest.importorskip("dask.array")
    a = rng.standard_normal((40, 3))
    q, r = LA.qr(da.from_array(a, chunks=(10, 3)))
    assert len(q.chunks[0]) == 4  # Dask's TSQR: the matrix is never gathered into one task
    np.testing.assert_allclose((q @ r).compute(), a, atol=1e-12)


def test_dask_take_along_axis_and_uneven_reshape(rng):
    da = pytest.importorskip("dask.array")
    x = rng.standard_normal((4, 5))
    idx = np.argsort(x, axis=1)[:, ::2]
    got = tnp.take_along_axis(da.from_array(x, chunks=(3, 2)),
                              da.from_array(idx, chunks=(2, 2)), axis=1)
    assert isinstance(got, da.Array)
    np.testing.assert_array_equal(got.compute(), np.take_along_axis(x, idx, axis=1))
    y = rng.standard_normal((2, 3, 2))
    r = tnp.reshape(da.from_array(y, chunks=(1, 2, 1)), (3, 4))  # not an even merge/split
    np.testing.assert_array_equal(r.compute(), y.reshape(3, 4))


@pytest.fixture(params=["array_api_strict", "torch", "dask.array"])
def lib(request):
    return pytest.importorskip(request.param)


def _put(lib, x):
    if lib.__name__ == "dask.array":
        return lib.from_array(x, chunks=2)
    return lib.asarray(x)


def _get(y):
    if hasattr(y, "compute"):
        y = y.compute()
    return np.asarray(y.cpu() if hasattr(y, "cpu") else y)


def test_quantile_interp_unwrap_place_in_the_arrays_library(lib):
    x = np.array([3.1, -0.4, 2.2, 7.5, 0.9, 5.0])
    q = np.array([0.1, 0.5, 0.95])
    xb, qb = _put(lib, x), _put(lib, q)
    for method in ("linear", "lower", "higher", "nearest", "midpoint"):
        np.testing.assert_allclose(_get(tnp.quantile(xb, qb, method=method)),
                                   np.quantile(x, q, method=method), rtol=1e-12)
    xn = np.array([1.0, np.nan, 4.0, 2.0])
    np.testing.assert_allclose(_get(tnp.nanmedian(_put(lib, xn))), np.nanmedian(xn))
    # out of [0, 1]: NumPy raises (it reads q); in another library the entry is NaN
    bad = _get(tnp.quantile(xb, _put(lib, np.array([0.5, 1.5]))))
    assert np.isfinite(bad[0]) and np.isnan(bad[1])
    grid, vals = np.array([-1.0, 0.0, 2.0, 5.0]), np.array([0.0, 1.0, -1.0, 3.0])
    np.testing.assert_allclose(_get(tnp.interp(xb, _put(lib, grid), _put(lib, vals))),
                               np.interp(x, grid, vals), rtol=1e-12)
    phase = np.array([0.0, 3.0, 6.5, 0.2, -4.0, 1.0])
    np.testing.assert_allclose(_get(tnp.unwrap(_put(lib, phase))), np.unwrap(phase),
                               rtol=1e-12)
    want = x.copy()
    np.place(want, x > 1.0, [10.0, 20.0])
    np.testing.assert_array_equal(
        _get(tnp.place(xb, tnp.greater(xb, 1.0), _put(lib, np.array([10.0, 20.0])),
                       inplace=False)), want)


def test_tracer_values_of_another_library_are_not_copied_to_numpy():
    torch = pytest.importorskip("torch")
    # trim_zeros's result shape depends on the values, which live in torch
    x = torch.asarray(np.array([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(BackendError, match="trim_zeros"):
        tc.grad(lambda v: tnp.sum(tnp.trim_zeros(v)))(x)
