"""Rematerialization: ``checkpoint(f, policy=None)`` (alias ``remat``) and ``checkpoint_name``.

``checkpoint(f)`` computes the same values and derivatives as ``f``, but reverse mode through
it stores only the block's *inputs*: the residuals of its linearization (``1 − tanh²``, the
intermediates a product needs) are recomputed during the backward pass instead of being kept
from the forward pass. That trades one extra forward evaluation of the block for its memory.

How. The block is staged once into a :class:`~tensorcalc.core.ir.Program`, the ``body`` of one
``checkpoint`` equation. Its JVP rule, when the tangents are being staged (linearize, hence
reverse mode), evaluates the body on the primals and stages one linear equation,
``checkpoint_lin``, whose constants are the block's primal inputs (and the values the policy
saves) and whose linear inputs are the tangents. The linear program thus holds no residual of
the block. The transpose of ``checkpoint_lin`` linearizes the body at those inputs again and
runs its backward pass. In pure forward mode (``jvp``) the block is differentiated inline:
nothing is stored there anyway.

Policies (``tc.checkpoint_policies``): ``None`` / ``nothing_saveable`` saves nothing;
``dots_saveable`` saves the results of ``matmul`` and ``einsum`` (recomputing only the cheap
elementwise work); ``save_only_these_names(*names)`` saves the values marked with
``checkpoint_name(x, name)``. A saved value is a constant of ``checkpoint_lin``; on the
recompute its equation is not evaluated again, its tangent is taken from the product's
linearity (or, for a name, is the input's).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

from .core.backend import defxp_neutral
from .core.context import trace_depth
from .core.ir import Literal, Program
from .core.primitive import Primitive, Tracer, bind, get_aval
from .core.shapes import ShapedArray, is_inexact_dtype
from .core.tree import tree_flatten, tree_map, tree_unflatten
from .core.zeros import Zero, instantiate
from .interpreters.batch import defbatch, defvectorized, is_batched, moveaxis, vmap_flat
from .interpreters.evaluate import eval_program
from .interpreters.forward import JVPTracer, add_tangents, defjvp_rule, jvp_flat
from .interpreters.linearize import linearize_flat
from .interpreters.sparsity import ProgramQuery, defsparsity_program
from .interpreters.stage import StageTracer, stage_flat
from .interpreters.transpose import backward_pass, deflinear, deftranspose
from .lax.programs import close_over
from .ops.einsum import einsum_p
from .ops.products import matmul_p


def _plain(aval: ShapedArray) -> ShapedArray:
    return ShapedArray(aval.shape, aval.dtype)


# --- policies ------------------------------------------------------------------------------


class Policy:
    """Which equations of a checkpointed block keep their value for the backward pass."""

    __slots__ = ("name", "saves")

    def __init__(self, name: str, saves: Callable[[Any], bool]) -> None:
        self.name, self.saves = name, saves

    def __repr__(self) -> str:
        return self.name


_MULTILINEAR = frozenset({matmul_p, einsum_p})  # keyed by the primitives, never their names


def _save_names(*names: str) -> Policy:
    keep = frozenset(names)
    return Policy(f"save_only_these_names{tuple(sorted(keep))}",
                  lambda eq: eq.primitive is checkpoint_name_p and eq.params["name"] in keep)


checkpoint_policies = SimpleNamespace(
    nothing_saveable=None,
    dots_saveable=Policy("dots_saveable", lambda eq: eq.primitive in _MULTILINEAR),
    save_only_these_names=_save_names,
)

# --- checkpoint_name -----------------------------------------------------------------------

checkpoint_name_p = Primitive("checkpoint_name", lambda x, name: x, lambda x, name: x)
defxp_neutral(checkpoint_name_p)  # the identity on any backend
deflinear(checkpoint_name_p, lambda ct, x, name: [ct])
defvectorized(checkpoint_name_p)


def checkpoint_name(x: Any, name: str) -> Any:
    """``x`` itself, marked ``name`` for ``save_only_these_names`` (a pytree is fine)."""
    return tree_map(lambda v: bind(checkpoint_name_p, v, name=name)
                    if isinstance(v, Tracer) else v, x)


# --- evaluation with saved values ----------------------------------------------------------


def _eval(body: Program, args: list[Any], policy: Policy | None, saved: list[Any] | None
          ) -> tuple[list[Any], list[Any]]:
    """Evaluate ``body``; returns its outputs and the values ``policy`` saves. With ``saved``
    given, those equations are not evaluated: their values come from ``saved`` and their
    tangent (at the top JVP level among ``args``) from linearity."""
    env: dict[int, Any] = {id(v): a for v, a in zip(body.inputs, args, strict=True)}
    levels = [a._trace for a in args if type(a) is JVPTracer]
    top = max(levels, key=lambda t: t.level) if levels else None
    out_saved: list[Any] = []
    it = iter(saved or ())

    def read(a: Any) -> Any:
        return a.value if isinstance(a, Literal) else env[id(a)]

    last = _last_uses(body)
    for k, eq in enumerate(body.equations):
        vals = [read(a) for a in eq.inputs]
        for v in last[k]:
            del env[v]  # dead after this equation: the recompute holds only live values
        if policy is not None and policy.saves(eq):
            out = _known(eq, vals, next(it), top) if saved is not None else \
                eq.primitive.bind(*vals, **eq.params)
            out_saved.append(out)
        else:
            out = eq.primitive.bind(*vals, **eq.params)
        if eq.primitive.multiple_results:
            for v, o in zip(eq.outputs, out, strict=True):
                env[id(v)] = o
        else:
            env[id(eq.outputs[0])] = out
    outs = [read(a) for a in body.outputs]
    return [instantiate(o) if type(o) is Zero else o for o in outs], out_saved


def _last_uses(body: Program) -> list[list[int]]:
    """For each equation, the variables (ids) it is the last to read (outputs excluded)."""
    keep = {id(a) for a in body.outputs}
    seen: set[int] = set(keep)
    last: list[list[int]] = [[] for _ in body.equations]
    for k in range(len(body.equations) - 1, -1, -1):
        for a in body.equations[k].inputs:
            if not isinstance(a, Literal) and id(a) not in seen:
                seen.add(id(a))
                last[k].append(id(a))
    return last


def _known(eq: Any, vals: list[Any], value: Any, top: Any) -> Any:
    """The output of a saved (multilinear or identity) equation with a known value."""
    if top is None:
        return value
    primals = [v.primal if type(v) is JVPTracer and v._trace is top else v for v in vals]
    t_out: Any = Zero(None)
    for i, v in enumerate(vals):
        if type(v) is JVPTracer and v._trace is top:
            if eq.primitive is checkpoint_name_p:
                t = v.tangent
            else:
                t = eq.primitive.bind(*primals[:i], v.tangent, *primals[i + 1:], **eq.params)
            t_out = add_tangents(t_out, t)
    return top.pure(value, t_out)  # the plain value when t_out is Zero


# --- the primitives ------------------------------------------------------------------------


def _ckpt_impl(*args: Any, body: Program, policy: Policy | None) -> list[Any]:
    return _eval(body, list(args), None, None)[0]


def _ckpt_abstract(*avals: ShapedArray, body: Program, policy: Policy | None
                   ) -> list[ShapedArray]:
    if len(avals) != len(body.inputs):
        raise TypeError(f"checkpoint: {len(avals)} operands for a body of {len(body.inputs)}")
    return [_plain(a) for a in body.out_avals]


#: ``outs = checkpoint[body, policy](*ins)``: the block, recomputed in the backward pass.
checkpoint_p = Primitive("checkpoint", _ckpt_impl, _ckpt_abstract, multiple_results=True)
defxp_neutral(checkpoint_p)  # its impl runs sub-programs through bind


def _lin_impl(*args: Any, body: Program, policy: Policy | None, live: tuple[bool, ...],
              n_saved: int) -> list[Any]:
    """Applied forward (the linear map itself): the body's JVP at the primals."""
    n = len(body.inputs)
    it = iter(args[n + n_saved:])
    ts = [next(it) if m else None for m in live]
    _, t_outs = jvp_flat(lambda xs: _eval(body, xs, None, None)[0], list(args[:n]), ts)
    return [instantiate(t, _zeros_like(av)) if type(t) is Zero else t
            for t, av in zip(t_outs, body.out_avals, strict=True)
            if is_inexact_dtype(av.dtype)]


