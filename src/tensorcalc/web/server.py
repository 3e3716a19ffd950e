"""Serving the app: a threaded ``wsgiref`` server bound to loopback, and the command line.

Why the standard library and not Flask or Starlette: the page needs five routes and JSON, which a
dict-based router covers in a few lines; ``wsgiref`` plus ``ThreadingMixIn`` handles a local user
and a browser comfortably; and a web framework would become a dependency of a calculus library
for the sake of one optional command. The heavy lifting (and the only risk of a slow request)
is in the worker processes, not in the HTTP layer.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import signal
import socket
import sys
import threading
import webbrowser
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from .app import LOOPBACK_NAMES, WebApp
from .options import add_serve_arguments
from .validate import Limits

__all__ = ["serve", "main", "make_server", "ServerThread", "add_serve_arguments",
           "serve_from_args"]


_CONTROL_ESCAPES = {c: f"\\x{c:02x}" for c in [*range(32), 127]}


class _Handler(WSGIRequestHandler):
    # A socket timeout bounds how long a slow or stalled client can hold a thread.
    timeout = Limits().read_timeout
    quiet = False

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
        if not self.quiet:
            # The request line is the client's text: escaped, it cannot forge log lines or
            # send terminal escape sequences to whoever reads the log.
            line = (format % args).translate(_CONTROL_ESCAPES)
            sys.stderr.write(f"{self.address_string()} {line}\n")


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a stuck connection must not keep the process alive on Ctrl+C
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_server(host: str = "127.0.0.1", port: int = 8000, *, app: WebApp | None = None,
                quiet: bool = False, workers: int = 2,
                limits: Limits | None = None) -> _Server:
    """A bound, not yet serving, server; ``port=0`` picks a free port (see ``server_port``)."""
    if app is None:
        app = WebApp(workers=workers, limits=limits,
                     allowed_hosts=LOOPBACK_NAMES if is_loopback(host) else None)
    handler = type("Handler", (_Handler,), {"quiet": quiet})
    if limits is not None:
        handler.timeout = limits.read_timeout
    server_class = _Server6 if ":" in host.strip("[]") else _Server
    server = server_class((host.strip("[]"), port), handler)
    server.set_app(app)
    app.pool  # noqa: B018 - start (and warm) the workers now, not on the first request
    return server


def server_url(server: _Server) -> str:
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class ServerThread:
    """A server running in a background thread, for tests and notebooks; use as a context."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **kwargs: object):
        self.server = make_server(host, port, quiet=True, **kwargs)  # type: ignore[arg-type]
        self.url = server_url(self.server)
        self.app: WebApp = self.server.get_app()  # type: ignore[assignment]
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="tensorcalc-web", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.app.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(host: str = "127.0.0.1", port: int = 8000, *, open_browser: bool = False,
          workers: int = 2, time_limit: float | None = None, quiet: bool = False) -> None:
    """Serve the matrix-calculus page until Ctrl+C; prints the address first.

    Binds to loopback by default. Another ``host`` (say ``0.0.0.0``) exposes the page to the
    network with no authentication; a warning is printed.
    """
    limits = Limits() if time_limit is None else Limits(time_limit=time_limit)
    server = make_server(host, port, quiet=quiet, workers=workers, limits=limits)
    url = server_url(server)
    app: WebApp = server.get_app()  # type: ignore[assignment]
    if not is_loopback(host):
        print(f"warning: listening on {host}: anyone who can reach this machine can use the "
              "page (there is no authentication)", file=sys.stderr)
    print(f"tensorcalc: serving the matrix calculus page at {url}  (Ctrl+C to stop)", flush=True)
    if open_browser:
        webbrowser.open(url)
    previous = _stop_on_signals()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\ntensorcalc: stopped", file=sys.stderr)
    finally:
        server.server_close()
        app.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _stop_on_signals() -> dict:
    """Treat SIGTERM and SIGHUP like Ctrl+C; returns the handlers they replace.

    Their default action ends the process at once, skipping ``app.close()``: a worker busy with
    a derivation would run on, orphaned, after the server is gone.
    """
    if threading.current_thread() is not threading.main_thread():
        return {}  # signal handlers can only be installed from the main thread
    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, _interrupt)
    return previous


def serve_from_args(args: argparse.Namespace) -> int:
    """Run ``serve`` with parsed options; returns the exit status (2 bad option, 1 no port)."""
    if not 0 <= args.port <= 65535:
        print(f"tensorcalc serve: --port {args.port} is not a port number", file=sys.stderr)
        return 2
    if args.workers < 1 or (args.time_limit is not None and args.time_limit <= 0):
        print("tensorcalc serve: --workers and --time-limit must be positive", file=sys.stderr)
        return 2
    try:
        serve(args.host, args.port, open_browser=args.open, workers=args.workers,
              time_limit=args.time_limit, quiet=args.quiet)
    except OSError as err:
        hint = "; pick another port with --port" if err.errno == errno.EADDRINUSE else ""
        print(f"tensorcalc serve: cannot listen on {args.host}:{args.port}: "
              f"{err.strerror or err}{hint}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``tensorcalc serve [--port 8000] [--host 127.0.0.1] ...``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="tensorcalc serve",
        description="Serve the local matrix calculus web page (offline, loopback only by "
                    "default).",
    )
    return serve_from_args(add_serve_arguments(parser).parse_args(argv))
