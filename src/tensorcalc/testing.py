"""``check_grads``: verify derivatives against central differences and each other.

Forward mode is checked against the central difference
``(f(x + εv) − f(x − εv)) / 2ε ≈ J v`` along a random direction ``v``. Reverse mode is checked
with the dot-product identity ``⟨u, J v⟩ = ⟨Jᵀ u, v⟩`` for random ``u`` and ``v``, where ``J v``
comes from forward mode (or the central difference when forward mode is not being checked).
For ``order > 1`` the same checks are applied to the functions ``x ↦ J(x) v`` and
``x ↦ J(x)ᵀ u``, which covers every mixed second derivative in both modes.

Complex inputs move in complex directions ``v`` and the pairing is ``Re Σ aᵢ bᵢ`` (no
conjugation): a jvp of complex values is ℝ-linear (``conj``, ``Re``), and that is the pairing in
which reverse mode is its transpose (JAX's convention, docs/conventions.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .api import jvp, vjp
from .core.primitive import get_aval
from .core.tree import tree_flatten, tree_unflatten


class GradientCheckError(AssertionError):
    """A derivative disagrees with its reference; the message is a report of where and how."""


_TOL = {np.dtype(np.float64): (1e-5, 1e-5, 1e-5), np.dtype(np.float32): (1e-3, 5e-3, 5e-3),
        np.dtype(np.float16): (1e-2, 5e-2, 5e-2), np.dtype(np.complex128): (1e-5, 1e-5, 1e-5),
        np.dtype(np.complex64): (1e-3, 5e-3, 5e-3)}


def _leaf_dtype(x: Any) -> np.dtype:
    return get_aval(x).dtype


def _is_inexact(x: Any) -> bool:
    return np.issubdtype(_leaf_dtype(x), np.inexact)


def _random_like(x: Any, rng: np.random.Generator) -> Any:
    aval = get_aval(x)
    if not np.issubdtype(aval.dtype, np.inexact):
        return np.zeros(aval.shape, np.float64)
    v = rng.standard_normal(aval.shape)
    if np.issubdtype(aval.dtype, np.complexfloating):
        v = v + 1j * rng.standard_normal(aval.shape)
    return np.asarray(v, dtype=aval.dtype)


def _tols(leaves: Sequence[Any]) -> tuple[float, float, float]:
    dts = [_leaf_dtype(x) for x in leaves if _is_inexact(x)]
    worst = max((_TOL.get(d, _TOL[np.dtype(np.float64)]) for d in dts), default=_TOL[
        np.dtype(np.float64)])
    return worst


def _dot(a: Sequence[Any], b: Sequence[Any]) -> float:
    """``Re Σ aᵢ bᵢ`` over all leaves, without conjugation: the pairing in which a vjp is the
    transpose of a jvp (as in JAX). A jvp of complex values is only ℝ-linear in general
    (``conj``, ``Re``), so the identity holds for the real part; for a holomorphic function
    the imaginary part follows (it is the real part for the direction ``i v``)."""
    total = 0.0
    for x, y in zip(a, b, strict=True):
        total += np.sum(np.asarray(x, np.complex128) * np.asarray(y, np.complex128)).real
    return float(total)


def _compare(name: str, got: Sequence[Any], want: Sequence[Any], atol: float, rtol: float
             ) -> None:
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        g = np.asarray(g, np.complex128)
        w = np.asarray(w, np.complex128)
        if g.shape != w.shape:
            raise GradientCheckError(f"{name}: output {k} has shape {g.shape}, reference "
                                     f"has shape {w.shape}")
        err = np.abs(g - w)
        bound = atol + rtol * np.abs(w)
        if not np.all(err <= bound):
            bad = np.unravel_index(np.argmax(err - bound), err.shape) if err.ndim else ()
            raise GradientCheckError(
                f"{name}: output {k} differs from the reference.\n"
                f"  max abs error {err.max():.3e} at index {tuple(int(i) for i in bad)}: "
                f"got {g[bad]!r}, expected {w[bad]!r}\n"
                f"  tolerance: atol={atol:g}, rtol={rtol:g}")


def _central_difference(f: Callable[..., Any], tree: Any, leaves: list[Any], v: list[Any],
                        eps: float) -> list[Any]:
    """``(f(x + εv) − f(x − εv)) / 2ε`` per output leaf; integer leaves are not moved."""

    def at(sign: float) -> list[Any]:
        moved = [np.asarray(x) + sign * eps * d if _is_inexact(x) else x
                 for x, d in zip(leaves, v, strict=True)]
        return tree_flatten(f(*tree_unflatten(tree, moved)))[0]

    return [(np.asarray(h, np.complex128) - np.asarray(lo, np.complex128)) / (2 * eps)
            for h, lo in zip(at(1.0), at(-1.0), strict=True)]


def check_jvp(f: Callable[..., Any], args: tuple[Any, ...], rng: np.random.Generator,
              eps: float | None, atol: float | None, rtol: float | None) -> None:
    leaves, tree = tree_flatten(args)
    e0, a0, r0 = _tols(leaves)
    eps, atol, rtol = eps or e0, atol or a0, rtol or r0
    v = [_random_like(x, rng) for x in leaves]
    _, t_out = jvp(f, args, tree_unflatten(tree, v))
    fd = _central_difference(f, tree, leaves, v, eps)
    _compare("forward mode (jvp) vs central difference", tree_flatten(t_out)[0], fd, atol, rtol)


def check_vjp(f: Callable[..., Any], args: tuple[Any, ...], rng: np.random.Generator,
              eps: float | None, atol: float | None, rtol: float | None,
              use_fd: bool) -> None:
    leaves, tree = tree_flatten(args)
    e0, a0, r0 = _tols(leaves)
    eps, atol, rtol = eps or e0, atol or a0, rtol or r0
    out, pullback = vjp(f, *args)
    out_leaves, out_tree = tree_flatten(out)
    u = [_random_like(o, rng) for o in out_leaves]
    ct = tree_flatten(pullback(tree_unflatten(out_tree, u)))[0]
    v = [_random_like(x, rng) for x in leaves]
    if use_fd:
        jv = _central_difference(f, tree, leaves, v, eps)
    else:
        jv = tree_flatten(jvp(f, args, tree_unflatten(tree, v))[1])[0]
    lhs = _dot(u, jv)
    # The pullback gives None for integer leaves, which flattening drops: pair the remaining
    # cotangents with the directions of the inexact leaves only.
    rhs = _dot(ct, [d for x, d in zip(leaves, v, strict=True) if _is_inexact(x)])
    scale = max(abs(lhs), abs(rhs), 1.0)
    if not abs(lhs - rhs) <= atol + rtol * scale:
        raise GradientCheckError(
            "reverse mode (vjp) fails the dot-product identity <u, J v> = <J^T u, v>:\n"
            f"  <u, J v> = {lhs!r} ({'central difference' if use_fd else 'forward mode'})\n"
            f"  <J^T u, v> = {rhs!r} (reverse mode)\n"
            f"  difference {abs(lhs - rhs):.3e}, tolerance atol={atol:g} rtol={rtol:g}")


def check_grads(f: Callable[..., Any], args: Sequence[Any], order: int = 2,
                modes: Sequence[str] = ("fwd", "rev"), eps: float | None = None,
                atol: float | None = None, rtol: float | None = None, seed: int = 0) -> None:
    """Check ``f``'s derivatives up to ``order`` in the given ``modes``; raise
    :class:`GradientCheckError` with a report on the first mismatch.

    ``args`` is the tuple of positional arguments (pytrees allowed). Tolerances default by dtype
    (float64: ε = 1e-5, atol = rtol = 1e-5; float32: ε = 1e-3, atol = rtol = 5e-3).
    """
    args = tuple(args)
    modes = tuple(modes)
    for m in modes:
        if m not in ("fwd", "rev"):
            raise ValueError(f"check_grads: unknown mode {m!r}; use 'fwd' and/or 'rev'")
    if order < 1:
        raise ValueError("check_grads: order must be >= 1")
    rng = np.random.default_rng(seed)
    leaves, tree = tree_flatten(args)
    if "fwd" in modes:
        check_jvp(f, args, rng, eps, atol, rtol)
    if "rev" in modes:
        check_vjp(f, args, rng, eps, atol, rtol, use_fd="fwd" not in modes)
    if order == 1:
        return
    if "fwd" in modes:
        v = tree_unflatten(tree, [_random_like(x, rng) for x in leaves])

        def f_jvp(*primals: Any) -> Any:
            return jvp(f, primals, v)[1]

        check_grads(f_jvp, args, order - 1, modes, eps, atol, rtol, seed + 1)
    if "rev" in modes:
        out = f(*args)
        out_leaves, out_tree = tree_flatten(out)
        u = tree_unflatten(out_tree, [_random_like(o, rng) for o in out_leaves])
        diff = [i for i, x in enumerate(leaves) if _is_inexact(x)]

        def f_vjp(*primals: Any) -> Any:
            cts = tree_flatten(vjp(f, *primals)[1](u))[0]
            return [cts[i] for i in diff]

        check_grads(f_vjp, args, order - 1, modes, eps, atol, rtol, seed + 2)
