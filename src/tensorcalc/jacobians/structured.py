"""Structured Jacobian accumulation over a linearized program.

The linear program ``ẋ ↦ J ẋ`` of a linearization is a DAG of equations ``w = op(u, consts)``,
each linear in its variable operands. Its local Jacobians ``∂w/∂u`` are read off the equation
(``mul`` by a constant array is ``diag(c)``, ``matmul`` by a constant matrix ``C`` is ``C`` or
``C ⊗ I``, ``transpose`` a permutation, ``reduce_sum``/``broadcast_to``/indexing 0/1 selection
matrices) and ``J`` is the sum over paths of their products (Bauer's formula). Vertex
elimination evaluates that sum; its order decides the work (:mod:`tensorcalc.accumulate`):
forward order is forward mode, reverse order reverse mode, Markowitz or the exact search
something cheaper. For ``x ↦ tanh(W₂ tanh(W₁ x))`` the elimination is
``diag(d₂) · (W₂ · (diag(d₁) · W₁))``: two row scalings and one GEMM, the closed form.

The rules are named functions in :data:`RULES`, a table keyed by the primitive objects
(``reshape_p``, ``mul_p``, ...), so renaming a primitive cannot silently drop its structure.
An equation whose local Jacobian has no rule here is materialized densely by pushing a basis
through it (only when that is small); otherwise :class:`NotStructured` is raised and the
caller falls back to sweeps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..accumulate import local as L
from ..accumulate.eliminate import eliminate_values
from ..accumulate.graph import LinearizedGraph, OutputCopy
from ..accumulate.structure import Dense
from ..core.context import strong_zeros_enforced
from ..core.ir import Equation, Literal, Program, Var
from ..core.primitive import Primitive
from ..core.zeros import Zero
from ..interpreters.batch import vmap_flat
from ..ops.elementwise import add_p, div_p, mul_p, neg_p, select_p, sub_p
from ..ops.products import matmul_p
from ..ops.strong_zero import div_sz_p, mul_sz_p
from ..ops.structural import (
    broadcast_to_p,
    convert_p,
    getitem_p,
    reduce_sum_p,
    reshape_p,
    transpose_p,
)
from .sweeps import Linearized

#: Largest dense local Jacobian materialized for an equation without a structure rule.
FALLBACK_LIMIT = 1 << 22


class NotStructured(Exception):
    """The program has a local Jacobian that cannot be formed cheaply."""


def _size(v: Any) -> int:
    return int(math.prod(v.aval.shape))  # Python ints: no NumPy reduction per call


def _const(eq: Equation, i: int) -> Any:
    a = eq.inputs[i]
    return a.value if isinstance(a, Literal) else None


def _full(c: Any, shape: tuple[int, ...]) -> np.ndarray:
    c = np.asarray(c)
    return c if c.shape == shape else np.broadcast_to(c, shape)


def _same_shape(eq: Equation, i: int) -> bool:
    return tuple(eq.inputs[i].aval.shape) == tuple(eq.outputs[0].aval.shape)


def _scalar_like(c: Any) -> bool:
    return np.ndim(c) == 0 or np.size(c) == 1


def _elementwise_factor(eq: Equation, i: int, c: Any, out_shape: tuple[int, ...]
                        ) -> L.Local | None:
    """``w = c ⊙ u`` with ``u`` of the output's shape: scaled identity or diagonal."""
    if tuple(eq.inputs[i].aval.shape) != out_shape:
        return None
    if _scalar_like(c):
        return L.scaled(np.asarray(c).reshape(()).item(), _size(eq.outputs[0]))
    return L.diagonal(np.ravel(_full(c, out_shape)))


def _gather_rule(eq: Equation, i: int) -> L.Local | None:
    """Index-moving ops (transpose, broadcast_to, getitem): apply the op to the array of input
    positions to learn, for each output position, which input it copies."""
    u = eq.inputs[i]
    n_in, n_out = _size(u), _size(eq.outputs[0])
    src = eq.primitive.impl(np.arange(n_in).reshape(u.aval.shape), **eq.params)
    src = np.ravel(np.asarray(src))
    if eq.primitive is transpose_p and n_in == n_out:
        if np.array_equal(src, np.arange(n_in)):
            return L.identity(n_in)
        return L.permutation(src)
    return L.selection(np.arange(n_out), src, (n_out, n_in))


