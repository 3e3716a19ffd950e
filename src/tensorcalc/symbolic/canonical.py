"""Canonical keys and closed-form recognisers used by the simplifier.

``key`` orders commuting operands (the printed text, so the order a reader sees is
alphabetical); ``node_count`` is the size measure the simplifier minimises. The recognisers
turn expanded derivatives back into named closed forms:

* exp(x) / sum(exp(x)) = softmax(x)   (the gradient of log(sum(exp(x))));
* exp(z) ⊘ (exp(z) + 1) = σ(z)        (the gradient of the logistic loss).
"""

from __future__ import annotations

from functools import lru_cache

from .expr import Add, Expr, Fill, Func, Pow, Softmax, Sum, Transpose
from .shapes import is_vector


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
