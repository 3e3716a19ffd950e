"""Helpers shared by the linear-algebra primitives: NumPy calls that name the operator in their
errors, shape and dtype checks, and small differentiable building blocks (the matrix transpose
``mT``, columns and rows of stacks of vectors, the diagonal, triangle masks, the symmetric matrix
read from one triangle, and the eigenvalue-gap matrix ``1 / (wⱼ − wᵢ)`` of ``eigh`` and ``svd``).

Every helper works on stacks of matrices: leading axes are loop axes, as in NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.backend import numpy_dtype
from ...core.errors import ShapeError
from ...core.primitive import get_aval
from ...core.shapes import ShapedArray, broadcast_shapes, shape_str
from .._base import needs_bind
from ..complex_ops import conj, real
from ..elementwise import add, divide, multiply, subtract, where
from ..products import matmul
from ..structural import getitem, index_add, reshape, swapaxes

LinAlgError = np.linalg.LinAlgError


class LinAlgShapeError(ShapeError, LinAlgError):
    """A matrix of the wrong shape for a linear-algebra operator (NumPy raises ``LinAlgError``
    here, so this is one; it is also a :class:`~tensorcalc.core.errors.ShapeError`)."""



_HINTS = {
    "singular": "the matrix has no inverse; for singular or rank-deficient problems use "
                "tnp.linalg.pinv or tnp.linalg.lstsq",
    "positive definite": "cholesky needs a symmetric positive-definite matrix (it reads the "
                         "lower triangle, or the upper one with upper=True); add a multiple of "
                         "the identity, or use eigh for semidefinite matrices",
}


def call_numpy(op: str, fn: Any, a: Any, *args: Any, **kw: Any) -> Any:
    """Call a ``numpy.linalg`` function; re-raise its ``LinAlgError`` naming ``op`` and the
    shape, with a hint on what to do."""
    try:
        return fn(a, *args, **kw)
    except LinAlgError as e:
        msg = str(e)
        hint = next((h for k, h in _HINTS.items() if k in msg.lower()), "")
        raise LinAlgError(f"{op}: {msg} (input of shape {shape_str(np.shape(a))})"
                          + (f"; {hint}" if hint else "")) from None


def shape_of(x: Any) -> tuple[Any, ...]:
    return tuple(get_aval(x).shape)


def dtype_of(x: Any) -> np.dtype:
    return get_aval(x).dtype


def check_matrix(op: str, x: Any, square: bool = True) -> tuple[Any, ...]:
    """The shape of ``x`` (an array, tracer or abstract value) after checking it is a (stack
    of) matrices, square unless ``square=False``."""
    shape = tuple(x.shape) if isinstance(x, ShapedArray) else shape_of(x)
    if len(shape) < 2:
        raise LinAlgShapeError(
            f"{op}: expected a matrix or a stack of matrices (shape (..., m, n)), got a "
            f"{len(shape)}-d array of shape {shape_str(shape)}")
    if square and shape[-1] != shape[-2]:
        raise LinAlgShapeError(
            f"{op}: expected a square matrix or a stack of square matrices (shape (..., n, n)), "
            f"got shape {shape_str(shape)}; for a non-square matrix use tnp.linalg.pinv, "
            "lstsq or svd")
    return shape


def float_dtype(op: str, dt: np.dtype) -> np.dtype:
    """NumPy's linalg result dtype: integers compute in float64, float32 stays float32."""
    dt = numpy_dtype(dt)  # a concrete torch/CuPy operand carries its library's dtype
    if dt.kind in "biu":
        return np.dtype(np.float64)
    if dt == np.float16:
        raise TypeError(f"{op}: array type float16 is unsupported in linalg (as in NumPy); "
                        "convert to float32 or float64")
    return dt


def check_real(op: str, *xs: Any) -> None:
    """Complex derivatives need conjugate transposes in every rule; until they are written, a
    complex value being differentiated is an error rather than a wrong derivative."""
    for x in xs:
        if needs_bind(x) and dtype_of(x).kind == "c":
            raise NotImplementedError(
                f"{op}: derivatives of complex matrices are not supported yet (got "
                f"{get_aval(x).str_short()}); differentiate real and imaginary parts as real "
                "matrices, or apply numpy.linalg outside the differentiated function")


def mT(x: Any) -> Any:  # noqa: N802  (NumPy 2's name for the matrix transpose)
    """Swap the last two axes."""
    return swapaxes(x, -1, -2)


def mH(x: Any) -> Any:  # noqa: N802  (the conjugate transpose)
    """``xᴴ``: swap the last two axes and conjugate (``xᵀ`` for real ``x``). Rules use it where
    the math has a unitary factor or a Hermitian matrix; transposes of linear maps stay ``mT``
    (reverse mode pairs with ``Re Σ a b``, ops/complex_ops.py)."""
    return conj(mT(x)) if dtype_of(x).kind == "c" else mT(x)


def real_dtype(dt: np.dtype) -> np.dtype:
    """The real dtype of a complex one (eigenvalues of a Hermitian matrix, singular values)."""
    return np.dtype(np.finfo(dt).dtype) if dt.kind == "c" else dt


