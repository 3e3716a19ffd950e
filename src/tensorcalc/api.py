"""The transformations users call: ``grad``, ``value_and_grad``, ``vjp``, ``jvp``,
``linearize`` and ``trace``.

Functions take and return NumPy arrays (and Python floats), in pytrees of tuples, lists, dicts
and namedtuples. Derivatives use the generalized-Jacobian convention of docs/lessons/jacobians.md:
for ``f: R^(N1×…×Nd) → R^(M1×…×Me)`` the Jacobian has shape ``out.shape + in.shape`` (numerator
layout); ``grad`` of a scalar function returns an array shaped like its input (gradient layout).

Reverse mode is "linearize, then transpose": :func:`vjp` stages the linear map ``ẋ ↦ J ẋ``
while evaluating ``f`` and pulls cotangents back through its transpose ``ȳ ↦ Jᵀ ȳ``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .api_util import (
    as_value,
    as_values_at,
    check_differentiable,
    dtype_of,
    fit_cotangent,
    flat_fun,
    issubdtype,
    lower_aux,
    normalize_argnums,
    partial_fun,
    retry_with_strong_zeros,
)
from .core.errors import DifferentiationTypeError, NonScalarOutputError, ShapeError
from .core.ir import Program
from .core.primitive import get_aval
from .core.shapes import ShapedArray, aval_of, shape_str
from .core.tree import tree_flatten, tree_unflatten
from .dask_fuse import fuse_dask_results, is_dask_array
from .interpreters.evaluate import eval_program
from .interpreters.forward import jvp_flat
from .interpreters.linearize import LinearMap, linearize_flat
from .interpreters.stage import stage_flat
from .interpreters.transpose import backward_pass, check_cotangent


def vjp(fun: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """Evaluate ``fun(*primals)`` and return ``(out, pullback)`` (and ``aux`` if ``has_aux``).

    ``pullback(ȳ)`` maps a cotangent shaped like ``out`` to the tuple of cotangents
    ``Jᵀ ȳ``, one per primal, each shaped like its primal. Integer and boolean primals are
    treated as constants; their cotangent is ``None``.
    """
    primals = as_value(tuple(primals), "vjp")
    leaves, in_tree = tree_flatten(primals)
    mask = [issubdtype(dtype_of(x), np.inexact) for x in leaves]
    store: dict[str, Any] = {}
    outs, lin = linearize_flat(flat_fun(fun, in_tree, has_aux, store), leaves, mask)
    out_tree = store["out_tree"]

    def pullback(cotangent: Any) -> tuple[Any, ...]:
        ct_leaves, ct_tree = tree_flatten(cotangent)
        if ct_tree != out_tree:
            raise ShapeError(f"vjp: the cotangent has structure {ct_tree} but the output has "
                             f"structure {out_tree}")
        for c, av in zip(ct_leaves, lin.out_avals, strict=True):
            check_cotangent(c, av, "vjp")

        def pull() -> Any:
            cts = backward_pass(lin.program, ct_leaves)
            return tree_unflatten(in_tree, [fit_cotangent(c, p) if m else None
                                            for c, p, m in zip(cts, leaves, mask, strict=True)])

        def pull_checked() -> Any:  # the linearization too is redone with strong zeros
            return vjp(fun, *primals, has_aux=has_aux)[1](cotangent)

        return retry_with_strong_zeros(pull, pull_checked)

    out = tree_unflatten(out_tree, outs)
    if has_aux:
        return out, pullback, lower_aux(store["aux"])
    return out, pullback


def value_and_grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0,
                   has_aux: bool = False, holomorphic: bool = False) -> Callable[..., Any]:
    """Return a function computing ``(fun(*args), ∇fun(*args))``.

    ``fun`` must return a real scalar (a complex one with ``holomorphic=True``). The gradient
    has the shape of the differentiated argument (gradient layout); with a tuple ``argnums`` a
    tuple of gradients is returned. For a real ``fun`` of a complex ``z`` it is
    ``∂f/∂x − i ∂f/∂y`` (JAX's convention, docs/conventions.md); with ``holomorphic=True``
    it is ``f′(z)``.
    With ``has_aux=True`` ``fun`` returns ``(value, aux)`` and the result is
    ``((value, aux), gradient)``.
    """

    def value_and_grad_f(*args: Any, **kwargs: Any) -> Any:
        out = retry_with_strong_zeros(lambda: value_and_grad_once(*args, **kwargs))
        if is_dask_array(out[0][0] if has_aux else out[0]):
            return fuse_dask_results(out)  # one task per row chunk (dask_fuse.py)
        return out

    def value_and_grad_once(*args: Any, **kwargs: Any) -> Any:
        nums = normalize_argnums(argnums, len(args), "grad")
        # only differentiated arguments become arrays: a function, a string or None passed
        # in another position reaches ``fun`` untouched (JAX's ``grad(apply, 1)(f, x)``)
        args = as_values_at(args, nums, "grad")
        dyn = tuple(args[i] for i in nums)
        dyn_leaves, dyn_tree = tree_flatten(dyn)
        check_differentiable(dyn_leaves, "grad", nums, holomorphic, allow_complex=True)

        store: dict[str, Any] = {}
        outs, lin = linearize_flat(
            flat_fun(partial_fun(fun, args, nums, **kwargs), dyn_tree, has_aux, store),
            dyn_leaves, escapes=False, compact=True)  # only backward_pass reads it
        if len(outs) != 1 or get_aval(outs[0]).shape != ():
            shapes = ", ".join(shape_str(get_aval(o).shape) for o in outs)
            raise NonScalarOutputError(
                f"grad requires a function with a scalar output, but it returned shape "
                f"{shapes}. Use tc.jacobian for the full Jacobian, tc.vjp with a cotangent, "
                "or reduce the output to a scalar (for example .sum()).")
        value = outs[0]
        dt = dtype_of(value)
        if not issubdtype(dt, np.inexact):
            raise DifferentiationTypeError(f"grad requires a floating-point output, got {dt}")
        if issubdtype(dt, np.complexfloating) and not holomorphic:
            raise DifferentiationTypeError(
                "grad of a complex-valued output needs holomorphic=True")
        if holomorphic and not issubdtype(dt, np.complexfloating):
            # A real-valued function of a complex variable (abs(z)**2, z.real) is holomorphic
            # only if constant, so its "holomorphic derivative" would be a wrong number.
            raise DifferentiationTypeError(
                f"grad(holomorphic=True) needs a complex output, but the function returned "
                f"{dt}: a real-valued function of a complex variable is not holomorphic. "
                "Differentiate with respect to the real and imaginary parts instead "
                "(grad of f(x + 1j*y) in x and y).")
        cts = backward_pass(lin.program, [np.ones((), dt)])
        grads = tree_unflatten(dyn_tree, [fit_cotangent(c, p)
                                          for c, p in zip(cts, dyn_leaves, strict=True)])
        g = grads[0] if isinstance(argnums, int) else grads
        if has_aux:
            return (value, lower_aux(store["aux"])), g
        return value, g

    value_and_grad_f.__name__ = f"value_and_grad({getattr(fun, '__name__', 'f')})"
    return value_and_grad_f


def grad(fun: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False,
         holomorphic: bool = False) -> Callable[..., Any]:
    """Return a function computing the gradient of scalar ``fun`` (gradient layout: shaped
    like the argument). Nest it for higher derivatives: ``grad(grad(f))``."""
    vg = value_and_grad(fun, argnums, has_aux, holomorphic)

    def grad_f(*args: Any, **kwargs: Any) -> Any:
        (value, g) = vg(*args, **kwargs)
        if has_aux:
            return g, value[1]
        return g

    grad_f.__name__ = f"grad({getattr(fun, '__name__', 'f')})"
    return grad_f


def jvp(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any],
        has_aux: bool = False) -> Any:
    """Forward mode: return ``(fun(*primals), J · tangents)`` (and ``aux`` if ``has_aux``).

    ``primals`` and ``tangents`` are tuples with the same structure, each tangent shaped like
    its primal.
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp(f, primals, tangents): primals and tangents must be tuples, "
                        "e.g. tc.jvp(f, (x,), (dx,))")
    return retry_with_strong_zeros(lambda: _jvp_once(fun, primals, tangents, has_aux))


