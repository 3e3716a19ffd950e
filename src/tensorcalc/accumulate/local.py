"""Numeric structured local Jacobians and their products: the values beside structure.py.

A local Jacobian ``∂w/∂u`` of a linear-program equation is kept in the cheapest form that holds
it exactly (flattened row-major, numerator layout ``size(w) × size(u)``). A :class:`Local` is
one of the structures of :mod:`tensorcalc.accumulate.structure` together with the numbers that
fill it:

==================  ==========================  ==============================================
structure           ``data``                    from
==================  ==========================  ==============================================
``Identity``        None (``I_n``)              reshape, convert, ``add`` without broadcasting
``ScaledIdentity``  ``α`` (``α I_n``)           ``neg``, product with a scalar constant
``Diagonal``        ``d`` (``diag(d)``)         product/quotient with a constant array, ``where``
``Permutation``     ``perm`` (``x[perm]``)      ``transpose``
``Kronecker``       ``C`` (``C ⊗ I_r``, ...)    ``matmul`` by a constant matrix with a batch axis
``Dense``           the ``(m, n)`` array        ``matmul`` by a constant, small fallbacks
``Sparse``          a ``scipy.sparse`` CSR      ``reduce_sum``, ``broadcast_to``, indexing
==================  ==========================  ==============================================

:func:`matmul` multiplies two of them without forming identities or diagonals: ``diag·dense``
is a row scaling, ``(C ⊗ I_r)·B`` is one GEMM on a reshaped ``B``. The planner counts with
``Local.structure`` (:func:`~tensorcalc.accumulate.structure.compose`); the executor
(:func:`~tensorcalc.accumulate.eliminate.eliminate_values` with :func:`matmul` and :func:`add`)
multiplies the values. Like the rest of this package it knows nothing of programs: NumPy and
(optionally) SciPy only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .structure import (
    Dense,
    Diagonal,
    Identity,
    Kronecker,
    LocalJacobian,
    Permutation,
    ScaledIdentity,
    Sparse,
)

try:  # scipy is optional: without it, index-moving local Jacobians are dense
    import scipy.sparse as sp
except ImportError:  # pragma: no cover - exercised only without scipy
    sp = None

#: The kinds that are diagonal matrices (``I``, ``αI``, ``diag(d)``).
_DIAGONAL = (Identity, ScaledIdentity, Diagonal)

#: ``empty(shape, dtype)``: where a product or sum that makes a new dense array takes its
#: memory (a recycled buffer of :mod:`.recycle`); None lets NumPy allocate.
Empty = Callable[[tuple[int, ...], np.dtype], np.ndarray] | None

_NAMES = {Identity: "identity", ScaledIdentity: "scaled identity", Diagonal: "diagonal",
          Permutation: "permutation", Dense: "dense", Sparse: "sparse"}


@dataclass(frozen=True, eq=False)
class Local:
    """One structured local Jacobian: its ``structure`` and the ``data`` that fills it."""

    structure: LocalJacobian
    data: Any = None

    @property
    def rows(self) -> int:
        return self.structure.rows

    @property
    def cols(self) -> int:
        return self.structure.cols

    def describe(self) -> str:
        s = self.structure
        if isinstance(s, Kronecker):
            w = f"W[{s.a}x{s.b}]"
            return f"kronecker I{s.r}⊗{w}" if s.identity_first else f"kronecker {w}⊗I{s.r}"
        return _NAMES[type(s)]


def identity(n: int) -> Local:
    return Local(Identity(n))


def scaled(alpha: Any, n: int) -> Local:
    return Local(ScaledIdentity(n), alpha)


def diagonal(d: np.ndarray) -> Local:
    d = np.ravel(d)
    return Local(Diagonal(d.size), d)


def dense(m: np.ndarray) -> Local:
    return Local(Dense(m.shape[0], m.shape[1]), m)


def sparse(m: Any) -> Local:
    """A ``scipy.sparse`` matrix (CSR) with its stored-entry count."""
    return Local(Sparse(m.shape[0], m.shape[1], nnz=int(m.nnz)), m)


def kron(c: np.ndarray, r: int, identity_first: bool) -> Local:
    if r == 1:  # C ⊗ I_1 = C
        return dense(c)
    return Local(Kronecker(c.shape[0], c.shape[1], r, identity_first), c)


def permutation(perm: np.ndarray) -> Local:
    return Local(Permutation(perm.size), perm)


def selection(rows_idx: np.ndarray, cols_idx: np.ndarray, shape: tuple[int, int],
              values: np.ndarray | None = None) -> Local:
    """The 0/1 (or ``values``) matrix with entries at ``(rows_idx[k], cols_idx[k])``,
    duplicates summed."""
    vals = np.ones(rows_idx.size) if values is None else values
    if sp is not None:
        return sparse(sp.csr_matrix((vals, (rows_idx, cols_idx)), shape=shape))
    m = np.zeros(shape, np.result_type(vals, np.float64))
    np.add.at(m, (rows_idx, cols_idx), vals)
    return dense(m)


def _like(x: Local, data: Any) -> Local:
    """``data`` (a new array or CSR matrix) in the dense or sparse form of ``x``."""
    return sparse(data) if isinstance(x.structure, Sparse) else dense(data)


def to_array(a: Local) -> np.ndarray:
    """The dense ``(rows, cols)`` array (for small blocks and fallbacks)."""
    s = a.structure
    if isinstance(s, Identity):
        return np.eye(a.rows)
    if isinstance(s, ScaledIdentity):
        return a.data * np.eye(a.rows)
    if isinstance(s, Diagonal):
        return np.diag(a.data)
    if isinstance(s, Permutation):
        m = np.zeros((a.rows, a.cols))
        m[np.arange(a.rows), a.data] = 1.0
        return m
    if isinstance(s, Kronecker):
        eye = np.eye(s.r)
        return np.kron(eye, a.data) if s.identity_first else np.kron(a.data, eye)
    if isinstance(s, Sparse):
        return a.data.toarray()
    return a.data


def _scale(x: Local, alpha: Any, free: bool = False, empty: Empty = None) -> Local:
    if np.ndim(alpha) == 0 and alpha == 1:  # `t * 1.0` is common in gradient programs
        return x
    s = x.structure
    if isinstance(s, Identity):
        return scaled(alpha, x.rows)
    if isinstance(s, ScaledIdentity):
        return scaled(alpha * x.data, x.rows)
    if isinstance(s, Diagonal):
        return diagonal(alpha * x.data)
    if isinstance(s, Kronecker):
        return kron(alpha * x.data, s.r, s.identity_first)
    if isinstance(s, Permutation):
        return selection(np.arange(x.rows), x.data, (x.rows, x.cols), np.full(x.rows, alpha))
    if free and _fits(x.data, alpha):
        np.multiply(x.data, alpha, out=x.data)
        return x
    return _like(x, _product(x.data, alpha, empty))


def _fits(out: Any, other: Any) -> bool:
    """Whether ``out ⊙ other`` can be written into ``out``: a writable array of the result's
    dtype (an in-place float32 result must not round a float64 one) whose memory ``other``
    does not share."""
    return (type(out) is np.ndarray and out.flags.writeable
            and out.dtype == np.result_type(out, other)
            and not (isinstance(other, np.ndarray) and np.may_share_memory(out, other)))


def _product(x: Any, y: Any, empty: Empty) -> Any:
    """``x * y`` (``y`` broadcast to ``x``'s shape), written into memory from ``empty`` when
    ``x`` is an array. ``casting="safe"``: the buffer has NumPy's result dtype, so a mismatch
    is a bug that must raise, never a silent rounding to a narrower type."""
    if empty is None or type(x) is not np.ndarray:
        return x * y
    return np.multiply(x, y, out=empty(x.shape, np.result_type(x, y)), casting="safe")


def _kron_times_dense(a: Local, b: np.ndarray) -> np.ndarray:
    c, s = a.data, a.structure
    n = b.shape[1]
    if s.identity_first:  # (I_r ⊗ C) B: C applied to each of the r row blocks of B
        return np.matmul(c, b.reshape(s.r, c.shape[1], n)).reshape(a.rows, n)
    # (C ⊗ I_r) B: B's rows are (k, s) pairs; one GEMM over k
    return (c @ b.reshape(c.shape[1], s.r * n)).reshape(a.rows, n)


def _dense_times_kron(a: np.ndarray, b: Local) -> np.ndarray:
    c, s = b.data, b.structure
    p = a.shape[0]
    if s.identity_first:  # A (I_r ⊗ C): columns are (s, k) pairs
        return np.matmul(a.reshape(p, s.r, c.shape[0]), c).reshape(p, b.cols)
    # A (C ⊗ I_r): columns are (k, s) pairs
    t = a.reshape(p, c.shape[0], s.r).transpose(0, 2, 1) @ c  # (p, r, q)
    return t.transpose(0, 2, 1).reshape(p, b.cols)


def _same_kron(a: LocalJacobian, b: LocalJacobian) -> bool:
    return (isinstance(a, Kronecker) and isinstance(b, Kronecker) and a.r == b.r
            and a.identity_first == b.identity_first)


def matmul(a: Local, b: Local, free_a: bool = False, free_b: bool = False,
           empty: Empty = None) -> Local:
    """``a @ b`` keeping structure where it survives.

    ``free_a`` / ``free_b``: the caller holds the only reference to that operand and will not
    read it again, so a scaling may overwrite its data instead of allocating (the elimination
    of a chain ``D₂ W₂ D₁ W₁`` then scales one intermediate twice in place). ``empty``: where a
    new dense result (a scaling, a GEMM) takes its memory (:data:`Empty`)."""
    if a.cols != b.rows:
        raise ValueError(f"local Jacobian shapes {a.rows}x{a.cols} and {b.rows}x{b.cols}")
    sa, sb = a.structure, b.structure
    ka, kb = type(sa), type(sb)
    if ka is Identity:
        return b
    if kb is Identity:
        return a
    if ka is ScaledIdentity:
        return _scale(b, a.data, free_b, empty)
    if kb is ScaledIdentity:
        return _scale(a, b.data, free_a, empty)
    if ka is Diagonal and kb is Diagonal:
        return diagonal(a.data * b.data)
    if ka is Permutation:
        if kb is Permutation:
            return permutation(b.data[a.data])
        if kb in (Dense, Sparse):
            return _like(b, b.data[a.data])
    if kb is Permutation:
        inv = np.argsort(b.data)
        if ka in (Dense, Sparse):
            return _like(a, a.data[:, inv])
    if ka is Diagonal:
        if kb is Dense:
            col = a.data[:, None]
            if free_b and _fits(b.data, col):
                np.multiply(b.data, col, out=b.data)
                return b
            return dense(_product(b.data, col, empty))
        if kb is Sparse:
            return sparse(b.data.multiply(a.data[:, None]).tocsr())
    if kb is Diagonal:
        if ka is Dense:
            row = b.data[None, :]
            if free_a and _fits(a.data, row):
                np.multiply(a.data, row, out=a.data)
                return a
            return dense(_product(a.data, row, empty))
        if ka is Sparse:
            return sparse(a.data.multiply(b.data[None, :]).tocsr())
    if _same_kron(sa, sb):
        return kron(a.data @ b.data, sa.r, sa.identity_first)
    if ka is Kronecker and kb in (Dense, Diagonal, Sparse, Permutation):
        return dense(_kron_times_dense(a, to_array(b)))
    if kb is Kronecker and ka in (Dense, Diagonal, Sparse, Permutation):
        return dense(_dense_times_kron(to_array(a), b))
    if ka is Sparse and kb is Sparse:
        return sparse((a.data @ b.data).tocsr())
    if ka is Sparse:
        return dense(np.asarray(a.data @ to_array(b)))
    if kb is Sparse:
        return dense(np.asarray((b.data.T @ to_array(a).T).T))
    x, y = to_array(a), to_array(b)
    if empty is None or type(x) is not np.ndarray or type(y) is not np.ndarray:
        return dense(x @ y)
    return dense(np.matmul(x, y, out=empty((x.shape[0], y.shape[1]), np.result_type(x, y)),
                           casting="safe"))


def add(a: Local, b: Local, free_a: bool = False, free_b: bool = False,
        empty: Empty = None) -> Local:
    """``a + b`` (a sum of path contributions); ``free_a`` / ``free_b`` and ``empty`` as in
    :func:`matmul` (a dense sum then accumulates into that operand)."""
    sa, sb = a.structure, b.structure
    ka, kb = type(sa), type(sb)
    if ka in _DIAGONAL and kb in _DIAGONAL:
        if ka is Identity and kb is Identity:
            return scaled(2.0, a.rows)
        if ka is not Diagonal and kb is not Diagonal:
            return scaled((1.0 if ka is Identity else a.data) +
                          (1.0 if kb is Identity else b.data), a.rows)
        return diagonal(_diag_of(a) + _diag_of(b))
    if _same_kron(sa, sb):
        return kron(a.data + b.data, sa.r, sa.identity_first)
    if ka is Sparse and kb is Sparse:
        return sparse((a.data + b.data).tocsr())
    if ka in _DIAGONAL and kb is Dense:
        return dense(_add_diag(b.data, _diag_of(a)))
    if kb in _DIAGONAL and ka is Dense:
        return dense(_add_diag(a.data, _diag_of(b)))
    if (free_a or free_b) and ka is Dense and kb is Dense \
            and a.data.flags.c_contiguous == b.data.flags.c_contiguous:
        if free_a and _fits(a.data, b.data):
            np.add(a.data, b.data, out=a.data)
            return a
        if free_b and _fits(b.data, a.data):
            np.add(b.data, a.data, out=b.data)
            return b
    return dense(_dense_sum(to_array(a), to_array(b), empty))


def _dense_sum(x: np.ndarray, y: np.ndarray, empty: Empty = None, tile: int = 256
               ) -> np.ndarray:
    """``x + y``; when one operand is a transposed view (``A + Aᵀ`` of a quadratic form's
    Hessian) the sum goes tile by tile so both operands are read cache-friendly. ``empty``
    as in :func:`matmul`."""
    if type(x) is not np.ndarray or type(y) is not np.ndarray or x.shape != y.shape:
        return x + y  # broadcasting, or another array type: NumPy's own rules
    if x.ndim != 2 or x.size < 1 << 20 or x.flags.c_contiguous == y.flags.c_contiguous:
        if empty is None:
            return x + y
        return np.add(x, y, out=empty(x.shape, np.result_type(x, y)), casting="safe")
    if not x.flags.c_contiguous:
        x, y = y, x
    out = (empty or np.empty)(x.shape, np.result_type(x, y))
    m, n = x.shape
    for i in range(0, m, tile):
        for j in range(0, n, tile):
            np.add(x[i:i + tile, j:j + tile], y[i:i + tile, j:j + tile],
                   out=out[i:i + tile, j:j + tile])
    return out


def _diag_of(x: Local) -> Any:
    if isinstance(x.structure, Identity):
        return np.ones(x.rows)
    if isinstance(x.structure, ScaledIdentity):
        return np.full(x.rows, x.data)
    return x.data


def _add_diag(m: np.ndarray, d: np.ndarray) -> np.ndarray:
    out = np.array(m, dtype=np.result_type(m, d), copy=True)
    out[np.diag_indices(min(out.shape))] += d
    return out
