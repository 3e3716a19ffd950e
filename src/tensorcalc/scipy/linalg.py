"""``tensorcalc.scipy.linalg``: SciPy's linear algebra, differentiable.

Primitives (:mod:`tensorcalc.ops.linalg.matrix_functions`): ``expm`` with its Fréchet
derivative (``expm_frechet`` returns ``(expm(A), L(A, E))`` as SciPy's does), ``sqrtm``,
``lu_factor``/``lu_solve``. Composites here:

- ``solve_triangular(a, b, trans, lower, unit_diagonal)``: the solve with the triangle of ``a``
  SciPy reads (the other triangle gets a zero derivative; ``unit_diagonal`` takes the diagonal
  as ones). It is computed by a general solve, so it costs O(n³) rather than O(n²).
- ``cho_factor(a, lower)`` returns ``(c, lower)`` with the Cholesky factor in its triangle and
  zeros in the other (SciPy leaves arbitrary values there); ``cho_solve((c, lower), b)`` solves
  ``A x = b`` with ``A = L Lᴴ`` (``lower``) or ``Uᴴ U``.
- ``block_diag(*arrs)``: linear placement of the blocks; ``toeplitz``, ``circulant`` and
  ``hankel`` gather their entries from the vectors with constant index arrays.

``inv``, ``solve``, ``det``, ``cholesky`` (upper by default, as in SciPy), ``eigh``, ``eigvalsh``,
``svd``, ``qr``, ``pinv`` and ``lstsq`` are tensorcalc.numpy.linalg's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..numpy import linalg as _la
from ..ops._base import dtype_of, needs_bind
from ..ops.complex_ops import conj
from ..ops.elementwise import add, multiply
from ..ops.linalg._common import mask, mT, place
from ..ops.linalg.inverse import solve as _solve
from ..ops.linalg.matrix_functions import expm, lu_factor, lu_solve, solve_sylvester, sqrtm
from ..ops.linalg.matrix_functions import expm_frechet as _frechet
from ..ops.shape import concatenate
from ..ops.structural import convert, reshape

__all__ = ["block_diag", "cho_factor", "cho_solve", "cholesky", "circulant", "det", "eigh",
           "eigvalsh", "expm", "expm_frechet", "hankel", "inv", "lstsq", "lu_factor", "lu_solve",
           "pinv", "polar", "qr", "solve", "solve_sylvester", "solve_triangular", "sqrtm", "svd",
           "toeplitz"]

inv, det, pinv, lstsq = _la.inv, _la.det, _la.pinv, _la.lstsq
eigvalsh = _la.eigvalsh


def expm_frechet(A: Any, E: Any, method: Any = None, compute_expm: bool = True,  # noqa: N803
                 check_finite: bool = True) -> Any:
    """``scipy.linalg.expm_frechet``: ``(expm(A), L(A, E))``, or ``L(A, E)`` alone with
    ``compute_expm=False``; ``L`` is differentiable in ``A`` and ``E`` to any order."""
    frechet = _frechet(A, E)
    return (expm(A), frechet) if compute_expm else frechet


def polar(a: Any, side: str = "right") -> tuple[Any, Any]:
    """``scipy.linalg.polar``: ``a = u p`` (``side='right'``) or ``p u`` (``'left'``) with ``u``
    unitary and ``p`` positive semidefinite, from the SVD (its derivative needs distinct
    singular values)."""
    if side not in ("right", "left"):
        raise ValueError(f"polar: side must be 'right' or 'left', got {side!r}")
    if not needs_bind(a):
        import scipy.linalg as sl

        return sl.polar(a, side=side)
    w, s, vh = _la.svd(a, full_matrices=False)
    u = w @ vh
    if side == "right":
        v = conj(mT(vh))
        return u, (v * s[None, :]) @ vh
    return u, (w * s[None, :]) @ conj(mT(w))


def _vector(x: Any) -> Any:
    return reshape(x, (-1,)) if needs_bind(x) else np.ravel(x)


def _gather(vals: Any, idx: np.ndarray) -> Any:
    return vals[idx] if needs_bind(vals) else np.asarray(vals)[idx]


def toeplitz(c: Any, r: Any = None) -> Any:
    """``scipy.linalg.toeplitz``: ``T[i, j] = c[i − j]`` for ``i ≥ j``, ``r[j − i]`` above
    (``r`` defaults to ``conj(c)``; ``r[0]`` is ignored)."""
    c = _vector(c)
    r = conj(c) if r is None else _vector(r)
    m, n = c.shape[0], r.shape[0]
    vals = _concat([_gather(c, np.arange(m - 1, -1, -1)), _gather(r, np.arange(1, n))])
    i, j = np.indices((m, n))
    return _gather(vals, m - 1 - i + j)


def circulant(c: Any) -> Any:
    """``scipy.linalg.circulant``: ``C[i, j] = c[(i − j) mod n]``."""
    c = _vector(c)
    n = c.shape[0]
    i, j = np.indices((n, n))
    return _gather(c, (i - j) % n)


def hankel(c: Any, r: Any = None) -> Any:
    """``scipy.linalg.hankel``: ``H[i, j] = c[i + j]`` while ``i + j < m``, then
    ``r[i + j − m + 1]`` (``r`` defaults to zeros; ``r[0]`` is ignored)."""
    c = _vector(c)
    m = c.shape[0]
    r = np.zeros(m, np.result_type(c.dtype)) if r is None else _vector(r)
    n = r.shape[0]
    vals = _concat([c, _gather(r, np.arange(1, n))])
    i, j = np.indices((m, n))
    return _gather(vals, i + j)


def _concat(parts: list[Any]) -> Any:
    if any(needs_bind(p) for p in parts):
        return concatenate(parts)
    return np.concatenate(parts)


def solve(a: Any, b: Any, assume_a: str = "gen", lower: bool = False) -> Any:
    """``scipy.linalg.solve`` (``assume_a`` other than ``'gen'`` is solved the general way)."""
    return _la.solve(a, b)


def cholesky(a: Any, lower: bool = False) -> Any:
    """``scipy.linalg.cholesky``: upper ``U`` with ``A = Uᴴ U`` unless ``lower=True``."""
    return _la.cholesky(a, upper=not lower)


def eigh(a: Any, lower: bool = True, eigvals_only: bool = False) -> Any:
    """``scipy.linalg.eigh`` of a symmetric (Hermitian) matrix."""
    if eigvals_only:
        return _la.eigvalsh(a, UPLO="L" if lower else "U")
    return tuple(_la.eigh(a, UPLO="L" if lower else "U"))


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    """``scipy.linalg.svd``."""
    out = _la.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


def qr(a: Any, mode: str = "full") -> Any:
    """``scipy.linalg.qr`` for ``mode`` ``'full'``, ``'economic'`` or ``'r'``."""
    modes = {"full": "complete", "economic": "reduced", "r": "r"}
    if mode not in modes:
        raise ValueError(f"qr: mode must be 'full', 'economic' or 'r', got {mode!r}")
    out = _la.qr(a, mode=modes[mode])
    return (out,) if mode == "r" else tuple(out)


def _triangle(a: Any, lower: bool, unit_diagonal: bool) -> Any:
    n = np.shape(a)[-1] if not needs_bind(a) else a.shape[-1]
    dt = dtype_of(a) if needs_bind(a) else np.asarray(a).dtype
    real = np.finfo(dt).dtype if dt.kind == "c" else (dt if dt.kind == "f" else np.float64)
    keep = mask(n, real, "stril" if lower else "striu") if unit_diagonal else \
        mask(n, real, "tril" if lower else "triu")
    t = multiply(a, keep)
    return add(t, mask(n, real, "eye")) if unit_diagonal else t


def solve_triangular(a: Any, b: Any, trans: Any = 0, lower: bool = False,
                     unit_diagonal: bool = False, overwrite_b: bool = False,
                     check_finite: bool = True) -> Any:
    """``scipy.linalg.solve_triangular``: ``x`` with ``T x = b`` (``trans=1``/``'T'``: ``Tᵀ``,
    ``2``/``'C'``: ``Tᴴ``), ``T`` the triangle of ``a``."""
    trans = {"N": 0, "T": 1, "C": 2}.get(trans, trans)
    if trans not in (0, 1, 2):
        raise ValueError(f"solve_triangular: trans must be 0, 1, 2 ('N', 'T', 'C'), got {trans!r}")
    if not (needs_bind(a) or needs_bind(b)):
        import scipy.linalg as sl

        return sl.solve_triangular(a, b, trans=trans, lower=lower, unit_diagonal=unit_diagonal)
    t = _triangle(a, lower, unit_diagonal)
    if trans:
        t = mT(t)
        if trans == 2:
            t = conj(t)
    return _solve(t, b)


def cho_factor(a: Any, lower: bool = False, overwrite_a: bool = False,
               check_finite: bool = True) -> tuple[Any, bool]:
    """``scipy.linalg.cho_factor``: ``(c, lower)``; the other triangle of ``c`` is zero."""
    return _la.cholesky(a, upper=not lower), lower


def cho_solve(c_and_lower: tuple[Any, bool], b: Any, overwrite_b: bool = False,
              check_finite: bool = True) -> Any:
    """``scipy.linalg.cho_solve``: ``x`` with ``A x = b`` from ``cho_factor``'s factor."""
    c, lower = c_and_lower
    if lower:
        y = solve_triangular(c, b, lower=True)
        return solve_triangular(c, y, trans=2, lower=True)
    y = solve_triangular(c, b, trans=2, lower=False)
    return solve_triangular(c, y, lower=False)


