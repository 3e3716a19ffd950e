"""``scan``, ``fori_loop`` and ``map``: loops with a static trip count, as one primitive.

``scan(f, init, xs)`` computes ``c₀ = init``, ``(cₜ₊₁, yₜ) = f(cₜ, xₜ)`` for ``t = 0 … n−1``
(``t = n−1 … 0`` with ``reverse=True``) and returns ``(cₙ, stack(y))``. Called with no
transformation active it is a plain Python loop; otherwise the body is staged once into a
:class:`~tensorcalc.core.ir.Program` and the loop is one ``scan`` equation whose params hold it,
whatever the trip count.

Derivatives. With ``k`` the loop constants, the tangent recursion is
``ċₜ₊₁ = ∂f/∂c ċₜ + ∂f/∂x ẋₜ + ∂f/∂k k̇`` and ``ẏₜ = …`` likewise: a scan of the *linear* body,
whose coefficients (the residuals) come from a forward scan that returns them as extra ``ys``
(:func:`~tensorcalc.lax.programs.linearize_program`). So linearize sees only linear equations.
The transpose of a linear scan is a scan in the opposite direction of the transposed body:
``c̄ₜ = (∂f/∂c)ᵀ c̄ₜ₊₁ + (∂y/∂c)ᵀ ȳₜ``, ``x̄ₜ = (∂f/∂x)ᵀ c̄ₜ₊₁ + …``, and ``k̄ = Σₜ (∂f/∂k)ᵀ …``,
accumulated in a carry. Under ``vmap`` the body is batched (the carry becomes batched when any
step makes it so: a fixpoint, as in JAX).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..compile.codegen import STATEMENTS, compile_program
from ..compile.passes import optimize
from ..core.backend import defxp, device, is_foreign, namespace
from ..core.context import trace_depth
from ..core.errors import ShapeError
from ..core.primitive import Primitive, Tracer, bind, get_aval
from ..core.shapes import ShapedArray, is_inexact_dtype, shape_str
from ..core.tree import tree_flatten, tree_unflatten
from ..core.zeros import Zero, instantiate
from ..interpreters.batch import (
    bdim_to_front,
    common_size,
    defbatch,
    is_batched,
    moveaxis,
    vmap_flat,
)
from ..interpreters.evaluate import eval_program
from ..interpreters.forward import defjvp_rule
from ..interpreters.sparsity import ProgramQuery, defsparsity_program
from ..interpreters.stage import stage_flat
from ..interpreters.transpose import deftranspose, is_undefined
from .programs import close_over, linearize_program, transpose_program
from .scan_accumulate import finish_accumulations, hoist_accumulations
from .scan_numba import numba_scan


def _split3(seq: Sequence[Any], nk: int, nc: int) -> tuple[list[Any], list[Any], list[Any]]:
    return list(seq[:nk]), list(seq[nk:nk + nc]), list(seq[nk + nc:])


def _plain(aval: ShapedArray) -> ShapedArray:
    return ShapedArray(aval.shape, aval.dtype)


# --- the primitive -------------------------------------------------------------------------


def _scan_impl(*args: Any, body: Any, length: int, reverse: bool, num_consts: int,
               num_carry: int, xp: Any = None) -> list[Any]:
    consts, carry, xs = _split3(args, num_consts, num_carry)
    ys: list[list[Any]] = [[] for _ in body.outputs[num_carry:]]
    steps = range(length - 1, -1, -1) if reverse else range(length)
    for t in steps:
        outs = eval_program(body, consts + carry + [x[t, ...] for x in xs])
        carry = outs[:num_carry]
        for acc, y in zip(ys, outs[num_carry:], strict=True):
            acc.append(y)
    if xp is not None:
        return carry + [xp.stack(acc[::-1] if reverse else acc) for acc in ys]
    return carry + _stack(ys, body.out_avals[num_carry:], length, reverse)


def _stack(ys: list[list[Any]], avals: Sequence[ShapedArray], length: int,
           reverse: bool) -> list[Any]:
    out = []
    for acc, av in zip(ys, avals, strict=True):
        if reverse:
            acc = acc[::-1]
        out.append(np.stack([np.asarray(y, av.dtype) for y in acc]) if acc
                   else np.zeros((length, *av.shape), av.dtype))
    return out


def _scan_abstract(*avals: ShapedArray, body: Any, length: int, reverse: bool,
                   num_consts: int, num_carry: int) -> list[ShapedArray]:
    if len(avals) != len(body.inputs):
        raise TypeError(f"scan: {len(avals)} operands for a body of {len(body.inputs)} inputs")
    carry = [_plain(a) for a in body.in_avals[num_consts:num_consts + num_carry]]
    ys = [ShapedArray((length, *a.shape), a.dtype) for a in body.out_avals[num_carry:]]
    return carry + ys


#: ``carry, ys = scan[body, length, reverse, num_consts, num_carry](*consts, *init, *xs)``.
scan_p = Primitive("scan", _scan_impl, _scan_abstract, multiple_results=True)
# On other backends the per-step outputs are stacked with xp.stack (a scan of length 0 has
# no outputs to take the library from, so it never gets here).
defxp(scan_p, lambda xp, *args, **params: _scan_impl(*args, **params, xp=xp))


def _scan_jvp(primals: list[Any], tangents: list[Any], *, body: Any, length: int,
              reverse: bool, num_consts: int, num_carry: int) -> tuple[list[Any], list[Any]]:
    """A forward scan that also returns the residuals, then a scan of the linear body."""
    nk, nc = num_consts, num_carry
    params = dict(length=length, reverse=reverse)
    n_out = len(body.outputs)
    inexact = [is_inexact_dtype(a.dtype) for a in body.in_avals]
    live = [inexact[i] and type(t) is not Zero for i, t in enumerate(tangents)]
    mask = _live_fixpoint(body, live, nk, nc)
    if not any(mask):
        outs = bind(scan_p, *primals, body=body, num_consts=nk, num_carry=nc, **params)
        return outs, [Zero(None)] * n_out
    out_inexact = mask[nk:nk + nc] + [is_inexact_dtype(a.dtype) for a in body.out_avals[nc:]]
    split = linearize_program(body, mask, nk, nc, out_inexact)
    outs = bind(scan_p, *primals, body=split.forward, num_consts=nk, num_carry=nc, **params)
    step_res = outs[n_out:]
    ts = [instantiate(t, p) if m else None
          for t, p, m in zip(tangents, primals, mask, strict=True)]
    k, c, x = _split3(primals, nk, nc)
    kt, ct, xt = _split3(ts, nk, nc)
    lin_k = [primals[i] for i in split.const_res] + [t for t in kt if t is not None]
    lin_c = [t for t in ct if t is not None]
    lin_x = ([primals[i] for i in split.x_res] + step_res + [t for t in xt if t is not None])
    t_lin = bind(scan_p, *lin_k, *lin_c, *lin_x, body=split.linear, num_consts=len(lin_k),
                 num_carry=len(lin_c), **params)
    it = iter(t_lin)
    t_outs = [next(it) if keep else Zero(None) for keep in out_inexact]
    return outs[:n_out], t_outs


def _live_fixpoint(body: Any, live: list[bool], nk: int, nc: int) -> list[bool]:
    """Which inputs carry a nonzero tangent: the live ones, and every carry that some step
    makes depend on a live input (a fixpoint over the carry, at most ``nc + 1`` passes)."""
    inexact = [is_inexact_dtype(a.dtype) for a in body.in_avals]
    mask = list(live)
    for _ in range(nc + 1):
        dep = {id(v) for v, m in zip(body.inputs, mask, strict=True) if m}
        for eq in body.equations:
            if eq.primitive.differentiable and any(id(a) in dep for a in eq.inputs):
                dep.update(id(v) for v in eq.outputs)
        new = list(mask)
        for i in range(nc):
            out = body.outputs[i]
            new[nk + i] = mask[nk + i] or (inexact[nk + i] and id(out) in dep)
        if new == mask:
            break
        mask = new
    return mask


def _scan_transpose(cts: list[Any], *args: Any, body: Any, length: int, reverse: bool,
                    num_consts: int, num_carry: int) -> list[Any]:
    """A scan in the other direction over the transposed body (see the module docstring)."""
    nk, nc = num_consts, num_carry
    consts, carry, xs = _split3(args, nk, nc)
    # A carry with a known value is an instantiated zero tangent (the map is linear, so it
    # cannot be anything else): it is transposed as a linear input and gets no cotangent.
    defined = {i: _plain(body.in_avals[i]) for i, a in enumerate(args)
               if not is_undefined(a) and not (nk <= i < nk + nc)}
    tbody = transpose_program(body, defined, nk, nc)
    k_def = [a for a in consts if not is_undefined(a)]
    k_lin = [a for a in consts if is_undefined(a)]
    x_def = [a for a in xs if not is_undefined(a)]
    out_avals = _scan_abstract(*body.in_avals, body=body, length=length, reverse=reverse,
                               num_consts=nk, num_carry=nc)
    cts = [np.zeros(av.shape, av.dtype) if type(c) is Zero else c
           for c, av in zip(cts, out_avals, strict=True)]
    acc0 = [np.zeros(a.aval.shape, a.aval.dtype) for a in k_lin]
    nacc = len(k_lin)
    # Outer-product accumulations of the constants' cotangents: one matmul after the loop.
    tbody, hoisted, n_extra = hoist_accumulations(tbody, len(k_def), nacc, nacc + nc)
    res = bind(scan_p, *k_def, *acc0, *cts[:nc], *x_def, *cts[nc:], body=tbody, length=length,
               reverse=not reverse, num_consts=len(k_def), num_carry=nacc + nc)
    if hoisted:
        ys = res[nacc + nc:]
        res = finish_accumulations(res[:nacc], hoisted, [*x_def, *cts[nc:]], ys) \
            + res[nacc:nacc + nc] + ys[:len(ys) - n_extra]
    it_k, it_c = iter(res[:len(k_lin)]), iter(res[len(k_lin):len(k_lin) + nc])
    it_x = iter(res[len(k_lin) + nc:])
    out: list[Any] = [next(it_k) if is_undefined(a) else None for a in consts]
    out += [next(it_c) if is_undefined(a) else _skip(next(it_c)) for a in carry]
    out += [next(it_x) if is_undefined(a) else None for a in xs]
    return out


def _skip(_: Any) -> None:
    return None


def _scan_batch(args: Sequence[Any], dims: Sequence[int | None], *, body: Any, length: int,
                reverse: bool, num_consts: int, num_carry: int) -> tuple[list[Any], list[Any]]:
    """Scan over the batched body; batch axes: consts and carry at 0, xs at 1 (0 is time)."""
    nk, nc = num_consts, num_carry
    size = common_size(args, dims, "scan")
    k, c, x = _split3(args, nk, nc)
    kd, cd, xd = _split3(dims, nk, nc)
    k = [a if d is None else moveaxis(a, d, 0) for a, d in zip(k, kd, strict=True)]
    x = [a if d is None else moveaxis(a, d, 1) for a, d in zip(x, xd, strict=True)]
    c = [a if d is None else moveaxis(a, d, 0) for a, d in zip(c, cd, strict=True)]
    carry_b = [d is not None for d in cd]
    in_avals = body.in_avals
    for _ in range(nc + 1):
        in_b = [d is not None for d in kd] + carry_b + [d is not None for d in xd]
        bbody, out_b = _batched_body(body, in_avals, in_b, nc, size)
        new_b = [a or b for a, b in zip(carry_b, out_b[:nc], strict=True)]
        if new_b == carry_b:
            break
        carry_b = new_b
    c = [bdim_to_front(a, None, size) if b and d is None else a
         for a, b, d in zip(c, carry_b, cd, strict=True)]
    outs = bind(scan_p, *k, *c, *x, body=bbody, length=length, reverse=reverse,
                num_consts=nk, num_carry=nc)
    out_dims = [0 if b else None for b in carry_b] + [1 if b else None for b in out_b[nc:]]
    return outs, out_dims


def _batched_body(body: Any, in_avals: Sequence[ShapedArray], in_b: Sequence[bool], nc: int,
                  size: int) -> tuple[Any, list[bool]]:
    rec: list[bool] = []
    in_dims = [0 if b else None for b in in_b]

    def inner(vals: list[Any]) -> list[Any]:
        outs = eval_program(body, vals)
        rec[:] = [is_batched(o) for o in outs]
        return outs

    def fn(ins: list[Any]) -> list[Any]:
        def out_dims() -> list[int | None]:
            return [0 if r else None for r in rec]

        return vmap_flat(inner, ins, in_dims, out_dims, axis_size=size)

    avals = [ShapedArray((size, *a.shape), a.dtype) if b else _plain(a)
             for a, b in zip(in_avals, in_b, strict=True)]
    prog = stage_flat(fn, avals)
    return prog, list(rec)


def _scan_source(ins: list[str], outs: list[str], params: dict[str, Any],
                 const: Callable[[Any], str], plain: bool) -> list[str]:
    """A Python ``for`` over the compiled body; ``ys`` are preallocated and filled. A long loop
    with a simple body becomes one Numba function instead (:mod:`tensorcalc.lax.scan_numba`)."""
    body, n, nk, nc = params["body"], params["length"], params["num_consts"], params["num_carry"]
    body = optimize(body)
    body_fn = compile_program(body, "scan_body", plain_strong_zeros=plain)[0]
    reverse = params["reverse"]
    looped = numba_scan(body, n, reverse, nk, nc, plain,
                        _numpy_loop(body_fn, body, n, reverse, nk, nc))
    if looped is not None:
        # The loop runs inside one Numba function; its source is shown as a comment.
        call = f"{', '.join(outs)}, = {const(looped)}({', '.join(ins)})"
        return [call, "# one Numba loop (tensorcalc.lax.scan_numba):"] \
            + [f"#   {line}" for line in looped.source.splitlines()]
    fn = const(body_fn)
    k, c, x = _split3(ins, nk, nc)
    carry, ys = outs[:nc], outs[nc:]
    t = f"_t_{outs[0]}" if outs else "_t"
    lines = [f"{v} = {a}" for v, a in zip(carry, c, strict=True)]
    for y, av in zip(ys, body.out_avals[nc:], strict=True):
        lines.append(f"{y} = np.empty({const((n, *av.shape))}, {const(av.dtype)})")
    steps = f"range({n - 1}, -1, -1)" if reverse else f"range({n})"
    lines.append(f"for {t} in {steps}:")
    call = ", ".join(k + carry + [f"{a}[{t}]" for a in x])
    # Unpacking straight into the carry names and the ys slices: no result tuple to index.
    targets = carry + [f"{y}[{t}]" for y in ys]
    lines.append(f"    {', '.join(targets) + ',' if targets else '_'} = {fn}({call})")
    return lines


def _numpy_loop(body_fn: Callable[..., Any], body: Any, n: int, reverse: bool, nk: int,
                nc: int) -> Callable[..., list[Any]]:
    """The NumPy loop as a function (what a Numba loop falls back to)."""
    specs = [((n, *a.shape), a.dtype) for a in body.out_avals[nc:]]

    def numpy_loop(*args: Any) -> list[Any]:
        consts, carry, xs = _split3(args, nk, nc)
        ys = [np.empty(shape, dtype) for shape, dtype in specs]
        for t in (range(n - 1, -1, -1) if reverse else range(n)):
            r = body_fn(*consts, *carry, *[x[t] for x in xs])
            carry = list(r[:nc])
            for y, v in zip(ys, r[nc:], strict=True):
                y[t] = v
        return list(carry) + ys

    return numpy_loop


def _scan_sparsity(q: ProgramQuery, *, body: Any, length: int, reverse: bool,
                   num_consts: int, num_carry: int) -> list[Any]:
    """Step by step, in the loop's order: the body maps the patterns of (consts, carry, the
    step's rows of xs) to those of (carry, the step's ys); the ys are stacked in time order.
    Exact (structurally) for the final carry — a stencil applied ``k`` times widens its band
    by ``k``, it does not fill in — and cheap once the loop reaches its fixed point: when
    the xs depend on nothing and a step returns the carry pattern it got, every later step
    repeats it, so the rest is copied without running the body."""
    alg = q.algebra
    nk, nc = num_consts, num_carry
    consts, carry, xs = _split3(q.in_pats, nk, nc)
    x_sizes = [_size(a.shape) for a in body.in_avals[nk + nc:]]
    y_sizes = [_size(a.shape) for a in body.out_avals[nc:]]
    ys: list[list[Any]] = [[None] * length for _ in y_sizes]
    steps = list(range(length - 1, -1, -1) if reverse else range(length))
    fixed = all(x is None for x in xs)
    for k, t in enumerate(steps):
        step_xs = [alg.rows(x, t * n, (t + 1) * n) for x, n in zip(xs, x_sizes, strict=True)]
        outs = alg.propagate(body, consts + carry + step_xs)
        new, step_ys = outs[:nc], outs[nc:]
        for acc, y in zip(ys, step_ys, strict=True):
            acc[t] = y
        settled = fixed and all(alg.same(a, b) for a, b in zip(carry, new, strict=True))
        carry = new
        if settled:  # every later step sees the inputs this one saw
            for acc, y in zip(ys, step_ys, strict=True):
                for later in steps[k + 1:]:
                    acc[later] = y
            break
    return carry + [alg.stack(acc, [n] * length) for acc, n in zip(ys, y_sizes, strict=True)]


def _size(shape: Sequence[Any]) -> int:
    return int(np.prod(shape, dtype=np.int64))


defjvp_rule(scan_p, _scan_jvp)
deftranspose(scan_p, _scan_transpose)
defbatch(scan_p, _scan_batch)
defsparsity_program(scan_p, lambda q: _scan_sparsity(q, **q.params))
STATEMENTS[scan_p] = _scan_source


# --- the user-facing functions -------------------------------------------------------------


class ScanError(ShapeError):
    """The body of a loop changed the structure, shape or dtype of its carry."""


def _check_carry(where: str, new: list[Any], new_tree: Any, old: list[ShapedArray],
                 old_tree: Any) -> None:
    if new_tree != old_tree:
        raise ScanError(f"{where}: the body returned a carry of structure {new_tree}, but the "
                        f"initial carry has structure {old_tree}; they must match")
    for k, (n, o) in enumerate(zip(new, old, strict=True)):
        na = get_aval(n)
        if tuple(na.shape) != tuple(o.shape) or na.dtype != o.dtype:
            raise ScanError(
                f"{where}: carry leaf {k} comes out of the body with shape "
                f"{shape_str(na.shape)} and dtype {na.dtype}, but it went in with shape "
                f"{shape_str(o.shape)} and dtype {o.dtype}; the carry must keep its shape and "
                "dtype from one iteration to the next")


def _length(xs_leaves: list[Any], length: int | None) -> int:
    sizes = {int(get_aval(x).shape[0]) for x in xs_leaves if get_aval(x).ndim > 0}
    if any(get_aval(x).ndim == 0 for x in xs_leaves):
        raise ScanError("scan: every leaf of xs needs a leading axis to scan over; got a scalar")
    if length is not None:
        sizes.add(int(length))
    if not sizes:
        raise ScanError("scan: give length= when xs is None (there is nothing to scan over)")
    if len(sizes) > 1:
        raise ScanError(f"scan: the leaves of xs (and length=) disagree on the trip count: "
                        f"{sorted(sizes)}; every leaf must have the same leading axis")
    return sizes.pop()


def scan(f: Callable[[Any, Any], tuple[Any, Any]], init: Any, xs: Any = None,
         length: int | None = None, reverse: bool = False,
         checkpoint: Any = None) -> tuple[Any, Any]:
    """``(carry, ys)`` of the loop ``carry, y = f(carry, x)`` over the leading axis of ``xs``
    (JAX's ``lax.scan``); ``ys`` stacks the ``y`` along a new leading axis.

    ``checkpoint`` trades recomputation for memory in reverse mode
    (:mod:`tensorcalc.lax.scan_checkpoint`): ``None`` stores every step's residuals (memory
    ``O(T)`` steps); ``"steps"`` stores one carry per step and recomputes each step's
    residuals (one extra forward); ``"sqrt"`` stores ``O(√T)`` carries at one extra forward;
    an int ``d`` nests ``d`` levels, ``O(d·T^(1/d))`` carries at ``d − 1`` extra forwards;
    ``"log"`` takes ``d = ⌈log₈ T⌉``: ``O(log T)`` carries at an ``O(log T)`` recompute factor.
    ``("revolve", s)`` is optimal binomial checkpointing (:mod:`tensorcalc.lax.revolve`):
    memory ``s`` carries plus one step's residuals; time: each step evaluated at most ``r``
    more times, for the least ``r`` with ``T ≤ C(s + 1 + r, r)``, and no schedule with ``s``
    snapshots evaluates fewer steps; ``"revolve"`` takes the fewest ``s`` with ``r = 2``
    (``s ≈ √(2T)``). Values and derivatives are the same whatever the schedule."""
    init_leaves, carry_tree = tree_flatten(init)
    xs_leaves, x_tree = tree_flatten(xs)
    n = _length(xs_leaves, length)
    init_avals = [_plain(get_aval(v)) for v in init_leaves]
    if n > 0 and trace_depth() == 0 and not any(
            isinstance(v, Tracer) for v in init_leaves + xs_leaves):
        return _scan_eager(f, init, xs_leaves, x_tree, n, reverse, init_avals, carry_tree)
    if checkpoint is not None and n > 0:
        from .scan_checkpoint import checkpointed_scan

        return checkpointed_scan(f, init, xs_leaves, x_tree, n, bool(reverse), checkpoint)
    store: dict[str, Any] = {}
    nc = len(init_leaves)

    def flat(ins: list[Any]) -> list[Any]:
        new, y = f(tree_unflatten(carry_tree, ins[:nc]), tree_unflatten(x_tree, ins[nc:]))
        new_leaves, new_tree = tree_flatten(new)
        _check_carry("scan", new_leaves, new_tree, init_avals, carry_tree)
        y_leaves, store["y_tree"] = tree_flatten(y)
        return new_leaves + y_leaves

    x_avals = [ShapedArray(tuple(get_aval(x).shape[1:]), get_aval(x).dtype) for x in xs_leaves]
    body, consts = close_over(stage_flat(flat, init_avals + x_avals))
    outs = bind(scan_p, *consts, *init_leaves, *xs_leaves, body=body, length=n,
                reverse=bool(reverse), num_consts=len(consts), num_carry=nc)
    return tree_unflatten(carry_tree, outs[:nc]), tree_unflatten(store["y_tree"], outs[nc:])


def _scan_eager(f: Callable[[Any, Any], tuple[Any, Any]], carry: Any, xs_leaves: list[Any],
                x_tree: Any, n: int, reverse: bool, init_avals: list[ShapedArray],
                carry_tree: Any) -> tuple[Any, Any]:
    """The plain Python loop (no transformation is active)."""
    ys: list[Any] = []
    y_tree = None
    for t in (range(n - 1, -1, -1) if reverse else range(n)):
        carry, y = f(carry, tree_unflatten(x_tree, [x[t, ...] for x in xs_leaves]))
        leaves, tree = tree_flatten(carry)
        _check_carry("scan", leaves, tree, init_avals, carry_tree)
        y_leaves, y_tree = tree_flatten(y)
        ys.append(y_leaves)
    if reverse:
        ys.reverse()
    stacked = [_stack_steps([step[j] for step in ys]) for j in range(len(ys[0]))]
    return carry, tree_unflatten(y_tree, stacked)


def _stack_steps(values: list[Any]) -> Any:
    """The per-step outputs stacked, with their own library's ``stack`` if not NumPy."""
    foreign = [v for v in values if is_foreign(v)]
    if foreign:
        xp = namespace(foreign[0])
        return xp.stack([xp.asarray(v, device=device(foreign[0])) for v in values])
    return np.stack([np.asarray(v) for v in values])


