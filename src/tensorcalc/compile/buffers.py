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

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.ir import Literal, Program, Var
from ..ops.elementwise import select_p
from ..ops.reductions import reduce_max_p, reduce_min_p
from ..ops.strong_zero import div_sz_p, mul_sz_p
from ..ops.structural import convert_p, reduce_sum_p

#: Primitives whose generated code never returns a view of an operand (fresh arrays or scalars).
FRESH = frozenset({reduce_sum_p, reduce_max_p, reduce_min_p, select_p, convert_p})


@dataclass
class BufferPlan:
    """Per equation: the variable whose buffer receives ``out=`` (or None), and the variables
    to ``del`` after it."""

    out: list[Var | None] = field(default_factory=list)
    release: list[list[Var]] = field(default_factory=list)

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


#: How a code generator says which equations it emits as a fresh-array call that takes
#: ``out=``: the ufunc (or an object with a ufunc's ``signature``: None for elementwise, which
#: may then run in place on a dying operand), or None.
UfuncOf = Callable[[Any, bool], Any]


def _can_write_out(eq: Any, plain: bool, ufunc: UfuncOf = ufunc_of) -> bool:
    """A ufunc call whose result dtype is certainly the output aval's dtype, and not 0-d."""
    if ufunc(eq, plain) is None:
        return False
    out = eq.outputs[0].aval
    if len(out.shape) == 0 or not all(isinstance(d, int) for d in out.shape):
        return False
    for a in eq.inputs:
        if isinstance(a, Literal) and type(a.value) in (int, float):
            # A Python number is weak (NEP 50): the array operand decides the dtype.
            if not np.issubdtype(out.dtype, np.inexact):
                return False
        elif a.aval.dtype != out.dtype:
            return False
    return True


def _key(v: Var) -> tuple:
    return (tuple(v.aval.shape), np.dtype(v.aval.dtype))


def plan_buffers(prog: Program, plain_strong_zeros: bool = False,
                 ufunc: UfuncOf = ufunc_of) -> BufferPlan:
    """Plan ``del`` statements and ``out=`` buffers for ``prog`` (see the module docstring).
    ``ufunc`` names the equations that allocate a fresh array and accept ``out=`` (NumPy's
    ufuncs by default; the torch code generator passes its own)."""
    eqs = prog.equations
    n = len(eqs)
    never = n + 1  # "lives past the end": outputs and what they may alias
    last: dict[int, int] = {}
    for k, eq in enumerate(eqs):
        for a in eq.inputs:
            if isinstance(a, Var):
                last[id(a)] = k
    # Which buffers (identified by their owning Var's id) may each variable alias?
    aliases: dict[int, frozenset[int]] = {}
    owner_of: dict[int, Var] = {}
    for eq in eqs:
        ins: frozenset[int] = frozenset()
        for a in eq.inputs:
            if isinstance(a, Var):
                ins = ins | aliases.get(id(a), frozenset())
        fresh_buf = (ufunc(eq, plain_strong_zeros) is not None
                     and eq.outputs[0].aval.shape != ())
        for v in eq.outputs:
            if fresh_buf:
                aliases[id(v)] = frozenset({id(v)})
                owner_of[id(v)] = v
            elif eq.primitive in FRESH:
                aliases[id(v)] = frozenset()
            else:
                aliases[id(v)] = ins
    for a in prog.outputs:
        if isinstance(a, Var):
            last[id(a)] = never
            for b in aliases.get(id(a), ()):
                last[b] = never
    # A buffer dies when the last variable that may alias it dies.
    buf_death: dict[int, int] = {}
    for k, eq in enumerate(eqs):
        for v in eq.outputs:
            lv = last.get(id(v), k)  # an unread variable dies where it is made
            for b in aliases[id(v)]:
                buf_death[b] = max(buf_death.get(b, 0), lv)
    writable = [_can_write_out(eq, plain_strong_zeros, ufunc) for eq in eqs]
    demand: dict[tuple, list[int]] = {}
    for k, eq in enumerate(eqs):
        if writable[k]:
            demand.setdefault(_key(eq.outputs[0]), []).append(k)
    plan = BufferPlan([None] * n, [[] for _ in range(n)])
    pool: dict[tuple, list[Var]] = {}
    input_ids = {id(v) for v in prog.inputs}
    dying_at: dict[int, list[int]] = {}
    for b, k in buf_death.items():
        dying_at.setdefault(k, []).append(b)
    for k, eq in enumerate(eqs):
        dying = set(dying_at.get(k, ()))
        taken: Var | None = None
        if writable[k]:
            key = _key(eq.outputs[0])
            in_place_ok = ufunc(eq, plain_strong_zeros).signature is None  # not matmul
            for a in eq.inputs:
                if in_place_ok and isinstance(a, Var) and id(a) in dying \
                        and id(a) in owner_of and _key(a) == key:
                    taken = a  # in place: the operand's buffer dies here
                    dying.discard(id(a))
                    break
            if taken is None and pool.get(key):
                taken = pool[key].pop()
            plan.out[k] = taken
        release: list[Var] = []
        if taken is not None and taken not in eq.inputs:
            release.append(taken)  # its holder name is no longer needed
        for a in eq.inputs:
            # Variables that are not buffer owners go at their last use.
            if isinstance(a, Var) and last.get(id(a)) == k and id(a) not in owner_of \
                    and id(a) not in input_ids and a not in release:
                release.append(a)
        for v in eq.outputs:
            if id(v) not in last and id(v) not in owner_of:
                release.append(v)
        for b in dying:
            holder = owner_of[b]
            key = _key(holder)
            # Demand for this key after k: a bisection of the sorted demand list, so the
            # pass stays O(n log n) (counting by a scan made it quadratic in program size).
            wanted = demand.get(key, ())
            later = len(wanted) - bisect_right(wanted, k)
            if later > len(pool.get(key, ())):
                pool.setdefault(key, []).append(holder)  # keep it for a later out=
            elif holder not in release:
                release.append(holder)
        if taken is not None and taken in eq.inputs and taken not in release:
            release.append(taken)  # the result now owns the buffer under its own name
        plan.release[k] = release
    return plan
