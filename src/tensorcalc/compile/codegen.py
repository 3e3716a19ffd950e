"""Generate straight-line NumPy source from a :class:`~tensorcalc.core.ir.Program`.

Each equation becomes one line that calls NumPy directly (``c = np.matmul(a, b)``), so a
compiled function pays only NumPy's own cost: no tracing, no dispatch. Primitives whose
implementation is a NumPy ufunc are emitted as that ufunc; the structural ones have templates;
any other primitive calls its implementation with its parameters bound as constants.
Array constants are passed in through the function's globals, scalars are written inline.
"""

from __future__ import annotations

import itertools
import keyword
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..api_util import StrongZeroNaN, may_hold_nan
from ..core.ir import Literal, Program, Var
from ..core.primitive import Primitive
from ..ops._base import reshape_array, transpose_array
from ..ops.elementwise import select_p
from ..ops.reductions import reduce_max_p, reduce_min_p
from ..ops.structural import (
    broadcast_to_p,
    convert_p,
    getitem_p,
    reduce_sum_p,
    reshape_p,
    transpose_p,
)
from .buffers import PLAIN_STRONG_ZERO, numpy_call_of, plan_buffers
from .pool import pool_choice, pool_enabled, pool_prologue, pool_slots, recycle_slots

Const = Callable[[Any], str]


# Reshapes and transposes call the array's method (ops/_base.py: a quarter of the cost of
# NumPy's functions, which S6's attention gradient calls 23 times per call).
def _reshape_source(args: list[str], params: dict[str, Any], const: Const) -> str:
    return f"_reshape({args[0]}, {const(params['new_shape'])})"


def _transpose_source(args: list[str], params: dict[str, Any], const: Const) -> str:
    return f"_transpose({args[0]}, {const(params['perm'])})"


def _broadcast_to_source(args: list[str], params: dict[str, Any], const: Const) -> str:
    return f"np.broadcast_to({args[0]}, {const(params['shape'])})"


def _reduction_source(np_name: str) -> Callable[[list[str], dict[str, Any], Const], str]:
    def reduction_source(args: list[str], params: dict[str, Any], const: Const) -> str:
        return f"np.{np_name}({args[0]}, axis={const(params['axes'])})"

    reduction_source.__name__ = f"_{np_name}_source"
    return reduction_source


def _getitem_source(args: list[str], params: dict[str, Any], const: Const) -> str:
    return f"{args[0]}[{const(params['idx'])}]"


def _convert_source(args: list[str], params: dict[str, Any], const: Const) -> str:
    if np.dtype(params["dtype"]).kind != "c":  # complex -> real keeps the real part, silently
        return f"np.real(np.asarray({args[0]})).astype({const(params['dtype'])})"
    return f"np.asarray({args[0]}).astype({const(params['dtype'])})"


def _select_source(args: list[str], params: dict[str, Any], const: Const) -> str:
    return f"np.where({args[0]}, {args[1]}, {args[2]})"


#: The globals every module that uses :data:`TEMPLATES` needs (the names the templates write).
TEMPLATE_GLOBALS: dict[str, Any] = {"np": np, "_reshape": reshape_array,
                                    "_transpose": transpose_array}

#: Source templates for primitives that are not a plain ufunc call. Keyed by the primitive
#: object, so a rename cannot silently drop a template; every other primitive is emitted as
#: its ufunc (:func:`~tensorcalc.compile.buffers.ufunc_of`) or a call of its implementation.
TEMPLATES: dict[Primitive, Callable[[list[str], dict[str, Any], Const], str]] = {
    reshape_p: _reshape_source,
    transpose_p: _transpose_source,
    broadcast_to_p: _broadcast_to_source,
    reduce_sum_p: _reduction_source("sum"),
    reduce_max_p: _reduction_source("max"),
    reduce_min_p: _reduction_source("min"),
    getitem_p: _getitem_source,
    convert_p: _convert_source,
    select_p: _select_source,
}

#: Primitives emitted as several statements (loops: ``scan``), registered by the modules that
#: define them: ``emit(ins, outs, params, const, plain) -> lines`` (unindented Python lines
#: that assign every name of ``outs``; ``const`` binds a value into the module's globals).
STATEMENTS: dict[Primitive, Callable[..., list[str]]] = {}


def inline_literal(value: Any) -> bool:
    """Whether ``repr(value)`` evaluates back to ``value`` in the generated module."""
    t = type(value)
    if t is float:
        return math.isfinite(value)
    if t is int or t is bool:
        return True
    if t is tuple:
        return all(isinstance(v, int) and not isinstance(v, np.generic) for v in value)
    return False


