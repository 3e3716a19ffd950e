"""The transformation context: the stack of active traces and the strong-zero mode.

Both are per thread and per asyncio task. They live in :class:`contextvars.ContextVar`\\ s, so
each thread starts with an empty stack and the default mode, and each task starts from a copy
of its creator's context. The stack is an immutable tuple: a copied context can never see a
trace pushed later by the context it was copied from, and leaving a trace restores exactly the
stack that was there before it (``ContextVar.reset``), whatever other threads did meanwhile.

**Trace levels.** A new trace is one level above the top of *this context's* stack. Nested
transformations get increasing levels, and ``bind`` lets the highest-level trace among the
arguments process a primitive, which is what keeps nested derivatives apart (perturbation
confusion). Two threads each have their own levels 1, 2, …: their tracers never meet.

**Strong-zero mode.** ``mul_sz``/``div_sz`` (:mod:`tensorcalc.ops.strong_zero`) compute the plain
product unless :func:`strong_zero_checks` is active in the calling context; the public
transformations enter it only to rerun a computation whose first result held a NaN.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # core/primitive.py imports this module
    from .primitive import Trace

_trace_stack: ContextVar[tuple[Trace, ...]] = ContextVar("tensorcalc_trace_stack", default=())
_strong_zeros: ContextVar[bool] = ContextVar("tensorcalc_strong_zeros", default=False)


class new_trace:  # noqa: N801  (used as a function: ``with new_trace(cls) as trace``)
    """Push a new trace one level above the top of this context's stack; on exit restore the
    stack and deactivate the trace (a tracer of it used later raises ``LeakedTracerError``).

    A class rather than a generator context manager: every eager gradient enters two, and
    this costs a third of ``contextlib``'s machinery."""

    __slots__ = ("_make", "_trace", "_token")

    def __init__(self, cls: type[Trace], *args: Any, **kwargs: Any) -> None:
        self._make = (cls, args, kwargs)

    def __enter__(self) -> Any:
        cls, args, kwargs = self._make
        stack = _trace_stack.get()
        self._trace = trace = cls(len(stack) + 1, *args, **kwargs)
        self._token = _trace_stack.set((*stack, trace))
        return trace

    def __exit__(self, *exc: object) -> None:
        _trace_stack.reset(self._token)
        self._trace.active = False


def trace_depth() -> int:
    """How many transformations are active in the calling thread or task."""
    return len(_trace_stack.get())


@contextmanager
def strong_zero_checks() -> Iterator[None]:
    """Enforce strong zeros in ``mul_sz``/``div_sz`` while the block runs (this context only)."""
    token = _strong_zeros.set(True)
    try:
        yield
    finally:
        _strong_zeros.reset(token)


def strong_zeros_enforced() -> bool:
    """Whether the calling context is inside :func:`strong_zero_checks`."""
    return _strong_zeros.get()
