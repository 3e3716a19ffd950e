"""Decompositions: ``eigh``, ``qr`` and ``svd``.

Each is one multiple-result primitive whose jvp rule differentiates the defining identity and
uses the orthogonality of the factors (``Qᵀ Q̇`` is antisymmetric). ``Ȧ`` is the tangent.

- ``eigh`` (``A = V Λ Vᵀ``, NumPy reads one triangle, so ``Ṡ`` is the symmetric matrix built
  from that triangle of ``Ȧ``): with ``P = Vᵀ Ṡ V``, ``λ̇ = diag(P)`` and
  ``V̇ = V (F ∘ P)``, ``F_ij = 1/(λ_j − λ_i)`` off the diagonal, 0 on it. Eigenvalues must be
  distinct for ``V̇`` (repeated ones give ``inf``); ``eigvalsh`` needs only ``λ̇``.
- ``qr`` (``A = Q R``), ``m ≥ n``, reduced: ``X = Qᵀ Ȧ R⁻¹``, ``Ω = tril(X, −1) − tril(X, −1)ᵀ``,
  ``Ṙ = (X − Ω) R``, ``Q̇ = Q Ω + (I − Q Qᵀ) Ȧ R⁻¹``. ``m < n``: ``A = Q [R₁ R₂]`` with ``Q, R₁``
  from the square block and ``Ṙ₂ = Q̇ᵀ A₂ + Qᵀ Ȧ₂``. ``R`` must be invertible.
- ``svd`` (``A = U S Vᵀ``, ``k = min(m, n)``): ``P = Uᵀ Ȧ V`` (``k×k``), ``ṡ = diag(P)``,
  ``Uᵀ U̇ = F ∘ (P S + S Pᵀ)``, ``Vᵀ V̇ = F ∘ (S P + Pᵀ S)`` with ``F_ij = 1/(s_j² − s_i²)``,
  plus ``(I − U Uᵀ) Ȧ V S⁻¹`` when ``m > k`` and ``(I − V Vᵀ) Ȧᵀ U S⁻¹`` when ``n > k``.
  Singular values must be distinct (and nonzero when ``m ≠ n``) for ``U̇, V̇``; ``ṡ`` alone
  needs neither.

**Completed bases** (``qr(mode='complete')`` and ``svd(full_matrices=True)`` with ``m ≠ n``):
the extra ``m − k`` columns ``Q₂`` span the orthogonal complement of ``Q₁`` but, within it, are
only defined up to a rotation that LAPACK picks. tensorcalc differentiates the complement
without rotating it inside itself (``Q₂ᵀ Q̇₂ = 0``), i.e. ``Q̇₂ = −Q₁ (Q̇₁ᵀ Q₂)``. Every quantity
that does not depend on that arbitrary rotation (``Q₂ Q₂ᵀ``, norms, reconstructions) gets its
exact derivative; for one extra column the basis is unique up to sign and this is exact.

**Complex matrices**: ``ᵀ`` becomes ``ᴴ`` wherever a factor is unitary or a matrix Hermitian
(``P = Vᴴ Ṡ V``, ``λ̇ = Re diag P``; ``X = Qᴴ Ȧ R⁻¹`` with ``Ω`` anti-Hermitian and
``diag Ω = i Im diag X``, since LAPACK's ``R`` has a real diagonal; ``P = Uᴴ Ȧ V``,
``ṡ = Re diag P``, and ``U̇`` gets ``i Im(Pᵢᵢ)/sᵢ`` on the diagonal of ``Uᴴ U̇``). Each
eigenvector or singular pair has a free phase ``e^{iφ}``; the derivative fixes it by
``Im diag(Vᴴ V̇) = 0``, as JAX does, so only phase-invariant functions of the vectors
(``|v|``, ``V f(Λ) Vᴴ``, ``U S Vᴴ``) have derivatives that match finite differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.backend import defxp, linalg_of
from ...core.errors import ShapeError
from ...core.primitive import Primitive, bind
from ...core.shapes import ShapedArray
from ...core.zeros import Zero
from ...interpreters.batch import defbatch_gufunc
from ...interpreters.forward import defjvp_rule
from .._base import dtype_of, needs_bind
from ..complex_ops import imag
from ..elementwise import add, divide, multiply, negative, subtract
from ..products import matmul
from ..structural import getitem
from ._common import (
    LinAlgError,
    call_numpy,
    check_matrix,
    col,
    concat_last,
    concat_rows,
    diag_part,
    float_dtype,
    gap_inverse,
    mask,
    mH,
    mT,
    real_dtype,
    real_part,
    row,
    shape_of,
    sym_from_triangle,
    symmetrized,
)
from .inverse import solve_matrix


def _min_dim(op: str, m: Any, n: Any) -> Any:
    """``min(m, n)`` of two dimensions. The factor shapes depend on which is smaller, so two
    different symbolic sizes cannot be compared and raise."""
    if m == n:
        return m
    if isinstance(m, int) and isinstance(n, int):
        return min(m, n)
    raise ShapeError(
        f"{op}: the factor shapes depend on min(m, n), which is unknown for the symbolic "
        f"matrix shape ({m}, {n}); trace with concrete sizes or a square (n, n) matrix")


# --- eigh / eigvalsh ------------------------------------------------------------------------


def _check_uplo(op: str, uplo: Any) -> str:
    if uplo not in ("L", "U", "l", "u"):
        raise ValueError(f"{op}: UPLO must be 'L' or 'U', got {uplo!r}")
    return uplo.upper()


def _eigh_impl(a: Any, *, UPLO: str, eigvals_only: bool) -> list[Any]:  # noqa: N803
    if eigvals_only:
        return [call_numpy("eigvalsh", np.linalg.eigvalsh, a, UPLO=UPLO)]
    return list(call_numpy("eigh", np.linalg.eigh, a, UPLO=UPLO))


def _eigh_xp(xp: Any, a: Any, *, UPLO: str, eigvals_only: bool) -> list[Any]:  # noqa: N803
    if UPLO == "U":  # the standard's eigh reads the lower triangle
        a = xp.matrix_transpose(a)
    if eigvals_only:
        return [linalg_of(xp, "eigvalsh", eigh_p)(a)]
    return list(linalg_of(xp, "eigh", eigh_p)(a))


def _eigh_abstract(a: ShapedArray, *, UPLO: str, eigvals_only: bool) -> list[ShapedArray]:  # noqa: N803
    check_matrix("eigh", a)
    dt = float_dtype("eigh", a.dtype)
    w = ShapedArray(a.shape[:-1], real_dtype(dt))
    return [w] if eigvals_only else [w, ShapedArray(a.shape, dt)]


eigh_p = Primitive("eigh", _eigh_impl, _eigh_abstract, multiple_results=True)
defxp(eigh_p, _eigh_xp)


def _eigh_jvp(primals: list[Any], tangents: list[Any], *, UPLO: str,  # noqa: N803
              eigvals_only: bool) -> tuple[list[Any], list[Any]]:
    (a,), (t,) = primals, tangents
    w, v = bind(eigh_p, a, UPLO=UPLO, eigvals_only=False)
    ans = [w] if eigvals_only else [w, v]
    if type(t) is Zero:
        return ans, [Zero(None)] * len(ans)
    p = matmul(mH(v), matmul(sym_from_triangle(t, lower=UPLO == "L"), v))
    dw = real_part(diag_part(p))
    if eigvals_only:
        return ans, [dw]
    # Repeated eigenvalues make V̇ inf/NaN (it does not exist there); that is computed even
    # when only λ is used, so NumPy's warning about it is silenced. λ̇ is unaffected.
    with np.errstate(divide="ignore", invalid="ignore"):
        dv = matmul(v, multiply(gap_inverse(w), p))
    return ans, [dw, dv]


defjvp_rule(eigh_p, _eigh_jvp)
defbatch_gufunc(eigh_p, (2,), n_out=2)


def eigh(a: Any, UPLO: str = "L", symmetrize_input: bool = True) -> tuple[Any, Any]:  # noqa: N803
    """``numpy.linalg.eigh`` as ``(eigenvalues, eigenvectors)`` (ascending). By default ``a``
    is symmetrized first (``(a + aᵀ)/2``, exact for symmetric ``a``) and gradients are
    symmetric; ``symmetrize_input=False`` reads only the lower (``UPLO='L'``) or upper
    triangle, as NumPy does. Eigenvector derivatives need distinct eigenvalues; their sign is
    NumPy's and is held fixed by the derivative."""
    check_matrix("eigh", a)
    uplo = _check_uplo("eigh", UPLO)
    if symmetrize_input:
        a = symmetrized(a)
    if not needs_bind(a):
        return tuple(call_numpy("eigh", np.linalg.eigh, a, UPLO=uplo))  # type: ignore[return-value]
    w, v = bind(eigh_p, a, UPLO=uplo, eigvals_only=False)
    return w, v


