"""Fusion of elementwise chains into one Numba loop (needs numba; ``tc.jit(f, fuse=True)``
at once, or tiered by default: :mod:`tensorcalc.compile.tiering`).

Generated NumPy code makes one pass over memory, and pays one NumPy call (≈ 0.5–1 µs), per
operation. A chain of elementwise operations on arrays of one shape — the forward chain and
the derivative chain of ``tanh(0.9 sin(x) + 0.1)``, a layer's activation and its ``diag(f′)``
product — computes element ``i`` of every result from element ``i`` of the operands. So a run
of them is one loop ``for i: t₁ = sin(a[i]); t₂ = 0.9·t₁; …; out[i] = t_k`` that keeps every
intermediate in a register: one call and one pass instead of one per operation.

**What is fused.** :func:`plan_fusion` walks the program once (O(n log n)) and groups
equations of :data:`KERNELS` (``+ − × ÷``, negation, ``exp log sin cos tanh sqrt abs``,
``maximum minimum``, the plain strong-zero products, and what op blocks add with
:func:`deffusible`: ``nn.relu``) whose result and array operands have one float32/float64
dtype, and whose operands have the result's shape or broadcast to it without growing it (a
bias row ``b`` of shape ``(n,)`` in ``x W + b``, a column ``(m, 1)``): such an operand is read
at its own index (``b[i1]``). Scalars (Python numbers, 0-d constants) are cast to that dtype
first, as NumPy's weak scalars are (NEP 50). Each (shape, dtype) of a result has its own open
group, so equations of other shapes in between do not close it; a broadcast operand that
another open group defines is emitted there first. Every other operation — matmul (BLAS),
reductions, reshapes — is emitted as before. The plan holds each kernel's source without
compiling it (no numba import), so its cost can be estimated first; ``fusible`` limits it to
chosen ``(primitive, dtype)`` pairs. A kernel loops over the (constant) shape axis by axis and
indexes its operands where they lie, so views need no copy.

**Splits.** When an equation outside a group reads one of its values, only the part of the
group that value depends on is emitted there (its outputs: the values read outside that part,
or returned). The rest stays open and joins later equations: reverse mode computes a layer's
``f′`` in the forward pass (``1 − h²`` after ``h = tanh(z)``) and multiplies by it in the
backward pass, and the two become one kernel ``δ ⊙ (1 − h²)`` after the backward matmul, so
``1 − h²`` never reaches memory (XLA's producer–consumer fusion does the same). The rest is
emitted at once instead when leaving it open would keep more arrays alive than it saves: its
operands that nothing reads after the split point, against its values that something later
reads (:func:`_defer_costs_memory`; ``h`` is read by the weight gradient anyway), or when it
holds more than :data:`DEFER_AT_MOST` equations, which bounds the work of each split.

**Semantics.** ``+ − × ÷`` are IEEE-exact, so fused results are bitwise those of NumPy;
``maximum``/``minimum`` make NumPy's choices (a NaN operand wins; of ``0`` and ``-0`` the
second); the transcendental functions call the C library (NumPy may use its own SIMD versions):
within a few ulp, except those of :func:`simd_loops` and the pairs tiering passes as
``through_numpy``, which call NumPy's own loop (:mod:`.fusion_blocks`). Division by zero gives
±inf/NaN as in NumPy (Numba's ``error_model="numpy"``). Strong zeros: the fused products are
the plain ones, which is exactly what the fast pass of ``jit`` runs; the result is scanned for
NaN and the checked, unfused program reruns when one appears. Fused kernels raise no NumPy
floating-point warnings and ignore ``np.seterr``. A kernel with one output takes ``out=``:
jit's buffer plan hands it a dying operand or a pool buffer, as it does an elementwise ufunc,
and a call in place on an operand runs that operand's own loop, which vectorizes
(:func:`~tensorcalc.compile.fusion_blocks.in_place_loops`); kernels with several outputs make
fresh arrays.

**Cache.** Each kernel's source is written (atomically) to the ``fused`` cache directory
(:mod:`tensorcalc.compile.kernel_files`: ``~/.cache/tensorcalc/fused`` by default) and imported
from there, so Numba's ``cache=True`` keeps the
machine code between processes; when that directory cannot be written the kernel is compiled
in memory.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.ir import Equation, Literal, Program, Var
from ..ops import elementwise as ew
from ..ops.strong_zero import div_sz_p, mul_sz_p
from .buffers import jit_kernel_of
from .fusion_blocks import in_place_loops, in_place_operands, kernel_head, operand_index
from .kernel_files import cache_dir, import_generated

#: Scalar expression of each fusible primitive ({0}, {1}: its operands).
KERNELS: dict[Any, str] = {
    ew.add_p: "({0} + {1})", ew.sub_p: "({0} - {1})", ew.mul_p: "({0} * {1})",
    ew.div_p: "({0} / {1})", mul_sz_p: "({0} * {1})", div_sz_p: "({0} / {1})",
    ew.neg_p: "(-{0})", ew.exp_p: "math.exp({0})", ew.log_p: "math.log({0})",
    ew.sin_p: "math.sin({0})", ew.cos_p: "math.cos({0})", ew.tanh_p: "math.tanh({0})",
    ew.sqrt_p: "math.sqrt({0})", ew.abs_p: "abs({0})",
    # NumPy's choices: a NaN operand wins, and between equal operands (0 and -0) the second.
    ew.maximum_p: "({0} if {0} > {1} or {0} != {0} else {1})",
    ew.minimum_p: "({0} if {0} < {1} or {0} != {0} else {1})",
}
#: The ufunc whose own inner loop a kernel can call in place of the expression above, where
#: that expression does not give NumPy's bits (:mod:`tensorcalc.compile.fusion_blocks`).
NUMPY_LOOPS: dict[Any, np.ufunc] = {
    ew.exp_p: np.exp, ew.log_p: np.log, ew.sin_p: np.sin, ew.cos_p: np.cos,
    ew.tanh_p: np.tanh,
}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_kernels: dict[str, Callable[..., Any]] = {}


def numba_available() -> bool:
    return importlib.util.find_spec("numba") is not None


class FusedKernel:
    """Stands in an equation for a fused group: ``impl(*inputs)`` returns its outputs (a
    tuple), or its one output. A one-output kernel also takes ``out=`` (``numpy_out``, as an
    elementwise ufunc does), so jit's buffer plan gives it dying operands and pool buffers."""

    linear = False

    def __init__(self, impl: Callable[..., Any], size: int, n_out: int = 2) -> None:
        self.name = f"fused[{size}]"
        self.multiple_results = n_out != 1
        if self.multiple_results:
            self.impl = impl
        else:
            self.impl = self.numpy_out = _one_output(impl)

    def __repr__(self) -> str:
        return self.name


