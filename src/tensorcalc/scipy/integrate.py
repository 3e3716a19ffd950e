"""``tensorcalc.scipy.integrate.odeint``: an adaptive ODE solve differentiated by the adjoint
method (JAX's ``jax.experimental.ode.odeint``).

``odeint(func, y0, t, *args)`` integrates ``dy/dt = func(y, t, *args)`` from ``t[0]`` and returns
``y`` at every time of ``t`` (increasing), with ``y[0] = y0``. The forward solve is Dormand–Prince
5(4) with step-size control and 4th-order dense output, each interval of ``t`` one
:func:`~tensorcalc.lax.while_loop` (so ``jit`` and ``vmap`` go through it). The whole solve is a
:class:`~tensorcalc.custom.custom_vjp`: reverse mode integrates the adjoint system
``(y, ȳ, t̄, θ̄)`` backwards from ``t[-1]`` (the vector-Jacobian products of ``func`` are taken
per stage), never differentiating the forward steps; the adjoint is one solve with a jump
``ȳ ← ȳ + ḡᵢ`` at each output time, each interval starting with the step size the previous one
ended with (the first with the forward solve's last, kept as a residual). Derivatives exist
with respect to ``y0``, ``t`` and ``args`` (and values ``func`` closes over); forward mode
(``jvp``, ``jacfwd``) raises, as for every ``custom_vjp`` function.

Speed: a stage is ``yᵢ = y + dt · (βᵢ · K)``, the tableau row ``βᵢ`` times the matrix ``K`` of
the stages so far (one product, whose transpose is one product), and ``func``'s program is
simplified before it is differentiated. Under ``jit`` with Numba installed, both loops compile
to scalarized Numba functions when the state is small (:mod:`tensorcalc.lax.while_numba`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import numpy as tnp
from ..compile.passes import optimize
from ..core.errors import ShapeError
from ..core.primitive import Tracer, get_aval
from ..core.shapes import ShapedArray, is_inexact_dtype, shape_str
from ..core.tree import tree_flatten, tree_unflatten
from ..custom import custom_vjp
from ..interpreters.evaluate import eval_program
from ..interpreters.stage import StageTracer, stage_flat
from ..lax import while_loop
from ..lax.programs import close_over
from ..lax.while_loop import loop_origin
from .integrate_loop import adjoint_all, solve_all

__all__ = ["odeint"]

_ALPHA = [1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0, 1.0]
_BETA = [[1 / 5], [3 / 40, 9 / 40], [44 / 45, -56 / 15, 32 / 9],
         [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
         [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
         [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]]
_C_SOL = [35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0.0]
_C_ERR = [35 / 384 - 1951 / 21600, 0.0, 500 / 1113 - 22642 / 50085, 125 / 192 - 451 / 720,
          -2187 / 6784 + 12231 / 42400, 11 / 84 - 649 / 6300, -1.0 / 60.0]
_C_MID = [6025192743 / 30085553152 / 2, 0.0, 51252292925 / 65400821598 / 2,
          -2691868925 / 45128329728 / 2, 187940372067 / 1594534317056 / 2,
          -1776094331 / 19743644256 / 2, 11237099 / 235043384 / 2]


# The stage combinations as one matrix product each, with the tableau's rows as constants:
# a few NumPy calls per stage whatever its number of terms, and under reverse mode the
# transpose of a product is a product (not one scatter-add per term).
_TABLEAU = [np.array(b) for b in _BETA]
_OUT_ROWS = np.array([_C_SOL, _C_ERR, _C_MID])  # y₁, error estimate, midpoint


def _rk_step(fn: Callable, y: Any, f: Any, t: Any, dt: Any, last: Any = None
             ) -> tuple[Any, Any, Any, Any]:
    """One Dormand–Prince step: ``(y₁, f(y₁), error estimate, midpoint value)``. With ``last
    = (use, y_r, t_r)`` the last stage is evaluated at ``(y_r, t_r)`` where ``use`` holds (a
    restart of the adjoint: that step is discarded, its last stage is ``f`` at the restart)."""
    ks = tnp.reshape(f, (1, -1))  # the stages so far, one per row
    for a, beta in zip(_ALPHA, _TABLEAU, strict=True):
        y_in, t_in = y + dt * (beta @ ks), t + dt * a
        if last is not None and beta is _TABLEAU[-1]:
            y_in, t_in = tnp.where(last[0], last[1], y_in), tnp.where(last[0], last[2], t_in)
        k = fn(y_in, t_in)
        ks = tnp.concatenate([ks, tnp.reshape(k, (1, -1))])
    comb = dt * (_OUT_ROWS @ ks)
    return y + comb[0], k, comb[1], y + comb[2]


def step(fn: Callable, s: tuple, rtol: float, atol: float, last: Any = None) -> tuple:
    """The adaptive step on ``s = (i, y, f, t, dt, last_t, coeff)``: a step accepted when the
    scaled error is ≤ 1, the step size adjusted either way, ``coeff`` the dense output."""
    i, y, f, t, dt, last_t, coeff = s
    y1, f1, err, y_mid = _rk_step(fn, y, f, t, dt, last)
    tol = atol + rtol * tnp.maximum(tnp.abs(y), tnp.abs(y1))
    ratio = tnp.mean((err / tol) ** 2)
    d0, d1 = dt * f, dt * f1
    new_coeff = tnp.stack([
        -2.0 * d0 + 2.0 * d1 - 8.0 * y - 8.0 * y1 + 16.0 * y_mid,
        5.0 * d0 - 3.0 * d1 + 18.0 * y + 14.0 * y1 - 32.0 * y_mid,
        -4.0 * d0 + d1 - 11.0 * y - 5.0 * y1 + 16.0 * y_mid, d0, y])
    dfactor = tnp.where(ratio < 1, 1.0, 0.2)
    factor = tnp.minimum(10.0, tnp.maximum(
        tnp.where(ratio > 0, ratio, 1.0) ** (-1.0 / 5.0) * 0.9, dfactor))
    new_dt = tnp.where(ratio == 0, dt * 10.0, dt * factor)
    ok = ratio <= 1.0
    return (i + 1, tnp.where(ok, y1, y), tnp.where(ok, f1, f), tnp.where(ok, t + dt, t),
            new_dt, tnp.where(ok, t, last_t), tnp.where(ok, new_coeff, coeff)), f1


def interpolate(t: Any, last_t: Any, coeff: Any, target: Any) -> Any:
    """The dense output of the last accepted step ``[last_t, t]`` at ``target``."""
    span = t - last_t
    s = (target - last_t) / tnp.where(span > 0, span, 1.0)
    return (((coeff[0] * s + coeff[1]) * s + coeff[2]) * s + coeff[3]) * s + coeff[4]


def _norm(x: Any) -> Any:
    return tnp.sqrt(tnp.sum(x * x))


def _initial_step(fn: Callable, t0: Any, y0: Any, f0: Any, rtol: float, atol: float) -> Any:
    scale = atol + tnp.abs(y0) * rtol
    d0, d1 = _norm(y0 / scale), _norm(f0 / scale)
    h0 = tnp.where(tnp.logical_or(d0 < 1e-5, d1 < 1e-5), 1e-6,
                   0.01 * d0 / tnp.where(d1 > 0, d1, 1.0))
    f1 = fn(y0 + h0 * f0, t0 + h0)
    d2 = _norm((f1 - f0) / scale) / h0
    big = tnp.maximum(d1, d2)
    h1 = tnp.where(tnp.logical_and(d1 <= 1e-15, d2 <= 1e-15), tnp.maximum(1e-6, h0 * 1e-3),
                   (0.01 / tnp.where(big > 0, big, 1.0)) ** (1.0 / 5.0))
    return tnp.minimum(100.0 * h0, h1)


def _integrate(fn: Callable, y0: Any, ts: list[Any], rtol: float, atol: float, mxstep: int,
               dt: Any = None) -> tuple[list[Any], Any]:
    """``y`` at each time of ``ts`` (flat vectors), ``y[0] = y0``, and the last step size;
    ``dt`` is the first step size to try (by default chosen from ``fn`` at ``y0``)."""
    f0 = fn(y0, ts[0])
    if dt is None:
        dt = _initial_step(fn, ts[0], y0, f0, rtol, atol)
    zeros = tnp.zeros((5,) + tuple(get_aval(y0).shape), dtype=get_aval(y0).dtype)
    carry = (y0, f0, ts[0], dt, ts[0], zeros + y0)
    out = [y0]
    for target in ts[1:]:
        def cond(s: Any, target: Any = target) -> Any:
            i, t, dt = s[0], s[3], s[4]
            return tnp.logical_and(tnp.logical_and(t < target, i < mxstep), dt > 0)

        def body(s: Any) -> Any:
            return step(fn, s, rtol, atol)[0]

        _, *rest = while_loop(cond, body, (0,) + carry)
        carry = tuple(rest)
        out.append(interpolate(carry[2], carry[4], carry[5], target))
    return out, carry[3]


def _make_odeint() -> custom_vjp:
    def forward(fn: Callable, rtol: float, atol: float, mxstep: int, y0: Any, ts: Any,
                params: list[Any]) -> tuple[Any, Any]:
        """The solution at ``ts`` and the last step size."""
        times = [ts[i] for i in range(get_aval(ts).shape[0])]
        rhs = lambda y, t: fn(y, t, params)  # noqa: E731
        n = get_aval(y0).shape[0]
        f0 = rhs(y0, times[0])
        dt = _initial_step(rhs, times[0], y0, f0, rtol, atol)
        if _one_loop(len(times), n, n, y0, ts, *params):
            return solve_all(rhs, y0, f0, dt, ts, rtol, atol, mxstep, step, interpolate)
        out, dt = _integrate(rhs, y0, times, rtol, atol, mxstep, dt)
        return tnp.stack(out), dt

    def solve(fn: Callable, rtol: float, atol: float, mxstep: int, y0: Any, ts: Any,
              params: list[Any]) -> Any:
        return forward(fn, rtol, atol, mxstep, y0, ts, params)[0]

    def fwd(fn: Callable, rtol: float, atol: float, mxstep: int, y0: Any, ts: Any,
            params: list[Any]) -> Any:
        ys, dt = forward(fn, rtol, atol, mxstep, y0, ts, params)
        # The last step size of the forward solve is the adjoint's first (it starts at t[-1]).
        return ys, (ys, ts, params, dt)

    def bwd(fn: Callable, rtol: float, atol: float, mxstep: int, res: Any, g: Any) -> Any:
        from ..api import vjp

        ys, ts, params, dt = res
        n = get_aval(ys).shape[1]
        live = [i for i, p in enumerate(params) if is_inexact_dtype(get_aval(p).dtype)]
        shapes = [tuple(get_aval(params[i]).shape) for i in live]
        sizes = [int(np.prod(s)) for s in shapes]

        def aug(state: Any, t: Any) -> Any:
            y, y_bar = state[:n], state[n:2 * n]

            def f_of(y: Any, t: Any, *sub: Any) -> Any:
                full = list(params)
                for i, v in zip(live, sub, strict=True):
                    full[i] = v
                return fn(y, t, full)

            y_dot, pull = vjp(f_of, y, -t, *[params[i] for i in live])
            cts = pull(y_bar)
            parts = [-y_dot, cts[0], tnp.reshape(cts[1], (1,))]
            parts += [tnp.reshape(c, (-1,)) for c in cts[2:]]
            return tnp.concatenate(parts)

        ts_list = [ts[i] for i in range(get_aval(ts).shape[0])]
        m = len(ts_list)
        if _one_loop(m, n, 2 * n + 1 + sum(sizes), ys, g, *params):
            return _bwd_one_loop(fn, aug, ys, g, ts, params, live, shapes, sizes, dt, rtol,
                                 atol, mxstep)
        y_bar = g[m - 1]
        t0_bar = tnp.zeros((1,), dtype=get_aval(ys).dtype)
        args_bar = tnp.zeros((sum(sizes),), dtype=get_aval(ys).dtype)
        ts_bar = [None] * m
        for i in range(m - 1, 0, -1):
            t_bar = tnp.sum(fn(ys[i], ts_list[i], params) * g[i])
            t0_bar = t0_bar - t_bar
            ts_bar[i] = t_bar
            state = tnp.concatenate([ys[i], y_bar, t0_bar, args_bar])
            # Each interval starts with the step size the previous one ended with (the first
            # with the forward solve's last): the adjoint is one solve with jumps in ȳ.
            ends, dt = _integrate(aug, state, [-ts_list[i], -ts_list[i - 1]], rtol, atol,
                                  mxstep, dt)
            end = ends[1]
            y_bar = end[n:2 * n] + g[i - 1]
            t0_bar, args_bar = end[2 * n:2 * n + 1], end[2 * n + 1:]
        ts_bar[0] = t0_bar[0]
        p_bar: list[Any] = [np.zeros(get_aval(p).shape) for p in params]
        off = 0
        for i, shape, size in zip(live, shapes, sizes, strict=True):
            p_bar[i] = tnp.reshape(args_bar[off:off + size], shape)
            off += size
        return y_bar, tnp.stack(ts_bar), p_bar

    def _bwd_one_loop(fn: Callable, aug: Callable, ys: Any, g: Any, ts: Any, params: list[Any],
                      live: list[int], shapes: list[tuple], sizes: list[int], dt: Any,
                      rtol: float, atol: float, mxstep: int) -> Any:
        """``bwd`` as one loop over all intervals (:mod:`.integrate_loop`)."""
        m, n = get_aval(ys).shape
        dtype = get_aval(ys).dtype
        from ..transforms import vmap

        # t̄ᵢ = ⟨f(yᵢ, tᵢ), gᵢ⟩ for every output time at once (one batched evaluation).
        t_bars = tnp.concatenate([tnp.zeros((1,), dtype=dtype), vmap(
            lambda y, t, gi: tnp.sum(fn(y, t, params) * gi))(ys[1:], ts[1:], g[1:])])
        # The loop's first iteration restarts from (y(t[-1]), 0, 0, 0) to the adjoint's initial
        # state, evaluating f there as every restart does.
        seed = tnp.concatenate([ys[m - 1], tnp.zeros((n + 1 + sum(sizes),), dtype=dtype)])
        end = adjoint_all(aug, ys, g, ts, t_bars, seed, dt, n, rtol, atol, mxstep, step,
                          interpolate)
        p_bar: list[Any] = [np.zeros(get_aval(p).shape) for p in params]
        off = 2 * n + 1
        for i, shape, size in zip(live, shapes, sizes, strict=True):
            p_bar[i] = tnp.reshape(end[off:off + size], shape)
            off += size
        return end[n:2 * n], tnp.concatenate([end[2 * n:2 * n + 1], t_bars[1:]]), p_bar

    op = custom_vjp(_named(solve), nondiff_argnums=(0, 1, 2, 3))
    op.defvjp(_named(fwd), _named(bwd))
    return op


def _one_loop(m: int, n: int, width: int, *values: Any) -> bool:
    """Whether to run each direction as one loop (:mod:`.integrate_loop`): under ``jit``, when
    its loops will be compiled by Numba (a step's stages, ``7 × width`` numbers, and the ``m ×
    n`` outputs fit :data:`~tensorcalc.lax.while_numba.MAX_ELEMENTS`). The NumPy loops are
    faster per interval: their straight-line code between loops is cheaper than handling the
    intervals inside the loop at every step."""
    from ..lax import scan_numba, while_numba

    return (any(isinstance(v, StageTracer) for v in values)
            and scan_numba.loop_compiler() != "numpy" and scan_numba.numba_available()
            and 7 * width <= while_numba.MAX_ELEMENTS and m * n <= while_numba.MAX_ELEMENTS)


_REVERSE_OVER_REVERSE = (
    "odeint: reverse mode through odeint's own reverse pass (grad of grad, jacrev of a "
    "gradient, a Hessian by reverse over reverse) is not supported: both the solve and its "
    "adjoint are adaptive while_loops, whose trip count is not known in advance. Take second "
    "derivatives forward over reverse instead: tc.hessian(f), tc.jacfwd(tc.grad(f)) or "
    "tc.jvp(tc.grad(f), primals, tangents).")


def _named(fn: Callable) -> Callable:
    """``fn`` with the loops it stages raising the odeint message in reverse mode."""
    def named(*args: Any) -> Any:
        with loop_origin(_REVERSE_OVER_REVERSE):
            return fn(*args)

    named.__name__ = getattr(fn, "__name__", "odeint")
    return named


_odeint = _make_odeint()


def odeint(func: Callable[..., Any], y0: Any, t: Any, *args: Any, rtol: float = 1.4e-8,
           atol: float = 1.4e-8, mxstep: int = 10 ** 9) -> Any:
    """``y(t)`` for ``dy/dt = func(y, t, *args)``, ``y(t[0]) = y0``: an array with a leading
    axis of length ``len(t)`` (see the module docstring)."""
    y0 = tnp.asarray(y0)
    if not is_inexact_dtype(get_aval(y0).dtype):
        y0 = y0 * 1.0
    t = tnp.asarray(t)
    if not is_inexact_dtype(get_aval(t).dtype):
        t = t * 1.0
    if get_aval(t).ndim != 1 or get_aval(t).shape[0] < 1:
        raise ShapeError(f"odeint: t must be a 1-D array of times, got shape "
                         f"{shape_str(get_aval(t).shape)}")
    if not isinstance(t, Tracer) and np.any(np.diff(np.asarray(t)) < 0):
        raise ValueError("odeint: the times t must be nondecreasing, got "
                         f"{np.array2string(np.asarray(t), precision=4)}")
    shape, dtype = tuple(get_aval(y0).shape), get_aval(y0).dtype
    arg_leaves, arg_tree = tree_flatten(args)

    def flat(ins: list[Any]) -> list[Any]:
        y = tnp.reshape(ins[0], shape)
        dy = func(y, ins[1], *tree_unflatten(arg_tree, ins[2:]))
        if tuple(get_aval(dy).shape) != shape:
            raise ShapeError(f"odeint: func returned shape {shape_str(get_aval(dy).shape)} for "
                             f"a state of shape {shape_str(shape)}; they must match")
        return [tnp.reshape(dy * 1.0, (-1,))]

    n = int(np.prod(shape))
    avals = [ShapedArray((n,), dtype), ShapedArray((), get_aval(t).dtype)]
    avals += [ShapedArray(get_aval(a).shape, get_aval(a).dtype) for a in arg_leaves]
    # Simplified once here (CSE merges the user's repeated ``y[0]``), so the seven
    # vector-Jacobian products per adjoint step each transpose one indexing, not one per use.
    prog, consts = close_over(optimize(stage_flat(flat, avals)))
    nc = len(consts)

    def fn(y: Any, s: Any, params: list[Any]) -> Any:
        return eval_program(prog, list(params[:nc]) + [y, s] + list(params[nc:]))[0]

    ys = _odeint(fn, rtol, atol, mxstep, tnp.reshape(y0, (n,)), t, list(consts) + arg_leaves)
    return tnp.reshape(ys, (get_aval(t).shape[0],) + shape)
