"""``lax.scan(…, checkpoint="revolve")``: reverse mode through a scan on the optimal binomial
checkpointing schedule (:mod:`tensorcalc.lax.revolve_schedule`).

Three primitives carry it:

* ``revolve_scan[body, length, num_consts, num_carry, snapshots, record]`` is the loop itself;
  evaluated it is the plain loop, and with ``record`` (positions) it also returns the carries
  entering those steps, stacked: the snapshots of the schedule's first sweep, so the forward
  pass of the loop doubles as that sweep.
* Its JVP rule, when the tangents are staged (reverse mode), stores nothing but the loop's
  inputs and those snapshots: the tangent map is one ``revolve_lin`` equation, linear in the
  tangents, whose transpose is one ``revolve_bwd`` equation. In forward mode the loop is
  differentiated as the plain scan (nothing is stored there anyway).
* ``revolve_bwd`` runs the schedule at run time: advances with the compiled body, keeps at
  most ``snapshots`` carries, and reverses each step once, in reverse order, with the
  compiled vector-Jacobian product of the body at that step, accumulating the cotangents of
  the loop constants and writing those of the ``xs`` into a preallocated array.

Memory: ``snapshots`` carries plus one step's residuals, against ``T`` steps' residuals for the
plain scan. Time: every step is evaluated at most ``r + 1`` times plus its reversal, with ``r``
the recompute factor (:func:`~tensorcalc.lax.revolve_schedule.recompute_factor`); the default
takes the fewest snapshots with ``r = 2``, ``s ≈ √(2T)``. Derivatives of the backward pass itself
(second order through ``grad``) evaluate the schedule step by step under the outer
transformation, which under ``jit`` stages every step: fine for checking, not for long loops.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..compile.codegen import compile_program
from ..compile.passes import optimize
from ..core.ir import Program
from ..core.primitive import Primitive, Tracer, bind
from ..core.shapes import ShapedArray, is_inexact_dtype
from ..core.zeros import Zero, instantiate
from ..interpreters.batch import defbatch, vmap_flat
from ..interpreters.evaluate import eval_program
from ..interpreters.forward import defjvp_rule, jvp_flat
from ..interpreters.linearize import linearize_flat
from ..interpreters.stage import StageTracer, stage_flat
from ..interpreters.transpose import backward_pass, deftranspose
from .revolve_schedule import first_sweep, schedule
from .scan import _check_carry, _live_fixpoint, _split3, scan_p


def _plain(a: ShapedArray) -> ShapedArray:
    return ShapedArray(a.shape, a.dtype)


# --- revolve_scan: the loop -----------------------------------------------------------------


def _loop(evaluate: Any, args: Sequence[Any], body: Program, length: int, nk: int, nc: int,
          record: tuple[int, ...]) -> list[Any]:
    """The plain loop (``evaluate(body, inputs)``), recording the carries entering ``record``."""
    consts, carry, xs = _split3(list(args), nk, nc)
    marks = set(record)
    taken: list[list[Any]] = []
    ys: list[list[Any]] = [[] for _ in body.outputs[nc:]]
    for t in range(length):
        if t in marks:
            taken.append(list(carry))
        outs = evaluate(body, consts + carry + [x[t] for x in xs])
        carry = list(outs[:nc])
        for acc, y in zip(ys, outs[nc:], strict=True):
            acc.append(y)
    import tensorcalc.numpy as tnp

    stacked = [tnp.stack(acc) for acc in ys]
    snaps = [tnp.stack([c[i] for c in taken]) for i in range(nc)] if record else []
    return carry + stacked + snaps


def _revolve_impl(*args: Any, body: Program, length: int, num_consts: int, num_carry: int,
                  snapshots: int, record: tuple[int, ...]) -> list[Any]:
    fn = _compiled(body)[0]
    return _loop(lambda _, ins: fn(*ins), args, body, length, num_consts, num_carry, record)


def _revolve_abstract(*avals: ShapedArray, body: Program, length: int, num_consts: int,
                      num_carry: int, snapshots: int, record: tuple[int, ...]
                      ) -> list[ShapedArray]:
    nc = num_carry
    carry = [_plain(a) for a in body.in_avals[num_consts:num_consts + nc]]
    ys = [ShapedArray((length, *a.shape), a.dtype) for a in body.out_avals[nc:]]
    snaps = [ShapedArray((len(record), *a.shape), a.dtype) for a in carry] if record else []
    return carry + ys + snaps


#: ``carry, ys[, snapshots] = revolve_scan[…](*consts, *init, *xs)``.
revolve_scan_p = Primitive("revolve_scan", _revolve_impl, _revolve_abstract,
                           multiple_results=True)

_COMPILED: dict[int, tuple[Program, Any]] = {}
#: How many compiled bodies each cache keeps: eager ``grad`` stages a new body every call, so
#: an unbounded cache would grow with the number of calls.
CACHE_SIZE = 64


def _remember(cache: dict, key: Any, value: Any) -> Any:
    """``cache[key] = value``, dropping the oldest entries beyond :data:`CACHE_SIZE`."""
    cache[key] = value
    while len(cache) > CACHE_SIZE:
        cache.pop(next(iter(cache)))
    return value


def _compiled(body: Program) -> tuple[Any]:
    hit = _COMPILED.get(id(body))
    if hit is None or hit[0] is not body:
        hit = _remember(_COMPILED, id(body),
                        (body, compile_program(optimize(body), "revolve_body")[0]))
    return (hit[1],)


def _revolve_jvp(primals: list[Any], tangents: list[Any], *, body: Program, length: int,
                 num_consts: int, num_carry: int, snapshots: int, record: tuple[int, ...]
                 ) -> tuple[list[Any], list[Any]]:
    nk, nc = num_consts, num_carry
    params = dict(body=body, length=length, num_consts=nk, num_carry=nc, snapshots=snapshots)
    live = [is_inexact_dtype(a.dtype) and type(t) is not Zero
            for a, t in zip(body.in_avals, tangents, strict=True)]
    mask = _live_fixpoint(body, live, nk, nc)
    n_out = len(_revolve_abstract(*body.in_avals, record=record, **params))
    if not any(mask):
        return bind(revolve_scan_p, *primals, record=record, **params), [Zero(None)] * n_out
    ts = [t if m else None for t, m in zip(tangents, mask, strict=True)]
    if record or not any(isinstance(t, StageTracer) for t in ts if t is not None):
        # Forward mode: nothing is stored, so differentiate the plain loop.
        def plain(xs: list[Any]) -> list[Any]:
            if record:
                return _loop(eval_program, xs, body, length, nk, nc, record)
            return bind(scan_p, *xs, body=body, length=length, reverse=False,
                        num_consts=nk, num_carry=nc)

        return jvp_flat(plain, primals, ts)
    # The forward pass records the first sweep's snapshots and the carry entering the last
    # step, where the schedule's first reversal starts.
    sweep = tuple(sorted(set(first_sweep(length, snapshots)) | {length - 1}))
    outs = bind(revolve_scan_p, *primals, record=sweep, **params)
    n_plain = n_out
    saved = outs[n_plain:]
    live_ts = [instantiate(t, p) for t, p, m in zip(tangents, primals, mask, strict=True) if m]
    t_lin = bind(revolve_lin_p, *primals, *saved, *live_ts, mask=tuple(mask), sweep=sweep,
                 **params)
    it = iter(t_lin)
    out_avals = _revolve_abstract(*body.in_avals, record=(), **params)
    t_outs = [next(it) if is_inexact_dtype(a.dtype) else Zero(None) for a in out_avals]
    return outs[:n_plain], t_outs


def _revolve_batch(args: Sequence[Any], dims: Sequence[int | None], *, body: Program,
                   length: int, num_consts: int, num_carry: int, snapshots: int,
                   record: tuple[int, ...]) -> tuple[list[Any], list[Any]]:
    def run(xs: list[Any]) -> list[Any]:
        if record:
            return _loop(eval_program, xs, body, length, num_consts, num_carry, record)
        return bind(scan_p, *xs, body=body, length=length, reverse=False,
                    num_consts=num_consts, num_carry=num_carry)

    outs = vmap_flat(run, list(args), list(dims), 0)
    return outs, [0] * len(outs)


defjvp_rule(revolve_scan_p, _revolve_jvp)
defbatch(revolve_scan_p, _revolve_batch)


# --- revolve_lin: the tangent map, and its transpose revolve_bwd ---------------------------


def _n_in(body: Program) -> int:
    return len(body.inputs)


def _lin_impl(*args: Any, body: Program, length: int, num_consts: int, num_carry: int,
              snapshots: int, mask: tuple[bool, ...], sweep: tuple[int, ...]) -> list[Any]:
    """Applied forward: the plain scan's JVP at the primals."""
    n = _n_in(body)
    it = iter(args[n + (num_carry if sweep else 0):])
    ts = [next(it) if m else None for m in mask]
    _, t_outs = jvp_flat(lambda xs: bind(scan_p, *xs, body=body, length=length,
                                         reverse=False, num_consts=num_consts,
                                         num_carry=num_carry), list(args[:n]), ts)
    avals = _revolve_abstract(*body.in_avals, body=body, length=length, num_consts=num_consts,
                              num_carry=num_carry, snapshots=snapshots, record=())
    return [np.zeros(av.shape, av.dtype) if type(t) is Zero else t
            for t, av in zip(t_outs, avals, strict=True) if is_inexact_dtype(av.dtype)]