#: Programs longer than this are emitted in the compact form (see :func:`generate_source`).
COMPACT_ABOVE = 2000
#: Ufuncs whose ``out`` NumPy 2.4 deprecates passing by position (a third operand reads as an
#: attempt at a three-way extremum).
OUT_BY_KEYWORD = frozenset({np.maximum, np.minimum})


def generate_source(prog: Program, name: str = "compiled", reuse_buffers: bool = True,
                    plain_strong_zeros: bool = False, nan_checks: bool = False,
                    pool: bool | None = None, augment: bool = True
                    ) -> tuple[str, dict[str, Any]]:
    """Return ``(source, globals)`` for a Python function computing ``prog``. With
    ``reuse_buffers`` the function releases each intermediate after its last use and writes
    ufunc results into dead buffers with ``out=`` (:mod:`tensorcalc.compile.buffers`); with
    ``plain_strong_zeros`` ``mul_sz``/``div_sz`` are emitted as ``np.multiply``/``np.true_divide``,
    and with ``nan_checks`` as well each such product's result is checked for a NaN on the spot
    (raising :class:`~tensorcalc.api_util.StrongZeroNaN`, the signal for the checked rerun).

    A result written into a buffer with ``out=`` takes the name that holds the buffer
    (``v2 = np.add(v2, 1.0, out=v2)``): rebinding the name is what a ``del`` of the old holder
    did, without a statement of its own. That halves the source of an elementwise chain, and
    Python's ``compile`` of the source is the largest part of compiling a long program.
    For the same reason a program of more than :data:`COMPACT_ABOVE` equations is written
    compactly: each ufunc bound to a global of its own name (``_add``), ``out`` passed by
    position, no comments (a third less for ``compile`` to parse; also a little faster to
    run). Shorter programs keep the readable form (``np.add(a, b, out=a)  # add``).

    With ``pool`` (``None``: on unless ``TENSORCALC_JIT_POOL=0``; needs ``reuse_buffers``) the
    first allocation of each buffer the plan may pool writes into a buffer of a call pool
    instead (:mod:`tensorcalc.compile.pool`).
    """
    plain = plain_strong_zeros
    plan = plan_buffers(prog, plain, numpy_call_of) if reuse_buffers else None
    env: dict[str, Any] = dict(TEMPLATE_GLOBALS)
    slots = pool_slots(plan.poolable) if plan is not None and pool_enabled(pool) else {}
    recycled = recycle_slots(plan.recyclable, slots, plan.poolable) \
        if plan is not None and pool_enabled(pool) else {}
    if plain and nan_checks:
        env["_nan"], env["_StrongZeroNaN"] = may_hold_nan, StrongZeroNaN
    names: dict[Var, str] = {}
    counter = itertools.count(1)
    check_nan = plain and nan_checks
    compact = len(prog.equations) > COMPACT_ABOVE
    ufunc_names: dict[np.ufunc, str] = {}

    def const(value: Any) -> str:
        # Only values whose repr is a Python literal are written inline: repr(-inf) is the
        # bare name ``inf`` and repr(nan) is ``nan``, neither defined in the generated module.
        if inline_literal(value):
            return repr(value)
        key = f"_k{next(counter)}"
        env[key] = value
        return key

    args = []
    for v in prog.inputs:
        names[v] = f"x{next(counter)}"
        args.append(names[v])
    lines = [f"def {name}({', '.join(args)}):"]
    append = lines.append
    if slots or recycled:
        lines.extend(pool_prologue(slots, plan.poolable, env, recycled))
    eqs = prog.equations
    uses = plan.read_once_by_next if compact and plan is not None else ()
    pending: Any = None  # a result not yet given a line (read by this equation only)
    pending_expr = ""  # the call that computes it
    depth = 0
    later: list[str] = []  # names the nested calls released, freed after the line
    ufuncs = plan.ufuncs if plan is not None else [numpy_call_of(eq, plain) for eq in eqs]
    augmented = _augmented_ops(eqs, plan) if compact and plan is not None and augment else None
    if augmented is not None:
        env[_IN_PLACE_OPERATORS] = True  # compile_program guards the function (see there)
    for k, eq in enumerate(eqs):
        ins = [pending_expr if a is pending else names[a] if type(a) is not Literal
               else const(a.value) for a in eq.inputs]
        pending = None
        prim = eq.primitive
        buf = plan.out[k] if plan is not None else None
        slot = slots.get(k)  # a buffer of the call pool for this first allocation
        if slot is None and k in recycled:
            slot = recycled[k][0]  # a dropped earlier result, or None: allocate
        if buf is not None:  # the result takes the buffer's name
            target = names[eq.outputs[0]] = names[buf]
            outs = [target]
        else:
            outs = []
            for v in eq.outputs:
                names[v] = out_name = f"v{next(counter)}"
                outs.append(out_name)
            target = outs[0] if not prim.multiple_results else ", ".join(outs) + ","
        u = ufuncs[k]
        if augmented is not None and augmented[k] is not None and ins[0] == target:
            # In place on the first operand: ``v *= w`` is ``np.multiply(v, w, v)``.
            expr = ""
        elif compact and (isinstance(u, np.ufunc) or hasattr(u, "jit_name")):
            # The common case: a global bound to the ufunc (or to a primitive's own kernel,
            # which is called like one).
            fn = ufunc_names.get(u)
            if fn is None:
                fn = ufunc_names[u] = getattr(u, "jit_name", None) or f"_{u.__name__}"
                env[fn] = u
            into = target if buf is not None else slot  # out by position
            if into is not None and u in OUT_BY_KEYWORD:
                into = f"out={into}"
            expr = (f"{fn}({', '.join(ins)}, {into})" if into is not None
                    else f"{fn}({', '.join(ins)})")
        else:
            statement = STATEMENTS.get(prim)
            if statement is not None:
                body = statement(ins, outs, eq.params, const, plain)
                lines.extend(f"    {line}  # {prim.name}" if j == 0 else f"    {line}"
                             for j, line in enumerate(body))
                dead = _released(plan, k, names, None)
                if dead:
                    append(f"    del {', '.join(dead)}")
                continue
            template = TEMPLATES.get(prim)
            if template is not None:
                expr = template(ins, eq.params, const)
            else:
                impl = u or prim.impl
                if isinstance(impl, np.ufunc) and not eq.params:
                    into = target if buf is not None else slot
                    out_kw = f", out={into}" if into is not None else ""
                    expr = f"np.{impl.__name__}({', '.join(ins)}{out_kw})"
                else:
                    fn = getattr(impl, "jit_name", None)  # a primitive's own jit kernel
                    if fn is not None:
                        env[fn] = impl
                    else:
                        fn = const(impl)
                    kw = ", ".join(f"{p}={const(v)}" for p, v in eq.params.items()
                                   if p.isidentifier() and not keyword.iskeyword(p))
                    into = None if u is None else target if buf is not None else slot
                    if into is not None:  # a numpy_out rule (buffers.numpy_call_of)
                        kw = f"{kw}, out={into}" if kw else f"out={into}"
                    expr = f"{fn}({', '.join(ins)}{', ' + kw if kw else ''})"
        dead = _released(plan, k, names, target if buf is not None else None)
        if later:
            dead = [d for d in later if d != target] + dead
            later = []
        if k in uses and depth < _NEST and not prim.multiple_results and expr \
                and not (check_nan and prim in PLAIN_STRONG_ZERO) \
                and eqs[k + 1].primitive not in STATEMENTS \
                and not (augmented is not None and augmented[k + 1] is not None
                         and eqs[k + 1].inputs[0] is eq.outputs[0]):
            # Read once, by the next equation: the next line takes this call as its argument
            # instead (and what this call released is freed after that line). A result in a
            # buffer of its own is named as it is made (``(v3 := _mul(a, b))``), for the
            # ``out=`` or the ``del`` that may follow.
            pending, depth, later = eq.outputs[0], depth + 1, dead
            pending_expr = expr if buf is not None else f"({target} := {expr})"
            continue
        depth = 0
        if not expr:
            append(f"    {target} {augmented[k]}= {ins[1]}")  # type: ignore[index]
        else:
            append(f"    {target} = {expr}" if compact else f"    {target} = {expr}  # {prim.name}")
        if check_nan and prim in PLAIN_STRONG_ZERO:
            # The signal is caught by jit's retry, which never reads this call's values, so
            # the pool can go back first.
            give = "_give(_pool); " if slots or recycled else ""
            append(f"    if _nan({outs[0]}): {give}raise _StrongZeroNaN")
        if dead:
            append(f"    del {', '.join(dead)}")
    # A returned constant is copied: callers may modify results in place.
    rets = [(names[a] if type(a) is not Literal else const(a.value))
            + (".copy()" if isinstance(a, Literal) and isinstance(a.value, np.ndarray) else "")
            for a in prog.outputs]
    if recycled:
        kept = ", ".join(rets[i] for _, i, _ in recycled.values())
        append(f"    _keep(_kept, ({kept},))")
    if slots or recycled:
        append("    _give(_pool)")
    append(f"    return ({', '.join(rets)}{',' if len(rets) == 1 else ''})")
    return "\n".join(lines) + "\n", env


