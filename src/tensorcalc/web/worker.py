"""A small pool of worker processes that run one task each under a hard time limit.

Why processes and not threads: a Python thread cannot be stopped from outside, so a derivation
that runs away (a pathological expression, an exponential simplification) would keep burning a
core and holding the GIL long after its request timed out. A process can be killed. Each worker is
started with the ``spawn`` method (forking a threaded server is unsafe), imports tensorcalc once,
and then serves many requests over a pipe; only a worker that overran its deadline is killed and
replaced, so the common case pays no start-up cost.

Tasks are named, not pickled callables: a worker resolves ``"module:function"`` strings itself, so
nothing a client sends can choose what code runs. The task table is fixed when the pool is built.
"""

from __future__ import annotations

import importlib
import multiprocessing as mp
import queue
import threading
import time
import traceback
from collections.abc import Mapping

__all__ = ["TaskTimeout", "PoolBusy", "TaskCrashed", "TaskError", "WorkerPool"]


class TaskTimeout(Exception):
    """The task ran longer than its time limit; its worker was killed."""


class PoolBusy(Exception):
    """Every worker stayed busy for longer than the queueing limit."""


class TaskCrashed(Exception):
    """The worker died (or raised something it could not report) while running the task."""


class TaskError(Exception):
    """The task raised; ``kind`` is the exception's class name, ``str()`` its message.

    Exceptions are sent back as text because many do not survive pickling intact (a class whose
    ``__init__`` takes extra arguments is rebuilt from ``args`` alone). Tasks that want a
    structured error return it as data instead.
    """

    def __init__(self, kind: str, message: str, details: str = ""):
        self.kind = kind
        self.details = details
        super().__init__(message)


def _worker_main(conn, tasks: Mapping[str, str], memory_limit: int | None) -> None:
    """Worker loop: receive ``(name, payload)``, send back ``(ok, value)``, until EOF."""
    if memory_limit:
        try:
            import resource

            # An address-space cap turns a memory blow-up into a MemoryError in this worker
            # instead of the kernel's OOM killer picking a process on the user's machine.
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
        except (ImportError, ValueError, OSError):
            pass
    resolved = {}
    for name, target in tasks.items():
        module, _, func = target.partition(":")
        resolved[name] = getattr(importlib.import_module(module), func)
    conn.send(("ready", None))
    while True:
        try:
            name, payload = conn.recv()
        except (EOFError, OSError, KeyboardInterrupt):
            return
        try:
            conn.send((True, resolved[name](payload)))
        except Exception as exc:  # every failure must reach the parent, as text
            conn.send((False, (type(exc).__name__, str(exc), traceback.format_exc())))


class _Worker:
    def __init__(self, ctx, tasks: Mapping[str, str], memory_limit: int | None):
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_worker_main, args=(child, dict(tasks), memory_limit), daemon=True
        )
        self.process.start()
        child.close()
        self.ready = False

    def wait_ready(self, timeout: float) -> bool:
        if not self.ready and self.conn.poll(timeout):
            try:
                self.ready = self.conn.recv()[0] == "ready"
            except (EOFError, OSError):
                return False
        return self.ready

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


class WorkerPool:
    """``size`` worker processes; ``run(name, payload, timeout)`` returns the task's value.

    Raises :class:`TaskError` when the task raised, :class:`TaskTimeout` when the
    task overruns (the worker is killed and a fresh one started in the background),
    :class:`PoolBusy` when no worker frees up within ``queue_timeout`` seconds, and
    :class:`TaskCrashed` when the worker dies.
    """

    def __init__(
        self,
        tasks: Mapping[str, str],
        *,
        size: int = 2,
        queue_timeout: float = 10.0,
        start_timeout: float = 60.0,
        memory_limit: int | None = None,
    ):
        if size < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.tasks = dict(tasks)
        self.size = size
        self.queue_timeout = queue_timeout
        self.start_timeout = start_timeout
        self.memory_limit = memory_limit
        self._ctx = mp.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(size):
            self._spawn()

    def _spawn(self) -> None:
        worker = _Worker(self._ctx, self.tasks, self.memory_limit)
        with self._lock:
            if self._closed:
                worker.kill()
                return
            self._all.add(worker)
        self._idle.put(worker)

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.kill()
        # Start the replacement off the request thread: spawning and importing numpy takes a
        # second, and the client whose task timed out should get its answer now.
        threading.Thread(target=self._spawn, name="tensorcalc-respawn", daemon=True).start()

    def run(self, name: str, payload: object, timeout: float) -> object:
        if name not in self.tasks:
            raise KeyError(f"unknown task {name!r}")
        try:
            worker = self._idle.get(timeout=self.queue_timeout)
        except queue.Empty:
            raise PoolBusy(
                f"all {self.size} workers are busy; try again in a moment"
            ) from None
        if not worker.wait_ready(self.start_timeout):
            self._replace(worker)
            raise TaskCrashed("a worker process failed to start")
        started = time.monotonic()
        try:
            worker.conn.send((name, payload))
            if not worker.conn.poll(timeout):
                self._replace(worker)
                raise TaskTimeout(f"gave up after {time.monotonic() - started:.1f} s")
            ok, value = worker.conn.recv()
        except (EOFError, OSError, BrokenPipeError) as exc:
            self._replace(worker)
            raise TaskCrashed(f"the worker process died ({type(exc).__name__})") from None
        except TaskTimeout:
            raise
        except BaseException:
            self._replace(worker)
            raise
        self._idle.put(worker)
        if not ok:
            raise TaskError(*value)  # type: ignore[misc]
        return value

    def warm_up(self, timeout: float | None = None) -> bool:
        """Wait until every worker has finished importing; True when all are ready."""
        deadline = time.monotonic() + (self.start_timeout if timeout is None else timeout)
        with self._lock:
            workers = list(self._all)
        return all(w.wait_ready(max(0.0, deadline - time.monotonic())) for w in workers)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._all = list(self._all), set()
        for worker in workers:
            try:
                worker.kill()
            except Exception:  # closing must not fail half-way
                traceback.print_exc()

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
