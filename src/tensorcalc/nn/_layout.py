"""Memory layout of the NumPy convolution and pooling impls: batch innermost.

The arrays keep the channels-first *shape* ``(N, C, *S)`` users see, but the impls store them
with the batch axis innermost in memory, the layout ``(C, *S, N)`` (an ``(N, C, *S)`` array
whose ``N`` stride is the element size). Why: the maps act on short spatial axes (8×8 digits,
2×2 pooling windows), so every NumPy loop over a channels-first array runs over a handful of
entries per call; with ``N`` innermost, the strided slices of pooling and the im2col copy move
runs of ``N`` (or ``W·N``) contiguous entries, and a convolution is one GEMM over all ``N·ΠO``
output positions instead of ``N`` small ones. NumPy's ufuncs allocate their results in the
layout of their operands (order ``K``), so the bias add and the relu between a convolution and
a pooling keep it at no cost; a reshape to a dense layer's ``(N, features)`` copies once.

* ``nlast(a)``: ``(N, C, *S)`` → a contiguous ``(C, *S, N)`` array (no copy when ``a`` already
  has that layout);
* ``nfirst(b)``: the inverse, a view;
* ``like(ref, shape, dtype, value)``: a filled array in ``ref``'s memory order;
* ``pad(x, p, value)``: the spatial axes grown by ``p`` on both sides, in ``x``'s memory order
  (``crop`` undoes it).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def nlast(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, 0, -1))


def nfirst(b: np.ndarray) -> np.ndarray:
    return np.moveaxis(b, -1, 0)


def like(ref: np.ndarray, shape: tuple[int, ...], dtype: Any, value: float = 0.0) -> np.ndarray:
    # full_like with order "K" and an explicit shape of the same rank keeps ref's axis order.
    return np.full_like(ref, value, dtype=dtype, shape=shape)


def pad(x: np.ndarray, padding: tuple[int, ...], value: float = 0.0) -> np.ndarray:
    if not any(padding):
        return x
    shape = (*x.shape[:2], *(n + 2 * p for n, p in zip(x.shape[2:], padding, strict=True)))
    out = like(x, shape, x.dtype, value)
    inner = tuple(slice(p, p + n) for p, n in zip(padding, x.shape[2:], strict=True))
    out[(slice(None), slice(None)) + inner] = x
    return out


def nlast_padded(x: np.ndarray, padding: tuple[int, ...]) -> np.ndarray:
    """``nlast(pad(x, padding))`` with one copy: the transpose happens before the padding."""
    return nlast(pad(nfirst(nlast(x)), padding))


def crop(xp: np.ndarray, padding: tuple[int, ...], spatial: tuple[int, ...]) -> np.ndarray:
    """The inverse of ``pad``: the interior, copied (order ``K``) so the padded buffer is
    freed."""
    if not any(padding):
        return xp
    idx = (slice(None), slice(None)) + tuple(slice(p, p + n)
                                             for p, n in zip(padding, spatial, strict=True))
    return xp[idx].copy(order="K")