def _reduce_sum_rule(eq: Equation, i: int) -> L.Local:
    u = eq.inputs[i]
    n_in, n_out = _size(u), _size(eq.outputs[0])
    if n_out == 1:
        return L.dense(np.ones((1, n_in)))
    axes = eq.params["axes"]
    kept = tuple(1 if a in axes else d for a, d in enumerate(u.aval.shape))
    dst = np.broadcast_to(np.arange(n_out).reshape(kept), u.aval.shape)
    return L.selection(np.ravel(dst), np.arange(n_in), (n_out, n_in))


def _matmul_rule(eq: Equation, i: int) -> L.Local | None:
    a, b = eq.inputs
    if i == 1:  # w = C u
        c, u = _const(eq, 0), b
        if c is None or np.ndim(c) > 2 or u.aval.ndim > 2:
            return None
        c = np.asarray(c)
        if c.ndim == 2 and u.aval.ndim == 1:
            return L.dense(c)
        if c.ndim == 2:
            return L.kron(c, u.aval.shape[1], identity_first=False)
        if u.aval.ndim == 1:
            return L.dense(c[None, :])
        return L.kron(c[None, :], u.aval.shape[1], identity_first=False)
    c, u = _const(eq, 1), a  # w = u C
    if c is None or np.ndim(c) > 2 or u.aval.ndim > 2:
        return None
    c = np.asarray(c)
    if c.ndim == 2 and u.aval.ndim == 1:
        return L.dense(c.T)
    if c.ndim == 2:
        return L.kron(c.T, u.aval.shape[0], identity_first=True)
    if u.aval.ndim == 1:
        return L.dense(c[None, :])
    return L.kron(c[None, :], u.aval.shape[0], identity_first=True)


def _identity_rule(eq: Equation, i: int) -> L.Local:
    """``reshape`` (row-major, so the flattened map is the identity)."""
    return L.identity(_size(eq.outputs[0]))


def _convert_rule(eq: Equation, i: int) -> L.Local | None:
    return L.identity(_size(eq.outputs[0])) if _same_shape(eq, i) else None


def _add_rule(eq: Equation, i: int) -> L.Local:
    if _same_shape(eq, i):
        return L.identity(_size(eq.outputs[0]))
    return _broadcast_local(eq, i)


def _sub_rule(eq: Equation, i: int) -> L.Local:
    if i == 0:
        return _add_rule(eq, i)
    n = _size(eq.outputs[0])
    if _same_shape(eq, i):
        return L.scaled(-1.0, n)
    return L.matmul(L.scaled(-1.0, n), _broadcast_local(eq, i))


def _neg_rule(eq: Equation, i: int) -> L.Local:
    return L.scaled(-1.0, _size(eq.outputs[0]))


def _check_strong_zero(eq: Equation) -> None:
    """Strong-zero products (ops/strong_zero.py) have the Jacobian of mul/div. When strong
    zeros are enforced (a rerun after a NaN) they are formed from the primitive itself, so
    that 0 · ∞ = 0 holds in the accumulation too."""
    if eq.primitive in _STRONG_ZERO and strong_zeros_enforced():
        raise NotStructured(f"{eq.primitive.name} with strong zeros enforced")


def _mul_rule(eq: Equation, i: int) -> L.Local | None:
    """``mul`` and ``mul_sz`` by a constant: scaled identity or diagonal."""
    _check_strong_zero(eq)
    return _elementwise_factor(eq, i, _const(eq, 1 - i), tuple(eq.outputs[0].aval.shape))


def _div_rule(eq: Equation, i: int) -> L.Local | None:
    """``div`` and ``div_sz`` by a constant (the numerator is the variable)."""
    _check_strong_zero(eq)
    c = _const(eq, 1)
    if i != 0 or c is None:
        return None
    return _elementwise_factor(eq, i, 1.0 / np.asarray(c), tuple(eq.outputs[0].aval.shape))


def _select_rule(eq: Equation, i: int) -> L.Local | None:
    """``where(cond, a, b)`` with a constant condition: a 0/1 diagonal."""
    cond = _const(eq, 0)
    if i == 0 or not _same_shape(eq, i) or cond is None:
        return None
    cond = _full(cond, tuple(eq.outputs[0].aval.shape))
    mask = cond if i == 1 else ~np.asarray(cond, bool)
    return L.diagonal(np.ravel(mask).astype(eq.outputs[0].aval.dtype))