def _zeros_like(av: ShapedArray) -> Any:
    import numpy as np

    return np.zeros(av.shape, av.dtype)


def _lin_abstract(*avals: ShapedArray, body: Program, policy: Policy | None,
                  live: tuple[bool, ...], n_saved: int) -> list[ShapedArray]:
    return [_plain(a) for a in body.out_avals if is_inexact_dtype(a.dtype)]


#: ``ṫ_out = checkpoint_lin[body, …](*primal_ins, *saved, *live tangents)``: linear in the
#: tangents; its transpose recomputes the block's linearization from ``primal_ins``.
checkpoint_lin_p = Primitive("checkpoint_lin", _lin_impl, _lin_abstract, multiple_results=True)
defxp_neutral(checkpoint_lin_p)  # its impl runs sub-programs through bind


def _ckpt_jvp(primals: list[Any], tangents: list[Any], *, body: Program,
              policy: Policy | None) -> tuple[list[Any], list[Any]]:
    n_out = len(body.outputs)
    live = [is_inexact_dtype(a.dtype) and type(t) is not Zero
            for a, t in zip(body.in_avals, tangents, strict=True)]
    if not any(live):
        return bind(checkpoint_p, *primals, body=body, policy=policy), [Zero(None)] * n_out
    if not any(isinstance(t, StageTracer) for t, m in zip(tangents, live, strict=True) if m):
        # Forward mode: nothing is stored, so differentiate the block inline.
        return jvp_flat(lambda xs: eval_program(body, xs), primals,
                        [t if m else None for t, m in zip(tangents, live, strict=True)])
    if policy is None:
        outs, saved = bind(checkpoint_p, *primals, body=body, policy=None), []
    else:
        outs, saved = _eval(body, list(primals), policy, None)
    ts = [instantiate(t, p) for t, p, m in zip(tangents, primals, live, strict=True) if m]
    t_lin = bind(checkpoint_lin_p, *primals, *saved, *ts, body=body, policy=policy,
                 live=tuple(live), n_saved=len(saved))
    it = iter(t_lin)
    t_outs = [next(it) if is_inexact_dtype(a.dtype) else Zero(None) for a in body.out_avals]
    return list(outs), t_outs


