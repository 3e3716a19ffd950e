"""``tensorcalc.scipy.sparse.linalg``: iterative solvers ``cg``, ``bicgstab`` and ``gmres``
(JAX's ``jax.scipy.sparse.linalg``).

``A`` is a square matrix or a function ``x ↦ A x``; ``M`` (a matrix or a function, default the
identity) is a preconditioner approximating ``A⁻¹``. The iterations run in a
:func:`~tensorcalc.lax.while_loop` (so ``jit`` and ``vmap`` go through them) inside
:func:`~tensorcalc.lax.custom_linear_solve`: derivatives with respect to ``b`` and to whatever
``A`` uses are further solves, never differentiated iterations. ``cg`` assumes ``A`` is
symmetric positive definite (its transpose solve is itself); ``bicgstab`` and ``gmres`` solve
with ``Aᵀ`` in reverse mode. The second result is ``None``, as in JAX (no ``info`` code).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np

from ... import numpy as tnp
from ...core.primitive import get_aval
from ...core.shapes import shape_str
from ...lax import custom_linear_solve, while_loop
from ...lax.implicit import LinearSolveError

__all__ = ["bicgstab", "cg", "gmres"]


def _vdot(a: Any, b: Any) -> Any:
    return tnp.sum(a * b)


def _as_operator(name: str, role: str, A: Any, b: Any) -> Callable[[Any], Any]:  # noqa: N803
    if callable(A):
        return A
    shape = tuple(get_aval(A).shape)
    n = int(np.prod(get_aval(b).shape))
    if len(shape) != 2 or shape[0] != shape[1]:
        raise LinearSolveError(f"{name}: {role} must be a square matrix or a function, got "
                               f"shape {shape_str(shape)}")
    if shape[1] != n or get_aval(b).ndim != 1:
        raise LinearSolveError(f"{name}: {role} has shape {shape_str(shape)} but b has shape "
                               f"{shape_str(get_aval(b).shape)}; expected b of shape "
                               f"({shape[1]},)")
    return lambda x: tnp.matmul(A, x)


def _prepare(name: str, A: Any, b: Any, x0: Any, M: Any, maxiter: int | None  # noqa: N803
             ) -> tuple[Callable[[Any], Any], Any, Any, Callable[[Any], Any], int]:
    b = tnp.asarray(b)
    if not np.issubdtype(np.dtype(get_aval(b).dtype), np.inexact):
        b = b * 1.0
    matvec = _as_operator(name, "A", A, b)
    x0 = np.zeros(get_aval(b).shape, get_aval(b).dtype) if x0 is None else tnp.asarray(x0)
    if tuple(get_aval(x0).shape) != tuple(get_aval(b).shape):
        raise LinearSolveError(f"{name}: x0 has shape {shape_str(get_aval(x0).shape)} but b "
                               f"has shape {shape_str(get_aval(b).shape)}; they must match")
    y = matvec(x0)
    if tuple(get_aval(y).shape) != tuple(get_aval(b).shape):
        raise LinearSolveError(f"{name}: A maps x of shape {shape_str(get_aval(b).shape)} to "
                               f"shape {shape_str(get_aval(y).shape)}; b has shape "
                               f"{shape_str(get_aval(b).shape)} (A must be square)")
    precond = (lambda x: x) if M is None else _as_operator(name, "M", M, b)
    size = int(np.prod(get_aval(b).shape))
    return matvec, b, x0, precond, 10 * size if maxiter is None else int(maxiter)


def _threshold(b: Any, tol: float, atol: float) -> Any:
    return tnp.maximum(tol ** 2 * _vdot(b, b), atol ** 2)


def _cg_solve(A: Callable, b: Any, *, x0: Any, tol: float, atol: float, maxiter: int,  # noqa: N803
              M: Callable) -> Any:  # noqa: N803
    atol2 = _threshold(b, tol, atol)

    def cond(v: Any) -> Any:
        _, r, _, _, k = v
        return tnp.logical_and(_vdot(r, r) > atol2, k < maxiter)

    def body(v: Any) -> Any:
        x, r, gamma, p, k = v
        q = A(p)
        alpha = gamma / _vdot(p, q)
        x, r = x + alpha * p, r - alpha * q
        z = M(r)
        gamma_new = _vdot(r, z)
        return x, r, gamma_new, z + (gamma_new / gamma) * p, k + 1

    r0 = b - A(x0)
    p0 = M(r0)
    return while_loop(cond, body, (x0, r0, _vdot(r0, p0), p0, 0))[0]


def _bicgstab_solve(A: Callable, b: Any, *, x0: Any, tol: float, atol: float,  # noqa: N803
                    maxiter: int, M: Callable) -> Any:  # noqa: N803
    atol2 = _threshold(b, tol, atol)

    def cond(v: Any) -> Any:
        k, r = v[-1], v[1]
        return tnp.logical_and(tnp.logical_and(_vdot(r, r) > atol2, k < maxiter), k >= 0)

    def body(v: Any) -> Any:
        x, r, rhat, alpha, omega, rho, p, q, k = v
        rho_ = _vdot(rhat, r)
        beta = rho_ / rho * alpha / omega
        p_ = r + beta * (p - omega * q)
        phat = M(p_)
        q_ = A(phat)
        alpha_ = rho_ / _vdot(rhat, q_)
        s = r - alpha_ * q_
        early = _vdot(s, s) < atol2
        shat = M(s)
        t = A(shat)
        tt = _vdot(t, t)
        omega_ = _vdot(t, s) / tnp.where(tt > 0, tt, 1.0)
        x_ = tnp.where(early, x + alpha_ * phat, x + alpha_ * phat + omega_ * shat)
        r_ = tnp.where(early, s, s - omega_ * t)
        k_ = tnp.where(tnp.logical_or(omega_ == 0, alpha_ == 0), -11, k + 1)
        k_ = tnp.where(rho_ == 0, -10, k_)
        return x_, r_, rhat, alpha_, omega_, rho_, p_, q_, k_

    r0 = b - A(x0)
    one = np.ones((), get_aval(r0).dtype)
    return while_loop(cond, body, (x0, r0, r0, one, one, one, r0, r0, 0))[0]


def _gmres_solve(A: Callable, b: Any, *, x0: Any, tol: float, atol: float,  # noqa: N803
                 maxiter: int, M: Callable, restart: int) -> Any:  # noqa: N803
    """Restarted GMRES (right-preconditioned): ``restart`` Arnoldi steps per outer iteration,
    the small least-squares problem solved by its (slightly regularized) normal equations."""
    shape = get_aval(b).shape
    n = int(np.prod(shape))
    m = max(1, min(restart, n))
    atol2 = _threshold(b, tol, atol)

    def op(v: Any) -> Any:
        return tnp.reshape(A(tnp.reshape(M(tnp.reshape(v, shape)), shape)), (n,))

    def cond(v: Any) -> Any:
        _, r, k = v
        return tnp.logical_and(_vdot(r, r) > atol2, k < maxiter)

    def body(v: Any) -> Any:
        x, r, k = v
        r = tnp.reshape(r, (n,))
        beta = tnp.sqrt(_vdot(r, r))
        basis = [r / beta]
        h = [[None] * m for _ in range(m + 1)]
        for j in range(m):
            w = op(basis[j])
            for i in range(j + 1):
                h[i][j] = _vdot(w, basis[i])
                w = w - h[i][j] * basis[i]
            nw = tnp.sqrt(_vdot(w, w))
            h[j + 1][j] = nw
            basis.append(w / tnp.where(nw > 1e-300, nw, 1.0))
            for i in range(j + 2, m + 1):
                h[i][j] = np.zeros((), get_aval(b).dtype)
        hm = tnp.stack([tnp.stack(row) for row in h])
        g = tnp.concatenate([tnp.reshape(beta, (1,)), tnp.zeros((m,), dtype=get_aval(b).dtype)])
        hth = tnp.matmul(tnp.transpose(hm), hm)
        ridge = 1e-28 * (tnp.trace(hth) + 1e-300)
        y = tnp.linalg.solve(hth + ridge * tnp.eye(m), tnp.matmul(tnp.transpose(hm), g))
        dx = tnp.matmul(tnp.stack(basis[:m], axis=1), y)
        x = x + tnp.reshape(M(tnp.reshape(dx, shape)), shape)
        return x, b - A(x), k + 1

    return while_loop(cond, body, (x0, b - A(x0), 0))[0]


def _solve(name: str, method: Callable, A: Any, b: Any, x0: Any, tol: float,  # noqa: N803
           atol: float, maxiter: int | None, M: Any, symmetric: bool, **kw: Any) -> Any:  # noqa: N803
    matvec, b, x0, precond, maxiter = _prepare(name, A, b, x0, M, maxiter)
    solve = partial(method, x0=x0, tol=tol, atol=atol, maxiter=maxiter, M=precond, **kw)
    # The transposed solve uses the same method on Aᵀ (the preconditioner is assumed symmetric).
    return custom_linear_solve(matvec, b, solve=solve,
                               transpose_solve=None if symmetric else solve,
                               symmetric=symmetric), None


def cg(A: Any, b: Any, x0: Any = None, *, tol: float = 1e-5, atol: float = 0.0,  # noqa: N803
       maxiter: int | None = None, M: Any = None) -> tuple[Any, None]:  # noqa: N803
    """Conjugate gradients for a symmetric positive definite ``A``: ``(x, None)`` with
    ``‖b − A x‖ ≤ max(tol·‖b‖, atol)`` (JAX's ``jax.scipy.sparse.linalg.cg``)."""
    return _solve("cg", _cg_solve, A, b, x0, tol, atol, maxiter, M, True)


def bicgstab(A: Any, b: Any, x0: Any = None, *, tol: float = 1e-5, atol: float = 0.0,  # noqa: N803
             maxiter: int | None = None, M: Any = None) -> tuple[Any, None]:  # noqa: N803
    """BiCGSTAB for a general square ``A``: ``(x, None)`` (JAX's ``bicgstab``)."""
    return _solve("bicgstab", _bicgstab_solve, A, b, x0, tol, atol, maxiter, M, False)


def gmres(A: Any, b: Any, x0: Any = None, *, tol: float = 1e-5, atol: float = 0.0,  # noqa: N803
          restart: int = 20, maxiter: int | None = None, M: Any = None) -> tuple[Any, None]:  # noqa: N803
    """Restarted GMRES for a general square ``A``: ``(x, None)``; ``maxiter`` counts restarts
    (JAX's ``gmres``)."""
    return _solve("gmres", _gmres_solve, A, b, x0, tol, atol, maxiter, M, False,
                  restart=restart)
