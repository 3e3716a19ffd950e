"""Liveness and buffer reuse for generated code: ``del`` at last use, and NumPy ``out=``.

A generated function keeps every local alive until it returns, so without help a compiled
gradient holds all its intermediates at once, where eager evaluation frees each as soon as its
last reader is done. This pass computes, for the straight-line program, the last equation that
reads each variable and plans two things:

* **release**: after equation k, ``del`` every variable whose last use is k (a view keeps its
  base alive, so a *buffer* — a fresh array some equation allocated — dies only when the last
  variable that may alias it dies);
* **reuse**: an equation that calls a NumPy ufunc writes its result with ``out=`` into a dead
  buffer of the same shape and dtype instead of allocating: first an operand whose buffer dies
  at this very equation (in place: ``np.add(a, b, out=a)``, exact for elementwise ufuncs because
  element i of the output depends only on element i of the operands), else a buffer that died
  earlier and was kept for this purpose.

Safety rules (why the result cannot change): only arrays allocated by a ufunc call inside this
function are ever written to — never a program input, a constant, or a value some output may
alias; a buffer is reused only after every variable that may alias it is dead (results of
operations whose aliasing is unknown are assumed to alias all their operands); and ``out=`` is
used only when the ufunc's result dtype is certainly the output's dtype (all array operands
already have it), so NumPy never casts into the buffer. 0-d results are NumPy scalars and are
never buffers. The torch code generator (:mod:`tensorcalc.compile.xp_torch`) runs the same plan
with its own list of calls that allocate and take ``out=``.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.ir import Literal, Program, Var
from ..ops.elementwise import select_p
from ..ops.reductions import reduce_max_p, reduce_min_p
from ..ops.softmax import log_softmax_p, softmax_p, softmax_tangent_p
from ..ops.strong_zero import div_sz_p, mul_sz_p
from ..ops.structural import convert_p, reduce_sum_p

#: Primitives whose generated code never returns a view of an operand (fresh arrays or scalars).
#: (softmax's three impls end in a NumPy call that allocates: the scores they read can die, and
#: their buffers be reused, as soon as they are read.) Primitives defined elsewhere declare the
#: same of their NumPy impl with ``Primitive.fresh_result`` (the nn convolutions and pooling).
FRESH = frozenset({reduce_sum_p, reduce_max_p, reduce_min_p, select_p, convert_p,
                   softmax_p, log_softmax_p, softmax_tangent_p})


@dataclass
class BufferPlan:
    """Per equation: the variable whose buffer receives ``out=`` (or None), and the variables
    to ``del`` after it."""

    out: list[Var | None] = field(default_factory=list)
    release: list[Sequence[Var]] = field(default_factory=list)
    #: Per equation, the ufunc (or the code generator's equivalent) it is emitted as, or None.
    ufuncs: list[Any] = field(default_factory=list)
    #: The equations whose one output is read exactly once, by the next equation, and is not
    #: returned (codegen may write such a call as an argument of the next one).
    read_once_by_next: set[int] = field(default_factory=set)
    #: The equations that allocate a buffer no returned value can alias, with its key
    #: ``(shape, dtype)``: codegen may give each a buffer kept between calls (the call pool).
    poolable: dict[int, tuple] = field(default_factory=dict)
    #: The equations that allocate the memory of exactly one returned value, the buffer owner
    #: returned at that position, and of nothing else returned, with its key and that
    #: position: codegen may write each into an earlier call's result the caller has dropped
    #: (:func:`tensorcalc.compile.pool.recycle_slots`).
    recyclable: dict[int, tuple[tuple, int]] = field(default_factory=dict)

    @property
    def reused(self) -> int:
        return sum(v is not None for v in self.out)


# With ``plain_strong_zeros`` the strong-zero products are emitted as the plain ufuncs; see
# :mod:`tensorcalc.compile.jit` for why that is exact whenever the result has no NaN.
PLAIN_STRONG_ZERO = {mul_sz_p: np.multiply, div_sz_p: np.true_divide}


def ufunc_of(eq: Any, plain_strong_zeros: bool = False) -> np.ufunc | None:
    """The one-output NumPy ufunc codegen emits for this equation, or None."""
    impl = eq.primitive.impl
    if plain_strong_zeros and eq.primitive in PLAIN_STRONG_ZERO:
        impl = PLAIN_STRONG_ZERO[eq.primitive]
    if isinstance(impl, np.ufunc) and impl.nout == 1 and not eq.params \
            and not eq.primitive.multiple_results:
        return impl
    return None


def numpy_call_of(eq: Any, plain_strong_zeros: bool = False) -> Any:
    """:func:`ufunc_of`, or else the primitive's ``numpy_out`` rule: an impl that takes
    ``out=`` (a C-contiguous array of the output's shape and dtype, which it fills and returns;
    its ``signature`` attribute is None when ``out`` may be a dying operand, as for an
    elementwise ufunc). The op block declares it (``ops/softmax.py``); the NumPy code generator
    then gives those calls dead buffers and call-pool buffers like ufunc results."""
    u = kernel_or_ufunc_of(eq, plain_strong_zeros)
    if u is None and not eq.primitive.multiple_results:
        u = getattr(eq.primitive, "numpy_out", None)
    return u


def kernel_or_ufunc_of(eq: Any, plain_strong_zeros: bool = False) -> Any:
    """The primitive's own jit kernel for ``eq`` (:func:`jit_kernel_of`: called like a unary
    ufunc, ``out`` by position or keyword), else :func:`ufunc_of`."""
    own = jit_kernel_of(eq)
    return own.numpy_out if own is not None else ufunc_of(eq, plain_strong_zeros)


def jit_kernel_of(eq: Any) -> Any:
    """The primitive's own jit kernel for the dtype and size of ``eq``'s result (its
    ``jit_kernel`` rule: ``tanh`` on large float64 arrays, :mod:`tensorcalc.ops._tanh_kernel`),
    or None."""
    rule = getattr(eq.primitive, "jit_kernel", None)
    if rule is None or eq.params or len(eq.outputs) != 1 or not _own_kernels.get():
        return None
    aval = eq.outputs[0].aval
    if not all(type(d) is int for d in aval.shape):
        return None  # (a symbolic size: NumPy's function)
    return rule(aval.dtype, math.prod(aval.shape))


#: Whether the code being generated may call a primitive's own jit kernel (a context
#: variable: ``jit(fuse=False)`` turns it off, for NumPy's functions throughout).
_own_kernels: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "tensorcalc_own_kernels", default=True)


@contextlib.contextmanager
def own_kernels(allowed: bool) -> Iterator[None]:
    """Within: code generation uses the primitives' own jit kernels only if ``allowed``."""
    token = _own_kernels.set(allowed)
    try:
        yield
    finally:
        _own_kernels.reset(token)


