"""Derivative rules supplied by the user: ``custom_jvp``, ``custom_vjp`` and ``stop_gradient``.

Each is a primitive whose rules come from the user's functions, so it prints, batches, compiles
and nests like any other primitive (JAX's names and semantics):

- ``custom_jvp(f)`` with ``f.defjvp(rule)``: ``rule(primals, tangents) -> (out, t_out)`` is the
  forward-mode rule, and ``t_out`` must be linear in ``tangents``. Reverse mode is that rule's
  linear part transposed (linearize, then transpose), and higher orders differentiate the
  rule itself, which is ordinary ``tensorcalc.numpy`` code.
- ``custom_vjp(f)`` with ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)`` runs
  forward, ``bwd(residuals, ȳ) -> x̄`` (a tuple, one cotangent per argument) pulls back. In a
  linearized program the call stands as one linear equation, ``custom_vjp_bwd``, that can
  only be transposed; forward mode (``jvp``, ``jacfwd``, ``hessian``) raises and names the
  function. Residuals are inputs of that equation, so ``bwd`` may itself be differentiated.
- ``stop_gradient(x)``: the value of ``x`` with a zero derivative.

``nondiff_argnums`` marks positional arguments passed through unchanged (numbers, strings,
functions); the rules receive them first, as in JAX. Under ``vmap`` the function and its rules
are vectorized together, so ``grad(vmap(f))`` still uses the user's rule.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .core.backend import defxp_neutral
from .core.errors import ShapeError, TensorcalcError
from .core.ir import Program
from .core.primitive import Primitive, Tracer, bind, get_aval
from .core.shapes import ShapedArray, shape_str
from .core.tree import tree_flatten, tree_map, tree_unflatten
from .core.zeros import Zero, instantiate
from .interpreters.batch import defbatch, defvectorized, moveaxis, vmap_flat
from .interpreters.forward import defjvp_rule, defjvp_zero
from .interpreters.sparsity import DENSE, ProgramQuery, defsparsity_program
from .interpreters.stage import stage_flat
from .interpreters.transpose import deftranspose
from .numpy import _methods  # noqa: F401  (the package gives tracers their array behaviour)
from .ops.reductions import sum as reduce_over


class CustomRuleError(TensorcalcError, TypeError):
    """A custom rule returned the wrong structure, shapes or dtypes, or a transformation the
    rule does not support was asked for (forward mode of a ``custom_vjp`` function)."""


# --- stop_gradient -----------------------------------------------------------------------------

stop_gradient_p = Primitive("stop_gradient", lambda x: x, lambda x: x)
defxp_neutral(stop_gradient_p)  # the identity on any backend
defjvp_zero(stop_gradient_p)
defvectorized(stop_gradient_p)


def stop_gradient(x: Any) -> Any:
    """``x`` itself, treated as a constant by every derivative (a pytree of arrays is fine)."""
    return tree_map(lambda v: bind(stop_gradient_p, v) if isinstance(v, Tracer) else v, x)


# --- shared: a call of a user function on flat leaves ----------------------------------------


class _Call:
    """The user's function and rules on flat lists of array leaves (the primitive's params).

    Unhashable on purpose: staging then skips the shape cache for it (each call site has its
    own function objects, so caching would only keep them alive)."""

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, kind: str, name: str, fun: Callable[[list[Any]], list[Any]],
                 rules: tuple[Callable[..., Any], ...]) -> None:
        self.kind, self.name, self.fun, self.rules = kind, name, fun, rules

    def __repr__(self) -> str:
        return f"{self.kind}({self.name})"


def _out_avals(call: _Call, avals: Sequence[ShapedArray]) -> list[ShapedArray]:
    return stage_flat(call.fun, [ShapedArray(a.shape, a.dtype) for a in avals]).out_avals


def _check_like(what: str, name: str, got: list[Any], want: list[Any], role: str) -> None:
    if len(got) != len(want):
        raise CustomRuleError(f"{what} of {name!r} returned {len(got)} {role} leaves, expected "
                              f"{len(want)} (one per leaf of the primal {role})")
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        ga, wa = get_aval(g), get_aval(w)
        if tuple(ga.shape) != tuple(wa.shape):
            raise CustomRuleError(
                f"{what} of {name!r}: {role} leaf {k} has shape {shape_str(ga.shape)}, expected "
                f"{shape_str(wa.shape)} (the shape of the corresponding primal)")


def _split(fun: Callable[..., Any], args: tuple[Any, ...], nondiff: tuple[int, ...]
           ) -> tuple[list[Any], Any, tuple[Any, ...]]:
    for i in nondiff:
        if not -len(args) <= i < len(args):
            raise TypeError(f"{getattr(fun, '__name__', 'f')}: nondiff_argnums={nondiff} is out "
                            f"of range for a call with {len(args)} positional arguments")
    nd = tuple(i % len(args) for i in nondiff)
    static = tuple(args[i] for i in nd)
    dyn = tuple(a for i, a in enumerate(args) if i not in nd)
    leaves, tree = tree_flatten(dyn)
    return leaves, tree, static


def _merge(nondiff: tuple[int, ...], static: tuple[Any, ...], dyn: Sequence[Any]) -> list[Any]:
    full: list[Any] = []
    s, d = iter(static), iter(dyn)
    n = len(static) + len(dyn)
    nd = {i % n for i in nondiff}
    for i in range(n):
        full.append(next(s) if i in nd else next(d))
    return full


def _batched(fun: Callable[[list[Any]], list[Any]], dims: Sequence[int | None]
             ) -> Callable[[list[Any]], list[Any]]:
    def vectorized(leaves: list[Any]) -> list[Any]:
        return vmap_flat(fun, leaves, dims, 0)

    return vectorized


def _to_front(args: Sequence[Any], dims: Sequence[int | None]) -> tuple[list[Any], list[Any]]:
    moved = [a if d is None else moveaxis(a, d, 0) for a, d in zip(args, dims, strict=True)]
    return moved, [None if d is None else 0 for d in dims]


def _primal_program(call: _Call, avals: Sequence[ShapedArray]) -> Program | None:
    """The user's primal function staged on ``avals`` (None if it cannot be traced)."""
    try:
        return stage_flat(call.fun, [ShapedArray(a.shape, a.dtype) for a in avals])
    except (TensorcalcError, TypeError):
        return None