def fori_loop(lower: int, upper: int, body_fun: Callable[[Any, Any], Any],
              init_val: Any) -> Any:
    """``val = body_fun(i, val)`` for ``i`` in ``range(lower, upper)`` (JAX's ``fori_loop``).

    With concrete bounds the loop is a ``scan`` over ``i`` (differentiable in both modes);
    with traced bounds it is a ``while_loop`` (forward mode only, as in JAX)."""
    if isinstance(lower, Tracer) or isinstance(upper, Tracer):
        from .while_loop import while_loop

        def step(c: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
            i, hi, val = c
            return i + 1, hi, body_fun(i, val)

        return while_loop(lambda c: c[0] < c[1], step, (lower, upper, init_val))[2]
    lower, upper = int(lower), int(upper)
    if upper <= lower:
        return init_val
    if trace_depth() == 0 and not any(isinstance(v, Tracer) for v in tree_flatten(init_val)[0]):
        val = init_val
        for i in range(lower, upper):
            val = body_fun(i, val)
        return val

    def step(val: Any, i: Any) -> tuple[Any, None]:
        return body_fun(i, val), None

    return scan(step, init_val, np.arange(lower, upper))[0]


def map(f: Callable[[Any], Any], xs: Any) -> Any:  # noqa: A001  (JAX's name)
    """``stack([f(x) for x in xs])`` over the leading axis of ``xs`` (JAX's ``lax.map``)."""
    return scan(lambda c, x: (c, f(x)), (), xs)[1]
