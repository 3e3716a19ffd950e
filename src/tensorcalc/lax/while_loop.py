"""``while_loop``: a loop whose trip count depends on the values (JAX's ``lax.while_loop``).

``while_loop(cond_fun, body_fun, init)`` computes ``c = init; while cond_fun(c): c =
body_fun(c)``. With no transformation active it is that Python loop. Otherwise the two
functions are staged into Programs and the loop is one ``while`` equation; ``jit`` emits a
Python ``while`` over the compiled functions. ``fori_loop`` with traced bounds lowers to it.

Derivatives: forward mode only. The tangent follows the carry, ``ċ ← ∂body/∂c ċ + ∂body/∂k k̇``,
in the same loop (the trip count is piecewise constant, so it has no derivative). Reverse mode
would have to store every iteration's residuals for a trip count unknown in advance, which is
why JAX refuses it too: its transpose raises and points to ``scan`` / ``fori_loop`` with a
static trip count. Under ``vmap`` the loop runs until the predicate is false for every
example, and an example whose predicate is already false keeps its carry (``where``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np

from ..compile.codegen import STATEMENTS, compile_program
from ..compile.passes import optimize
from ..core.backend import defxp_neutral
from ..core.context import trace_depth
from ..core.errors import TensorcalcError
from ..core.ir import Program
from ..core.primitive import Primitive, Tracer, bind, get_aval
from ..core.shapes import ShapedArray, is_inexact_dtype
from ..core.tree import tree_flatten, tree_unflatten
from ..core.zeros import Zero, instantiate
from ..interpreters.batch import bdim_to_front, common_size, defbatch, moveaxis, vmap_flat
from ..interpreters.evaluate import eval_program
from ..interpreters.forward import defjvp_rule, jvp_flat
from ..interpreters.sparsity import ProgramQuery, defsparsity_program
from ..interpreters.stage import StageTracer, stage_flat
from ..interpreters.transpose import deftranspose
from .programs import close_over
from .scan import ScanError, _check_carry
from .while_numba import numba_while


class WhileLoopReverseModeError(TensorcalcError, TypeError):
    """Reverse-mode differentiation of a ``while_loop`` (not defined: the trip count is not
    known in advance)."""


def _plain(aval: ShapedArray) -> ShapedArray:
    return ShapedArray(aval.shape, aval.dtype)


def _while_impl(*args: Any, cond: Program, body: Program, cond_nconsts: int,
                body_nconsts: int) -> list[Any]:
    cc, bc = list(args[:cond_nconsts]), list(args[cond_nconsts:cond_nconsts + body_nconsts])
    carry = list(args[cond_nconsts + body_nconsts:])
    while bool(eval_program(cond, cc + carry)[0]):
        carry = eval_program(body, bc + carry)
    return carry


def _while_abstract(*avals: ShapedArray, cond: Program, body: Program, cond_nconsts: int,
                    body_nconsts: int) -> list[ShapedArray]:
    return [_plain(a) for a in body.in_avals[body_nconsts:]]


#: ``carry = while[cond, body](*cond_consts, *body_consts, *init)``.
while_p = Primitive("while", _while_impl, _while_abstract, multiple_results=True)
defxp_neutral(while_p)  # its impl runs sub-programs through bind


def _jvp_program(body: Program, nk: int, mask: Sequence[bool]) -> Program:
    """``(k, c, k̇, ċ) ↦ (c′, ċ′)`` for the inputs selected by ``mask`` (tangents of the
    unselected ones are zero); every inexact carry gets a tangent output."""
    n = len(body.inputs)
    t_idx = [i for i in range(n) if mask[i]]
    carry_t = [i for i in range(nk, n) if mask[i]]

    def both(ins: list[Any]) -> list[Any]:
        primals, ts = ins[:n], dict(zip(t_idx, ins[n:], strict=True))
        prim, tan = jvp_flat(lambda xs: eval_program(body, xs), primals,
                             [ts.get(i) for i in range(n)])
        return prim + [instantiate(tan[i - nk], prim[i - nk]) for i in carry_t]

    avals = [_plain(a) for a in body.in_avals] + [_plain(body.in_avals[i]) for i in t_idx]
    return stage_flat(both, avals)


def _while_jvp(primals: list[Any], tangents: list[Any], *, cond: Program, body: Program,
               cond_nconsts: int, body_nconsts: int) -> tuple[list[Any], list[Any]]:
    ncc, nk = cond_nconsts, body_nconsts
    params = dict(cond=cond, body=body, cond_nconsts=ncc, body_nconsts=nk)
    b_prim, b_tan = primals[ncc:], tangents[ncc:]
    inexact = [is_inexact_dtype(a.dtype) for a in body.in_avals]
    live = [m and type(t) is not Zero for m, t in zip(inexact, b_tan, strict=True)]
    if not any(live):
        return bind(while_p, *primals, **params), [Zero(None)] * (len(b_prim) - nk)
    # Every inexact carry is differentiated (a step can make its tangent nonzero).
    mask = [live[i] or (i >= nk and inexact[i]) for i in range(len(b_prim))]
    jbody = _jvp_program(body, nk, mask)
    k_t = [instantiate(t, p) for t, p, m in zip(b_tan[:nk], b_prim[:nk], mask[:nk], strict=True)
           if m]
    c_t = [instantiate(t, p) for t, p, m in zip(b_tan[nk:], b_prim[nk:], mask[nk:],
                                                strict=True) if m]
    n_c, n_ct = len(b_prim) - nk, len(c_t)
    # The new body reads (k, k̇) as constants and (c, ċ) as the carry.
    perm = list(range(nk)) + list(range(nk + n_c, nk + n_c + len(k_t))) \
        + list(range(nk, nk + n_c)) + list(range(nk + n_c + len(k_t), len(jbody.inputs)))
    jbody = Program([jbody.inputs[i] for i in perm], jbody.equations, jbody.outputs)
    from .cond import _widen

    jcond = _widen(cond, list(cond.inputs) + [None] * n_ct,
                   list(cond.in_avals) + [_plain(get_aval(t)) for t in c_t])
    _set_origin(jbody, origin_of(body))
    outs = bind(while_p, *primals[:ncc], *b_prim[:nk], *k_t, *b_prim[nk:], *c_t, cond=jcond,
                body=jbody, cond_nconsts=ncc, body_nconsts=nk + len(k_t))
    it = iter(outs[n_c:])
    t_outs = [next(it) if mask[nk + i] else Zero(None) for i in range(n_c)]
    primal_outs = outs[:n_c]
    staged_primals = {id(p._trace) for p in primals if isinstance(p, StageTracer)}
    if any(isinstance(t, StageTracer) and id(t._trace) not in staged_primals
           for t in c_t + k_t):
        # Tangents staged apart from the primals (linearize): the joint loop's primal outputs would
        # be staged values of the linear program, so products with them would read as
        # quadratic and hide the real obstacle (transposing the loop raises, clearly) — take
        # the primal outputs from a loop of the primals alone.
        primal_outs = bind(while_p, *primals, **params)
    return primal_outs, t_outs


def _while_transpose(cts: list[Any], *args: Any, **params: Any) -> list[Any]:
    origin = origin_of(params["body"])
    if origin:
        raise WhileLoopReverseModeError(origin)
    raise WhileLoopReverseModeError(
        "while_loop: reverse-mode differentiation (grad, vjp, jacrev) is not supported: the "
        "trip count is not known in advance, so the iterations cannot be stored for the "
        "backward pass. Use lax.scan or lax.fori_loop with concrete bounds (a static trip "
        "count), or forward mode (tc.jvp, tc.jacfwd).")


def _while_batch(args: Sequence[Any], dims: Sequence[int | None], *, cond: Program,
                 body: Program, cond_nconsts: int, body_nconsts: int
                 ) -> tuple[list[Any], list[int]]:
    """Loop while any example's predicate holds; finished examples keep their carry."""
    import tensorcalc.numpy as tnp

    ncc, nk = cond_nconsts, body_nconsts
    size = common_size(args, dims, "while")
    moved = [a if d is None else moveaxis(a, d, 0) for a, d in zip(args, dims, strict=True)]
    front = [None if d is None else 0 for d in dims]
    cc, bc, carry = moved[:ncc], moved[ncc:ncc + nk], moved[ncc + nk:]
    carry = [a if d is not None else bdim_to_front(a, None, size)
             for a, d in zip(carry, front[ncc + nk:], strict=True)]
    cc_d, bc_d = front[:ncc], front[ncc:ncc + nk]
    c_d = [0] * len(carry)

    def preds(vals: list[Any]) -> Any:
        return vmap_flat(lambda v: eval_program(cond, v), vals, cc_d + c_d, 0,
                         axis_size=size)[0]

    def bcond(ins: list[Any]) -> list[Any]:
        return [tnp.sum(tnp.where(preds(ins), 1.0, 0.0)) > 0.0]

    def bbody(ins: list[Any]) -> list[Any]:
        kc, kb, c = ins[:ncc], ins[ncc:ncc + nk], ins[ncc + nk:]
        p = preds(kc + c)
        new = vmap_flat(lambda v: eval_program(body, v), kb + c, bc_d + c_d, 0, axis_size=size)
        return [tnp.where(tnp.reshape(p, (size,) + (1,) * (get_aval(o).ndim - 1)), o, old)
                for o, old in zip(new, c, strict=True)]

    def aval(a: Any) -> ShapedArray:
        return _plain(get_aval(a))

    c_avals = [aval(a) for a in carry]
    pcond = stage_flat(bcond, [aval(a) for a in cc] + c_avals)
    pbody = stage_flat(bbody, [aval(a) for a in cc + bc] + c_avals)
    outs = bind(while_p, *cc, *cc, *bc, *carry, cond=pcond, body=pbody, cond_nconsts=ncc,
                body_nconsts=ncc + nk)
    return outs, [0] * len(outs)


