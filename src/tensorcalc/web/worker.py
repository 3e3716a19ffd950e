"""A small pool of worker processes that run one task each under a hard time limit.

Why processes and not threads: a Python thread cannot be stopped from outside, so a derivation
that runs away (a pathological expression, an exponential simplification) would keep burning a
core and holding the GIL long after its request timed out. A process can be killed. Only a worker
that overran its deadline is killed and replaced; the others serve request after request, so the
common case pays no start-up cost.

Why plain ``subprocess`` and not ``multiprocessing``: the workers are ``python -m
tensorcalc.web._child`` talking JSON lines over stdin/stdout. That does not depend on the
caller's ``if __name__ == "__main__"`` guard (spawned ``multiprocessing`` children re-import the
main module, which breaks ``serve()`` called from a plain script), it is safe to start from a
threaded server (no ``fork``), and nothing is unpickled: requests and answers are JSON, which the
API speaks anyway.

Tasks are named, not sent: a worker resolves ``"module:function"`` strings from the table fixed
when the pool is built, so nothing a client sends can choose what code runs.
"""

from __future__ import annotations

import importlib
import json
import os
import queue
import subprocess
import sys
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
    """The worker died while running the task (or failed to start)."""


class TaskError(Exception):
    """The task raised; ``kind`` is the exception's class name, ``str()`` its message.

    Tasks that want a structured error (a column, a field) return it as data instead.
    """

    def __init__(self, kind: str, message: str, details: str = ""):
        self.kind = kind
        self.details = details
        super().__init__(message)


# -- the worker process -----------------------------------------------------------------------


def _worker_main() -> None:
    """Serve tasks until stdin closes; exit quietly when the parent goes away."""
    try:
        _serve_tasks()
    except (BrokenPipeError, KeyboardInterrupt):
        # The pool killed us or the server stopped; nothing is listening for a traceback.
        os._exit(0)


def _serve_tasks() -> None:
    """Read ``{"task", "payload"}`` lines on stdin, answer ``{"ok", "value"}`` lines on stdout."""
    tasks = json.loads(os.environ["TENSORCALC_WEB_TASKS"])
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), name="tensorcalc-orphan",
                     daemon=True).start()
    limit = int(os.environ.get("TENSORCALC_WEB_MEMORY", "0"))
    if limit:
        try:
            import resource

            # An address-space cap turns a memory blow-up into a MemoryError in this worker
            # instead of the kernel's OOM killer picking a process on the user's machine.
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ImportError, ValueError, OSError):
            pass
    out = sys.stdout
    sys.stdout = sys.stderr  # a stray print() in a task must not corrupt the protocol
    resolved = {}
    for name, target in tasks.items():
        module, _, func = target.partition(":")
        resolved[name] = getattr(importlib.import_module(module), func)
    warm = json.loads(os.environ.get("TENSORCALC_WEB_WARMUP") or "null")
    if warm:
        # One throw-away task before reporting ready: the first real request would otherwise
        # pay for lazy imports and first-call caches (a cold derive took ~30x a warm one).
        try:
            resolved[warm[0]](warm[1])
        except Exception:  # noqa: BLE001 - a failed warm-up only means a slower first request
            pass
    _send(out, {"ready": True})
    for line in sys.stdin:
        message = json.loads(line)
        try:
            reply = {"ok": True, "value": resolved[message["task"]](message["payload"])}
        except Exception as exc:  # every failure must reach the parent, as text
            reply = {"ok": False, "kind": type(exc).__name__, "message": str(exc),
                     "details": traceback.format_exc()}
        try:
            _send(out, reply)
        except MemoryError:  # the answer itself is too big to encode under the cap
            _send(out, {"ok": False, "kind": "MemoryError", "message": "answer too large"})


def _exit_with_parent(parent: int) -> None:
    """Exit as soon as the server process is gone, even in the middle of a task.

    A closed stdin only stops a worker between tasks; a server killed with SIGKILL would leave
    a busy one computing for nobody. (``PR_SET_PDEATHSIG`` is no substitute: it fires when the
    parent *thread* that started us exits, and replacements are started from short threads.)
    """
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(0)