def _primal_sparsity(q: ProgramQuery) -> Any:
    """A custom rule changes how the derivative is computed, not what it is: the pattern of
    the primal function (dense for that call if it cannot be staged)."""
    prog = _primal_program(q.params["call"], q.in_avals)
    return DENSE if prog is None else q.algebra.propagate(prog, q.in_pats)


# --- custom_jvp --------------------------------------------------------------------------------

custom_jvp_call_p = Primitive("custom_jvp_call", lambda *xs, call: call.fun(list(xs)),
                              lambda *avals, call: _out_avals(call, avals),
                              multiple_results=True)
defxp_neutral(custom_jvp_call_p)  # its impl runs sub-programs through bind


def _custom_jvp_rule(primals: list[Any], tangents: list[Any], *, call: _Call
                     ) -> tuple[list[Any], list[Any]]:
    (rule,) = call.rules
    ts = [instantiate(t, p) for t, p in zip(tangents, primals, strict=True)]
    outs, t_outs = rule(list(primals), ts)
    return list(outs), list(t_outs)


def _custom_jvp_batch(args: Sequence[Any], dims: Sequence[int | None], *, call: _Call
                      ) -> tuple[list[Any], list[int]]:
    moved, front = _to_front(args, dims)
    (rule,) = call.rules
    n = len(moved)

    def rule_b(primals: list[Any], tangents: list[Any]) -> tuple[list[Any], list[Any]]:
        def both(xs: list[Any]) -> list[Any]:
            o, t = rule(xs[:n], xs[n:])
            return list(o) + list(t)

        res = vmap_flat(both, list(primals) + list(tangents), front + front, 0)
        half = len(res) // 2
        return res[:half], res[half:]

    batched = _Call(call.kind, call.name, _batched(call.fun, front), (rule_b,))
    outs = bind(custom_jvp_call_p, *moved, call=batched)
    return outs, [0] * len(outs)


defjvp_rule(custom_jvp_call_p, _custom_jvp_rule)
defbatch(custom_jvp_call_p, _custom_jvp_batch)
defsparsity_program(custom_jvp_call_p, _primal_sparsity)


