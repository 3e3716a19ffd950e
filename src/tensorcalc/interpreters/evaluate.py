"""Evaluate a :class:`Program` on concrete (or traced) values.

Each equation is applied with ``bind``, so evaluating a program inside another transformation
transforms it too. Symbolic dimensions are bound from the arguments' shapes and substituted into
shape-valued parameters (``reshape`` to ``(n, m)``) before the NumPy implementation runs.
"""

from __future__ import annotations

from typing import Any

from ..core.errors import ShapeError
from ..core.ir import Literal, Program
from ..core.primitive import get_aval
from ..core.shapes import Sym, is_concrete
from ..core.zeros import Zero, instantiate


def _bind_symbols(prog: Program, args: list[Any]) -> dict[Sym, int]:
    env: dict[Sym, int] = {}
    for v, a in zip(prog.inputs, args, strict=True):
        shape = get_aval(a).shape
        if len(shape) != len(v.aval.shape):
            raise ShapeError(f"program input expects {v.aval.str_short()}, got shape {shape}")
        for d, n in zip(v.aval.shape, shape, strict=True):
            if isinstance(d, Sym):
                if env.setdefault(d, n) != n:
                    raise ShapeError(f"symbol {d} is bound to both {env[d]} and {n}")
            elif d != n:
                raise ShapeError(f"program input expects {v.aval.str_short()}, got shape {shape}")
    return env


def _subst(value: Any, env: dict[Sym, int]) -> Any:
    if isinstance(value, Sym):
        if value in env:
            return env[value]
        if "*" in value.name:
            out = 1
            for part in value.name.split("*"):
                out *= env[Sym(part)]
            return out
        raise ShapeError(f"symbolic dimension {value} is not bound by the program's inputs")
    if isinstance(value, tuple):
        return tuple(_subst(v, env) for v in value)
    return value


def eval_program(prog: Program, args: list[Any]) -> list[Any]:
    if len(args) != len(prog.inputs):
        raise TypeError(f"program takes {len(prog.inputs)} inputs, got {len(args)}")
    symbolic = not all(is_concrete(v.aval.shape) for v in prog.inputs)
    env_sym = _bind_symbols(prog, args) if symbolic else {}
    env: dict[int, Any] = {id(v): a for v, a in zip(prog.inputs, args, strict=True)}

    def read(atom: Any) -> Any:
        return atom.value if isinstance(atom, Literal) else env[id(atom)]

    for eq in prog.equations:
        params = eq.params
        if symbolic:
            params = {k: _subst(v, env_sym) for k, v in params.items()}
        vals = [read(a) for a in eq.inputs]
        out = eq.primitive.bind(*vals, **params)
        if eq.primitive.multiple_results:
            for v, o in zip(eq.outputs, out, strict=True):
                env[id(v)] = o
        else:
            env[id(eq.outputs[0])] = out
    results = []
    for a in prog.outputs:
        r = read(a)
        results.append(instantiate(r) if type(r) is Zero else r)
    return results


Program.evaluator = eval_program