def _lin_abstract(*avals: ShapedArray, body: Program, length: int, num_consts: int,
                  num_carry: int, snapshots: int, mask: tuple[bool, ...],
                  sweep: tuple[int, ...]) -> list[ShapedArray]:
    outs = _revolve_abstract(*body.in_avals, body=body, length=length, num_consts=num_consts,
                             num_carry=num_carry, snapshots=snapshots, record=())
    return [a for a in outs if is_inexact_dtype(a.dtype)]


#: ``ṫ_out = revolve_lin[…](*primal_ins, *first_sweep_snapshots, *live tangents)``.
revolve_lin_p = Primitive("revolve_lin", _lin_impl, _lin_abstract, multiple_results=True)


def _lin_transpose(cts: list[Any], *args: Any, body: Program, length: int, num_consts: int,
                   num_carry: int, snapshots: int, mask: tuple[bool, ...],
                   sweep: tuple[int, ...]) -> list[Any]:
    n = _n_in(body)
    n_saved = num_carry if sweep else 0
    out_avals = _revolve_abstract(*body.in_avals, body=body, length=length,
                                  num_consts=num_consts, num_carry=num_carry,
                                  snapshots=snapshots, record=())
    it = iter(cts)
    full = [next(it) if is_inexact_dtype(a.dtype) else None for a in out_avals]
    full = [np.zeros(a.shape, a.dtype) if c is None or type(c) is Zero else c
            for c, a in zip(full, out_avals, strict=True)]
    got = bind(revolve_bwd_p, *args[:n + n_saved], *full, body=body, length=length,
               num_consts=num_consts, num_carry=num_carry, snapshots=snapshots, mask=mask,
               sweep=sweep)
    return [None] * (n + n_saved) + list(got)


