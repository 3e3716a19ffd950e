"""Structured local Jacobians and what it costs to multiply them.

A local Jacobian ``J`` of shape ``(m, n)`` is the linear map from the tangent of an ``n``-vector
to the tangent of an ``m``-vector (tensors are flattened row-major, numerator layout: rows index
outputs, columns index inputs). The classes here carry only the *structure* of ``J`` (its kind,
shape and, where known, sparsity pattern), never its values: they are the cost model of the
planner (:mod:`.local` pairs each with the numbers that fill it).

Cost model: the number of scalar multiplications (fma); additions are free. With ``A`` of shape
``(m, n)`` and ``B`` of shape ``(n, p)``:

==================  ===========================================  =========================
kind                meaning                                       ``A @ B`` costs
==================  ===========================================  =========================
``Zero``            the zero map                                  0
``Identity``        ``I_n``                                       0
``Permutation``     ``(P x)[i] = x[perm[i]]``                     0 (a re-indexing)
``ScaledIdentity``  ``α I_n``                                     nnz(B); 1 for ``αI·βI``
``Diagonal``        ``diag(d)`` (elementwise ops)                 nnz(B)
``Dense``           no structure                                  ``m·n·p``
``Kronecker``       ``W ⊗ I_r`` or ``I_r ⊗ W``, ``W`` dense a×b   ``a·b·c·r`` for two
``Sparse``          any pattern with ``nnz`` entries              ``Σ_j nnz(A[:,j])·nnz(B[j,:])``
==================  ===========================================  =========================

The last formula counts every product ``A[i,j]·B[j,k]`` of two stored entries; it is exact
whenever both patterns are known. Without patterns it is replaced by its expectation under a
uniformly random pattern, ``nnz(A)·nnz(B)/n``. Applying ``J`` to ``k`` vectors (a block of
tangents or cotangents) costs ``nnz(J)·k`` except for the free kinds (zero, identity,
permutation).

:func:`compose` returns the structure of ``A @ B`` together with its cost (diag·diag = diag,
identity·X = X, dense·diag = dense at ``m·n`` multiplications, Kronecker·Kronecker =
Kronecker, ...); :func:`add_structure` gives the structure of a sum (fill-in during vertex
elimination), which costs no multiplications.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "LocalJacobian",
    "Zero",
    "Identity",
    "ScaledIdentity",
    "Diagonal",
    "Permutation",
    "Dense",
    "Kronecker",
    "Sparse",
    "compose",
    "add_structure",
    "PATTERN_LIMIT",
]

# Patterns are materialized as boolean arrays only up to this many entries; beyond it the
# sparse rules fall back to expected counts so planning big graphs stays cheap.
PATTERN_LIMIT = 1 << 22


class LocalJacobian:
    """Base class: the structure of an ``(rows, cols)`` local Jacobian."""

    rows: int
    cols: int
    kind = "abstract"

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @property
    def nnz(self) -> int:
        """Number of stored (structurally nonzero) entries."""
        raise NotImplementedError

    def apply_cost(self, k: int = 1) -> int:
        """Multiplications to apply ``J`` to ``k`` vectors (``J @ V`` or ``U @ J``)."""
        return self.nnz * k

    def pattern(self) -> np.ndarray | None:
        """Boolean sparsity pattern, or None when unknown or larger than PATTERN_LIMIT."""
        raise NotImplementedError

    def transpose(self) -> LocalJacobian:
        raise NotImplementedError

    @property
    def T(self) -> LocalJacobian:  # noqa: N802 - mirrors numpy
        return self.transpose()

    def densify(self) -> Dense:
        """The same shape with its structure forgotten (for 'what if dense' comparisons)."""
        return Dense(self.rows, self.cols)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """A random dense array with exactly this structure (for tests and demos)."""
        raise NotImplementedError

    def __str__(self) -> str:
        return f"{self.kind}({self.rows}x{self.cols})"


def _check_positive(*sizes: int) -> None:
    for s in sizes:
        if int(s) != s or s < 0:
            raise ValueError(f"sizes must be non-negative integers, got {sizes}")


def _small(rows: int, cols: int) -> bool:
    return rows * cols <= PATTERN_LIMIT


@dataclass(frozen=True)
class Zero(LocalJacobian):
    rows: int
    cols: int
    kind = "zero"

    def __post_init__(self) -> None:
        _check_positive(self.rows, self.cols)

    @property
    def nnz(self) -> int:
        return 0

    def pattern(self) -> np.ndarray | None:
        return np.zeros(self.shape, dtype=bool) if _small(*self.shape) else None

    def transpose(self) -> Zero:
        return Zero(self.cols, self.rows)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        return np.zeros(self.shape)


class _Square(LocalJacobian):
    """Shared code of the square kinds that are defined by one size ``n``."""

    n: int

    @property
    def rows(self) -> int:  # type: ignore[override]
        return self.n

    @property
    def cols(self) -> int:  # type: ignore[override]
        return self.n

    def __post_init__(self) -> None:
        _check_positive(self.n)

    def pattern(self) -> np.ndarray | None:
        return np.eye(self.n, dtype=bool) if _small(self.n, self.n) else None

    def transpose(self) -> LocalJacobian:
        return self

    def __str__(self) -> str:
        return f"{self.kind}({self.n})"


@dataclass(frozen=True)
class Identity(_Square):
    n: int
    kind = "identity"

    @property
    def nnz(self) -> int:
        return self.n

    def apply_cost(self, k: int = 1) -> int:
        return 0

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        return np.eye(self.n)


@dataclass(frozen=True)
class ScaledIdentity(_Square):
    n: int
    kind = "scaled_identity"

    @property
    def nnz(self) -> int:
        return self.n

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal() * np.eye(self.n)


@dataclass(frozen=True)
class Diagonal(_Square):
    n: int
    kind = "diagonal"

    @property
    def nnz(self) -> int:
        return self.n

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        return np.diag(rng.standard_normal(self.n))


@dataclass(frozen=True)
class Permutation(_Square):
    """``(P x)[i] = x[perm[i]]``; ``perm`` may be omitted when only the cost matters."""

    n: int
    perm: tuple[int, ...] | None = None
    kind = "permutation"

    def __post_init__(self) -> None:
        _check_positive(self.n)
        if self.perm is not None:
            perm = tuple(int(i) for i in self.perm)
            if sorted(perm) != list(range(self.n)):
                raise ValueError(f"perm must be a permutation of range({self.n}), got {perm}")
            object.__setattr__(self, "perm", perm)

    @property
    def nnz(self) -> int:
        return self.n

    def apply_cost(self, k: int = 1) -> int:
        return 0

    def pattern(self) -> np.ndarray | None:
        if self.perm is None or not _small(self.n, self.n):
            return None
        pat = np.zeros((self.n, self.n), dtype=bool)
        pat[np.arange(self.n), list(self.perm)] = True
        return pat

    def transpose(self) -> Permutation:
        if self.perm is None:
            return self
        return Permutation(self.n, tuple(int(i) for i in np.argsort(self.perm)))

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        perm = self.perm if self.perm is not None else tuple(rng.permutation(self.n))
        mat = np.zeros((self.n, self.n))
        mat[np.arange(self.n), list(perm)] = 1.0
        return mat


@dataclass(frozen=True)
class Dense(LocalJacobian):
    rows: int
    cols: int
    kind = "dense"

    def __post_init__(self) -> None:
        _check_positive(self.rows, self.cols)

    @property
    def nnz(self) -> int:
        return self.rows * self.cols

    def pattern(self) -> np.ndarray | None:
        return np.ones(self.shape, dtype=bool) if _small(*self.shape) else None

    def transpose(self) -> Dense:
        return Dense(self.cols, self.rows)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        return rng.standard_normal(self.shape)


@dataclass(frozen=True)
class Kronecker(LocalJacobian):
    """``W ⊗ I_r`` (``identity_first=False``) or ``I_r ⊗ W`` with ``W`` dense ``a × b``.

    ``I_B ⊗ W`` is the Jacobian of ``x @ W.T`` for a row-major ``(B, b)`` batch ``x``: the
    shape of a batched (vmapped) dense layer.
    """

    a: int
    b: int
    r: int
    identity_first: bool = False
    kind = "kronecker"

    def __post_init__(self) -> None:
        _check_positive(self.a, self.b, self.r)

    @property
    def rows(self) -> int:  # type: ignore[override]
        return self.a * self.r

    @property
    def cols(self) -> int:  # type: ignore[override]
        return self.b * self.r

    @property
    def nnz(self) -> int:
        return self.a * self.b * self.r

    def _kron(self, w: np.ndarray, eye: np.ndarray) -> np.ndarray:
        return np.kron(eye, w) if self.identity_first else np.kron(w, eye)

    def pattern(self) -> np.ndarray | None:
        if not _small(*self.shape):
            return None
        ones = np.ones((self.a, self.b), dtype=np.int8)
        return self._kron(ones, np.eye(self.r, dtype=np.int8)).astype(bool)

    def transpose(self) -> Kronecker:
        return Kronecker(self.b, self.a, self.r, self.identity_first)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        return self._kron(rng.standard_normal((self.a, self.b)), np.eye(self.r))

    def __str__(self) -> str:
        w = f"W{self.a}x{self.b}"
        return f"kronecker(I{self.r}⊗{w})" if self.identity_first else f"kronecker({w}⊗I{self.r})"


class Sparse(LocalJacobian):
    """A general sparse local Jacobian: ``nnz`` stored entries, pattern optional.

    Immutable; equality and hashing use the shape, ``nnz`` and the pattern bits.
    """

    kind = "sparse"
    __slots__ = ("rows", "cols", "_nnz", "_pattern", "_key")

    def __init__(self, rows: int, cols: int, nnz: int | None = None, pattern=None) -> None:
        _check_positive(rows, cols)
        if pattern is not None:
            pat = np.array(pattern, dtype=bool)
            if pat.shape != (rows, cols):
                raise ValueError(f"pattern shape {pat.shape} does not match ({rows}, {cols})")
            pat.setflags(write=False)
            count = int(pat.sum())
            if nnz is not None and nnz != count:
                raise ValueError(f"nnz={nnz} but the pattern has {count} entries")
            nnz = count
            key = np.packbits(pat).tobytes()
        else:
            if nnz is None:
                raise ValueError("Sparse needs nnz or a pattern")
            pat, key = None, None
        if not 0 <= nnz <= rows * cols:
            raise ValueError(f"nnz={nnz} does not fit a {rows}x{cols} matrix")
        object.__setattr__(self, "rows", int(rows))
        object.__setattr__(self, "cols", int(cols))
        object.__setattr__(self, "_nnz", int(nnz))
        object.__setattr__(self, "_pattern", pat)
        object.__setattr__(self, "_key", key)

    def __setattr__(self, name, value):
        raise AttributeError("Sparse is immutable")

    @classmethod
    def from_pattern(cls, pattern: np.ndarray) -> Sparse:
        pat = np.asarray(pattern, dtype=bool)
        return cls(pat.shape[0], pat.shape[1], pattern=pat)

    @property
    def nnz(self) -> int:
        return self._nnz

    def pattern(self) -> np.ndarray | None:
        return self._pattern

    def transpose(self) -> Sparse:
        if self._pattern is None:
            return Sparse(self.cols, self.rows, self._nnz)
        return Sparse(self.cols, self.rows, pattern=self._pattern.T)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        pat = self._pattern
        if pat is None:
            pat = np.zeros(self.rows * self.cols, dtype=bool)
            pat[rng.choice(pat.size, self._nnz, replace=False)] = True
            pat = pat.reshape(self.shape)
        # Values bounded away from zero so a sample never loses a structural entry.
        vals = rng.uniform(0.5, 1.5, self.shape) * rng.choice([-1.0, 1.0], self.shape)
        return np.where(pat, vals, 0.0)

    def _ident(self):
        return (self.rows, self.cols, self._nnz, self._key)

    def __eq__(self, other) -> bool:
        return isinstance(other, Sparse) and self._ident() == other._ident()

    def __hash__(self) -> int:
        return hash(("sparse",) + self._ident())

    def __repr__(self) -> str:
        known = "pattern" if self._pattern is not None else "no pattern"
        return f"Sparse({self.rows}, {self.cols}, nnz={self._nnz}, {known})"

    def __str__(self) -> str:
        return f"sparse({self.rows}x{self.cols}, nnz={self._nnz})"


# ---------------------------------------------------------------------------------------------
# Composition and addition rules
# ---------------------------------------------------------------------------------------------

_DIAGONAL_KINDS = (Identity, ScaledIdentity, Diagonal)


def _from_pattern(pat: np.ndarray) -> LocalJacobian:
    """The most specific structure for a known pattern (all set → Dense, none → Zero)."""
    rows, cols = pat.shape
    count = int(pat.sum())
    if count == 0:
        return Zero(rows, cols)
    if count == rows * cols:
        return Dense(rows, cols)
    return Sparse(rows, cols, pattern=pat)


def _like_pattern(x: LocalJacobian, pat: np.ndarray | None) -> LocalJacobian:
    """A sparse structure with ``x``'s shape and nnz, and ``pat`` when known."""
    if pat is not None:
        return _from_pattern(pat)
    if x.nnz == x.rows * x.cols:
        return Dense(x.rows, x.cols)
    return Sparse(x.rows, x.cols, x.nnz)