def eigvalsh(a: Any, UPLO: str = "L", symmetrize_input: bool = True) -> Any:  # noqa: N803
    """``numpy.linalg.eigvalsh``: ascending eigenvalues of a symmetric matrix (symmetrized
    first unless ``symmetrize_input=False``, as in :func:`eigh`)."""
    check_matrix("eigvalsh", a)
    uplo = _check_uplo("eigvalsh", UPLO)
    if symmetrize_input:
        a = symmetrized(a)
    if not needs_bind(a):
        return call_numpy("eigvalsh", np.linalg.eigvalsh, a, UPLO=uplo)
    return bind(eigh_p, a, UPLO=uplo, eigvals_only=True)[0]


# --- qr -------------------------------------------------------------------------------------


def _qr_impl(a: Any, *, mode: str) -> list[Any]:
    res = call_numpy("qr", np.linalg.qr, a, mode=mode)
    return [res] if mode == "r" else list(res)


def _qr_xp(xp: Any, a: Any, *, mode: str) -> list[Any]:
    res = linalg_of(xp, "qr", qr_p)(a, mode="reduced" if mode == "r" else mode)
    return [res[1]] if mode == "r" else list(res)


def _qr_abstract(a: ShapedArray, *, mode: str) -> list[ShapedArray]:
    check_matrix("qr", a, square=False)
    dt = float_dtype("qr", a.dtype)
    *batch, m, n = a.shape
    k = m if mode == "complete" else _min_dim("qr", m, n)
    r = ShapedArray((*batch, k, n), dt)
    return [r] if mode == "r" else [ShapedArray((*batch, m, k), dt), r]


