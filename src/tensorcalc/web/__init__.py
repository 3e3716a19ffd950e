"""A local web page for matrix calculus: ``tensorcalc serve`` or ``python -m tensorcalc.web``.

Type an expression in matrixcalculus.org syntax and get its derivative or Hessian rendered as
MathML (tensorcalc's own printer, no JavaScript math library), with its shape and layout, the
derivation steps, LaTeX, generated NumPy code and a numerical check; a second tab plans Jacobian
chains (forward / reverse / optimal accumulation, docs/lessons/accumulation.md). Everything is
served from this package; the page makes no request beyond the local server. See docs/web.md for the
JSON API.
"""

from .app import EXAMPLES, WebApp
from .server import ServerThread, add_serve_arguments, main, make_server, serve, serve_from_args
from .validate import Limits

__all__ = [
    "EXAMPLES", "Limits", "ServerThread", "WebApp", "add_serve_arguments", "main", "make_server",
    "serve", "serve_from_args",
]