def _jvp_once(fun: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any],
              has_aux: bool) -> Any:
    primals = as_value(tuple(primals), "jvp")
    tangents = as_value(tuple(tangents), "jvp")
    p_leaves, p_tree = tree_flatten(primals)
    t_leaves, t_tree = tree_flatten(tangents)
    if p_tree != t_tree:
        raise ShapeError(f"jvp: primals have structure {p_tree} but tangents have {t_tree}")
    for p, t in zip(p_leaves, t_leaves, strict=True):
        if get_aval(p).shape != get_aval(t).shape:
            raise ShapeError(f"jvp: a tangent has shape {shape_str(get_aval(t).shape)} but its "
                             f"primal has shape {shape_str(get_aval(p).shape)}")
    store: dict[str, Any] = {}
    flat = flat_fun(fun, p_tree, has_aux, store)
    out_p, out_t = jvp_flat(flat, p_leaves,
                            [t if issubdtype(dtype_of(p), np.inexact) else None
                             for p, t in zip(p_leaves, t_leaves, strict=True)])
    out_t = [fit_cotangent(t, p) for t, p in zip(out_t, out_p, strict=True)]
    aux = lower_aux(store["aux"]) if has_aux else None
    out_tree = store["out_tree"]
    res = (tree_unflatten(out_tree, out_p), tree_unflatten(out_tree, out_t))
    return res + (aux,) if has_aux else res


