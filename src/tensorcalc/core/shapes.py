"""Shapes, symbolic dimensions and abstract values.

A shape is a tuple of dimensions; a dimension is a non-negative ``int`` or a :class:`Sym`, a
named size such as ``n`` that the symbolic engine uses when it traces an expression whose sizes
are unknown. Two symbolic dimensions are equal when their names are equal. Shape rules work on
both kinds; evaluation binds each symbol to a concrete size.

An abstract value (:class:`ShapedArray`) is what the tracing interpreters know about a value:
its shape and dtype, not its numbers. ``weak_type`` marks Python scalars, which follow NumPy 2's
promotion rule (NEP 50): ``float32_array * 2.0`` stays float32.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from functools import lru_cache

import numpy as np

from .errors import ShapeError


class Sym:
    """A symbolic dimension, e.g. ``Sym("n")``. Products of symbols print as ``n*m``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"a symbolic dimension needs a non-empty name, got {name!r}")
        self.name = name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sym) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("Sym", self.name))

    def __repr__(self) -> str:
        return self.name

    def __mul__(self, other: object) -> Dim:
        return dim_mul(self, other)  # type: ignore[arg-type]

    __rmul__ = __mul__


Dim = int | Sym
Shape = tuple[Dim, ...]


def as_dim(d: object) -> Dim:
    """Normalise one dimension: ints stay ints, strings become :class:`Sym`."""
    if isinstance(d, Sym):
        return d
    if isinstance(d, str):
        return Sym(d)
    if isinstance(d, (int, np.integer)) and not isinstance(d, bool):
        if d < 0:
            raise ShapeError(f"dimension sizes must be >= 0, got {d}")
        return int(d)
    raise TypeError(f"a dimension must be an int or a symbol name, got {d!r}")


def as_shape(shape: object) -> Shape:
    if isinstance(shape, (int, np.integer, str, Sym)):
        return (as_dim(shape),)
    return tuple(as_dim(d) for d in shape)  # type: ignore[union-attr]


def is_concrete(shape: Shape) -> bool:
    return all(isinstance(d, int) for d in shape)


def dim_mul(a: Dim, b: Dim) -> Dim:
    """Product of two dimensions; symbolic products keep a sorted ``n*m`` name."""
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    if a == 1:
        return b
    if b == 1:
        return a
    if a == 0 or b == 0:
        return 0
    names = sorted(str(a).split("*") + str(b).split("*"))
    return Sym("*".join(names))


def size(shape: Shape) -> Dim:
    """Number of elements of ``shape`` (a symbol when any dimension is symbolic)."""
    out: Dim = 1
    for d in shape:
        out = dim_mul(out, d)
    return out


def shape_str(shape: Sequence[Dim]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def broadcast_shapes(*shapes: Shape, op: str = "broadcast") -> Shape:
    """NumPy broadcasting of shapes, with symbols: equal dims match, a 1 stretches."""
    ndim = max((len(s) for s in shapes), default=0)
    out: list[Dim] = []
    for axis in range(ndim):
        dim: Dim = 1
        for s in shapes:
            k = axis - (ndim - len(s))
            if k < 0:
                continue
            d = s[k]
            if d == 1 or d == dim:
                continue
            if dim == 1:
                dim = d
                continue
            raise ShapeError(
                f"{op}: shapes {', '.join(shape_str(s) for s in shapes)} cannot be broadcast "
                f"together (axis {axis - ndim}: {dim} vs {d}). NumPy broadcasting aligns shapes "
                "on the right; each pair of sizes must be equal or one of them 1. Reshape or "
                "add an axis (x[:, None]) to make the operands fit."
            )
        out.append(dim)
    return tuple(out)


@lru_cache(maxsize=4096)
def _canonical_dtype(dt: object) -> np.dtype:
    return np.dtype(dt)


class ShapedArray:
    """Abstract value: a shape and a dtype. ``weak_type`` marks Python scalars (NEP 50).

    Immutable by convention; a plain slotted class rather than a frozen dataclass because the
    tracing interpreters create one per traced operation and construction cost matters.
    """

    __slots__ = ("shape", "dtype", "weak_type", "_hash")

    def __init__(self, shape: Shape, dtype: np.dtype, weak_type: bool = False) -> None:
        self.shape = shape
        self.dtype = dtype
        self.weak_type = weak_type
        self._hash = -1

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, ShapedArray) and self.shape == other.shape
                and self.dtype == other.dtype and self.weak_type == other.weak_type)

    def __hash__(self) -> int:
        h = self._hash
        if h == -1:
            h = self._hash = hash((self.shape, self.dtype, self.weak_type))
        return h

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> Dim:
        return size(self.shape)

    def str_short(self) -> str:
        return f"{dtype_short(self.dtype)}[{','.join(str(d) for d in self.shape)}]"

    def __repr__(self) -> str:
        return f"ShapedArray({self.str_short()})"


