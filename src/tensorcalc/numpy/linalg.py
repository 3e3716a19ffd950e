"""``tensorcalc.numpy.linalg``: NumPy's linear algebra with NumPy 2's names, signatures, stacked
(batched) leading axes and result namedtuples, differentiable in forward and reverse mode to any
order. On plain arrays every function is NumPy's own (errors re-labelled with the operator).

The primitives and their derivative rules live in the modules of :mod:`tensorcalc.ops.linalg`
(inverses, decompositions, least squares). This module adds the composite functions:

- ``norm``: vector norms ``(Σ|xᵢ|ᵖ)^(1/p)`` (``p = 2`` by default; ``±inf`` the largest and
  smallest ``|xᵢ|``; ``0`` the count of non-zeros, with zero derivative) and matrix norms
  ``'fro'`` ``√Σ x²``, ``'nuc'`` ``Σ sᵢ``, ``±2`` the largest and smallest singular value,
  ``±1`` and ``±inf`` the largest and smallest absolute column and row sums. Convention
  (docs/conventions.md): the derivative of a norm at the zero vector is **0** (a subgradient),
  never NaN; it is obtained by evaluating the root at a safe point where the value is zero.
- ``matrix_power``: repeated squaring (``Aⁿ`` in ``O(log n)`` products); negative ``n`` uses
  ``inv``; ``n = 0`` gives the identity (zero derivative).
- ``multi_dot``: the chain product bracketed by the matrix-chain dynamic program (the cheapest
  order in scalar multiplications, as NumPy does); the derivative follows the product rule
  through that order.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..core.backend import device, is_foreign, namespace
from ..ops._base import dtype_of, needs_bind
from ..ops.elementwise import abs as _abs
from ..ops.elementwise import divide, equal, multiply, not_equal, power, sqrt, where
from ..ops.indexing import diagonal as _diagonal
from ..ops.indexing import trace as _trace
from ..ops.linalg._common import LinAlgError, LinAlgShapeError, check_matrix, check_real
from ..ops.linalg._common import shape_of as _shape_of
from ..ops.linalg.decompositions import eigh as _eigh
from ..ops.linalg.decompositions import eigvalsh, svd_values
from ..ops.linalg.decompositions import qr as _qr
from ..ops.linalg.decompositions import svd as _svd
from ..ops.linalg.inverse import cholesky as _cholesky
from ..ops.linalg.inverse import det, inv, solve
from ..ops.linalg.inverse import slogdet as _slogdet
from ..ops.linalg.least_squares import lstsq, pinv
from ..ops.products import cross as _cross
from ..ops.products import matmul, tensordot
from ..ops.products import outer as _outer
from ..ops.reductions import max as _max
from ..ops.reductions import min as _min
from ..ops.reductions import sum as _sum
from ..ops.structural import convert, reshape, transpose
from ..ops.structural import swapaxes as _swapaxes
from ._linalg_more import EigResult, eig, eigvals, tensorinv, tensorsolve  # noqa: F401

__all__ = [
    "EigResult", "eig", "eigvals", "tensorinv", "tensorsolve",  # np-complex
    "EighResult", "LinAlgError", "LinAlgShapeError", "QRResult", "SVDResult", "SlogdetResult",
    "cholesky", "cond", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "lstsq",
    "matmul", "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot",
    "norm", "outer", "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "trace",
    "vecdot", "vector_norm",
]


class SlogdetResult(NamedTuple):
    sign: Any
    logabsdet: Any


class EighResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


class QRResult(NamedTuple):
    Q: Any
    R: Any


class SVDResult(NamedTuple):
    U: Any
    S: Any
    Vh: Any


def slogdet(a: Any) -> SlogdetResult:
    """``numpy.linalg.slogdet``: ``SlogdetResult(sign, logabsdet)``; the sign has zero
    derivative, ``d logabsdet = ⟨A⁻ᵀ, Ȧ⟩``."""
    return SlogdetResult(*_slogdet(a))


def eigh(a: Any, UPLO: str = "L", symmetrize_input: bool = True) -> EighResult:  # noqa: N803
    """``numpy.linalg.eigh``: ``EighResult(eigenvalues, eigenvectors)``. Symmetrizes ``a``
    first (symmetric gradients) unless ``symmetrize_input=False``: then it reads one triangle,
    as NumPy does (docs/conventions.md)."""
    return EighResult(*_eigh(a, UPLO, symmetrize_input))


def qr(a: Any, mode: str = "reduced") -> Any:
    """``numpy.linalg.qr``: ``QRResult(Q, R)`` for ``'reduced'``/``'complete'``, ``R`` for
    ``'r'``; ``'raw'`` is NumPy's (not differentiable)."""
    out = _qr(a, mode)
    return QRResult(*out) if mode in ("reduced", "complete") else out


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True,
        hermitian: bool = False) -> Any:
    """``numpy.linalg.svd``: ``SVDResult(U, S, Vh)``, or ``S`` when ``compute_uv=False``."""
    out = _svd(a, full_matrices, compute_uv, hermitian)
    return SVDResult(*out) if compute_uv else out


