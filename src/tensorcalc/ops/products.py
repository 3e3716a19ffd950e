"""Matrix products: ``matmul`` (NumPy's 1-D, 2-D and batched rules) and ``dot``.

``matmul`` is bilinear. For ``Z = A B``: ``Ż = Ȧ B + A Ḃ``, and the transposes are
``Ā = Z̄ Bᵀ`` and ``B̄ = Aᵀ Z̄`` (seed 003: ``∂z/∂x = W`` for ``z = W x``, ``∂J/∂W = δ xᵀ`` for
``z = W x`` and ``xᵀ δ`` for ``z = x W``). A 1-D operand is a vector: NumPy treats it as a row
(left) or column (right) and drops that axis from the result, and the transposes put it back.
Batch axes broadcast; their transposes sum over the broadcast axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import ShapeError
from ..core.primitive import Primitive, Tracer, bind, get_aval
from ..core.shapes import ShapedArray, broadcast_shapes, shape_str
from ..interpreters.batch import common_size, defbatch, moveaxis, pad_after_batch
from ..interpreters.forward import defjvp
from ..interpreters.transpose import deftranspose, is_undefined
from .elementwise import multiply
from .structural import reshape, swapaxes, transpose, unbroadcast


def _matmul_abstract(a: ShapedArray, b: ShapedArray) -> ShapedArray:
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(
            f"matmul: operands must be at least 1-D, got shapes {shape_str(a.shape)} and "
            f"{shape_str(b.shape)}; use * to scale by a scalar")
    a2 = a.shape if a.ndim >= 2 else (1,) + a.shape
    b2 = b.shape if b.ndim >= 2 else b.shape + (1,)
    if a2[-1] != b2[-2]:
        raise ShapeError(
            f"matmul: shapes {shape_str(a.shape)} and {shape_str(b.shape)} are not aligned: "
            f"the last axis of the first operand ({a2[-1]}) must equal the "
            f"{'only' if b.ndim == 1 else 'second-to-last'} axis of the second ({b2[-2]}). "
            "For A @ x with A of shape (n, m), x needs shape (m,) or (m, k); transpose one "
            "operand (.T) if the layout is the other way round.")
    batch = broadcast_shapes(a2[:-2], b2[:-2], op="matmul (batch axes)")
    out = batch + ((a2[-2],) if a.ndim >= 2 else ()) + ((b2[-1],) if b.ndim >= 2 else ())
    return ShapedArray(out, np.result_type(a.dtype, b.dtype))


matmul_p = Primitive("matmul", np.matmul, _matmul_abstract, linear=True)


def matmul(a: Any, b: Any) -> Any:
    """``numpy.matmul`` (the ``@`` operator)."""
    if isinstance(a, Tracer) or isinstance(b, Tracer):
        return bind(matmul_p, a, b)
    return np.matmul(a, b)


def _expand(x: Any, axis: int) -> Any:
    shape = list(get_aval(x).shape)
    shape.insert(axis if axis >= 0 else len(shape) + axis + 1, 1)
    return reshape(x, tuple(shape))


def _squeeze(x: Any, axis: int) -> Any:
    shape = list(get_aval(x).shape)
    del shape[axis]
    return reshape(x, tuple(shape))


def matmul_ct_a(ct: Any, a_aval: ShapedArray, b: Any) -> Any:
    """``Ā = Z̄ Bᵀ`` with NumPy's 1-D conventions, summed over broadcast batch axes."""
    b_nd = get_aval(b).ndim
    if a_aval.ndim == 1 and b_nd == 1:
        out = multiply(ct, b)
    elif a_aval.ndim == 1:
        out = _squeeze(matmul(b, _expand(ct, -1)), -1)
    elif b_nd == 1:
        out = multiply(_expand(ct, -1), b)
    else:
        out = matmul(ct, swapaxes(b, -1, -2))
    return unbroadcast(out, a_aval)


