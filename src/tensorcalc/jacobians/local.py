"""Numeric structured local Jacobians and their products.

A local Jacobian ``∂w/∂u`` of a linear-program equation is kept in the cheapest form that holds
it exactly (flattened row-major, numerator layout ``size(w) × size(u)``):

======  ==========================  ==============================================
kind    value                       from
======  ==========================  ==============================================
``I``   ``I_n``                     reshape, convert, ``add`` without broadcasting
``S``   ``α I_n``                   ``neg``, product with a scalar constant
``D``   ``diag(d)``                 product/quotient with a constant array, ``where``
``P``   ``P x = x[perm]``           ``transpose``
``K``   ``C ⊗ I_r`` / ``I_r ⊗ C``   ``matmul`` by a constant matrix with a batch axis
``M``   dense ``(m, n)`` array      ``matmul`` by a constant, small fallbacks
``SP``  ``scipy.sparse`` CSR         ``reduce_sum``, ``broadcast_to``, indexing
======  ==========================  ==============================================

:func:`matmul` multiplies two of them without forming identities or diagonals: ``diag·dense``
is a row scaling, ``(C ⊗ I_r)·B`` is one GEMM on a reshaped ``B``. :meth:`Local.structure`
gives the cost-model view (:mod:`tensorcalc.accumulate.structure`) the planner uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..accumulate import structure as st

try:  # scipy is optional: without it, index-moving local Jacobians are dense
    import scipy.sparse as sp
except ImportError:  # pragma: no cover - exercised only without scipy
    sp = None


@dataclass
class Local:
    """One structured local Jacobian of shape ``(rows, cols)``."""

    kind: str
    rows: int
    cols: int
    data: Any = None  # α (S), d (D), perm (P), (C, r, identity_first) (K), array (M, SP)

    def structure(self) -> st.LocalJacobian:
        if self.kind == "I":
            return st.Identity(self.rows)
        if self.kind == "S":
            return st.ScaledIdentity(self.rows)
        if self.kind == "D":
            return st.Diagonal(self.rows)
        if self.kind == "P":
            return st.Permutation(self.rows)
        if self.kind == "K":
            c, r, first = self.data
            return st.Kronecker(c.shape[0], c.shape[1], r, first)
        if self.kind == "SP":
            return st.Sparse(self.rows, self.cols, nnz=int(self.data.nnz))
        return st.Dense(self.rows, self.cols)

    def describe(self) -> str:
        names = {"I": "identity", "S": "scaled identity", "D": "diagonal", "P": "permutation",
                 "M": "dense", "SP": "sparse"}
        if self.kind == "K":
            c, r, first = self.data
            w = f"W[{c.shape[0]}x{c.shape[1]}]"
            return f"kronecker I{r}⊗{w}" if first else f"kronecker {w}⊗I{r}"
        return names[self.kind]


def identity(n: int) -> Local:
    return Local("I", n, n)


def scaled(alpha: Any, n: int) -> Local:
    return Local("S", n, n, alpha)


def diagonal(d: np.ndarray) -> Local:
    d = np.ravel(d)
    return Local("D", d.size, d.size, d)


def dense(m: np.ndarray) -> Local:
    return Local("M", m.shape[0], m.shape[1], m)


def kron(c: np.ndarray, r: int, identity_first: bool) -> Local:
    if r == 1:  # C ⊗ I_1 = C
        return dense(c)
    return Local("K", c.shape[0] * r, c.shape[1] * r, (c, r, identity_first))


def permutation(perm: np.ndarray) -> Local:
    return Local("P", perm.size, perm.size, perm)


def selection(rows_idx: np.ndarray, cols_idx: np.ndarray, shape: tuple[int, int],
              values: np.ndarray | None = None) -> Local:
    """The 0/1 (or ``values``) matrix with entries at ``(rows_idx[k], cols_idx[k])``,
    duplicates summed."""
    vals = np.ones(rows_idx.size) if values is None else values
    if sp is not None:
        return Local("SP", shape[0], shape[1],
                     sp.csr_matrix((vals, (rows_idx, cols_idx)), shape=shape))
    m = np.zeros(shape, np.result_type(vals, np.float64))
    np.add.at(m, (rows_idx, cols_idx), vals)
    return dense(m)


def to_array(a: Local) -> np.ndarray:
    """The dense ``(rows, cols)`` array (for small blocks and fallbacks)."""
    k = a.kind
    if k == "I":
        return np.eye(a.rows)
    if k == "S":
        return a.data * np.eye(a.rows)
    if k == "D":
        return np.diag(a.data)
    if k == "P":
        m = np.zeros((a.rows, a.cols))
        m[np.arange(a.rows), a.data] = 1.0
        return m
    if k == "K":
        c, r, first = a.data
        return np.kron(np.eye(r), c) if first else np.kron(c, np.eye(r))
    if k == "SP":
        return a.data.toarray()
    return a.data


def _scale(x: Local, alpha: Any) -> Local:
    if np.ndim(alpha) == 0 and alpha == 1:  # `t * 1.0` is common in gradient programs
        return x
    k = x.kind
    if k == "I":
        return scaled(alpha, x.rows)
    if k == "S":
        return scaled(alpha * x.data, x.rows)
    if k == "D":
        return diagonal(alpha * x.data)
    if k == "K":
        c, r, first = x.data
        return kron(alpha * c, r, first)
    if k == "P":
        return selection(np.arange(x.rows), x.data, (x.rows, x.cols), np.full(x.rows, alpha))
    return Local(k, x.rows, x.cols, x.data * alpha)


def _kron_times_dense(a: Local, b: np.ndarray) -> np.ndarray:
    c, r, first = a.data
    n = b.shape[1]
    if first:  # (I_r ⊗ C) B: C applied to each of the r row blocks of B
        return np.matmul(c, b.reshape(r, c.shape[1], n)).reshape(a.rows, n)
    # (C ⊗ I_r) B: B's rows are (k, s) pairs; one GEMM over k
    return (c @ b.reshape(c.shape[1], r * n)).reshape(a.rows, n)


def _dense_times_kron(a: np.ndarray, b: Local) -> np.ndarray:
    c, r, first = b.data
    p = a.shape[0]
    if first:  # A (I_r ⊗ C): columns are (s, k) pairs
        return np.matmul(a.reshape(p, r, c.shape[0]), c).reshape(p, b.cols)
    # A (C ⊗ I_r): columns are (k, s) pairs
    t = a.reshape(p, c.shape[0], r).transpose(0, 2, 1) @ c  # (p, r, q)
    return t.transpose(0, 2, 1).reshape(p, b.cols)


def matmul(a: Local, b: Local) -> Local:
    """``a @ b`` keeping structure where it survives."""
    if a.cols != b.rows:
        raise ValueError(f"local Jacobian shapes {a.rows}x{a.cols} and {b.rows}x{b.cols}")
    ka, kb = a.kind, b.kind
    if ka == "I":
        return b
    if kb == "I":
        return a
    if ka == "S":
        return _scale(b, a.data)
    if kb == "S":
        return _scale(a, b.data)
    if ka == "D" and kb == "D":
        return diagonal(a.data * b.data)
    if ka == "P":
        if kb == "P":
            return permutation(b.data[a.data])
        if kb in ("M", "SP"):
            return Local(kb, a.rows, b.cols, b.data[a.data])
    if kb == "P":
        inv = np.argsort(b.data)
        if ka in ("M", "SP"):
            return Local(ka, a.rows, b.cols, a.data[:, inv])
    if ka == "D":
        if kb == "M":
            return dense(a.data[:, None] * b.data)
        if kb == "SP":
            return Local("SP", a.rows, b.cols, b.data.multiply(a.data[:, None]).tocsr())
    if kb == "D":
        if ka == "M":
            return dense(a.data * b.data[None, :])
        if ka == "SP":
            return Local("SP", a.rows, b.cols, a.data.multiply(b.data[None, :]).tocsr())
    if ka == "K" and kb == "K" and a.data[1:] == b.data[1:]:
        return kron(a.data[0] @ b.data[0], a.data[1], a.data[2])
    if ka == "K" and kb in ("M", "D", "SP", "P"):
        return dense(_kron_times_dense(a, to_array(b)))
    if kb == "K" and ka in ("M", "D", "SP", "P"):
        return dense(_dense_times_kron(to_array(a), b))
    if ka == "SP" and kb == "SP":
        return Local("SP", a.rows, b.cols, (a.data @ b.data).tocsr())
    if ka == "SP":
        return dense(np.asarray(a.data @ to_array(b)))
    if kb == "SP":
        return dense(np.asarray((b.data.T @ to_array(a).T).T))
    return dense(to_array(a) @ to_array(b))


def add(a: Local, b: Local) -> Local:
    """``a + b`` (a sum of path contributions)."""
    ka, kb = a.kind, b.kind
    if {ka, kb} <= {"I", "S", "D"}:
        if ka == kb == "I":
            return scaled(2.0, a.rows)
        if ka != "D" and kb != "D":
            return scaled((1.0 if ka == "I" else a.data) + (1.0 if kb == "I" else b.data),
                          a.rows)
        return diagonal(_diag_of(a) + _diag_of(b))
    if ka == kb == "K" and a.data[1:] == b.data[1:]:
        return kron(a.data[0] + b.data[0], a.data[1], a.data[2])
    if ka == kb == "SP":
        return Local("SP", a.rows, a.cols, (a.data + b.data).tocsr())
    if ka in ("I", "S", "D") and kb == "M":
        return dense(_add_diag(b.data, _diag_of(a)))
    if kb in ("I", "S", "D") and ka == "M":
        return dense(_add_diag(a.data, _diag_of(b)))
    return dense(_dense_sum(to_array(a), to_array(b)))


def _dense_sum(x: np.ndarray, y: np.ndarray, tile: int = 256) -> np.ndarray:
    """``x + y``; when one operand is a transposed view (``A + Aᵀ`` of a quadratic form's
    Hessian) the sum goes tile by tile so both operands are read cache-friendly."""
    if x.ndim != 2 or x.size < 1 << 20 or x.flags.c_contiguous == y.flags.c_contiguous:
        return x + y
    if not x.flags.c_contiguous:
        x, y = y, x
    out = np.empty(x.shape, np.result_type(x, y))
    m, n = x.shape
    for i in range(0, m, tile):
        for j in range(0, n, tile):
            np.add(x[i:i + tile, j:j + tile], y[i:i + tile, j:j + tile],
                   out=out[i:i + tile, j:j + tile])
    return out


def _diag_of(x: Local) -> Any:
    if x.kind == "I":
        return np.ones(x.rows)
    if x.kind == "S":
        return np.full(x.rows, x.data)
    return x.data


def _add_diag(m: np.ndarray, d: np.ndarray) -> np.ndarray:
    out = np.array(m, dtype=np.result_type(m, d), copy=True)
    out[np.diag_indices(min(out.shape))] += d
    return out
