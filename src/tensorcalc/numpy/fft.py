"""``tensorcalc.numpy.fft``: NumPy's discrete Fourier transforms, differentiable.

Every transform is the linear primitive ``fft`` (``tensorcalc/ops/fft.py``) after padding or
cropping the input to the requested lengths (``n``, ``s``) and followed by the constant factor
of the requested normalization: ``"backward"`` (default) puts ``1/n`` on the inverse,
``"ortho"`` ``1/√n`` on both, ``"forward"`` ``1/n`` on the forward transform. ``hfft`` uses
``irfft(conj a) = reverse(irfft a)`` (conjugating a half spectrum reverses the real signal),
and ``ihfft`` of a real signal is the half spectrum of ``ifft``. ``fftshift``/``ifftshift``
are ``roll``; ``fftfreq``/``rfftfreq`` are NumPy's constants. On plain arrays every function
is NumPy's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..ops._base import dtype_of, needs_bind
from ..ops.elementwise import multiply
from ..ops.fft import fft_op
from ..ops.shape import flip, pad, roll
from ..ops.structural import convert, getitem
from ._construct import asarray


def _resize(x: Any, axis: int, n: int) -> Any:
    size = x.shape[axis]
    if n == size:
        return x
    if n < size:
        idx: list[Any] = [slice(None)] * len(x.shape)
        idx[axis] = slice(0, n)
        return getitem(x, tuple(idx))
    widths = [(0, 0)] * len(x.shape)
    widths[axis] = (0, n - size)
    return pad(x, widths)


def _axes_sizes(x: Any, s: Any, axes: Any, last_default: Any = None
                ) -> tuple[list[int], list[int]]:
    nd = len(x.shape)
    if axes is None:
        axes = list(range(nd)) if s is None else list(range(nd - len(s), nd))
    axes = [int(a) % nd for a in axes]
    if len(set(axes)) != len(axes):
        raise ValueError("tnp.fft: repeated axes are not supported on traced values")
    if s is None:
        s = [x.shape[a] for a in axes]
        if last_default is not None:
            s[-1] = last_default
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    return axes, [int(v) for v in s]


def _scale(y: Any, n: int, norm: Any, inverse: bool) -> Any:
    if norm in (None, "backward"):
        return y
    if norm == "ortho":
        f = math.sqrt(n) if inverse else 1.0 / math.sqrt(n)
    elif norm == "forward":
        f = float(n) if inverse else 1.0 / n
    else:
        raise ValueError(f'Invalid norm value {norm}; should be "backward","ortho" or "forward".')
    return multiply(y, f)


def _c2c(a: Any, s: Any, axes: Any, norm: Any, kind: str) -> Any:
    x = asarray(a)
    axes, s = _axes_sizes(x, s, axes)
    for ax, n in zip(axes, s, strict=True):
        x = _resize(x, ax, n)
    order = sorted(range(len(axes)), key=lambda i: axes[i])
    y = fft_op(x, kind, [axes[i] for i in order])
    return _scale(y, math.prod(s), norm, kind == "ifft")


def _r2c(a: Any, s: Any, axes: Any, norm: Any) -> Any:
    x = asarray(a)
    if dtype_of(x).kind == "c":
        raise TypeError("rfft of a complex traced value: use fft")
    axes, s = _axes_sizes(x, s, axes)
    for ax, n in zip(axes, s, strict=True):
        x = _resize(x, ax, n)
    y = fft_op(x, "rfft", _last_kept(axes))
    return _scale(y, math.prod(s), norm, False)


def _last_kept(axes: list[int]) -> list[int]:
    # The primitive halves its last axis: keep the user's last axis last, the others sorted.
    return sorted(axes[:-1]) + [axes[-1]]


def _c2r(a: Any, s: Any, axes: Any, norm: Any) -> Any:
    x = asarray(a)
    nd = len(x.shape)
    last = (int(axes[-1]) if axes is not None else nd - 1) % nd
    axes, s = _axes_sizes(x, s, axes, last_default=2 * (x.shape[last] - 1))
    for ax, n in zip(axes[:-1], s[:-1], strict=True):
        x = _resize(x, ax, n)
    x = _resize(x, axes[-1], s[-1] // 2 + 1)
    if dtype_of(x).kind != "c":
        x = convert(x, np.complex64 if x.dtype == np.float32 else np.complex128)
    y = fft_op(x, "irfft", _last_kept(axes), n_last=s[-1])
    return _scale(y, math.prod(s), norm, True)


def _plain(a: Any) -> bool:
    return not needs_bind(a)


def fft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``numpy.fft.fft``."""
    if _plain(a):
        return np.fft.fft(a, n, axis, norm, out)
    return _c2c(a, None if n is None else [n], [axis], norm, "fft")


