"""Structured elimination with traced numbers: a Jacobian taken inside another transformation.

Under ``jit`` (or inside ``jacfwd``, ``grad``, ...) the constants of a linearized program are
values of the outer transformation, so the local Jacobians cannot be NumPy arrays. The sweeps
of :mod:`.sweeps` push a whole basis through the linear program instead; for a Hessian such as
``Aᵀ diag(p(1−p)) A`` that multiplies every elementwise factor into an ``n × m`` batch, where
the structured elimination multiplies ``m``-vectors and scales ``A`` once (the closed form).

This module runs that elimination with traced values for the kinds whose products are
tensorcalc operations: identity ``I``, scaled identity ``αI``, diagonal ``diag(d)`` and dense
``A``. Products (``later · earlier``, Jacobian ``∂w/∂v · ∂v/∂u``) are elementwise products of
the diagonals (``αI`` and ``diag`` alike), row scalings ``diag(a) · B``, column scalings
``A · diag(b)`` and matmuls ``A · B``.

Strong zeros. The sweep applies ``mul_sz(t, c)`` (0 where the tangent ``t`` is 0, even if the
constant ``c`` is ±∞ or NaN) or ``mul_sz(c, t)`` (0 where ``c`` is 0: a ``where`` mask that
discards a NaN branch). The compiled program's checked variant re-runs those products with the
checks on, so the elimination must make the same choice. Following one diagonal entry of a
basis tangent (``t = 1``) through ``b`` then ``a`` gives, case by case: if ``a`` is a
constant-side strong zero, ``mul_sz(a, b)``; otherwise ``mul_sz(b, a)``; either way the product
then behaves as a tangent-side factor. Row and column scalings use the same rule with the
diagonal's factor broadcast. Off the diagonal a sweep can still make ``0 · ∞ = NaN`` where
the elimination has a structural zero; the elimination's answer there is the strong-zero one.
Any other kind (a permutation, a Kronecker factor, a sparse selection, a traced ``where``
mask) raises :class:`NotStructured` before anything is traced, and the caller sweeps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..accumulate import local as L
from ..accumulate.eliminate import eliminate_values
from ..accumulate.graph import OutputCopy
from ..accumulate.structure import Dense, Diagonal, Identity, ScaledIdentity
from ..core.ir import Equation, Literal, Program, Var
from ..core.primitive import Primitive, Tracer
from ..core.zeros import Zero
from ..ops.elementwise import add, add_p, div_p, mul_p, neg_p, sub_p
from ..ops.products import matmul, matmul_p
from ..ops.strong_zero import div_sz, div_sz_p, mul_sz, mul_sz_p
from ..ops.structural import broadcast_to, convert_p, reshape, reshape_p
from .pattern import live_equations
from .plan import _ORDERS, _sweep_costs
from .structured import NotStructured, _same_shape, _size, build_graph
from .sweeps import Linearized

#: A rule returns the structure of ``∂out/∂in_i`` and a function that builds its data (called
#: only once every equation has a rule, so an unsupported one traces nothing).
Rule = Callable[[Equation, int], tuple[Any, Callable[[], Any]]]


@dataclass(frozen=True, eq=False)
class Traced(L.Local):
    """A local Jacobian with traced data; ``const_strong`` marks ``mul_sz(c, t)``: zero where
    the constant is zero (see the module docstring)."""

    const_strong: bool = False


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(x.aval.shape) if isinstance(x, Tracer) else tuple(np.shape(x))


def _const(eq: Equation, i: int) -> Any:
    a = eq.inputs[i]
    if not isinstance(a, Literal) or type(a.value) is Zero:
        raise NotStructured(f"{eq.primitive.name}: operand {i} is not a constant")
    return a.value


def _identity(eq: Equation, i: int) -> tuple[Any, Callable[[], Any]]:
    if not _same_shape(eq, i) and eq.primitive is not reshape_p:
        raise NotStructured(f"{eq.primitive.name} with broadcasting")
    return Identity(_size(eq.outputs[0])), lambda: None


def _negated(eq: Equation, i: int) -> tuple[Any, Callable[[], Any]]:
    if not _same_shape(eq, i):
        raise NotStructured(f"{eq.primitive.name} with broadcasting")
    return ScaledIdentity(_size(eq.outputs[0])), lambda: -1.0


def _sub_rule(eq: Equation, i: int) -> tuple[Any, Callable[[], Any]]:
    return _identity(eq, i) if i == 0 else _negated(eq, i)


def _factor(eq: Equation, i: int, c: Any, invert: bool) -> tuple[Any, Callable[[], Any]]:
    """``w = c ⊙ u`` (or ``u / c``) with ``u`` of the output's shape."""
    out_shape = tuple(eq.outputs[0].aval.shape)
    if not _same_shape(eq, i):
        raise NotStructured(f"{eq.primitive.name} with a broadcast variable")
    n = _size(eq.outputs[0])
    if math.prod(_shape(c)) == 1:
        def scalar() -> Any:
            s = reshape(c, ()) if isinstance(c, Tracer) else np.asarray(c).reshape(()).item()
            return div_sz(1.0, s) if invert else s
        return ScaledIdentity(n), scalar

    def vector() -> Any:
        full = c if _shape(c) == out_shape else broadcast_to(c, out_shape)
        d = reshape(full, (n,))
        return div_sz(1.0, d) if invert else d
    return Diagonal(n), vector


