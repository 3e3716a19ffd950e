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
    from tensorcalc.compile import tiering
    from tensorcalc.ops import elementwise

    monkeypatch.setattr(elementwise, "_jit_tanh", None)
    # The tiering probe compares fused kernels with what jit runs: probe again.
    monkeypatch.setattr(tiering, "_exact", None)
    monkeypatch.setattr(tiering, "_through_numpy", None)
