"""``r_``, ``c_`` and ``block``: NumPy's array-building shorthands, on traced values.

``r_[a, b, 0, 1:4]`` concatenates its items along the first axis after making each at least
1-D (a slice ``start:stop:step`` is ``arange``, with an imaginary step ``linspace``); a leading
string ``"axis"`` or ``"axis,ndmin,trans1d"`` changes the axis, the minimum number of
dimensions and where a 1-D item's axis goes, as in NumPy. ``c_`` is ``r_["-1,2,0", …]``.
``block`` joins nested lists: the innermost lists along the last axis, the next ones along
the axis before, after promoting every item to the deepest nesting's number of dimensions.
Every one of them is ``concatenate`` (linear, with its transpose the split), so plain NumPy
items and traced items mix freely.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops._base import dtype_of
from ..ops.shape import concatenate
from ..ops.structural import reshape, transpose
from ._construct import asarray
from ._kinds import has_tracer


def _promote(a: Any, ndmin: int, trans1d: int) -> Any:
    a = asarray(a)
    nd = len(a.shape)
    if nd >= ndmin:
        return a
    new = (1,) * (ndmin - nd) + tuple(a.shape)
    out = reshape(a, new)
    if trans1d != -1:
        # NumPy's rule: the original axes move to start at position trans1d.
        k2 = ndmin - nd
        k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
        axes = list(range(ndmin))
        order = axes[:k1] + axes[k2:] + axes[k1:k2]
        if order != axes:
            out = transpose(out, tuple(order))
    return out


class _Concatenator:
    def __init__(self, np_obj: Any, axis: int, ndmin: int, trans1d: int) -> None:
        self._np, self.axis, self.ndmin, self.trans1d = np_obj, axis, ndmin, trans1d

    def __getitem__(self, key: Any) -> Any:
        if not has_tracer(key):
            return self._np[key]
        items = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        if items and isinstance(items[0], str):
            spec = items[0]
            items = items[1:]
            if spec in ("r", "c"):
                axis, ndmin, trans1d = (0, 1, -1) if spec == "r" else (-1, 2, 0)
            else:
                parts = [int(v) for v in spec.split(",")]
                axis = parts[0]
                if len(parts) > 1:
                    ndmin = parts[1]
                if len(parts) > 2:
                    trans1d = parts[2]
        pieces = []
        for it in items:
            if isinstance(it, slice):
                step = 1 if it.step is None else it.step
                start = 0 if it.start is None else it.start
                if isinstance(step, complex):
                    piece = np.linspace(start, it.stop, int(abs(step)))
                else:
                    piece = np.arange(start, it.stop, step)
                pieces.append(_promote(piece, ndmin, trans1d))
            else:
                pieces.append(_promote(it, ndmin, trans1d))
        dt = np.result_type(*[dtype_of(p) for p in pieces])
        from ..ops.structural import convert

        return concatenate([convert(p, dt) for p in pieces], axis=axis)

    def __len__(self) -> int:
        return 0


r_ = _Concatenator(np.r_, 0, 1, -1)
c_ = _Concatenator(np.c_, -1, 2, 0)


def _depth(x: Any) -> int:
    d = 0
    while isinstance(x, list):
        if not x:
            raise ValueError("block: lists cannot be empty")
        x = x[0]
        d += 1
    return d


def _max_ndim(x: Any) -> int:
    if isinstance(x, list):
        return max(_max_ndim(v) for v in x)
    return len(asarray(x).shape)


def block(arrays: Any) -> Any:
    """``numpy.block``: assemble an array from nested lists of blocks."""
    if not has_tracer(arrays):
        return np.block(arrays)
    if isinstance(arrays, tuple):
        raise TypeError("block: arrays is a tuple; only lists can be used to arrange blocks")
    depth = _depth(arrays)
    nd = max(_max_ndim(arrays), depth)

    def build(node: Any, level: int) -> Any:
        if not isinstance(node, list):
            a = asarray(node)
            return reshape(a, (1,) * (nd - len(a.shape)) + tuple(a.shape))
        parts = [build(v, level + 1) for v in node]
        return concatenate(parts, axis=-(depth - level))

    return build(arrays, 0)


__all__ = ["block", "c_", "r_"]