def _mul_rule(eq: Equation, i: int) -> tuple[Any, Callable[[], Any]]:
    return _factor(eq, i, _const(eq, 1 - i), invert=False)


def _div_rule(eq: Equation, i: int) -> tuple[Any, Callable[[], Any]]:
    if i != 0:
        raise NotStructured(f"{eq.primitive.name}: the variable is the denominator")
    return _factor(eq, i, _const(eq, 1), invert=True)


def _matmul_rule(eq: Equation, i: int) -> tuple[Any, Callable[[], Any]]:
    """``C u`` or ``u C`` with ``u`` a vector and ``C`` a constant matrix: ``C`` or ``Cᵀ``."""
    c, u = _const(eq, 1 - i), eq.inputs[i]
    # A vector, or a matrix with one row (u C) or one column (C u): C ⊗ I₁ = C.
    vector = u.aval.ndim == 1 or (u.aval.ndim == 2 and u.aval.shape[i] == 1)
    if len(_shape(c)) != 2 or not vector:
        raise NotStructured(f"{eq.primitive.name}: not a matrix times a vector")
    rows, cols = _shape(c)
    if i == 1:
        return Dense(rows, cols), lambda: c
    return Dense(cols, rows), lambda: c.T


#: The traced local Jacobians, keyed by the primitive objects.
RULES: dict[Primitive, Rule] = {
    reshape_p: _identity,
    convert_p: _identity,
    add_p: _identity,
    sub_p: _sub_rule,
    neg_p: _negated,
    mul_p: _mul_rule,
    mul_sz_p: _mul_rule,
    div_p: _div_rule,
    div_sz_p: _div_rule,
    matmul_p: _matmul_rule,
}


def traced_locals(program: Program) -> dict[tuple[Any, Any], L.Local]:
    """The local Jacobians of every (variable input, output) pair with traced data; raises
    :class:`NotStructured` (having traced nothing) when an equation has no rule here."""
    pending = []
    for eq in program.equations:
        rule = RULES.get(eq.primitive)
        if rule is None or eq.primitive.multiple_results:
            raise NotStructured(f"{eq.primitive.name} has no traced structured rule")
        for i, a in enumerate(eq.inputs):
            if isinstance(a, Var):
                if a.aval.dtype.kind == "c":
                    raise NotStructured(f"{eq.primitive.name} has complex values")
                pending.append(((a, eq.outputs[0]), *rule(eq, i), eq, i))
    out: dict[tuple[Any, Any], L.Local] = {}
    for key, structure, build, eq, i in pending:
        # mul_sz(c, t): the constant (operand 0) is the strong-zero side.
        strong = eq.primitive is mul_sz_p and i == 1 and structure.kind != "dense"
        jac = Traced(structure, build(), strong)
        out[key] = traced_add(out[key], jac) if key in out else jac
    return out


def _diag_data(x: L.Local) -> Any:
    return 1.0 if isinstance(x.structure, Identity) else x.data


def _strong(x: L.Local) -> bool:
    return isinstance(x, Traced) and x.const_strong