def _send(stream, message: dict) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


# -- the parent side --------------------------------------------------------------------------


class _Worker:
    def __init__(self, tasks: Mapping[str, str], memory_limit: int | None,
                 warm_up: tuple[str, object] | None = None):
        env = dict(os.environ)
        env["TENSORCALC_WEB_TASKS"] = json.dumps(dict(tasks))
        env["TENSORCALC_WEB_WARMUP"] = json.dumps(list(warm_up) if warm_up else None)
        env["TENSORCALC_WEB_MEMORY"] = str(memory_limit or 0)
        # One request per process needs no BLAS thread pool, and each pool thread reserves
        # address space that would count against the memory cap on a many-core machine.
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
        # The child must import what this process imports (an uninstalled checkout, tests).
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tensorcalc.web._child"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, env=env,
            text=True, encoding="utf-8", bufsize=1,
        )
        # A reader thread turns the blocking pipe into a queue we can wait on with a timeout,
        # portably (select() does not work on pipes on Windows).
        self.replies: queue.Queue[dict | None] = queue.Queue()
        # The reader thread records readiness itself, so that the health check and a request
        # can both ask without racing for the one "ready" message on the queue.
        self.ready = False
        self._started = threading.Event()
        threading.Thread(target=self._read, name="tensorcalc-worker-reader",
                         daemon=True).start()

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            for line in stdout:
                try:
                    message = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(message, dict) and message.get("ready"):
                    self.ready = True
                    self._started.set()
                else:
                    self.replies.put(message)
        except (OSError, ValueError):
            pass
        self.replies.put(None)  # end of stream: the worker is gone
        self._started.set()  # wake anyone waiting for a start that will never come

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait_ready(self, timeout: float) -> bool:
        self._started.wait(timeout)
        return self.ready and self.alive()

    def send(self, task: str, payload: object) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        stdin.write(json.dumps({"task": task, "payload": payload}) + "\n")
        stdin.flush()

    def kill(self) -> None:
        self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


