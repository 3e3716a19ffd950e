"""``tc.jit``: trace once per input signature, optimize, run generated NumPy code.

``jit(f)(*args)`` flattens the arguments, and for each new signature — the pytree structure,
every leaf's shape and dtype, and the values of the static arguments — stages ``f`` into a
:class:`~tensorcalc.core.ir.Program`, runs the optimization passes and compiles the program to
straight-line NumPy source. Later calls with the same signature only run that source. A
program of more than 20,000 equations runs as a table of steps instead, the same calls on the
same buffers without compiling its source (:mod:`tensorcalc.compile.table`).

Because derivatives are programs, ``jit(grad(f))`` compiles the whole gradient computation.

Strong zeros: derivative programs use ``mul_sz``/``div_sz`` (a product whose zero (co)tangent
entries stay 0 even against an infinite factor). They differ from the plain product only where
the plain product makes a NaN, and a NaN made on the (co)tangent side reaches the result (the
linear operations either keep it or, like ``where``, drop a 0 and a NaN alike). So the compiled
function runs them as plain ``np.multiply``/``np.true_divide`` — in place, no checks — and only
when an output contains a NaN runs the checked version of the same program instead.
When a jitted function is itself being transformed (``grad(jit(f))``, ``jacobian(jit(f))``)
it runs ``f`` directly, so every transformation composes with it.

Arrays of other libraries (torch, CuPy, Dask, array_api_strict) compile to source against
their array-API namespace (:mod:`tensorcalc.compile.xp_codegen`; on torch with ``out=`` buffers
and fused torch kernels, :mod:`tensorcalc.compile.xp_torch`); the signature then includes the
library and the device, so one jitted function serves each backend with its own code.
"""

from __future__ import annotations

import gc
import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from time import perf_counter
from typing import Any

import numpy as np

from ..api_util import masked_array_error, report_fp_warnings, retry_with_strong_zeros
from ..core import backend
from ..core.ir import Program
from ..core.primitive import Tracer
from ..core.shapes import ShapedArray, aval_of
from ..core.tree import tree_flatten, tree_unflatten
from ..interpreters.stage import stage_flat
from .buffers import PLAIN_STRONG_ZERO, own_kernels
from .codegen import compile_program
from .fusion import fuse_elementwise, numba_available, simd_loops
from .options import env_switch
from .passes import optimize
from .table import table_program, table_source, table_supports
from .tiering import Tier
from .xp_codegen import compile_xp_program


class Compiled:
    """One compiled signature: its optimized program, source and callable (plus, for programs
    with strong-zero products, the checked variant used when the fast one yields a NaN)."""

    def __init__(self, program: Program, fn: Callable[..., Any], source: str | Callable[[], str],
                 out_tree: Any, name: str, nan_checks: bool = False,
                 checked: Callable[[], Callable[..., Any]] | None = None) -> None:
        self.program, self.fn, self.out_tree = program, fn, out_tree
        # A long program runs as a table (compile/table.py): its source is written when asked.
        self._source, self._write_source = (source, None) if isinstance(source, str) \
            else (None, source)
        self.name = name
        self.fixed: frozenset[int] = frozenset()  # argument leaves passed through unchanged
        self.strong_zeros = _holds_strong_zeros(program)
        self.nan_checks = nan_checks
        self._checked: Callable[..., Any] | None = None
        self._make_checked = checked  # how to build the checked variant (another backend's)
        self.tier: Tier | None = None  # counts the unfused calls until fusing pays (tiering)

    @property
    def source(self) -> str:
        if self._source is None:
            self._source = self._write_source()  # type: ignore[misc]
        return self._source

    @source.setter
    def source(self, text: str | Callable[[], str]) -> None:
        self._source, self._write_source = (text, None) if isinstance(text, str) \
            else (None, text)

    @property
    def lazy_source(self) -> str | Callable[[], str]:
        """The source, or the function that writes it (tiering keeps it without writing it)."""
        return self._source if self._source is not None else self._write_source  # type: ignore

    def run(self, leaves: list[Any]) -> Any:
        tier = self.tier
        if tier is None:
            return self._run(leaves)
        start = perf_counter()
        out = self._run(leaves)
        tier.account(perf_counter() - start, self)
        return out

    def _run(self, leaves: list[Any]) -> Any:
        if not self.strong_zeros:
            return report_fp_warnings(lambda: self.fn(*leaves))
        # A NaN may come from 0 · ∞ in a derivative rule: then the checked variant runs, which
        # calls the mul_sz/div_sz implementations, with strong zeros enforced. The fast pass
        # either checks its strong-zero products itself (nan_checks) or its result is scanned.
        return retry_with_strong_zeros(lambda: self.fn(*leaves),
                                       lambda: self._checked_fn()(*leaves),
                                       check_result=not self.nan_checks)

    def _checked_fn(self) -> Callable[..., Any]:
        if self._checked is None:
            self._checked = (self._make_checked() if self._make_checked is not None
                             else build(self.program, self.name)[0])
        return self._checked