deftranspose(revolve_lin_p, _lin_transpose)
defjvp_rule(revolve_lin_p, lambda primals, tangents, **p: jvp_flat(
    lambda xs: _lin_impl(*xs, **p), primals, tangents))
defbatch(revolve_lin_p, lambda args, dims, **p: _vmapped(_lin_impl, args, dims, p))


def _vmapped(fn: Any, args: Sequence[Any], dims: Sequence[int | None], params: dict
             ) -> tuple[list[Any], list[int]]:
    outs = vmap_flat(lambda xs: fn(*xs, **params), list(args), list(dims), 0)
    return outs, [0] * len(outs)


_STEP_FNS: dict[tuple[int, tuple[bool, ...]], tuple[Program, Any]] = {}


def _step_programs(body: Program, nk: int, nc: int, mask: tuple[bool, ...]
                   ) -> tuple[Program, Program]:
    """One step without its ``ys`` (the advances), and one step's vector-Jacobian product
    ``(consts, carry, x, c̄′ (live carries), ȳ (inexact ys)) ↦ (k̄, c̄, x̄)`` for the live inputs."""
    key = (id(body), mask)
    hit = _STEP_FNS.get(key)
    if hit is not None and hit[0] is body:
        return hit[1]
    from ..compile.passes import dead_code_elimination

    advance = dead_code_elimination(Program(body.inputs, body.equations,
                                            list(body.outputs[:nc])))
    live_c = [mask[nk + i] for i in range(nc)]
    inexact_y = [is_inexact_dtype(a.dtype) for a in body.out_avals[nc:]]
    n = len(body.inputs)

    def vjp_step(ins: list[Any]) -> list[Any]:
        prim, rest = ins[:n], iter(ins[n:])
        _, lin = linearize_flat(lambda xs: eval_program(body, xs), prim, list(mask),
                                escapes=False)
        cts = [next(rest) if m else Zero(None) for m in live_c]
        cts += [next(rest) if m else Zero(None) for m in inexact_y]
        got = backward_pass(lin.program, cts)
        return [instantiate(c, p) if type(c) is Zero else c
                for c, p, m in zip(got, prim, mask, strict=True) if m]

    in_avals = list(body.in_avals)
    in_avals += [_plain(a) for a, m in zip(body.out_avals[:nc], live_c, strict=True) if m]
    in_avals += [_plain(a) for a, m in zip(body.out_avals[nc:], inexact_y, strict=True) if m]
    progs = (advance, stage_flat(vjp_step, in_avals))
    _remember(_STEP_FNS, key, (body, progs))
    return progs