def _permute_rows(p: Permutation, x: LocalJacobian) -> LocalJacobian:
    """Structure of ``P @ X``: row ``i`` of the result is row ``perm[i]`` of ``X``."""
    if isinstance(x, Dense):
        return x
    if isinstance(x, Permutation):
        if p.perm is None or x.perm is None:
            return Permutation(p.n)
        return Permutation(p.n, tuple(x.perm[i] for i in p.perm))
    pat = x.pattern()
    if pat is not None and p.perm is not None:
        pat = pat[list(p.perm), :]
    else:
        pat = None
    return _like_pattern(x, pat)


def _permute_cols(x: LocalJacobian, p: Permutation) -> LocalJacobian:
    """Structure of ``X @ P``: column ``perm[k]`` of the result is column ``k`` of ``X``."""
    if isinstance(x, Dense):
        return x
    pat = x.pattern()
    if pat is not None and p.perm is not None:
        out = np.empty_like(pat)
        out[:, list(p.perm)] = pat
        pat = out
    else:
        pat = None
    return _like_pattern(x, pat)


def _scale(x: LocalJacobian) -> tuple[LocalJacobian, int]:
    """``α X``: every stored entry is multiplied once (a Kronecker factor only scales ``W``)."""
    if isinstance(x, ScaledIdentity | Identity):
        return ScaledIdentity(x.n), 1
    if isinstance(x, Kronecker):
        return x, x.a * x.b
    if isinstance(x, Permutation):
        # αP holds the value α at P's positions: nothing to multiply, but no longer a
        # permutation.
        return _like_pattern(x, x.pattern()), 0
    return x, x.nnz


