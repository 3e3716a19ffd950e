"""The WSGI application: a tiny router, the JSON API and the static page.

Routes::

    GET  /                  the page (static/index.html)
    GET  /static/<file>     CSS, JS and icons shipped in ``tensorcalc/web/static``
    GET  /api/health        {"ok": true, "version": ..., "engine": ...}
    GET  /api/examples      the one-click examples
    POST /api/derive        derivative or Hessian, rendered every way the page needs
    POST /api/check         numerical check of that derivative
    POST /api/plan          forward / reverse / optimal cost of a Jacobian chain

Every API answer is JSON; failures are ``{"error": {"code", "message", "field"?,
"column"?}}`` with the status that fits (400, 404, 405, 408, 411, 413, 415, 503, 504). Work runs
in a :class:`~tensorcalc.web.worker.WorkerPool` so a slow derivation costs a worker, never the
server. Standard library only: the app is a plain WSGI callable, so it is served by ``wsgiref``
here and can be tested by calling it with an ``environ`` dict.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from importlib import resources

from .validate import BadRequest, Limits, derive_request, plan_request
from .worker import PoolBusy, TaskCrashed, TaskError, TaskTimeout, WorkerPool

__all__ = ["WebApp", "EXAMPLES", "TASKS", "SLOW_TASKS", "LOOPBACK_NAMES"]

#: Worker tasks by name; the pool resolves these strings in the worker process.
TASKS = {
    "derive": "tensorcalc.web.tasks:derive",
    "check": "tensorcalc.web.tasks:check",
    "plan": "tensorcalc.web.tasks:plan",
    "warm_up": "tensorcalc.web.tasks:warm_up",
}

#: Tasks that may run for seconds; they never occupy the last free worker.
SLOW_TASKS = frozenset({"check"})

#: One-click examples (seeds 000–003 and matrixcalculus.org's classics).
EXAMPLES = [
    {"label": "xᵀAx", "expression": "x'*A*x", "wrt": "x"},
    {"label": "tr(AXB)", "expression": "tr(A*X*B)", "wrt": "X"},
    {"label": "log det X", "expression": "log(det(X))", "wrt": "X"},
    {"label": "logistic loss", "expression": "sum(log(vector(1) + exp(-y .* (X*w))))",
     "wrt": "w"},
    {"label": "softmax cross-entropy", "expression": "-y'*log(softmax(z))", "wrt": "z"},
    {"label": "least squares", "expression": "norm2(X*w - y)^2", "wrt": "w"},
]

_HOST = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::[0-9]{1,5})?\Z")

#: Host names a loopback-bound server answers to. Checking the Host header defeats DNS
#: rebinding: a web page on evil.example that resolves to 127.0.0.1 still sends its own name.
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")

STATUS_TEXT = {
    200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 411: "Length Required",
    413: "Payload Too Large", 415: "Unsupported Media Type", 500: "Internal Server Error",
    503: "Service Unavailable", 504: "Gateway Timeout",
}

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml",
    ".png": "image/png", ".ico": "image/x-icon", ".json": "application/json",
}

# The page loads nothing from elsewhere; the policy makes that a guarantee rather than a habit.
SECURITY_HEADERS = [
    ("Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
]


class _Reply(Exception):
    """Raised anywhere in a request to answer at once with a JSON error."""

    def __init__(self, status: int, code: str, message: str, headers=(), **extra: object):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"code": code, "message": message, **extra}}
        self.headers = list(headers)


Handler = Callable[[dict], tuple[int, object]]


class WebApp:
    """The WSGI callable. ``pool`` is created on first use unless given (tests pass their own).

    ``allowed_hosts``: Host header names accepted (``None`` accepts any, used when the user
    deliberately binds to a non-loopback address).
    """

    def __init__(self, *, pool: WorkerPool | None = None, limits: Limits | None = None,
                 workers: int = 2, allowed_hosts: Iterable[str] | None = LOOPBACK_NAMES):
        self.limits = limits or Limits()
        self._pool = pool
        self._workers = workers
        self.allowed_hosts = None if allowed_hosts is None else set(allowed_hosts)
        self.static = resources.files(__package__).joinpath("static")
        self.routes: dict[str, dict[str, Handler]] = {
            "/api/health": {"GET": self._health},
            "/api/examples": {"GET": lambda env: (200, {"examples": EXAMPLES})},
            "/api/derive": {"POST": self._derive},
            "/api/check": {"POST": self._check},
            "/api/plan": {"POST": self._plan},
        }

    @property
    def pool(self) -> WorkerPool:
        if self._pool is None:
            # The check evaluates and differentiates numerically, so it is the task that can
            # run for seconds: one worker stays reserved for derive and plan (docs/web.md).
            warm = derive_request({"expression": EXAMPLES[0]["expression"]}, self.limits)
            self._pool = WorkerPool(TASKS, size=self._workers,
                                    memory_limit=self.limits.memory_limit,
                                    slow=SLOW_TASKS, reserved=1, warm_up=("warm_up", warm))
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    # -- WSGI entry ---------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response) -> list[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET").upper()
        try:
            self._check_host(environ)
            if path.startswith("/api/"):
                status, body, headers = self._api(path, method, environ)
            else:
                status, body, headers = self._static(path, method)
        except _Reply as reply:
            status, headers = reply.status, reply.headers
            body = _json_bytes(reply.body)
            headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store"),
                       *headers]
        headers = [*headers, ("Content-Length", str(len(body))), *SECURITY_HEADERS]
        start_response(f"{status} {STATUS_TEXT.get(status, 'Error')}", headers)
        return [b"" if method == "HEAD" else body]

    def _check_host(self, environ: dict) -> None:
        host = environ.get("HTTP_HOST")
        if host is not None:
            # wsgiref joins a repeated header with commas; two Hosts, or one with a path,
            # user info or spaces, is malformed (RFC 9112 §3.2 asks for a 400).
            if not _HOST.match(host):
                raise _Reply(400, "bad_host", f"malformed or repeated Host header "
                                              f"{host[:100]!r}; send one host[:port]")
            name = host[:host.index("]") + 1] if host.startswith("[") else host.split(":")[0]
        else:  # HTTP/1.0 without a Host header
            name = environ.get("SERVER_NAME", "")
        if self.allowed_hosts is None:
            return
        if name.lower() not in self.allowed_hosts:
            raise _Reply(403, "bad_host", f"this server only answers to 127.0.0.1/localhost, "
                                          f"not {host!r}")

    # -- API ----------------------------------------------------------------------------------

    def _api(self, path: str, method: str, environ: dict) -> tuple[int, bytes, list]:
        methods = self.routes.get(path)
        if methods is None:
            raise _Reply(404, "not_found", f"no API endpoint {path}; see docs/web.md")
        handler = methods.get(method)
        if handler is None:
            allowed = ", ".join(sorted(methods))
            raise _Reply(405, "method_not_allowed", f"{path} accepts {allowed}",
                         headers=[("Allow", allowed)])
        if method == "POST":
            environ = {**environ, "tensorcalc.json": self._read_json(environ)}
        status, payload = handler(environ)
        return status, _json_bytes(payload), [("Content-Type", "application/json"),
                                              ("Cache-Control", "no-store")]

    def _read_json(self, environ: dict) -> object:
        ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
        # Requiring application/json also means a cross-site page cannot post here without a
        # CORS preflight, which this server never grants.
        if ctype != "application/json":
            raise _Reply(415, "unsupported_media_type",
                         "send the request body as JSON with Content-Type: application/json")
        raw_length = environ.get("CONTENT_LENGTH") or ""
        if not raw_length.strip():
            raise _Reply(411, "length_required", "the request needs a Content-Length header")
        try:
            length = int(raw_length)
        except ValueError:
            raise _Reply(400, "bad_request", "Content-Length is not a number") from None
        if length < 0:
            raise _Reply(400, "bad_request", "Content-Length is negative")
        if length > self.limits.max_body:
            # Refused before reading: a huge body never enters memory.
            raise _Reply(413, "too_large",
                         f"request body of {length:,} bytes exceeds {self.limits.max_body:,}")
        data = self._read_body(environ["wsgi.input"], length)
        if len(data) < length:
            raise _Reply(400, "bad_request", "the request body is shorter than Content-Length")
        try:
            return json.loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            raise _Reply(400, "bad_json", "the request body is not UTF-8") from None
        except json.JSONDecodeError as err:
            raise _Reply(400, "bad_json", f"malformed JSON: {err.msg}", line=err.lineno,
                         column=err.colno) from None
        except RecursionError:
            raise _Reply(400, "bad_json", "JSON nested too deeply") from None
        except ValueError as err:  # an integer over Python's 4,300-digit conversion limit
            raise _Reply(400, "bad_json", f"a number in the JSON is too long to read "
                                          f"({str(err).split(':')[0]}); send shorter "
                                          "numbers") from None

    def _read_body(self, stream, length: int) -> bytes:
        """Read ``length`` bytes within ``read_timeout`` seconds in all.

        The socket timeout alone bounds each wait, so a client sending one byte just inside
        it would hold a thread for hours; the deadline bounds the whole body.
        """
        deadline = time.monotonic() + self.limits.read_timeout
        read = getattr(stream, "read1", stream.read)  # read1: return what has arrived
        chunks, got = [], 0
        try:
            while got < length:
                if time.monotonic() > deadline:
                    raise TimeoutError
                chunk = read(min(length - got, 65536))
                if not chunk:
                    break
                chunks.append(chunk)
                got += len(chunk)
        except TimeoutError:  # socket.timeout is an alias since 3.10
            raise _Reply(408, "read_timeout", "the request body did not arrive in time") from None
        return b"".join(chunks)

    def _run(self, task: str, request: dict) -> tuple[int, object]:
        limit = self.limits.time_limit
        try:
            result = self.pool.run(task, request, timeout=limit)
        except TaskTimeout:
            raise _Reply(504, "timeout",
                         f"gave up after {limit:g} s; try a smaller expression or declare "
                         "the shapes", time_limit=limit) from None
        except PoolBusy as err:
            raise _Reply(503, "busy", str(err), headers=[("Retry-After", "1")]) from None
        except TaskError as err:
            if err.kind == "MemoryError":  # the worker's address-space cap stopped the task
                raise _Reply(413, "too_large",
                             f"this request needs more than the "
                             f"{self.limits.memory_limit // 2**20:,} MiB a worker may use; "
                             "declare smaller sizes") from None
            raise _Reply(500, "internal_error",
                         f"tensorcalc failed on this input ({err.kind}: {err}); please report "
                         "it with the expression") from None
        except TaskCrashed as err:
            raise _Reply(500, "worker_crashed", str(err)) from None
        if isinstance(result, dict) and "error" in result:
            result = dict(result)
            return int(result.pop("status", 400)), result
        return 200, result

    def _health(self, environ: dict) -> tuple[int, object]:
        from tensorcalc import __version__

        # Ready workers, not merely a live HTTP thread: a pool whose workers all failed to
        # start must not look healthy while every derivation answers 503.
        ready = self.pool.ready_count()
        return (200 if ready else 503), {
            "ok": ready > 0, "version": __version__, "time_limit": self.limits.time_limit,
            "workers": {"ready": ready, "size": self.pool.size}}

    def _derive(self, environ: dict) -> tuple[int, object]:
        return self._run("derive", _validated(derive_request, environ, self.limits))

    def _check(self, environ: dict) -> tuple[int, object]:
        return self._run("check", _validated(derive_request, environ, self.limits))

    def _plan(self, environ: dict) -> tuple[int, object]:
        return self._run("plan", _validated(plan_request, environ, self.limits))

    # -- static files -------------------------------------------------------------------------

    def _static(self, path: str, method: str) -> tuple[int, bytes, list]:
        if method not in ("GET", "HEAD"):
            raise _Reply(405, "method_not_allowed", f"{path} accepts GET",
                         headers=[("Allow", "GET, HEAD")])
        name = "index.html" if path in ("/", "/index.html") else None
        if path.startswith("/static/"):
            name = path[len("/static/"):]
        # Only plain names of files that ship in the package: no "..", no sub-folders.
        # The length cap also keeps an over-long name from reaching the file system, which
        # would raise "File name too long" instead of answering 404.
        if (not name or len(name) > 100 or "/" in name or "\\" in name
                or name.startswith(".")):
            raise _Reply(404, "not_found", f"nothing at {path[:120]}")
        entry = self.static.joinpath(name)
        try:
            found = entry.is_file()
        except (OSError, ValueError):  # a NUL byte or another name the OS refuses
            found = False
        if not found:
            raise _Reply(404, "not_found", f"nothing at {path}")
        suffix = name[name.rfind("."):] if "." in name else ""
        ctype = CONTENT_TYPES.get(suffix, "application/octet-stream")
        return 200, entry.read_bytes(), [("Content-Type", ctype), ("Cache-Control", "no-cache")]


def _validated(check: Callable, environ: dict, limits: Limits) -> dict:
    try:
        return check(environ["tensorcalc.json"], limits)
    except BadRequest as err:
        raise _Reply(err.status, err.code, str(err),
                     **{k: v for k, v in err.to_json().items() if k not in ("code", "message")}
                     ) from None


def _json_bytes(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
