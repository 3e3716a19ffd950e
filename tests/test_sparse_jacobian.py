"""Sparse Jacobians: detected patterns, colouring, compressed sweeps equal dense Jacobians."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.jacobians.sparse import sparsity_pattern
from tensorcalc.transforms import _linearize_for, jacfwd, jacobian

sp = pytest.importorskip("scipy.sparse")


@pytest.mark.parametrize("f,shape", [
    (lambda x: x ** 2, (50,)),
    (lambda x: tnp.sin(x[1:] * x[:-1]) + x[1:], (30,)),
    (lambda x: tnp.sum(x, axis=1) * x[:, 0], (6, 4)),
    (lambda x: tnp.transpose(x) * 2.0 + x[::-1].T, (4, 4)),
    (lambda x: tnp.tanh(x)[::2] - x[1::2] ** 3, (20,)),
])
def test_sparse_equals_dense(f, shape, rng):
    x = rng.standard_normal(shape)
    J = jacfwd(f)(x)
    m = int(np.prod(J.shape[:J.ndim - len(shape)]))
    dense = J.reshape(m, -1)
    S = jacobian(f, sparse=True)(x)
    assert sp.issparse(S)
    np.testing.assert_allclose(S.toarray(), dense, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(jacobian(f, sparse="dense")(x), dense, rtol=1e-12, atol=1e-14)
    # the detected pattern covers every nonzero
    pat = sparsity_pattern(_linearize_for(f, (x,), 0, False, "t")[0]).toarray()
    assert not np.any((dense != 0) & ~pat)


def test_diagonal_pattern_needs_one_sweep(rng):
    x = rng.standard_normal(1000)
    S = jacobian(lambda x: tnp.exp(x) * 3.0, sparse=True)(x)
    assert S.nnz == 1000
    np.testing.assert_allclose(S.diagonal(), 3 * np.exp(x))


def test_sparse_option_error():
    with pytest.raises(ValueError, match="sparse="):
        jacobian(tnp.sin, sparse="coo")
    assert tc is not None
