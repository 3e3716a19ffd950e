"""The program IR: ``Var``, ``Literal``, ``Equation`` and ``Program``.

A :class:`Program` is a straight-line list of equations ``outs = prim[params](ins)`` over typed
variables. Every derivative tensorcalc computes is a program of this kind, so derivatives can be
evaluated, transposed, printed, planned and compiled by the same interpreters that handle the
user's function.

Printing assigns short names (``a``, ``b``, …) in order of appearance and shows each variable's
abstract value, e.g. ``c:f64[3] = tanh b``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .shapes import ShapedArray, Sym, dtype_short


class Var:
    """A variable of a program, identified by object identity; carries its abstract value."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray) -> None:
        # No counter: staging makes one per operation, and identity is all a program needs.
        self.aval = aval

    def __repr__(self) -> str:
        return f"Var#{id(self):x}:{self.aval.str_short()}"


class Literal:
    """A constant operand: a Python scalar, an array, or a value traced at an outer level."""

    __slots__ = ("aval", "value")

    def __init__(self, value: Any, aval: ShapedArray) -> None:
        self.value = value
        self.aval = aval

    def __repr__(self) -> str:
        return f"Literal({_literal_str(self)})"


Atom = Var | Literal


@dataclass(slots=True)
class Equation:
    """``outputs = primitive[params](*inputs)``."""

    primitive: Any
    inputs: tuple[Atom, ...]
    outputs: tuple[Var, ...]
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Program:
    """A straight-line program: typed inputs, equations in evaluation order, outputs.

    Derivative programs hold two primitives of their own. ``mul_sz t f`` is ``t · f`` and
    ``div_sz t f`` is ``t / f`` with a *strong zero* in the (co)tangent ``t``: wherever
    ``t == 0`` the result is 0, even if ``f`` is ±∞ or NaN (``sz``: strong zero; see
    :mod:`tensorcalc.ops.strong_zero`). That is how a derivative such as ``sqrt′(0) = ∞`` in
    the branch a ``where`` did not take stays out of a gradient.
    """

    inputs: list[Var]
    equations: list[Equation]
    outputs: list[Atom]

    #: The evaluation interpreter, installed by :mod:`tensorcalc.interpreters.evaluate` when it
    #: is imported. This is the IR's one hook into an interpreter: ``core`` imports nothing
    #: above it, so calling a program is wired from the interpreter's side.
    evaluator: ClassVar[Callable[[Program, list[Any]], list[Any]] | None] = None

    def __call__(self, *args: Any) -> list[Any]:
        """Evaluate the program on ``args`` (one per input); returns the list of outputs."""
        if Program.evaluator is None:
            raise RuntimeError("import tensorcalc first: it installs the program evaluator")
        return Program.evaluator(self, list(args))

    @property
    def in_avals(self) -> list[ShapedArray]:
        return [v.aval for v in self.inputs]

    @property
    def out_avals(self) -> list[ShapedArray]:
        return [a.aval for a in self.outputs]

    def typecheck(self) -> None:
        """Check that every variable is defined before use and that avals are consistent."""
        defined = set(map(id, self.inputs))
        for k, eq in enumerate(self.equations):
            for a in eq.inputs:
                if isinstance(a, Var) and id(a) not in defined:
                    raise ValueError(f"equation {k} ({eq.primitive}) uses an undefined variable")
            in_avals = [a.aval for a in eq.inputs]
            expect = eq.primitive.abstract_eval(*in_avals, **eq.params)
            if not eq.primitive.multiple_results:
                expect = [expect]
            got = [v.aval for v in eq.outputs]
            for e, g in zip(expect, got, strict=True):
                if e.shape != g.shape or e.dtype != g.dtype:
                    raise ValueError(
                        f"equation {k} ({eq.primitive}): output {g.str_short()} does not match "
                        f"the shape rule {e.str_short()}"
                    )
            defined.update(map(id, eq.outputs))
        for a in self.outputs:
            if isinstance(a, Var) and id(a) not in defined:
                raise ValueError("a program output is never defined")

    def __str__(self) -> str:
        return format_program(self)

    def __repr__(self) -> str:
        return f"<Program: {len(self.inputs)} inputs, {len(self.equations)} equations>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(str(self))

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """Jupyter display: text, LaTeX, MathML and HTML (``core/display.py``)."""
        from .display import program_mimebundle

        return program_mimebundle(self, include, exclude)

    def _repr_latex_(self) -> str:
        from .display import program_latex

        return "$" + program_latex(self) + "$"


