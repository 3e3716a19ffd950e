"""SciPy's matrix functions and factorizations: ``expm`` with its Fréchet derivative, ``sqrtm``
through a Sylvester equation, and ``lu_factor``/``lu_solve`` (values from ``scipy.linalg``).

- ``expm``: ``d e^A = L(A, Ȧ)``, the Fréchet derivative, a primitive ``expm_frechet(A, E)``
  linear in ``E``. It is the top-right block of ``exp([[A, E], [0, A]])`` (Mathias' block
  formula; SciPy's ``expm`` evaluates that, and it handles stacks). Its transpose in the pairing
  ``⟨C, L(A, E)⟩ = ⟨L(Aᵀ, C), E⟩`` is ``L(Aᵀ, ·)``; its derivative in ``A`` is again a block
  Fréchet derivative: ``[L(M, diag(Ȧ, Ȧ))]₁₂`` with ``M = [[A, E], [0, A]]``. So every order
  comes from the one primitive.
- ``sqrtm``: ``X² = A`` gives ``X Ẋ + Ẋ X = Ȧ``: ``Ẋ = S_X⁻¹(Ȧ)`` with the Sylvester operator
  ``S_X(Y) = X Y + Y X``, a primitive ``sylvester(X, C)`` linear in ``C`` (transpose
  ``S_{Xᵀ}⁻¹``; in ``X``: ``−S_X⁻¹(Ẋ Y + Y Ẋ)``). ``Ẋ`` exists when no two eigenvalues of ``X``
  sum to zero (true for the principal root of a matrix with no eigenvalues on ``(−∞, 0]``).
- ``solve_sylvester(A, B, Q)``: ``A X + X B = Q``, linear in ``Q`` (transpose: the equation
  with ``Aᵀ, Bᵀ``); ``Ẋ = S⁻¹(−Ȧ X − X Ḃ)``.
- ``lu_factor``: ``P A = L U`` packed as ``L − I + U``, with LAPACK's pivots. With
  ``X = U A⁻¹ Ȧ U⁻¹`` (equal to ``L⁻¹ P Ȧ U⁻¹``, no permutation needed):
  ``L̇ = L stril(X)`` and ``U̇ = triu(X) U``. Square matrices.
- ``lu_solve((lu, piv), b, trans)``: linear in ``b`` (transpose: the ``trans`` 0 ↔ 1 solve);
  in ``lu`` it is ``−A⁻¹ Ȧ x`` with ``A⁻¹ Ȧ x = U⁻¹ L⁻¹ (L̇ U x + L U̇ x)`` for ``trans=0``, and
  ``A⁻ᵀ Ȧᵀ x`` with ``Ȧᵀ x = (Uᵀ L̇ᵀ + U̇ᵀ Lᵀ)(L⁻ᵀ U⁻ᵀ b)`` for ``trans=1``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...core.backend import BackendError, backend_name, defxp, device
from ...core.primitive import Primitive, bind
from ...core.shapes import ShapedArray, broadcast_shapes
from ...core.zeros import Zero
from ...interpreters.batch import common_size, defbatch, defbatch_gufunc, moveaxis, pad_after_batch
from ...interpreters.forward import defjvp, defjvp_rule
from ...interpreters.transpose import deftranspose, is_undefined
from .._base import needs_bind
from ..elementwise import add, multiply, negative
from ..products import matmul
from ..structural import getitem, unbroadcast
from ._common import (
    check_matrix,
    concat_last,
    concat_rows,
    float_dtype,
    mask,
    matvec,
    mT,
    place,
    shape_of,
)
from .inverse import solve_matrix, solve_p


def _sl() -> Any:
    try:
        import scipy.linalg as sl
    except ImportError:
        raise ImportError("tensorcalc.scipy.linalg computes its values with SciPy; install "
                          "scipy (pip install scipy)") from None
    return sl


def _torch_linalg(xp: Any, prim: Any, name: str) -> Any:
    """``torch.linalg.<name>`` when ``xp`` is torch; other array libraries have no matrix
    exponential or LU in the array-API standard, so they get the BackendError."""
    if backend_name(xp) != "torch":
        raise BackendError(
            f"{prim.name} runs on NumPy and torch arrays only (the array-API standard has no "
            f"{name}); it got {backend_name(xp)} arrays. Convert the input to NumPy or torch "
            "explicitly if a copy is what you want (tensorcalc never transfers data silently).")
    import torch

    return getattr(torch.linalg, name)


def _floating(xp: Any, a: Any) -> Any:
    return a if xp.isdtype(a.dtype, ("real floating", "complex floating")) \
        else xp.astype(a, xp.float64)


def _batched_shape(op: str, core: tuple[Any, ...], *avals: ShapedArray, cores: tuple[int, ...]
                   ) -> tuple[Any, ...]:
    """Broadcast leading (loop) axes of the operands, then the result's ``core`` axes."""
    loops = [tuple(a.shape)[:len(a.shape) - c] for a, c in zip(avals, cores, strict=True)]
    return broadcast_shapes(*loops, op=f"{op} (batch axes)") + tuple(core)


