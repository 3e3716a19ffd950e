"""Canonical keys, the parts of a term and closed-form recognisers used by the simplifier.

``key`` orders commuting operands (the printed text, so the order a reader sees is
alphabetical); ``order_terms`` orders the terms of a sum; ``node_count`` is the size measure the
simplifier minimises. ``coef_and_core`` and ``split_term`` take a term apart. The recognisers
turn expanded derivatives back into named closed forms:

* exp(x) / sum(exp(x)) = softmax(x)   (the gradient of log(sum(exp(x))));
* exp(z) ⊘ (exp(z) + 1) = σ(z)        (the gradient of the logistic loss).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache

from .expr import (
    Add,
    Const,
    Expr,
    Fill,
    Func,
    Hadamard,
    Identity,
    LogSumExp,
    Mul,
    Pow,
    Softmax,
    Sum,
    Transpose,
    Zero,
    hadamard,
    mul,
    number,
)
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


# ------------------------------------------------------- closed forms written out by hand


def _negated(z: Expr) -> Expr:
    """−z without a double minus: −(−X w) = X w."""
    if isinstance(z, Mul) and isinstance(z.args[0], Const) and z.args[0].value < 0:
        c = -z.args[0].value
        rest = z.args[1:]
        body = rest[0] if len(rest) == 1 else Mul(*rest)
        return body if c == 1 else Mul(Const(c), *rest)
    return mul(Const(-1), z)


def _is_one(e: Expr) -> bool:
    return isinstance(e, Const | Fill) and e.value == 1


def _sigmoid_of_reciprocal(base: Expr) -> Expr | None:
    """1 / (1 + exp(−z)) = σ(z) and 1 / (1 + exp(z)) = σ(−z)."""
    if not (isinstance(base, Add) and len(base.args) == 2):
        return None
    ones = [t for t in base.args if _is_one(t)]
    exps = [t for t in base.args if isinstance(t, Func) and t.name == "exp"]
    if len(ones) != 1 or len(exps) != 1:
        return None
    return Func("sigmoid", _negated(exps[0].args[0]))


def _recognise_node(e: Expr) -> Expr:
    if isinstance(e, Pow) and e.exponent == -1:
        s = _sigmoid_of_reciprocal(e.args[0])
        if s is not None:
            return s
    if isinstance(e, Hadamard) and any(_is_one(a) for a in e.args):
        rest = [a for a in e.args if not _is_one(a)]
        return hadamard(*rest) if rest else e
    if isinstance(e, Mul):
        args = [a for a in e.args if not (isinstance(a, Const) and a.value == 1)]
        if len(args) < len(e.args):
            e = mul(*args)
        if isinstance(e, Mul):
            found = softmax_rule(list(e.scalars), list(e.chain))
            if found is not None:
                return mul(*found[0], *found[1])
    if isinstance(e, Func) and e.name == "log":
        a = e.args[0]
        if isinstance(a, Sum) and isinstance(a.args[0], Func) and a.args[0].name == "exp":
            return LogSumExp(a.args[0].args[0])
    return e


def recognise_closed_forms(e: Expr) -> Expr:
    """Name the closed forms a user wrote out, before differentiating: 1 ⊘ (1 + exp(−z)) = σ(z),
    exp(u) / sum(exp(u)) = softmax(u) (also inside products), log(sum(exp(u))) = logsumexp(u).
    Their derivatives then come out in the named form: X'*(sigmoid(X*w) - y) for the written-out
    logistic loss, (sum(y)*softmax(W*x) - y)*x' for the written-out cross-entropy."""
    memo: dict[Expr, Expr] = {}
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:  # iterative post-order
        node, ready = stack.pop()
        if node in memo:
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in memo)
            continue
        args = tuple(memo[a] for a in node.args)
        new = node if args == node.args else node.rebuild(args)
        memo[node] = _recognise_node(new)
    return memo[e]


def sigmoid_complement(terms: list[Expr]) -> list[Expr]:
    """1 − σ(−z) = σ(z) among the terms of a sum (a negation less to read)."""
    for n, t in enumerate(terms):
        c, core = coef_and_core(t)
        if c != -1 or not (isinstance(core, Func) and core.name == "sigmoid"):
            continue
        z = core.args[0]
        if not (isinstance(z, Mul) and isinstance(z.args[0], Const) and z.args[0].value < 0):
            continue
        ones = [i for i, u in enumerate(terms) if _is_one(u) and u.shape == t.shape]
        if ones:
            rest = [u for i, u in enumerate(terms) if i not in (n, ones[0])]
            return sigmoid_complement(rest + [Func("sigmoid", _negated(z))])
    return terms


def rational_gcd(values: list) -> object:
    """The largest rational g with every value an integer multiple of g (signs ignored)."""
    num, den = 0, 1
    for v in values:
        q = Fraction(v)
        num = math.gcd(num, q.numerator)
        den = den * q.denominator // math.gcd(den, q.denominator)
    return number(Fraction(num, den))