#: How many calls one generated line may nest (Python's parser limits nesting depth).
_NEST = 8

#: The ufuncs whose in-place operator on an ndarray is exactly the ufunc called with the
#: left operand as ``out`` (``ndarray.__iadd__(w)`` calls ``np.add(v, w, v)``). Not ``**=``:
#: ``ndarray.__ipow__`` turns some exponents into other ufuncs (``np.square``, ``np.sqrt``).
AUGMENTED = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/"}


def _augmented_ops(eqs: list[Any], plan: Any) -> list[str | None] | None:
    """Per equation, the operator of an augmented assignment that computes it (``v *= w``),
    or None (and None for the whole program when no equation has one, or a constant is an
    ndarray subclass): a binary ufunc of :data:`AUGMENTED` whose ``out=`` buffer is its first
    operand. Python compiles ``v *= w`` in less than half the time of ``v = _multiply(v, w, v)``
    (three tokens of work instead of eight), and compile is the largest part of compiling a
    long program; the call runs the same ufunc on the same buffers, so the bits are the same."""
    out: list[str | None] = [None] * len(eqs)
    bufs, ufuncs = plan.out, plan.ufuncs
    found = False
    for k, eq in enumerate(eqs):
        for a in eq.inputs:
            if type(a) is Literal and isinstance(a.value, np.ndarray) \
                    and type(a.value) is not np.ndarray:
                return None  # a subclass constant (np.matrix: *= is a matrix product)
        buf = bufs[k]
        if buf is not None and len(eq.inputs) == 2 and eq.inputs[0] is buf:
            op = out[k] = AUGMENTED.get(ufuncs[k])
            found = found or op is not None
    return out if found else None