def _generic_product(left: LocalJacobian, right: LocalJacobian) -> tuple[LocalJacobian, int]:
    """Sparse-times-sparse: exact with patterns, expected counts without."""
    m, n = left.shape
    p = right.cols
    pl = left.pattern()
    pr = right.pattern() if pl is not None else None
    if pl is not None and pr is not None and _small(m, p):
        cost = int(pl.sum(axis=0, dtype=np.int64) @ pr.sum(axis=1, dtype=np.int64))
        product = (pl.astype(np.int64) @ pr.astype(np.int64)) > 0
        return _from_pattern(product), cost
    if n == 0:
        return Zero(m, p), 0
    # Expected number of matching (A[i,j], B[j,k]) pairs for independent uniform patterns.
    cost = math.ceil(left.nnz * right.nnz / n)
    nnz = min(m * p, cost)
    if nnz == m * p:
        return Dense(m, p), cost
    return (Sparse(m, p, nnz) if nnz else Zero(m, p)), cost


def compose(left: LocalJacobian, right: LocalJacobian) -> tuple[LocalJacobian, int]:
    """Structure and multiplication count of ``left @ right``.

    ``left`` is ``(m, n)``, ``right`` is ``(n, p)``. In a chain ``J2 @ J1`` the later Jacobian
    is on the left.
    """
    # Searches (chain DP, exact elimination) ask for the same few pairs millions of times;
    # structures are immutable and hashable, so the answers are memoized.
    return _compose_cached(left, right)


