"""Sparsity rules: how each primitive maps index patterns (the words op blocks use).

For an equation ``w = op(u₁, …, u_k, consts)`` that is linear in its variable operands, the
Jacobian pattern of ``w`` with respect to the program inputs ``x`` is

    pat(∂w/∂x) = ∨ᵢ pat(∂w/∂uᵢ) · pat(∂uᵢ/∂x)

(Boolean matrix product, structural: no cancellation). A primitive's *sparsity rule* gives the
local factor ``pat(∂w/∂uᵢ)`` (``size(w) × size(uᵢ)``) in one of four forms, cheapest first:

===========  ===========================================================  ==================
form         meaning                                                      examples
===========  ===========================================================  ==================
``SAME``     identity: ``w`` and ``uᵢ`` have one size, entry ``k`` ← ``k``  elementwise ops
``Gather``   ``src[k]`` = the entry of ``uᵢ`` that ``w[k]`` copies, or −1  slicing, pad,
             (one source at most per output entry)                        transpose, roll,
                                                                          broadcast, gather
``Pairs``    the (row, column) pairs of the factor (sums allowed)         reductions,
                                                                          scatter-add,
                                                                          matmul by a constant
``DENSE``    every entry of ``w`` may depend on every entry of ``uᵢ``      solves, unknown ops
===========  ===========================================================  ==================

Primitives whose parameters are sub-programs (``cond``, ``scan``, ``while``, custom rules,
checkpoints) cannot be described by one local factor; they declare a *program rule*
(``defsparsity_program``) that maps the operands' patterns to the results' by running the
sub-programs through the pattern engine (:class:`ProgramQuery`).

The rules are looked up by primitive object in :data:`sparsity_rules` (``defsparsity``), and a
primitive without one is treated as ``DENSE`` for its own equation only: the pattern reader
(:mod:`tensorcalc.jacobians.pattern`) reports which primitives that was, so a new primitive is
correct (if pessimistic) before anyone writes its rule. Rules see shapes, parameters and the
values of constant operands (``None`` for variables, possibly a tracer under ``jit``); they
must never need the variables' values, so a pattern holds at every point where the program has
the same equations.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.primitive import Primitive, Tracer
from ..core.shapes import ShapedArray


class _Same:
    """The identity factor (``w`` and the operand have the same size, entry ``k`` ← ``k``)."""

    def __repr__(self) -> str:
        return "SAME"


class _Dense:
    """Every output entry may depend on every operand entry."""

    def __repr__(self) -> str:
        return "DENSE"


SAME = _Same()
DENSE = _Dense()


@dataclass(frozen=True, eq=False)
class Gather:
    """``w[k]`` copies ``u[src[k]]`` (``src[k] = -1``: depends on no entry of ``u``)."""

    src: np.ndarray


@dataclass(frozen=True, eq=False)
class Pairs:
    """The factor's nonzero positions ``(rows[t], cols[t])`` (duplicates allowed)."""

    rows: np.ndarray
    cols: np.ndarray


LocalPattern = _Same | _Dense | Gather | Pairs


@dataclass(frozen=True)
class SparsityQuery:
    """What a rule is asked: the factor of output(s) with respect to operand ``k``."""

    k: int
    in_avals: tuple[ShapedArray, ...]
    out_avals: tuple[ShapedArray, ...]
    consts: tuple[Any, ...]
    params: dict[str, Any]

    @property
    def operand(self) -> ShapedArray:
        return self.in_avals[self.k]

    @property
    def out(self) -> ShapedArray:
        return self.out_avals[0]

    def const(self, i: int) -> np.ndarray | None:
        """The concrete value of constant operand ``i`` (None for a variable or a tracer)."""
        c = self.consts[i]
        if c is None or isinstance(c, Tracer):
            return None
        try:
            return np.asarray(c)
        except Exception:  # noqa: BLE001 - a symbolic zero or other non-array constant
            return None


#: A rule returns one factor (single-result primitives) or a list of them (one per result).
SparsityRule = Callable[[SparsityQuery], "LocalPattern | list[LocalPattern]"]

sparsity_rules: dict[Primitive, SparsityRule] = {}