def _same_abstract(op: str) -> Any:
    def abstract_eval(a: ShapedArray, *rest: ShapedArray, **params: Any) -> ShapedArray:
        check_matrix(op, a)
        dt = np.result_type(float_dtype(op, a.dtype), *(r.dtype for r in rest))
        last = rest[-1] if rest else a
        shape = _batched_shape(op, tuple(last.shape)[-2:], a, *rest, cores=(2,) * (1 + len(rest)))
        return ShapedArray(shape, dt)

    abstract_eval.__name__ = f"{op}_abstract_eval"
    return abstract_eval


def _loop(fn: Any, *arrays: np.ndarray) -> np.ndarray:
    """Apply ``fn`` to each matrix of broadcast stacks (SciPy's function takes one matrix)."""
    arrays = tuple(np.asarray(a) for a in arrays)
    batch = np.broadcast_shapes(*(a.shape[:-2] for a in arrays))
    if not batch:
        return np.array(fn(*arrays))  # an owned copy: SciPy may hand back a view of a buffer
    arrays = tuple(np.broadcast_to(a, batch + a.shape[-2:]) for a in arrays)
    out = [np.asarray(fn(*(a[i] for a in arrays))) for i in np.ndindex(batch)]
    return np.stack(out).reshape(batch + out[0].shape)


# --- expm and its Fréchet derivative ------------------------------------------------------------

expm_p = Primitive("expm", lambda a: _sl().expm(a), _same_abstract("expm"))
defxp(expm_p, lambda xp, a: _torch_linalg(xp, expm_p, "matrix_exp")(_floating(xp, a)))


def _block(a: Any, e: Any) -> Any:
    """``[[A, E], [0, A]]`` (stacks allowed), linear in ``A`` and in ``E``."""
    n = shape_of(a)[-1]
    top = concat_last(a, e)
    bottom = concat_last(multiply(a, 0.0), a)
    s = shape_of(bottom)
    lower = place(bottom, s[:-2] + (2 * n, s[-1]), (Ellipsis, slice(n, None), slice(None)))
    return add(concat_rows(top, n), lower)


def _frechet_impl(a: Any, e: Any) -> Any:
    a, e = np.asarray(a), np.asarray(e)
    n = a.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], e.shape[:-2])
    dt = np.result_type(a, e, np.float64 if a.dtype.kind in "biu" else a.dtype)
    m = np.zeros(batch + (2 * n, 2 * n), dt)
    m[..., :n, :n] = a
    m[..., n:, n:] = a
    m[..., :n, n:] = e
    return _sl().expm(m)[..., :n, n:]


expm_frechet_p = Primitive("expm_frechet", _frechet_impl, _same_abstract("expm_frechet"))


