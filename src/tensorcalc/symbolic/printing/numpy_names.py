"""Parameter names for generated NumPy source: each variable gets a distinct Python identifier
that collides with no keyword, no name the generated code uses and no other variable."""

from __future__ import annotations

import keyword

from tensorcalc.symbolic.expr import Var

#: Names the generated code itself uses: the NumPy module and the builtins it calls.
RESERVED = frozenset({"np", "float", "int"})


def _safe(name: str) -> bool:
    """Whether ``name`` can be a parameter as it is: an identifier that is no keyword, no name
    the generated code uses, and outside the ``_t…``/``_<dim>``/``dim_…`` names it binds."""
    return (name.isidentifier() and not keyword.iskeyword(name) and name not in RESERVED
            and not name.startswith(("_", "dim_")))


def python_names(variables: list[Var]) -> dict[str, str]:
    """Variable name -> distinct Python parameter name. Safe names are kept; the others get
    trailing underscores until they collide with nothing taken (``np`` next to a variable
    ``np_`` becomes ``np__``), so two variables never share a parameter."""
    names = sorted({v.name for v in variables})
    taken = set(RESERVED) | {n for n in names if _safe(n)}
    out = {n: n for n in names if _safe(n)}
    for n in names:
        if n in out:
            continue
        base = n if n.isidentifier() else "".join(c if (c.isalnum() or c == "_") else "_"
                                                   for c in n)
        cand = base if base[:1].isalpha() and not base.startswith("dim_") else "v" + base
        while cand in taken or not _safe(cand):
            cand += "_"
        taken.add(cand)
        out[n] = cand
    return out