def linearize(fun: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """Return ``(fun(*primals), f_lin)`` where ``f_lin(*tangents) = J · tangents`` reuses the
    linearization (the primal work is done once). ``f_lin.program`` is the linear Program."""
    primals = as_value(tuple(primals), "linearize")
    leaves, in_tree = tree_flatten(primals)
    store: dict[str, Any] = {}
    outs, lin = linearize_flat(flat_fun(fun, in_tree, False, store), leaves)
    out_tree = store["out_tree"]

    def f_lin(*tangents: Any) -> Any:
        t_leaves, t_tree = tree_flatten(tuple(tangents))
        if t_tree != in_tree:
            raise ShapeError(f"linearize: tangents have structure {t_tree}, expected {in_tree}")

        def apply() -> Any:
            res = eval_program(lin.program, [np.asarray(t) for t in t_leaves])
            return tree_unflatten(out_tree, [fit_cotangent(r, o)
                                             for r, o in zip(res, outs, strict=True)])

        def apply_checked() -> Any:  # the linearization too is redone with strong zeros
            return linearize(fun, *primals)[1](*tangents)

        return retry_with_strong_zeros(apply, apply_checked)

    f_lin.program = lin.program  # type: ignore[attr-defined]
    return tree_unflatten(out_tree, outs), f_lin


def trace(fun: Callable[..., Any], *args: Any) -> Program:
    """Stage ``fun`` into a :class:`Program`; ``print`` it to see the equations with shapes.

    Arguments may be arrays or abstract values ``tc.ShapeDtype(("n", "n"))`` with symbolic
    dimensions. The program's inputs are the flattened argument leaves in order.
    """
    args = as_value(tuple(args), "trace")
    leaves, in_tree = tree_flatten(args)
    avals = [x if isinstance(x, ShapedArray) else aval_of(x) for x in leaves]
    avals = [ShapedArray(a.shape, a.dtype) for a in avals]
    store: dict[str, Any] = {}
    return stage_flat(flat_fun(fun, in_tree, False, store), avals)


def linear_map(fun: Callable[..., Any], *primals: Any) -> LinearMap:
    """The staged linear map of ``fun`` at ``primals`` (flattened inputs and outputs)."""
    leaves, in_tree = tree_flatten(as_value(tuple(primals)))
    return linearize_flat(flat_fun(fun, in_tree, False, {}), leaves)[1]
