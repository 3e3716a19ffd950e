"""The wider language: indexing, max/min, axis-wise softmax, symbolic exponents, expm.

Nodes (their derivative rules live in ``language_rules``, their printers in
``printing/language``, their NumPy forms in ``printing/numpy_language``):

* ``Index(a, spec, *symbols)``: ``x[i]``, ``X[i, :]``, ``X[0:2, j]`` (0-based, as NumPy). Each
  axis holds ``ALL`` (``:``), ``("at", k)`` (an int), ``("sym", r)`` (the r-th index symbol, an
  integer scalar variable in ``args``) or ``("span", a, b)`` (rows a..b-1). On the matrix
  reading X[R, C] = P_Rᵀ X P_C with the selectors P_R = I[:, R], so d X[R, C] = dX[R, C] and its
  adjoint scatters: ⟨c, dX[R, C]⟩ = ⟨P_R c P_Cᵀ, dX⟩.
* ``Maximum(a, b, kind)``: elementwise max/min; ``Extremum(a, kind)``: max/min of all entries,
  ``ExtremumWeights(a, kind)``: its subgradient, 1/k on each of the k entries that attain it.
* ``SoftmaxAxis(X, axis)``, ``LogSumExpAxis(X, axis)``: NumPy's axis (0 normalises each column).
* ``PowerExpr(u, p)``: u .^ p with an expression p; ``MatPowSym(X, k)``: X^k for an integer
  symbol k, with ``PowerSeries(X, k, E)`` = Σ_{r<k} Xʳ E X^(k−1−r) its differential.
* ``Expm(A)``, ``ExpmFrechet(A, E)`` = L(A, E) = ∫₀¹ e^{sA} E e^{(1−s)A} ds, the Fréchet
  derivative (computed as the top-right block of expm([[A, E], [0, A]])), and ``ExpmJacobian(A)``
  = ∫₀¹ e^{sAᵀ} ⊗ e^{(1−s)A} ds with vec L(A, E) = ExpmJacobian(A) vec E.
* ``Unvec(v, m, n)``: the m×n matrix whose column-major vec is v (adjoint of vec).
"""

from __future__ import annotations

from .errors import ShapeError
from .expr import Expr, Unary, Var, Vec
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
)

ALL = ("all",)
KINDS = ("max", "min")


def _axis_size(spec: tuple, n: object, what: str) -> object:
    """Number of entries an index ``spec`` selects from an axis of length ``n``."""
    if spec == ALL:
        return n
    if spec[0] == "span":
        a, b = spec[1], spec[2]
        if not 0 <= a < b:
            raise ShapeError(f"{what}: the range {a}:{b} is empty or negative; write a:b with "
                             "0 <= a < b")
        if isinstance(n, int) and b > n:
            raise ShapeError(f"{what}: the range {a}:{b} is out of bounds for length {n}")
        return b - a
    if spec[0] == "at" and isinstance(n, int) and not 0 <= spec[1] < n:
        raise ShapeError(f"{what}: index {spec[1]} is out of bounds for length {n} "
                         "(indices are 0-based)")
    return 1


class Index(Expr):
    """``a[spec]``: elements, rows, columns or blocks; see the module doc."""

    __slots__ = ("spec",)

    def __init__(self, a: Expr, spec: tuple, *symbols: Expr):
        if is_scalar(a.shape):
            raise ShapeError("[]: a scalar cannot be indexed")
        spec = tuple(tuple(s) for s in spec)
        wanted = 2 if is_matrix(a.shape) else 1
        if len(spec) != wanted:
            raise ShapeError(f"[]: {describe(a.shape)} takes {wanted} "
                             f"{'index' if wanted == 1 else 'indices'}, got {len(spec)}")
        for s in symbols:
            if not (isinstance(s, Var) and s.structure == "integer"):
                raise ShapeError(f"[]: the index {s} must be an integer symbol")
        self.spec = spec
        r, c = as_matrix(a.shape)
        if is_vector(a.shape):
            shape = from_matrix(_axis_size(spec[0], r, "[]"), 1)
        elif is_row(a.shape):
            shape = from_matrix(1, _axis_size(spec[0], c, "[]"))
        else:
            shape = from_matrix(_axis_size(spec[0], r, "[]"), _axis_size(spec[1], c, "[]"))
        self._setup((a, *symbols), shape)

    def params(self) -> tuple:
        return (self.spec,)

    def rebuild(self, args: tuple) -> Expr:
        return Index(args[0], self.spec, *args[1:])

    @property
    def target(self) -> Expr:
        return self.args[0]

    def axis_specs(self) -> list[tuple]:
        """(rows spec, columns spec) on the matrix reading (ALL for a vector's other axis)."""
        if is_vector(self.target.shape):
            return [self.spec[0], ALL]
        if is_row(self.target.shape):
            return [ALL, self.spec[0]]
        return list(self.spec)

    def symbol(self, spec: tuple) -> Expr | None:
        return self.args[1 + spec[1]] if spec[0] == "sym" else None


