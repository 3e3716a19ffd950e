"""Flattening builders for expressions (no algebra; that lives in ``simplify``).

``mul`` keeps the product invariant of ``expr.Mul``: scalar factors first, then a conformable
matrix chain, with a scalar-valued chain such as xᵀy kept as one scalar factor. ``hadamard`` turns
a scalar operand into an ordinary scaling.
"""

from __future__ import annotations

from .expr import Add, Const, Expr, Fill, Hadamard, Mul, Transpose, Zero
from .shapes import is_scalar


def one_like(shape: tuple) -> Expr:
    return Const(1) if is_scalar(shape) else Fill(1, shape)


def zero_like(shape: tuple) -> Expr:
    return Const(0) if is_scalar(shape) else Zero(shape)


def mul(*factors: Expr) -> Expr:
    """Product with flattening only (scalar-valued sub-chains stay one factor)."""
    scalars: list[Expr] = []
    chain: list[Expr] = []
    scalar_chains: list[tuple] = []
    for f in factors:
        if isinstance(f, Mul):
            scalars.extend(f.scalars)
            ch = f.chain
            if ch and is_scalar(f.shape):
                scalar_chains.append(ch)
            else:
                chain.extend(ch)
        elif is_scalar(f.shape):
            scalars.append(f)
        else:
            chain.append(f)
    if not chain and len(scalar_chains) == 1:
        chain = list(scalar_chains.pop())
    scalars.extend(Mul(*ch) for ch in scalar_chains)
    items = scalars + chain
    if not items:
        return Const(1)
    if len(items) == 1:
        return items[0]
    return Mul(*items)


def add(*terms: Expr) -> Expr:
    items: list[Expr] = []
    for t in terms:
        items.extend(t.args if isinstance(t, Add) else (t,))
    if len(items) == 1:
        return items[0]
    return Add(*items)


def neg(a: Expr) -> Expr:
    if isinstance(a, Const):
        return Const(-a.value)
    return mul(Const(-1), a)


def hadamard(*factors: Expr) -> Expr:
    """Elementwise product; scalar operands make it an ordinary scaling."""
    items: list[Expr] = []
    scalars: list[Expr] = []
    for f in factors:
        if is_scalar(f.shape):
            scalars.append(f)
        else:
            items.extend(f.args if isinstance(f, Hadamard) else (f,))
    if not items:
        return mul(*scalars)
    core = items[0] if len(items) == 1 else Hadamard(*items)
    return mul(*scalars, core) if scalars else core


def transpose(a: Expr) -> Expr:
    return a if is_scalar(a.shape) else Transpose(a)