def _while_source(ins: list[str], outs: list[str], params: dict[str, Any],
                  const: Callable[[Any], str], plain: bool) -> list[str]:
    """A Python ``while`` over the compiled predicate and body."""
    ncc, nk = params["cond_nconsts"], params["body_nconsts"]
    cond, body = optimize(params["cond"]), optimize(params["body"])
    cond_fn = compile_program(cond, "while_cond", plain_strong_zeros=plain)[0]
    body_fn = compile_program(body, "while_body", plain_strong_zeros=plain)[0]
    looped = numba_while(cond, body, ncc, nk, plain, _numpy_while(cond_fn, body_fn, ncc, nk))
    if looped is not None:
        # The loop runs inside one Numba function of scalars; its source is shown as a comment.
        call = f"{', '.join(outs)}, = {const(looped)}({', '.join(ins)})"
        return [call, "# one Numba loop (tensorcalc.lax.while_numba):"] \
            + [f"#   {line}" for line in looped.source.splitlines()]
    fc, fb = const(cond_fn), const(body_fn)
    cc, bc, init = ins[:ncc], ins[ncc:ncc + nk], ins[ncc + nk:]
    lines = [f"{o} = {i}" for o, i in zip(outs, init, strict=True)]
    lines.append(f"while {fc}({', '.join(cc + outs)})[0]:")
    target = (", ".join(outs) + ",") if outs else "_"
    lines.append(f"    {target} = {fb}({', '.join(bc + outs)})")
    return lines