#: The structured local Jacobian of each primitive, keyed by the primitive object (a rename
#: cannot silently drop a rule). A rule returns None when it does not apply to this equation
#: (the Jacobian is then materialized densely, when small).
RULES: dict[Primitive, Callable[[Equation, int], L.Local | None]] = {
    reshape_p: _identity_rule,
    convert_p: _convert_rule,
    add_p: _add_rule,
    sub_p: _sub_rule,
    neg_p: _neg_rule,
    mul_p: _mul_rule,
    mul_sz_p: _mul_rule,
    div_p: _div_rule,
    div_sz_p: _div_rule,
    select_p: _select_rule,
    transpose_p: _gather_rule,
    broadcast_to_p: _gather_rule,
    getitem_p: _gather_rule,
    reduce_sum_p: _reduce_sum_rule,
    matmul_p: _matmul_rule,
}
_STRONG_ZERO = (mul_sz_p, div_sz_p)


def _rule(eq: Equation, i: int) -> L.Local | None:
    """The structured ``∂eq.outputs[0]/∂eq.inputs[i]``, or None when no rule applies."""
    rule = RULES.get(eq.primitive)
    return None if rule is None else rule(eq, i)


def _broadcast_local(eq: Equation, i: int) -> L.Local:
    u = eq.inputs[i]
    out_shape = eq.outputs[0].aval.shape
    src = np.ravel(np.broadcast_to(np.arange(_size(u)).reshape(u.aval.shape), out_shape))
    return L.selection(np.arange(src.size), src, (src.size, _size(u)))


def _materialize(eq: Equation, i: int) -> L.Local:
    """Dense local Jacobian by pushing the basis of input ``i`` through the equation."""
    u, w = eq.inputs[i], eq.outputs[0]
    n_in, n_out = _size(u), _size(w)
    if n_in * n_out > FALLBACK_LIMIT or eq.primitive.multiple_results:
        raise NotStructured(
            f"{eq.primitive.name}: no structured local Jacobian for inputs "
            f"{u.aval.str_short()} -> {w.aval.str_short()}")
    consts = [a.value if isinstance(a, Literal) else None for a in eq.inputs]
    others = [k for k, a in enumerate(eq.inputs) if isinstance(a, Var) and k != i]

    def apply_eq(xs: list[Any]) -> list[Any]:
        args = list(consts)
        args[i] = xs[0]
        for k in others:  # other linear operands contribute separately (sum of paths)
            args[k] = np.zeros(eq.inputs[k].aval.shape, eq.inputs[k].aval.dtype)
        return [eq.primitive.bind(*args, **eq.params)]

    basis = np.eye(n_in, dtype=u.aval.dtype).reshape((n_in, *u.aval.shape))
    (cols,) = vmap_flat(apply_eq, [basis], [0], -1)
    return L.dense(np.asarray(cols).reshape(n_out, n_in))


def local_jacobians(program: Program) -> dict[tuple[Any, Any], L.Local]:
    """Structured local Jacobians of every (variable input, output) pair, parallel uses of
    one variable summed."""
    out: dict[tuple[Any, Any], L.Local] = {}
    for eq in program.equations:
        if eq.primitive.multiple_results:
            raise NotStructured(f"{eq.primitive.name} has several results")
        if any(isinstance(v, Var) and v.aval.dtype.kind == "c" for v in (*eq.inputs, *eq.outputs)):
            # A real part (complex -> real convert, irfft) is not complex-linear, so complex
            # local Jacobians would not compose by matrix products: use sweeps instead.
            raise NotStructured(f"{eq.primitive.name} has complex values")
        w = eq.outputs[0]
        for i, a in enumerate(eq.inputs):
            if not isinstance(a, Var):
                continue
            jac = _rule(eq, i)
            if jac is None:
                jac = _materialize(eq, i)
            key = (a, w)
            out[key] = L.add(out[key], jac) if key in out else jac
    return out


def build_graph(program: Program, locals_: dict[tuple[Any, Any], L.Local]
                ) -> tuple[LinearizedGraph, list[int]]:
    """The planner's graph; also the positions of the program outputs that are variables."""
    positions = [k for k, a in enumerate(program.outputs) if isinstance(a, Var)]
    outputs = [program.outputs[k] for k in positions]

    def structure_of(eq: Equation, i: int, j: int) -> Any:
        a = eq.inputs[i]
        if not isinstance(a, Var):
            return None
        return locals_[(a, eq.outputs[j])].structure

    graph = LinearizedGraph.from_equations(program.equations, program.inputs, outputs,
                                           local_jacobian=structure_of, size_of=_size)
    return graph, positions


