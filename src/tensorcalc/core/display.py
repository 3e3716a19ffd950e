"""Notebook representations of a ``Program``: LaTeX, MathML and HTML beside the text form.

One row per equation, ``c = mul(a, b)``, with the names and types of the text printer
(``ir.format_program``); a parameter that is a sub-program (a loop body) shows as ``…``, as on
the equation's line of the text form, which stays the full listing (``text/plain``).
"""

from __future__ import annotations

from html import escape
from typing import Any

from .ir import Literal, Program, Var, _literal_str, _names, _param_str

_TEX_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "#": r"\#",
                "$": r"\$", "%": r"\%", "&": r"\&", "~": r"\textasciitilde{}",
                "^": r"\textasciicircum{}"}


def _tex(s: str) -> str:
    return r"\texttt{" + "".join(_TEX_SPECIAL.get(c, c) for c in s) + "}"


def program_rows(prog: Program) -> tuple[list[str], list[tuple[str, str, str, str]], list[str]]:
    """(typed inputs, [(outputs, primitive, params, arguments)], returned names)."""
    names: dict[int, str] = {}
    gen = _names()

    def name(a: Any) -> str:
        if isinstance(a, Literal):
            return _literal_str(a)
        if id(a) not in names:
            names[id(a)] = next(gen)
        return names[id(a)]

    def typed(v: Var) -> str:
        return f"{name(v)}:{v.aval.str_short()}"

    inputs = [typed(v) for v in prog.inputs]
    rows = []
    for eq in prog.equations:
        params = " ".join(f"{p}=…" if isinstance(v, Program) else f"{p}={_param_str(v)}"
                          for p, v in eq.params.items())
        rows.append((" ".join(typed(v) for v in eq.outputs), eq.primitive.name, params,
                     ", ".join(name(a) for a in eq.inputs)))
    return inputs, rows, [name(a) for a in prog.outputs]


def program_latex(prog: Program) -> str:
    inputs, rows, outs = program_rows(prog)
    lines = [r"\textbf{program}\left(" + r",\ ".join(_tex(i) for i in inputs) + r"\right)"]
    for out, prim, params, args in rows:
        head = rf"\operatorname{{{_tex(prim)[8:-1]}}}"
        if params:
            head += r"_{" + _tex(params) + "}"
        lines.append(rf"\quad {_tex(out)} = {head}\left({_tex(args)}\right)")
    lines.append(r"\quad \textbf{return}\ " + _tex(", ".join(outs)))
    return "\\begin{array}{l}\n" + " \\\\\n".join(lines) + "\n\\end{array}"


def program_mathml(prog: Program) -> str:
    inputs, rows, outs = program_rows(prog)

    def mtext(s: str) -> str:
        return f"<mtext>{escape(s)}</mtext>"

    def tr(*cells: str) -> str:
        return '<mtr><mtd columnalign="left">' + "".join(cells) + "</mtd></mtr>"

    out = [tr("<mtext>program</mtext>", "<mo>(</mo>",
              "<mo>,</mo>".join(mtext(i) for i in inputs), "<mo>)</mo>")]
    for res, prim, params, args in rows:
        op = f"<mi>{escape(prim)}</mi>"
        if params:
            op = f"<msub>{op}{mtext(params)}</msub>"
        out.append(tr("<mspace width='1em'/>", mtext(res), "<mo>=</mo>", op, "<mo>(</mo>",
                      mtext(args), "<mo>)</mo>"))
    out.append(tr("<mspace width='1em'/>", "<mtext>return</mtext>",
                  mtext(", ".join(outs))))
    return '<math display="block"><mtable>' + "".join(out) + "</mtable></math>"


def program_mimebundle(prog: Program, include: Any = None, exclude: Any = None) -> dict:
    """text/plain (the full listing), text/latex, application/mathml+xml and text/html
    (the listing in a ``<pre>``: every front end shows it the same)."""
    bundle = {"text/plain": str(prog), "text/latex": "$" + program_latex(prog) + "$",
              "application/mathml+xml": program_mathml(prog),
              "text/html": f"<pre>{escape(str(prog))}</pre>"}
    return {k: v for k, v in bundle.items()
            if (include is None or k in include) and (exclude is None or k not in exclude)}