def svdvals(x: Any, /) -> Any:
    """``numpy.linalg.svdvals``: the singular values, descending."""
    return svd_values(x)


def cholesky(a: Any, /, *, upper: bool = False, symmetrize_input: bool = True) -> Any:
    """``numpy.linalg.cholesky``. Symmetrizes ``a`` first (symmetric gradients) unless
    ``symmetrize_input=False``: then it reads the lower (``upper=True``: upper) triangle only,
    as NumPy does (docs/conventions.md)."""
    return _cholesky(a, upper=upper, symmetrize_input=symmetrize_input)


# --- matrix_power and multi_dot -------------------------------------------------------------


def matrix_power(a: Any, n: int) -> Any:
    """``numpy.linalg.matrix_power``: ``aⁿ`` for an integer ``n`` by repeated squaring."""
    if not needs_bind(a):
        return np.linalg.matrix_power(a, n)
    try:
        n = int(n.__index__())
    except (AttributeError, TypeError):
        raise TypeError(f"matrix_power: the exponent must be an integer, got {n!r}") from None
    shape = check_matrix("matrix_power", a)
    check_real("matrix_power", a)
    if n == 0:  # the identity does not depend on a
        eye = np.eye(shape[-1], dtype=dtype_of(a) if dtype_of(a).kind in "fc" else np.float64)
        if is_foreign(a):  # the identity on the input's library and device
            return namespace(a).asarray(np.broadcast_to(eye, shape).copy(), device=device(a))
        return np.broadcast_to(eye, shape).copy()
    if n < 0:
        a, n = inv(a), -n
    result = None
    base = a
    while True:  # binary exponentiation: multiply in the squares for the set bits of n
        if n & 1:
            result = base if result is None else matmul(result, base)
        n >>= 1
        if not n:
            return result
        base = matmul(base, base)