qr_p = Primitive("qr", _qr_impl, _qr_abstract, multiple_results=True)
defxp(qr_p, _qr_xp)


def _qr_tall_tangent(q: Any, r: Any, t: Any) -> tuple[Any, Any]:
    """``(Q̇, Ṙ)`` for the reduced QR of a matrix with ``m ≥ n`` (``R`` square)."""
    try:
        dar = mT(solve_matrix(mT(r), mT(t)))           # Ȧ R⁻¹
    except LinAlgError as e:
        raise LinAlgError(f"qr (derivative): R is singular, so A does not have full column "
                          f"rank and Q is not differentiable there ({e})") from None
    x = matmul(mH(q), dar)                               # Qᴴ Ȧ R⁻¹
    n = shape_of(x)[-1]
    low = multiply(x, mask(n, real_dtype(dtype_of(x)), "stril"))
    omega = subtract(low, mH(low))                       # Qᴴ Q̇ (anti-Hermitian)
    if dtype_of(x).kind == "c":
        # LAPACK's R has a real diagonal, so diag(Ṙ R⁻¹) is real and diag(Qᴴ Q̇) = i Im diag X.
        omega = add(omega, multiply(imag(x), mask(n, real_dtype(dtype_of(x)), "eye") * 1j))
    dq = add(matmul(q, subtract(omega, x)), dar)
    dr = matmul(subtract(x, omega), r)
    return dq, dr


def _qr_reduced_tangent(a: Any, q: Any, r: Any, t: Any) -> tuple[Any, Any]:
    m, n = shape_of(a)[-2:]
    if m >= n:
        return _qr_tall_tangent(q, r, t)
    # Wide: A = Q [R₁ R₂] where Q, R₁ is the QR of the leading square block.
    left, right = (Ellipsis, slice(None), slice(0, m)), (Ellipsis, slice(None), slice(m, None))
    dq, dr1 = _qr_tall_tangent(q, getitem(r, left), getitem(t, left))
    dr2 = add(matmul(mH(dq), getitem(a, right)), matmul(mH(q), getitem(t, right)))
    return dq, concat_last(dr1, dr2)


