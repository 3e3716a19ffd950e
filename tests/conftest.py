import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def numpy_tanh(monkeypatch):
    """jit runs NumPy's ``tanh``, as eager code does, instead of its own float64 kernel
    (src/tensorcalc/ops/_tanh_kernel.py, within 2 ulp): for tests that compare jit with eager
    evaluation bit for bit, or to 1e-13 where a gradient cancels."""
    from tensorcalc.ops import elementwise

    # (The tiering probes compare with NumPy's functions whatever this is: no need to redo
    # them.)
    monkeypatch.setattr(elementwise, "_jit_tanh", None)
