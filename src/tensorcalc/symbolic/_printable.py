"""The printing methods of expression nodes: ``str(e)``, ``e.latex()`` and ``e.mathml()``.

The printers (``symbolic/printing/``) import the node classes to dispatch on them, so the node
module cannot import the printers at load time without a circular import. This mixin is the one
documented upward reference: it imports the printers lazily, inside each method, as SymPy does in
``sympy/core/_print_helpers.py``.
"""

from __future__ import annotations


class Printable:
    """``__str__`` in the input syntax, ``latex()`` and ``mathml()``, each by its printer."""

    __slots__ = ()

    def __str__(self) -> str:
        from .printing.text import to_text

        return to_text(self)

    def latex(self) -> str:
        from .printing.latex import to_latex

        return to_latex(self)

    def mathml(self, display: str = "block") -> str:
        from .printing.mathml import to_mathml

        return to_mathml(self, display=display)