def _one_output(kernel: Callable[..., Any]) -> Callable[..., Any]:
    """``kernel`` (whose ``out=`` is its one output's array) returning that array. A kernel
    writes element i after reading element i of each operand, so ``out`` may be an operand
    itself; it may not overlap one any other way (a transposed view of the same buffer), and
    then the kernel writes a fresh array, copied into ``out``."""

    def fused(*args: Any, out: np.ndarray | None = None) -> np.ndarray:
        if out is not None:
            for a in args:
                if a is not out and np.may_share_memory(a, out):
                    np.copyto(out, kernel(*args)[0])
                    return out
        return kernel(*args, out=out)[0]

    fused.signature = None  # type: ignore[attr-defined]  (elementwise: out may be an operand)
    return fused


def _key(eq: Equation) -> tuple | None:
    """``(shape, dtype)`` when ``eq`` can join a fused group, else None."""
    if eq.primitive not in KERNELS or eq.params or len(eq.outputs) != 1:
        return None
    if jit_kernel_of(eq) is not None:
        return None  # jit runs the primitive's own kernel here (large float64 tanh): not fused
    out = eq.outputs[0].aval
    shape, dtype = tuple(out.shape), np.dtype(out.dtype)
    if dtype not in _FLOATS or not shape or not all(isinstance(d, int) for d in shape):
        return None
    for a in eq.inputs:
        if isinstance(a, Literal):
            if not (type(a.value) in (int, float) or (np.ndim(a.value) == 0 and np.dtype(
                    np.asarray(a.value).dtype) == dtype)):
                return None
        elif np.dtype(a.aval.dtype) != dtype or not _broadcasts_to(tuple(a.aval.shape), shape):
            return None
    return shape, dtype


