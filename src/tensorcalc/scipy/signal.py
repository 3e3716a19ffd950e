"""``tensorcalc.scipy.signal``: N-dimensional ``convolve`` and ``correlate`` (modes
``'full'``, ``'same'``, ``'valid'``) and the 2-D ``convolve2d``/``correlate2d`` (zero-filled
boundary), differentiable in both inputs; the math is in :mod:`tensorcalc.ops.convolution`."""

from __future__ import annotations

from typing import Any

from ..ops.convolution import _window, convolve, correlate

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d"]


def _check_2d(op: str, boundary: str, fillvalue: Any, *arrays: Any) -> None:
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"{op}: only boundary='fill' with fillvalue=0 is supported")
    for a in arrays:
        if len(a.shape) != 2:
            raise ValueError(f"{op}: inputs must be 2-D, got shape {tuple(a.shape)}")


def convolve2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill",
               fillvalue: Any = 0) -> Any:
    """``scipy.signal.convolve2d`` with a zero-filled boundary."""
    import numpy as np

    in1, in2 = (a if hasattr(a, "shape") else np.asarray(a) for a in (in1, in2))
    _check_2d("convolve2d", boundary, fillvalue, in1, in2)
    return convolve(in1, in2, mode=mode)


def correlate2d(in1: Any, in2: Any, mode: str = "full", boundary: str = "fill",
                fillvalue: Any = 0) -> Any:
    """``scipy.signal.correlate2d`` with a zero-filled boundary."""
    import numpy as np

    in1, in2 = (a if hasattr(a, "shape") else np.asarray(a) for a in (in1, in2))
    _check_2d("correlate2d", boundary, fillvalue, in1, in2)
    if mode == "same":
        # correlate2d centres 'same' on n₂ // 2 of the full result (correlate on (n₂ − 1) // 2).
        full = correlate(in1, in2, mode="full")
        return _window(full, tuple(n // 2 for n in in2.shape), tuple(in1.shape))
    return correlate(in1, in2, mode=mode)
