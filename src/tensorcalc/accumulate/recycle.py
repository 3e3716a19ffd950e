"""Arrays a Jacobian function keeps between its calls, to write its next products into.

A structured elimination makes its dense values afresh on every call: the scaled intermediate
``(D₂W₂)·D₁`` and the result block ``(D₂W₂D₁)·W₁`` of bench W3, a megabyte each. NumPy takes
memory that large from glibc, which serves it from pages the kernel must hand out again
whenever the heap was trimmed or the block was mapped on its own (``mmap``): each call then
pays a minor page fault per 4 KiB page it writes (W3: about 480 faults, 0.4–0.5 ms of a
3.8 ms call where glibc keeps trimming its heap). Which calls fault depends on what the process
freed before: the same program runs at two speeds, and a hand-written NumPy version that
happens to free a larger block first does not fault at all.

So ``jacobian(f)`` keeps a :class:`Recyclers` free list. A call takes one :class:`Recycler`
(``list.pop``, atomic: calls in flight in several threads never share one), gets the memory of
every large dense product or sum from :meth:`Recycler.empty`, and gives the recycler back when
it returns. ``empty(shape, dtype)`` hands out an array an earlier call made, of that shape and
dtype, once nothing but the recycler holds it any more; otherwise a new one. That is the test
``tc.jit``'s recycled results use (:mod:`tensorcalc.compile.pool`): the reference count. A
result the caller still holds, a view of it, a buffer export or a weak reference keeps an
array from being handed out, so nothing a caller can see ever changes. Where the count cannot
tell (an interpreter without the GIL, or one whose count does not behave as calibrated at
import) every call allocates, as before.

Memory: a recycler keeps the arrays of its last :data:`GENERATIONS` calls (so ``J = jac(x)`` in
a loop, which still binds the last ``J`` during the call, reuses the one before), at most
:data:`MAX_BYTES`, and only arrays of at least :data:`MIN_BYTES` (smaller ones come from memory
glibc's arena already holds). It is freed with the Jacobian function.
"""

from __future__ import annotations

import math
import sys
import weakref
from typing import Any

import numpy as np

#: The smallest array kept: below it glibc serves an allocation without touching fresh pages.
MIN_BYTES = 64 << 10
#: The most bytes one recycler keeps.
MAX_BYTES = 256 << 20
#: Calls whose arrays a recycler keeps.
GENERATIONS = 2


def first_dropped(arrays: list[np.ndarray], shape: tuple[int, ...] | None = None,
                  dtype: np.dtype | None = None, _alone: int | None = None) -> int:
    """The position of the first array of ``arrays`` (of that shape and dtype, when given)
    that nothing but the list holds: its reference count is the calibrated :data:`ALONE` and
    it has no weak reference. −1 when there is none, or when the count cannot tell. This is
    the one test of both this module and ``tc.jit``'s recycled results
    (:mod:`tensorcalc.compile.pool`); ``_alone`` is for the calibration only."""
    alone = ALONE if _alone is None else _alone
    if alone is None:
        return -1
    for k in range(len(arrays)):
        a = arrays[k]
        if (shape is None or (a.shape == shape and a.dtype == dtype)) \
                and sys.getrefcount(a) == alone and not weakref.getweakrefcount(a):
            return k
    return -1


def _calibrate() -> int | None:
    """The count :func:`first_dropped` reads for an array only its list holds, checked to
    differ with one more holder; None where the count cannot tell the two apart or the GIL is
    off."""
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        return None
    for alone in range(1, 8):
        if first_dropped([np.empty(1)], _alone=alone) == 0:
            held = np.empty(1)
            return alone if first_dropped([held], _alone=alone) == -1 else None
    return None


#: The reference count of an array only its list holds (None: the count cannot tell, and
#: nothing is ever recycled).
ALONE: int | None = _calibrate()


class Recycler:
    """The arrays one call in flight may reuse (``kept``) and those it made (``made``)."""

    __slots__ = ("kept", "made")

    def __init__(self) -> None:
        self.kept: list[np.ndarray] = []
        self.made: list[np.ndarray] = []

    def empty(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
        """An uninitialized array to write a product into: a kept one nothing else holds any
        more, or a new one; large arrays are remembered for the next calls."""
        dtype = np.dtype(dtype)
        if math.prod(shape) * dtype.itemsize < MIN_BYTES:
            return np.empty(shape, dtype)
        k = first_dropped(self.kept, shape, dtype)
        a = self.kept.pop(k) if k >= 0 else np.empty(shape, dtype)
        self.made.append(a)
        return a

    def finish(self) -> None:
        """End of a call: keep its arrays and the newest earlier ones, within the bounds."""
        made, self.made = self.made, []
        kept = self.kept + made
        del kept[:max(len(kept) - GENERATIONS * max(len(made), 1), 0)]
        total = sum(a.nbytes for a in kept)
        while kept and total > MAX_BYTES:
            total -= kept.pop(0).nbytes
        self.kept = kept


class Recyclers:
    """The free list of one Jacobian function: a recycler per call in flight."""

    __slots__ = ("_free",)

    def __init__(self) -> None:
        self._free: list[Recycler] = []

    def take(self) -> Recycler:
        try:
            return self._free.pop()
        except IndexError:
            return Recycler()

    def give(self, recycler: Recycler) -> None:
        """Put back the recycler of a call that returned (one that raised is dropped: its
        traceback may still show the arrays)."""
        recycler.finish()
        self._free.append(recycler)