#: How a code generator says which equations it emits as a fresh-array call that takes
#: ``out=``: the ufunc (or an object with a ufunc's ``signature``: None for elementwise, which
#: may then run in place on a dying operand), or None.
UfuncOf = Callable[[Any, bool], Any]


def _can_write_out(eq: Any) -> bool:
    """Whether an equation emitted as a ufunc call certainly makes the output aval's dtype
    (so ``out=`` never casts) and a result that is not 0-d."""
    out = eq.outputs[0].aval
    if len(out.shape) == 0 or not all(isinstance(d, int) for d in out.shape):
        return False
    for a in eq.inputs:
        if type(a) is Literal and type(a.value) in (int, float):
            # A Python number is weak (NEP 50): the array operand decides the dtype.
            dtype = out.dtype if isinstance(out.dtype, np.dtype) else np.dtype(out.dtype)
            if dtype.kind not in "fc":  # not inexact
                return False
        elif a.aval.dtype != out.dtype:
            return False
    return True


def _aval_facts(aval: Any) -> tuple[tuple, bool, bool]:
    """``(buffer key, whether a result of this aval may take out= (not 0-d, every size
    known), whether its dtype is inexact)``: what :func:`_can_write_out` asks of the output,
    found once per aval object (equations of one signature share theirs) rather than per
    equation."""
    shape, dtype = aval.shape, aval.dtype
    dt = dtype if isinstance(dtype, np.dtype) else np.dtype(dtype)
    sized = len(shape) > 0 and all(isinstance(d, int) for d in shape)
    return (shape if type(shape) is tuple else tuple(shape), dt), sized, dt.kind in "fc"


def _operands_fit(ins: Sequence[Any], dtype: Any, inexact: bool) -> bool:
    """The operand half of :func:`_can_write_out`: every array operand has the output's
    dtype, and a Python number (weak, NEP 50) meets an inexact output."""
    for a in ins:
        if type(a) is Literal and type(a.value) in (int, float):
            if not inexact:
                return False
        else:
            d = a.aval.dtype
            if d is not dtype and d != dtype:
                return False
    return True


def _key(v: Var) -> tuple:
    aval = v.aval
    shape, dtype = aval.shape, aval.dtype
    return (shape if type(shape) is tuple else tuple(shape),
            dtype if isinstance(dtype, np.dtype) else np.dtype(dtype))