class custom_jvp:  # noqa: N801  (JAX's name)
    """A function with a forward-mode rule of its own: ``f.defjvp(rule)`` with
    ``rule(primals, tangents) -> (primal_out, tangent_out)`` (``primals`` and ``tangents`` are
    tuples of the arguments; with ``nondiff_argnums`` the rule takes those arguments first).

    Usable as a decorator; ``jvp``, ``grad``, ``vjp``, ``jacobian``, ``hessian``, ``vmap`` and
    ``jit`` all use the rule, at any order of nesting."""

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp: Callable[..., Any] | None = None
        functools.update_wrapper(self, fun)

    def defjvp(self, jvp: Callable[..., Any]) -> Callable[..., Any]:
        """Register the rule (usable as a decorator); returns it."""
        self.jvp = jvp
        return jvp

    def __call__(self, *args: Any) -> Any:
        name = getattr(self.fun, "__name__", "f")
        if self.jvp is None:
            raise TypeError(f"custom_jvp function {name!r} has no rule: define one with "
                            f"@{name}.defjvp before calling it")
        leaves, in_tree, static = _split(self.fun, args, self.nondiff_argnums)
        if not any(isinstance(v, Tracer) for v in leaves):
            return self.fun(*args)
        store: dict[str, Any] = {}
        nondiff, fun, rule = self.nondiff_argnums, self.fun, self.jvp

        def flat_fun(xs: list[Any]) -> list[Any]:
            out = fun(*_merge(nondiff, static, tree_unflatten(in_tree, xs)))
            out_leaves, store["out"] = tree_flatten(out)
            return out_leaves

        def flat_rule(ps: list[Any], ts: list[Any]) -> tuple[list[Any], list[Any]]:
            res = rule(*static, tuple(tree_unflatten(in_tree, ps)),
                       tuple(tree_unflatten(in_tree, ts)))
            if not (isinstance(res, (tuple, list)) and len(res) == 2):
                raise CustomRuleError(f"the jvp rule of {name!r} must return a pair "
                                      "(primal_out, tangent_out)")
            out_leaves, out_tree = tree_flatten(res[0])
            t_leaves, t_tree = tree_flatten(res[1])
            if t_tree != out_tree:
                raise CustomRuleError(f"the jvp rule of {name!r} returned a tangent of "
                                      f"structure {t_tree} for a primal output of structure "
                                      f"{out_tree}; they must match")
            _check_like("the jvp rule", name, t_leaves, out_leaves, "tangent")
            store["out"] = out_tree
            return out_leaves, t_leaves

        outs = bind(custom_jvp_call_p, *leaves, call=_Call("custom_jvp", name, flat_fun,
                                                           (flat_rule,)))
        return tree_unflatten(store["out"], outs)


# --- custom_vjp --------------------------------------------------------------------------------

custom_vjp_call_p = Primitive("custom_vjp_call", lambda *xs, call: call.fun(list(xs)),
                              lambda *avals, call: _out_avals(call, avals),
                              multiple_results=True)
defxp_neutral(custom_vjp_call_p)  # its impl runs sub-programs through bind


def _forward_mode_error(name: str) -> CustomRuleError:
    return CustomRuleError(
        f"{name!r} is a custom_vjp function: it has a reverse-mode rule only, so forward mode "
        "(jvp, jacfwd, hessian, linearize's linear map, a forward Jacobian sweep) cannot go "
        f"through it. Use reverse mode (grad, vjp, jacrev), or give {name!r} a forward rule "
        "with tc.custom_jvp instead.")


def _bwd_impl(*args: Any, call: _Call, n_res: int, out_avals: tuple[ShapedArray, ...]) -> Any:
    raise _forward_mode_error(call.name)


def _bwd_abstract(*avals: ShapedArray, call: _Call, n_res: int,
                  out_avals: tuple[ShapedArray, ...]) -> list[ShapedArray]:
    return list(out_avals)


#: ``ẏ = J ẋ`` for a custom_vjp function inside a linearized program: residuals first, then
#: the tangents. Only its transpose exists (``bwd``); applying it forward raises.
custom_vjp_bwd_p = Primitive("custom_vjp_bwd", _bwd_impl, _bwd_abstract, multiple_results=True)
defxp_neutral(custom_vjp_bwd_p)  # its impl runs sub-programs through bind
custom_vjp_bwd_p.transpose_only = True  # Jacobians through it are taken by reverse sweeps