def _broadcasts_to(shape: tuple, to: tuple) -> bool:
    """Whether an operand of ``shape`` (at least 1-D) broadcasts to the result ``to`` without
    the result growing: each of its axes, aligned at the right, is 1 or ``to``'s."""
    return 0 < len(shape) <= len(to) and all(
        n == 1 or n == t for n, t in zip(shape[::-1], to[::-1], strict=False))


def deffusible(primitive: Any, expr: str) -> None:
    """Declare ``primitive`` fusible: ``expr`` is its scalar expression, ``{0}``, ``{1}`` its
    operands and ``{z}`` a zero of the kernel's dtype (for an op block outside ``ops/``)."""
    KERNELS[primitive] = expr


class Kernel:
    """One fused group, its source generated but not compiled: ``ins`` → ``outs``."""

    def __init__(self, src: str, ins: tuple[Var, ...], outs: tuple[Var, ...], size: int) -> None:
        self.src, self.ins, self.outs, self.size = src, ins, outs, size
        self.digest = _digest(src)

    def equation(self) -> Equation:
        return Equation(FusedKernel(_load(self.src), self.size, len(self.outs)), self.ins,
                        self.outs, {})

    def cached(self, on_disk: set[str]) -> bool:
        """Whether this process or numba's disk cache (``on_disk``: :func:`cached_digests`)
        already holds the machine code."""
        return self.digest in _kernels or self.digest in on_disk


def cached_digests() -> set[str]:
    """The kernels whose machine code numba's disk cache holds (one directory listing)."""
    folder = _cache_dir()
    index = os.path.join(folder, "__pycache__") if folder is not None else None
    if index is None or not os.path.isdir(index):
        return set()
    return {n[len(_MODULE):].split(".")[0] for n in os.listdir(index)
            if n.startswith(_MODULE) and n.endswith(".nbi")}


class FusionPlan:
    """A program's equations with each fused group as a :class:`Kernel`; nothing compiled."""

    def __init__(self, prog: Program, items: list[Equation | Kernel]) -> None:
        self.prog, self.items = prog, items
        self.kernels = [k for k in items if isinstance(k, Kernel)]

    def program(self) -> Program:
        """The fused program (compiles or loads each kernel)."""
        eqs = [k.equation() if isinstance(k, Kernel) else k for k in self.items]
        return Program(self.prog.inputs, eqs, list(self.prog.outputs))


Pairs = frozenset[tuple[Any, np.dtype]]


def simd_loops() -> Pairs:
    """The ``(primitive, dtype)`` pairs whose NumPy loop is SIMD code where the C library's,
    numba's, is a scalar loop many times slower: float64 ``tanh`` on CPUs with AVX-512
    (:func:`~tensorcalc.ops.elementwise.numpy_tanh_is_vectorized`; on 1797×256 floats 0.77 ms
    against 7.2 ms, measured on an AVX-512 EPYC). ``jit(f, fuse=True)`` runs these through
    NumPy's own loop (:mod:`.fusion_blocks`), which also keeps NumPy's bits. Without AVX-512
    jit's own ``tanh`` kernel runs large float64 arrays, outside the fused loops."""
    if ew.numpy_tanh_is_vectorized():
        return frozenset({(ew.tanh_p, np.dtype(np.float64))})
    return frozenset()


def fuse_elementwise(prog: Program, min_size: int = 2, fusible: Pairs | None = None,
                     through_numpy: Pairs = frozenset()) -> Program:
    """``prog`` with each group of fusible equations replaced by one :class:`FusedKernel`
    equation (module docstring). Linear in the program size."""
    return plan_fusion(prog, min_size, fusible, through_numpy).program()