def _scaled(later: L.Local, earlier: L.Local, later_data: Any, earlier_data: Any) -> Any:
    """The product of two factors' numbers with the strong-zero side the module doc derives."""
    if _strong(later):
        return mul_sz(later_data, earlier_data)
    return mul_sz(earlier_data, later_data)


def traced_matmul(a: L.Local, b: L.Local) -> L.Local:
    """``a @ b`` (``a`` the later factor) for the kinds of the module docstring."""
    ka, kb = type(a.structure), type(b.structure)
    if ka is Identity:
        return b
    if kb is Identity:
        return a
    if ka is not Dense and kb is not Dense:  # two diagonals (αI or diag)
        kind = Diagonal if Diagonal in (ka, kb) else ScaledIdentity
        return Traced(kind(a.rows), _scaled(a, b, a.data, b.data))
    if kb is not Dense:  # A · diag(b) or A · βI: column scaling, zero where b is
        col = b.data if kb is ScaledIdentity else reshape(b.data, (1, b.cols))
        return Traced(a.structure, mul_sz(col, a.data))
    if ka is not Dense:  # diag(a) · B or αI · B: row scaling
        row = a.data if ka is ScaledIdentity else reshape(a.data, (a.rows, 1))
        return Traced(b.structure, _scaled(a, b, row, b.data))
    return Traced(Dense(a.rows, b.cols), matmul(a.data, b.data))


def traced_add(a: L.Local, b: L.Local) -> L.Local:
    """``a + b`` (two paths' contributions)."""
    ka, kb = type(a.structure), type(b.structure)
    diagonal = (Identity, ScaledIdentity, Diagonal)
    if ka in diagonal and kb in diagonal:
        if ka is Identity and kb is Identity:
            return Traced(ScaledIdentity(a.rows), 2.0)
        # The sum of the two paths then acts as a tangent-side factor: on a basis entry
        # (t = 1) both sides are their numbers, a constant-side zero included.
        kind = Diagonal if Diagonal in (ka, kb) else ScaledIdentity
        return Traced(kind(a.rows), add(_diag_data(a), _diag_data(b)))
    return Traced(Dense(a.rows, a.cols), add(traced_dense(a), traced_dense(b)))


def traced_dense(x: L.Local) -> Any:
    """The ``(rows, cols)`` array of a traced local Jacobian."""
    kind = type(x.structure)
    if kind is Dense:
        return x.data
    eye = np.eye(x.rows)
    return eye if kind is Identity else mul_sz(eye, x.data)


def traced_jacobian(lin: Linearized) -> list[list[Any]] | None:
    """Numerator-layout blocks of a nested linearization by structured elimination, or None
    when the program has a kind this module does not trace or elimination is no cheaper than
    the single batched sweep the caller would make."""
    live = live_equations(lin.program)
    prog = Program(lin.program.inputs, live, lin.program.outputs)
    try:
        structures = {}
        for eq in prog.equations:
            rule = RULES.get(eq.primitive)
            if rule is None:
                return None
            for i, a in enumerate(eq.inputs):
                if isinstance(a, Var):
                    structures[(a, eq.outputs[0])] = L.Local(rule(eq, i)[0])
        graph, positions = build_graph(prog, structures)
    except NotStructured:
        return None
    costs, best, order = _ORDERS.order_for(graph)
    if costs[best] >= min(_sweep_costs(lin, structures).values()):
        return None
    try:
        locals_ = traced_locals(prog)
    except NotStructured:
        return None
    vals = {(u, w): L.Local(Identity(graph.size(w))) if isinstance(w, OutputCopy)
            else locals_[(u, w)] for (u, w) in graph.edges}
    found = eliminate_values(graph, order, vals, matmul=traced_matmul, add=traced_add)
    out: list[list[Any]] = []
    for j, (atom, oa) in enumerate(zip(prog.outputs, lin.out_avals, strict=True)):
        row = []
        for x, ia in zip(prog.inputs, lin.in_avals, strict=True):
            shape = (*oa.shape, *ia.shape)
            block = None
            if isinstance(atom, Var):
                block = found.get((x, graph.outputs[positions.index(j)]))
            if block is None:
                row.append(np.zeros(shape, np.result_type(oa.dtype, ia.dtype)))
            else:
                row.append(reshape(traced_dense(block), shape))
        out.append(row)
    return out