def _lin_transpose(cts: list[Any], *args: Any, body: Program, policy: Policy | None,
                   live: tuple[bool, ...], n_saved: int) -> list[Any]:
    """Recompute the block's linearization at its primal inputs, then pull back."""
    n = len(body.inputs)
    primals, saved = list(args[:n]), list(args[n:n + n_saved])
    _, lin = linearize_flat(lambda xs: _eval(body, xs, policy, saved)[0], primals, list(live),
                            escapes=False)
    it = iter(cts)
    full = [next(it) if is_inexact_dtype(a.dtype) else Zero(None) for a in body.out_avals]
    cts_in = backward_pass(lin.program, full)
    return [None] * (n + n_saved) + [c for c, m in zip(cts_in, live, strict=True) if m]


def _lin_jvp(primals: list[Any], tangents: list[Any], **params: Any
             ) -> tuple[list[Any], list[Any]]:
    return jvp_flat(lambda xs: _lin_impl(*xs, **params), primals, tangents)


def _lin_batch(args: Sequence[Any], dims: Sequence[int | None], **params: Any
               ) -> tuple[list[Any], list[int]]:
    outs = vmap_flat(lambda xs: _lin_impl(*xs, **params), list(args), list(dims), 0)
    return outs, [0] * len(outs)


def _ckpt_batch(args: Sequence[Any], dims: Sequence[int | None], *, body: Program,
                policy: Policy | None) -> tuple[list[Any], list[int | None]]:
    """The checkpoint of the batched body (batch axes at 0)."""
    moved = [a if d is None else moveaxis(a, d, 0) for a, d in zip(args, dims, strict=True)]
    in_dims = [None if d is None else 0 for d in dims]
    size = next(get_aval(a).shape[0] for a, d in zip(moved, in_dims, strict=True)
                if d is not None)
    rec: list[bool] = []

    def inner(vals: list[Any]) -> list[Any]:
        outs = eval_program(body, vals)
        rec[:] = [is_batched(o) for o in outs]
        return outs

    def fn(ins: list[Any]) -> list[Any]:
        return vmap_flat(inner, ins, in_dims, lambda: [0 if r else None for r in rec],
                         axis_size=size)

    avals = [ShapedArray((size, *a.shape), a.dtype) if d is not None else _plain(a)
             for a, d in zip(body.in_avals, in_dims, strict=True)]
    bbody = stage_flat(fn, avals)
    outs = bind(checkpoint_p, *moved, body=bbody, policy=policy)
    return outs, [0 if r else None for r in rec]