def ShapeDtype(shape: object, dtype: object = np.float64) -> ShapedArray:  # noqa: N802
    """An abstract argument for :func:`tensorcalc.trace`: ``ShapeDtype(("n", "n"))``."""
    return ShapedArray(as_shape(shape), _canonical_dtype(dtype))


_SHORT = {"float64": "f64", "float32": "f32", "float16": "f16", "int64": "i64",
          "int32": "i32", "bool": "bool", "complex128": "c128", "complex64": "c64"}


def dtype_short(dt: np.dtype) -> str:
    return _SHORT.get(dt.name, dt.name)


_PY_SCALAR_AVALS = {bool: ShapedArray((), np.dtype(np.bool_), True),
                    int: ShapedArray((), np.dtype(np.int64), True),
                    float: ShapedArray((), np.dtype(np.float64), True),
                    complex: ShapedArray((), np.dtype(np.complex128), True)}


#: NumPy's inexact scalar types (what ``np.sin(0.3)`` returns), with their shared avals: an
#: eager chain on a number computes on these, one per operation.
NUMPY_SCALAR_AVALS = {t: ShapedArray((), np.dtype(t)) for t in (
    np.float64, np.float32, np.float16, np.complex128, np.complex64)}

#: The concrete NumPy values the hot paths handle directly: arrays and the scalars above.
NUMPY_CONCRETE = frozenset({np.ndarray, *NUMPY_SCALAR_AVALS})

#: Values that are never tracers nor another library's arrays: what ``bind`` and the ``tnp``
#: operations pass straight to NumPy after one set lookup.
PLAIN_VALUES = NUMPY_CONCRETE | {float, int, bool, complex}


def aval_of(x: object) -> ShapedArray:
    """The abstract value of a concrete value (array, NumPy scalar or Python scalar)."""
    t = type(x)
    if t is np.ndarray:
        return ShapedArray(x.shape, x.dtype)  # type: ignore[attr-defined]
    if t in _PY_SCALAR_AVALS:
        return _PY_SCALAR_AVALS[t]
    if t in NUMPY_SCALAR_AVALS:
        return NUMPY_SCALAR_AVALS[t]
    if isinstance(x, np.ndarray):
        return ShapedArray(x.shape, x.dtype)
    if isinstance(x, (bool, int, float, complex)):
        return ShapedArray((), np.asarray(x).dtype, weak_type=True)
    from .backend import foreign_aval, is_foreign

    if is_foreign(x):
        return foreign_aval(x)
    a = np.asarray(x)
    return ShapedArray(a.shape, a.dtype)


def is_inexact_dtype(dt: np.dtype) -> bool:
    return np.issubdtype(dt, np.inexact)


def normalize_axes(axis: object, ndim: int, op: str) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative ints (``None`` means every axis)."""
    if axis is None:
        return tuple(range(ndim))
    axes: Iterable[object] = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be an int or a tuple of ints, got {axis!r}")
        a = int(a)
        if not -ndim <= a < ndim:
            raise ShapeError(
                f"{op}: axis {a} is out of bounds for an array of dimension {ndim}"
            )
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: repeated axis in {axis!r}")
    return tuple(sorted(out))


_NORMAL_RANGE: dict[np.dtype, tuple[float, float]] = {}


def exact_reciprocal(c: float, dtype: np.dtype) -> float | None:
    """``1/c`` when ``c = ±2ᵏ`` and ``1/c`` is a normal number of the real float type ``dtype``
    (the type the division is computed in), else None. Then ``x / c`` and ``x · (1/c)`` are
    the same real number for every ``x``, so they round alike, bit for bit (subnormal,
    infinite and NaN ``x`` included), and a multiplication is several times cheaper than a
    division (jit's algebraic pass and the eager ``x / c`` both use it)."""
    if c == 0.0 or not math.isfinite(c) or abs(math.frexp(c)[0]) != 0.5:
        return None  # (frexp gives ±0.5 exactly for the powers of two)
    bounds = _NORMAL_RANGE.get(dtype)
    if bounds is None:
        fi = np.finfo(dtype)
        bounds = _NORMAL_RANGE[dtype] = (float(fi.tiny), float(fi.max))
    r = 1.0 / c
    return r if bounds[0] <= abs(r) <= bounds[1] else None