class WorkerPool:
    """``size`` worker processes; ``run(name, payload, timeout)`` returns the task's value.

    Payloads and values must be JSON. Raises :class:`TaskError` when the task raised,
    :class:`TaskTimeout` when it overran (the worker is killed and a fresh one started in the
    background), :class:`PoolBusy` when no worker frees up within ``queue_timeout`` seconds,
    and :class:`TaskCrashed` when the worker dies.

    ``slow``: names of the tasks that may run long (the numerical check). At most ``size −
    reserved`` of them run at once, so ``reserved`` workers stay free for the quick tasks: a
    derivation never waits behind two checks. (Per-client fairness cannot do this on loopback,
    where every client has the same address.) ``warm_up``: a ``(task, payload)`` each worker
    runs once before it reports ready, so the first real request finds warm caches.
    """

    def __init__(self, tasks: Mapping[str, str], *, size: int = 2, queue_timeout: float = 10.0,
                 start_timeout: float = 60.0, memory_limit: int | None = None,
                 slow: frozenset[str] | set[str] = frozenset(), reserved: int = 1,
                 warm_up: tuple[str, object] | None = None):
        if size < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.tasks = dict(tasks)
        self.size = size
        self.slow = frozenset(slow)
        # With one worker there is nothing to reserve: slow tasks may still use it.
        self.reserved = max(0, min(reserved, size - 1)) if self.slow else 0
        self._slow_slots = threading.BoundedSemaphore(size - self.reserved)
        self.warm_up_task = warm_up
        self.queue_timeout = queue_timeout
        self.start_timeout = start_timeout
        self.memory_limit = memory_limit
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._closing = threading.Event()  # wakes respawn loops sleeping off a failure
        for _ in range(size):
            worker = self._spawn()
            if worker is not None:
                self._idle.put(worker)

    def _spawn(self) -> _Worker | None:
        worker = _Worker(self.tasks, self.memory_limit, self.warm_up_task)
        with self._lock:  # registered at once, so that close() also stops a starting worker
            if self._closed:
                worker.kill()
                return None
            self._all.add(worker)
        return worker

    def _respawn(self) -> None:
        """Start one replacement, retrying with backoff until one starts or the pool closes.

        Without the retry, each replacement that died while starting (a full disk, a
        transient import failure, the OOM killer) left the pool one worker short for good.
        """
        delay = 0.25
        while not self._closed:
            worker = self._spawn()
            if worker is None:
                return
            # A replacement joins the idle queue only once it has imported everything, so
            # that a request is not handed a worker still starting while a ready one is idle.
            if worker.wait_ready(self.start_timeout):
                self._idle.put(worker)
                return
            with self._lock:
                self._all.discard(worker)
            worker.kill()
            if self._closing.wait(delay):
                return
            delay = min(2 * delay, 10.0)

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.kill()
        if not self._closed:
            # Start the replacement off the request thread: importing numpy takes a moment,
            # and the client whose task failed should get its answer now.
            threading.Thread(target=self._respawn, name="tensorcalc-respawn",
                             daemon=True).start()

    def ready_count(self) -> int:
        """Workers that have started and are still alive, busy or idle."""
        with self._lock:
            workers = list(self._all)
        return sum(1 for w in workers if w.ready and w.alive())

    def _take(self, deadline: float) -> _Worker:
        """An idle worker that is still alive; dead ones found on the way are replaced."""
        while True:
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise PoolBusy(f"all {self.size} workers are busy; try again in a "
                               "moment") from None
            if worker.alive():
                return worker
            self._replace(worker)  # it died while idle: never send it a request

    def run(self, name: str, payload: object, timeout: float) -> object:
        if name not in self.tasks:
            raise KeyError(f"unknown task {name!r}")
        deadline = time.monotonic() + self.queue_timeout
        if name not in self.slow:
            return self._run_on(self._take(deadline), name, payload, timeout)
        # A slow task first takes one of the slots that leave the reserved workers alone.
        if not self._slow_slots.acquire(timeout=self.queue_timeout):
            raise PoolBusy(f"{self.size - self.reserved} worker(s) may run {name!r} at once "
                           "and all are busy; try again in a moment")
        try:
            return self._run_on(self._take(deadline), name, payload, timeout)
        finally:
            self._slow_slots.release()

    def _run_on(self, worker: _Worker, name: str, payload: object, timeout: float) -> object:
        if not worker.wait_ready(self.start_timeout):
            self._replace(worker)
            raise TaskCrashed("a worker process failed to start")
        started = time.monotonic()
        try:
            worker.send(name, payload)
            reply = worker.replies.get(timeout=timeout)
        except queue.Empty:
            self._replace(worker)
            raise TaskTimeout(f"gave up after {time.monotonic() - started:.1f} s") from None
        except (OSError, ValueError) as exc:  # broken pipe: the worker is already gone
            self._replace(worker)
            raise TaskCrashed(f"the worker process died ({type(exc).__name__})") from None
        if reply is None:
            self._replace(worker)
            raise TaskCrashed(f"the worker process died (exit status {worker.process.wait()})")
        self._idle.put(worker)
        if not reply.get("ok"):
            raise TaskError(reply.get("kind", "Error"), reply.get("message", ""),
                            reply.get("details", ""))
        return reply.get("value")

    def warm_up(self, timeout: float | None = None) -> bool:
        """Wait until every idle worker has finished importing; True when all are ready.

        Meant for start-up, before requests arrive.
        """
        deadline = time.monotonic() + (self.start_timeout if timeout is None else timeout)
        with self._lock:
            workers = list(self._all)
        return all(w.wait_ready(max(0.0, deadline - time.monotonic())) for w in workers)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._closing.set()
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
