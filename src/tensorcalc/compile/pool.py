"""The call pool: buffers a compiled function keeps between calls for its first allocations.

The buffer plan (:mod:`tensorcalc.compile.buffers`) writes a ufunc result with ``out=`` into a
dead buffer whenever one of the right shape and dtype is free, but each buffer still has a
first allocation, made afresh on every call. For arrays of more than a few hundred kilobytes
NumPy's allocator gets that memory from the kernel (``mmap``, or a heap glibc trims again when
it is freed), so every call touches fresh pages and pays a minor page fault per 4 KiB page
(bench S1, the CNN gradient, run alone: ~1,250 faults per call; ``bench.page_faults``).

So a compiled function holds a free list of *pools*, each a list of preallocated arrays, one
per first allocation the plan marks poolable (``BufferPlan.poolable``). A call takes a pool
from the list at entry (``list.pop``, atomic; a new pool when the list is empty), writes each
first allocation into its pool buffer with ``out=``, and puts the pool back just before it
returns. Why that is safe:

* **Results are fresh.** A buffer is poolable only if no owner of its memory — the chain of
  values written into it in place — may alias a returned value (the plan's aliasing rules:
  the result of an operation of unknown aliasing aliases all its operands), so nothing a call
  returns lives in a pool buffer; the next call cannot change it. (A pool may also keep
  results the caller has dropped, to write into again: "Recycled results" below.)
* **Concurrent and recursive calls never share a pool:** a pool belongs to one call from its
  ``pop`` to its ``append``, so N overlapping calls hold N pools (the list grows to the
  largest number of calls in flight and stays there).
* **A call that raises does not give its pool back** (it is dropped with the frame, and a
  later call makes a new one): the traceback may still show its arrays. The one exception
  is jit's own strong-zero signal, raised by a generated check and caught by jit, which
  reads nothing of the failed call: that check puts the pool back first.
* ``out=`` never casts: the plan marks only equations whose ufunc result dtype is certainly
  the buffer's, and no 0-d results.

Only buffers of at least :data:`POOL_MIN_BYTES` (64 KiB) are pooled: smaller allocations come
from memory glibc's arena already holds, so there is nothing to save, and each pooled line
lengthens the source Python compiles.

Memory: one pool holds at most :data:`POOL_BYTES` (256 MiB; ``TENSORCALC_JIT_POOL_BYTES``
overrides it, read when a signature is compiled): first allocations are pooled in program
order while they fit, those that no longer fit allocate per call. The memory stays with the
compiled signature (``jit``'s cache) until the jitted function is dropped. ``jit(f,
pool=False)`` or ``TENSORCALC_JIT_POOL=0`` turns the pool off, which gives the code of before.
The bodies of ``tensorcalc.lax`` loops and branches are compiled functions with pools of their
own; they are compiled while the enclosing program's source is generated, and follow its
``pool=`` choice (:func:`pool_choice`, a context variable) or, without one, the environment.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..accumulate.recycle import ALONE as _ALONE
from ..accumulate.recycle import first_dropped
from .options import env_switch

#: The most bytes one pool holds (see the module docstring).
POOL_BYTES = 256 << 20
#: The smallest buffer pooled. Below it glibc serves an allocation from memory its arena
#: already holds (no page faults to save), and a pool line would only lengthen the source
#: Python compiles: a chain on 16 floats keeps the code of before.
POOL_MIN_BYTES = 64 << 10


#: The ``pool=`` of the program whose source is being generated, for the bodies compiled
#: inside it (a context variable: each thread and task has its own).
_enclosing: contextvars.ContextVar[bool | None] = contextvars.ContextVar(
    "tensorcalc_jit_pool", default=None)


def pool_enabled(pool: bool | None) -> bool:
    """``pool=None`` follows the enclosing program's choice (:func:`pool_choice`), else
    ``TENSORCALC_JIT_POOL`` (on unless set to 0/false/off/no)."""
    if pool is None:
        pool = _enclosing.get()
    if pool is None:
        return env_switch("TENSORCALC_JIT_POOL") is not False
    return bool(pool)


@contextlib.contextmanager
def pool_choice(pool: bool | None) -> Iterator[None]:
    """Within: bodies compiled with ``pool=None`` follow ``pool`` (when it is not None)."""
    if pool is None:
        yield
        return
    token = _enclosing.set(pool)
    try:
        yield
    finally:
        _enclosing.reset(token)


def _cap() -> int:
    text = os.environ.get("TENSORCALC_JIT_POOL_BYTES")
    if text is None:
        return POOL_BYTES
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"jit: TENSORCALC_JIT_POOL_BYTES must be a number of bytes, got "
                         f"{text!r}; unset it for the default {POOL_BYTES}") from None


def pool_slots(poolable: dict[int, tuple]) -> dict[int, str]:
    """The pool buffer name (``_b0``, ``_b1``, …) of each pooled equation of at least
    :data:`POOL_MIN_BYTES`, in program order, while the pool stays within the byte cap."""
    cap = _cap()
    total = 0
    slots: dict[int, str] = {}
    for k, (shape, dtype) in poolable.items():
        size = math.prod(shape) * dtype.itemsize
        if size < POOL_MIN_BYTES:
            continue  # small: the allocator's arena serves it without a fault
        if total + size > cap:
            continue  # too big for what is left: this one allocates per call
        total += size
        slots[k] = f"_b{len(slots)}"
    return slots


def _pool_maker(keys: list[tuple], recycled: int = 0) -> Callable[[], list[Any]]:
    def new_pool() -> list[Any]:
        pool: list[Any] = [np.empty(shape, dtype) for shape, dtype in keys]
        if recycled:  # the results kept for recycling, per recycled position (none yet)
            pool.append([[] for _ in range(recycled)])
        return pool

    return new_pool


def pool_prologue(slots: dict[int, str], poolable: dict[int, tuple],
                  env: dict[str, Any], recycled: dict[int, tuple[str, int, int]] | None = None
                  ) -> list[str]:
    """Bind the free list into the generated module's globals (``_take``, ``_give``,
    ``_new_pool``; the list itself as ``_pools``) and return the lines that open a call: take
    a pool, or make one when every pool is in use; with ``recycled`` (:func:`recycle_slots`),
    also bind each ``_r`` name to a kept result the caller has dropped, or None."""
    keys = [poolable[k] for k in slots]
    recycled = recycled or {}
    free: list[list[Any]] = []
    env["_pools"], env["_take"], env["_give"] = free, free.pop, free.append
    env["_new_pool"] = _pool_maker(keys, len(recycled))
    names = list(slots.values()) + (["_kept"] if recycled else [])
    lines = ["    try:",
             "        _pool = _take()",
             "    except IndexError:",
             "        _pool = _new_pool()",
             f"    {', '.join(names)}, = _pool"]
    if recycled:
        env["_dropped"] = dropped_results
        env["_keep"] = _keeper(tuple(g for _, _, g in recycled.values()))
        lines.append(f"    {', '.join(r for r, _, _ in recycled.values())}, = _dropped(_kept)")
    return lines


# --- Recycled results ---------------------------------------------------------------------
#
# A returned array of at least POOL_MIN_BYTES is, on every call, a first allocation too: above
# glibc's mmap threshold (32 MiB at most) each call gets it from the kernel, which zeroes every
# page it hands out (bench S3's 205 MB of per-example gradients: 42 ms fresh, 30 ms written into
# an existing array). A pool therefore keeps the last results of each position the buffer plan
# marks recyclable (``BufferPlan.recyclable``: the returned owner of memory no other returned
# value may share), and a call writes into one of them with ``out=`` when nothing but the pool
# holds it any more: the caller dropped it, so no one can see it change. That is NumPy's own
# test for reusing a temporary in place (``a + b + c``): the reference count. Two generations
# are kept, so ``g = f(x)`` in a loop (where the last ``g`` is still bound during the call)
# recycles the result of the call before last.
#
# Why the count is a sound test: every Python reference to the array counts, and so do a view
# (its ``base``), a memoryview or buffer export, ``torch.from_numpy``, ``np.frombuffer``; a weak
# reference does not, so an array with one is never recycled. A raw pointer taken with
# ``.ctypes`` is the caller's to keep valid, as it is for any array that may be freed. Where
# the count is not exact (a free-threaded build without the GIL, or an interpreter whose count
# does not behave as calibrated at import), results are never recycled.

#: Dropped results a pool keeps per recycled position (fewer when the byte cap is short).
RECYCLE_GENERATIONS = 2


def dropped_results(kept: list[list[Any]]) -> list[Any]:
    """The ``out=`` array of each recycled position for this call: a kept result that nothing
    but the pool holds (``accumulate.recycle.first_dropped``), or None (allocate)."""
    out: list[Any] = []
    for gens in kept:
        k = first_dropped(gens)
        out.append(gens[k] if k >= 0 else None)
    return out


def _keeper(generations: tuple[int, ...]) -> Callable[..., None]:
    def keep(kept: list[list[Any]], results: tuple) -> None:
        """Keep each recycled position's result (once), the oldest going beyond its count."""
        for gens, r, most in zip(kept, results, generations, strict=True):
            if not any(g is r for g in gens):
                gens.append(r)
                if len(gens) > most:
                    del gens[0]

    return keep


def recycle_slots(recyclable: dict[int, tuple[tuple, int]], slots: dict[int, str],
                  poolable: dict[int, tuple]) -> dict[int, tuple[str, int, int]]:
    """Per recycled first allocation: its name (``_r0``, …), its returned position and how
    many of its results a pool keeps, in program order, while the pool (its buffers first)
    stays within the byte cap; none with ``TENSORCALC_JIT_RECYCLE=0``."""
    if _ALONE is None or env_switch("TENSORCALC_JIT_RECYCLE") is False:
        return {}
    cap = _cap()
    total = sum(math.prod(poolable[k][0]) * poolable[k][1].itemsize for k in slots)
    out: dict[int, tuple[str, int, int]] = {}
    for k, ((shape, dtype), position) in sorted(recyclable.items()):
        size = math.prod(shape) * dtype.itemsize
        if size < POOL_MIN_BYTES:
            continue
        gens = RECYCLE_GENERATIONS
        while gens and total + gens * size > cap:
            gens -= 1
        if gens:
            total += gens * size
            out[k] = (f"_r{len(out)}", position, gens)
    return out
