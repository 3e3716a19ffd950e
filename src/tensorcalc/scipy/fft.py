"""``tensorcalc.scipy.fft``: SciPy's FFT names, re-exported from ``tensorcalc.numpy.fft`` (the
differentiable FFT primitives live there). The lookup happens when a name is first used, so this
module imports even where ``tensorcalc.numpy.fft`` is not available; using a name then raises
``AttributeError`` saying so."""

from __future__ import annotations

import importlib
from typing import Any

NAMES = ("fft", "ifft", "fft2", "ifft2", "fftn", "ifftn", "rfft", "irfft", "rfft2", "irfft2",
         "rfftn", "irfftn", "hfft", "ihfft", "fftfreq", "rfftfreq", "fftshift", "ifftshift")

__all__ = list(NAMES)


def __getattr__(name: str) -> Any:
    if name not in NAMES:
        raise AttributeError(f"module 'tensorcalc.scipy.fft' has no attribute {name!r}")
    try:
        mod = importlib.import_module("tensorcalc.numpy.fft")
    except ImportError as e:
        raise AttributeError(f"tensorcalc.scipy.fft.{name} needs tensorcalc.numpy.fft, which is "
                             f"not available in this installation ({e})") from None
    fn = getattr(mod, name, None)
    if fn is None:
        raise AttributeError(f"tensorcalc.scipy.fft.{name}: tensorcalc.numpy.fft does not "
                             "provide it")
    return fn
