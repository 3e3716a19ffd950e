"""What ``tc.jit`` does on torch tensors beyond the array-API source: ``out=`` buffers and two
fused kernels that torch's own backward uses.

**Buffers.** torch functions take ``out=``, so the liveness plan of
:mod:`tensorcalc.compile.buffers` applies: an elementwise product, sum, ``tanh``… or a matmul
writes into a dead intermediate of the same shape and dtype instead of allocating. Only the
calls of :data:`TORCH_OUT` are planned that way, and only when every array operand already has
the result's floating dtype: then the plain torch function and the array-API one are the same
computation (no promotion to fix), and its result is a fresh tensor (never a view: the plan
writes only into tensors the compiled function allocated). Two limits that NumPy does not have:
torch refuses ``out=`` when autograd records the call (an argument with ``requires_grad``), so
such calls run the program without buffers; and torch refuses to write into a tensor that a
*different view* of the same memory is read from (NumPy copies first), so an in-place call is
kept only when every other tensor operand is a whole buffer or an argument.

**Fused kernels** (exact patterns, each value read by nothing else):

* ``matmul(A, B) + b`` with ``A: (m, k)``, ``B: (k, n)`` and ``b`` of shape ``(n,)``,
  ``(1, n)`` or ``(m, n)`` is ``torch.addmm(b, A, B)``: one gemm with ``C = b`` and β = 1,
  ``C ← A B + C``, instead of a gemm and a pass adding ``b``.
* ``g · (1 − t·t)`` (the tanh rule ``tanh′ = 1 − tanh²`` applied to a cotangent ``g``) is
  torch's ``tanh_backward(g, t)``: one pass computing ``g * (1 - t * t)`` elementwise in the same
  order of operations, instead of three passes and two temporaries. The strong-zero product
  ``mul_sz`` is fused only in the fast (plain) variant, where it is the plain product.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.ir import Equation, Literal, Program, Var
from ..ops.elementwise import add_p, mul_p, sub_p
from ..ops.products import matmul_p
from ..ops.strong_zero import mul_sz_p
from .buffers import BufferPlan, plan_buffers, ufunc_of

#: The NumPy ufuncs emitted as torch functions with ``out=``: ``(torch name, whether a Python
#: number may be an operand)`` (``torch.maximum`` and kin take tensors only).
TORCH_OUT: dict[np.ufunc, tuple[str, bool]] = {
    np.add: ("add", True), np.subtract: ("sub", True), np.multiply: ("mul", True),
    np.true_divide: ("div", True), np.power: ("pow", True), np.negative: ("neg", True),
    np.tanh: ("tanh", True), np.exp: ("exp", True), np.log: ("log", True),
    np.sqrt: ("sqrt", True), np.sin: ("sin", True), np.cos: ("cos", True),
    np.log1p: ("log1p", True), np.expm1: ("expm1", True), np.absolute: ("abs", True),
    np.maximum: ("maximum", False), np.minimum: ("minimum", False),
    np.matmul: ("matmul", True),
}


class TorchKernel:
    """Stands in an equation for a fused torch call: ``emit(args, out)`` is its source
    (``out`` the buffer's name or None); ``signature`` as a ufunc's (None: elementwise)."""

    multiple_results = False
    linear = False
    impl = xp_impl = None

    def __init__(self, name: str, emit: Callable[[list[str], str | None], str],
                 signature: str | None) -> None:
        self.name, self.emit, self.signature = name, emit, signature

    def __repr__(self) -> str:
        return self.name


def _addmm_source(args: list[str], out: str | None) -> str:
    return f"torch.addmm({', '.join(args)}{f', out={out}' if out else ''})"


def _tanh_backward_source(args: list[str], out: str | None) -> str:
    if out is None:
        return f"_aten.tanh_backward({', '.join(args)})"
    return f"_aten.tanh_backward.grad_input({', '.join(args)}, grad_input={out})"


ADDMM = TorchKernel("addmm", _addmm_source, "(m,k),(k,n),(n)->(m,n)")
TANH_BACKWARD = TorchKernel("tanh_backward", _tanh_backward_source, None)


def _floating(v: Var | Literal) -> bool:
    return np.dtype(v.aval.dtype).kind in "fc"


def _number(a: Var | Literal) -> bool:
    """A Python number in the generated code (0-d constants become Python numbers)."""
    return isinstance(a, Literal) and np.ndim(a.value) == 0


def torch_ufunc(eq: Equation, plain: bool) -> Any:
    """The buffer planner's view of an equation in torch code (see ``buffers.UfuncOf``)."""
    if isinstance(eq.primitive, TorchKernel):
        return eq.primitive
    uf = ufunc_of(eq, plain)
    spec = TORCH_OUT.get(uf) if uf is not None else None
    if spec is None:
        return None
    out = eq.outputs[0].aval
    if not _floating(eq.outputs[0]) or len(out.shape) == 0:
        return None
    tensors = 0
    for a in eq.inputs:
        if _number(a):
            if not spec[1]:
                return None
            continue
        if a.aval.dtype != out.dtype:
            return None  # a promotion: left to the array-API function
        if len(a.aval.shape) == 0:
            if not spec[1]:  # a 0-d argument may be a NumPy scalar, passed on as it is
                return None
        else:
            tensors += 1
    return uf if tensors else None


def torch_call(eq: Equation, args: list[str], out: str | None, plain: bool) -> str:
    """Source of an equation :func:`torch_ufunc` accepted."""
    if isinstance(eq.primitive, TorchKernel):
        return eq.primitive.emit(args, out)
    name = TORCH_OUT[torch_ufunc(eq, plain)][0]
    return f"torch.{name}({', '.join(args)}{f', out={out}' if out else ''})"


def _is_one(a: Var | Literal) -> bool:
    return isinstance(a, Literal) and np.ndim(a.value) == 0 and float(np.real(a.value)) == 1.0


def fuse_for_torch(prog: Program, plain: bool) -> Program:
    """``prog`` with the patterns of the module docstring replaced by :class:`TorchKernel`
    equations (one pass; each fused value must have no reader but the fused equation)."""
    eqs = prog.equations
    uses: dict[int, int] = {}
    for eq in eqs:
        for a in eq.inputs:
            if isinstance(a, Var):
                uses[id(a)] = uses.get(id(a), 0) + 1
    for a in prog.outputs:
        if isinstance(a, Var):
            uses[id(a)] = uses.get(id(a), 0) + 2  # returned: never fused away
    producer = {id(v): k for k, eq in enumerate(eqs) for v in eq.outputs}
    gone: set[int] = set()
    new: dict[int, Equation] = {}

    def sole(a: Var | Literal, prim: Any) -> int | None:
        """Index of the equation of ``prim`` that makes ``a``, if ``a`` has one reader."""
        if not isinstance(a, Var) or uses.get(id(a)) != 1:
            return None
        k = producer.get(id(a))
        if k is None or k in gone or k in new or eqs[k].primitive is not prim:
            return None
        return k

    for j, eq in enumerate(eqs):
        if not eq.inputs or not all(_floating(a) for a in eq.inputs) or not _floating(
                eq.outputs[0]) or len(eq.outputs) != 1 or eq.params:
            continue
        out = eq.outputs[0].aval
        if eq.primitive is add_p:
            fused = _addmm(eq, out, eqs, sole)
        elif eq.primitive is mul_p or (plain and eq.primitive is mul_sz_p):
            fused = _tanh_backward(eq, out, eqs, sole)
        else:
            continue
        if fused is not None:
            eqn, removed = fused
            new[j] = eqn
            gone.update(removed)
    if not new:
        return prog
    body = [new.get(k, eq) for k, eq in enumerate(eqs) if k not in gone]
    return Program(prog.inputs, body, list(prog.outputs))


def _addmm(eq: Equation, out: Any, eqs: list[Equation], sole: Callable[..., int | None]
           ) -> tuple[Equation, list[int]] | None:
    """``add(matmul(A, B), b)`` → ``addmm(b, A, B)``."""
    for u, b in (eq.inputs, eq.inputs[::-1]):
        k = sole(u, matmul_p)
        if k is None or _number(b) or len(out.shape) != 2:
            continue
        A, B = eqs[k].inputs
        m, n = out.shape
        if len(A.aval.shape) != 2 or len(B.aval.shape) != 2 or tuple(u.aval.shape) != (m, n) \
                or A.aval.dtype != out.dtype or B.aval.dtype != out.dtype \
                or b.aval.dtype != out.dtype or tuple(b.aval.shape) not in ((n,), (1, n), (m, n)):
            continue
        return Equation(ADDMM, (b, A, B), eq.outputs, {}), [k]
    return None


def _tanh_backward(eq: Equation, out: Any, eqs: list[Equation],
                   sole: Callable[..., int | None]) -> tuple[Equation, list[int]] | None:
    """``g · (1 − t·t)`` (either order of the product) → ``tanh_backward(g, t)``."""
    for g, s in (eq.inputs, eq.inputs[::-1]):
        ks = sole(s, sub_p)
        if ks is None or _number(g) or not _is_one(eqs[ks].inputs[0]):
            continue
        kt = sole(eqs[ks].inputs[1], mul_p)
        if kt is None:
            continue
        t, t2 = eqs[kt].inputs
        if t is not t2 or not isinstance(t, Var) or np.dtype(out.dtype).kind != "f":
            continue
        shape = tuple(out.shape)
        if tuple(g.aval.shape) != shape or tuple(t.aval.shape) != shape \
                or g.aval.dtype != out.dtype or t.aval.dtype != out.dtype:
            continue
        return Equation(TANH_BACKWARD, (g, t), eq.outputs, {}), [ks, kt]
    return None


def torch_buffer_plan(prog: Program, plain: bool) -> BufferPlan:
    """The buffer plan of :mod:`tensorcalc.compile.buffers` for torch code, without the
    in-place calls torch refuses: writing over an operand while another operand may be a
    different view of the same memory (``add(a, a.T, out=a)``)."""
    plan = plan_buffers(prog, plain, torch_ufunc)
    whole = {id(v) for v in prog.inputs}
    whole.update(id(eq.outputs[0]) for eq in prog.equations
                 if torch_ufunc(eq, plain) is not None and eq.outputs[0].aval.shape != ())
    for k, eq in enumerate(prog.equations):
        buf = plan.out[k]
        if buf is not None and any(a is buf for a in eq.inputs) and any(
                isinstance(a, Var) and a is not buf and id(a) not in whole for a in eq.inputs):
            plan.out[k] = None  # its name is still released here: the buffer is just freed
    return plan


def records_grad(*args: Any) -> bool:
    """Whether torch's autograd records calls on ``args`` (then ``out=`` is refused)."""
    import torch

    return torch.is_grad_enabled() and any(getattr(a, "requires_grad", False) for a in args)
