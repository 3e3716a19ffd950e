"""The printing methods of expression nodes: ``str(e)``, ``e.latex()`` and ``e.mathml()``.

``Displayable`` adds the notebook representations (``_repr_latex_``, ``_repr_mimebundle_``) to
anything with those three. The printers (``symbolic/printing/``) import the node classes to
dispatch on them, so the node module cannot import the printers at load time without a circular
import. This mixin is the one documented upward reference: it imports the printers lazily,
inside each method, as SymPy does in ``sympy/core/_print_helpers.py``.
"""

from __future__ import annotations

from typing import Any


class Displayable:
    """Notebook display (Jupyter, IPython) from ``str``, ``latex()`` and ``mathml()``.

    ``_repr_mimebundle_`` gives plain text, LaTeX (display style, rendered by
    MathJax/KaTeX), MathML (``application/mathml+xml``) and the MathML inside ``text/html``,
    which browsers render natively; the front end picks the richest it shows.
    """

    __slots__ = ()

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self.latex()}$"  # type: ignore[attr-defined]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        mathml = self.mathml(display="block")  # type: ignore[attr-defined]
        bundle = {"text/plain": str(self), "text/latex": self._repr_latex_(),
                  "application/mathml+xml": mathml, "text/html": mathml}
        return {k: v for k, v in bundle.items()
                if (include is None or k in include) and (exclude is None or k not in exclude)}

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))


class Printable(Displayable):
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
