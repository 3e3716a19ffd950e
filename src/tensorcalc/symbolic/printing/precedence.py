"""Operator precedence of printed expressions, shared by every printer.

Higher binds tighter. A child is parenthesised when its precedence is below what the parent
position requires. Products of different kinds (matrix product, ⊙, ⊗) share one level, and a
printer asks for ``MUL + 1`` around operands so that ``A (B ⊙ C)`` keeps its parentheses.
"""

from __future__ import annotations

from fractions import Fraction
from functools import singledispatch

from tensorcalc.symbolic.expr import (
    Add,
    Const,
    Expr,
    Hadamard,
    Kron,
    MatPow,
    Mul,
    Pow,
    Transpose,
)

ADD = 10
NEG = 15
MUL = 20
POW = 30
POSTFIX = 40
ATOM = 50


def is_negative(e: Expr) -> bool:
    """True when the expression prints with a leading minus."""
    if isinstance(e, Const):
        return e.value < 0
    if isinstance(e, Mul) and isinstance(e.args[0], Const):
        return e.args[0].value < 0
    return False


@singledispatch
def precedence(e: Expr) -> int:
    return ATOM


@precedence.register
def precedence_add(e: Add) -> int:
    return ADD


@precedence.register
def precedence_mul(e: Mul) -> int:
    return NEG if is_negative(e) else MUL


@precedence.register
def precedence_const(e: Const) -> int:
    if e.value < 0:
        return NEG
    if isinstance(e.value, Fraction) and e.value.denominator != 1:
        return MUL
    return ATOM


@precedence.register(Hadamard)
@precedence.register(Kron)
def precedence_product(e: Expr) -> int:
    """⊙ and ⊗ share the matrix product's level (see the module docstring)."""
    return MUL


@precedence.register(Pow)
@precedence.register(MatPow)
def precedence_power(e: Expr) -> int:
    return POW


@precedence.register
def precedence_transpose(e: Transpose) -> int:
    return POSTFIX
