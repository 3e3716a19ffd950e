"""Shapes with symbolic dimensions.

A shape is a tuple: ``()`` scalar, ``(n,)`` column vector, ``(1, n)`` row vector (a transposed
vector), ``(m, n)`` matrix. A dimension is an ``int`` or a ``str`` name such as ``"n"``; products
of dimensions (the length of ``vec(X)``) are names joined by ``·`` with sorted factors, so that
``m·n`` built two ways compares equal.

Every shape has a matrix reading: scalar = 1×1, column = n×1, row = 1×n. Matrix products are
checked on that reading, which is what makes ``x' * A * x`` a scalar and ``x * y'`` a matrix.

While parsing, variable dimensions are unknown. They start as ``Hole`` objects and the operator
constructors *unify* them (union-find, kept in a context variable so that building outside a
parse simply checks equality).
"""

from __future__ import annotations

import contextvars
import itertools
from collections.abc import Iterator
from contextlib import contextmanager

from .errors import ShapeError

Dim = int | str  # a resolved dimension; ``Hole`` only lives inside a parse
Shape = tuple

_hole_ids = itertools.count()


class Hole:
    """An unknown dimension, resolved by unification at the end of a parse."""

    __slots__ = ("ident",)

    def __init__(self) -> None:
        self.ident = next(_hole_ids)

    def __repr__(self) -> str:
        return f"?{self.ident}"


class _UnionFind:
    """Union-find over dimensions; concrete values (int/str) win as representatives."""

    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, d: object) -> object:
        path = []
        while isinstance(d, Hole) and d in self.parent:
            path.append(d)
            d = self.parent[d]
        for p in path:  # path compression
            self.parent[p] = d
        return d

    def union(self, a: object, b: object) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra is rb or ra == rb:
            return True
        if isinstance(ra, Hole):
            self.parent[ra] = rb
            return True
        if isinstance(rb, Hole):
            self.parent[rb] = ra
            return True
        return False  # two different concrete dims


_active: contextvars.ContextVar[_UnionFind | None] = contextvars.ContextVar(
    "tensorcalc_symbolic_unify", default=None
)


@contextmanager
def unifying() -> Iterator[_UnionFind]:
    """Inside this block, dimension checks unify holes instead of comparing."""
    uf = _UnionFind()
    token = _active.set(uf)
    try:
        yield uf
    finally:
        _active.reset(token)


def same_dim(a: object, b: object, what: str) -> None:
    """Require ``a == b`` (or unify them while parsing); ``what`` names the operation."""
    uf = _active.get()
    if uf is not None:
        if not uf.union(a, b):
            raise ShapeError(f"{what}: dimension {uf.find(a)} does not match {uf.find(b)}")
        return
    if a != b:
        raise ShapeError(f"{what}: dimension {a} does not match {b}")


def resolve(d: object) -> object:
    uf = _active.get()
    return uf.find(d) if uf is not None else d


def as_matrix(shape: Shape) -> tuple:
    """The rows × columns reading of a shape (scalar 1×1, column n×1, row 1×n)."""
    if len(shape) == 0:
        return (1, 1)
    if len(shape) == 1:
        return (shape[0], 1)
    return shape


def from_matrix(rows: object, cols: object) -> Shape:
    """Inverse of :func:`as_matrix`."""
    if _is_one(rows) and _is_one(cols):
        return ()
    if _is_one(cols):
        return (rows,)
    return (rows, cols)


def _is_one(d: object) -> bool:
    return isinstance(d, int) and d == 1


def is_scalar(shape: Shape) -> bool:
    return len(shape) == 0


def is_vector(shape: Shape) -> bool:
    return len(shape) == 1


def is_row(shape: Shape) -> bool:
    return len(shape) == 2 and _is_one(shape[0])


def is_matrix(shape: Shape) -> bool:
    return len(shape) == 2 and not _is_one(shape[0])


def transpose_shape(shape: Shape) -> Shape:
    r, c = as_matrix(shape)
    return from_matrix(c, r)


def dim_mul(a: object, b: object) -> object:
    """Product of two dimensions, canonical so that equal products compare equal."""
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if _is_one(a):
        return b
    if _is_one(b):
        return a
    factors: list[str] = []
    coef = 1
    for d in (a, b):
        if isinstance(d, int):
            coef *= d
        else:
            factors.extend(str(d).split("·"))
    factors.sort()
    if coef != 1:
        factors.insert(0, str(coef))
    return "·".join(factors)


def size(shape: Shape) -> object:
    """Number of entries, as a dimension."""
    out: object = 1
    for d in shape:
        out = dim_mul(out, d)
    return out


def describe(shape: Shape) -> str:
    """Wording of a shape: ``scalar``, ``vector (n)``, ``row vector (1×n)``, ``n×m matrix``."""
    if is_scalar(shape):
        return "scalar"
    if any(isinstance(d, Hole) for d in shape):  # dimensions not inferred yet: say the kind
        return "vector" if is_vector(shape) else "row vector" if is_row(shape) else "matrix"
    if is_vector(shape):
        return f"vector ({shape[0]})"
    if is_row(shape):
        return f"row vector (1×{shape[1]})"
    return f"{shape[0]}×{shape[1]} matrix"
