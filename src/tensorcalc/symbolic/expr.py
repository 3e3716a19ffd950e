"""Expression nodes of the symbolic matrix language.

An expression is an immutable tree whose nodes know their shape (see ``shapes``). Nodes compare
and hash structurally, so equal subexpressions are interchangeable (the simplifier and the code
generator's common-subexpression elimination rely on that).

The matrix product ``Mul`` keeps one invariant: its scalar factors come first (they commute) and
the remaining *chain* is conformable as a product of true matrices (column = n×1, row = 1×n). A
scalar-valued chain such as ``x' * y`` inside a longer product is kept as one scalar factor, since
``(x' y) z`` is a scaling, not a matrix product. ``mul``/``add``/``hadamard`` below only flatten;
all algebra lives in ``simplify``.

Numbers are exact (``int`` or ``fractions.Fraction``) unless they overflow into ``float``.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from fractions import Fraction

from ._printable import Printable
from .errors import ResultTooLarge, ShapeError
from .shapes import (
    as_matrix,
    describe,
    dim_mul,
    from_matrix,
    is_matrix,
    is_row,
    is_scalar,
    is_vector,
    same_dim,
    size,
    transpose_shape,
)

Number = int | Fraction | float

#: Elementwise functions of the language (derivatives live in ``elementwise``). ``step`` is the
#: Heaviside step (step(0) = 0), which we need to print the derivative of relu.
ELEMENTWISE = (
    "exp", "log", "sin", "cos", "tan", "tanh", "sqrt", "abs", "sign", "relu", "sigmoid", "step",
    "softplus", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
)
STRUCTURES = (None, "symmetric", "diagonal")  # and "integer" for scalars: see Var


def number(v: object) -> Number:
    """Normalise a numeric literal: exact when small, float when it would grow without bound."""
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, float):
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    q = Fraction(v)  # type: ignore[arg-type]
    if abs(q.numerator) > 10**30 or q.denominator > 10**30:
        return float(q)  # keep coefficient arithmetic cheap on adversarial input
    return int(q) if q.denominator == 1 else q


# [nodes left, the limit] while a ``node_budget`` is active; None (no limit) otherwise.
_budget: contextvars.ContextVar[list | None] = contextvars.ContextVar("tensorcalc_node_budget",
                                                                    default=None)


@contextlib.contextmanager
def node_budget(limit: int) -> Iterator[None]:
    """Raise ``ResultTooLarge`` once more than ``limit`` nodes are built inside the block.

    Counting at construction bounds every pass alike (differentiation, simplification,
    rebuilding) without each needing its own limit; the web workers run under one.
    """
    token = _budget.set([limit, limit])
    try:
        yield
    finally:
        _budget.reset(token)


class Expr(Printable):
    """Base class: ``args`` are child expressions, ``params()`` the non-expression data.

    ``str(e)``, ``e.latex()`` and ``e.mathml()`` come from ``Printable``.
    """

    __slots__ = ("args", "shape", "depth", "_hash", "_free")

    def _setup(self, args: tuple, shape: tuple) -> None:
        budget = _budget.get()
        if budget is not None:
            budget[0] -= 1
            if budget[0] < 0:
                raise ResultTooLarge(f"result too large: differentiating and simplifying built "
                                     f"more than {budget[1]:,} expression nodes; try a smaller "
                                     "expression or a first derivative")
        self.args = args
        self.shape = shape
        self.depth = 1 + max((a.depth for a in args), default=0)
        self._hash = hash((type(self).__name__, self.params(), args))
        self._free = None

    def params(self) -> tuple:
        return ()

    def rebuild(self, args: tuple) -> Expr:
        """Same node type and parameters with new children."""
        return type(self)(*args)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        return (
            type(self) is type(other)
            and self._hash == other._hash  # type: ignore[attr-defined]
            and self.params() == other.params()  # type: ignore[attr-defined]
            and self.args == other.args  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return self._hash

    @property
    def free_vars(self) -> frozenset:
        if self._free is None:
            out: frozenset = frozenset()
            for a in self.args:
                out = out | a.free_vars
            self._free = out
        return self._free

    def depends_on(self, var: Var) -> bool:
        return var in self.free_vars

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self} : {describe(self.shape)}>"


# ----------------------------------------------------------------------------------- leaves


class Var(Expr):
    """A variable; ``structure`` is None, "symmetric" or "diagonal" (square matrices only), or
    "integer" (scalars only)."""

    __slots__ = ("name", "structure")

    def __init__(self, name: str, shape: tuple, structure: str | None = None):
        if structure == "integer":
            if len(shape):
                raise ShapeError(f"{name}: an integer variable must be a scalar")
            self.name, self.structure = name, structure
            self._setup((), ())
            return
        if structure not in STRUCTURES:
            raise ValueError(f"unknown structure {structure!r}; use one of {STRUCTURES[1:]}")
        self.name = name
        self.structure = structure
        if structure is not None:
            if len(shape) != 2:
                raise ShapeError(f"{name}: a {structure} variable must be a square matrix")
            same_dim(shape[0], shape[1], f"{structure} matrix {name}")
        self._setup((), tuple(shape))

    def params(self) -> tuple:
        return (self.name, self.shape, self.structure)

    def rebuild(self, args: tuple) -> Expr:
        return self

    @property
    def free_vars(self) -> frozenset:
        return frozenset((self,))


class Differential(Var):
    """The placeholder dX of a differential (printed d X); distinct from a variable named dX."""

    __slots__ = ("of",)

    def __init__(self, of: Var, name: str):
        self.of = of
        super().__init__(name, of.shape, of.structure)

    def params(self) -> tuple:
        return (self.name, self.shape, self.structure, "d")


class Const(Expr):
    """A scalar number."""

    __slots__ = ("value",)

    def __init__(self, value: Number):
        self.value = number(value)
        self._setup((), ())

    def params(self) -> tuple:
        return (self.value,)

    def rebuild(self, args: tuple) -> Expr:
        return self


class Fill(Expr):
    """``vector(c)`` / ``matrix(c)``: every entry equals the number ``c``."""

    __slots__ = ("value",)

    def __init__(self, value: Number, shape: tuple):
        if len(shape) == 0:
            raise ShapeError("vector(c)/matrix(c) cannot be a scalar")
        self.value = number(value)
        self._setup((), tuple(shape))

    def params(self) -> tuple:
        return (self.value, self.shape)

    def rebuild(self, args: tuple) -> Expr:
        return self


class Identity(Expr):
    """``eye``: the n×n identity matrix."""

    __slots__ = ("n",)

    def __init__(self, n: object):
        self.n = n
        self._setup((), (n, n))

    def params(self) -> tuple:
        return (self.n,)

    def rebuild(self, args: tuple) -> Expr:
        return self


class Zero(Expr):
    """An exact zero of a given shape (a derivative that vanishes identically)."""

    __slots__ = ()

    def __init__(self, shape: tuple):
        self._setup((), tuple(shape))

    def params(self) -> tuple:
        return (self.shape,)

    def rebuild(self, args: tuple) -> Expr:
        return self


class Commutation(Expr):
    """K with vec(Xᵀ) = K vec(X) for an m×n matrix X (shape mn×mn)."""

    __slots__ = ("m", "n")

    def __init__(self, m: object, n: object):
        self.m, self.n = m, n
        s = dim_mul(m, n)
        self._setup((), (s, s))

    def params(self) -> tuple:
        return (self.m, self.n)

    def rebuild(self, args: tuple) -> Expr:
        return self


class DiagEmbed(Expr):
    """E with vec(diag(v)) = E v for v of length n (shape n²×n); Eᵀ vec(M) = diag(M)."""

    __slots__ = ("n",)

    def __init__(self, n: object):
        self.n = n
        self._setup((), (dim_mul(n, n), n))

    def params(self) -> tuple:
        return (self.n,)

    def rebuild(self, args: tuple) -> Expr:
        return self


# ------------------------------------------------------------------------------ operators


def _same_shape(shapes: list, what: str) -> tuple:
    first = shapes[0]
    for s in shapes[1:]:
        if len(s) != len(first) or is_row(s) != is_row(first):
            hint = ""
            if is_scalar(s) or is_scalar(first):
                hint = "; write vector(c) or matrix(c) for a constant array"
            raise ShapeError(f"{what}: cannot combine {describe(first)} and {describe(s)}{hint}")
        for a, b in zip(first, s, strict=True):
            same_dim(a, b, what)
    return first


class Add(Expr):
    """n-ary sum of same-shaped terms."""

    __slots__ = ()

    def __init__(self, *args: Expr):
        if len(args) < 2:
            raise ValueError("Add needs at least two terms")
        self._setup(tuple(args), _same_shape([a.shape for a in args], "+"))


class Mul(Expr):
    """Product: scalar factors first, then a conformable matrix chain (see module doc)."""

    __slots__ = ()

    def __init__(self, *args: Expr):
        if len(args) < 2:
            raise ValueError("Mul needs at least two factors")
        scalars = [a for a in args if is_scalar(a.shape)]
        chain = [a for a in args if not is_scalar(a.shape)]
        for left, right in zip(chain, chain[1:], strict=False):
            cols = as_matrix(left.shape)[1]
            rows = as_matrix(right.shape)[0]
            if (cols == 1) != (rows == 1):
                raise ShapeError(
                    f"*: cannot multiply {describe(left.shape)} by {describe(right.shape)}"
                    + (" (transpose the first vector: x' * y)" if is_vector(left.shape) else "")
                )
            if cols != rows:  # equal dims need no check (and no message built: a hot path)
                same_dim(cols, rows, f"*: {describe(left.shape)} times {describe(right.shape)}")
        if chain:
            shape = from_matrix(as_matrix(chain[0].shape)[0], as_matrix(chain[-1].shape)[1])
        else:
            shape = ()
        self._setup(tuple(scalars + chain), shape)

    @property
    def scalars(self) -> tuple:
        return tuple(a for a in self.args if is_scalar(a.shape))

    @property
    def chain(self) -> tuple:
        return tuple(a for a in self.args if not is_scalar(a.shape))


class Hadamard(Expr):
    """Elementwise product ``.*`` of same-shaped, non-scalar factors."""

    __slots__ = ()

    def __init__(self, *args: Expr):
        if len(args) < 2:
            raise ValueError("Hadamard needs at least two factors")
        shape = _same_shape([a.shape for a in args], ".*")
        if is_scalar(shape):
            raise ShapeError(".*: use * for scalars")
        self._setup(tuple(args), shape)


class Transpose(Expr):
    __slots__ = ()

    def __init__(self, a: Expr):
        self._setup((a,), transpose_shape(a.shape))


class Pow(Expr):
    """Elementwise power ``a .^ p`` (``a ^ p`` for scalars) with a numeric exponent."""

    __slots__ = ("exponent",)

    def __init__(self, a: Expr, exponent: Number):
        self.exponent = number(exponent)
        self._setup((a,), a.shape)

    def params(self) -> tuple:
        return (self.exponent,)

    def rebuild(self, args: tuple) -> Expr:
        return Pow(args[0], self.exponent)


class MatPow(Expr):
    """Matrix power ``X ^ k`` for an integer k ≥ 2 of a square matrix."""

    __slots__ = ("k",)

    def __init__(self, a: Expr, k: int):
        if not is_matrix(a.shape):
            raise ShapeError(f"^: matrix power needs a square matrix, got {describe(a.shape)}")
        same_dim(a.shape[0], a.shape[1], "matrix power")
        self.k = int(k)
        self._setup((a,), a.shape)

    def params(self) -> tuple:
        return (self.k,)

    def rebuild(self, args: tuple) -> Expr:
        return MatPow(args[0], self.k)


class Func(Expr):
    """An elementwise function such as ``exp`` applied to any shape."""

    __slots__ = ("name",)

    def __init__(self, name: str, a: Expr):
        if name not in ELEMENTWISE:
            raise ValueError(f"unknown elementwise function {name}")
        self.name = name
        self._setup((a,), a.shape)

    def params(self) -> tuple:
        return (self.name,)

    def rebuild(self, args: tuple) -> Expr:
        return Func(self.name, args[0])


class Unary(Expr):
    """Base of the named one-argument operations (``tr``, ``det``, ``inv``, ...)."""

    __slots__ = ()
    name = "?"

    def __init__(self, a: Expr):
        self._setup((a,), self.out_shape(a.shape))

    def out_shape(self, s: tuple) -> tuple:
        raise NotImplementedError

    def _square(self, s: tuple) -> None:
        if not is_matrix(s):
            raise ShapeError(f"{self.name}: needs a square matrix, got {describe(s)}")
        same_dim(s[0], s[1], self.name)


class Sum(Unary):
    """Sum of all entries."""

    __slots__ = ()
    name = "sum"

    def out_shape(self, s: tuple) -> tuple:
        return ()


class Trace(Unary):
    __slots__ = ()
    name = "tr"

    def out_shape(self, s: tuple) -> tuple:
        if not is_scalar(s):
            self._square(s)
        return ()


class Det(Unary):
    __slots__ = ()
    name = "det"

    def out_shape(self, s: tuple) -> tuple:
        if not is_scalar(s):
            self._square(s)
        return ()


class LogDet(Unary):
    """log det X (the determinant must be positive)."""

    __slots__ = ()
    name = "logdet"

    def out_shape(self, s: tuple) -> tuple:
        if not is_scalar(s):
            self._square(s)
        return ()


class Inv(Unary):
    __slots__ = ()
    name = "inv"

    def out_shape(self, s: tuple) -> tuple:
        self._square(s)
        return s


class Adj(Unary):
    """Adjugate det(X) X⁻¹."""

    __slots__ = ()
    name = "adj"

    def out_shape(self, s: tuple) -> tuple:
        self._square(s)
        return s


class Diag(Unary):
    """``diag(v)`` builds a diagonal matrix; ``diag(M)`` extracts the diagonal of a square M."""

    __slots__ = ()
    name = "diag"

    def out_shape(self, s: tuple) -> tuple:
        if is_vector(s):
            return (s[0], s[0])
        self._square(s)
        return (s[0],)


class Norm1(Unary):
    __slots__ = ()
    name = "norm1"

    def out_shape(self, s: tuple) -> tuple:
        return ()


class Norm2(Unary):
    """Euclidean norm of a vector, Frobenius norm of a matrix."""

    __slots__ = ()
    name = "norm2"

    def out_shape(self, s: tuple) -> tuple:
        return ()


class Softmax(Unary):
    __slots__ = ()
    name = "softmax"

    def out_shape(self, s: tuple) -> tuple:
        if not is_vector(s):
            raise ShapeError(f"softmax: needs a vector, got {describe(s)}; for a matrix write "
                             "softmax(X, 0) (each column) or softmax(X, 1) (each row)")
        return s


class LogSumExp(Unary):
    __slots__ = ()
    name = "logsumexp"

    def out_shape(self, s: tuple) -> tuple:
        if is_scalar(s):
            raise ShapeError("logsumexp: needs a vector or matrix")
        return ()


class Vec(Unary):
    """Column-major vectorisation (stack the columns)."""

    __slots__ = ()
    name = "vec"

    def out_shape(self, s: tuple) -> tuple:
        return (size(s),) if not is_scalar(s) else ()


class Kron(Expr):
    """Kronecker product A ⊗ B (on the matrix readings of the operands)."""

    __slots__ = ()

    def __init__(self, a: Expr, b: Expr):
        ra, ca = as_matrix(a.shape)
        rb, cb = as_matrix(b.shape)
        self._setup((a, b), from_matrix(dim_mul(ra, rb), dim_mul(ca, cb)))


UNARY_BY_NAME = {
    cls.name: cls
    for cls in (Sum, Trace, Det, LogDet, Inv, Adj, Diag, Norm1, Norm2, Softmax, LogSumExp)
}


# The flattening builders live in builders.py; re-exported here for the other modules.
from .builders import add, hadamard, mul, neg, one_like, transpose, zero_like  # noqa: E402

__all__ = [
    # the language
    "ELEMENTWISE", "STRUCTURES", "UNARY_BY_NAME", "Number", "number",
    # the nodes: leaves, operators, named one-argument operations
    "Expr", "Var", "Differential", "Const", "Fill", "Identity", "Zero", "Commutation", "DiagEmbed",
    "Add", "Mul", "Hadamard", "Transpose", "Pow", "MatPow", "Func", "Kron",
    "Unary", "Sum", "Trace", "Det", "LogDet", "Inv", "Adj", "Diag", "Norm1", "Norm2", "Softmax",
    "LogSumExp", "Vec",
    # the flattening builders (builders.py)
    "add", "hadamard", "mul", "neg", "one_like", "transpose", "zero_like",
]
