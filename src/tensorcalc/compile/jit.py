"""``tc.jit``: trace once per input signature, optimize, run generated NumPy code.

``jit(f)(*args)`` flattens the arguments, and for each new signature — the pytree structure,
every leaf's shape and dtype, and the values of the static arguments — stages ``f`` into a
:class:`~tensorcalc.core.ir.Program`, runs the optimization passes and compiles the program to
straight-line NumPy source. Later calls with the same signature only run that source.

Because derivatives are programs, ``jit(grad(f))`` compiles the whole gradient computation.

Strong zeros: derivative programs use ``mul_sz``/``div_sz`` (a product whose zero (co)tangent
entries stay 0 even against an infinite factor). They differ from the plain product only where
the plain product makes a NaN, and a NaN made on the (co)tangent side reaches the result (the
linear operations either keep it or, like ``where``, drop a 0 and a NaN alike). So the compiled
function runs them as plain ``np.multiply``/``np.true_divide`` — in place, no checks — and only
when an output contains a NaN runs the checked version of the same program instead.
When a jitted function is itself being transformed (``grad(jit(f))``, ``jacobian(jit(f))``)
it runs ``f`` directly, so every transformation composes with it.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..api_util import masked_array_error, report_fp_warnings, retry_with_strong_zeros
from ..core.ir import Program
from ..core.primitive import Tracer
from ..core.shapes import ShapedArray, aval_of
from ..core.tree import tree_flatten, tree_unflatten
from ..interpreters.stage import stage_flat
from .buffers import PLAIN_STRONG_ZERO
from .codegen import compile_program
from .fusion import fuse_elementwise, numba_available
from .passes import optimize


class Compiled:
    """One compiled signature: its optimized program, source and callable (plus, for programs
    with strong-zero products, the checked variant used when the fast one yields a NaN)."""

    def __init__(self, program: Program, fn: Callable[..., Any], source: str,
                 out_tree: Any, name: str, nan_checks: bool = False) -> None:
        self.program, self.fn, self.source, self.out_tree = program, fn, source, out_tree
        self.name = name
        self.strong_zeros = _holds_strong_zeros(program)
        self.nan_checks = nan_checks
        self._checked: Callable[..., Any] | None = None

    def run(self, leaves: list[Any]) -> Any:
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
            self._checked = compile_program(self.program, self.name)[0]
        return self._checked


def _checks_inside(program: Program) -> bool:
    """Whether the fast pass should check its strong-zero products for NaN where they are made
    instead of scanning the result: when those products are all at the top level (loop bodies
    are compiled without the checks) and hold fewer elements than the outputs. A per-example
    gradient returns a batch of weight gradients far larger than any strong-zero product, while
    a long elementwise chain on a short vector makes many products and one small result."""
    made = 0
    for eq in program.equations:
        for value in eq.params.values():
            subs = value if isinstance(value, (tuple, list)) else (value,)
            if any(isinstance(v, Program) and _holds_strong_zeros(v) for v in subs):
                return False
        if eq.primitive in PLAIN_STRONG_ZERO:
            # A check costs a call (≈ 1 µs, the time to scan ~1000 entries) plus its entries.
            made += _numel(eq.outputs[0].aval.shape) + _CHECK_CALL
    returned = sum(_numel(a.aval.shape) for a in program.outputs)
    return 0 < made < returned


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


class Jitted:
    """A function compiled per input signature. ``.source()`` shows the generated code and
    ``.program()`` the optimized Program of the most recent signature."""

    def __init__(self, fun: Callable[..., Any], static_argnums: Sequence[int] = (),
                 fuse: bool | None = None) -> None:
        self.fun = fun
        self.static_argnums = tuple(static_argnums)
        self.fuse = _resolve_fuse(fuse)
        self.cache: dict[Any, Compiled] = {}
        self._last: Compiled | None = None
        self.__name__ = f"jit({getattr(fun, '__name__', 'f')})"
        self.__doc__ = getattr(fun, "__doc__", None)

    def _split(self, args: tuple[Any, ...]) -> tuple[list[Any], tuple[Any, ...]]:
        nargs = len(args)
        static = tuple(i % nargs for i in self.static_argnums) if nargs else ()
        for i in self.static_argnums:
            if not -nargs <= i < nargs:
                raise TypeError(f"jit: static_argnums={self.static_argnums} is out of range "
                                f"for a call with {nargs} positional arguments")
        dyn = [a for i, a in enumerate(args) if i not in static]
        stat = tuple((i, args[i]) for i in static)
        try:
            hash(stat)
        except TypeError:
            raise TypeError("jit: static arguments must be hashable (ints, strings, tuples); "
                            "pass arrays as ordinary (traced) arguments") from None
        return dyn, stat

    def compile(self, *args: Any) -> Compiled:
        dyn, stat = self._split(args)
        leaves, in_tree = tree_flatten(dyn)
        return self._compile_flat(leaves, in_tree, stat, len(dyn))

    def _compile_flat(self, leaves: list[Any], in_tree: Any, stat: tuple[Any, ...],
                      ndyn: int) -> Compiled:
        leaves = [x if isinstance(x, (np.ndarray, float, int, complex, bool, np.generic))
                  else np.asarray(x) for x in leaves]
        avals = [aval_of(x) for x in leaves]
        key = (in_tree, tuple((a.shape, a.dtype, a.weak_type) for a in avals), stat)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        dyn = range(ndyn)
        store: dict[str, Any] = {}
        static = dict(stat)

        def flat(vals: list[Any]) -> list[Any]:
            dyn_args = iter(tree_unflatten(in_tree, vals))
            full = [static[i] if i in static else next(dyn_args)
                    for i in range(len(static) + len(dyn))]
            out = self.fun(*full)
            out_leaves, store["out_tree"] = tree_flatten(out)
            return out_leaves

        # Python scalars become float64/int64 inputs of the program (weak types do not
        # survive staging as inputs).
        in_avals = [ShapedArray(a.shape, a.dtype) for a in avals]
        name = _identifier(self.__name__)
        with _collector_paused():
            prog = optimize(stage_flat(flat, in_avals))
            inside = _checks_inside(prog)
            # Fused kernels cannot check their products one by one: fuse only when the
            # result is scanned (the checked rerun always runs the unfused program).
            fast = fuse_elementwise(prog) if self.fuse and not inside else prog
            fn, source = compile_program(fast, name=name, plain_strong_zeros=True,
                                         nan_checks=inside)
        compiled = Compiled(prog, fn, source, store["out_tree"], name, inside)
        self.cache[key] = compiled
        return compiled

    def __call__(self, *args: Any) -> Any:
        # The per-call path: one flatten of the arguments, one cache lookup (a tiny compiled
        # function is dominated by this bookkeeping, so it is done once).
        dyn, stat = self._split(args) if self.static_argnums else (list(args), ())
        leaves, in_tree = tree_flatten(dyn)
        for x in leaves:
            if type(x) is not np.ndarray:
                if isinstance(x, np.ma.MaskedArray):
                    raise masked_array_error(x, "jit: an argument")
                if isinstance(x, Tracer):
                    return self.fun(*args)  # being transformed: run the function itself
        compiled = self._compile_flat(leaves, in_tree, stat, len(dyn))
        self._last = compiled
        outs = list(compiled.run(leaves))
        return tree_unflatten(compiled.out_tree, outs)

    def source(self, *args: Any) -> str:
        """Generated source for ``args``' signature (or the most recent call's)."""
        return self._pick(args).source

    def program(self, *args: Any) -> Program:
        """Optimized program for ``args``' signature (or the most recent call's)."""
        return self._pick(args).program

    def _pick(self, args: tuple[Any, ...]) -> Compiled:
        if args:
            return self.compile(*args)
        if self._last is None:
            raise ValueError("jit: call the function (or pass example arguments) first")
        return self._last


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


def _resolve_fuse(fuse: bool | None) -> bool:
    """``fuse=None`` follows ``TENSORCALC_JIT_FUSE`` (on when numba is installed); an explicit
    ``fuse=True`` without numba is an error."""
    if fuse is None:
        wanted = os.environ.get("TENSORCALC_JIT_FUSE", "").lower() in ("1", "true", "on", "yes")
        return wanted and numba_available()
    if fuse and not numba_available():
        raise ImportError("jit(fuse=True) compiles elementwise chains with numba, which is not "
                          "installed: pip install 'tensorcalc[fast]', or use fuse=False")
    return bool(fuse)


def jit(fun: Callable[..., Any], static_argnums: int | Sequence[int] = (),
        fuse: bool | None = None) -> Jitted:
    """Compile ``fun`` to straight-line NumPy code per input signature (shapes, dtypes and
    the values of ``static_argnums``). Composes with every transformation.

    ``fuse=True`` compiles each chain of elementwise operations into one Numba loop
    (:mod:`tensorcalc.compile.fusion`; needs the ``fast`` extra); the default ``None`` fuses
    only when the environment variable ``TENSORCALC_JIT_FUSE=1`` is set."""
    nums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    return Jitted(fun, nums, fuse)