def _run_schedule(args: Sequence[Any], body: Program, length: int, nk: int, nc: int,
                  snapshots: int, mask: tuple[bool, ...], sweep: tuple[int, ...],
                  concrete: bool) -> list[Any]:
    """Execute the revolve schedule (see the module docstring); returns the cotangents of the
    live inputs: constants (summed over steps), initial carry, xs (stacked)."""
    import tensorcalc.numpy as tnp

    advance_p, vjp_p = _step_programs(body, nk, nc, mask)
    if concrete:
        adv_fn = _compiled_prog(advance_p)
        vjp_fn = _compiled_prog(vjp_p)

        def advance(ins: list[Any]) -> list[Any]:
            return list(adv_fn(*ins))

        def pull(ins: list[Any]) -> list[Any]:
            return list(vjp_fn(*ins))
    else:
        def advance(ins: list[Any]) -> list[Any]:
            return eval_program(advance_p, ins)

        def pull(ins: list[Any]) -> list[Any]:
            return eval_program(vjp_p, ins)

    n = len(body.inputs)
    n_saved = nc if sweep else 0
    consts, init, xs = _split3(list(args[:n]), nk, nc)
    saved, cts = list(args[n:n + n_saved]), list(args[n + n_saved:])
    live_c = [mask[nk + i] for i in range(nc)]
    inexact_y = [is_inexact_dtype(a.dtype) for a in body.out_avals[nc:]]
    c_bar = [c for c, m in zip(cts[:nc], live_c, strict=True) if m]
    y_bars = [c for c, m in zip(cts[nc:], inexact_y, strict=True) if m]
    n_k = sum(mask[:nk])
    n_x = sum(mask[nk + nc:])
    k_bar: list[Any] = [None] * n_k
    x_bar: list[list[Any]] = [[None] * length for _ in range(n_x)]
    held: dict[int, list[Any]] = {0: list(init)}
    # The actions are generated as they run: O(snapshots) memory, not O(T) tuples.
    actions = schedule(length, snapshots)
    current, pos = list(init), 0
    if sweep:  # the loop's forward pass took the first sweep's snapshots
        for j, p in enumerate(sweep):
            held[p] = [s[j] for s in saved]
        current, pos = held[length - 1], length - 1
        actions = itertools.dropwhile(lambda a: a[0] != "youturn", actions)
    for action in actions:
        kind = action[0]
        if kind == "restore":
            current, pos = held[action[1]], action[1]
        elif kind == "advance":
            for t in range(action[1], action[2]):
                current = advance(consts + current + [x[t] for x in xs])
            pos = action[2]
        elif kind == "snapshot":
            held[action[1]] = current
        elif kind == "drop":
            del held[action[1]]
        else:  # youturn
            t = action[1]
            assert t == pos, (t, pos)
            got = pull(consts + current + [x[t] for x in xs] + c_bar + [y[t] for y in y_bars])
            k_part, c_bar, x_part = got[:n_k], got[n_k:n_k + len(c_bar)], got[n_k + len(c_bar):]
            k_bar = [p if a is None else a + p for a, p in zip(k_bar, k_part, strict=True)]
            for acc, p in zip(x_bar, x_part, strict=True):
                acc[t] = p
    return k_bar + c_bar + [tnp.stack(acc) for acc in x_bar]


_PROG_FNS: dict[int, tuple[Program, Any]] = {}


