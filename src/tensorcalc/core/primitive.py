"""Primitives, tracers and the dispatch that connects them.

A :class:`Primitive` is a named operation with an implementation on NumPy arrays and an
abstract-evaluation rule (shapes and dtypes). Derivative, transpose and batching rules live in
registries owned by the interpreter modules; the op modules fill them, one block per primitive.

Transformations are *traces* (the stack of active ones is per thread and per asyncio task, in
:mod:`tensorcalc.core.context`). Each active transformation has a level; a value being transformed
at that level is a :class:`Tracer` of that trace. ``bind`` looks at the arguments, finds the
highest-level trace among them and lets it process the primitive; with no tracer among the
arguments it calls the NumPy implementation directly, so untransformed code pays nothing; on
arrays of another library (torch, CuPy, Dask, any array-API array) it calls the primitive's
backend-neutral ``xp_impl`` instead (:mod:`tensorcalc.core.backend`).
Because the level is taken from the data, nested transformations never confuse their
perturbations: ``grad(lambda x: x * grad(lambda y: x * y)(1.0))`` keeps the inner and outer
derivatives apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .backend import apply_foreign, foreign_aval, is_foreign
from .context import new_trace  # noqa: F401  (re-exported: core.primitive.new_trace)
from .errors import ConcretizationError, LeakedTracerError, TensorcalcError
from .shapes import NUMPY_SCALAR_AVALS, PLAIN_VALUES, ShapedArray, aval_of


class Primitive:
    """A primitive operation: ``impl`` on arrays and ``abstract_eval`` on :class:`ShapedArray`.

    Two flags describe its derivative, and only the rules set them, so they cannot disagree with
    the rules: ``linear`` is set by ``deftranspose`` / ``deflinear`` / ``defbilinear`` (the
    primitive is linear in some operands and has a transpose rule), ``differentiable`` is
    cleared by ``defjvp_zero`` (comparisons, sign, floor: a zero derivative everywhere).
    ``transpose_only`` marks a linear primitive that can be transposed but not applied forward
    (the backward rule of a ``custom_vjp`` function): Jacobians through it use reverse sweeps.
    ``xp_impl(xp, *args, **params)`` is the implementation on arrays of any array-API
    namespace ``xp`` (declared with ``core.backend.defxp``; ufuncs get theirs from the
    standard's names, others without one are NumPy-only). ``fresh_result`` marks a primitive
    whose NumPy ``impl`` always returns an array no operand aliases (a new allocation, or a
    view of one): jit's buffer plan may then reuse its operands' buffers once it has run.
    """

    registry: dict[str, Primitive] = {}

    def __init__(
        self,
        name: str,
        impl: Callable[..., Any],
        abstract_eval: Callable[..., Any],
        *,
        multiple_results: bool = False,
    ) -> None:
        if name in Primitive.registry:
            raise ValueError(f"a primitive named {name!r} already exists")
        self.name = name
        self.impl = impl
        self.abstract_eval = abstract_eval
        self.multiple_results = multiple_results
        self.linear = False
        self.differentiable = True
        self.transpose_only = False
        self.fresh_result = False
        self.xp_impl: Callable[..., Any] | None = None
        Primitive.registry[name] = self

    def bind(self, *args: Any, **params: Any) -> Any:
        return bind(self, *args, **params)

    def __repr__(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


class Trace:
    """One active transformation. Subclasses implement :meth:`process`."""

    __slots__ = ("level", "active")

    def __init__(self, level: int) -> None:
        self.level = level
        self.active = True

    def process(self, prim: Primitive, args: tuple[Any, ...], params: dict[str, Any]) -> Any:
        raise NotImplementedError

    def process_unary(self, prim: Primitive, x: Tracer) -> Any:
        """``prim(x)`` without parameters, ``x`` this trace's tracer: what every traced unary
        operation calls (``ops.elementwise.unary_op``), so that a trace can take its commonest
        case without building an argument tuple and dispatching on it."""
        return self.process(prim, (x,), {})

    def process_number(self, prim: Primitive, x: Any, y: Any) -> Any:
        """``prim(x, y)`` without parameters, one operand this trace's tracer and the other a
        Python number (``x * 0.9``, ``1 - x``): the commonest binary operation."""
        return self.process(prim, (x, y), {})


class Tracer:
    """A value being transformed. Array methods and operators are installed by
    :mod:`tensorcalc.numpy`, so a tracer reads like a NumPy array in user code."""

    __slots__ = ("_trace",)
    __array_priority__ = 1000

    _trace: Trace

    @property
    def aval(self) -> ShapedArray:
        raise NotImplementedError

    @property
    def shape(self) -> tuple[Any, ...]:
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        return self.aval.ndim

    @property
    def size(self) -> Any:
        return self.aval.size

    def concrete_value(self) -> Any:
        """The value this tracer stands for, when the trace knows it (eager transformations)."""
        raise ConcretizationError(
            f"a traced value of shape {self.aval.str_short()} was used where a concrete value is "
            "needed (Python `if`, `while`, bool(), int() or indexing by a traced value). Inside "
            "tc.trace / tc.jit there are no concrete values: use tnp.where(cond, a, b) instead "
            "of `if`, or mark the argument static (static_argnums)."
        )

    def __bool__(self) -> bool:
        return bool(self.concrete_value())

    def __index__(self) -> int:
        v = self.concrete_value()
        if not np.issubdtype(np.asarray(v).dtype, np.integer):
            raise TypeError(f"only integer values can be used as an index, got {self.dtype}")
        return int(v)

    def __float__(self) -> float:
        raise ConcretizationError(
            "float() of a value being differentiated would silently drop its derivative. "
            "Keep it as an array (use tensorcalc.numpy operations), or take float() of the "
            "result outside the differentiated function."
        )

    __int__ = __float__
    __complex__ = __float__

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise ConcretizationError(
            "a value being differentiated was converted to a NumPy array (np.asarray, np.array, "
            "or assignment into a NumPy array). That would silently drop its derivative. Use "
            "tensorcalc.numpy (`import tensorcalc.numpy as tnp`) for the computation, and "
            "x.at[idx].set(v) instead of writing into an array."
        )

    def __setitem__(self, idx: Any, value: Any) -> None:
        raise TypeError(
            "tensorcalc arrays being differentiated are immutable: `x[idx] = v` is not "
            "supported. Use the functional update `x = x.at[idx].set(v)` (or `.add(v)`)."
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.aval.str_short()})"


def bind(prim: Primitive, *args: Any, **params: Any) -> Any:
    """Apply ``prim`` to ``args``: NumPy directly, or the top trace among the arguments."""
    top: Trace | None = None
    masked = foreign = False
    for a in args:
        if type(a) in PLAIN_VALUES:
            continue
        if isinstance(a, Tracer):
            t = a._trace
            if top is None or t.level > top.level:
                top = t
        elif isinstance(a, np.ma.MaskedArray):
            masked = True
        elif is_foreign(a):
            foreign = True
    if masked and top is not None:
        # A closed-over masked constant: the traced program would drop its mask.
        raise TypeError(
            f"{prim.name}: a numpy.ma.MaskedArray was used inside a transformed function; "
            "transformations ignore masks, so masked entries would silently count. Use "
            "x.filled(value), or tnp.where(mask, neutral, x.data).")
    if top is None:
        if foreign:
            return apply_foreign(prim, args, params)
        try:
            return prim.impl(*args, **params)
        except (ValueError, IndexError, TypeError) as err:
            _explain_failure(prim, args, params, err)
            raise
    if not top.active:
        raise LeakedTracerError(
            f"{prim.name}: a traced value from a transformation that has already finished was "
            "used (it was stored in a global or a closure and escaped). Pass it as an argument "
            "instead, or compute it outside the transformed function."
        )
    return top.process(prim, args, params)


def _explain_failure(prim: Primitive, args: tuple[Any, ...], params: dict[str, Any],
                     err: Exception) -> None:
    """NumPy rejected the operands: rerun the shape rule, whose error names the operator, the
    shapes and the rule, and raise that instead (chained to NumPy's message)."""
    try:
        prim.abstract_eval(*[get_aval(a) for a in args], **params)
    except (TensorcalcError, IndexError) as ours:
        if str(ours) != str(err):
            raise ours from err
    except Exception:
        return


def get_aval(x: Any) -> ShapedArray:
    if type(x) is np.ndarray:
        return ShapedArray(x.shape, x.dtype)
    scalar = NUMPY_SCALAR_AVALS.get(type(x))
    if scalar is not None:
        return scalar
    if isinstance(x, Tracer):
        return x.aval
    if is_foreign(x):
        return foreign_aval(x)
    return aval_of(x)
