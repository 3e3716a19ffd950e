"""The general eigenproblem: ``eig`` and ``eigvals`` (real or complex input, complex output).

``A = V Λ V⁻¹`` with ``V``'s columns of unit 2-norm (LAPACK's normalization). Differentiating
the identity ``A V = V Λ`` with ``P = V⁻¹ Ȧ V``:

- ``λ̇ = diag(P)``;
- ``V̇ = V (F ∘ P)``, ``F_ij = 1/(λ_j − λ_i)`` off the diagonal and 0 on it, then
  ``V̇ ← V̇ − V Re diag(Vᴴ V̇)`` so the columns keep unit norm.

Each eigenvector also has a free phase ``e^{iφ}`` (a sign for real eigenvectors); the rule fixes
``Im diag(V⁻¹ V̇) = 0`` where LAPACK fixes it otherwise, so only phase-invariant functions of
``V`` (``|V|``, ``V f(Λ) V⁻¹``) have derivatives that match finite differences. This is JAX's
rule. **Degenerate eigenvalues**: where two eigenvalues coincide ``F`` is infinite and ``V̇`` does
not exist (it is inf/NaN). The eigenvalues themselves are not differentiable there either
(a perturbation splits the group along the eigenvalues of its projected block); ``λ̇ = diag P``
is still finite when ``A`` is diagonalizable, and the sum of ``λ̇`` over the group (its trace)
is exact, but the entries one by one are not. A defective matrix (``V`` singular) raises in the
solve. Real input gives complex results, as ``numpy.linalg.eig`` does when any
eigenvalue is complex; here the dtype is always complex, so traced code has one output type
(``.real`` recovers NumPy's real result when every eigenvalue is real).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.backend import defxp, linalg_of, numpy_dtype, xp_dtype
from ...core.primitive import Primitive, bind
from ...core.shapes import ShapedArray
from ...core.zeros import Zero
from ...interpreters.batch import defbatch_gufunc
from ...interpreters.forward import defjvp_rule
from .._base import needs_bind
from ..complex_ops import conj, real
from ..elementwise import multiply, subtract
from ..products import matmul
from ..reductions import sum as reduce_sum
from ..structural import convert
from ._common import call_numpy, check_matrix, diag_part, dtype_of, float_dtype, gap_inverse, row
from .inverse import solve_matrix


def complex_dtype(dt: np.dtype) -> np.dtype:
    """The complex dtype of ``dt``'s precision (float32 → complex64)."""
    return np.result_type(dt, np.complex64)


def _eig_impl(a: Any, *, vectors: bool) -> list[Any]:
    dt = complex_dtype(float_dtype("eig", np.asarray(a).dtype))
    if not vectors:
        return [np.asarray(call_numpy("eigvals", np.linalg.eigvals, a), dt)]
    w, v = call_numpy("eig", np.linalg.eig, a)
    return [np.asarray(w, dt), np.asarray(v, dt)]


def _eig_abstract(a: ShapedArray, *, vectors: bool) -> list[ShapedArray]:
    check_matrix("eig", a)
    dt = complex_dtype(float_dtype("eig", a.dtype))
    w = ShapedArray(a.shape[:-1], dt)
    return [w, ShapedArray(a.shape, dt)] if vectors else [w]


eig_p = Primitive("eig", _eig_impl, _eig_abstract, multiple_results=True)


@defxp(eig_p)
def _eig_xp(xp: Any, a: Any, *, vectors: bool) -> list[Any]:
    # the namespace's eig/eigvals (torch, CuPy, newer array-api-strict; Dask blockwise),
    # cast to the complex dtype the abstract rule promises
    dt = xp_dtype(xp, complex_dtype(float_dtype("eig", numpy_dtype(a.dtype))))
    if not vectors:
        return [xp.astype(linalg_of(xp, "eigvals", eig_p)(a), dt)]
    w, v = linalg_of(xp, "eig", eig_p)(a)
    return [xp.astype(w, dt), xp.astype(v, dt)]


def _eig_jvp(primals: list[Any], tangents: list[Any], *, vectors: bool
             ) -> tuple[list[Any], list[Any]]:
    (a,), (t,) = primals, tangents
    w, v = bind(eig_p, a, vectors=True)
    ans = [w, v] if vectors else [w]
    if type(t) is Zero:
        return ans, [Zero(None)] * len(ans)
    t = convert(t, dtype_of(v))
    p = solve_matrix(v, matmul(t, v))                    # V⁻¹ Ȧ V
    dw = diag_part(p)
    if not vectors:
        return ans, [dw]
    with np.errstate(divide="ignore", invalid="ignore"):  # degenerate λ: V̇ does not exist
        dv = matmul(v, multiply(gap_inverse(w), p))
    norm = real(reduce_sum(multiply(conj(v), dv), axis=-2))   # Re diag(Vᴴ V̇)
    return ans, [dw, subtract(dv, multiply(v, row(norm)))]


defjvp_rule(eig_p, _eig_jvp)
defbatch_gufunc(eig_p, (2,), n_out=2)


def eig(a: Any) -> tuple[Any, Any]:
    """``numpy.linalg.eig`` as ``(eigenvalues, eigenvectors)`` (complex; see the module
    docstring for the phase and degenerate cases)."""
    check_matrix("eig", a)
    if not needs_bind(a):
        return tuple(call_numpy("eig", np.linalg.eig, a))  # type: ignore[return-value]
    w, v = bind(eig_p, a, vectors=True)
    return w, v


def eigvals(a: Any) -> Any:
    """``numpy.linalg.eigvals`` (complex; differentiable where the eigenvalues are simple)."""
    check_matrix("eigvals", a)
    if not needs_bind(a):
        return call_numpy("eigvals", np.linalg.eigvals, a)
    return bind(eig_p, a, vectors=False)[0]
