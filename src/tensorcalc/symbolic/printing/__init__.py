"""Printers for symbolic expressions: text (matrixcalculus.org syntax), LaTeX, MathML, NumPy.

Each printer dispatches on the node type with ``functools.singledispatch``; parenthesisation comes
from one precedence table (``precedence``), shared by all printers.
"""

from .latex import to_latex
from .mathml import to_mathml
from .text import to_text

__all__ = ["to_latex", "to_mathml", "to_text"]

from . import language as _language  # noqa: E402, F401 (registers the wider language's rules)