def _checks_inside(program: Program) -> bool:
    """Whether the fast pass should check its strong-zero products for NaN where they are made
    instead of scanning the result: when those products are all at the top level (loop bodies
    are compiled without the checks) and hold fewer elements than the outputs. A per-example
    gradient returns a batch of weight gradients far larger than any strong-zero product, while
    a long elementwise chain on a short vector makes many products and one small result."""
    made = 0
    for eq in program.equations:
        if eq.params and _params_hold_strong_zeros(eq.params):
            return False
        if eq.primitive in PLAIN_STRONG_ZERO:
            # A check costs a call (≈ 1 µs, the time to scan ~1000 entries) plus its entries.
            made += _numel(eq.outputs[0].aval.shape) + _CHECK_CALL
    returned = sum(_numel(a.aval.shape) for a in program.outputs)
    return 0 < made < returned


def _params_hold_strong_zeros(params: dict[str, Any]) -> bool:
    for value in params.values():
        subs = value if isinstance(value, (tuple, list)) else (value,)
        if any(isinstance(v, Program) and _holds_strong_zeros(v) for v in subs):
            return True
    return False


_CHECK_CALL = 1000


def _numel(shape: tuple[Any, ...]) -> int:
    n = 1
    for d in shape:
        n *= d if isinstance(d, int) else 1 << 30  # a symbolic size counts as huge
    return n


def _holds_strong_zeros(program: Program) -> bool:
    """Whether a strong-zero product appears anywhere in ``program``, sub-programs included
    (the bodies of ``scan``, ``cond`` and ``while`` are compiled with the same plain products,
    so a NaN made inside a loop body must trigger the checked rerun too)."""
    stack = [program]
    while stack:
        prog = stack.pop()
        for eq in prog.equations:
            if eq.primitive in PLAIN_STRONG_ZERO:
                return True
            for value in eq.params.values():
                subs = value if isinstance(value, (tuple, list)) else (value,)
                stack.extend(v for v in subs if isinstance(v, Program))
    return False


def _is_static_leaf(x: Any) -> bool:
    """Leaves that are not arrays — functions, strings, other objects — are passed to the
    function as they are and key the cache by their value (JAX would need them static)."""
    return not isinstance(x, (np.ndarray, np.generic, float, int, complex, bool, Tracer,
                              list, tuple)) and (callable(x) or isinstance(x, (str, bytes))
                                                 or not hasattr(x, "__array__"))