def _numpy_while(cond_fn: Callable[..., Any], body_fn: Callable[..., Any], ncc: int,
                 nk: int) -> Callable[..., tuple[list[Any], int]]:
    """The NumPy loop as a function returning the carry and the trip count (what a Numba loop
    runs until it is compiled, and falls back to)."""
    def numpy_while(*args: Any) -> tuple[list[Any], int]:
        cc, bc, carry = args[:ncc], args[ncc:ncc + nk], list(args[ncc + nk:])
        steps = 0
        while cond_fn(*cc, *carry)[0]:
            carry = list(body_fn(*bc, *carry))
            steps += 1
        return carry, steps

    return numpy_while
#: Body applications the while rule tries before it stops following single entries.
WHILE_SPARSITY_STEPS = 256


def _while_sparsity(q: ProgramQuery) -> list[Any]:
    """The trip count is unknown, so the carry may have gone through the body any number of
    times: the least fixed point ``P = P₀ ∨ body(P)`` (zero trips included), reached by
    iterating — the patterns only grow, so it ends. The condition contributes nothing (it
    only decides when to stop). After ``WHILE_SPARSITY_STEPS`` applications without
    settling (a stencil's band still widening), each carry is taken as dense over the
    columns it reached, and that coarser iteration is run to its own fixed point."""
    alg = q.algebra
    nc_c, nc_b = q.params["cond_nconsts"], q.params["body_nconsts"]
    body = q.params["body"]
    consts = q.in_pats[nc_c:nc_c + nc_b]
    carry = list(q.in_pats[nc_c + nc_b:])
    sizes = [int(np.prod(a.shape, dtype=np.int64)) for a in q.out_avals]
    steps = 0
    while True:
        steps += 1
        coarse = steps > WHILE_SPARSITY_STEPS
        new = [alg.union(a, b) for a, b in zip(carry, alg.propagate(body, consts + carry),
                                                strict=True)]
        if coarse:  # dense over the columns reached: few more rounds, each adds columns
            new = [None if p is None else alg.dense([p], n)
                   for p, n in zip(new, sizes, strict=True)]
        if all(alg.same(a, b) for a, b in zip(carry, new, strict=True)):
            return new
        carry = new