def defsparsity(prim: Primitive, rule: SparsityRule) -> None:
    """Declare ``prim``'s sparsity rule ``rule(query) -> factor`` (see the module docstring)."""
    sparsity_rules[prim] = rule


@dataclass(frozen=True)
class ProgramQuery:
    """What a control-flow rule is asked: the patterns of its outputs from those of its operands
    (``in_pats[i]``: a pattern of operand ``i`` over the outer inputs, ``None``: independent of
    them). ``algebra`` is the pattern engine: ``propagate(program, in_pats)`` runs a
    sub-program, ``union``, ``same``, ``rows``, ``stack`` and ``dense`` combine patterns."""

    algebra: Any
    in_pats: list[Any]
    in_avals: tuple[ShapedArray, ...]
    out_avals: tuple[ShapedArray, ...]
    params: dict[str, Any]


#: A rule for a primitive whose parameters are sub-programs (control flow, custom rules,
#: checkpoints): ``rule(query) -> one pattern per result``, or ``DENSE``.
ProgramSparsityRule = Callable[[ProgramQuery], "list[Any] | _Dense"]

program_sparsity_rules: dict[Primitive, ProgramSparsityRule] = {}


def defsparsity_program(prim: Primitive, rule: ProgramSparsityRule) -> None:
    """Declare the sparsity rule of a primitive whose parameters are sub-programs: it maps the
    operands' patterns to the results' through the sub-programs (see :class:`ProgramQuery`)."""
    program_sparsity_rules[prim] = rule


def _size(shape: Sequence[Any]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def positions(shape: Sequence[Any]) -> np.ndarray:
    """``0 … size-1`` laid out in ``shape`` (row-major): which flat entry sits where."""
    return np.arange(_size(shape), dtype=np.int64).reshape(tuple(shape))


def broadcast_factor(operand: ShapedArray, out_shape: Sequence[Any]) -> LocalPattern:
    """The factor of an operand broadcast (NumPy rules) to ``out_shape``."""
    if tuple(operand.shape) == tuple(out_shape):
        return SAME
    src = np.broadcast_to(positions(operand.shape), tuple(out_shape))
    return Gather(np.ascontiguousarray(src).ravel())


def elementwise_rule(q: SparsityQuery) -> LocalPattern:
    """Entrywise ops with broadcasting: output entry ``k`` reads the operand's entry at ``k``."""
    return broadcast_factor(q.operand, q.out.shape)


def defsparsity_elementwise(prim: Primitive) -> None:
    """``prim`` is applied entrywise (NumPy broadcasting): the identity pattern."""
    defsparsity(prim, elementwise_rule)


def gather_by_impl(prim: Primitive) -> SparsityRule:
    """A rule for index-moving primitives (each output entry copies at most one operand entry,
    or a constant): run the primitive's own implementation on the operand's positions
    (``1 … n``, other variable operands 0) and read back which entry landed where."""

    def gather_rule(q: SparsityQuery) -> LocalPattern:
        args = []
        for i, (av, c) in enumerate(zip(q.in_avals, q.consts, strict=True)):
            if i == q.k:
                args.append(positions(av.shape) + 1)
            elif c is None:  # another variable operand: its entries are counted separately
                args.append(np.zeros(av.shape, np.int64))
            elif not np.issubdtype(av.dtype, np.inexact):  # indices, masks: needed as they are
                if isinstance(c, Tracer):
                    return DENSE  # traced indices (under jit): no positions to follow
                args.append(c)
            else:  # a constant summand (a pad value, a base array) depends on nothing
                args.append(np.zeros(av.shape, np.int64))
        src = np.asarray(prim.impl(*args, **q.params))
        return Gather(np.ascontiguousarray(src, dtype=np.int64).ravel() - 1)

    gather_rule.__name__ = f"{prim.name}_gather_rule"
    return gather_rule


def defsparsity_gather(prim: Primitive) -> None:
    """``prim`` moves entries (slices, pads, transposes, rolls): see :func:`gather_by_impl`."""
    defsparsity(prim, gather_by_impl(prim))


def dense_rule(q: SparsityQuery) -> LocalPattern:
    """Really dense (a linear solve with a constant matrix: ``A⁻¹`` fills in)."""
    return DENSE
