"""Traced values behave like NumPy arrays: operators, comparisons, attributes and methods."""

import numpy as np

import tensorcalc as tc
import tensorcalc.numpy as tnp


def test_operators_and_methods_under_grad(rng):
    A = rng.standard_normal((3, 3))
    x = rng.standard_normal(3)

    def f(x):
        assert x.shape == (3,) and x.ndim == 1 and x.dtype == np.float64 and x.size == 3
        y = (2.0 + x) * x - x / 3.0 + (-x) ** 2 + 1.0 / (1.0 + x * x)
        z = (A @ x) @ A.T + x @ A
        m = (x > 0) & (x <= 10)
        s = y.sum() + z.mean() + y.reshape(3, 1).T.sum(axis=1)[0] + y.max()
        return s + tnp.sum(tnp.where(m, x, 0.0)) + abs(x).sum() + x[::-1][0] * x[1:].sum()

    tc.check_grads(f, (x,), order=2)


def test_comparisons_return_plain_booleans_under_grad():
    seen = {}

    def f(x):
        seen["cmp"] = x > 0.5
        return tnp.sum(x * 2.0)

    tc.grad(f)(np.array([0.0, 1.0]))
    assert isinstance(seen["cmp"], np.ndarray) and seen["cmp"].tolist() == [False, True]


def test_len_iter_and_astype():
    def f(x):
        assert len(x) == 2
        a, b = x
        return (a * b).astype(np.float32).astype(np.float64)

    np.testing.assert_allclose(tc.grad(f)(np.array([2.0, 3.0])), [3.0, 2.0])