_NO_ALIAS: frozenset[Var] = frozenset()
_UNSEEN = object()
_NOTHING: tuple[Var, ...] = ()  # what an equation that releases nothing holds


def plan_buffers(prog: Program, plain_strong_zeros: bool = False,
                 ufunc: UfuncOf = ufunc_of) -> BufferPlan:
    """Plan ``del`` statements and ``out=`` buffers for ``prog`` (see the module docstring).
    ``ufunc`` names the equations that allocate a fresh array and accept ``out=`` (NumPy's
    ufuncs by default; the torch code generator passes its own).

    Three sweeps with dictionary lookups (the demand for a buffer key after equation k is a
    bisection), so the plan is O(n log n) in program size. Tables are keyed by the ``Var``
    objects themselves (hashed by identity, as ``id`` would be, without a call per lookup)."""
    eqs = prog.equations
    n = len(eqs)
    never = n + 1  # "lives past the end": outputs and what they may alias
    # Sweep 1: the last reader of each variable (a variable nobody reads dies where it is
    # made), which buffers (identified by the Var that owns them) each variable that is not an
    # owner may alias (an owner aliases itself alone: ``owner_key`` holds it, ``aliases`` does
    # not), and which equations may write into a buffer, by buffer key (shape, dtype).
    last: dict[Var, int] = {}
    aliases: dict[Var, frozenset[Var]] = {}
    owner_key: dict[Var, tuple] = {}  # buffer owner -> its key
    ufuncs: list[Any] = [None] * n
    keys: list[tuple | None] = [None] * n
    demand: dict[tuple, list[int]] = {}
    numpy_code = ufunc in (ufunc_of, numpy_call_of, kernel_or_ufunc_of)  # (fresh_result)
    by_primitive: dict[Any, Any] | None = {} if numpy_code else None
    seen_avals: dict[int, tuple] = {}  # id(aval) -> _aval_facts (the program keeps them)
    for k, eq in enumerate(eqs):
        prim = eq.primitive
        if by_primitive is None or eq.params:
            u = ufunc(eq, plain_strong_zeros)
        else:  # NumPy's ufunc depends on the primitive alone: look it up once per primitive
            u = by_primitive.get(prim, _UNSEEN)
            if u is _UNSEEN:
                # (a primitive with a jit kernel of its own may have it for one dtype only)
                per_eq = getattr(prim, "jit_kernel", None) is not None
                u = ufunc(eq, plain_strong_zeros)
                by_primitive[prim] = _UNSEEN if per_eq else u
        ufuncs[k] = u
        outs = eq.outputs
        if u is not None and outs[0].aval.shape != ():  # its outputs are fresh buffers
            for a in eq.inputs:
                if type(a) is not Literal:
                    last[a] = k  # (what the operands alias does not matter to a fresh result)
            for v in outs:  # (a fused torch kernel may make several)
                facts = seen_avals.get(id(v.aval))
                if facts is None:
                    facts = seen_avals[id(v.aval)] = _aval_facts(v.aval)
                owner_key[v] = facts[0]
                last[v] = k
            if len(outs) > 1:
                facts = seen_avals[id(outs[0].aval)]
            if facts[1] and _operands_fit(eq.inputs, outs[0].aval.dtype, facts[2]):
                keys[k] = key = facts[0]
                got_k = demand.get(key)
                if got_k is None:
                    demand[key] = [k]
                else:
                    got_k.append(k)
            continue
        ins = _NO_ALIAS
        for a in eq.inputs:
            if type(a) is not Literal:
                last[a] = k
                got = aliases.get(a)
                if got is None:
                    if a not in owner_key:
                        continue
                    got = frozenset((a,))
                if got:  # the union only when a second operand brings buffers of its own
                    ins = got if not ins or got is ins else ins | got
        # (getattr: a fused kernel stands in an equation without being a Primitive)
        fresh = prim in FRESH or (numpy_code and getattr(prim, "fresh_result", False))
        mine = _NO_ALIAS if fresh else ins
        for v in outs:
            if mine:
                aliases[v] = mine
            last[v] = k
    for a in prog.outputs:
        if type(a) is Var:
            last[a] = never
            for b in aliases.get(a, ()):
                last[b] = never
    # A buffer dies when the last variable that may alias it dies (itself included).
    buf_death = {b: last[b] for b in owner_key}
    for v, bufs in aliases.items():
        lv = last[v]
        for b in bufs:
            if buf_death[b] < lv:
                buf_death[b] = lv
    dying_at: dict[int, list[Var]] = {}
    for b, k in buf_death.items():
        got = dying_at.get(k)
        if got is None:
            dying_at[k] = [b]
        else:
            got.append(b)
    # Sweep 3: pick each out= buffer and the names to release after each equation.
    plan = BufferPlan([None] * n, [_NOTHING] * n)
    plan.ufuncs = ufuncs
    once = plan.read_once_by_next
    pool: dict[tuple, list[Var]] = {}
    inputs = set(prog.inputs)
    # The equation that allocated the memory each buffer owner holds (owners written with
    # ``out=`` hold their predecessor's memory), where it could have been written with out=.
    root: dict[Var, int] = {}
    out_of, release_of = plan.out, plan.release
    for k, eq in enumerate(eqs):
        dying = dying_at.get(k, ())
        taken: Var | None = None
        key = keys[k]
        ins = eq.inputs
        if key is not None:
            if dying and ufuncs[k].signature is None:  # in place: elementwise (not matmul)
                here = dying if len(dying) < 8 else set(dying)
                for a in ins:
                    if a in here and owner_key.get(a) == key:
                        taken = a  # in place: the operand's buffer dies here
                        break
            if taken is None:
                free = pool.get(key)
                if free:
                    taken = free.pop()
            out_of[k] = taken
            if taken is None:
                root[eq.outputs[0]] = k
            elif taken in root:
                root[eq.outputs[0]] = root[taken]
        # Candidates are disjoint by kind (a taken buffer, non-owner inputs, unread outputs,
        # dying owners); only an input read twice by one equation could repeat.
        release: list[Var] = []
        if taken is not None and taken not in ins:
            release.append(taken)  # its holder name is no longer needed
        for a in ins:  # inputs read for the last time (not buffers: those go when they die)
            if type(a) is not Literal and last[a] == k and a not in owner_key \
                    and a not in inputs and a not in release:
                release.append(a)
        outs = eq.outputs
        for v in outs:
            if last[v] == k and v not in owner_key:
                release.append(v)  # never read
        if len(outs) == 1 and last[outs[0]] == k + 1 and eqs[k + 1].inputs.count(outs[0]) == 1:
            once.add(k)  # (last read by the next equation, which reads it once: read once)
        for holder in dying:
            if holder is taken:
                continue
            key = owner_key[holder]
            # Demand for this key after k: a bisection of the sorted demand list, so the
            # pass stays O(n log n) (counting by a scan made it quadratic in program size).
            wanted = demand.get(key, ())
            later = len(wanted) - bisect_right(wanted, k)
            if later > len(pool.get(key, ())):
                pool.setdefault(key, []).append(holder)  # keep it for a later out=
            else:
                release.append(holder)
        if taken is not None and taken in ins:
            release.append(taken)  # the result now owns the buffer under its own name
        if release:
            release_of[k] = release
    _plan_pool(plan, root, buf_death, keys, never)
    _plan_recycling(plan, prog.outputs, root, aliases, keys)
    return plan