def matmul_ct_b(ct: Any, a: Any, b_aval: ShapedArray) -> Any:
    """``B̄ = Aᵀ Z̄`` with NumPy's 1-D conventions, summed over broadcast batch axes."""
    a_nd = get_aval(a).ndim
    if a_nd == 1 and b_aval.ndim == 1:
        out = multiply(a, ct)
    elif b_aval.ndim == 1:
        out = _squeeze(matmul(_expand(ct, -2), a), -2)
    elif a_nd == 1:
        out = multiply(_expand(a, -1), _expand(ct, -2))
    else:
        out = matmul(swapaxes(a, -1, -2), ct)
    return unbroadcast(out, b_aval)


def _matmul_transpose(ct: Any, a: Any, b: Any) -> tuple[Any, Any]:
    if is_undefined(a):
        return matmul_ct_a(ct, a.aval, b), None
    return None, matmul_ct_b(ct, a, b.aval)


defjvp(matmul_p, lambda t, ans, a, b: matmul(t, b), lambda t, ans, a, b: matmul(a, t))
deftranspose(matmul_p, _matmul_transpose)


def _logical(x: Any, d: int | None) -> ShapedArray:
    av = get_aval(x)
    return av if d is None else ShapedArray(av.shape[:d] + av.shape[d + 1:], av.dtype)


def _matmul_batch(args: Any, dims: Any) -> tuple[Any, int]:
    """Batched matmul, arranged so that the common Jacobian sweeps are one large GEMM: a stack
    of vectors or matrices times a shared matrix folds the batch into the rows (or columns)."""
    (a, b), (da, db) = args, dims
    n = common_size(args, dims, "matmul")
    la, lb = _logical(a, da), _logical(b, db)
    out_logical = _matmul_abstract(la, lb).shape
    if db is None and lb.ndim <= 2:
        # (B, ..., k) @ (k[, m]): every leading axis of a is a row of one product.
        a0 = moveaxis(a, da, 0)
        rows = reshape(a0, (-1, la.shape[-1]))
        return reshape(matmul(rows, b), (n, *out_logical)), 0
    if da is None and la.ndim <= 2 and lb.ndim == 1:
        # A x_b for a stack of vectors: X A^T.
        at = transpose(a) if la.ndim == 2 else a
        return matmul(moveaxis(b, db, 0), at), 0
    if da is None and la.ndim <= 2 and lb.ndim == 2:
        # A B_b for a stack of matrices: put the batch between k and m, one (n,k)@(k,B*m).
        k, m = lb.shape
        cols = reshape(moveaxis(b, db, 1), (k, n * m))
        out = reshape(matmul(a, cols), (*la.shape[:-1], n, m))
        return out, la.ndim - 1
    # General case: vectors become matrices, batched operands get the batch axis first and
    # unit loop axes up to the common loop rank, unbatched ones broadcast from the right.
    a0 = a if da is None else moveaxis(a, da, 0)
    b0 = b if db is None else moveaxis(b, db, 0)
    if la.ndim == 1:
        a0 = _expand(a0, -2)
    if lb.ndim == 1:
        b0 = _expand(b0, -1)
    rank = max(la.ndim, lb.ndim, 2)
    if da is not None:
        a0 = pad_after_batch(a0, rank)
    if db is not None:
        b0 = pad_after_batch(b0, rank)
    return reshape(matmul(a0, b0), (n, *out_logical)), 0


defbatch(matmul_p, _matmul_batch)


def dot(a: Any, b: Any) -> Any:
    """``numpy.dot``: a product with a scalar, or ``matmul`` for 1-D and 2-D operands."""
    if not (isinstance(a, Tracer) or isinstance(b, Tracer)):
        return np.dot(a, b)
    a_nd, b_nd = get_aval(a).ndim, get_aval(b).ndim
    if a_nd == 0 or b_nd == 0:
        return multiply(a, b)
    if a_nd <= 2 and b_nd <= 2:
        return matmul(a, b)
    raise NotImplementedError(
        "tensorcalc.numpy.dot of arrays with more than 2 dimensions is not provided yet; use "
        "tnp.matmul (batched) or tnp.einsum")