def _qr_jvp(primals: list[Any], tangents: list[Any], *, mode: str
            ) -> tuple[list[Any], list[Any]]:
    (a,), (t,) = primals, tangents
    q, r = bind(qr_p, a, mode="complete" if mode == "complete" else "reduced")
    ans = [r] if mode == "r" else [q, r]
    if type(t) is Zero:
        return ans, [Zero(None)] * len(ans)
    m, n = shape_of(a)[-2:]
    if mode == "complete" and m > n:
        q1 = getitem(q, (Ellipsis, slice(None), slice(0, n)))
        q2 = getitem(q, (Ellipsis, slice(None), slice(n, None)))
        dq1, dr1 = _qr_tall_tangent(q1, getitem(r, (Ellipsis, slice(0, n), slice(None))), t)
        dq = concat_last(dq1, negative(matmul(q1, matmul(mH(dq1), q2))))
        dr = concat_rows(dr1, m - n)
    else:
        dq, dr = _qr_reduced_tangent(a, q, r, t)
    return ans, ([dr] if mode == "r" else [dq, dr])


defjvp_rule(qr_p, _qr_jvp)
defbatch_gufunc(qr_p, (2,), n_out=2)


def qr(a: Any, mode: str = "reduced") -> Any:
    """``numpy.linalg.qr`` for ``mode`` ``'reduced'``, ``'complete'`` or ``'r'`` (``'raw'`` on
    plain arrays only). The derivative needs ``a`` of full rank; see the module docstring for
    the completed basis of ``mode='complete'``."""
    check_matrix("qr", a, square=False)
    if mode not in ("reduced", "complete", "r", "raw"):
        raise ValueError(f"qr: unrecognized mode {mode!r}; use 'reduced', 'complete', 'r' or "
                         "'raw'")
    if not needs_bind(a):
        return call_numpy("qr", np.linalg.qr, a, mode=mode)
    if mode == "raw":
        raise NotImplementedError("qr: mode='raw' (Householder reflectors) is not "
                                  "differentiable; use mode='reduced' or 'complete'")
    out = bind(qr_p, a, mode=mode)
    return out[0] if mode == "r" else tuple(out)


# --- svd ------------------------------------------------------------------------------------


def _svd_impl(a: Any, *, full_matrices: bool, compute_uv: bool) -> list[Any]:
    if not compute_uv:
        return [call_numpy("svd", np.linalg.svd, a, compute_uv=False)]
    return list(call_numpy("svd", np.linalg.svd, a, full_matrices=full_matrices))


def _svd_xp(xp: Any, a: Any, *, full_matrices: bool, compute_uv: bool) -> list[Any]:
    if not compute_uv:
        return [linalg_of(xp, "svdvals", svd_p)(a)]
    return list(linalg_of(xp, "svd", svd_p)(a, full_matrices=full_matrices))


def _svd_abstract(a: ShapedArray, *, full_matrices: bool, compute_uv: bool
                  ) -> list[ShapedArray]:
    check_matrix("svd", a, square=False)
    dt = float_dtype("svd", a.dtype)
    *batch, m, n = a.shape
    k = _min_dim("svd", m, n)
    s = ShapedArray((*batch, k), real_dtype(dt))
    if not compute_uv:
        return [s]
    ku, kv = (m, n) if full_matrices else (k, k)
    return [ShapedArray((*batch, m, ku), dt), s, ShapedArray((*batch, kv, n), dt)]


svd_p = Primitive("svd", _svd_impl, _svd_abstract, multiple_results=True)
defxp(svd_p, _svd_xp)


def _complete(d1: Any, b1: Any, b2: Any) -> Any:
    """``[Ḃ₁, Ḃ₂]`` with ``Ḃ₂ = −B₁ (Ḃ₁ᵀ B₂)``: the complement follows ``B₁`` without rotating
    within itself (see the module docstring)."""
    return concat_last(d1, negative(matmul(b1, matmul(mH(d1), b2))))