def _plan_pool(plan: BufferPlan, root: dict[Var, int], buf_death: dict[Var, int],
               keys: list[tuple | None], never: int) -> None:
    """Fill ``plan.poolable``: the allocations whose memory, through every owner that holds it
    in turn, never reaches a returned value (one owner alive at the end disqualifies it)."""
    escapes = {root[b] for b, k in buf_death.items() if k == never and b in root}
    plan.poolable = {k: keys[k] for k in sorted(set(root.values())) if k not in escapes}


def _plan_recycling(plan: BufferPlan, outputs: Sequence[Any], root: dict[Var, int],
                    aliases: dict[Var, frozenset[Var]], keys: list[tuple | None]) -> None:
    """Fill ``plan.recyclable``: a first allocation whose memory reaches one returned position
    only, and there as the owner itself (not a view, and not also the memory of another
    returned value or position). Only such an array can be handed back whole: when the caller
    has dropped it, nothing else can see what a later call writes into it."""
    refs: dict[int, int] = {}  # first allocation -> returned positions that may hold it
    for a in outputs:
        if type(a) is not Var:
            continue
        held = (root[a],) if a in root else {root[b] for b in aliases.get(a, ()) if b in root}
        for k in held:
            refs[k] = refs.get(k, 0) + 1
    for i, a in enumerate(outputs):
        if type(a) is Var and a in root and refs[root[a]] == 1:
            k = root[a]
            key = keys[k]
            if key is not None and isinstance(plan.ufuncs[k], np.ufunc):
                plan.recyclable[k] = (key, i)