class _Owned:
    """Which edge values of one elimination hold memory that nothing else holds.

    The local Jacobians refer to the program's constants (``W`` for ``W @ x``: the caller's
    array), so they are never written into. A product or sum that made a new array is this
    elimination's own; when it is read for the last time, the next scaling or sum may write
    into it (``(D₂W₂)·D₁`` in place: one allocation instead of two per chain). A value handed
    on unchanged (``I·B = B``) while its old edge still needs it has two holders and stops being
    owned. Values are tracked by identity (``Local`` has identity hashing), never by ``id``."""

    __slots__ = ("values", "empty")

    def __init__(self, empty: L.Empty = None) -> None:
        self.values: set[L.Local] = set()
        self.empty = empty  # where new dense values take their memory (accumulate.recycle)

    def matmul(self, a: L.Local, b: L.Local, last_a: bool, last_b: bool) -> L.Local:
        return self._apply(L.matmul, a, b, last_a, last_b)

    def add(self, a: L.Local, b: L.Local, last_a: bool, last_b: bool) -> L.Local:
        return self._apply(L.add, a, b, last_a, last_b)

    def _apply(self, op: Callable[..., L.Local], a: L.Local, b: L.Local, last_a: bool,
               last_b: bool) -> L.Local:
        owned = self.values
        r = op(a, b, last_a and a in owned, last_b and b in owned, self.empty)
        if r is a or r is b:
            if not (last_a if r is a else last_b):
                owned.discard(r)  # now held by its old edge and the new one
            return r
        d = r.data
        if type(d) is np.ndarray:
            shared = [x for x in (a, b) if type(x.data) is np.ndarray
                      and np.may_share_memory(d, x.data)]
            if shared:  # a view of an operand: neither may be written into any more
                owned.difference_update(shared)
            elif d.flags.owndata:
                owned.add(r)
        return r

    def own_block(self, block: L.Local) -> L.Local:
        """A result block as the caller's to keep: dense data this elimination did not make
        (the constant ``W`` of ``f(x) = W @ x``) is copied, so writing into the Jacobian
        cannot change the caller's array."""
        if type(block.structure) is Dense and block not in self.values:
            return L.dense(np.array(block.data))
        return block


def eliminate(graph: LinearizedGraph, order: list[Any],
              locals_: dict[tuple[Any, Any], L.Local], empty: L.Empty = None
              ) -> dict[tuple[Any, Any], L.Local]:
    """Vertex elimination with numeric structured values; returns the blocks ``(x, y)``.
    ``empty``: where new dense values take their memory (a recycler's
    :meth:`~tensorcalc.accumulate.recycle.Recycler.empty`; None: NumPy allocates)."""
    vals: dict[tuple[Any, Any], L.Local] = {}
    for (u, w), _ in graph.edges.items():
        vals[(u, w)] = L.identity(graph.size(w)) if isinstance(w, OutputCopy) else \
            locals_[(u, w)]
    owned = _Owned(empty)
    blocks = eliminate_values(graph, order, vals, matmul=owned.matmul, add=owned.add,
                              last_uses=True)
    return {k: owned.own_block(b) for k, b in blocks.items()}


def structured_jacobian(lin: Linearized, plan: Any, empty: L.Empty = None
                        ) -> list[list[np.ndarray]]:
    """Numerator-layout blocks by structured vertex elimination in the planned order
    (``plan``: a :class:`~tensorcalc.jacobians.plan.JacobianPlan` with a graph on the
    program's variables, or a :class:`~tensorcalc.jacobians.skeleton.Elimination` on their
    numbers; ``empty`` as in :func:`eliminate`)."""
    if plan.graph is None:
        raise NotStructured(plan.reason)
    blocks_by_vertex = eliminate(plan.graph, plan.order, plan.locals, empty)
    prog = lin.program
    out: list[list[np.ndarray]] = []
    for j, (atom, oa) in enumerate(zip(prog.outputs, lin.out_avals, strict=True)):
        row = []
        for x, ia in zip(plan.graph.inputs, lin.in_avals, strict=True):
            shape = (*oa.shape, *ia.shape)
            dtype = np.result_type(oa.dtype, ia.dtype)
            block = None
            if isinstance(atom, Var):
                y = plan.graph.outputs[plan.positions.index(j)]
                block = blocks_by_vertex.get((x, y))
            if block is None or (isinstance(atom, Literal) and type(atom.value) is Zero):
                row.append(np.zeros(shape, dtype))
            else:
                row.append(np.asarray(L.to_array(block), dtype).reshape(shape))
        out.append(row)
    return out
