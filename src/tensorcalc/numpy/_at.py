"""``x.at[idx]``: JAX's functional index updates, on traced values and plain arrays.

``set`` and ``add`` (the default ``mode``) are the ``index_set``/``index_add`` primitives with
NumPy's indexing rules (a repeated index: ``set`` keeps the last write, ``add`` accumulates).
``multiply``, ``divide``, ``power``, ``min``, ``max`` and ``apply`` are ``x[idx] ∘ v`` written
back with ``index_set``; where an index repeats, the updates are applied in rounds (the first
occurrence of every position, then the second, …), so ``x.at[[0, 0]].multiply(2)`` multiplies
twice, as in JAX.

``mode`` decides out-of-bounds indices: ``None`` / ``"promise_in_bounds"`` follow NumPy (an
IndexError), ``"clip"`` clamps each index into its axis, ``"drop"`` (and ``"fill"`` for
updates) skips the update, and ``get(mode="fill", fill_value=v)`` returns ``v`` there (NaN by
default for floats). Those modes resolve the index once, on an array of position labels, so
any NumPy index (slices, arrays, ``None``, ``...``) works; ``indices_are_sorted`` and
``unique_indices`` are accepted and change nothing (they are hints in JAX).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..ops import elementwise as ew
from ..ops._base import dtype_of
from ..ops.indexing import take
from ..ops.structural import broadcast_to, convert, getitem, index_add, index_set, reshape
from ._kinds import has_tracer, primal_of

_MODES = (None, "promise_in_bounds", "clip", "drop", "fill")


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(int(d) for d in np.shape(x)) if not hasattr(x, "aval") else \
        tuple(int(d) for d in x.shape)


def _components(idx: Any, nd: int) -> list[tuple[Any, int | None]]:
    """``(component, axis)`` for each index component (axis None for ``None``/``...``)."""
    items = list(idx) if isinstance(idx, tuple) else [idx]
    used = sum(np.ndim(i) if isinstance(i, np.ndarray) and i.dtype == bool else
               (0 if i is None or i is Ellipsis else 1) for i in items)
    out, ax = [], 0
    for it in items:
        if it is Ellipsis:
            out.append((it, None))
            ax += nd - used
        elif it is None:
            out.append((it, None))
        elif isinstance(it, np.ndarray) and it.dtype == bool:
            out.append((it, None))
            ax += it.ndim
        else:
            out.append((it, ax))
            ax += 1
    return out


def labels_of(shape: tuple[int, ...], idx: Any, mode: Any) -> np.ndarray:
    """The flat positions ``x[idx]`` reads, as an integer array of the result's shape; ``-1``
    marks an out-of-bounds position under ``mode="drop"``/``"fill"``."""
    if mode not in _MODES:
        raise ValueError(f"at[]: mode must be one of {_MODES}, got {mode!r}")
    size = int(np.prod(shape, dtype=np.int64))
    labels = np.arange(size).reshape(shape)
    if has_tracer(idx):
        idx = primal_of(idx, "at[]")
    if mode in (None, "promise_in_bounds"):
        return np.asarray(labels[idx])
    comps = _components(idx, len(shape))
    if mode != "clip":
        labels = np.pad(labels, [(0, 1)] * len(shape), constant_values=-1)
    new = []
    for it, ax in comps:
        if ax is None or isinstance(it, slice):
            new.append(it)
            continue
        n = shape[ax]
        v = np.asarray(it)
        v = np.where(v < 0, v + n, v)
        if mode == "clip":
            v = np.clip(v, 0, n - 1)
        else:
            v = np.where((v < 0) | (v >= n), n, v)
        new.append(v if np.ndim(it) else int(v))
    slices_ok = [it if not isinstance(it, slice) else slice(*it.indices(shape[ax]))
                 for it, (_, ax) in zip(new, comps, strict=True)]
    return np.asarray(labels[tuple(slices_ok)])


class _AtRef:
    __slots__ = ("x", "idx")

    def __init__(self, x: Any, idx: Any) -> None:
        self.x, self.idx = x, idx

    def get(self, *, mode: Any = None, fill_value: Any = None, indices_are_sorted: bool = False,
            unique_indices: bool = False) -> Any:
        """``x[idx]`` (with ``mode`` for out-of-bounds indices)."""
        if mode in (None, "promise_in_bounds"):
            return getitem(self.x, self.idx)
        lab = labels_of(_shape(self.x), self.idx, mode)
        flat = reshape(self.x, (-1,))
        out = take(flat, np.maximum(lab, 0)) if lab.size else getitem(flat, lab)
        if mode == "fill" and (lab < 0).any():
            dt = _dtype(self.x)
            fill = fill_value if fill_value is not None else (
                np.nan if dt.kind in "fc" else (np.iinfo(dt).min if dt.kind in "iu" else True))
            out = ew.where(lab < 0, fill, out)
        return out

    def set(self, v: Any, *, mode: Any = None, indices_are_sorted: bool = False,
            unique_indices: bool = False) -> Any:
        """A copy of the array with ``x[idx] = v``."""
        if mode in (None, "promise_in_bounds"):
            return index_set(self.x, self.idx, v)
        return self._flat(mode, v, None)

    def add(self, v: Any, *, mode: Any = None, indices_are_sorted: bool = False,
            unique_indices: bool = False) -> Any:
        """A copy of the array with ``x[idx] += v`` (repeated indices accumulate)."""
        if mode in (None, "promise_in_bounds"):
            return index_add(self.x, self.idx, v)
        return self._flat(mode, v, "add")

    def multiply(self, v: Any, **kw: Any) -> Any:
        """``x[idx] *= v`` (repeated indices multiply repeatedly)."""
        return self._combine(ew.multiply, v, **kw)

    mul = multiply

    def divide(self, v: Any, **kw: Any) -> Any:
        """``x[idx] /= v``."""
        return self._combine(ew.divide, v, **kw)

    def power(self, v: Any, **kw: Any) -> Any:
        """``x[idx] **= v``."""
        return self._combine(ew.power, v, **kw)

    def min(self, v: Any, **kw: Any) -> Any:  # noqa: A003
        """``x[idx] = minimum(x[idx], v)``."""
        return self._combine(ew.minimum, v, **kw)

    def max(self, v: Any, **kw: Any) -> Any:  # noqa: A003
        """``x[idx] = maximum(x[idx], v)``."""
        return self._combine(ew.maximum, v, **kw)

    def apply(self, func: Callable[[Any], Any], *, mode: Any = None,
              indices_are_sorted: bool = False, unique_indices: bool = False) -> Any:
        """``x[idx] = func(x[idx])`` for an elementwise ``func`` (once per position)."""
        lab = labels_of(_shape(self.x), self.idx, mode)
        pos = np.unique(lab[lab >= 0])
        flat = reshape(self.x, (-1,))
        if not pos.size:
            return self.x
        new = func(take(flat, pos))
        return reshape(index_set(flat, pos, _cast(new, flat)), _shape(self.x))

    def _combine(self, op: Callable[[Any, Any], Any], v: Any, *, mode: Any = None,
                 indices_are_sorted: bool = False, unique_indices: bool = False) -> Any:
        return self._flat(mode, v, op)

    def _flat(self, mode: Any, v: Any, op: Any) -> Any:
        shape = _shape(self.x)
        lab = labels_of(shape, self.idx, mode)
        vb = broadcast_to(_cast(v, self.x), lab.shape)
        keep = np.flatnonzero(lab.reshape(-1) >= 0)
        pos = lab.reshape(-1)[keep]
        vals = take(reshape(vb, (-1,)), keep) if keep.size != lab.size else reshape(vb, (-1,))
        flat = reshape(self.x, (-1,))
        if not pos.size:
            return self.x
        if op is None:
            flat = index_set(flat, pos, vals)
        elif op == "add":
            flat = index_add(flat, pos, vals)
        else:
            # rounds: the k-th occurrence of every repeated position in round k
            order = np.argsort(pos, kind="stable")
            sorted_pos = pos[order]
            first = np.r_[True, sorted_pos[1:] != sorted_pos[:-1]]
            start = np.maximum.accumulate(np.where(first, np.arange(pos.size), 0))
            occurrence = np.empty(pos.size, np.intp)
            occurrence[order] = np.arange(pos.size) - start
            for k in range(int(occurrence.max()) + 1):
                sel = np.flatnonzero(occurrence == k)
                p = pos[sel]
                flat = index_set(flat, p, _cast(op(take(flat, p), take(vals, sel)), flat))
        return reshape(flat, shape)


def _dtype(x: Any) -> np.dtype:
    # as a NumPy dtype also for arrays of other libraries (their dtypes never equal NumPy's)
    return dtype_of(x) if hasattr(x, "dtype") else np.asarray(x).dtype


def _cast(v: Any, like: Any) -> Any:
    dt = _dtype(like)
    return v if _dtype(v) == dt else convert(v, dt)


class AtIndexer:
    """``x.at[idx].set(v)`` / ``.add`` / ``.multiply`` / … : functional index updates."""

    __slots__ = ("x",)

    def __init__(self, x: Any) -> None:
        self.x = x

    def __getitem__(self, idx: Any) -> _AtRef:
        return _AtRef(self.x, idx)