#: The name in a generated module's globals that marks in-place operators in its source.
_IN_PLACE_OPERATORS = "_in_place_operators"


def _exact_arrays_only(fast: Callable[..., Any], make_plain: Callable[[], Callable[..., Any]]
                       ) -> Callable[..., Any]:
    """Run ``fast`` (with ``v *= w`` lines) only on arguments that are plain ndarrays or
    scalars. Buffers are ufunc results, of a subclass when an argument is one, and a subclass
    may give ``*=`` another meaning (``np.matrix``: the matrix product): such calls run the
    same program written with calls only, compiled when first needed."""
    plain: list[Callable[..., Any]] = []

    def exact_arrays_only(*args: Any) -> Any:
        for a in args:
            if type(a) is not np.ndarray and isinstance(a, np.ndarray):
                if not plain:
                    plain.append(make_plain())
                return plain[0](*args)
        return fast(*args)

    exact_arrays_only.__name__ = exact_arrays_only.__qualname__ = fast.__name__
    return exact_arrays_only


def _released(plan: Any, k: int, names: dict[Var, str], kept: str | None) -> list[str]:
    """Names to ``del`` after equation ``k``: free intermediates now, as eager evaluation
    would, instead of at return (a name the result now holds is not freed: the buffer lives
    on under it)."""
    if plan is None:
        return []
    release = plan.release[k]
    return [n for v in release if (n := names[v]) != kept] if release else []


def compile_program(prog: Program, name: str = "compiled", plain_strong_zeros: bool = False,
                    nan_checks: bool = False, pool: bool | None = None,
                    augment: bool = True) -> tuple[Callable[..., Any], str]:
    """Compile ``prog`` to a Python function over NumPy arrays; returns it and its source."""
    with pool_choice(pool):  # the bodies of lax loops compiled meanwhile follow `pool`
        source, env = generate_source(prog, name, plain_strong_zeros=plain_strong_zeros,
                                      nan_checks=nan_checks, pool=pool, augment=augment)
    # The source is generated by this module from a Program, never from user text.
    code = compile(source, f"<tensorcalc.jit {name}>", "exec")
    exec(code, env)  # noqa: S102
    if env.get(_IN_PLACE_OPERATORS):
        return _exact_arrays_only(env[name], lambda: compile_program(
            prog, name, plain_strong_zeros, nan_checks, pool=pool, augment=False)[0]), source
    return env[name], source