def _names() -> Iterator[str]:
    for n in itertools.count(1):
        for letters in itertools.product("abcdefghijklmnopqrstuvwxyz", repeat=n):
            yield "".join(letters)


def _literal_str(lit: Literal) -> str:
    v = lit.value
    if isinstance(v, (bool, int, float, complex, np.generic)):
        return repr(v.item() if isinstance(v, np.generic) else v)
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return repr(v.item())
    return f"const:{lit.aval.str_short()}"


def _param_str(v: Any) -> str:
    if isinstance(v, np.dtype):
        return dtype_short(v)
    if isinstance(v, type) and issubclass(v, np.generic):
        return dtype_short(np.dtype(v))
    if isinstance(v, tuple):
        return "(" + ",".join(_param_str(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, slice):
        parts = ["" if p is None else str(p) for p in (v.start, v.stop, v.step)]
        return ":".join(parts[:2]) if v.step is None else ":".join(parts)
    if isinstance(v, np.ndarray):
        return f"array{list(v.shape)}"
    if isinstance(v, Sym):
        return v.name
    return repr(v)


def format_program(prog: Program, indent: int = 2) -> str:
    """Text form: a header with typed inputs, one line per equation, the returned atoms.

    A parameter that is itself a Program (the body of a loop) prints as ``name=…`` on the
    equation's line and in full below it, indented one level further, with names of its own.
    The walk is iterative (a stack of the programs being printed), so nesting depth is free."""
    lines: list[str] = []
    # Each frame: (program, depth, names, name generator, index of the next equation).
    stack: list[list[Any]] = [[prog, 0, {}, _names(), -1, ""]]
    while stack:
        frame = stack[-1]
        sub, depth, names, gen, k, label = frame

        def name(a: Atom, names: dict[int, str] = names, gen: Iterator[str] = gen) -> str:
            if isinstance(a, Literal):
                return _literal_str(a)
            if id(a) not in names:
                names[id(a)] = next(gen)
            return names[id(a)]

        def typed(v: Var, name: Callable[[Atom], str] = name) -> str:
            return f"{name(v)}:{v.aval.str_short()}"

        here = " " * (indent * depth)
        pad = here + " " * indent
        if k < 0:
            lines.append(f"{here}{label}program(" + ", ".join(typed(v) for v in sub.inputs)
                         + ")")
        elif k >= len(sub.equations):
            lines.append(f"{pad}return " + ", ".join(name(a) for a in sub.outputs))
            stack.pop()
            continue
        else:
            eq = sub.equations[k]
            outs = " ".join(typed(v) for v in eq.outputs)
            params = ""
            if eq.params:
                params = "[" + " ".join(
                    f"{p}=…" if isinstance(v, Program) else f"{p}={_param_str(v)}"
                    for p, v in eq.params.items()) + "]"
            args = " ".join(name(a) for a in eq.inputs)
            lines.append(f"{pad}{outs} = {eq.primitive.name}{params} {args}")
            subs = [(p, v) for p, v in eq.params.items() if isinstance(v, Program)]
            frame[4] = k + 1
            for p, v in reversed(subs):
                stack.append([v, depth + 2, {}, _names(), -1, f"{p}: "])
            continue
        frame[4] = k + 1
    return "\n".join(lines)
