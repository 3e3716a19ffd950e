"""The NaN test that triggers the strong-zero rerun (api_util.may_hold_nan): a maximum for real
arrays, a sum for complex ones. It must see a NaN wherever it is, in every float dtype and
layout, and a real array's infinities are no false alarm."""

import numpy as np
import pytest

from tensorcalc.api_util import may_hold_nan


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.longdouble])
@pytest.mark.parametrize("shape", [(1,), (7,), (33, 17), (4, 5, 6)])
def test_a_nan_anywhere_is_seen(dtype, shape):
    base = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    base.flat[::3] = np.inf
    base.flat[1::5] = -np.inf
    assert not may_hold_nan(base) and not may_hold_nan([base, base.T])
    for k in range(base.size):
        x = base.copy()
        x.flat[k] = np.nan
        assert may_hold_nan(x), (shape, k)
        assert may_hold_nan([base, x.T]), (shape, k)      # a transposed view
        if x.ndim > 1:
            assert may_hold_nan(x[:, ::2]) == bool(np.isnan(x[:, ::2]).any())


def test_empty_and_scalar_values():
    assert not may_hold_nan(np.zeros((0, 3)))
    assert not may_hold_nan([np.float64(2.0), 1.5, np.array(np.inf)])
    assert may_hold_nan(np.array(np.nan)) and may_hold_nan(float("nan"))
    assert may_hold_nan(np.float32("nan"))
    assert not may_hold_nan(np.arange(5))                 # integers hold no NaN


def test_complex_arrays_use_the_sum():
    z = np.ones(9, complex)
    assert not may_hold_nan(z)
    z[4] = complex(np.nan, 0.0)
    assert may_hold_nan(z)
    z[4] = complex(0.0, np.nan)
    assert may_hold_nan(z)