def plan_fusion(prog: Program, min_size: int = 2, fusible: Pairs | None = None,
                through_numpy: Pairs = frozenset()) -> FusionPlan:
    """The groups :func:`fuse_elementwise` would fuse, with their kernels' sources (no numba
    needed). ``fusible`` limits fusion to those ``(primitive, dtype)`` pairs; the pairs of
    ``through_numpy`` (primitives of :data:`NUMPY_LOOPS`) are fused too, calling NumPy's own
    loop (:mod:`tensorcalc.compile.fusion_blocks`). One walk, O(n log n): each split of a
    group visits the part it emits and at most :data:`DEFER_AT_MOST` others."""
    eqs = prog.equations
    readers: dict[int, list[int]] = {}
    for k, eq in enumerate(eqs):
        for a in eq.inputs:
            if isinstance(a, Var):
                readers.setdefault(id(a), []).append(k)
    returned = {id(a) for a in prog.outputs if isinstance(a, Var)}
    held = returned | {id(a) for a in prog.inputs}  # alive whatever the plan does
    out: list[Equation | Kernel] = []
    groups: dict[tuple, list[int]] = {}  # (shape, dtype) → its open group, in program order
    owner: dict[int, tuple] = {}  # id(value) → the key of the open group that defines it
    producer: dict[int, int] = {}  # id(value) → its equation, for values of open groups

    def emit(key: tuple, group: list[int]) -> None:
        for k in group:
            owner.pop(id(eqs[k].outputs[0]), None)
        if len(group) < min_size:
            out.extend(eqs[k] for k in group)
            return
        foreign = {k: NUMPY_LOOPS[eqs[k].primitive] for k in group
                   if (eqs[k].primitive, key[1]) in through_numpy
                   and (fusible is None or (eqs[k].primitive, key[1]) not in fusible)}
        out.append(_fuse(prog, group, readers, returned, key) if not foreign
                   else _fuse_blocked(prog, group, readers, returned, key, foreign))

    def split(key: tuple, needed: list[int], now: int) -> None:
        """Emit the part of group ``key`` that the values ``needed`` at equation ``now``
        depend on; the rest stays open (joining later equations) where that keeps no more
        arrays alive than emitting it would."""
        group = groups.pop(key)
        part: set[int] = set()
        stack = [producer[v] for v in needed]
        while stack:
            j = stack.pop()
            if j not in part:
                part.add(j)
                stack.extend(producer[id(a)] for a in eqs[j].inputs
                             if isinstance(a, Var) and owner.get(id(a)) == key)
        rest = [j for j in group if j not in part] if len(part) < len(group) else []
        if rest and not _defer_costs_memory(eqs, rest, now, readers, held):
            emit(key, [j for j in group if j in part])
            groups[key] = rest
        else:
            emit(key, group)

    for k, eq in enumerate(eqs):
        key = _key(eq)
        if key is not None and fusible is not None and (eq.primitive, key[1]) not in fusible \
                and (eq.primitive, key[1]) not in through_numpy:
            key = None
        if key is not None:
            # An operand of its own shape can only come from its own key's group; a broadcast
            # one (a bias row) may come from another open group, whose part it needs is
            # emitted first.
            others: dict[tuple, list[int]] = {}
            for a in eq.inputs:
                if isinstance(a, Var) and owner.get(id(a), key) != key:
                    others.setdefault(owner[id(a)], []).append(id(a))
            for g, values in others.items():
                split(g, values, k)
            groups.setdefault(key, []).append(k)
            v = eq.outputs[0]
            owner[id(v)], producer[id(v)] = key, k
            continue
        needed: dict[tuple, list[int]] = {}
        for a in eq.inputs:
            if isinstance(a, Var) and id(a) in owner:
                needed.setdefault(owner[id(a)], []).append(id(a))
        for g, values in needed.items():
            split(g, values, k)
        out.append(eq)
    for key in list(groups):
        emit(key, groups.pop(key))
    return FusionPlan(prog, out)


#: The most equations a split leaves open (and so visits again at the next one).
DEFER_AT_MOST = 32


def _defer_costs_memory(eqs: list[Equation], rest: list[int], now: int,
                        readers: dict[int, list[int]], held: set[int]) -> bool:
    """Whether leaving ``rest`` open past equation ``now`` keeps more arrays alive than
    emitting it: its operands that would die by ``now`` (nothing else reads them later)
    against its values that something after ``now`` reads. A derivative chain ``1 − h²``
    left open for the backward product keeps ``h`` (which the weight gradient reads anyway)
    instead of writing ``1 − h²`` to memory."""
    if len(rest) > DEFER_AT_MOST:
        return True
    defined = {id(eqs[j].outputs[0]) for j in rest}
    extended: set[int] = set()
    for j in rest:
        for a in eqs[j].inputs:
            if isinstance(a, Var) and id(a) not in defined and id(a) not in held \
                    and readers[id(a)][-1] <= now:
                extended.add(id(a))
    kept = sum(1 for v in defined if v in held or readers.get(v, [-1])[-1] > now)
    return len(extended) > kept


