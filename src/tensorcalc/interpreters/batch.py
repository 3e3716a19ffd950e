"""Batching (``vmap``): run a function written for one example on a stack of examples.

A batched value is a pair ``(v, d)``: an array ``v`` whose axis ``d`` indexes the examples, and
whose other axes are the *logical* value the user's function sees. ``d = None`` means the value
is the same for every example (unbatched). For a primitive ``y = p(x₁, …, xₙ)`` the batching rule
computes, with whole-array operations, the array ``Y`` and axis ``e`` with
``moveaxis(Y, e, 0)[b] = p(x₁[b], …, xₙ[b])`` for every example ``b`` — no Python loop over ``b``.

This is what makes Jacobians cheap: ``jacfwd`` pushes a batch of basis tangents through the jvp
in one pass (``J E = J``), ``jacrev`` pulls a batch of basis cotangents through the transposed
linear program, and the primal work, being unbatched, is done once.

Rules are registered per primitive, next to its other rules in ``tensorcalc.ops``:

- :func:`defvectorized` — unary elementwise: ``p`` applied to the stacked array directly.
- :func:`defbroadcasting` — n-ary elementwise with NumPy broadcasting: batched operands get their
  batch axis moved to the front and ``1``-axes inserted so that they align with the others.
- :func:`defbatch_gufunc` — ops whose implementation already loops over leading axes (NumPy
  gufunc style, e.g. linear algebra): the batch axis becomes a leading loop axis.
- :func:`defbatch` — any rule ``rule(args, dims, **params) -> (out, out_dim)``; for
  multiple-result primitives ``out`` and ``out_dim`` are lists.

Rules call ``tensorcalc`` ops, so batching composes with differentiation in either order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..core.errors import ConcretizationError, MissingRuleError, ShapeError
from ..core.primitive import Primitive, Trace, Tracer, get_aval, new_trace
from ..core.shapes import ShapedArray, shape_str

#: Marks an argument or output that has no batch axis.
not_mapped = None

BatchRule = Callable[..., tuple[Any, Any]]
batch_rules: dict[Primitive, BatchRule] = {}

class AxisOps:
    """The structural operations batching rules use to move and insert axes. They are
    primitives of :mod:`tensorcalc.ops`, which sits above the interpreters, so
    ``tensorcalc.ops`` installs them once when it is imported (:func:`register_batch_ops`)."""

    __slots__ = ("transpose", "reshape", "broadcast_to")

    transpose: Callable[[Any, Any], Any]
    reshape: Callable[[Any, Any], Any]
    broadcast_to: Callable[[Any, Any], Any]


axis_ops = AxisOps()


def register_batch_ops(**ops: Any) -> None:
    """Install the operations of :class:`AxisOps` (called by ``tensorcalc.ops``)."""
    for name, op in ops.items():
        if name not in AxisOps.__slots__:
            raise TypeError(f"register_batch_ops: unknown operation {name!r}")
        setattr(axis_ops, name, op)


# --- helpers for rules ----------------------------------------------------------------------


def moveaxis(x: Any, src: int, dst: int) -> Any:
    """``numpy.moveaxis`` for one axis, on arrays and tracers."""
    nd = get_aval(x).ndim
    src, dst = src % nd, dst % nd
    if src == dst:
        return x
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return axis_ops.transpose(x, tuple(perm))


def batch_size_of(x: Any, d: int) -> int:
    return get_aval(x).shape[d]


def bdim_to_front(x: Any, d: int | None, size: int) -> Any:
    """``x`` with its batch axis at 0; an unbatched value is broadcast along a new axis 0."""
    if d is None:
        shape = get_aval(x).shape
        return axis_ops.broadcast_to(x, (size, *shape))
    return moveaxis(x, d, 0)


def pad_after_batch(x: Any, rank: int) -> Any:
    """Insert unit axes after the leading batch axis so the logical rank becomes ``rank``."""
    shape = get_aval(x).shape
    missing = rank - (len(shape) - 1)
    if missing <= 0:
        return x
    return axis_ops.reshape(x, (shape[0],) + (1,) * missing + tuple(shape[1:]))


def logical_axis(axis: int, d: int) -> int:
    """The physical position of logical axis ``axis`` when the batch axis sits at ``d``."""
    return axis if axis < d else axis + 1


def common_size(args: Sequence[Any], dims: Sequence[int | None], op: str) -> int:
    sizes = {batch_size_of(a, d) for a, d in zip(args, dims, strict=True) if d is not None}
    if len(sizes) > 1:
        raise ShapeError(
            f"vmap: the operands of '{op}' have different batch sizes {sorted(sizes)}; every "
            "batched argument of a vmapped function must have the same size along its in_axis")
    return sizes.pop()


# --- registration ---------------------------------------------------------------------------


def defbatch(prim: Primitive, rule: BatchRule) -> None:
    """Register ``rule(args, dims, **params) -> (out, out_dim)``; ``dims[i]`` is the batch axis
    of ``args[i]`` or ``None``. At least one argument is batched when the rule is called."""
    batch_rules[prim] = rule


def defvectorized(prim: Primitive) -> None:
    """A unary elementwise primitive: apply it to the stacked array, the batch axis stays."""

    def vectorized_batch(args: Sequence[Any], dims: Sequence[int | None], **params: Any
                         ) -> tuple[Any, Any]:
        (x,), (d,) = args, dims
        return prim.bind(x, **params), d

    vectorized_batch.__name__ = f"{prim.name}_batch"
    batch_rules[prim] = vectorized_batch


def defbroadcasting(prim: Primitive) -> None:
    """An n-ary elementwise primitive with NumPy broadcasting.

    Batched operands get their batch axis at 0 and unit axes inserted after it up to the
    result's logical rank; unbatched operands (rank ≤ that rank) then broadcast from the right
    exactly as they did for one example. The result is batched at axis 0."""

    def broadcasting_batch(args: Sequence[Any], dims: Sequence[int | None], **params: Any
                           ) -> tuple[Any, Any]:
        ranks = [get_aval(a).ndim - (d is not None) for a, d in zip(args, dims, strict=True)]
        rank = max(ranks)
        batched = [d for d in dims if d is not None]
        if (len(batched) == len(args) and all(d == batched[0] for d in batched)
                and all(r == rank for r in ranks)):
            # Same layout everywhere: apply directly, no axis moves.
            common_size(args, dims, prim.name)
            return prim.bind(*args, **params), batched[0]
        common_size(args, dims, prim.name)
        moved = [a if d is None else pad_after_batch(moveaxis(a, d, 0), rank)
                 for a, d in zip(args, dims, strict=True)]
        return prim.bind(*moved, **params), 0

    broadcasting_batch.__name__ = f"{prim.name}_batch"
    batch_rules[prim] = broadcasting_batch


def defbatch_gufunc(prim: Primitive, core_ndims: Sequence[int],
                    n_out: int | None = None) -> None:
    """A primitive whose implementation and shape rule accept leading loop axes, NumPy-gufunc
    style (``inv``, ``solve``, ``eigh``): operand ``i`` has ``core_ndims[i]`` core axes.

    Batched operands get the batch axis at 0 and unit axes after it up to the longest loop
    rank, so unbatched operands broadcast over it. Every result is batched at axis 0
    (``n_out`` results for a multiple-result primitive)."""

    def gufunc_batch(args: Sequence[Any], dims: Sequence[int | None], **params: Any
                     ) -> tuple[Any, Any]:
        common_size(args, dims, prim.name)
        loops = [get_aval(a).ndim - (d is not None) - c
                 for a, d, c in zip(args, dims, core_ndims, strict=True)]
        loop = max(loops)
        moved = []
        for a, d, c in zip(args, dims, core_ndims, strict=True):
            moved.append(a if d is None else pad_after_batch(moveaxis(a, d, 0), loop + c))
        out = prim.bind(*moved, **params)
        if prim.multiple_results:
            return out, [0] * len(out)
        return out, 0

    gufunc_batch.__name__ = f"{prim.name}_batch"
    batch_rules[prim] = gufunc_batch


# --- the trace ------------------------------------------------------------------------------


class BatchTracer(Tracer):
    """A value with a batch axis ``bdim`` (never ``None``: unbatched values stay plain)."""

    __slots__ = ("val", "bdim")

    def __init__(self, trace: Trace, val: Any, bdim: int) -> None:
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self) -> ShapedArray:
        av = get_aval(self.val)
        shape = av.shape[:self.bdim] + av.shape[self.bdim + 1:]
        return ShapedArray(shape, av.dtype, av.weak_type)

    def concrete_value(self) -> Any:
        raise ConcretizationError(
            f"vmap: a batched value of shape {self.aval.str_short()} (one per example) was used "
            "where a single concrete value is needed: Python `if`/`while`, bool(), int(), "
            "indexing by it, or an operation whose output shape depends on the values (boolean "
            "masks, nonzero). Under vmap each example may differ; use tnp.where(cond, a, b) "
            "and fixed-shape operations instead.")


class BatchTrace(Trace):
    __slots__ = ()

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        vals = []
        dims: list[int | None] = []
        for a in args:
            if type(a) is BatchTracer and a._trace is self:
                vals.append(a.val)
                dims.append(a.bdim)
            else:
                vals.append(a)
                dims.append(None)
        rule = batch_rules.get(prim)
        if rule is None:
            raise MissingRuleError(
                prim, "batching (vmap)",
                "register one in its ops block with defvectorized / defbroadcasting / defbatch; "
                "until then, apply the function example by example")
        out, out_dim = rule(vals, dims, **params)
        if prim.multiple_results:
            return [self.pure(o, d) for o, d in zip(out, out_dim, strict=True)]
        return self.pure(out, out_dim)

    def pure(self, val: Any, d: int | None) -> Any:
        if d is None:
            return val
        nd = get_aval(val).ndim
        return BatchTracer(self, val, d % nd if nd else d)


def vmap_flat(
    fun: Callable[[list[Any]], list[Any]], args: Sequence[Any],
    in_dims: Sequence[int | None],
    out_dims: Sequence[int | None] | int | None | Callable[[], Sequence[int | None]] = 0,
    axis_size: int | None = None,
) -> list[Any]:
    """Apply ``fun`` (flat list in, flat list out) to every example at once.

    ``in_dims[i]`` is the batch axis of ``args[i]`` (``None``: shared by all examples).
    Outputs are returned with their batch axis at ``out_dims[j]``; an output that does not
    depend on the batch is broadcast along it, and ``out_dims[j] = None`` requires that.
    ``out_dims`` may be a callable, called after ``fun`` (when the outputs are known)."""
    sizes = set()
    for a, d in zip(args, in_dims, strict=True):
        if d is not None:
            sizes.add(batch_size_of(a, d))
    if axis_size is not None:
        sizes.add(axis_size)
    if not sizes:
        raise ValueError("vmap needs at least one argument with a batch axis (in_axes are all "
                         "None); pass axis_size to broadcast instead")
    if len(sizes) > 1:
        raise ShapeError(
            f"vmap: the batched arguments have different sizes {sorted(sizes)} along their "
            "in_axes; every batched argument must have the same batch size")
    size = sizes.pop()
    with new_trace(BatchTrace) as trace:
        ins = [a if d is None else BatchTracer(trace, a, d % get_aval(a).ndim)
               for a, d in zip(args, in_dims, strict=True)]
        outs = fun(ins)
        if callable(out_dims):
            out_dims = out_dims()
        if not isinstance(out_dims, (list, tuple)):
            out_dims = [out_dims] * len(outs)
        if len(out_dims) != len(outs):
            raise ValueError(f"vmap: out_axes has {len(out_dims)} entries for "
                             f"{len(outs)} outputs")
        results = []
        for k, (o, od) in enumerate(zip(outs, out_dims, strict=True)):
            if type(o) is BatchTracer and o._trace is trace:
                val, d = o.val, o.bdim
            else:
                val, d = o, None
            results.append(_place(val, d, od, size, k))
    return results


def _place(val: Any, d: int | None, od: int | None, size: int, k: int) -> Any:
    if od is None:
        if d is not None:
            raise ValueError(
                f"vmap: output {k} has shape {shape_str(get_aval(val).shape)} and depends on "
                "the batched arguments, but its out_axes entry is None (meaning the same for "
                "every example); give it an integer out_axis")
        return val
    if d is None:
        val = bdim_to_front(val, None, size)
        d = 0
    nd = get_aval(val).ndim
    if not -nd <= od < nd:
        raise ShapeError(f"vmap: out_axes={od} is out of range for output {k} of rank {nd - 1} "
                         f"(batched rank {nd})")
    return moveaxis(val, d, od)


def is_batched(x: Any) -> bool:
    return isinstance(x, BatchTracer)
