"""glibc's heap between calls: keep freed megabytes instead of faulting them in again.

glibc's ``malloc`` serves a request below its *mmap threshold* from the heap and a larger one
with a fresh ``mmap``; at each ``free`` it returns the top of the heap to the kernel once more
than the *trim threshold* lies free there. Both start at 128 KiB. Freeing an
mmapped block of ``s`` bytes, ``s`` at most 32 MiB on a 64-bit system, raises them to ``s``
and ``2s``: glibc's own adjustment for programs that allocate and free large blocks again and
again (mallopt(3), "M_MMAP_THRESHOLD").

A derivative allocates its intermediates afresh at every call (eager evaluation always; under
``jit`` the results that its call pool does not hold, such as those of convolutions and
pooling). With the thresholds set by the largest single block (4 MiB and 8 MiB for S1's
convolution output), the blocks one call holds at once add up to more than the trim
threshold, glibc returns them when the call ends, and the next call touches each of their
pages again: one minor page fault per 4 KiB page. In a process without torch or JAX (whose
own frees raise the thresholds), S1's jitted gradient made 994 faults per call and took
6.5–6.7 ms, against none and 3.9–4.4 ms with the thresholds raised (``python -m bench.heap``).

:func:`keep_large_blocks` raises them once, to 32 and 64 MiB, the way any program that frees a
32 MiB array does: it allocates such a block and frees it, without writing it (one page of
bookkeeping is all that is ever touched). The price is that a process may keep up to 64 MiB
free at the top of its heap instead of handing it back. It runs when the numeric engine loads
(``tensorcalc.ops``); ``TENSORCALC_HEAP=system``, set before that, leaves glibc's thresholds
alone. Thresholds a user fixed (``mallopt``, ``GLIBC_TUNABLES``) turn glibc's adjustment off,
so they are kept as set. Other C libraries (musl, macOS, Windows) are left as they are.
"""

from __future__ import annotations

import ctypes
import os
import sys

#: Two pages short of glibc's upper bound for the adjusted mmap threshold
#: (``DEFAULT_MMAP_THRESHOLD_MAX = 4 MiB · sizeof(long)``, 32 MiB on 64-bit systems): glibc
#: adds its header and rounds up to pages, and compares the chunk's size *with its flag bits*
#: against the bound, so a block one page short, whose chunk is exactly 32 MiB, does not count.
BLOCK = 4 * 1024 * 1024 * ctypes.sizeof(ctypes.c_long) - 2 * 4096

_state: dict[str, str] = {}


def glibc_version() -> str | None:
    """glibc's version (``"2.36"``) when this process runs on glibc, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        text = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        return None
    name, _, version = text.partition(" ")
    return version if name == "glibc" else None


def heap_choice() -> str:
    """What :func:`keep_large_blocks` does (or did) in this process, in words, without doing
    it (``tensorcalc info``)."""
    if "choice" in _state:
        return _state["choice"]
    if os.environ.get("TENSORCALC_HEAP", "").lower() == "system":
        return "glibc's own thresholds (TENSORCALC_HEAP=system)"
    if glibc_version() is None:
        return "the C library's own behaviour (not glibc)"
    return _KEPT


_KEPT = "freed megabytes kept (glibc's mmap threshold 32 MiB, trim threshold 64 MiB)"


def keep_large_blocks() -> str:
    """Raise glibc's mmap and trim thresholds to 32 and 64 MiB (module docstring), once per
    process; returns :func:`heap_choice`."""
    choice = heap_choice()
    if "choice" not in _state and choice is _KEPT:
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.malloc.argtypes = [ctypes.c_size_t]
        libc.free.argtypes = [ctypes.c_void_p]
        block = libc.malloc(BLOCK)
        libc.free(block)  # (an mmapped block, so the free raises the thresholds)
    _state["choice"] = choice
    return choice