@defxp(expm_frechet_p)
def _frechet_xp(xp: Any, a: Any, e: Any) -> Any:
    """Mathias' block formula, as ``_frechet_impl``, with torch's ``matrix_exp``."""
    exp = _torch_linalg(xp, expm_frechet_p, "matrix_exp")
    a, e = _floating(xp, a), _floating(xp, e)
    dt = xp.result_type(a.dtype, e.dtype)
    a, e = xp.astype(a, dt), xp.astype(e, dt)
    batch = tuple(np.broadcast_shapes(tuple(a.shape[:-2]), tuple(e.shape[:-2])))
    n = a.shape[-1]
    a, e = xp.broadcast_to(a, batch + (n, n)), xp.broadcast_to(e, batch + (n, n))
    zero = xp.zeros(batch + (n, n), dtype=dt, device=device(a))
    m = xp.concat([xp.concat([a, e], axis=-1), xp.concat([zero, a], axis=-1)], axis=-2)
    return exp(m)[..., :n, n:]


def expm_frechet(a: Any, e: Any) -> Any:
    """``L(A, E)``: the derivative of ``e^A`` in the direction ``E``."""
    return bind(expm_frechet_p, a, e)


def _frechet_jvp_a(t: Any, ans: Any, a: Any, e: Any) -> Any:
    n = shape_of(a)[-1]
    big = expm_frechet(_block(a, e), _block(t, multiply(e, 0.0)))
    return getitem(big, (Ellipsis, slice(0, n), slice(n, None)))


def _frechet_jvp_e(t: Any, ans: Any, a: Any, e: Any) -> Any:
    return expm_frechet(a, t)


def _frechet_transpose(ct: Any, a: Any, e: Any) -> tuple[None, Any]:
    if is_undefined(a):
        raise TypeError("expm_frechet is linear in its second argument only")
    return None, unbroadcast(expm_frechet(mT(a), ct), e.aval)


defjvp(expm_p, lambda t, ans, a: expm_frechet(a, t))
defjvp(expm_frechet_p, _frechet_jvp_a, _frechet_jvp_e)
deftranspose(expm_frechet_p, _frechet_transpose)
defbatch_gufunc(expm_p, (2,))
defbatch_gufunc(expm_frechet_p, (2, 2))


def expm(a: Any) -> Any:
    """``scipy.linalg.expm`` (stacks allowed), differentiable to any order."""
    check_matrix("expm", a)
    if not needs_bind(a):
        return _sl().expm(a)
    return bind(expm_p, a)


# --- sqrtm through the Sylvester equation X Y + Y X = C ----------------------------------------


def _sqrtm_impl(a: Any) -> Any:
    return _loop(lambda m: _sl().sqrtm(m), a)


def _sylvester_impl(x: Any, c: Any) -> Any:
    return _loop(lambda xx, cc: _sl().solve_sylvester(xx, xx, cc), x, c)


sqrtm_p = Primitive("sqrtm", _sqrtm_impl, _same_abstract("sqrtm"))
sylvester_p = Primitive("sylvester", _sylvester_impl, _same_abstract("sylvester"))


def _sylvester_jvp_x(t: Any, ans: Any, x: Any, c: Any) -> Any:
    return negative(bind(sylvester_p, x, add(matmul(t, ans), matmul(ans, t))))


def _sylvester_jvp_c(t: Any, ans: Any, x: Any, c: Any) -> Any:
    return bind(sylvester_p, x, t)


def _sylvester_transpose(ct: Any, x: Any, c: Any) -> tuple[None, Any]:
    if is_undefined(x):
        raise TypeError("sylvester is linear in its right-hand side only")
    return None, unbroadcast(bind(sylvester_p, mT(x), ct), c.aval)


defjvp(sqrtm_p, lambda t, ans, a: bind(sylvester_p, ans, t))
defjvp(sylvester_p, _sylvester_jvp_x, _sylvester_jvp_c)
deftranspose(sylvester_p, _sylvester_transpose)
defbatch_gufunc(sqrtm_p, (2,))
defbatch_gufunc(sylvester_p, (2, 2))