def selector(n: object, spec: tuple, symbol: Expr | None = None) -> Expr | None:
    """P = I[:, spec] (n×k), so that X[spec, :] = Pᵀ X; None for ``:`` (P = I)."""
    from .expr import Identity

    if spec == ALL:
        return None
    sym = (symbol,) if symbol is not None else ()
    local = ("sym", 0) if spec[0] == "sym" else spec
    return Index(Identity(n), (ALL, local), *sym)


class Maximum(Expr):
    """Elementwise ``max(a, b)`` / ``min(a, b)`` of same-shaped operands."""

    __slots__ = ("kind",)

    def __init__(self, a: Expr, b: Expr, kind: str = "max"):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if a.shape != b.shape and not (len(a.shape) == len(b.shape)):
            raise ShapeError(f"{kind}: cannot combine {describe(a.shape)} and {describe(b.shape)}")
        for da, db in zip(a.shape, b.shape, strict=True):
            same_dim(da, db, kind)
        self.kind = kind
        self._setup((a, b), a.shape)

    def params(self) -> tuple:
        return (self.kind,)

    def rebuild(self, args: tuple) -> Expr:
        return Maximum(args[0], args[1], self.kind)


class Extremum(Unary):
    """``max(X)``: the largest entry (``Minimum``: ``min(X)``, the smallest)."""

    __slots__ = ()
    name = "max"
    kind = "max"

    def out_shape(self, s: tuple) -> tuple:
        if is_scalar(s):
            raise ShapeError(f"{self.kind}: needs a vector or matrix (max(a, b) compares two)")
        return ()


class Minimum(Extremum):
    __slots__ = ()
    name = "min"
    kind = "min"


class ExtremumWeights(Extremum):
    """``maxweights(X)``: 1/k on each of the k entries equal to max(X), 0 elsewhere (the
    subgradient the numeric engine uses: tied entries share equally)."""

    __slots__ = ()
    name = "maxweights"

    def out_shape(self, s: tuple) -> tuple:
        super().out_shape(s)
        return s


class MinimumWeights(ExtremumWeights):
    __slots__ = ()
    name = "minweights"
    kind = "min"