def ifft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``numpy.fft.ifft``."""
    if _plain(a):
        return np.fft.ifft(a, n, axis, norm, out)
    return _c2c(a, None if n is None else [n], [axis], norm, "ifft")


def fftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """``numpy.fft.fftn``."""
    if _plain(a):
        return np.fft.fftn(a, s, axes, norm, out)
    return _c2c(a, s, axes, norm, "fft")


def ifftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """``numpy.fft.ifftn``."""
    if _plain(a):
        return np.fft.ifftn(a, s, axes, norm, out)
    return _c2c(a, s, axes, norm, "ifft")


def fft2(a: Any, s: Any = None, axes: Sequence[int] = (-2, -1), norm: Any = None,
         out: Any = None) -> Any:
    """``numpy.fft.fft2``."""
    return np.fft.fft2(a, s, axes, norm, out) if _plain(a) else fftn(a, s, axes, norm)


def ifft2(a: Any, s: Any = None, axes: Sequence[int] = (-2, -1), norm: Any = None,
          out: Any = None) -> Any:
    """``numpy.fft.ifft2``."""
    return np.fft.ifft2(a, s, axes, norm, out) if _plain(a) else ifftn(a, s, axes, norm)


def rfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``numpy.fft.rfft``."""
    if _plain(a):
        return np.fft.rfft(a, n, axis, norm, out)
    return _r2c(a, None if n is None else [n], [axis], norm)


def irfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``numpy.fft.irfft``."""
    if _plain(a):
        return np.fft.irfft(a, n, axis, norm, out)
    return _c2r(a, None if n is None else [n], [axis], norm)


def rfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """``numpy.fft.rfftn``."""
    if _plain(a):
        return np.fft.rfftn(a, s, axes, norm, out)
    return _r2c(a, s, axes, norm)


def irfftn(a: Any, s: Any = None, axes: Any = None, norm: Any = None, out: Any = None) -> Any:
    """``numpy.fft.irfftn``."""
    if _plain(a):
        return np.fft.irfftn(a, s, axes, norm, out)
    return _c2r(a, s, axes, norm)


def rfft2(a: Any, s: Any = None, axes: Sequence[int] = (-2, -1), norm: Any = None,
          out: Any = None) -> Any:
    """``numpy.fft.rfft2``."""
    return np.fft.rfft2(a, s, axes, norm, out) if _plain(a) else rfftn(a, s, axes, norm)


def irfft2(a: Any, s: Any = None, axes: Sequence[int] = (-2, -1), norm: Any = None,
           out: Any = None) -> Any:
    """``numpy.fft.irfft2``."""
    return np.fft.irfft2(a, s, axes, norm, out) if _plain(a) else irfftn(a, s, axes, norm)


def hfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``numpy.fft.hfft``: the real signal of a Hermitian-symmetric half spectrum."""
    if _plain(a):
        return np.fft.hfft(a, n, axis, norm, out)
    x = asarray(a)
    m = x.shape[axis]
    n = 2 * (m - 1) if n is None else int(n)
    swapped = {None: "forward", "backward": "forward", "forward": "backward",
               "ortho": "ortho"}[norm]
    y = irfft(x, n, axis, swapped)
    return roll(flip(y, axis), 1, axis)        # irfft(conj a) is irfft(a) reversed in time


def ihfft(a: Any, n: Any = None, axis: int = -1, norm: Any = None, out: Any = None) -> Any:
    """``numpy.fft.ihfft`` of a real signal: ``conj(rfft(a)) / n``."""
    if _plain(a):
        return np.fft.ihfft(a, n, axis, norm, out)
    x = asarray(a)
    if dtype_of(x).kind == "c":
        raise TypeError("ihfft of a complex traced value is not supported")
    size = x.shape[axis] if n is None else int(n)
    if norm not in (None, "backward", "ortho", "forward"):
        raise ValueError(f'Invalid norm value {norm}; should be "backward","ortho" or "forward".')
    full = _c2c(x, [size], [axis], None, "ifft")
    idx: list[Any] = [slice(None)] * len(full.shape)
    idx[axis] = slice(0, size // 2 + 1)
    # conj(F x) = n · ifft(x) for real x; NumPy applies the swapped norm to rfft.
    factor = {None: 1.0, "backward": 1.0, "ortho": math.sqrt(size), "forward": float(size)}
    half = getitem(full, tuple(idx))
    return half if factor[norm] == 1.0 else multiply(half, factor[norm])


def fftshift(x: Any, axes: Any = None) -> Any:
    """``numpy.fft.fftshift``: ``roll`` by half of each axis."""
    if _plain(x):
        return np.fft.fftshift(x, axes)
    x = asarray(x)
    axes = list(range(len(x.shape))) if axes is None else (
        [axes] if isinstance(axes, int) else list(axes))
    return roll(x, [x.shape[a] // 2 for a in axes], axes)


def ifftshift(x: Any, axes: Any = None) -> Any:
    """``numpy.fft.ifftshift``: the inverse roll."""
    if _plain(x):
        return np.fft.ifftshift(x, axes)
    x = asarray(x)
    axes = list(range(len(x.shape))) if axes is None else (
        [axes] if isinstance(axes, int) else list(axes))
    return roll(x, [-(x.shape[a] // 2) for a in axes], axes)


__all__ = ["fft", "fft2", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn",
           "ifftshift", "ihfft", "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftn"]