def sqrtm(a: Any) -> Any:
    """``scipy.linalg.sqrtm``: the principal square root (stacks allowed)."""
    check_matrix("sqrtm", a)
    if not needs_bind(a):
        return _sqrtm_impl(a)
    return bind(sqrtm_p, a)


# --- the general Sylvester equation A X + X B = Q ---------------------------------------------


def _solve_sylvester_impl(a: Any, b: Any, q: Any) -> Any:
    return _loop(lambda aa, bb, qq: _sl().solve_sylvester(aa, bb, qq), a, b, q)


def _solve_sylvester_abstract(a: ShapedArray, b: ShapedArray, q: ShapedArray) -> ShapedArray:
    check_matrix("solve_sylvester", a)
    check_matrix("solve_sylvester", b)
    shape = _batched_shape("solve_sylvester", tuple(q.shape)[-2:], a, b, q, cores=(2, 2, 2))
    return ShapedArray(shape, np.result_type(float_dtype("solve_sylvester", a.dtype), b.dtype,
                                             q.dtype))


solve_sylvester_p = Primitive("solve_sylvester", _solve_sylvester_impl, _solve_sylvester_abstract)


def _solve_sylvester_jvp_a(t: Any, ans: Any, a: Any, b: Any, q: Any) -> Any:
    return negative(bind(solve_sylvester_p, a, b, matmul(t, ans)))


def _solve_sylvester_jvp_b(t: Any, ans: Any, a: Any, b: Any, q: Any) -> Any:
    return negative(bind(solve_sylvester_p, a, b, matmul(ans, t)))


def _solve_sylvester_jvp_q(t: Any, ans: Any, a: Any, b: Any, q: Any) -> Any:
    return bind(solve_sylvester_p, a, b, t)


def _solve_sylvester_transpose(ct: Any, a: Any, b: Any, q: Any) -> tuple[None, None, Any]:
    if is_undefined(a) or is_undefined(b):
        raise TypeError("solve_sylvester is linear in its right-hand side only")
    return None, None, unbroadcast(bind(solve_sylvester_p, mT(a), mT(b), ct), q.aval)


defjvp(solve_sylvester_p, _solve_sylvester_jvp_a, _solve_sylvester_jvp_b, _solve_sylvester_jvp_q)
deftranspose(solve_sylvester_p, _solve_sylvester_transpose)
defbatch_gufunc(solve_sylvester_p, (2, 2, 2))


def solve_sylvester(a: Any, b: Any, q: Any) -> Any:
    """``scipy.linalg.solve_sylvester``: ``X`` with ``A X + X B = Q``."""
    if not any(needs_bind(v) for v in (a, b, q)):
        return _solve_sylvester_impl(a, b, q)
    return bind(solve_sylvester_p, a, b, q)


# --- LU -----------------------------------------------------------------------------------------


def _lu_impl(a: Any) -> list[Any]:
    a = np.asarray(a)
    if a.ndim > 2:
        parts = [_lu_impl(a[i]) for i in np.ndindex(a.shape[:-2])]
        return [np.stack([p[0] for p in parts]).reshape(a.shape),
                np.stack([p[1] for p in parts]).reshape(a.shape[:-1])]
    lu, piv = _sl().lu_factor(a)
    return [lu, piv.astype(np.int32)]


def _lu_abstract(a: ShapedArray) -> list[ShapedArray]:
    check_matrix("lu_factor", a)
    return [ShapedArray(a.shape, float_dtype("lu_factor", a.dtype)),
            ShapedArray(a.shape[:-1], np.dtype(np.int32))]


lu_p = Primitive("lu_factor", _lu_impl, _lu_abstract, multiple_results=True)


@defxp(lu_p)
def _lu_xp(xp: Any, a: Any) -> list[Any]:
    # torch's pivots count from 1 (LAPACK's); SciPy's, and so tensorcalc's, from 0
    lu, piv = _torch_linalg(xp, lu_p, "lu_factor")(_floating(xp, a))
    return [lu, xp.astype(piv - 1, xp.int32)]


