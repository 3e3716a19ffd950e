"""Jacobian chains: forward, reverse and optimally bracketed accumulation.

A composition ``f = f_q ∘ … ∘ f_1`` has the Jacobian ``J = J_q ··· J_1`` with ``J_i`` of shape
``d_i × d_{i-1}``; ``dims = [d_0, …, d_q]`` lists the widths from the input (``d_0``) to the
output (``d_q``). Multiplying an ``m × n`` by an ``n × p`` dense matrix costs ``m·n·p``
multiplications, so the order of the products matters:

* forward (tangent) accumulation ``J_q(…(J_3(J_2 J_1)))`` pushes ``d_0`` tangents through the
  chain: ``Σ_{i≥2} d_i·d_{i-1}·d_0``;
* reverse (adjoint) accumulation ``((J_q J_{q-1}) J_{q-2})…J_1`` pulls ``d_q`` cotangents back:
  ``Σ_{i<q} d_q·d_i·d_{i-1}``;
* the cheapest bracketing is the matrix-chain problem, solved exactly by the ``O(q³)`` dynamic
  program ``C[i,j] = min_k C[i,k] + C[k+1,j] + cost(J_j…J_{k+1} · J_k…J_i)``.

The chain ``[10, 6, 8, 2, 1]`` of docs/lessons/accumulation.md costs 660 forward and 124 reverse,
and 124 is optimal.

Factors may also be structured (:mod:`.structure`): then a product's cost depends on the
structures of its two operands, and two bracketings of the same sub-chain can yield different
structures (a cheaper sub-product may come out denser). The DP therefore keeps, for every
sub-chain, the cheapest cost *per resulting structure*, which keeps it exact within the cost
model. Forward and reverse are the two fold bracketings costed with the same rules, i.e. vertex
elimination of the chain graph in topological and reverse topological order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .structure import Dense, LocalJacobian, compose

__all__ = [
    "Bracketing",
    "ChainCost",
    "chain_cost",
    "chain_factors",
    "bracketing_cost",
    "all_bracketings",
    "brute_force_chain",
    "multiply_bracketing",
]

# A bracketing tree: a leaf is the 1-based factor index i (meaning J_i); a node is
# (later, earlier), i.e. the product later @ earlier.
Tree = int | tuple


@dataclass(frozen=True)
class Bracketing:
    """A full parenthesization of ``J_q ··· J_1``; prints as ``((J4 J3) (J2 J1))``."""

    tree: Tree

    @classmethod
    def forward(cls, q: int) -> Bracketing:
        """``J_q(…(J_2 J_1))``: the input-side product first."""
        tree: Tree = 1
        for i in range(2, q + 1):
            tree = (i, tree)
        return cls(tree)

    @classmethod
    def reverse(cls, q: int) -> Bracketing:
        """``((J_q J_{q-1})…) J_1``: the output-side product first."""
        tree: Tree = q
        for i in range(q - 1, 0, -1):
            tree = (tree, i)
        return cls(tree)

    def postorder(self) -> list[Tree]:
        """Nodes children-first, without recursion (bracketings can be deep)."""
        out: list[Tree] = []
        stack: list[tuple[Tree, bool]] = [(self.tree, False)]
        while stack:
            node, expanded = stack.pop()
            if isinstance(node, int) or expanded:
                out.append(node)
            else:
                stack.append((node, True))
                stack.append((node[1], False))
                stack.append((node[0], False))
        return out

    def leaves(self) -> list[int]:
        return [node for node in self.postorder() if isinstance(node, int)]

    def __str__(self) -> str:
        text: dict[int, str] = {}
        for node in self.postorder():
            if isinstance(node, int):
                text[id(node)] = f"J{node}"
            else:
                text[id(node)] = f"({text[id(node[0])]} {text[id(node[1])]})"
        return text[id(self.tree)]

    def __repr__(self) -> str:
        return f"Bracketing('{self}')"


# Memo tables below are keyed by id(node): distinct sub-trees of one bracketing are distinct
# live objects (leaves are distinct ints), and hashing deeply nested tuples would recurse.


def chain_factors(spec: Sequence) -> tuple[LocalJacobian, ...]:
    """Normalize ``dims`` (ints ``d_0..d_q``) or factors (``J_1..J_q``) to structures."""
    items = list(spec)
    if items and all(isinstance(d, int | np.integer) for d in items):
        if len(items) < 2:
            raise ValueError(f"a chain needs at least two widths d_0..d_q, got {items}")
        dims = [int(d) for d in items]
        return tuple(Dense(dims[i], dims[i - 1]) for i in range(1, len(dims)))
    if not items or not all(isinstance(f, LocalJacobian) for f in items):
        raise TypeError(
            "chain_cost takes widths [d_0, ..., d_q] (ints) or structured factors "
            "[J_1, ..., J_q] (LocalJacobian instances)"
        )
    for i in range(1, len(items)):
        if items[i].cols != items[i - 1].rows:
            raise ValueError(
                f"J{i + 1} has shape {items[i].shape} but J{i} has shape {items[i - 1].shape}: "
                f"J{i + 1} needs {items[i - 1].rows} columns"
            )
    return tuple(items)


def bracketing_cost(spec: Sequence, bracketing: Bracketing) -> int:
    """Multiplications needed to evaluate ``bracketing`` over ``spec`` (dims or factors)."""
    return _evaluate_structure(chain_factors(spec), bracketing)[1]


def _evaluate_structure(
    factors: Sequence[LocalJacobian], bracketing: Bracketing
) -> tuple[LocalJacobian, int]:
    leaves = sorted(bracketing.leaves())
    if leaves != list(range(1, len(factors) + 1)):
        raise ValueError(f"bracketing {bracketing} does not cover J1..J{len(factors)} once each")
    done: dict[int, LocalJacobian] = {}
    total = 0
    for node in bracketing.postorder():
        if isinstance(node, int):
            done[id(node)] = factors[node - 1]
        else:
            structure, cost = compose(done[id(node[0])], done[id(node[1])])
            done[id(node)] = structure
            total += cost
    return done[id(bracketing.tree)], total


@dataclass(frozen=True)
class ChainCost:
    """Multiplication counts of the three accumulation strategies for one chain."""

    dims: tuple[int, ...]
    forward: int
    reverse: int
    optimal: int
    bracketing: Bracketing
    factors: tuple[LocalJacobian, ...]

    @property
    def forward_bracketing(self) -> Bracketing:
        return Bracketing.forward(len(self.factors))

    @property
    def reverse_bracketing(self) -> Bracketing:
        return Bracketing.reverse(len(self.factors))

    @property
    def best_mode(self) -> str:
        """'forward', 'reverse' or 'optimal' (only when it beats both modes)."""
        if self.optimal < min(self.forward, self.reverse):
            return "optimal"
        return "forward" if self.forward <= self.reverse else "reverse"

    def table(self) -> str:
        rows = [
            ("forward", self.forward, self.forward_bracketing),
            ("reverse", self.reverse, self.reverse_bracketing),
            ("optimal", self.optimal, self.bracketing),
        ]
        width = max(len(f"{c:,}") for _, c, _ in rows)
        lines = [f"chain {' -> '.join(str(d) for d in self.dims)}  (q={len(self.factors)})"]
        lines += [f"  {name:<8} {c:>{width},}  {b}" for name, c, b in rows]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def chain_cost(spec: Sequence) -> ChainCost:
    """Forward, reverse and optimal multiplication counts of ``J_q ··· J_1``.

    ``spec`` is either the widths ``[d_0, …, d_q]`` (dense factors ``J_i`` of shape
    ``d_i × d_{i-1}``, input width first) or the structured factors ``[J_1, …, J_q]``.

    >>> c = chain_cost([10, 6, 8, 2, 1])
    >>> (c.forward, c.reverse, c.optimal, str(c.bracketing))
    (660, 124, 124, '(((J4 J3) J2) J1)')
    """
    factors = chain_factors(spec)
    q = len(factors)
    dims = (factors[0].cols,) + tuple(f.rows for f in factors)
    forward = _evaluate_structure(factors, Bracketing.forward(q))[1]
    reverse = _evaluate_structure(factors, Bracketing.reverse(q))[1]
    if all(isinstance(f, Dense) for f in factors):
        optimal, tree = _dense_chain_dp(dims)
    else:
        optimal, tree = _structured_chain_dp(factors)
    return ChainCost(dims, forward, reverse, optimal, Bracketing(tree), factors)


def _dense_chain_dp(dims: Sequence[int]) -> tuple[int, Tree]:
    """Classic matrix-chain DP over widths; ``cost[i][j]`` is for ``J_j … J_i`` (1-based)."""
    q = len(dims) - 1
    cost = [[0] * (q + 1) for _ in range(q + 1)]
    split = [[0] * (q + 1) for _ in range(q + 1)]
    for length in range(2, q + 1):
        for i in range(1, q - length + 2):
            j = i + length - 1
            best, best_k = None, i
            for k in range(i, j):
                # (J_j…J_{k+1}) is d_j × d_k and (J_k…J_i) is d_k × d_{i-1}.
                c = cost[i][k] + cost[k + 1][j] + dims[j] * dims[k] * dims[i - 1]
                if best is None or c < best:
                    best, best_k = c, k
            cost[i][j], split[i][j] = best, best_k
    return cost[1][q], _tree_from_splits(split, 1, q)


def _tree_from_splits(split, i: int, j: int) -> Tree:
    """Rebuild the tree of ``J_j…J_i`` from split points, iteratively (children first)."""
    order: list[tuple[int, int]] = []
    stack = [(i, j)]
    while stack:
        a, b = stack.pop()
        order.append((a, b))
        if a < b:
            k = split[a][b]
            stack.append((a, k))
            stack.append((k + 1, b))
    built: dict[tuple[int, int], Tree] = {}
    for a, b in reversed(order):
        if a == b:
            built[(a, b)] = a
        else:
            k = split[a][b]
            built[(a, b)] = (built[(k + 1, b)], built[(a, k)])
    return built[(i, j)]


def _structured_chain_dp(factors: Sequence[LocalJacobian]) -> tuple[int, Tree]:
    """Interval DP keeping the cheapest (cost, tree) per result structure of each sub-chain."""
    q = len(factors)
    table: dict[tuple[int, int], dict[LocalJacobian, tuple[int, Tree]]] = {}
    for i in range(1, q + 1):
        table[(i, i)] = {factors[i - 1]: (0, i)}
    for length in range(2, q + 1):
        for i in range(1, q - length + 2):
            j = i + length - 1
            options: dict[LocalJacobian, tuple[int, Tree]] = {}
            for k in range(i, j):
                for s_left, (c_left, t_left) in table[(k + 1, j)].items():
                    for s_right, (c_right, t_right) in table[(i, k)].items():
                        s, c = compose(s_left, s_right)
                        total = c_left + c_right + c
                        if s not in options or total < options[s][0]:
                            options[s] = (total, (t_left, t_right))
            table[(i, j)] = options
    return min(table[(1, q)].values(), key=lambda item: item[0])


def all_bracketings(q: int) -> list[Bracketing]:
    """Every full parenthesization of ``J_q ··· J_1`` (Catalan(q-1) of them); test reference."""
    if q < 1:
        raise ValueError("a chain has at least one factor")
    trees: dict[tuple[int, int], list[Tree]] = {(i, i): [i] for i in range(1, q + 1)}
    for length in range(2, q + 1):
        for i in range(1, q - length + 2):
            j = i + length - 1
            trees[(i, j)] = [
                (left, right)
                for k in range(i, j)
                for left in trees[(k + 1, j)]
                for right in trees[(i, k)]
            ]
    return [Bracketing(t) for t in trees[(1, q)]]


def brute_force_chain(spec: Sequence) -> tuple[int, Bracketing]:
    """Cheapest bracketing by enumerating all of them (for checking the DP; q ≤ ~10)."""
    factors = chain_factors(spec)
    best = None
    for b in all_bracketings(len(factors)):
        c = _evaluate_structure(factors, b)[1]
        if best is None or c < best[0]:
            best = (c, b)
    assert best is not None
    return best


def multiply_bracketing(matrices: Sequence[np.ndarray], bracketing: Bracketing) -> np.ndarray:
    """Evaluate ``J_q ··· J_1`` in the given bracketing; ``matrices[i-1]`` is ``J_i``."""
    if sorted(bracketing.leaves()) != list(range(1, len(matrices) + 1)):
        raise ValueError(f"bracketing {bracketing} does not cover J1..J{len(matrices)} once each")
    done: dict[int, np.ndarray] = {}
    for node in bracketing.postorder():
        if isinstance(node, int):
            done[id(node)] = np.asarray(matrices[node - 1])
        else:
            done[id(node)] = done[id(node[0])] @ done[id(node[1])]
    return done[id(bracketing.tree)]