class Jitted:
    """A function compiled per input signature. ``.source()`` shows the generated code and
    ``.program()`` the optimized Program of the most recent signature."""

    def __init__(self, fun: Callable[..., Any], static_argnums: Sequence[int] = (),
                 static_argnames: Sequence[str] = (), fuse: bool | None = None,
                 pool: bool | None = None) -> None:
        self.fun = fun
        nums, names = set(static_argnums), set(static_argnames)
        params = _positional_names(fun) if names or nums else []
        # JAX's rule: a static argument is static whether it is passed by position or name.
        nums |= {params.index(n) for n in names if n in params}
        names |= {params[i] for i in nums if 0 <= i < len(params)}
        self.static_argnums = tuple(sorted(nums))
        self.static_argnames = frozenset(names)
        self.fuse = _resolve_fuse(fuse)
        self.pool = pool  # None: TENSORCALC_JIT_POOL decides (tensorcalc.compile.pool)
        self.tiered = fuse is None and not self.fuse \
            and env_switch("TENSORCALC_JIT_FUSE") is not False \
            and numba_available()  # fuse once running has cost as much (compile/tiering.py)
        self.cache: dict[Any, Compiled] = {}
        #: The entries of ``cache`` for positional arguments that are all NumPy arrays, by
        #: ``((shape, dtype), …)`` (the per-call fast path of ``__call__``).
        self._by_arrays: dict[tuple, Compiled] = {}
        self._last: Compiled | None = None
        self.__name__ = f"jit({getattr(fun, '__name__', 'f')})"
        self.__doc__ = getattr(fun, "__doc__", None)

    def _split(self, args: tuple[Any, ...], kwargs: dict[str, Any]
               ) -> tuple[Any, tuple[Any, ...]]:
        """The traced part ``(positional, keyword)`` and the hashable static part."""
        if not (self.static_argnums or self.static_argnames):
            return (list(args), kwargs), ((), ())
        nargs = len(args)
        static = tuple(i % nargs for i in self.static_argnums if -nargs <= i < nargs)
        dyn = [a for i, a in enumerate(args) if i not in static]
        dyn_kw = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        stat = (tuple((i, args[i]) for i in static),
                tuple(sorted((k, v) for k, v in kwargs.items() if k in self.static_argnames)))
        try:
            hash(stat)
        except TypeError:
            raise TypeError("jit: static arguments must be hashable (ints, strings, tuples); "
                            "pass arrays as ordinary (traced) arguments") from None
        return (dyn, dyn_kw), stat

    def compile(self, *args: Any, **kwargs: Any) -> Compiled:
        dyn, stat = self._split(args, kwargs)
        leaves, in_tree = tree_flatten(dyn)
        return self._compile_flat(leaves, in_tree, stat, len(dyn[0]))

    def _compile_flat(self, leaves: list[Any], in_tree: Any, stat: tuple[Any, ...],
                      npos: int) -> Compiled:
        fixed = {k: x for k, x in enumerate(leaves) if _is_static_leaf(x)}
        xp = dev = None
        if any(backend.is_foreign(x) for x in leaves):
            backend.check_same_backend(leaves, "jit")
            xp, first = backend.namespace_and_first(leaves, "jit")
            dev = backend.device(first)
        leaves = [x if isinstance(x, (np.ndarray, float, int, complex, bool, np.generic))
                  or backend.is_foreign(x) else np.asarray(x)
                  for k, x in enumerate(leaves) if k not in fixed]
        avals = [aval_of(x) for x in leaves]
        if fixed:
            try:
                fixed_key: Any = tuple(fixed.items())
                hash(fixed_key)
            except TypeError:
                fixed_key = tuple((k, id(v)) for k, v in fixed.items())
        else:
            fixed_key = ()
        key = (in_tree, tuple((a.shape, a.dtype, a.weak_type) for a in avals), stat, fixed_key,
               None if xp is None else (backend.backend_name(xp), str(dev)))
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        store: dict[str, Any] = {}
        static_pos, static_kw = stat
        static = dict(static_pos)
        n_all = len(static) + npos

        def flat(vals: list[Any]) -> list[Any]:
            it = iter(vals)
            all_leaves = [fixed[k] if k in fixed else next(it)
                          for k in range(len(fixed) + len(vals))]
            dyn_args, dyn_kw = tree_unflatten(in_tree, all_leaves)
            pos = iter(dyn_args)
            full = [static[i] if i in static else next(pos) for i in range(n_all)]
            out = self.fun(*full, **dyn_kw, **dict(static_kw))
            out_leaves, store["out_tree"] = tree_flatten(out)
            return out_leaves

        # Python scalars become float64/int64 inputs of the program (weak types do not
        # survive staging as inputs).
        in_avals = [ShapedArray(a.shape, a.dtype) for a in avals]
        name = _identifier(self.__name__)
        with _collector_paused():
            prog = optimize(stage_flat(flat, in_avals))
            if xp is not None:  # another array library: xp. source (out= only on torch)
                fn, source = compile_xp_program(prog, xp, dev, name, plain_strong_zeros=True)
                compiled = Compiled(prog, fn, source, store["out_tree"], name,
                                    checked=lambda: compile_xp_program(prog, xp, dev, name)[0])
            else:
                inside = _checks_inside(prog)
                # Fused kernels cannot check their products one by one: fuse only when the
                # result is scanned (the checked rerun always runs the unfused program).
                fast = fuse_elementwise(prog, through_numpy=simd_loops()) \
                    if self.fuse and not inside else prog
                # Never fused: NumPy's code throughout, eager evaluation's bits.
                numpy_only = not (self.fuse or self.tiered)
                fn, source = build(fast, name=name, plain_strong_zeros=True,
                                   nan_checks=inside, pool=self.pool, numpy_only=numpy_only)
                compiled = Compiled(prog, fn, source, store["out_tree"], name, inside,
                                    checked=lambda: build(prog, name, pool=self.pool,
                                                          numpy_only=numpy_only)[0])
                if self.tiered and not inside:
                    compiled.tier = Tier(prog, lambda p: build(
                        p, name=name, plain_strong_zeros=True, pool=self.pool))
        compiled.fixed = frozenset(fixed)
        self.cache[key] = compiled
        return compiled

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The per-call path. Arguments that are all plain NumPy arrays, by position, are
        # looked up by their shapes and dtypes alone (no flatten, no pytree key): a tiny
        # compiled function is dominated by this bookkeeping.
        key = _arrays_key(args) if not kwargs else None
        if key is not None:
            hit = self._by_arrays.get(key)
            if hit is not None:
                self._last = hit
                leaves = [b for a in args for b in ((a,) if type(a) is np.ndarray else a)]
                return tree_unflatten(hit.out_tree, list(hit.run(leaves)))
        dyn, stat = self._split(args, kwargs)
        leaves, in_tree = tree_flatten(dyn)
        for x in leaves:
            if type(x) is not np.ndarray:
                if isinstance(x, np.ma.MaskedArray):
                    raise masked_array_error(x, "jit: an argument")
                if isinstance(x, Tracer):
                    return self.fun(*args, **kwargs)  # being transformed: run the function
        compiled = self._compile_flat(leaves, in_tree, stat, len(dyn[0]))
        self._last = compiled
        if key is not None and not (self.static_argnums or self.static_argnames
                                    or compiled.fixed):
            self._by_arrays[key] = compiled
        if compiled.fixed:
            leaves = [x for k, x in enumerate(leaves) if k not in compiled.fixed]
        outs = list(compiled.run(leaves))
        return tree_unflatten(compiled.out_tree, outs)

    def source(self, *args: Any, **kwargs: Any) -> str:
        """Generated source for ``args``' signature (or the most recent call's)."""
        return self._pick(args, kwargs).source

    def program(self, *args: Any, **kwargs: Any) -> Program:
        """Optimized program for ``args``' signature (or the most recent call's)."""
        return self._pick(args, kwargs).program

    def _pick(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Compiled:
        if args or kwargs:
            return self.compile(*args, **kwargs)
        if self._last is None:
            raise ValueError("jit: call the function (or pass example arguments) first")
        return self._last


def build(prog: Program, name: str = "compiled", plain_strong_zeros: bool = False,
          nan_checks: bool = False, pool: bool | None = None, numpy_only: bool = False
          ) -> tuple[Callable[..., Any], str | Callable[[], str]]:
    """:func:`~tensorcalc.compile.codegen.compile_program` for a program of up to
    :data:`~tensorcalc.compile.table.TABLE_ABOVE` equations; a longer one runs as a table of
    steps (the same calls on the same buffers, without compiling its source), and its source
    comes back as a function that writes it when ``.source()`` asks. ``numpy_only``: NumPy's
    functions throughout, never a primitive's own jit kernel (``jit(fuse=False)``)."""
    with own_kernels(not numpy_only):
        if not table_supports(prog):
            return compile_program(prog, name, plain_strong_zeros, nan_checks, pool)
        fn = table_program(prog, name, plain_strong_zeros, nan_checks, pool)

    def write_source() -> str:
        with own_kernels(not numpy_only):
            return table_source(prog, name, plain_strong_zeros, nan_checks, pool)
    return fn, write_source


def _positional_names(fun: Callable[..., Any]) -> list[str]:
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in sig.parameters.values() if p.kind in kinds]


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a program is staged and compiled. Compiling
    allocates several objects per equation and keeps them all alive, so each automatic
    collection walks everything made so far: with the collector on, compile time grows
    quadratically with program size (a 10⁵-equation program spent half its time in it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _identifier(name: str) -> str:
    out = "".join(c if c.isalnum() else "_" for c in name).strip("_")
    return out if out and not out[0].isdigit() else f"f_{out}"


def _arrays_key(args: tuple[Any, ...]) -> tuple | None:
    """The per-call fast path's key of positional arguments that are NumPy arrays or plain
    lists and tuples of them (a parameter list): their shapes and dtypes, with the container
    types; None for anything else (pytrees, scalars, tracers: the general path)."""
    key = []
    for a in args:
        t = type(a)
        if t is np.ndarray:
            key.append((a.shape, a.dtype))
        elif t is list or t is tuple:
            sub = tuple([(b.shape, b.dtype) for b in a if type(b) is np.ndarray])
            if len(sub) != len(a):
                return None
            key.append((t, sub))
        else:
            return None
    return tuple(key)


def _resolve_fuse(fuse: bool | None) -> bool:
    """Whether to fuse at once: ``fuse=None`` does with ``TENSORCALC_JIT_FUSE=1`` and numba
    installed (else it tiers up, see ``Jitted.tiered``); ``fuse=True`` without numba is an
    error."""
    if fuse is None:
        return env_switch("TENSORCALC_JIT_FUSE") is True and numba_available()
    if fuse and not numba_available():
        raise ImportError("jit(fuse=True) compiles elementwise chains with numba, which is not "
                          "installed: pip install 'tensorcalc[fast]', or use fuse=False")
    return bool(fuse)


def jit(fun: Callable[..., Any], static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (), fuse: bool | None = None,
        pool: bool | None = None) -> Jitted:
    """Compile ``fun`` to straight-line NumPy code per input signature (shapes, dtypes and
    the values of ``static_argnums``/``static_argnames``). Keyword arguments are traced like
    positional ones; leaves that are not arrays (functions, strings) pass through as they are
    and key the cache by value. Composes with every transformation. Arrays of another
    library (torch, Dask, …) compile to source against their namespace.

    ``fuse=True`` compiles each chain of elementwise operations into one Numba loop
    (:mod:`tensorcalc.compile.fusion`; needs the ``fast`` extra) at the first call;
    ``fuse=False`` never does. The default ``None``, with numba installed, runs each signature
    unfused until the time spent in it reaches the estimated cost of fusing it, then fuses the
    operations whose fused results are bitwise NumPy's (:mod:`tensorcalc.compile.tiering`);
    ``TENSORCALC_JIT_FUSE=1`` makes it fuse at once, ``=0`` never.

    ``pool=False`` (or ``TENSORCALC_JIT_POOL=0``) makes every call allocate its intermediates
    afresh instead of reusing buffers the compiled function keeps between calls
    (:mod:`tensorcalc.compile.pool`)."""
    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    return Jitted(fun, nums, names, fuse, pool)
