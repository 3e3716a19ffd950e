"""Long programs run as a table of steps over registers instead of compiled source.

For a program of more than :data:`TABLE_ABOVE` equations, writing straight-line source and
having Python ``compile`` it is most of the time ``jit`` takes (``compile`` alone is about
12 µs per line, linear in the tokens it parses, so the source of a 10⁵-operation gradient
costs seconds to compile, however compact). Such a program is instead turned into a list of
*rows*, one per equation, each a tuple of register numbers run by one loop: a register file
``r`` (a list) holds what the generated function's local names would hold, and row ``k`` does
what line ``k`` of the compact source does,

    ``r[o] = ufunc(r[a], r[b], r[p])``

with the same ufunc, the same operands in the same order and the same ``out=`` buffer (the
buffer plan's, :mod:`tensorcalc.compile.buffers`: ``p = o`` when the result takes a dead
buffer's register, a pool buffer's register for a pooled first allocation, none for a fresh
array). The row then sets the registers the source would ``del`` to None, at the same point,
so the same arrays are alive at each step and memory is that of the source. The results are
therefore bit for bit the source's (tests compare).

Equations that are not one ufunc call (reshapes, reductions, loops, kernels with parameters)
keep the code generator's text: each becomes a small function of its operands, all of them
compiled together in one module, and its row calls that function.

Building the table costs a tuple per equation and no parsing (at 10⁵ operations the
gradient's table is built in under a second where its source took three to four seconds to
compile). Running it costs a loop iteration per row more than the straight-line source: about
1.1–1.4× the source's time on 16-element arrays, 1.0–1.05× on 4096-element ones (a contended
2-core VM). ``TENSORCALC_JIT_TABLE=0`` turns tables off (every program compiles its source). The
source is still there to read: :func:`table_source` writes it when asked
(``jit(f).source()``), and it is the program the table runs, line for line.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from typing import Any

import numpy as np

from ..api_util import StrongZeroNaN, may_hold_nan
from ..core.ir import Literal, Program, Var
from .buffers import PLAIN_STRONG_ZERO, kernel_or_ufunc_of, plan_buffers
from .codegen import (
    OUT_BY_KEYWORD,
    STATEMENTS,
    TEMPLATE_GLOBALS,
    TEMPLATES,
    generate_source,
    inline_literal,
)
from .options import env_switch
from .passes import signed
from .pool import _pool_maker, pool_choice, pool_enabled, pool_slots

#: Programs of more equations than this run as a table (see the module docstring).
TABLE_ABOVE = 20_000

Step = Callable[[list[Any]], None]
#: A row of the table: ``(kind, ufunc, a, b, p, o, released)``: ``r[o] = ufunc(r[a])`` (UNARY),
#: ``ufunc(r[a], r[p])`` (UNARY_INTO), ``ufunc(r[a], r[b])`` (BINARY), ``ufunc(r[a], r[b],
#: r[p])`` (BINARY_INTO), or for CALL ``ufunc`` is a step closure called with ``r``; then the
#: registers of ``released`` are set to None. A tuple per equation, no closure: most of the
#: time building a table goes to making its rows.
Row = tuple[int, Any, int, int, int, int, tuple[int, ...]]
UNARY, UNARY_INTO, BINARY, BINARY_INTO, CALL = range(5)


# --- steps that are not one ufunc call of one or two operands: closures called with r -------


def _call(f: Any, ins: tuple[int, ...], p: int | None, by_keyword: bool, o: int) -> Step:
    """Any other arity, or a ufunc whose ``out`` goes by keyword (``np.maximum``)."""
    if p is None:
        def call(r: list[Any]) -> None:
            r[o] = f(*[r[i] for i in ins])
    elif by_keyword:
        def call(r: list[Any]) -> None:
            r[o] = f(*[r[i] for i in ins], out=r[p])
    else:
        def call(r: list[Any]) -> None:
            r[o] = f(*[r[i] for i in ins], r[p])
    return call


def _ufunc_row(f: Any, ins: tuple[int, ...], p: int | None, o: int) -> Row:
    if f in OUT_BY_KEYWORD and p is not None:
        return (CALL, _call(f, ins, p, True, o), 0, 0, 0, 0, ())
    if len(ins) == 1:
        return (UNARY, f, ins[0], 0, 0, o, ()) if p is None else \
            (UNARY_INTO, f, ins[0], 0, p, o, ())
    if len(ins) == 2:
        return (BINARY, f, *ins, 0, o, ()) if p is None else (BINARY_INTO, f, *ins, p, o, ())
    return (CALL, _call(f, ins, p, False, o), 0, 0, 0, 0, ())


def _generic_step(fn: list[Any], ins: tuple[int, ...], outs: tuple[int, ...],
                  many: bool) -> Step:
    """A call of an equation's own compiled function (``fn[0]``, compiled with the others
    once the table is built); ``many``: it returns one value per output (unpacked as
    ``a, b, = …`` would, so a wrong count raises)."""
    if not many:
        (o,) = outs

        def generic(r: list[Any]) -> None:
            r[o] = fn[0](*[r[i] for i in ins])
        return generic

    def generic_many(r: list[Any]) -> None:
        for i, v in zip(outs, fn[0](*[r[i] for i in ins]), strict=True):
            r[i] = v
    return generic_many


def _nan_check(o: int, pool: int | None) -> Step:
    """The strong-zero check of ``nan_checks``: the signal for jit's checked rerun, which reads
    nothing of this call, so the pool goes back first (as the source's check does)."""
    def nan_check(r: list[Any]) -> None:
        if may_hold_nan(r[o]):
            if pool is not None:
                got, give = r[pool]
                give(got)
            raise StrongZeroNaN
    return nan_check


# --- building the table ---------------------------------------------------------------------


def table_supports(prog: Program) -> bool:
    """Whether ``prog`` runs as a table: more than :data:`TABLE_ABOVE` equations, unless
    ``TENSORCALC_JIT_TABLE=0`` (every program compiles its source, as before)."""
    return len(prog.equations) > TABLE_ABOVE and env_switch("TENSORCALC_JIT_TABLE") is not False


def table_program(prog: Program, name: str = "compiled", plain_strong_zeros: bool = False,
                  nan_checks: bool = False, pool: bool | None = None) -> Callable[..., Any]:
    """A function computing ``prog`` by running its table of steps; the same results, bit for
    bit, as :func:`~tensorcalc.compile.codegen.compile_program` with the same options."""
    with pool_choice(pool):  # the bodies of lax loops among its steps follow `pool` too
        return _table_program(prog, name, plain_strong_zeros, nan_checks, pool)


def _table_program(prog: Program, name: str, plain_strong_zeros: bool, nan_checks: bool,
                   pool: bool | None) -> Callable[..., Any]:
    plain = plain_strong_zeros
    check_nan = plain and nan_checks
    plan = plan_buffers(prog, plain, kernel_or_ufunc_of)
    slots = pool_slots(plan.poolable) if pool_enabled(pool) else {}
    start: list[Any] = []  # the register file at a call's entry: constants, None elsewhere
    regs: dict[Var, int] = {}
    n_in = len(prog.inputs)
    for v in prog.inputs:
        regs[v] = len(start)
        start.append(None)
    pool_regs = {k: len(start) + j for j, k in enumerate(slots)}
    start.extend(None for _ in slots)
    pool_at = None
    if slots:
        pool_at = len(start)  # (the call's pool, the free list's append) while it runs
        start.append(None)
    consts: dict[Any, int] = {}

    def const_reg(value: Any) -> int:
        # One register per constant object (a number written inline by value and sign, as
        # its source text is: -0.0 is not 0.0).
        key = (type(value), signed(value)) if inline_literal(value) else id(value)
        got = consts.get(key)
        if got is None:
            got = consts[key] = len(start)
            start.append(value)
        return got

    generic = _Generic(plain)
    rows: list[Row] = []
    append = rows.append
    eqs = prog.equations
    ufuncs, outs_of, release_of = plan.ufuncs, plan.out, plan.release
    for k, eq in enumerate(eqs):
        operands = eq.inputs
        if len(operands) == 2:  # the common cases first, without a comprehension
            a, b = operands
            ins: tuple[int, ...] = (regs[a] if type(a) is not Literal else const_reg(a.value),
                                    regs[b] if type(b) is not Literal else const_reg(b.value))
        elif len(operands) == 1:
            a = operands[0]
            ins = (regs[a] if type(a) is not Literal else const_reg(a.value),)
        else:
            ins = tuple([regs[a] if type(a) is not Literal else const_reg(a.value)
                         for a in operands])
        buf = outs_of[k]
        u = ufuncs[k]
        outs = eq.outputs
        if buf is not None:
            o = regs[outs[0]] = regs[buf]
            into: int | None = o
        elif len(outs) == 1:
            o = regs[outs[0]] = len(start)
            start.append(None)
            into = pool_regs.get(k) if pool_regs else None
        else:
            o = len(start)
            for v in outs:
                regs[v] = len(start)
                start.append(None)
            into = pool_regs.get(k) if pool_regs else None
        if u is None:
            step = _generic_step(generic.function(k, eq, ins), ins,
                                 tuple(range(o, o + len(outs))), eq.primitive.multiple_results)
            row: Row = (CALL, step, 0, 0, 0, 0, ())
        elif len(ins) == 2 and u not in OUT_BY_KEYWORD:
            row = (BINARY, u, *ins, 0, o, ()) if into is None else \
                (BINARY_INTO, u, *ins, into, o, ())
        else:
            row = _ufunc_row(u, ins, into, o)
        if check_nan and eq.primitive in PLAIN_STRONG_ZERO:
            append(row)
            row = (CALL, _nan_check(o, pool_at), 0, 0, 0, 0, ())
        release = release_of[k]
        if release:
            dead = (regs[release[0]],) if len(release) == 1 else \
                tuple([regs[v] for v in release])
            if buf is not None and o in dead:  # (the result holds the buffer: not freed)
                dead = tuple([i for i in dead if i != o])
            if dead:
                row = row[:6] + (dead,)
        append(row)
    generic.compile(name)
    rets: list[tuple[int, bool]] = []  # (register, copy: a returned array constant)
    for a in prog.outputs:
        if type(a) is Literal:
            rets.append((const_reg(a.value), isinstance(a.value, np.ndarray)))
        else:
            rets.append((regs[a], False))
    return _runner(name, tuple(rows), start, n_in, tuple(rets), slots, plan.poolable,
                   tuple(pool_regs.values()), pool_at)


class _Generic:
    """The equations that are not one ufunc call, each written as a function of its operands
    with the code generator's own text (templates, loops, implementation calls), compiled
    together into one module."""

    def __init__(self, plain: bool) -> None:
        self.plain = plain
        self.lines: list[str] = []
        self.env: dict[str, Any] = dict(TEMPLATE_GLOBALS)
        self.names: list[tuple[str, list[Any]]] = []
        self.counter = 0

    def const(self, value: Any) -> str:
        if inline_literal(value):
            return repr(value)
        self.counter += 1
        key = f"_k{self.counter}"
        self.env[key] = value
        return key

    def function(self, k: int, eq: Any, ins: tuple[int, ...]) -> list[Any]:
        """A list that will hold equation ``k``'s function once :meth:`compile` has run."""
        params = [f"a{j}" for j in range(len(ins))]
        args = [params[j] if type(a) is not Literal else self.const(a.value)
                for j, a in enumerate(eq.inputs)]
        outs = [f"o{j}" for j in range(len(eq.outputs))]
        prim = eq.primitive
        fname = f"_e{k}"
        head = f"def {fname}({', '.join(params)}):"
        statement = STATEMENTS.get(prim)
        if statement is not None:
            body = statement(args, outs, eq.params, self.const, self.plain)
            self.lines += [head, *(f"    {line}" for line in body),
                           f"    return ({', '.join(outs)},)"]
        else:
            self.lines += [head, f"    return {self._expr(eq, args)}"]
        holder: list[Any] = []
        self.names.append((fname, holder))
        return holder

    def _expr(self, eq: Any, args: list[str]) -> str:
        template = TEMPLATES.get(eq.primitive)
        if template is not None:
            return template(args, eq.params, self.const)
        impl = eq.primitive.impl
        if isinstance(impl, np.ufunc) and not eq.params:
            return f"np.{impl.__name__}({', '.join(args)})"
        fn = self.const(impl)
        kw = ", ".join(f"{p}={self.const(v)}" for p, v in eq.params.items()
                       if p.isidentifier() and not keyword.iskeyword(p))
        return f"{fn}({', '.join(args)}{', ' + kw if kw else ''})"

    def compile(self, name: str) -> None:
        if not self.lines:
            return
        source = "\n".join(self.lines) + "\n"
        # The source is generated here from a Program, never from user text.
        exec(compile(source, f"<tensorcalc.jit {name} steps>", "exec"), self.env)  # noqa: S102
        for fname, holder in self.names:
            holder.append(self.env[fname])


def _runner(name: str, rows: tuple[Row, ...], start: list[Any], n_in: int,
            rets: tuple[tuple[int, bool], ...], slots: dict[int, str],
            poolable: dict[int, tuple], pool_regs: tuple[int, ...], pool_at: int | None
            ) -> Callable[..., Any]:
    free: list[list[np.ndarray]] = []  # the call pool's free list (see compile/pool.py)
    if slots:
        take, give = free.pop, free.append
        new_pool = _pool_maker([poolable[k] for k in slots])
    first = pool_regs[0] if pool_regs else 0

    def run_table(*args: Any) -> tuple[Any, ...]:
        if len(args) != n_in:
            raise TypeError(f"{name}() takes {n_in} arguments ({len(args)} given)")
        r = start.copy()
        r[:n_in] = args
        if slots:
            try:
                got = take()
            except IndexError:
                got = new_pool()
            r[first:first + len(got)] = got
            r[pool_at] = (got, give)
        for kind, f, a, b, p, o, released in rows:
            if kind == BINARY_INTO:  # the commonest first
                r[o] = f(r[a], r[b], r[p])
            elif kind == UNARY_INTO:
                r[o] = f(r[a], r[p])
            elif kind == BINARY:
                r[o] = f(r[a], r[b])
            elif kind == UNARY:
                r[o] = f(r[a])
            else:
                f(r)
            if released:
                for i in released:
                    r[i] = None
        out = tuple(r[i].copy() if copy else r[i] for i, copy in rets)
        if slots:
            give(got)
        return out

    run_table.__name__ = run_table.__qualname__ = name
    run_table.pools = free  # type: ignore[attr-defined]  (for tests: the pools not in use)
    return run_table


def table_source(prog: Program, name: str = "compiled", plain_strong_zeros: bool = False,
                 nan_checks: bool = False, pool: bool | None = None) -> str:
    """The straight-line source of the program a table runs (what ``jit(f).source()`` shows
    for a long program; generated on demand, never compiled)."""
    return generate_source(prog, name, plain_strong_zeros=plain_strong_zeros,
                           nan_checks=nan_checks, pool=pool)[0]