def extremum(a: Expr, kind: str, weights: bool = False) -> Expr:
    """max(a) / min(a), or their subgradient weights."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if weights:
        return ExtremumWeights(a) if kind == "max" else MinimumWeights(a)
    return Extremum(a) if kind == "max" else Minimum(a)


class _AxisOp(Expr):
    """A matrix operation along NumPy axis 0 (down each column) or 1 (along each row)."""

    __slots__ = ("axis",)
    name = "?"

    def __init__(self, a: Expr, axis: int):
        if not is_matrix(a.shape):
            raise ShapeError(f"{self.name}(X, axis): needs a matrix, got {describe(a.shape)}; "
                             f"write {self.name}(x) for a vector")
        if axis not in (0, 1):
            raise ShapeError(f"{self.name}(X, axis): axis must be 0 (columns) or 1 (rows), "
                             f"got {axis}")
        self.axis = axis
        self._setup((a,), self.out_shape(a.shape))

    def params(self) -> tuple:
        return (self.axis,)

    def rebuild(self, args: tuple) -> Expr:
        return type(self)(args[0], self.axis)


class SoftmaxAxis(_AxisOp):
    """softmax(X, 0): each column sums to one; softmax(X, 1): each row."""

    __slots__ = ()
    name = "softmax"

    def out_shape(self, s: tuple) -> tuple:
        return s


class LogSumExpAxis(_AxisOp):
    """logsumexp(X, 0): one value per column (a vector of length n for m×n X); axis 1: per row."""

    __slots__ = ()
    name = "logsumexp"

    def out_shape(self, s: tuple) -> tuple:
        return (s[1],) if self.axis == 0 else (s[0],)


class PowerExpr(Expr):
    """Elementwise ``u .^ p`` (``u ^ p`` for a scalar u) with a scalar expression exponent."""

    __slots__ = ()

    def __init__(self, u: Expr, p: Expr):
        if not is_scalar(p.shape):
            raise ShapeError(f".^: the exponent must be a scalar, got {describe(p.shape)}")
        self._setup((u, p), u.shape)


class MatPowSym(Expr):
    """Matrix power ``X ^ k`` for an integer symbol (or expression) k."""

    __slots__ = ()

    def __init__(self, a: Expr, k: Expr):
        if not is_matrix(a.shape):
            raise ShapeError(f"^: matrix power needs a square matrix, got {describe(a.shape)}")
        same_dim(a.shape[0], a.shape[1], "matrix power")
        if not is_scalar(k.shape):
            raise ShapeError(f"^: the exponent must be a scalar, got {describe(k.shape)}")
        self._setup((a, k), a.shape)


class PowerSeries(Expr):
    """Σ_{r=0}^{k−1} Xʳ E X^(k−1−r): the differential of X^k in the direction E."""

    __slots__ = ()

    def __init__(self, a: Expr, k: Expr, e: Expr):
        self._setup((a, k, e), a.shape)


class Expm(Unary):
    """The matrix exponential."""

    __slots__ = ()
    name = "expm"

    def out_shape(self, s: tuple) -> tuple:
        self._square(s)
        return s


class ExpmFrechet(Expr):
    """``expm_frechet(A, E)``: the Fréchet derivative of expm at A in the direction E."""

    __slots__ = ()

    def __init__(self, a: Expr, e: Expr):
        if not is_matrix(a.shape) or not is_matrix(e.shape):
            raise ShapeError("expm_frechet(A, E): needs two square matrices")
        for d in (a.shape[1], *e.shape):
            same_dim(a.shape[0], d, "expm_frechet")
        self._setup((a, e), a.shape)


class ExpmJacobian(Unary):
    """``dexpm(A)``: the n²×n² matrix with vec L(A, E) = dexpm(A) vec(E)."""

    __slots__ = ()
    name = "dexpm"

    def out_shape(self, s: tuple) -> tuple:
        self._square(s)
        n2 = dim_mul(s[0], s[0])
        return (n2, n2)


class Unvec(Expr):
    """The m×n matrix M with vec(M) = v (column-major)."""

    __slots__ = ("m", "n")

    def __init__(self, v: Expr, m: object, n: object):
        if not is_vector(v.shape):
            raise ShapeError(f"unvec: needs a vector, got {describe(v.shape)}")
        same_dim(v.shape[0], dim_mul(m, n), "unvec")
        self.m, self.n = m, n
        self._setup((v,), from_matrix(m, n))

    def params(self) -> tuple:
        return (self.m, self.n)

    def rebuild(self, args: tuple) -> Expr:
        return Unvec(args[0], self.m, self.n)


def unvec(v: Expr, shape: tuple) -> Expr:
    """The array of ``shape`` whose vec is v, cancelling unvec(vec(M)) = M."""
    if not is_matrix(shape):
        from .builders import transpose

        return transpose(v) if is_row(shape) else v
    if isinstance(v, Vec) and v.args[0].shape == tuple(shape):
        return v.args[0]
    return Unvec(v, shape[0], shape[1])


def integer_symbol(name: str) -> Var:
    """An integer-valued scalar variable (an index or a matrix-power exponent)."""
    return Var(name, (), "integer")


def is_integer_symbol(e: Expr) -> bool:
    return isinstance(e, Var) and e.structure == "integer"


__all__ = [
    "ALL", "KINDS", "Index", "Maximum", "Extremum", "ExtremumWeights", "Minimum",
    "MinimumWeights", "extremum", "SoftmaxAxis",
    "LogSumExpAxis", "PowerExpr", "MatPowSym", "PowerSeries", "Expm", "ExpmFrechet",
    "ExpmJacobian", "Unvec", "unvec", "selector", "integer_symbol", "is_integer_symbol",
    "Expectation",
]


class Expectation(Expr):
    """``expect(f, x, m, S)`` = E[f(x)] for x ~ N(m, S); replaced by its closed form when the
    parse ends (``gaussian.expand_expectations``). ``x`` is bound: it is not a free variable."""

    __slots__ = ()

    def __init__(self, f: Expr, x: Expr, m: Expr, s: Expr):
        if not isinstance(x, Var) or x.structure is not None:
            raise ShapeError(f"expect(f, x, m, S): x must be a variable, got {x}")
        if is_matrix(x.shape) or is_row(x.shape):
            raise ShapeError("expect(f, x, m, S): x must be a scalar or a (column) vector")
        if len(m.shape) != len(x.shape):
            raise ShapeError(f"expect: the mean m must have the shape of {x.name}, got "
                             f"{describe(m.shape)}")
        for a, b in zip(m.shape, x.shape, strict=True):
            same_dim(a, b, "expect: the mean")
        want = () if is_scalar(x.shape) else (x.shape[0], x.shape[0])
        if len(s.shape) != len(want):
            kind = "an n×n matrix" if want else "a scalar"
            raise ShapeError(f"expect: the covariance S must be {kind} for {x.name}, got "
                             f"{describe(s.shape)}")
        for a, b in zip(s.shape, want, strict=True):
            same_dim(a, b, "expect: the covariance")
        self._setup((f, x, m, s), f.shape)

    @property
    def free_vars(self) -> frozenset:
        if self._free is None:
            f, x, m, s = self.args
            self._free = (f.free_vars - {x}) | m.free_vars | s.free_vars
        return self._free