def block_diag(*arrs: Any) -> Any:
    """``scipy.linalg.block_diag``: the blocks on the diagonal of a zero matrix (0-d and 1-d
    blocks are rows, as in SciPy)."""
    if not any(needs_bind(a) for a in arrs):
        import scipy.linalg as sl

        return sl.block_diag(*arrs)
    blocks = []
    for a in arrs:
        nd = len(a.shape) if needs_bind(a) else np.ndim(a)
        if nd > 2:
            raise ValueError(f"block_diag: blocks must have at most 2 dimensions, got {nd}")
        shape = tuple(a.shape) if needs_bind(a) else np.shape(a)
        blocks.append((a, (1,) * (2 - nd) + shape))
    rows = sum(s[0] for _, s in blocks)
    cols = sum(s[1] for _, s in blocks)
    dt = np.result_type(*(dtype_of(a) if needs_bind(a) else np.asarray(a).dtype
                          for a in arrs))
    out: Any = np.zeros((rows, cols), dt)
    r = c = 0
    for a, (m, n) in blocks:
        a2 = a if needs_bind(a) else np.asarray(a)
        a2 = convert(a2, dt) if needs_bind(a2) else a2.astype(dt)
        out = add(out, place(reshape(a2, (m, n)), (rows, cols),
                             (slice(r, r + m), slice(c, c + n))))
        r, c = r + m, c + n
    return out