def _custom_vjp_jvp(primals: list[Any], tangents: list[Any], *, call: _Call
                    ) -> tuple[list[Any], list[Any]]:
    fwd, _ = call.rules
    if all(type(t) is Zero for t in tangents):
        outs = call.fun(list(primals))
        return outs, [Zero(None)] * len(outs)
    outs, res = fwd(list(primals))
    ts = [instantiate(t, p) for t, p in zip(tangents, primals, strict=True)]
    out_avals = tuple(ShapedArray(get_aval(o).shape, get_aval(o).dtype) for o in outs)
    t_outs = bind(custom_vjp_bwd_p, *res, *ts, call=call, n_res=len(res), out_avals=out_avals)
    return outs, list(t_outs)


def _custom_vjp_bwd_transpose(cts: list[Any], *args: Any, call: _Call, n_res: int,
                              out_avals: tuple[ShapedArray, ...]) -> list[Any]:
    """``x̄ = bwd(residuals, ȳ)``; the residuals are constants of the linear program."""
    _, bwd = call.rules
    cts = [instantiate(c) for c in cts]
    return [None] * n_res + list(bwd(list(args[:n_res]), cts))


def _custom_vjp_batch(args: Sequence[Any], dims: Sequence[int | None], *, call: _Call
                      ) -> tuple[list[Any], list[int]]:
    moved, front = _to_front(args, dims)
    fwd, bwd = call.rules
    n_out: list[int] = []

    def fwd_b(xs: list[Any]) -> tuple[list[Any], list[Any]]:
        def both(ys: list[Any]) -> list[Any]:
            o, r = fwd(ys)
            n_out[:] = [len(o)]
            return list(o) + list(r)

        res = vmap_flat(both, xs, front, 0)
        return res[:n_out[0]], res[n_out[0]:]

    examples = [get_aval(a) for a in moved]
    zeros = [np.zeros(tuple(av.shape[1:]) if d == 0 else tuple(av.shape), av.dtype)
             for av, d in zip(examples, front, strict=True)]

    def bwd_b(res: list[Any], cts: list[Any]) -> list[Any]:
        k = len(res)

        def pull(ys: list[Any]) -> list[Any]:
            got = bwd(ys[:k], ys[k:])
            return [z if c is None else c for c, z in zip(got, zeros, strict=True)]

        in_cts = vmap_flat(pull, list(res) + list(cts), [0] * (k + len(cts)), 0)
        # An argument shared by every example gets the sum of their cotangents.
        return [c if d is not None else reduce_over(c, axis=0)
                for c, d in zip(in_cts, front, strict=True)]

    batched = _Call(call.kind, call.name, _batched(call.fun, front), (fwd_b, bwd_b))
    outs = bind(custom_vjp_call_p, *moved, call=batched)
    return outs, [0] * len(outs)


def _custom_vjp_bwd_batch(args: Sequence[Any], dims: Sequence[int | None], *, call: _Call,
                          n_res: int, out_avals: tuple[ShapedArray, ...]) -> Any:
    raise _forward_mode_error(call.name)


def _custom_vjp_bwd_sparsity(q: ProgramQuery) -> Any:
    """``ẏ = J ẋ`` with ``J`` the primal function's Jacobian: its pattern from the tangents
    (the residuals are the point, constants of the linear map)."""
    n_res = q.params["n_res"]
    prog = _primal_program(q.params["call"], q.in_avals[n_res:])
    return DENSE if prog is None else q.algebra.propagate(prog, q.in_pats[n_res:])


defjvp_rule(custom_vjp_call_p, _custom_vjp_jvp)
defbatch(custom_vjp_call_p, _custom_vjp_batch)
deftranspose(custom_vjp_bwd_p, _custom_vjp_bwd_transpose)
defsparsity_program(custom_vjp_call_p, _primal_sparsity)
defsparsity_program(custom_vjp_bwd_p, _custom_vjp_bwd_sparsity)


