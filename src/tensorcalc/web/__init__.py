"""A local web page for matrix calculus: ``tensorcalc serve`` or ``python -m tensorcalc.web``.

Type an expression in matrixcalculus.org syntax and get its derivative or Hessian rendered as
MathML (tensorcalc's own printer, no JavaScript math library), with its shape and layout, the
derivation steps, LaTeX, generated NumPy code and a numerical check; a second tab plans Jacobian
chains (forward / reverse / optimal accumulation, docs/lessons/accumulation.md). Everything is
served from this package; the page makes no request beyond the local server. See docs/web.md for the
JSON API.

The names are imported on first use (PEP 562): the CLI reads ``options`` and the worker processes
``worker`` without loading the HTTP server.
"""

import typing as _typing

from ..core.lazy import lazy_attributes as _lazy_attributes

_EXPORTS = {
    "EXAMPLES": "app", "WebApp": "app", "Limits": "validate", "add_serve_arguments": "options",
    **dict.fromkeys(("ServerThread", "main", "make_server", "serve", "serve_from_args"), "server"),
}

__all__ = [
    "EXAMPLES", "Limits", "ServerThread", "WebApp", "add_serve_arguments", "main", "make_server",
    "serve", "serve_from_args",
]


__getattr__, __dir__ = _lazy_attributes(__name__, globals(), _EXPORTS, __all__)


if _typing.TYPE_CHECKING:
    from .app import EXAMPLES, WebApp
    from .options import add_serve_arguments
    from .server import ServerThread, main, make_server, serve, serve_from_args
    from .validate import Limits