def _svd_jvp(primals: list[Any], tangents: list[Any], *, full_matrices: bool,
             compute_uv: bool) -> tuple[list[Any], list[Any]]:
    (a,), (t,) = primals, tangents
    u, s, vh = bind(svd_p, a, full_matrices=full_matrices, compute_uv=True)
    ans = [u, s, vh] if compute_uv else [s]
    if type(t) is Zero:
        return ans, [Zero(None)] * len(ans)
    m, n = shape_of(a)[-2:]
    k = min(m, n)
    first_k = (Ellipsis, slice(None), slice(0, k))
    v = mH(vh)
    u1 = getitem(u, first_k) if full_matrices and m > k else u
    v1 = getitem(v, first_k) if full_matrices and n > k else v
    p = matmul(mH(u1), matmul(t, v1))
    ds = real_part(diag_part(p))
    if not compute_uv:
        return ans, [ds]
    # Repeated (or, for m ≠ n, zero) singular values make U̇, V̇ inf/NaN: they do not exist
    # there. Only warnings are silenced (ṡ may be all the caller uses); values are kept.
    with np.errstate(divide="ignore", invalid="ignore"):
        du, dv = _svd_vector_tangents(t, p, u, s, v, u1, v1, full_matrices)
    return ans, [du, ds, mH(dv)]


def _svd_vector_tangents(t: Any, p: Any, u: Any, s: Any, v: Any, u1: Any, v1: Any,
                         full_matrices: bool) -> tuple[Any, Any]:
    m, n = shape_of(t)[-2:]
    k = min(m, n)
    f = gap_inverse(multiply(s, s))                      # 1/(s_j² − s_i²)
    s_i, s_j, pt = col(s), row(s), mH(p)
    du = matmul(u1, multiply(f, add(multiply(p, s_j), multiply(pt, s_i))))
    dv = matmul(v1, multiply(f, add(multiply(p, s_i), multiply(pt, s_j))))
    if dtype_of(p).kind == "c":
        # The phase of each singular pair is free; U̇ takes i Im(Pᵢᵢ)/sᵢ on the diagonal of
        # Uᴴ U̇ (and V̇ none), which is JAX's choice and keeps U S Vᴴ exact.
        eye = mask(k, real_dtype(p.dtype), "eye")
        du = add(du, matmul(u1, multiply(multiply(imag(p), eye * 1j), divide(1.0, s_j))))
    if m > k:  # the part of U̇ outside span(U): (I − U Uᴴ) Ȧ V S⁻¹
        av = matmul(t, v1)
        du = add(du, divide(subtract(av, matmul(u1, matmul(mH(u1), av))), s_j))
    if n > k:
        atu = matmul(mH(t), u1)
        dv = add(dv, divide(subtract(atu, matmul(v1, matmul(mH(v1), atu))), s_j))
    if full_matrices and m > k:
        du = _complete(du, u1, getitem(u, (Ellipsis, slice(None), slice(k, None))))
    if full_matrices and n > k:
        dv = _complete(dv, v1, getitem(v, (Ellipsis, slice(None), slice(k, None))))
    return du, dv


defjvp_rule(svd_p, _svd_jvp)
defbatch_gufunc(svd_p, (2,), n_out=3)


def svd(a: Any, full_matrices: bool = True, compute_uv: bool = True,
        hermitian: bool = False) -> Any:
    """``numpy.linalg.svd``: ``(U, S, Vh)`` or, with ``compute_uv=False``, ``S``. Singular
    vector derivatives need distinct singular values; for ``full_matrices=True`` see the module
    docstring on completed bases. ``hermitian=True`` is differentiable for values only."""
    check_matrix("svd", a, square=hermitian)
    if not needs_bind(a):
        return call_numpy("svd", np.linalg.svd, a, full_matrices=full_matrices,
                          compute_uv=compute_uv, hermitian=hermitian)
    if hermitian:
        if compute_uv:
            raise NotImplementedError(
                "svd: hermitian=True with compute_uv=True is not differentiable yet (its "
                "vectors follow eigh's sign choices); use eigh, or hermitian=False")
        # NumPy's hermitian path reads the lower triangle (eigh); the values are |λ|.
        a = sym_from_triangle(a, lower=True)
    out = bind(svd_p, a, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    return tuple(out) if compute_uv else out[0]


def svd_values(a: Any) -> Any:
    """Singular values (``svd(a, compute_uv=False)``) of an array or traced value."""
    return svd(a, compute_uv=False)
