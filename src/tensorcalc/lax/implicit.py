"""Implicitly differentiated solves: ``custom_linear_solve`` and ``custom_root`` (JAX's names).

The derivative of a solve is another solve (implicit function theorem); the iterations of the
user's ``solve`` are never differentiated.

**custom_linear_solve** is one primitive, ``custom_linear_solve``, with inputs
``[matvec consts, solve consts, transpose_solve consts, b]``. ``matvec``, ``solve`` and
``transpose_solve`` are staged into Programs; values they capture from outer transformations
(a matrix being differentiated) become their consts (closure conversion,
:func:`~tensorcalc.lax.programs.close_over`), so those dependences are differentiated too.

- forward mode: ``ẋ = A⁻¹ (ḃ − Ȧ x)``: ``Ȧ x`` is the jvp of ``matvec`` in its consts, at ``x``,
  and ``A⁻¹`` is the same primitive again, bound to the new right-hand side;
- the primitive is linear in ``b``, and its transpose is a solve with ``Aᵀ``:
  ``transpose_solve`` (``solve`` when ``symmetric``) with the transposed ``matvec``;
- ``vmap`` batches the staged programs and solves every example in one call.

**custom_root** is a :class:`~tensorcalc.custom.custom_jvp` over the closure-converted ``f``:
``ẋ = −(∂f/∂x)⁻¹ (∂f/∂θ) θ̇``, where the inverse is the user's ``tangent_solve`` applied to the
linearized ``f`` at the root. Reverse mode transposes that rule, so ``tangent_solve`` must be
linear in its right-hand side (``lambda g, y: y / g(1.0)``, or a ``custom_linear_solve``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core.backend import defxp_neutral
from ..core.context import trace_depth
from ..core.errors import ShapeError
from ..core.ir import Program
from ..core.primitive import Primitive, Tracer, bind, get_aval
from ..core.shapes import ShapedArray, is_inexact_dtype, shape_str
from ..core.tree import tree_flatten, tree_unflatten
from ..core.zeros import Zero, instantiate
from ..custom import custom_jvp
from ..interpreters.batch import bdim_to_front, common_size, defbatch, moveaxis, vmap_flat
from ..interpreters.evaluate import eval_program
from ..interpreters.forward import defjvp_rule
from ..interpreters.stage import stage_flat
from ..interpreters.transpose import backward_pass, deftranspose, is_undefined
from .programs import bind_inputs, close_over


class LinearSolveError(ShapeError):
    """``custom_linear_solve`` / ``custom_root`` / the sparse solvers got inconsistent inputs
    (shapes of ``b`` and the ``matvec`` output, a non-square matrix, a missing transpose)."""


def _plain(aval: Any) -> ShapedArray:
    return ShapedArray(aval.shape, aval.dtype)


def _shapes(leaves: Sequence[Any]) -> str:
    return ", ".join(shape_str(get_aval(v).shape) for v in leaves)


def _check_same(name: str, what: str, got: Any, want_leaves: list[Any], want_tree: Any) -> list:
    leaves, tree = tree_flatten(got)
    if tree != want_tree:
        raise LinearSolveError(f"{name}: {what} returned a value of structure {tree}; expected "
                               f"{want_tree}, the structure of the right-hand side")
    if [tuple(get_aval(v).shape) for v in leaves] != [tuple(get_aval(v).shape)
                                                      for v in want_leaves]:
        raise LinearSolveError(f"{name}: {what} returned shape(s) {_shapes(leaves)}; expected "
                               f"{_shapes(want_leaves)}, the shape(s) of the right-hand side")
    return leaves


# --- the primitive -----------------------------------------------------------------------------


def _ls_impl(*args: Any, matvec: Program, solve: Program, tsolve: Program | None, n_m: int,
             n_s: int, n_t: int, symmetric: bool) -> list[Any]:
    return eval_program(solve, list(args[n_m:n_m + n_s]) + list(args[n_m + n_s + n_t:]))


def _ls_abstract(*avals: ShapedArray, matvec: Program, solve: Program, tsolve: Program | None,
                 n_m: int, n_s: int, n_t: int, symmetric: bool) -> list[ShapedArray]:
    return [_plain(a) for a in avals[n_m + n_s + n_t:]]


#: ``x = custom_linear_solve[matvec, solve, tsolve](*matvec_consts, *solve_consts,
#: *tsolve_consts, *b)``: linear in ``b``.
linear_solve_p = Primitive("custom_linear_solve", _ls_impl, _ls_abstract, multiple_results=True)
defxp_neutral(linear_solve_p)  # its impl runs sub-programs through bind


def _jvp_in(prog: Program, vals: list[Any], tans: dict[int, Any]) -> list[Any] | None:
    """Tangent outputs of ``prog`` at ``vals`` along ``tans`` (input index → tangent), or
    ``None`` when no inexact input has a nonzero tangent."""
    from ..api import jvp

    keys = [i for i, t in tans.items()
            if type(t) is not Zero and is_inexact_dtype(get_aval(vals[i]).dtype)]
    if not keys:
        return None

    def at(*sub: Any) -> list[Any]:
        full = list(vals)
        for i, s in zip(keys, sub, strict=True):
            full[i] = s
        return eval_program(prog, full)

    _, t_out = jvp(at, [vals[i] for i in keys], [instantiate(tans[i], vals[i]) for i in keys])
    return list(t_out)


def _ls_jvp(primals: list[Any], tangents: list[Any], **params: Any
            ) -> tuple[list[Any], list[Any]]:
    n_m, n_c = params["n_m"], params["n_m"] + params["n_s"] + params["n_t"]
    x = bind(linear_solve_p, *primals, **params)
    b_t = tangents[n_c:]
    d_ax = _jvp_in(params["matvec"], list(primals[:n_m]) + list(x),
                   {i: tangents[i] for i in range(n_m)})
    if d_ax is None and all(type(t) is Zero for t in b_t):
        return x, [Zero(None)] * len(x)
    rhs = [instantiate(t, b) for t, b in zip(b_t, primals[n_c:], strict=True)]
    if d_ax is not None:
        rhs = [r - d for r, d in zip(rhs, d_ax, strict=True)]
    return x, bind(linear_solve_p, *primals[:n_c], *rhs, **params)


def _transpose_matvec(matvec: Program, n_m: int) -> Program:
    """``(consts, ȳ) ↦ x̄``: the transpose of the linear map ``x ↦ matvec(consts, x)``."""
    avals = [_plain(a) for a in matvec.in_avals]

    def mt(ins: list[Any]) -> list[Any]:
        lin = bind_inputs(matvec, dict(enumerate(ins[:n_m])))
        cts = backward_pass(lin, ins[n_m:])
        return [np.zeros(a.shape, a.dtype) if type(c) is Zero else c
                for c, a in zip(cts, avals[n_m:], strict=True)]

    return stage_flat(mt, avals[:n_m] + [_plain(a) for a in matvec.out_avals])


def _ls_transpose(cts: list[Any], *args: Any, matvec: Program, solve: Program,
                  tsolve: Program | None, n_m: int, n_s: int, n_t: int, symmetric: bool
                  ) -> list[Any]:
    n_c = n_m + n_s + n_t
    if any(is_undefined(a) for a in args[:n_c]):
        raise LinearSolveError("custom_linear_solve: the transpose is linear in b only; the "
                               "values captured by matvec/solve must not be linear inputs")
    cts = [instantiate(c, np.zeros(a.aval.shape, a.aval.dtype)) if type(c) is Zero else c
           for c, a in zip(cts, args[n_c:], strict=True)]
    ms, ss, ts = args[:n_m], args[n_m:n_m + n_s], args[n_m + n_s:n_c]
    if symmetric:
        out = bind(linear_solve_p, *ms, *ss, *ts, *cts, matvec=matvec, solve=solve,
                   tsolve=tsolve, n_m=n_m, n_s=n_s, n_t=n_t, symmetric=True)
    else:
        if tsolve is None:
            raise LinearSolveError(
                "custom_linear_solve: reverse mode (grad, vjp, jacrev) needs the transposed "
                "solve: pass transpose_solve=..., or symmetric=True for a symmetric matvec")
        out = bind(linear_solve_p, *ms, *ts, *ss, *cts, matvec=_transpose_matvec(matvec, n_m),
                   solve=tsolve, tsolve=solve, n_m=n_m, n_s=n_t, n_t=n_s, symmetric=False)
    return [None] * n_c + list(out)


def _ls_batch(args: Sequence[Any], dims: Sequence[int | None], *, matvec: Program,
              solve: Program, tsolve: Program | None, n_m: int, n_s: int, n_t: int,
              symmetric: bool) -> tuple[list[Any], list[int]]:
    size = common_size(args, dims, "custom_linear_solve")
    n_c = n_m + n_s + n_t
    moved = [a if d is None else moveaxis(a, d, 0) for a, d in zip(args, dims, strict=True)]
    front = [None if d is None else 0 for d in dims]
    b = [bdim_to_front(a, d, size) for a, d in zip(moved[n_c:], front[n_c:], strict=True)]

    def batched(prog: Program, cdims: list[int | None]) -> Program:
        k = len(cdims)
        in_avals = [ShapedArray(((size,) if d == 0 else ()) + tuple(a.shape), a.dtype)
                    for a, d in zip(prog.in_avals[:k], cdims, strict=True)]
        in_avals += [ShapedArray((size,) + tuple(a.shape), a.dtype) for a in prog.in_avals[k:]]
        n_vec = len(prog.in_avals) - k
        return stage_flat(lambda ins: vmap_flat(lambda v: eval_program(prog, v), ins,
                                                cdims + [0] * n_vec, 0, axis_size=size),
                          in_avals)

    mv = batched(matvec, front[:n_m])
    so = batched(solve, front[n_m:n_m + n_s])
    ts = None if tsolve is None else batched(tsolve, front[n_m + n_s:n_c])
    outs = bind(linear_solve_p, *moved[:n_c], *b, matvec=mv, solve=so, tsolve=ts, n_m=n_m,
                n_s=n_s, n_t=n_t, symmetric=symmetric)
    return outs, [0] * len(outs)


defjvp_rule(linear_solve_p, _ls_jvp)
deftranspose(linear_solve_p, _ls_transpose)
defbatch(linear_solve_p, _ls_batch)


def _stage_solver(name: str, role: str, solver: Callable[..., Any], matvec: Callable[..., Any],
                  leaves: list[Any], tree: Any) -> tuple[Program, list[Any]]:
    avals = [_plain(get_aval(v)) for v in leaves]

    def flat(xs: list[Any]) -> list[Any]:
        return _check_same(name, role, solver(matvec, tree_unflatten(tree, xs)), leaves, tree)

    return close_over(stage_flat(flat, avals))


def custom_linear_solve(matvec: Callable[[Any], Any], b: Any,
                        solve: Callable[[Callable[[Any], Any], Any], Any],
                        transpose_solve: Callable[[Callable[[Any], Any], Any], Any] | None = None,
                        symmetric: bool = False) -> Any:
    """``x = solve(matvec, b)`` with implicit derivatives (JAX's ``lax.custom_linear_solve``).

    ``matvec(x)`` is the linear map ``A x`` (``b``'s structure and shapes in and out);
    ``solve(matvec, b)`` returns ``x`` with ``A x = b``, by any method: its iterations are
    never differentiated. Derivatives in ``b`` and in the values ``matvec`` uses (a matrix it
    closes over) are solves again: ``ẋ = A⁻¹ (ḃ − Ȧ x)``, and reverse mode solves with ``Aᵀ``
    via ``transpose_solve(vecmat, x̄)`` (``solve`` itself when ``symmetric=True``)."""
    name = "custom_linear_solve"
    leaves, tree = tree_flatten(b)
    avals = [_plain(get_aval(v)) for v in leaves]

    def mv_flat(xs: list[Any]) -> list[Any]:
        return _check_same(name, "matvec", matvec(tree_unflatten(tree, xs)), leaves, tree)

    m_prog, mc = close_over(stage_flat(mv_flat, avals))
    if trace_depth() == 0 and not any(isinstance(v, Tracer) for v in leaves + mc):
        x = solve(matvec, b)
        _check_same(name, "solve", x, leaves, tree)
        return x
    s_prog, sc = _stage_solver(name, "solve", solve, matvec, leaves, tree)
    t_prog, tcs = None, []
    if transpose_solve is not None and not symmetric:
        def vecmat(y: Any) -> Any:
            ys = _check_same(name, "the transposed matvec", y, leaves, tree)
            xs = eval_program(_transpose_matvec(m_prog, len(mc)), list(mc) + ys)
            return tree_unflatten(tree, xs)

        t_prog, tcs = _stage_solver(name, "transpose_solve", transpose_solve, vecmat, leaves,
                                    tree)
    outs = bind(linear_solve_p, *mc, *sc, *tcs, *leaves, matvec=m_prog, solve=s_prog,
                tsolve=t_prog, n_m=len(mc), n_s=len(sc), n_t=len(tcs), symmetric=symmetric)
    return tree_unflatten(tree, outs)


# --- custom_root -------------------------------------------------------------------------------


def custom_root(f: Callable[[Any], Any], initial_guess: Any,
                solve: Callable[[Callable[[Any], Any], Any], Any],
                tangent_solve: Callable[[Callable[[Any], Any], Any], Any],
                has_aux: bool = False) -> Any:
    """A root ``x`` of ``f(x) = 0`` found by ``solve(f, initial_guess)``, differentiated
    implicitly (JAX's ``lax.custom_root``): ``ẋ = −(∂f/∂x)⁻¹ (∂f/∂θ) θ̇`` for the values ``θ``
    that ``f`` closes over, with ``(∂f/∂x)⁻¹ y = tangent_solve(g, y)`` and ``g`` the linearized
    ``f`` at the root. ``solve`` is never differentiated; the derivative with respect to
    ``initial_guess`` is zero. With ``has_aux``, ``solve`` returns ``(root, aux)`` and ``aux``
    is treated as a constant."""
    name = "custom_root"
    leaves, tree = tree_flatten(initial_guess)
    avals = [_plain(get_aval(v)) for v in leaves]

    def f_flat(xs: list[Any]) -> list[Any]:
        return _check_same(name, "f", f(tree_unflatten(tree, xs)), leaves, tree)

    f_prog, fc = close_over(stage_flat(f_flat, avals))
    nf = len(fc)
    store: dict[str, Any] = {}

    def solve_flat(ins: list[Any]) -> list[Any]:
        c = ins[:nf]

        def g(x: Any) -> Any:
            return tree_unflatten(tree, eval_program(f_prog, c + tree_flatten(x)[0]))

        res = solve(g, tree_unflatten(tree, ins[nf:]))
        root, aux = res if has_aux else (res, None)
        aux_leaves, store["aux"] = tree_flatten(aux)
        return _check_same(name, "solve", root, leaves, tree) + aux_leaves

    s_prog, sc = close_over(stage_flat(solve_flat, [_plain(get_aval(v)) for v in fc] + avals))
    n = len(leaves)

    @custom_jvp
    def root_of(fcs: list[Any], scs: list[Any], x0: list[Any]) -> list[Any]:
        return eval_program(s_prog, list(scs) + list(fcs) + list(x0))

    @root_of.defjvp
    def root_jvp(primals: Any, tangents: Any) -> Any:
        fcs, scs, x0 = primals
        outs = root_of(fcs, scs, x0)
        x = list(outs[:n])
        rhs = _jvp_in(f_prog, list(fcs) + x, dict(enumerate(tangents[0])))
        zeros = [np.zeros(get_aval(o).shape, get_aval(o).dtype) for o in outs]
        if rhs is None:
            return outs, zeros

        def g(v: Any) -> Any:
            t = _jvp_in(f_prog, list(fcs) + x, {nf + i: u for i, u in
                                                enumerate(tree_flatten(v)[0])})
            return tree_unflatten(tree, t if t is not None else
                                  [np.zeros(a.shape, a.dtype) for a in avals])

        sol = _check_same(name, "tangent_solve", tangent_solve(g, tree_unflatten(tree, rhs)),
                          leaves, tree)
        return outs, [-s for s in sol] + zeros[n:]

    outs = root_of(list(fc), list(sc), list(leaves))
    root = tree_unflatten(tree, outs[:n])
    return (root, tree_unflatten(store["aux"], outs[n:])) if has_aux else root
