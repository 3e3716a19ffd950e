"""The array backends the backend tests run on, each skipped with its reason when its library is
not installed: NumPy, array_api_strict (on its default device and on ``Device("device1")``, which
proves that constants follow the inputs' device), torch CPU in float64 and float32, torch
``meta`` tensors (shapes only: no data, so any hidden read of a value fails), Dask (chunked),
and CuPy (only where a GPU is present).

A :class:`Backend` converts NumPy test data to its arrays (``put``) and back (``get``), and says
how closely its results must match NumPy's (``rtol``/``atol`` by dtype)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest


@dataclass(frozen=True)
class Backend:
    name: str
    module: str            # the library to import (skipped when absent)
    dtype: str = "float64"
    device: str | None = None
    has_values: bool = True
    lazy: bool = False

    @property
    def lib(self) -> Any:
        return importlib.import_module(self.module)

    @property
    def rtol(self) -> float:
        return 2e-4 if self.dtype == "float32" else 1e-7

    @property
    def atol(self) -> float:
        return 1e-4 if self.dtype == "float32" else 1e-9

    def put(self, x: Any) -> Any:
        """NumPy test data as this backend's array (floats in the backend's float dtype)."""
        if isinstance(x, (tuple, list)):
            return type(x)(self.put(v) for v in x)
        if isinstance(x, dict):
            return {k: self.put(v) for k, v in x.items()}
        if isinstance(x, np.generic):
            x = np.asarray(x)
        if not isinstance(x, np.ndarray):
            return x
        if x.dtype.kind == "f":
            x = x.astype(self.dtype)
        if self.module == "numpy":
            return x
        if self.module == "torch":
            import torch
            return torch.asarray(x.copy(), device=self.device or "cpu")
        if self.module == "array_api_strict":
            xs = self.lib
            dev = xs.Device(self.device) if self.device else None
            return xs.asarray(x, device=dev)
        if self.module == "dask.array":
            chunks = tuple(max(1, (d + 1) // 2) for d in x.shape)  # two chunks per axis
            return self.lib.from_array(x, chunks=chunks)
        if self.module == "cupy":
            return self.lib.asarray(x)
        raise AssertionError(self.module)

    def get(self, y: Any) -> np.ndarray:
        """A result as NumPy (computing a Dask graph, copying from a device)."""
        if self.module == "torch":
            return y.detach().cpu().numpy()
        if self.module == "array_api_strict":
            return np.asarray(self.lib.asarray(y, device=self.lib.Device("CPU_DEVICE")))
        if self.module == "dask.array":
            return np.asarray(y.compute())
        if self.module == "cupy":
            return self.lib.asnumpy(y)
        return np.asarray(y)

    def is_mine(self, y: Any) -> bool:
        """Whether ``y`` is an array of this backend, on its device (array type in = out)."""
        if self.module == "numpy":
            return isinstance(y, (np.ndarray, np.generic, float))
        import array_api_compat
        try:
            xp = array_api_compat.array_namespace(y)
        except TypeError:
            return False
        want = self.module.split(".")[0]
        if want not in xp.__name__:
            return False
        if self.device is not None:
            return str(array_api_compat.device(y)) == str(self._device_obj())
        return True

    def _device_obj(self) -> Any:
        if self.module == "array_api_strict":
            return self.lib.Device(self.device)
        return self.device


def _gpu_reason() -> str | None:
    try:
        import cupy
    except ImportError:
        return "cupy is not installed (needs a CUDA GPU; install tensorcalc[gpu])"
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # noqa: BLE001 - any CUDA failure means: no GPU here
        return f"cupy is installed but no CUDA device is usable: {err}"
    return None


BACKENDS = [
    Backend("numpy", "numpy"),
    Backend("strict", "array_api_strict"),
    Backend("strict-device1", "array_api_strict", device="device1"),
    Backend("torch-f64", "torch"),
    Backend("torch-f32", "torch", dtype="float32"),
    Backend("torch-meta", "torch", device="meta", has_values=False),
    Backend("dask", "dask.array", lazy=True),
    Backend("cupy", "cupy"),
]


def backend_param(b: Backend) -> Any:
    """``b`` as a pytest parameter, skipped with the reason when its library is absent."""
    marks = []
    if b.module == "cupy":
        reason = _gpu_reason()
        if reason:
            marks.append(pytest.mark.skip(reason=reason))
    else:
        try:
            importlib.import_module(b.module)
        except ImportError:
            marks.append(pytest.mark.skip(reason=f"{b.module} is not installed "
                                          "(pip install tensorcalc[torch] / [dask] / "
                                          "array-api-strict)"))
    return pytest.param(b, id=b.name, marks=marks)


PARAMS = [backend_param(b) for b in BACKENDS]