defjvp_rule(while_p, _while_jvp)
deftranspose(while_p, _while_transpose)
defbatch(while_p, _while_batch)
defsparsity_program(while_p, _while_sparsity)
STATEMENTS[while_p] = _while_source


#: The error message for reverse mode through loops staged by a library function (odeint's
#: adaptive steps), keyed by the body Program's id (an entry goes with its Program): the user
#: called odeint, not while_loop.
_ORIGIN: dict[int, str] = {}
_origin_var: ContextVar[str] = ContextVar("while_origin", default="")


def _set_origin(body: Program, message: str) -> None:
    if message:
        _ORIGIN[id(body)] = message  # no reference to body: the entry dies with it
        weakref.finalize(body, _ORIGIN.pop, id(body), None)


def origin_of(body: Program) -> str:
    return _ORIGIN.get(id(body), "")


@contextmanager
def loop_origin(message: str) -> Iterator[None]:
    """Loops staged inside this block raise ``message`` when reverse mode reaches them."""
    token = _origin_var.set(message)
    try:
        yield
    finally:
        _origin_var.reset(token)


def while_loop(cond_fun: Callable[[Any], Any], body_fun: Callable[[Any], Any],
               init_val: Any) -> Any:
    """``val = body_fun(val)`` while ``cond_fun(val)`` (JAX's ``lax.while_loop``)."""
    leaves, tree = tree_flatten(init_val)
    if trace_depth() == 0 and not any(isinstance(v, Tracer) for v in leaves):
        val = init_val
        while bool(cond_fun(val)):
            val = body_fun(val)
            new, new_tree = tree_flatten(val)
            _check_carry("while_loop", new, new_tree, [_plain(get_aval(v)) for v in leaves],
                         tree)
        return val
    avals = [_plain(get_aval(v)) for v in leaves]

    def flat_cond(xs: list[Any]) -> list[Any]:
        p = cond_fun(tree_unflatten(tree, xs))
        pa = get_aval(p)
        if pa.shape != () or np.dtype(pa.dtype).kind != "b":
            raise ScanError(f"while_loop: cond_fun must return a scalar boolean, got "
                            f"{pa.str_short()}")
        return [p]

    def flat_body(xs: list[Any]) -> list[Any]:
        new, new_tree = tree_flatten(body_fun(tree_unflatten(tree, xs)))
        _check_carry("while_loop", new, new_tree, avals, tree)
        return new

    cond, cc = close_over(stage_flat(flat_cond, avals))
    body, bc = close_over(stage_flat(flat_body, avals))
    _set_origin(body, _origin_var.get())
    outs = bind(while_p, *cc, *bc, *leaves, cond=cond, body=body, cond_nconsts=len(cc),
                body_nconsts=len(bc))
    return tree_unflatten(tree, outs)