def _fuse(prog: Program, group: list[int], readers: dict[int, list[int]], returned: set[int],
          key: tuple) -> Kernel:
    shape, dtype = key
    members = set(group)
    names: dict[int, str] = {}
    ins: list[Var] = []
    consts: list[str] = []
    body: list[str] = []
    outs: list[Var] = []
    ctype = "np.float32" if dtype == np.float32 else "np.float64"
    # One loop per axis with the sizes as constants: operands are indexed where they lie (any
    # strides, views included), so the call needs no contiguous copies or reshaped views.
    idx = ", ".join(f"i{d}" for d in range(len(shape)))
    loops = [f"{'    ' * (d + 1)}for i{d} in range({n}):" for d, n in enumerate(shape)]
    indent = "    " * (len(shape) + 1)

    def read(a: Any) -> str:
        if isinstance(a, Literal):
            name = f"c{len(consts)}"
            consts.append(f"    {name} = {ctype}({_literal(a.value)})")
            return name
        if id(a) not in names:
            names[id(a)] = f"x{len(ins)}"
            ins.append(a)
            at = operand_index(tuple(a.aval.shape), shape)  # a broadcast operand: fewer axes
            body.append(f"{names[id(a)]} = a{len(ins) - 1}[{at}]")
        return names[id(a)]

    for k in group:
        eq = prog.equations[k]
        args = [read(a) for a in eq.inputs]
        v = eq.outputs[0]
        names[id(v)] = f"t{k}"
        body.append(f"t{k} = {KERNELS[eq.primitive].format(*args, z='z')}")
        if id(v) in returned or any(r not in members for r in readers.get(id(v), ())):
            outs.append(v)
    body += [f"o{j}[{idx}] = {names[id(v)]}" for j, v in enumerate(outs)]
    a_args = ", ".join(f"a{j}" for j in range(len(ins)))
    o_args = ", ".join(f"o{j}" for j in range(len(outs)))
    loop_args = ", ".join(filter(None, [a_args, o_args]))
    np_dtype = "np.float32" if dtype == np.float32 else "np.float64"
    loop = [f"def _loop({loop_args}):", *consts, f"    z = {ctype}(0.0)",
            *loops, *(indent + line for line in body)]
    whole = in_place_operands(ins, outs, shape)  # out= may be one: a loop each writes into it
    src = "\n".join([
        "import math", "import numpy as np", "from numba import njit", "",
        "@njit(cache=True, error_model='numpy')", *loop, *in_place_loops(loop, whole), "",
        *kernel_head(a_args, len(outs), shape, np_dtype, whole, a_args),
        f"    _loop({loop_args})",
        f"    return ({o_args},)", ""])
    return Kernel(src, tuple(ins), tuple(outs), len(group))


def _fuse_blocked(prog: Program, group: list[int], readers: dict[int, list[int]],
                  returned: set[int], key: tuple, foreign: dict[int, np.ufunc]) -> Kernel:
    from .fusion_blocks import blocked_kernel

    src, ins, outs = blocked_kernel(prog, group, readers, returned, key, foreign, KERNELS,
                                    _literal)
    return Kernel(src, ins, outs, len(group))


def _literal(value: Any) -> str:
    v = float(np.asarray(value).item())
    if np.isnan(v):
        return "np.nan"
    if np.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(v)


def _cache_dir() -> str | None:
    return cache_dir("fused")


#: A kernel module's name is this prefix and its source's digest (numba names its cache
#: files after the module, which is how :func:`cached_digests` reads the cache).
_MODULE = "tc_fused_"


def _digest(src: str) -> str:
    return hashlib.sha1(src.encode()).hexdigest()[:20]


def _load(src: str) -> Callable[..., Any]:
    """Import the kernel module from the cache directory (written atomically), or exec it."""
    digest = _digest(src)
    hit = _kernels.get(digest)
    if hit is not None:
        return hit
    folder = _cache_dir()
    env: dict[str, Any] | None = None
    if folder is not None:
        try:
            env = import_generated(src, folder, f"{_MODULE}{digest}", f"{_MODULE}{digest}")
        except OSError:
            env = None  # a full or read-only disk: compiled in memory below
    if env is None:
        env = {}
        # Numba caches only functions defined in a file: in memory, cache=False.
        text = src.replace("@njit(cache=True,", "@njit(cache=False,")
        # The source is generated here from a Program, never from user text.
        exec(compile(text, f"<tensorcalc.fused {digest}>", "exec"), env)  # noqa: S102
    _kernels[digest] = env["kernel"]
    return env["kernel"]
