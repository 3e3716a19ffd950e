"""Vectorizing transformations: ``vmap`` and the Jacobian family built on it.

``vmap(f)(X)`` stacks ``f`` over an axis of its arguments: ``vmap(f)(X)[b] = f(X[b])`` computed
with whole-array operations (batching rules, :mod:`tensorcalc.interpreters.batch`).

Jacobians are batched derivative sweeps, never a Python loop over rows or columns:

- ``jacfwd``: ``J = J · I`` — the jvp applied to the batch of all basis tangents at once;
- ``jacrev``: ``J = (Jᵀ · I)ᵀ`` — the transposed linear program applied to the batch of all basis
  cotangents; the primal and the linearization are computed once;
- ``jacobian(mode="auto")`` picks the cheaper one from the sizes and the cost model of the traced
  linear program (:mod:`tensorcalc.jacobians`), or assembles the structured product directly.

Layouts (seed 000): ``"numerator"`` gives ``out.shape + in.shape``; ``"denominator"`` gives
``in.shape + out.shape``; ``"gradient"`` (scalar outputs only) gives ``in.shape``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .api import _as_value
from .core.errors import ShapeError
from .core.primitive import Tracer, get_aval
from .core.tree import tree_flatten, tree_unflatten
from .interpreters.batch import vmap_flat

AxisSpec = Any


def _is_axis_leaf(x: Any) -> bool:
    return x is None or (isinstance(x, (int, np.integer)) and not isinstance(x, bool))


def _broadcast_prefix(spec: AxisSpec, tree: Any, what: str) -> list[int | None]:
    """One axis per leaf of ``tree``: ``spec`` is an axis or a pytree prefix of ``tree`` whose
    leaves are axes (``None`` included), as in JAX's ``in_axes``."""
    out: list[int | None] = []
    # Explicit stack (depth of user pytrees is small, but keep walks iterative everywhere).
    stack: list[tuple[Any, Any]] = [(spec, tree)]
    pending: list[list[int | None]] = []
    while stack:
        s, t = stack.pop()
        if _is_axis_leaf(s):
            pending.append([None if s is None else int(s)] * len(tree_flatten(t)[0]))
            continue
        s_kids, t_kids = _children(s), _children(t)
        if s_kids is None or t_kids is None or len(s_kids) != len(t_kids) or (
                type(s) is not type(t) and not (isinstance(s, (list, tuple))
                                                and isinstance(t, (list, tuple)))):
            raise ValueError(
                f"vmap: {what} {spec!r} does not match the structure of the arguments "
                f"({tree_flatten(tree)[1]}); give one axis (int or None) per argument, or a "
                "container of axes with the same structure")
        for sk, tk in reversed(list(zip(s_kids, t_kids, strict=True))):
            stack.append((sk, tk))
    for p in pending:
        out.extend(p)
    return out


def _children(x: Any) -> list[Any] | None:
    if isinstance(x, dict):
        return [x[k] for k in sorted(x)]
    if isinstance(x, (list, tuple)):
        return list(x)
    return None


def vmap(fun: Callable[..., Any], in_axes: AxisSpec = 0, out_axes: AxisSpec = 0,
         axis_size: int | None = None) -> Callable[..., Any]:
    """Vectorize ``fun`` over an axis of its arguments: ``vmap(f)(X)[b] == f(X[b])``.

    ``in_axes`` is an int (the batch axis of every argument), ``None`` (not batched), or a
    tuple with one entry per positional argument, each an int, ``None`` or a pytree of those
    matching the argument. ``out_axes`` places the batch axis in the outputs the same way.
    Composes with ``grad``, ``jvp``, ``vjp`` and itself in any order."""
    if not (_is_axis_leaf(in_axes) or isinstance(in_axes, (tuple, list, dict))):
        raise TypeError(f"vmap: in_axes must be an int, None or a tuple of those, got "
                        f"{in_axes!r}")

    def vmapped(*args: Any) -> Any:
        args = tuple(_as_value(a) for a in args)
        spec = in_axes
        if isinstance(spec, list):
            spec = tuple(spec)
        if isinstance(spec, tuple) and len(spec) != len(args):
            raise ValueError(f"vmap: in_axes has {len(spec)} entries but the function was "
                             f"called with {len(args)} positional arguments")
        leaves, in_tree = tree_flatten(args)
        dims = _broadcast_prefix(spec if isinstance(spec, tuple) else (spec,) * len(args),
                                 args, "in_axes")
        for leaf, d in zip(leaves, dims, strict=True):
            if d is None:
                continue
            nd = get_aval(leaf).ndim
            if not -nd <= d < nd:
                raise ShapeError(
                    f"vmap: in_axes={d} is out of range for an argument of shape "
                    f"{get_aval(leaf).shape} (rank {nd}); the batch axis must exist")
        store: dict[str, Any] = {}

        def flat(ins: list[Any]) -> list[Any]:
            out = fun(*tree_unflatten(in_tree, ins))
            out_leaves, store["tree"] = tree_flatten(out)
            store["out"] = out
            for o in out_leaves:
                if not isinstance(o, (Tracer, np.ndarray, np.generic, float, int, complex)):
                    raise TypeError(
                        f"vmap: the function returned a {type(o).__name__}, not an array; "
                        "outputs must be arrays or numbers (in tuples, lists, dicts)")
            return out_leaves

        def out_dims() -> list[int | None]:
            return _broadcast_prefix(out_axes, store["out"], "out_axes")

        outs = vmap_flat(flat, leaves, dims, out_dims, axis_size)
        return tree_unflatten(store["tree"], [_own(o) for o in outs])

    vmapped.__name__ = f"vmap({getattr(fun, '__name__', 'f')})"
    return vmapped


def _own(x: Any) -> Any:
    """Results are ordinary writable arrays (broadcast views are materialized)."""
    if isinstance(x, np.ndarray) and not x.flags.writeable:
        return np.array(x)
    return x


def _check_positive_chunk(chunk_size: int | None, fname: str) -> None:
    if chunk_size is not None and (not isinstance(chunk_size, (int, np.integer))
                                   or isinstance(chunk_size, bool) or chunk_size <= 0):
        raise ValueError(f"{fname}: chunk_size must be a positive int (the number of basis "
                         f"vectors per sweep) or None, got {chunk_size!r}")

