"""Products: the primitive ``matmul`` and NumPy's other products built on it or on ``einsum``.

``matmul`` follows NumPy's 1-D, 2-D and batched rules and is bilinear. For ``Z = A B``:
``Ż = Ȧ B + A Ḃ``, and the transposes are ``Ā = Z̄ Bᵀ`` and ``B̄ = Aᵀ Z̄`` (docs/lessons/networks.md:
``∂z/∂x = W`` for ``z = W x``, ``∂J/∂W = δ xᵀ`` for ``z = W x`` and ``xᵀ δ`` for ``z = x W``).
A 1-D operand is a vector: NumPy treats it as a row (left) or column (right) and drops that
axis from the result, and the transposes put it back. Batch axes broadcast; their transposes
sum over the broadcast axes.

The others are contractions (``einsum``) or broadcast products:

- ``tensordot(a, b, axes)``: ``y[i, k] = Σ_j a[i, j] b[j, k]`` over the paired axes ``j``.
- ``dot(a, b)`` for N-D operands: ``y[i…, k…, m] = Σ_j a[i…, j] b[k…, j, m]`` (the last axis
  of ``a`` against the second-to-last of ``b``; ``b``'s only axis when it is 1-D).
- ``inner(a, b)``: ``Σ_j a[i…, j] b[k…, j]``; ``vdot(a, b) = Σ conj(a)_i b_i`` over the
  flattened operands; ``outer(a, b)[i, j] = a_i b_j`` over the flattened operands.
- ``kron(a, b)[i·p + k, j·q + l] = a[i, j] b[k, l]`` (per axis, for any number of axes): a
  broadcast product of ``a`` and ``b`` on interleaved axes, then a reshape.
- ``cross(a, b)``: ``c = (a₁b₂ − a₂b₁, a₂b₀ − a₀b₂, a₀b₁ − a₁b₀)``; a 2-vector is a 3-vector
  with zero ``z`` component, and the cross product of two 2-vectors is the scalar ``z``.

All are bilinear, so their derivatives come from the ``einsum`` / ``mul`` rules: e.g. for
``tensordot`` ``ā = tensordot`` of ``ȳ`` with ``b`` over ``b``'s free axes, which ``einsum``'s
transpose produces directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.errors import ShapeError
from ..core.primitive import Primitive, bind, get_aval
from ..core.shapes import ShapedArray, broadcast_shapes, normalize_axes, shape_str
from ..interpreters.batch import common_size, defbatch, pad_after_batch
from ..interpreters.batch import moveaxis as _bmove
from ..interpreters.sparsity import DENSE, Pairs, SparsityQuery, defsparsity, positions
from ..interpreters.transpose import defbilinear
from ._base import needs_bind
from .einsum import LETTERS, contract
from .elementwise import multiply, subtract
from .shape import moveaxis, stack
from .structural import broadcast_to, getitem, reshape, swapaxes, transpose, unbroadcast


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


matmul_p = Primitive("matmul", np.matmul, _matmul_abstract)


def matmul(a: Any, b: Any) -> Any:
    """``numpy.matmul`` (the ``@`` operator)."""
    if needs_bind(a) or needs_bind(b):
        return bind(matmul_p, a, b)
    return np.matmul(a, b)


def _matmul_sparsity(q: SparsityQuery) -> Any:
    """``w = C u`` or ``w = u C`` with a constant ``C``: the pattern of ``C`` (kron'd with the
    identity over the other axis), pair by pair: ``w[…, i, j]`` reads ``u[…, l, j]`` where
    ``C[…, i, l] ≠ 0`` (``C u``) or ``u[…, i, l]`` where ``C[…, l, j] ≠ 0`` (``u C``)."""
    c = q.const(1 - q.k)
    if c is None:  # a traced constant (under jit): its zeros are unknown
        return DENSE
    u = q.operand
    nz = c != 0
    if q.k == 1:
        nz = nz if nz.ndim >= 2 else nz[None, :]
        u2 = tuple(u.shape) if u.ndim >= 2 else (*u.shape, 1)
    else:
        nz = nz if nz.ndim >= 2 else nz[:, None]
        u2 = tuple(u.shape) if u.ndim >= 2 else (1, *u.shape)
    batch = broadcast_shapes(nz.shape[:-2], u2[:-2], op="matmul sparsity")
    cols_of = np.broadcast_to(positions(u.shape).reshape(u2), batch + u2[-2:])
    m, r = (nz.shape[-2], u2[-1]) if q.k == 1 else (u2[-2], nz.shape[-1])
    rows_of = positions(q.out.shape).reshape(batch + (m, r))
    hit = np.nonzero(np.broadcast_to(nz, batch + nz.shape[-2:]))
    b = hit[:-2]
    if q.k == 1:  # (b, i, l): w[b, i, :] reads u[b, l, :]
        rows, cols = rows_of[(*b, hit[-2])], cols_of[(*b, hit[-1])]
    else:  # (b, l, j): w[b, :, j] reads u[b, :, l]
        rows, cols = rows_of[(*b, slice(None), hit[-1])], cols_of[(*b, slice(None), hit[-2])]
    return Pairs(np.ravel(rows), np.ravel(cols))


defsparsity(matmul_p, _matmul_sparsity)


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


defbilinear(matmul_p, matmul_ct_a, matmul_ct_b)


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
        a0 = _bmove(a, da, 0)
        rows = reshape(a0, (-1, la.shape[-1]))
        return reshape(matmul(rows, b), (n, *out_logical)), 0
    if da is None and la.ndim <= 2 and lb.ndim == 1:
        # A x_b for a stack of vectors: X A^T.
        at = transpose(a) if la.ndim == 2 else a
        return matmul(_bmove(b, db, 0), at), 0
    if da is None and la.ndim <= 2 and lb.ndim == 2:
        # A B_b for a stack of matrices: put the batch between k and m, one (n,k)@(k,B*m).
        k, m = lb.shape
        cols = reshape(_bmove(b, db, 1), (k, n * m))
        out = reshape(matmul(a, cols), (*la.shape[:-1], n, m))
        return out, la.ndim - 1
    # General case: vectors become matrices, batched operands get the batch axis first and
    # unit loop axes up to the common loop rank, unbatched ones broadcast from the right.
    a0 = a if da is None else _bmove(a, da, 0)
    b0 = b if db is None else _bmove(b, db, 0)
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



def _traced(*xs: Any) -> bool:
    return any(needs_bind(x) for x in xs)


def _shape(x: Any) -> tuple[Any, ...]:
    return tuple(get_aval(x).shape)


def _labels(n: int, start: int = 0) -> str:
    if start + n > len(LETTERS):
        raise ShapeError(f"product of arrays with {start + n} axes in all: at most 52 are "
                         "supported")
    return LETTERS[start:start + n]


def _tensordot_axes(axes: Any, na: int, nb: int) -> tuple[list[int], list[int]]:
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > na or n > nb:
            raise ShapeError(f"tensordot: axes={n} needs both operands to have at least {n} "
                             f"axes, got {na} and {nb}")
        return list(range(na - n, na)), list(range(n))
    try:
        ax_a, ax_b = axes
    except (TypeError, ValueError):
        raise ValueError(f"tensordot: axes must be an int or a pair of sequences, got "
                         f"{axes!r}") from None
    ax_a = [ax_a] if isinstance(ax_a, (int, np.integer)) else list(ax_a)
    ax_b = [ax_b] if isinstance(ax_b, (int, np.integer)) else list(ax_b)
    if len(ax_a) != len(ax_b):
        raise ShapeError(f"tensordot: axes {tuple(ax_a)} of the first operand and "
                         f"{tuple(ax_b)} of the second must have the same length")
    ra = [normalize_axes(int(a), na, "tensordot")[0] for a in ax_a]
    rb = [normalize_axes(int(b), nb, "tensordot")[0] for b in ax_b]
    if len(set(ra)) != len(ra) or len(set(rb)) != len(rb):
        raise ShapeError(f"tensordot: repeated axis in {axes!r}")
    return ra, rb


def tensordot(a: Any, b: Any, axes: Any = 2) -> Any:
    """``numpy.tensordot``: sum products over ``axes`` (an int ``n``: the last ``n`` axes of
    ``a`` with the first ``n`` of ``b``; or a pair of axis sequences)."""
    if not _traced(a, b):
        return np.tensordot(a, b, axes)
    sa, sb = _shape(a), _shape(b)
    ra, rb = _tensordot_axes(axes, len(sa), len(sb))
    for i, j in zip(ra, rb, strict=True):
        if sa[i] != sb[j]:
            raise ShapeError(
                f"tensordot: axis {i} of the first operand (shape {shape_str(sa)}) has size "
                f"{sa[i]} but the paired axis {j} of the second (shape {shape_str(sb)}) has "
                f"size {sb[j]}; paired axes must have equal sizes")
    la = _labels(len(sa))
    lb = list(_labels(len(sb), len(sa)))
    for i, j in zip(ra, rb, strict=True):
        lb[j] = la[i]
    lb_s = "".join(lb)
    out = "".join(c for i, c in enumerate(la) if i not in ra) + \
        "".join(c for j, c in enumerate(lb_s) if j not in rb)
    return contract([a, b], [la, lb_s], out)


def dot(a: Any, b: Any, out: Any = None) -> Any:
    """``numpy.dot``: a scalar product for 0-d operands, ``matmul`` for 1-D and 2-D ones, and
    for N-D the sum over the last axis of ``a`` and the second-to-last of ``b``."""
    if not _traced(a, b):
        return np.dot(a, b, out=out)
    if out is not None:
        raise TypeError("dot: out= is not supported for values being differentiated")
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 0 or len(sb) == 0 or (len(sa) <= 2 and len(sb) <= 2):
        return multiply(a, b) if len(sa) == 0 or len(sb) == 0 \
            else matmul(a, b)
    jb = len(sb) - 1 if len(sb) == 1 else len(sb) - 2
    if sa[-1] != sb[jb]:
        raise ShapeError(
            f"dot: shapes {shape_str(sa)} and {shape_str(sb)} are not aligned: the last axis of "
            f"the first operand ({sa[-1]}) must equal the "
            f"{'only' if len(sb) == 1 else 'second-to-last'} axis of the second ({sb[jb]})")
    return tensordot(a, b, ([len(sa) - 1], [jb]))


def inner(a: Any, b: Any) -> Any:
    """``numpy.inner``: the sum over the last axes of ``a`` and ``b``."""
    if not _traced(a, b):
        return np.inner(a, b)
    sa, sb = _shape(a), _shape(b)
    if len(sa) == 0 or len(sb) == 0:
        return multiply(a, b)
    if sa[-1] != sb[-1]:
        raise ShapeError(f"inner: the last axes of shapes {shape_str(sa)} and {shape_str(sb)} "
                         f"must have equal sizes ({sa[-1]} vs {sb[-1]})")
    return tensordot(a, b, ([len(sa) - 1], [len(sb) - 1]))


def vdot(a: Any, b: Any) -> Any:
    """``numpy.vdot``: ``Σ conj(a)ᵢ bᵢ`` over the flattened operands."""
    if not _traced(a, b):
        return np.vdot(a, b)
    if np.issubdtype(get_aval(a).dtype, np.complexfloating):
        from .complex_ops import conj  # complex_ops builds on the elementwise ops

        a = conj(a)
    fa, fb = reshape(a, (-1,)), reshape(b, (-1,))
    if _shape(fa) != _shape(fb):
        raise ShapeError(f"vdot: the operands must have the same number of elements, got "
                         f"shapes {shape_str(_shape(a))} and {shape_str(_shape(b))}")
    return contract([fa, fb], ["a", "a"], "")


def outer(a: Any, b: Any, out: Any = None) -> Any:
    """``numpy.outer``: ``y[i, j] = a_i b_j`` over the flattened operands."""
    if not _traced(a, b):
        return np.outer(a, b, out=out)
    if out is not None:
        raise TypeError("outer: out= is not supported for values being differentiated")
    return multiply(reshape(a, (-1, 1)), reshape(b, (1, -1)))


def kron(a: Any, b: Any) -> Any:
    """``numpy.kron``: the Kronecker product, block ``(i, j)`` being ``a[i, j] * b``."""
    if not _traced(a, b):
        return np.kron(a, b)
    sa, sb = _shape(a), _shape(b)
    nd = max(len(sa), len(sb))
    sa = (1,) * (nd - len(sa)) + sa
    sb = (1,) * (nd - len(sb)) + sb
    ai = reshape(a, tuple(x for d in sa for x in (d, 1)))
    bi = reshape(b, tuple(x for d in sb for x in (1, d)))
    return reshape(multiply(ai, bi), tuple(p * q for p, q in zip(sa, sb, strict=True)))


def _components(x: Any, axis: int, name: str) -> list[Any]:
    sh = _shape(x)
    if not sh:
        raise ValueError(f"cross: {name} must be at least 1-D")
    ax = normalize_axes(int(axis), len(sh), "cross")[0]
    n = sh[ax]
    if n not in (2, 3):
        raise ShapeError(f"cross: incompatible dimensions for cross product (dimension must be "
                         f"2 or 3): {name} has shape {shape_str(sh)} with size {n} on axis {ax}")
    x = moveaxis(x, ax, -1)
    return [getitem(x, (Ellipsis, i)) for i in range(n)]


def cross(a: Any, b: Any, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: Any = None) -> Any:
    """``numpy.cross`` of 3-vectors and 2-vectors (a 2-vector has zero ``z``; two 2-vectors
    give the scalar ``z`` component), broadcasting over the other axes."""
    if not _traced(a, b):
        return np.cross(a, b, axisa, axisb, axisc, axis)
    if axis is not None:
        axisa = axisb = axisc = axis
    ac, bc = _components(a, axisa, "a"), _components(b, axisb, "b")
    if len(ac) == 2 and len(bc) == 2:
        return subtract(multiply(ac[0], bc[1]), multiply(ac[1], bc[0]))
    z = multiply(ac[0], bc[1]) - multiply(ac[1], bc[0])
    if len(ac) == 2:
        x = multiply(ac[1], bc[2])
        y = -multiply(ac[0], bc[2])
    elif len(bc) == 2:
        x = -multiply(ac[2], bc[1])
        y = multiply(ac[2], bc[0])
    else:
        x = subtract(multiply(ac[1], bc[2]), multiply(ac[2], bc[1]))
        y = subtract(multiply(ac[2], bc[0]), multiply(ac[0], bc[2]))
    comps = _broadcast_all([x, y, z])
    res = stack(comps, axis=-1)
    nd = len(_shape(res))
    return moveaxis(res, -1, normalize_axes(int(axisc), nd, "cross")[0])


def _broadcast_all(xs: Sequence[Any]) -> list[Any]:
    shape = np.broadcast_shapes(*(_shape(x) for x in xs))
    return [x if _shape(x) == shape else broadcast_to(x, shape) for x in xs]