def lu_parts(lu: Any) -> tuple[Any, Any]:
    """``(L, U)`` from the packed factor (``L`` unit lower triangular)."""
    n, dt = shape_of(lu)[-1], float_dtype("lu", lu.dtype)
    return (add(multiply(lu, mask(n, dt, "stril")), mask(n, dt, "eye")),
            multiply(lu, mask(n, dt, "triu")))


def _lu_jvp(primals: list[Any], tangents: list[Any]) -> tuple[list[Any], list[Any]]:
    (a,), (t,) = primals, tangents
    lu, piv = bind(lu_p, a)
    if type(t) is Zero:
        return [lu, piv], [Zero(None), Zero(None)]
    low, up = lu_parts(lu)
    n, dt = shape_of(a)[-1], float_dtype("lu", lu.dtype)
    x = mT(solve_matrix(mT(up), mT(matmul(up, solve_matrix(a, t)))))   # U A⁻¹ Ȧ U⁻¹
    dl = matmul(low, multiply(x, mask(n, dt, "stril")))
    du = matmul(multiply(x, mask(n, dt, "triu")), up)
    return [lu, piv], [add(dl, du), Zero(None)]


defjvp_rule(lu_p, _lu_jvp)
defbatch_gufunc(lu_p, (2,), n_out=2)


def _lu_solve_impl(lu: Any, piv: Any, b: Any, *, trans: int, vector: bool) -> Any:
    lu, piv, b = np.asarray(lu), np.asarray(piv), np.asarray(b)
    if vector:
        b = b[..., None]
    if lu.ndim == 2 and b.ndim == 2:
        out = _sl().lu_solve((lu, piv), b, trans=trans)
    else:
        batch = np.broadcast_shapes(lu.shape[:-2], b.shape[:-2])
        lu = np.broadcast_to(lu, batch + lu.shape[-2:])
        piv = np.broadcast_to(piv, batch + piv.shape[-1:])
        b = np.broadcast_to(b, batch + b.shape[-2:])
        out = np.stack([_sl().lu_solve((lu[i], piv[i]), b[i], trans=trans)
                        for i in np.ndindex(batch)]).reshape(batch + b.shape[-2:])
    return out[..., 0] if vector else out


def _lu_solve_abstract(lu: ShapedArray, piv: ShapedArray, b: ShapedArray, *, trans: int,
                       vector: bool) -> ShapedArray:
    check_matrix("lu_solve", lu)
    core = 1 if vector else 2
    shape = _batched_shape("lu_solve", tuple(b.shape)[len(b.shape) - core:], lu, b,
                           cores=(2, core))
    return ShapedArray(shape, np.result_type(lu.dtype, float_dtype("lu_solve", b.dtype)))


lu_solve_p = Primitive("lu_solve", _lu_solve_impl, _lu_solve_abstract)


@defxp(lu_solve_p)
def _lu_solve_xp(xp: Any, lu: Any, piv: Any, b: Any, *, trans: int, vector: bool) -> Any:
    solve = _torch_linalg(xp, lu_solve_p, "lu_solve")
    dt = xp.result_type(lu.dtype, _floating(xp, b).dtype)
    lu, b = xp.astype(lu, dt), xp.astype(b, dt)
    if vector:
        b = b[..., None]
    batch = tuple(np.broadcast_shapes(tuple(lu.shape[:-2]), tuple(b.shape[:-2])))
    lu = xp.broadcast_to(lu, batch + tuple(lu.shape[-2:]))
    piv = xp.broadcast_to(xp.astype(piv, xp.int32) + 1, batch + tuple(piv.shape[-1:]))
    b = xp.broadcast_to(b, batch + tuple(b.shape[-2:]))
    out = solve(lu, piv, b, adjoint=bool(trans))   # real: the adjoint is the transpose
    return out[..., 0] if vector else out