@functools.lru_cache(maxsize=8192)
def _compose_cached(left: LocalJacobian, right: LocalJacobian) -> tuple[LocalJacobian, int]:
    m, n = left.shape
    n2, p = right.shape
    if n != n2:
        raise ValueError(
            f"cannot compose {left} @ {right}: inner sizes {n} and {n2} differ "
            "(left is the later Jacobian, shape (outputs, inputs))"
        )
    if isinstance(left, Zero) or isinstance(right, Zero):
        return Zero(m, p), 0
    if isinstance(left, Identity):
        return right, 0
    if isinstance(right, Identity):
        return left, 0
    if isinstance(left, Permutation):
        return _permute_rows(left, right), 0
    if isinstance(right, Permutation):
        return _permute_cols(left, right), 0
    if isinstance(left, ScaledIdentity):
        return _scale(right)
    if isinstance(right, ScaledIdentity):
        return _scale(left)
    if isinstance(left, Diagonal) and isinstance(right, Diagonal):
        return Diagonal(n), n
    if isinstance(left, Diagonal):
        # Row scaling keeps the right factor's pattern (not its Kronecker form: the blocks of
        # diag(d)(W ⊗ I) are different diagonals).
        return _like_pattern(right, right.pattern()), right.nnz
    if isinstance(right, Diagonal):
        return _like_pattern(left, left.pattern()), left.nnz
    if isinstance(left, Dense) and isinstance(right, Dense):
        return Dense(m, p), m * n * p
    if isinstance(left, Dense):
        # Each stored entry of the right factor meets a full column of the left one.
        return Dense(m, p), m * right.nnz
    if isinstance(right, Dense):
        return Dense(m, p), left.nnz * p
    if (
        isinstance(left, Kronecker)
        and isinstance(right, Kronecker)
        and left.r == right.r
        and left.identity_first == right.identity_first
    ):
        return (
            Kronecker(left.a, right.b, left.r, left.identity_first),
            left.a * left.b * right.b * left.r,
        )
    return _generic_product(left, right)


@functools.lru_cache(maxsize=8192)
def add_structure(x: LocalJacobian, y: LocalJacobian) -> LocalJacobian:
    """Structure of ``x + y`` (fill-in on an existing edge). Additions cost nothing here."""
    if x.shape != y.shape:
        raise ValueError(f"cannot add {x} and {y}: shapes differ")
    if isinstance(x, Zero):
        return y
    if isinstance(y, Zero):
        return x
    if isinstance(x, Dense) or isinstance(y, Dense):
        return Dense(*x.shape)
    if isinstance(x, Identity | ScaledIdentity) and isinstance(y, Identity | ScaledIdentity):
        return ScaledIdentity(x.rows)
    if isinstance(x, _DIAGONAL_KINDS) and isinstance(y, _DIAGONAL_KINDS):
        return Diagonal(x.rows)
    if isinstance(x, Kronecker) and x == y:
        return x
    px, py = x.pattern(), y.pattern()
    if px is not None and py is not None:
        return _from_pattern(px | py)
    nnz = min(x.rows * x.cols, x.nnz + y.nnz)
    return Dense(*x.shape) if nnz == x.rows * x.cols else Sparse(x.rows, x.cols, nnz)