def _chain_order(dims: list[int]) -> list[list[int]]:
    """The matrix-chain DP: ``split[i][j]`` is where to split the product of matrices
    ``i..j`` (sizes ``dims[i] × dims[i+1]``) so the count of scalar multiplications is least."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            best = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if best is None or c < best:
                    best, split[i][j] = c, k
            cost[i][j] = best  # type: ignore[assignment]
    return split


def multi_dot(arrays: Any, *, out: Any = None) -> Any:
    """``numpy.linalg.multi_dot``: ``A @ B @ …`` in the cheapest bracketing. The first array
    may be 1-D (a row vector) and the last 1-D (a column vector); the others are 2-D."""
    arrays = list(arrays)
    if not any(needs_bind(x) for x in arrays):
        return np.linalg.multi_dot(arrays, out=out)
    if out is not None:
        raise TypeError("multi_dot: out= is not supported for values being differentiated")
    if len(arrays) < 2:
        raise ValueError("multi_dot: expecting at least two arrays")
    first_1d, last_1d = len(_shape_of(arrays[0])) == 1, len(_shape_of(arrays[-1])) == 1
    if first_1d:
        arrays[0] = reshape(arrays[0], (1, -1))
    if last_1d:
        arrays[-1] = reshape(arrays[-1], (-1, 1))
    for i, x in enumerate(arrays):
        if len(_shape_of(x)) != 2:
            raise LinAlgShapeError(
                f"multi_dot: array {i} has shape {_shape_of(x)}; all arrays must be 2-D except "
                "the first and last, which may be 1-D")
    dims = [_shape_of(arrays[0])[0]] + [_shape_of(x)[1] for x in arrays]
    split = _chain_order(dims)
    # Evaluate the bracketing with an explicit stack (no recursion).
    results: dict[tuple[int, int], Any] = {(i, i): x for i, x in enumerate(arrays)}
    todo = [(0, len(arrays) - 1)]
    while todo:
        i, j = todo[-1]
        if (i, j) in results:
            todo.pop()
            continue
        k = split[i][j]
        pending = [s for s in ((i, k), (k + 1, j)) if s not in results]
        if pending:
            todo.extend(pending)
            continue
        todo.pop()
        results[(i, j)] = matmul(results[(i, k)], results[(k + 1, j)])
    res = results[(0, len(arrays) - 1)]
    if first_1d and last_1d:
        return reshape(res, ())
    if first_1d or last_1d:
        return reshape(res, (-1,))
    return res


# --- norms ----------------------------------------------------------------------------------


def _safe_root(s: Any, p: float) -> Any:
    """``s^(1/p)`` with derivative 0 where ``s = 0`` (the norm′(0) = 0 convention): the root
    is taken at 1 there and the value replaced by 0, so no ``inf · 0`` reaches the derivative."""
    zero = equal(s, 0)
    safe = where(zero, 1.0, s)
    root = sqrt(safe) if p == 2 else power(safe, 1.0 / p)
    return where(zero, 0.0, root)


def _safe_abs_pow(x: Any, p: float) -> Any:
    """``|x|^p`` whose derivative at ``x = 0`` is 0 even for ``p < 1``."""
    ax = _abs(x)
    if p == 1:
        return ax
    if p == 2:
        return multiply(x, x)
    zero = equal(ax, 0)
    return where(zero, 0.0, power(where(zero, 1.0, ax), p))


def _float(x: Any) -> Any:
    return x if dtype_of(x).kind in "fc" else convert(x, np.float64)


def _vector_norm(x: Any, ord: Any, axes: tuple[int, ...]) -> Any:  # noqa: A002
    if ord is None or ord == 2:
        return _safe_root(_sum(multiply(x, x), axis=axes), 2)
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order {ord!r} for vectors")
    if ord == np.inf:
        return _max(_abs(x), axis=axes)
    if ord == -np.inf:
        return _min(_abs(x), axis=axes)
    if ord == 0:  # the number of non-zero entries: piecewise constant
        return _sum(convert(not_equal(x, 0), dtype_of(x)), axis=axes)
    if ord == 1:
        return _sum(_abs(x), axis=axes)
    p = float(ord)
    return _safe_root(_sum(_safe_abs_pow(x, p), axis=axes), p)


def _matrix_norm(x: Any, ord: Any, row: int, col: int) -> Any:  # noqa: A002
    if ord is None or ord == "fro" or ord == "f":
        return _safe_root(_sum(multiply(x, x), axis=(row, col)), 2)
    if ord in ("nuc", 2, -2):
        # Move the two axes to the end (row, col), then take singular values.
        rest = [i for i in range(x.ndim) if i not in (row, col)]
        s = svd_values(transpose(x, (*rest, row, col)))
        if ord == "nuc":
            return _sum(s, axis=-1)
        return _max(s, axis=-1) if ord == 2 else _min(s, axis=-1)
    if ord in (1, -1):
        sums = _sum(_abs(x), axis=row)
        c = col - 1 if col > row else col
        return _max(sums, axis=c) if ord == 1 else _min(sums, axis=c)
    if ord in (np.inf, -np.inf):
        sums = _sum(_abs(x), axis=col)
        r = row - 1 if row > col else row
        return _max(sums, axis=r) if ord == np.inf else _min(sums, axis=r)
    raise ValueError(f"norm: invalid norm order {ord!r} for matrices")


def norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:  # noqa: A002
    """``numpy.linalg.norm``. The derivative at ``x = 0`` is 0 (never NaN); ``ord=0`` (vector)
    counts non-zeros and has zero derivative; ties in ``±inf`` / ``±1`` / ``±2`` share it."""
    if not needs_bind(x):
        return np.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    x = _float(x)
    nd = x.ndim
    if dtype_of(x).kind == "c" and not (ord in (2, -2, "nuc") and (nd == 2 or (
            axis is not None and not isinstance(axis, (int, np.integer)) and len(axis) == 2))):
        x = _abs(x)  # entrywise norms of complex x are those of |x| (a real function of x)
    if axis is None:
        if ord is None:
            axes: tuple[int, ...] = tuple(range(nd))
            res = _vector_norm(x, None, axes)
            return reshape(res, (1,) * nd) if keepdims else res
        if nd not in (1, 2):
            raise ValueError("norm: improper number of dimensions to norm (ord given with "
                             f"axis=None needs a 1-D or 2-D array, got shape {x.shape})")
        axis = tuple(range(nd))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axes = tuple(int(a) % nd if -nd <= int(a) < nd else _bad_axis(a, nd) for a in axes)
    if len(axes) == 1:
        res = _vector_norm(x, ord, axes)
    elif len(axes) == 2:
        if axes[0] == axes[1]:
            raise ValueError("norm: duplicate axes given")
        res = _matrix_norm(x, ord, axes[0], axes[1])
    else:
        raise ValueError("norm: improper number of dimensions to norm")
    if keepdims:
        res = reshape(res, tuple(1 if i in axes else d for i, d in enumerate(x.shape)))
    return res


def _bad_axis(a: Any, nd: int) -> int:
    raise np.exceptions.AxisError(f"norm: axis {a} is out of bounds for an array of dimension "
                                  f"{nd}")


def vector_norm(x: Any, /, *, axis: Any = None, keepdims: bool = False, ord: Any = 2) -> Any:  # noqa: A002
    """``numpy.linalg.vector_norm``: ``axis=None`` flattens; derivative 0 at ``x = 0``."""
    if not needs_bind(x):
        return np.linalg.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
    if axis is None:
        flat = reshape(x, (-1,))
        res = norm(flat, ord=ord, axis=0)
        return reshape(res, (1,) * x.ndim) if keepdims else res
    if isinstance(axis, tuple) and len(axis) > 1:
        nd = x.ndim
        axes = tuple(a % nd for a in axis)
        rest = [i for i in range(nd) if i not in axes]
        moved = transpose(x, (*rest, *axes))
        shp = _shape_of(moved)
        res = norm(reshape(moved, shp[:len(rest)] + (-1,)), ord=ord, axis=-1)
        if keepdims:
            res = reshape(res, tuple(1 if i in axes else d for i, d in enumerate(x.shape)))
        return res
    return norm(x, ord=ord, axis=axis, keepdims=keepdims)


def matrix_norm(x: Any, /, *, keepdims: bool = False, ord: Any = "fro") -> Any:  # noqa: A002
    """``numpy.linalg.matrix_norm`` over the last two axes."""
    if not needs_bind(x):
        return np.linalg.matrix_norm(x, keepdims=keepdims, ord=ord)
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)



# --- NumPy 2's array-API functions over the last axes --------------------------------------


def matrix_transpose(x: Any, /) -> Any:
    """``numpy.linalg.matrix_transpose``: swap the last two axes."""
    check_matrix("matrix_transpose", x, square=False)
    return _swapaxes(x, -1, -2)


def trace(x: Any, /, *, offset: int = 0, dtype: Any = None) -> Any:
    """``numpy.linalg.trace``: the trace of each matrix in a stack (last two axes)."""
    return _trace(x, offset=offset, axis1=-2, axis2=-1, dtype=dtype)


def diagonal(x: Any, /, *, offset: int = 0) -> Any:
    """``numpy.linalg.diagonal``: the diagonals of a stack of matrices (last two axes)."""
    return _diagonal(x, offset=offset, axis1=-2, axis2=-1)


def outer(x1: Any, x2: Any, /) -> Any:
    """``numpy.linalg.outer``: the outer product of two vectors."""
    if len(_shape_of(x1)) != 1 or len(_shape_of(x2)) != 1:
        raise ValueError(f"outer: inputs must be 1-D vectors, got shapes {_shape_of(x1)} and "
                         f"{_shape_of(x2)}; use tnp.multiply.outer-style broadcasting "
                         "(x1[..., None] * x2) for stacks")
    return _outer(x1, x2)


def cross(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """``numpy.linalg.cross``: the cross product of 3-vectors along ``axis``."""
    if _shape_of(x1)[axis] != 3 or _shape_of(x2)[axis] != 3:
        raise ValueError(f"cross: both inputs must have size 3 along axis {axis}, got shapes "
                         f"{_shape_of(x1)} and {_shape_of(x2)}")
    return _cross(x1, x2, axis=axis)


def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
    """``numpy.linalg.vecdot``: ``Σ x1 x2`` along ``axis`` with broadcasting (real inputs)."""
    if not (needs_bind(x1) or needs_bind(x2)):
        return np.linalg.vecdot(x1, x2, axis=axis)
    check_real("vecdot", x1, x2)
    return _sum(multiply(x1, x2), axis=axis)


def cond(x: Any, p: Any = None) -> Any:
    """``numpy.linalg.cond``: ``s_max / s_min`` for ``p`` in ``None, 2, -2`` (their inverse
    for ``-2``), else ``‖x‖_p ‖x⁻¹‖_p``. Differentiable where the ratio is (distinct extreme
    singular values; an invertible ``x`` for the other orders)."""
    if not needs_bind(x):
        return np.linalg.cond(x, p)
    check_matrix("cond", x, square=p not in (None, 2, -2))
    if p in (None, 2, -2):
        s = svd_values(x)
        big, small = s[..., 0], s[..., -1]
        return divide(small, big) if p == -2 else divide(big, small)
    return multiply(norm(x, p, axis=(-2, -1)), norm(inv(x), p, axis=(-2, -1)))


def matrix_rank(A: Any, tol: Any = None, hermitian: bool = False, *, rtol: Any = None) -> Any:  # noqa: N803
    """``numpy.linalg.matrix_rank``: an integer, so it has no derivative; on a traced value it
    needs the concrete numbers (not available under ``trace``/``jit``/``vmap``)."""
    if needs_bind(A):
        A = A.concrete_value()
    return np.linalg.matrix_rank(A, tol=tol, hermitian=hermitian, rtol=rtol)


def __getattr__(name: str) -> Any:
    if hasattr(np.linalg, name):
        raise AttributeError(
            f"tensorcalc.numpy.linalg.{name} is not provided (yet), so it is not "
            f"differentiable through tensorcalc. Use numpy.linalg.{name} on values that are not "
            "being differentiated.")
    raise AttributeError(f"module 'tensorcalc.numpy.linalg' has no attribute {name!r}")
