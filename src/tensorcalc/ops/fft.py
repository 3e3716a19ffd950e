"""Discrete Fourier transforms: one linear primitive, ``fft``, with the transform kind as a
parameter (``"fft"``, ``"ifft"``, ``"rfft"``, ``"irfft"``) over ``axes``, NumPy's ``"backward"``
normalization (``tensorcalc.numpy.fft`` scales for ``"ortho"``/``"forward"`` and pads or crops
for ``n``/``s``, so the primitive's operand already has the transform's lengths).

Transposes (the linear map's transpose, with JAX's convention for complex cotangents: a real
input's cotangent is the real part, ``grad`` of a real loss is ``∂/∂Re − i ∂/∂Im``):

* ``fft``: the DFT matrix ``F`` is symmetric, so ``Fᵀ = F`` — the transpose is ``fft``;
* ``ifft``: ``conj(F)/n`` is symmetric too — the transpose is ``ifft``;
* ``rfft = P F`` on real input (``P`` keeps the first ``n//2 + 1`` frequencies): the transpose
  is ``Re(F Pᵀ ct)``, the real part of the ``fft`` of the zero-padded cotangent;
* ``irfft``: with the Hermitian weights ``w = (1, 2, …, 2, 1)`` (the last 1 only for even
  ``n``) the transpose is ``w · ifft(ct)[: n//2 + 1]``.

Batching moves the batch axis to the front and shifts ``axes``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.backend import BackendError, backend_name, defxp, numpy_dtype, xp_dtype
from ..core.primitive import Primitive, bind, get_aval
from ..core.shapes import ShapedArray
from ..interpreters.batch import defbatch
from ..interpreters.transpose import deflinear
from .elementwise import multiply
from .shape import moveaxis
from .structural import convert, getitem

_NP = {"fft": np.fft.fftn, "ifft": np.fft.ifftn, "rfft": np.fft.rfftn, "irfft": np.fft.irfftn}


def _complex_of(dt: np.dtype) -> np.dtype:
    return np.dtype(np.complex64) if dt in (np.float32, np.complex64) else \
        np.dtype(np.complex128)


def _real_of(dt: np.dtype) -> np.dtype:
    return np.dtype(np.float32) if dt in (np.float32, np.complex64) else np.dtype(np.float64)


def _fft_impl(x: Any, *, kind: str, axes: tuple[int, ...], n_last: int) -> Any:
    x = np.asarray(x)
    if kind == "irfft":
        s = [x.shape[a] for a in axes[:-1]] + [n_last]
        out = np.fft.irfftn(x, s=s, axes=axes)
        return out.astype(_real_of(x.dtype), copy=False)
    if not axes:
        return x.astype(_complex_of(x.dtype))
    out = _NP[kind](x, axes=axes)
    return out.astype(_complex_of(x.dtype), copy=False)


def _fft_abstract(x: ShapedArray, *, kind: str, axes: tuple[int, ...], n_last: int
                  ) -> ShapedArray:
    shape = list(x.shape)
    if kind == "rfft":
        shape[axes[-1]] = shape[axes[-1]] // 2 + 1
        return ShapedArray(tuple(shape), _complex_of(x.dtype))
    if kind == "irfft":
        shape[axes[-1]] = n_last
        return ShapedArray(tuple(shape), _real_of(x.dtype))
    return ShapedArray(tuple(shape), _complex_of(x.dtype))


fft_p = Primitive("fft", _fft_impl, _fft_abstract)


@defxp(fft_p)
def _fft_xp(xp: Any, x: Any, *, kind: str, axes: tuple[int, ...], n_last: int) -> Any:
    # the standard's fft extension: fftn/ifftn take complex input (cast first), rfftn real;
    # Dask transforms an axis only when it is one chunk
    fft = getattr(xp, "fft", None)
    if fft is None:
        raise BackendError(f"fft: {backend_name(xp)} has no fft module (the array-API fft "
                           "extension is optional); use NumPy, torch, CuPy or Dask")
    dt = numpy_dtype(x.dtype)
    if axes and backend_name(xp).startswith("dask"):
        x = x.rechunk({a: -1 for a in axes})
    if kind == "irfft":
        s = [int(x.shape[a]) for a in axes[:-1]] + [n_last]
        return xp.astype(fft.irfftn(x, s=s, axes=axes), xp_dtype(xp, _real_of(dt)))
    cdt = xp_dtype(xp, _complex_of(dt))
    if kind == "rfft":
        return xp.astype(fft.rfftn(x, axes=axes), cdt)
    x = xp.astype(x, cdt)
    if not axes:
        return x
    return (fft.fftn if kind == "fft" else fft.ifftn)(x, axes=axes)


def _pad_last(ct: Any, axis: int, n: int) -> Any:
    from .shape import pad

    shape = get_aval(ct).shape
    widths = [(0, 0)] * len(shape)
    widths[axis] = (0, n - shape[axis])
    return pad(ct, widths)


def _hermitian_weights(n: int, m: int) -> np.ndarray:
    w = np.full(m, 2.0)
    w[0] = 1.0
    if n % 2 == 0 and m > 1:
        w[-1] = 1.0
    return w


def _fft_transpose(ct: Any, x: Any, *, kind: str, axes: tuple[int, ...], n_last: int
                   ) -> tuple[Any]:
    if kind in ("fft", "ifft"):
        out = bind(fft_p, ct, kind=kind, axes=axes, n_last=0)
        # a real operand's cotangent is the real part (the transpose of real -> complex)
        return (out if x.aval.dtype.kind == "c" else convert(out, x.aval.dtype),)
    last = axes[-1]
    if kind == "rfft":
        n = x.aval.shape[last]
        full = bind(fft_p, _pad_last(ct, last, n), kind="fft", axes=axes, n_last=0)
        return (convert(full, x.aval.dtype),)
    # irfft: x is the half spectrum of length m = n_last // 2 + 1
    m = x.aval.shape[last]
    spec = bind(fft_p, convert(ct, _complex_of(get_aval(ct).dtype)), kind="ifft", axes=axes,
                n_last=0)
    idx: list[Any] = [slice(None)] * len(x.aval.shape)
    idx[last] = slice(0, m)
    w = _hermitian_weights(n_last, m).reshape((m,) + (1,) * (len(x.aval.shape) - 1 - last))
    return (multiply(getitem(spec, tuple(idx)), w),)


def _fft_batch(args: Sequence[Any], dims: Sequence[Any], *, kind: str, axes: tuple[int, ...],
               n_last: int) -> tuple[Any, int]:
    x = moveaxis(args[0], dims[0], 0)
    return bind(fft_p, x, kind=kind, axes=tuple(a + 1 for a in axes), n_last=n_last), 0


deflinear(fft_p, _fft_transpose)
defbatch(fft_p, _fft_batch)


def fft_op(x: Any, kind: str, axes: Sequence[int], n_last: int = 0) -> Any:
    """Apply the ``kind`` transform over ``axes`` (non-negative, distinct) to ``x``."""
    return bind(fft_p, x, kind=kind, axes=tuple(int(a) for a in axes), n_last=int(n_last))
