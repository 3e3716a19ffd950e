"""Canonical keys, the parts of a term and closed-form recognisers used by the simplifier.

``key`` orders commuting operands (the printed text, so the order a reader sees is
alphabetical); ``order_terms`` orders the terms of a sum; ``node_count`` is the size measure the
simplifier minimises. ``coef_and_core`` and ``split_term`` take a term apart. The recognisers
turn expanded derivatives back into named closed forms:

* exp(x) / sum(exp(x)) = softmax(x)   (the gradient of log(sum(exp(x))));
* exp(z) ⊘ (exp(z) + 1) = σ(z)        (the gradient of the logistic loss).
"""

from __future__ import annotations

from functools import lru_cache

from .expr import Add, Const, Expr, Fill, Func, Identity, Mul, Pow, Softmax, Sum, Transpose, Zero
from .shapes import is_scalar, is_vector


@lru_cache(maxsize=200_000)
def key(e: Expr) -> str:
    """Canonical sort key: the printed text (what a reader sees ordered alphabetically)."""
    return str(e)


@lru_cache(maxsize=200_000)
def node_count(e: Expr) -> int:
    return 1 + sum(node_count(a) for a in e.args)


@lru_cache(maxsize=100_000)
def transposes(e: Expr) -> int:
    return isinstance(e, Transpose) + sum(transposes(a) for a in e.args)


def is_zero(e: Expr) -> bool:
    return isinstance(e, Zero) or (isinstance(e, Const) and e.value == 0)


def coef_and_core(e: Expr) -> tuple[object, Expr]:
    """Split ``c * rest`` into (c, rest); a bare number is (c, 1)."""
    if isinstance(e, Const):
        return e.value, Const(1)
    if isinstance(e, Fill) and e.value != 1:
        return e.value, Fill(1, e.shape)
    if isinstance(e, Mul) and isinstance(e.args[0], Const):
        rest = e.args[1:]
        return e.args[0].value, rest[0] if len(rest) == 1 else Mul(*rest)
    return 1, e


def split_term(t: Expr) -> tuple[list[Expr], list[Expr]]:
    """(scalar factors incl. coefficient, matrix chain) of a term."""
    if isinstance(t, Mul):
        return list(t.scalars), list(t.chain)
    if is_scalar(t.shape):
        return [t], []
    return [], [t]


def order_terms(terms: list[Expr]) -> list[Expr]:
    """Sum terms: positive, then negative; each group by ``key``, constant cores (c, 𝟏, I) last."""

    def sort_key(t: Expr) -> tuple:
        c, core = coef_and_core(t)
        return (c < 0, isinstance(core, Fill | Identity | Const), key(core))  # type: ignore

    return sorted(terms, key=sort_key)


def softmax_rule(scalars: list[Expr], chain: list[Expr]) -> tuple | None:
    """exp(x) / sum(exp(x)) = softmax(x)."""
    if len(chain) != 1 or not (isinstance(chain[0], Func) and chain[0].name == "exp"):
        return None
    x = chain[0].args[0]
    if not is_vector(x.shape):
        return None
    target = Pow(Sum(chain[0]), -1)
    if target not in scalars:
        return None
    rest = list(scalars)
    rest.remove(target)
    return rest, [Softmax(x)]


def sigmoid_rule(arrays: list[Expr]) -> list[Expr]:
    """exp(z) ⊘ (exp(z) + 1) = σ(z)."""
    for f in arrays:
        if isinstance(f, Func) and f.name == "exp":
            denom = Pow(Add(*sorted([f, Fill(1, f.shape)], key=key)), -1)
            if denom in arrays:
                rest = [a for a in arrays if a is not f and a != denom]
                return rest + [Func("sigmoid", f.args[0])]
    return arrays
