"""``cond`` and ``switch``: choose one of several functions of the same operands.

``switch(i, branches, *ops) = branches[clip(i, 0, n−1)](*ops)`` and
``cond(p, t, f, *ops) = switch(p, [f, t], *ops)`` (JAX's semantics). With a concrete index
the chosen branch is simply called. With a traced one every branch is staged once into a
:class:`~tensorcalc.core.ir.Program` (all must return the same structure, shapes and dtypes)
and the choice is one ``cond`` equation whose params hold them.

Derivatives. The derivative of the chosen branch is the derivative of the whole, since ``i``
is piecewise constant: ``ẏ = J_{bᵢ}(x) ẋ``. As for ``scan``, each branch is split into a forward
part that also returns its residuals and a linear part reading them
(:func:`~tensorcalc.lax.programs.linearize_program`); the residual lists of all branches are
concatenated, each branch filling the others' slots with zeros, so every branch has the same
signature. The tangent is a ``cond`` over the linear branches, and its transpose a ``cond``
over the transposed linear branches, ``x̄ = J_{bᵢ}ᵀ ȳ``. Under ``vmap`` with a batched index
every branch is evaluated and the results are selected per example (``where``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..compile.codegen import STATEMENTS, compile_program
from ..compile.passes import optimize
from ..core.backend import defxp_neutral
from ..core.errors import ShapeError
from ..core.ir import Literal, Program, Var
from ..core.primitive import Primitive, Tracer, bind, get_aval
from ..core.shapes import ShapedArray, is_inexact_dtype, shape_str
from ..core.tree import tree_flatten, tree_unflatten
from ..core.zeros import Zero, instantiate
from ..interpreters.batch import defbatch, vmap_flat
from ..interpreters.evaluate import eval_program
from ..interpreters.forward import defjvp_rule
from ..interpreters.sparsity import ProgramQuery, defsparsity_program
from ..interpreters.stage import stage_flat
from ..interpreters.transpose import deftranspose, is_undefined
from .programs import close_over, linearize_program, transpose_program


class CondError(ShapeError):
    """Branches that disagree on their outputs, or an index that is not an integer scalar."""


def _plain(aval: ShapedArray) -> ShapedArray:
    return ShapedArray(aval.shape, aval.dtype)


def _index(index: Any, n: int) -> int:
    return int(np.clip(int(index), 0, n - 1))


# --- the primitive -------------------------------------------------------------------------


def _cond_impl(index: Any, *ops: Any, branches: tuple[Program, ...]) -> list[Any]:
    return eval_program(branches[_index(index, len(branches))], list(ops))


def _cond_abstract(index: ShapedArray, *ops: ShapedArray, branches: tuple[Program, ...]
                   ) -> list[ShapedArray]:
    return [_plain(a) for a in branches[0].out_avals]


#: ``outs = cond[branches](index, *operands)``: ``branches[clip(index)](*operands)``.
cond_p = Primitive("cond", _cond_impl, _cond_abstract, multiple_results=True)
defxp_neutral(cond_p)  # its impl runs sub-programs through bind


def _widen(prog: Program, inputs: list[Var | None], in_avals: Sequence[ShapedArray],
           outputs: list[Any] | None = None) -> Program:
    """``prog`` with the input list ``inputs`` (``None``: an unused input of that aval)."""
    ins = [Var(_plain(av)) if v is None else v for v, av in zip(inputs, in_avals, strict=True)]
    return Program(ins, prog.equations, list(prog.outputs) if outputs is None else outputs)


def _zeros(aval: ShapedArray) -> Literal:
    return Literal(np.zeros(aval.shape, aval.dtype), _plain(aval))


def _cond_jvp(primals: list[Any], tangents: list[Any], *, branches: tuple[Program, ...]
              ) -> tuple[list[Any], list[Any]]:
    """A cond of forward branches (outputs, then the union of residuals), then a cond of the
    linear branches over the residuals and the tangents."""
    index, ops = primals[0], primals[1:]
    ts = tangents[1:]
    body0 = branches[0]
    n_out = len(body0.outputs)
    mask = [is_inexact_dtype(a.dtype) and type(t) is not Zero
            for a, t in zip(body0.in_avals, ts, strict=True)]
    if not any(mask):
        return bind(cond_p, index, *ops, branches=branches), [Zero(None)] * n_out
    out_inexact = [is_inexact_dtype(a.dtype) for a in body0.out_avals]
    splits = [linearize_program(b, mask, 0, 0, out_inexact) for b in branches]
    # Residual slots: every branch's per-step residuals, one after another.
    res_avals: list[ShapedArray] = []
    offsets = []
    for s in splits:
        offsets.append(len(res_avals))
        res_avals += [_plain(v.aval) for v in s.forward.outputs[n_out:]]
    fwd, lin = [], []
    n_ops = len(ops)
    t_avals = [_plain(a) for a, m in zip(body0.in_avals, mask, strict=True) if m]
    lin_avals = [_plain(a) for a in body0.in_avals] + res_avals + t_avals
    for s, off in zip(splits, offsets, strict=True):
        own = list(s.forward.outputs[n_out:])
        res_out = [_zeros(av) for av in res_avals]
        res_out[off:off + len(own)] = own
        fwd.append(Program(s.forward.inputs, s.forward.equations,
                           list(s.forward.outputs[:n_out]) + res_out))
        it = iter(s.linear.inputs)
        slots: list[Var | None] = [None] * (n_ops + len(res_avals))
        for i in s.x_res:
            slots[i] = next(it)
        for j in range(len(own)):
            slots[n_ops + off + j] = next(it)
        lin.append(_widen(s.linear, slots + list(it), lin_avals))
    outs = bind(cond_p, index, *ops, branches=tuple(fwd))
    t_in = [instantiate(t, p) for t, p, m in zip(ts, ops, mask, strict=True) if m]
    t_lin = iter(bind(cond_p, index, *ops, *outs[n_out:], *t_in, branches=tuple(lin)))
    return outs[:n_out], [next(t_lin) if keep else Zero(None) for keep in out_inexact]


def _cond_transpose(cts: list[Any], index: Any, *ops: Any, branches: tuple[Program, ...]
                    ) -> list[Any]:
    """``x̄ = J_{bᵢ}ᵀ ȳ``: a cond over the transposed linear branches."""
    if is_undefined(index):
        raise TypeError("cond: the index of a linear cond cannot be a linear input")
    defined = {i: _plain(branches[0].in_avals[i]) for i, a in enumerate(ops)
               if not is_undefined(a)}
    tbranches = tuple(transpose_program(b, defined, 0, 0) for b in branches)
    avals = branches[0].out_avals
    cts = [np.zeros(av.shape, av.dtype) if type(c) is Zero else c
           for c, av in zip(cts, avals, strict=True)]
    known = [a for a in ops if not is_undefined(a)]
    res = iter(bind(cond_p, index, *known, *cts, branches=tbranches))
    return [None] + [next(res) if is_undefined(a) else None for a in ops]


def _cond_batch(args: Sequence[Any], dims: Sequence[int | None], *,
                branches: tuple[Program, ...]) -> tuple[list[Any], list[int]]:
    """A batched index: every branch runs and ``where`` picks per example. Otherwise a cond
    of the batched branches (every output batched at axis 0)."""
    import tensorcalc.numpy as tnp

    n = len(branches)
    if dims[0] is not None:
        def select_all(vals: list[Any]) -> list[Any]:
            index = tnp.clip(tnp.astype(vals[0], np.int64), 0, n - 1)
            results = [eval_program(b, list(vals[1:])) for b in branches]
            chosen = results[0]
            for k in range(1, n):
                chosen = [tnp.where(index == k, r, c)
                          for r, c in zip(results[k], chosen, strict=True)]
            return chosen

        outs = vmap_flat(select_all, list(args), list(dims), 0)
        return outs, [0] * len(outs)
    in_dims = list(dims[1:])
    size = next(get_aval(a).shape[d] for a, d in zip(args, dims, strict=True) if d is not None)
    avals = []
    for a, d in zip(args[1:], in_dims, strict=True):
        av = get_aval(a)
        if d is not None:
            av = ShapedArray(av.shape[:d] + av.shape[d + 1:], av.dtype)
        avals.append(ShapedArray((size, *av.shape), av.dtype) if d is not None else _plain(av))
    from ..interpreters.batch import moveaxis

    ops = [a if d is None else moveaxis(a, d, 0) for a, d in zip(args[1:], in_dims, strict=True)]
    front = [None if d is None else 0 for d in in_dims]
    batched = tuple(stage_flat(lambda xs, b=b: vmap_flat(lambda v, b=b: eval_program(b, v),
                                                         xs, front, 0, axis_size=size), avals)
                    for b in branches)
    outs = bind(cond_p, args[0], *ops, branches=batched)
    return outs, [0] * len(outs)


def _cond_source(ins: list[str], outs: list[str], params: dict[str, Any],
                 const: Callable[[Any], str], plain: bool) -> list[str]:
    """``if``/``elif``/``else`` over the compiled branches."""
    branches = params["branches"]
    n = len(branches)
    index, args = ins[0], ", ".join(ins[1:])
    target = (", ".join(outs) + ",") if outs else "_"
    idx = f"_i_{outs[0]}" if outs else "_i"
    lines = [f"{idx} = int({index})"]
    for k, b in enumerate(branches):
        fn = const(compile_program(optimize(b), f"branch{k}", plain_strong_zeros=plain)[0])
        if k == 0:
            head = f"if {idx} <= 0:" if n > 1 else "if True:"
        elif k == n - 1:
            head = "else:"
        else:
            head = f"elif {idx} == {k}:"
        lines += [head, f"    {target} = {fn}({args})"]
    return lines


def _cond_sparsity(q: ProgramQuery) -> list[Any]:
    """Any branch may run: the union of the branches' patterns. The index is piecewise
    constant, so it contributes nothing."""
    out: list[Any] = [None] * len(q.out_avals)
    for branch in q.params["branches"]:
        got = q.algebra.propagate(branch, q.in_pats[1:])
        out = [q.algebra.union(a, b) for a, b in zip(out, got, strict=True)]
    return out


defjvp_rule(cond_p, _cond_jvp)
deftranspose(cond_p, _cond_transpose)
defbatch(cond_p, _cond_batch)
defsparsity_program(cond_p, _cond_sparsity)
STATEMENTS[cond_p] = _cond_source


# --- the user-facing functions -------------------------------------------------------------


def _check_index(where: str, index: Any, boolean_ok: bool) -> None:
    av = get_aval(index)
    kind = np.dtype(av.dtype).kind
    ok = kind in "iu" or (kind == "b" and boolean_ok)
    if av.shape != () or not ok:
        want = "a scalar boolean or integer" if boolean_ok else "a scalar integer"
        raise CondError(f"{where}: the {'predicate' if boolean_ok else 'index'} must be {want}, "
                        f"got {av.str_short()}")


def _stage_branches(where: str, funs: Sequence[Callable[..., Any]], ops: tuple[Any, ...]
                    ) -> tuple[tuple[Program, ...], list[Any], Any]:
    leaves, tree = tree_flatten(ops)
    avals = [_plain(get_aval(v)) for v in leaves]
    progs, consts, trees = [], [], []
    for f in funs:
        store: dict[str, Any] = {}

        def flat(xs: list[Any], f: Callable[..., Any] = f, store: dict[str, Any] = store
                 ) -> list[Any]:
            out_leaves, store["tree"] = tree_flatten(f(*tree_unflatten(tree, xs)))
            return out_leaves

        prog, cs = close_over(stage_flat(flat, avals))
        progs.append(prog)
        consts.append(cs)
        trees.append(store["tree"])
    for k in range(1, len(funs)):
        if trees[k] != trees[0]:
            raise CondError(f"{where}: branch {k} returns output structure {trees[k]}, but "
                            f"branch 0 returns {trees[0]}; every branch must return the same "
                            "structure")
        for j, (a, b) in enumerate(zip(progs[k].out_avals, progs[0].out_avals, strict=True)):
            if tuple(a.shape) != tuple(b.shape) or a.dtype != b.dtype:
                raise CondError(
                    f"{where}: output leaf {j} of branch {k} has shape {shape_str(a.shape)} "
                    f"and dtype {a.dtype}, but branch 0 returns shape {shape_str(b.shape)} and "
                    f"dtype {b.dtype}; every branch must return the same shapes and dtypes")
    # One signature for all: every branch's captured values, then the operands.
    all_consts = [c for cs in consts for c in cs]
    const_avals = [_plain(get_aval(c)) for c in all_consts]
    widened, start = [], 0
    for prog, cs in zip(progs, consts, strict=True):
        slots: list[Var | None] = [None] * len(all_consts)
        slots[start:start + len(cs)] = prog.inputs[:len(cs)]
        widened.append(_widen(prog, slots + prog.inputs[len(cs):], const_avals + avals))
        start += len(cs)
    return tuple(widened), all_consts + leaves, trees[0]


def switch(index: Any, branches: Sequence[Callable[..., Any]], *operands: Any) -> Any:
    """``branches[clip(index, 0, len(branches) − 1)](*operands)`` (JAX's ``lax.switch``)."""
    branches = list(branches)
    if not branches:
        raise CondError("switch: give at least one branch")
    return _choose("switch", index, branches, operands, boolean_ok=False)


def cond(pred: Any, true_fun: Callable[..., Any], false_fun: Callable[..., Any],
         *operands: Any) -> Any:
    """``true_fun(*operands) if pred else false_fun(*operands)`` (JAX's ``lax.cond``)."""
    return _choose("cond", pred, [false_fun, true_fun], operands, boolean_ok=True)


def _choose(where: str, index: Any, funs: list[Callable[..., Any]], ops: tuple[Any, ...],
            boolean_ok: bool) -> Any:
    if not isinstance(index, Tracer):
        index = np.asarray(index)
        _check_index(where, index, boolean_ok)
        return funs[_index(index, len(funs))](*ops)
    _check_index(where, index, boolean_ok)
    progs, args, out_tree = _stage_branches(where, funs, ops)
    outs = bind(cond_p, index, *args, branches=progs)
    return tree_unflatten(out_tree, outs)
