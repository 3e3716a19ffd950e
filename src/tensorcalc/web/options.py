"""The options of ``tensorcalc serve``, apart from the server so that building the main CLI's
parser (``tensorcalc --version``, ``derive``) does not import sockets, HTTP and the worker pool."""

from __future__ import annotations

import argparse

from .validate import Limits


def add_serve_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``tensorcalc serve``; the main CLI adds them to its ``serve`` sub-parser."""
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; anything else is reachable from "
                        "the network)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks one)")
    p.add_argument("--workers", type=int, default=2,
                   help="worker processes for derivations (default 2)")
    p.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help=f"longest a derivation may run (default {Limits().time_limit:g})")
    p.add_argument("--open", action="store_true", help="open the page in a browser")
    p.add_argument("--quiet", action="store_true", help="do not log requests")
    return p
