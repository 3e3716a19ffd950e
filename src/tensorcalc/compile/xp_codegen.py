"""Generate straight-line source against an array-API namespace ``xp`` (torch, CuPy, Dask,
array_api_strict…), for ``tc.jit`` on arrays that are not NumPy's.

The same Program that :mod:`tensorcalc.compile.codegen` turns into NumPy calls becomes one
line per equation calling the standard's functions on ``xp``: a ufunc primitive as its standard
name (``np.power → xp.pow``, the alias table of :mod:`tensorcalc.core.backend`), the
structural primitives through templates (``xp.reshape``, ``xp.permute_dims``, ``xp.sum``…),
and every other primitive through its backend-neutral ``xp_impl`` with its parameters bound
as constants. NumPy constants of the Program are placed on the inputs' device once, when the
function is compiled.

Every intermediate is released (``del``) after its last reader, as eager evaluation would free
it, so the compiled function holds no more memory than eager code (the liveness plan of
:mod:`tensorcalc.compile.buffers`). The standard has no ``out=``, so on array_api_strict,
Dask (where each call adds to a task graph: nothing is computed by the compiled function) and
CuPy that is all; on torch the plan also writes results into dead intermediates with ``out=``
and two torch kernels replace exact patterns (:mod:`tensorcalc.compile.xp_torch`).

With ``plain_strong_zeros`` the strong-zero products are plain ``xp.multiply``/``xp.divide``;
the checked variant calls their ``xp_impl``, which masks with ``where`` under strong-zero
checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import backend
from ..core.ir import Literal, Program, Var
from ..core.primitive import Primitive
from ..ops.elementwise import select_p
from ..ops.reductions import reduce_max_p, reduce_min_p
from ..ops.strong_zero import div_sz_p, mul_sz_p
from ..ops.structural import (
    broadcast_to_p,
    reduce_sum_p,
    reshape_p,
    transpose_p,
)
from .buffers import BufferPlan, plan_buffers
from .codegen import inline_literal
from .xp_torch import fuse_for_torch, records_grad, torch_buffer_plan, torch_call, torch_ufunc

Const = Callable[[Any], str]

#: Templates in the standard's names, keyed by primitive object.
XP_TEMPLATES: dict[Primitive, Callable[[list[str], dict[str, Any], Const], str]] = {
    reshape_p: lambda a, p, c: f"xp.reshape({a[0]}, {c(p['new_shape'])})",
    transpose_p: lambda a, p, c: f"xp.permute_dims({a[0]}, {c(p['perm'])})",
    broadcast_to_p: lambda a, p, c: f"xp.broadcast_to({a[0]}, {c(p['shape'])})",
    reduce_sum_p: lambda a, p, c: f"xp.sum({a[0]}, axis={c(p['axes'])})",
    reduce_max_p: lambda a, p, c: f"xp.max({a[0]}, axis={c(p['axes'])})",
    reduce_min_p: lambda a, p, c: f"xp.min({a[0]}, axis={c(p['axes'])})",
    select_p: lambda a, p, c: f"_where({a[0]}, {a[1]}, {a[2]})",
}
PLAIN = {mul_sz_p: "multiply", div_sz_p: "divide"}


def _standard_name(prim: Primitive, xp: Any) -> str | None:
    """The standard function a ufunc primitive is, when ``xp`` has it (else None)."""
    uf = prim.impl
    if not isinstance(uf, np.ufunc) or uf in backend.UFUNC_COMPOSITES:
        return None
    name = backend.UFUNC_ALIASES.get(uf, uf.__name__)
    return name if name and hasattr(xp, name) else None


def _no_out(eq: Any, plain: bool) -> None:
    return None


def generate_xp_source(prog: Program, xp: Any, dev: Any, name: str = "compiled",
                       plain_strong_zeros: bool = False, reuse_buffers: bool = True
                       ) -> tuple[str, dict[str, Any]]:
    """``(source, globals)`` of a function computing ``prog`` on ``xp`` arrays on ``dev``.
    ``reuse_buffers`` (torch only) enables ``out=`` buffers and the fused torch kernels."""

    def where(c: Any, x: Any, y: Any) -> Any:
        return select_p.xp_impl(xp, c, x, y)  # type: ignore[misc]

    plain = plain_strong_zeros
    env: dict[str, Any] = {"xp": xp, "_where": where}
    torch_out = reuse_buffers and backend.backend_name(xp) == "torch"
    plan: BufferPlan
    if torch_out:
        import torch

        env["torch"], env["_aten"] = torch, torch.ops.aten
        prog = fuse_for_torch(prog, plain)
        plan = torch_buffer_plan(prog, plain)
    else:
        plan = plan_buffers(prog, plain, _no_out)  # only the releases
    names: dict[int, str] = {}
    counter = [0]

    def fresh(prefix: str) -> str:
        counter[0] += 1
        return f"{prefix}{counter[0]}"

    def const(value: Any) -> str:
        if inline_literal(value):
            return repr(value)
        key = fresh("_k")
        env[key] = backend.to_backend(value, xp, dev)
        return key

    def read(atom: Var | Literal) -> str:
        return const(atom.value) if isinstance(atom, Literal) else names[id(atom)]

    args = []
    for v in prog.inputs:
        names[id(v)] = fresh("x")
        args.append(names[id(v)])
    lines = [f"def {name}({', '.join(args)}):"]
    if torch_out:
        # torch refuses out= while autograd records: such calls run the unbuffered variant.
        env["_records_grad"] = records_grad
        lines.append(f"    if _records_grad({', '.join(args)}): "
                     f"return _unbuffered({', '.join(args)})")
    for k, eq in enumerate(prog.equations):
        ins = [read(a) for a in eq.inputs]
        outs = []
        for v in eq.outputs:
            names[id(v)] = fresh("v")
            outs.append(names[id(v)])
        prim = eq.primitive
        template = XP_TEMPLATES.get(prim)
        if torch_out and torch_ufunc(eq, plain) is not None:
            buf = plan.out[k]
            expr = torch_call(eq, ins, None if buf is None else names[id(buf)], plain)
        elif template is not None:
            expr = template(ins, eq.params, const)
        elif plain and prim in PLAIN:
            expr = f"xp.{PLAIN[prim]}({', '.join(ins)})"
        elif _standard_name(prim, xp) and not eq.params:
            expr = f"xp.{_standard_name(prim, xp)}({', '.join(ins)})"
        else:
            impl = prim.xp_impl
            if impl is None:
                impl = prim.xp_impl = backend.ufunc_impl(prim)
            fn = const(impl)
            kw = ", ".join(f"{p}={const(v)}" for p, v in eq.params.items())
            expr = f"{fn}(xp, {', '.join(ins)}{', ' + kw if kw else ''})"
        target = outs[0] if not prim.multiple_results else ", ".join(outs) + ","
        lines.append(f"    {target} = {expr}  # {prim.name}")
        if plan.release[k]:
            lines.append(f"    del {', '.join(names[id(v)] for v in plan.release[k])}")
    # A returned array constant is copied, as in the NumPy code: callers may modify results
    # in place, and the constant is shared by every call.
    env["_copy"] = lambda a: xp.asarray(a, copy=True)
    rets = [f"_copy({read(a)})" if isinstance(a, Literal) and np.ndim(a.value) > 0
            else read(a) for a in prog.outputs]
    lines.append(f"    return ({', '.join(rets)}{',' if len(rets) == 1 else ''})")
    return "\n".join(lines) + "\n", env


def compile_xp_program(prog: Program, xp: Any, dev: Any, name: str = "compiled",
                       plain_strong_zeros: bool = False, reuse_buffers: bool = True
                       ) -> tuple[Callable[..., Any], str]:
    """Compile ``prog`` for ``xp`` arrays on ``dev``; returns the function and its source."""
    source, env = generate_xp_source(prog, xp, dev, name, plain_strong_zeros, reuse_buffers)
    # The source is generated from a Program by this module, never from user text.
    code = compile(source, f"<tensorcalc.jit {name} [{backend.backend_name(xp)}]>", "exec")
    exec(code, env)  # noqa: S102
    if "_records_grad" in env:
        env["_unbuffered"] = compile_xp_program(prog, xp, dev, name, plain_strong_zeros,
                                                reuse_buffers=False)[0]
    return env[name], source