def _compiled_prog(prog: Program) -> Any:
    hit = _PROG_FNS.get(id(prog))
    if hit is None or hit[0] is not prog:
        hit = _remember(_PROG_FNS, id(prog),
                        (prog, compile_program(optimize(prog), "revolve_step")[0]))
    return hit[1]


def _bwd_impl(*args: Any, body: Program, length: int, num_consts: int, num_carry: int,
              snapshots: int, mask: tuple[bool, ...], sweep: tuple[int, ...]) -> list[Any]:
    concrete = not any(isinstance(a, Tracer) for a in args)
    return _run_schedule(args, body, length, num_consts, num_carry, snapshots, mask, sweep,
                         concrete)


def _bwd_abstract(*avals: ShapedArray, body: Program, length: int, num_consts: int,
                  num_carry: int, snapshots: int, mask: tuple[bool, ...],
                  sweep: tuple[int, ...]) -> list[ShapedArray]:
    ins = body.in_avals
    nk, nc = num_consts, num_carry
    out = [_plain(a) for a, m in zip(ins[:nk], mask[:nk], strict=True) if m]
    out += [_plain(a) for a, m in zip(ins[nk:nk + nc], mask[nk:nk + nc], strict=True) if m]
    out += [ShapedArray((length, *a.shape), a.dtype)
            for a, m in zip(ins[nk + nc:], mask[nk + nc:], strict=True) if m]
    return out


#: ``(k̄, c̄₀, x̄) = revolve_bwd[…](*primal_ins, *snapshots, *output cotangents)``: runs the
#: schedule; linear in the cotangents.
revolve_bwd_p = Primitive("revolve_bwd", _bwd_impl, _bwd_abstract, multiple_results=True)


def _bwd_python(*args: Any, **params: Any) -> list[Any]:
    return _run_schedule(args, params["body"], params["length"], params["num_consts"],
                         params["num_carry"], params["snapshots"], params["mask"],
                         params["sweep"], False)


defjvp_rule(revolve_bwd_p, lambda primals, tangents, **p: jvp_flat(
    lambda xs: _bwd_python(*xs, **p), primals, tangents))
defbatch(revolve_bwd_p, lambda args, dims, **p: _vmapped(_bwd_python, args, dims, p))


# --- the entry point -----------------------------------------------------------------------


def revolve_scan(f: Any, init: Any, xs_leaves: list[Any], x_tree: Any, n: int, reverse: bool,
                 snapshots: int | None) -> tuple[Any, Any]:
    """``scan(f, init, xs)`` whose reverse mode runs the revolve schedule with ``snapshots``
    slots (default: the fewest with recompute factor 2)."""
    from ..core.primitive import get_aval
    from ..core.tree import tree_flatten, tree_unflatten
    from .programs import close_over
    from .revolve_schedule import snapshots_for

    if snapshots is None:
        snapshots = snapshots_for(n, 2)
    if isinstance(snapshots, bool) or not isinstance(snapshots, int) or snapshots < 0:
        raise ValueError(f"scan: checkpoint=('revolve', s) needs a number of snapshots s ≥ 0, "
                         f"got {snapshots!r}")
    if reverse:
        xs_leaves = [x[::-1] for x in xs_leaves]
    init_leaves, carry_tree = tree_flatten(init)
    init_avals = [_plain(get_aval(v)) for v in init_leaves]
    nc = len(init_leaves)
    store: dict[str, Any] = {}

    def flat(ins: list[Any]) -> list[Any]:
        new, y = f(tree_unflatten(carry_tree, ins[:nc]), tree_unflatten(x_tree, ins[nc:]))
        new_leaves, new_tree = tree_flatten(new)
        _check_carry("scan", new_leaves, new_tree, init_avals, carry_tree)
        y_leaves, store["y_tree"] = tree_flatten(y)
        return new_leaves + y_leaves

    x_avals = [ShapedArray(tuple(get_aval(x).shape[1:]), get_aval(x).dtype) for x in xs_leaves]
    body, consts = close_over(stage_flat(flat, init_avals + x_avals))
    outs = bind(revolve_scan_p, *consts, *init_leaves, *xs_leaves, body=body, length=n,
                num_consts=len(consts), num_carry=nc, snapshots=snapshots, record=())
    ys = outs[nc:]
    if reverse:
        ys = [y[::-1] for y in ys]
    return tree_unflatten(carry_tree, outs[:nc]), tree_unflatten(store["y_tree"], ys)