def _custom_vjp_bwd_jvp(primals: list[Any], tangents: list[Any], *, call: _Call, n_res: int,
                        out_avals: tuple[ShapedArray, ...]) -> Any:
    raise _forward_mode_error(call.name)


defjvp_rule(custom_vjp_bwd_p, _custom_vjp_bwd_jvp)
defbatch(custom_vjp_bwd_p, _custom_vjp_bwd_batch)


class custom_vjp:  # noqa: N801  (JAX's name)
    """A function with a reverse-mode rule of its own: ``f.defvjp(fwd, bwd)`` with
    ``fwd(*args) -> (out, residuals)`` and ``bwd(residuals, ȳ) -> x̄``, a tuple with one
    cotangent per argument (``None`` for no cotangent). With ``nondiff_argnums`` both take
    those arguments first and ``bwd`` returns cotangents for the others only.

    ``grad``, ``vjp``, ``jacrev``, ``vmap`` and ``jit`` use the rule; forward mode raises."""

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: Sequence[int] = ()) -> None:
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None
        functools.update_wrapper(self, fun)

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        name = getattr(self.fun, "__name__", "f")
        if self.fwd is None or self.bwd is None:
            raise TypeError(f"custom_vjp function {name!r} has no rule: define one with "
                            f"{name}.defvjp(fwd, bwd) before calling it")
        leaves, in_tree, static = _split(self.fun, args, self.nondiff_argnums)
        if not any(isinstance(v, Tracer) for v in leaves):
            return self.fun(*args)
        store: dict[str, Any] = {}
        nondiff, fun, fwd, bwd = self.nondiff_argnums, self.fun, self.fwd, self.bwd
        in_avals = [get_aval(v) for v in leaves]

        def flat_fun(xs: list[Any]) -> list[Any]:
            out = fun(*_merge(nondiff, static, tree_unflatten(in_tree, xs)))
            out_leaves, store["out"] = tree_flatten(out)
            return out_leaves

        def flat_fwd(xs: list[Any]) -> tuple[list[Any], list[Any]]:
            res = fwd(*_merge(nondiff, static, tree_unflatten(in_tree, xs)))
            if not (isinstance(res, (tuple, list)) and len(res) == 2):
                raise CustomRuleError(f"the fwd rule of {name!r} must return a pair "
                                      "(output, residuals)")
            out_leaves, store["out"] = tree_flatten(res[0])
            res_leaves, store["res"] = tree_flatten(res[1])
            return out_leaves, res_leaves

        def flat_bwd(res: list[Any], cts: list[Any]) -> list[Any]:
            got = bwd(*static, tree_unflatten(store["res"], res),
                      tree_unflatten(store["out"], cts))
            if not isinstance(got, (tuple, list)):
                raise CustomRuleError(f"the bwd rule of {name!r} must return a tuple with one "
                                      "cotangent per (differentiated) argument, got a "
                                      f"{type(got).__name__}")
            dyn_args = tree_unflatten(in_tree, list(range(len(in_avals))))
            if len(got) != len(dyn_args):
                raise CustomRuleError(f"the bwd rule of {name!r} returned {len(got)} "
                                      f"cotangents for {len(dyn_args)} arguments")
            flat: list[Any] = []
            for g, a in zip(got, dyn_args, strict=True):
                sub = tree_flatten(a)[0]
                if g is None:
                    flat.extend([None] * len(sub))
                    continue
                g_leaves = tree_flatten(g)[0]
                if len(g_leaves) != len(sub):
                    raise CustomRuleError(f"the bwd rule of {name!r} returned a cotangent "
                                          "whose structure differs from its argument's")
                flat.extend(g_leaves)
            for k, (c, av) in enumerate(zip(flat, in_avals, strict=True)):
                if c is not None and tuple(get_aval(c).shape) != tuple(av.shape):
                    raise ShapeError(
                        f"the bwd rule of {name!r}: the cotangent of argument leaf {k} has "
                        f"shape {shape_str(get_aval(c).shape)}, expected "
                        f"{shape_str(av.shape)} (the argument's shape)")
            return flat

        outs = bind(custom_vjp_call_p, *leaves,
                    call=_Call("custom_vjp", name, flat_fun, (flat_fwd, flat_bwd)))
        return tree_unflatten(store["out"], outs)