def _lu_solve_jvp_lu(t: Any, ans: Any, lu: Any, piv: Any, b: Any, *, trans: int,
                     vector: bool) -> Any:
    low, up = lu_parts(lu)
    dl, du = lu_parts(t)
    dl = add(dl, negative(mask(shape_of(lu)[-1], float_dtype("lu", lu.dtype), "eye")))
    if trans == 0:   # −U⁻¹ L⁻¹ (L̇ U x + L U̇ x)
        inner = add(matvec(dl, matvec(up, ans, vector), vector),
                    matvec(low, matvec(du, ans, vector), vector))
        y = _tri_solve(low, inner, vector)
        return negative(_tri_solve(up, y, vector))
    # trans == 1: −A⁻ᵀ (Uᵀ L̇ᵀ + U̇ᵀ Lᵀ)(L⁻ᵀ U⁻ᵀ b)
    px = _tri_solve(mT(low), _tri_solve(mT(up), b, vector), vector)
    inner = add(matvec(mT(up), matvec(mT(dl), px, vector), vector),
                matvec(mT(du), matvec(mT(low), px, vector), vector))
    return negative(bind(lu_solve_p, lu, piv, inner, trans=1, vector=vector))


def _tri_solve(m: Any, b: Any, vector: bool) -> Any:
    return bind(solve_p, m, b, vector=vector)


def _lu_solve_jvp_b(t: Any, ans: Any, lu: Any, piv: Any, b: Any, *, trans: int,
                    vector: bool) -> Any:
    return bind(lu_solve_p, lu, piv, t, trans=trans, vector=vector)


def _lu_solve_transpose(ct: Any, lu: Any, piv: Any, b: Any, *, trans: int, vector: bool
                        ) -> tuple[None, None, Any]:
    if is_undefined(lu):
        raise TypeError("lu_solve is linear in its right-hand side only")
    return None, None, unbroadcast(bind(lu_solve_p, lu, piv, ct, trans=1 - trans,
                                        vector=vector), b.aval)


def _lu_solve_batch(args: Any, dims: Any, *, trans: int, vector: bool) -> tuple[Any, int]:
    common_size(args, dims, "lu_solve")
    triples = list(zip(args, dims, (2, 1, 1 if vector else 2), strict=True))
    loop = max(len(shape_of(x)) - (d is not None) - c for x, d, c in triples)
    moved = [x if d is None else pad_after_batch(moveaxis(x, d, 0), loop + c)
             for x, d, c in triples]
    if dims[0] is None and dims[1] is not None or dims[0] is not None and dims[1] is None:
        raise NotImplementedError("lu_solve under vmap: batch lu and piv together")
    return bind(lu_solve_p, *moved, trans=trans, vector=vector), 0


defjvp(lu_solve_p, _lu_solve_jvp_lu, None, _lu_solve_jvp_b)
deftranspose(lu_solve_p, _lu_solve_transpose)
defbatch(lu_solve_p, _lu_solve_batch)


def lu_factor(a: Any) -> tuple[Any, Any]:
    """``scipy.linalg.lu_factor`` of a square matrix: ``(lu, piv)``; ``lu`` is differentiable,
    ``piv`` (integers) is not."""
    check_matrix("lu_factor", a)
    if not needs_bind(a):
        return tuple(_lu_impl(a))  # type: ignore[return-value]
    lu, piv = bind(lu_p, a)
    return lu, piv


def lu_solve(lu_and_piv: tuple[Any, Any], b: Any, trans: int = 0) -> Any:
    """``scipy.linalg.lu_solve``: solve ``A x = b`` (``trans=1``: ``Aᵀ x = b``) from
    ``lu_factor``'s result."""
    lu, piv = lu_and_piv
    trans = {"N": 0, "T": 1}.get(trans, trans)  # type: ignore[call-overload]
    if trans not in (0, 1):
        raise ValueError(f"lu_solve: trans must be 0 ('N') or 1 ('T'), got {trans!r}")
    vector = len(shape_of(b)) == 1
    if not (needs_bind(lu) or needs_bind(b)):
        return _lu_solve_impl(lu, piv, b, trans=trans, vector=vector)
    return bind(lu_solve_p, lu, piv, b, trans=trans, vector=vector)
