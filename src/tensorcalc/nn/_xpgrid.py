"""Window arithmetic of the convolution and pooling primitives on any array-API namespace.

The NumPy impls use strided views and in-place strided adds; neither is in the array-API
standard (Dask and array_api_strict have no views, Dask no reliable in-place add). Here every
step is a pure function of whole arrays:

* ``pad(x, p, v)``: the spatial axes (2, 3, …) of ``x`` grown by ``p`` entries of value ``v``
  on both sides (a concatenation per axis);
* ``window(x, k, s, d, out)``: the entries ``x[n, c, s·o + d·k]`` for ``o < out`` (one strided
  basic slice);
* ``place(v, start, s, size)``: the adjoint of ``window``: a zero array of spatial ``size`` with
  ``v[n, c, o]`` at ``start + s·o``. A stride ``s > 1`` interleaves ``s - 1`` zeros after each
  entry (stack with zeros, then reshape); zeros are concatenated before and after.
"""

from __future__ import annotations

import itertools
from typing import Any

from ..core.backend import device


def offsets(kernel: tuple[int, ...]) -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(k) for k in kernel)))


def _full(xp: Any, like: Any, shape: tuple[int, ...], value: float) -> Any:
    return xp.full(shape, value, dtype=like.dtype, device=device(like))


def pad(xp: Any, x: Any, padding: tuple[int, ...], value: float = 0.0) -> Any:
    for ax, p in enumerate(padding, start=2):
        if p:
            shape = tuple(p if i == ax else n for i, n in enumerate(x.shape))
            edge = _full(xp, x, shape, value)
            x = xp.concat([edge, x, edge], axis=ax)
    return x


def window(x: Any, k: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...],
           out: tuple[int, ...]) -> Any:
    return x[(slice(None), slice(None)) + tuple(
        slice(d * ki, d * ki + s * (o - 1) + 1, s)
        for ki, s, d, o in zip(k, stride, dilation, out, strict=True))]


def place(xp: Any, v: Any, start: tuple[int, ...], stride: tuple[int, ...],
          size: tuple[int, ...]) -> Any:
    for ax, (b, s, n) in enumerate(zip(start, stride, size, strict=True), start=2):
        o = v.shape[ax]
        if s > 1:
            gap = _full(xp, v, v.shape, 0.0)
            v = xp.stack([v] + [gap] * (s - 1), axis=ax + 1)
            merged = v.shape[:ax] + (o * s,) + v.shape[ax + 2:]
            v = xp.reshape(v, merged)
            v = v[(slice(None),) * ax + (slice(0, s * (o - 1) + 1), ...)]
        after = n - b - v.shape[ax]
        parts = []
        for width in (b, None, after):
            if width is None:
                parts.append(v)
            elif width:
                parts.append(_full(xp, v, v.shape[:ax] + (width,) + v.shape[ax + 1:], 0.0))
        v = parts[0] if len(parts) == 1 else xp.concat(parts, axis=ax)
    return v


def crop(x: Any, padding: tuple[int, ...], spatial: tuple[int, ...]) -> Any:
    if not any(padding):
        return x
    return x[(slice(None), slice(None)) + tuple(
        slice(p, p + n) for p, n in zip(padding, spatial, strict=True))]


def as_float(xp: Any, x: Any) -> Any:
    if xp.isdtype(x.dtype, ("real floating", "complex floating")):
        return x
    return xp.astype(x, xp.float64)