def real_part(x: Any) -> Any:
    """``Re x`` (``x`` itself when real)."""
    return real(x) if dtype_of(x).kind == "c" else x


def col(x: Any) -> Any:
    """``x[..., None]``: a stack of vectors as a stack of one-column matrices."""
    return reshape(x, shape_of(x) + (1,))


def uncol(x: Any) -> Any:
    """``x[..., 0]`` for a stack of one-column matrices."""
    return reshape(x, shape_of(x)[:-1])


def row(x: Any) -> Any:
    """``x[..., None, :]``: broadcast a vector along rows (``s_j`` in entry ``(i, j)``)."""
    shape = shape_of(x)
    return reshape(x, shape[:-1] + (1, shape[-1]))


def diag_part(x: Any) -> Any:
    """The diagonal of each matrix in a stack: ``x[..., i, i]``."""
    idx = np.arange(min(shape_of(x)[-2:]))
    return getitem(x, (Ellipsis, idx, idx))


def mask(n: int, dtype: np.dtype, kind: str) -> np.ndarray:
    """Constant 0/1 masks: ``tril``/``triu`` (with diagonal), ``stril``/``striu`` (without),
    ``phi`` (strict lower triangle plus half the diagonal), ``eye``."""
    ones = np.ones((n, n), dtype)
    return {"tril": np.tril(ones), "triu": np.triu(ones), "stril": np.tril(ones, -1),
            "striu": np.triu(ones, 1), "phi": np.tril(ones, -1) + 0.5 * np.eye(n, dtype=dtype),
            "eye": np.eye(n, dtype=dtype)}[kind]


def sym_from_triangle(x: Any, lower: bool) -> Any:
    """The symmetric matrix NumPy sees when it reads only one triangle of ``x``:
    ``tril(x) + tril(x, −1)ᵀ`` (or the ``triu`` version). Linear in ``x``."""
    n, dt = shape_of(x)[-1], dtype_of(x)
    strict = mask(n, dt, "stril" if lower else "striu")
    if dt.kind == "c":
        # Hermitian: LAPACK reads the real part of the diagonal and conjugates the triangle.
        off = multiply(x, strict)
        return add(add(off, mH(off)), multiply(real(x), mask(n, real_dtype(dt), "eye")))
    keep = mask(n, dt, "tril" if lower else "triu")
    return add(multiply(x, keep), mT(multiply(x, strict)))


def symmetrized(x: Any) -> Any:
    """``(x + xᴴ) / 2`` (``xᵀ`` for real ``x``): what ``cholesky``/``eigh``/``eigvalsh``
    factor by default. Exact for a symmetric ``x`` (``(v + v) / 2 == v`` in floating point),
    so the value is NumPy's there, and the derivative is then symmetric, as in JAX and
    PyTorch (docs/conventions.md)."""
    if not needs_bind(x):
        x = np.asarray(x)
        return (x + np.swapaxes(x, -1, -2).conj()) / 2
    return multiply(add(x, mH(x)), 0.5)


def place(x: Any, shape: tuple[Any, ...], idx: tuple[Any, ...]) -> Any:
    """Zeros of ``shape`` with ``x`` written at ``idx`` (linear in ``x``; transpose slices)."""
    return index_add(np.zeros(shape, dtype_of(x)), idx, x)


def concat_last(x: Any, y: Any) -> Any:
    """``concatenate([x, y], axis=-1)`` built from linear placements."""
    sx, sy = shape_of(x), shape_of(y)
    shape = broadcast_shapes(sx[:-1], sy[:-1]) + (sx[-1] + sy[-1],)
    return add(place(x, shape, (Ellipsis, slice(0, sx[-1]))),
               place(y, shape, (Ellipsis, slice(sx[-1], None))))


def concat_rows(x: Any, y_rows: int) -> Any:
    """``x`` with ``y_rows`` zero rows appended (``[x; 0]``)."""
    sx = shape_of(x)
    return place(x, sx[:-2] + (sx[-2] + y_rows, sx[-1]), (Ellipsis, slice(0, sx[-2]), slice(None)))


def gap_inverse(w: Any) -> Any:
    """``F[i, j] = 1 / (w_j − w_i)`` off the diagonal and 0 on it (eigh and svd rules).

    The inner ``where`` keeps the diagonal's ``1/0`` out of the computation, so no NaN reaches
    a derivative through the branch not taken. Equal values off the diagonal (a repeated
    eigenvalue or singular value) give ``inf``: the vectors are not differentiable there."""
    n = shape_of(w)[-1]
    diff = subtract(row(w), col(w))
    eye = np.eye(n, dtype=bool)
    with np.errstate(divide="ignore"):
        return where(eye, 0.0, divide(1.0, where(eye, 1.0, diff)))


def matvec(m: Any, x: Any, vector: bool) -> Any:
    """``m @ x`` where ``x`` is a stack of vectors (``vector``) or of matrices."""
    return uncol(matmul(m, col(x))) if vector else matmul(m, x)