def _ckpt_sparsity(q: ProgramQuery) -> list[Any]:
    """Recomputing changes when, not what: the body's pattern."""
    return q.algebra.propagate(q.params["body"], q.in_pats)


def _lin_sparsity(q: ProgramQuery) -> list[Any]:
    """``ṫ_out = J_body ṫ_in``: the body's pattern from the live tangents (the primal inputs
    and the saved values are the point, not variables of the linear map); only the inexact
    outputs have tangents."""
    body, live = q.params["body"], q.params["live"]
    tangents = iter(q.in_pats[len(body.inputs) + q.params["n_saved"]:])
    ins = [next(tangents) if m else None for m in live]
    outs = q.algebra.propagate(body, ins)
    return [p for p, av in zip(outs, body.out_avals, strict=True) if is_inexact_dtype(av.dtype)]


defjvp_rule(checkpoint_p, _ckpt_jvp)
defbatch(checkpoint_p, _ckpt_batch)
defsparsity_program(checkpoint_p, _ckpt_sparsity)
deftranspose(checkpoint_lin_p, _lin_transpose)
defjvp_rule(checkpoint_lin_p, _lin_jvp)
defbatch(checkpoint_lin_p, _lin_batch)
defsparsity_program(checkpoint_lin_p, _lin_sparsity)


# --- the user-facing function --------------------------------------------------------------


def checkpoint(fun: Callable[..., Any], policy: Policy | None = None) -> Callable[..., Any]:
    """``fun`` with its intermediates recomputed, not stored, for reverse mode (JAX's
    ``jax.checkpoint``): ``grad`` through it keeps only the block's inputs (and what
    ``policy`` saves) and evaluates the block a second time in the backward pass.

    Memory: the block's residuals (the intermediates its derivative needs) live only while
    its own backward pass runs. Time: one more forward evaluation of the block."""
    if policy is not None and not isinstance(policy, Policy):
        raise TypeError("checkpoint: policy must be None or one of tc.checkpoint_policies "
                        f"(dots_saveable, save_only_these_names(...)), got {policy!r}")

    @functools.wraps(fun)
    def checkpointed(*args: Any) -> Any:
        leaves, in_tree = tree_flatten(args)
        if trace_depth() == 0 and not any(isinstance(v, Tracer) for v in leaves):
            return fun(*args)
        store: dict[str, Any] = {}

        def flat(xs: list[Any]) -> list[Any]:
            out_leaves, store["out"] = tree_flatten(fun(*tree_unflatten(in_tree, xs)))
            return out_leaves

        body, consts = close_over(stage_flat(flat, [_plain(get_aval(v)) for v in leaves]))
        outs = bind(checkpoint_p, *consts, *leaves, body=body, policy=policy)
        return tree_unflatten(store["out"], outs)

    return checkpointed


remat = checkpoint
