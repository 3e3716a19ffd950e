"""A long ``scan`` under ``jit`` compiled to one Numba function (optional).

The NumPy code ``jit`` generates for a loop calls NumPy once per operation of the body, and for
the small arrays of a typical recurrence (an RNN step on 64 numbers) that call costs more than
its arithmetic: the loop runs at NumPy's per-call overhead, not at the speed of the machine.
When Numba is importable, a ``scan`` of at least :data:`MIN_STEPS` steps whose body is made only
of operations listed here (elementwise ufuncs, ``matmul`` of 1-D/2-D operands, ``reshape``,
``transpose``, ``broadcast_to``, ``reduce_sum``/``max``/``min``, ``select``) over float64 or
boolean arrays of rank ≥ 1 is emitted as one ``@numba.njit`` function holding the whole
``for`` loop; the ``ys`` are preallocated and written by slice. The generated Python is the
same straight-line body, so the values are the same computation (up to the last bit of a
BLAS call, which Numba and NumPy may block differently).

What does not change:

* **Fallbacks.** A body with any other operation, a 0-d or other-dtype value, or one Numba
  fails to compile keeps the NumPy loop. Numba is never required.
* **Floating-point reporting.** Numba does not raise NumPy's floating-point warnings, so when
  a Numba loop produces an inf or NaN the loop is run again by the NumPy path, which warns (and
  whose NaN triggers the strong-zero rerun of :mod:`tensorcalc.compile.jit`) exactly as before.
* **Compile time** does not grow with the trip count (the loop is one function, the trip
  count an argument); it is Numba's own, a second or so per loop, paid once per body and
  cached per process by source text, and across processes in
  the ``numba_loops`` cache directory (:mod:`tensorcalc.compile.kernel_files`: the generated
  module is written there atomically and Numba keeps its machine code beside it).

:func:`loop_compiler` chooses: ``"auto"`` (the default; Numba for loops of ≥ ``MIN_STEPS``
steps), ``"numpy"`` (never Numba) or ``"numba"`` (Numba for every eligible loop, any length).
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..compile.buffers import ufunc_of
from ..compile.kernel_files import cache_dir, import_generated
from ..core.ir import Program, Var
from ..ops.elementwise import select_p
from ..ops.products import matmul_p
from ..ops.reductions import reduce_max_p, reduce_min_p
from ..ops.structural import broadcast_to_p, convert_p, reduce_sum_p, reshape_p, transpose_p

#: Loops shorter than this keep the NumPy path under ``"auto"``: Numba's compile time (about a
#: second per loop) only pays off once the per-step overhead it removes adds up.
MIN_STEPS = 256

_MODES = ("auto", "numpy", "numba")
_state = {"mode": "auto"}
_cache: dict[tuple[str, tuple[Any, ...]], Any] = {}
_lock = threading.Lock()


def loop_compiler(mode: str | None = None) -> str:
    """Set (with ``mode``) and return how ``jit`` compiles ``scan`` loops: ``"auto"``,
    ``"numpy"`` or ``"numba"`` (see the module docstring). Applies to functions compiled
    afterwards; a signature already compiled keeps its code."""
    if mode is not None:
        if mode not in _MODES:
            raise ValueError(f"loop_compiler: mode must be one of {_MODES}, got {mode!r}")
        _state["mode"] = mode
    return _state["mode"]


def clear_cache() -> None:
    """Forget the Numba loops compiled in this process (for measuring compile times)."""
    with _lock:
        _cache.clear()


def numba_available() -> bool:
    return importlib.util.find_spec("numba") is not None


_DTYPES = (np.dtype(np.float64), np.dtype(np.bool_))


def _eligible_value(aval: Any) -> bool:
    shape = tuple(aval.shape)
    return (len(shape) >= 1 and all(type(d) is int for d in shape)
            and np.dtype(aval.dtype) in _DTYPES)


def _expression(eq: Any, ins: list[str], plain: bool) -> str | None:
    """Numba source for one equation, or None when it is not supported."""
    prim, p = eq.primitive, eq.params
    if prim is matmul_p:
        if all(a.aval.ndim <= 2 for a in eq.inputs):
            return f"np.dot({ins[0]}, {ins[1]})"
        return None
    if prim is reshape_p:
        return f"np.ascontiguousarray({ins[0]}).reshape({tuple(p['new_shape'])!r})"
    if prim is transpose_p:
        return f"np.ascontiguousarray(np.transpose({ins[0]}, {tuple(p['perm'])!r}))"
    if prim is broadcast_to_p:
        return f"np.ascontiguousarray(np.broadcast_to({ins[0]}, {tuple(p['shape'])!r}))"
    if prim is convert_p:
        return f"{ins[0]}.astype(np.{np.dtype(p['dtype']).name})"
    if prim is select_p:
        return f"np.where({ins[0]}, {ins[1]}, {ins[2]})"
    for red, name in ((reduce_sum_p, "sum"), (reduce_max_p, "max"), (reduce_min_p, "min")):
        if prim is red:
            expr = ins[0]
            for axis in sorted(p["axes"], reverse=True):  # one axis at a time, last first
                expr = f"np.{name}({expr}, axis={int(axis)})"
            return expr
    fn = ufunc_of(eq, plain)
    if fn is not None and fn.signature is None and not prim.multiple_results:
        return f"np.{fn.__name__}({', '.join(ins)})"
    return None


def _loop_source(body: Program, length: int, reverse: bool, nk: int, nc: int,
                 plain: bool) -> tuple[str, list[np.ndarray]] | None:
    """``(source, literal arrays)`` of ``scan_loop(consts, carry, xs, ys buffers, literals)``,
    or None when the body is not eligible."""
    if not all(_eligible_value(v.aval) for v in body.inputs):
        return None
    names: dict[int, str] = {}
    lits: list[np.ndarray] = []
    params: list[str] = []
    step_lines: list[str] = []
    for i, v in enumerate(body.inputs):
        if i < nk:
            names[id(v)] = f"k{i}"
            params.append(f"k{i}")
        elif i < nk + nc:
            names[id(v)] = f"c{i - nk}"
            params.append(f"c{i - nk}")
        else:
            j = i - nk - nc
            names[id(v)] = f"x{j}"
            params.append(f"xs{j}")
            step_lines.append(f"x{j} = xs{j}[t]")
    ny = len(body.outputs) - nc
    params += [f"ys{j}" for j in range(ny)]

    def read(a: Any) -> str | None:
        if isinstance(a, Var):
            return names[id(a)]
        value = a.value
        if isinstance(value, np.ndarray) and value.ndim == 0:
            value = value.item()
        if type(value) in (bool, int) or (type(value) is float and np.isfinite(value)):
            return repr(value)
        if isinstance(value, np.ndarray) and _eligible_value(a.aval):
            lits.append(np.ascontiguousarray(value))
            params.append(f"lit{len(lits) - 1}")
            return params[-1]
        return None

    for k, eq in enumerate(body.equations):
        ins = [read(a) for a in eq.inputs]
        if any(s is None for s in ins) or len(eq.outputs) != 1 \
                or not _eligible_value(eq.outputs[0].aval):
            return None
        expr = _expression(eq, ins, plain)
        if expr is None:
            return None
        names[id(eq.outputs[0])] = f"v{k}"
        step_lines.append(f"v{k} = {expr}")
    outs = [read(a) for a in body.outputs]
    if any(s is None for s in outs) or not all(_eligible_value(a.aval) for a in body.outputs):
        return None
    step_lines += [f"ys{j}[t] = {outs[nc + j]}" for j in range(ny)]
    if nc:
        step_lines.append(f"{', '.join(f'c{i}' for i in range(nc))}, = "
                          f"{', '.join(outs[:nc])},")
    # The trip count is an argument, so loops that differ only in length share one compile.
    steps = "range(n_steps - 1, -1, -1)" if reverse else "range(n_steps)"
    lines = [f"def scan_loop(n_steps, {', '.join(params)}):", f"    for t in {steps}:"]
    lines += [f"        {s}" for s in step_lines]
    lines.append(f"    return ({''.join(f'c{i}, ' for i in range(nc))})")
    return "\n".join(lines) + "\n", lits


def _numba_type(aval: Any) -> Any:
    import numba

    if aval is None:
        return numba.int64
    base = {"f": numba.float64, "i": numba.int64}.get(np.dtype(aval.dtype).kind, numba.boolean)
    # Shape () is a scalar argument (the while loops pass 0-d values so; scans never do).
    return numba.types.Array(base, len(aval.shape), "C") if aval.shape else base


def _loop_function(source: str, name: str = "scan_loop") -> tuple[Callable[..., Any], bool]:
    """The function ``name`` defined from ``source``: from a module file in the cache
    directory when there is one (so Numba can cache its machine code next to it), else in
    memory. Returns the function and whether it is file-backed."""
    text = "import numpy as np\n\n\n" + source
    where = cache_dir("numba_loops")
    if where is not None:
        stem = "loop_" + hashlib.sha256(text.encode()).hexdigest()[:24]
        try:
            return import_generated(text, where, stem, f"tensorcalc_numba_{stem}")[name], True
        except OSError:
            pass
    env: dict[str, Any] = {"np": np}
    # The source is generated from a Program by this module, never from user text.
    exec(compile(source, f"<tensorcalc.jit {name}>", "exec"), env)  # noqa: S102
    return env[name], False


def compile_loop(source: str, arg_avals: Sequence[Any], name: str = "scan_loop"
                 ) -> Callable[..., Any] | None:
    """``name`` from ``source`` compiled by Numba for these argument types (None when Numba
    fails), cached per process by source and types."""
    key = (source, tuple(None if a is None else (len(a.shape), np.dtype(a.dtype).str)
                         for a in arg_avals))
    with _lock:
        if key in _cache:
            return _cache[key]
        try:
            import numba

            loop, on_disk = _loop_function(source, name)
            sig = tuple(_numba_type(a) for a in arg_avals)
            # error_model="numpy": a division by zero gives inf/nan, as in NumPy, not an error.
            fn = numba.njit(sig, nogil=True, cache=on_disk, error_model="numpy")(loop)
        except Exception:  # noqa: BLE001  (any Numba failure means: keep the NumPy loop)
            fn = None
        _cache[key] = fn
        while len(_cache) > 128:  # bounded: oldest loops go first
            _cache.pop(next(iter(_cache)))
        return fn


class NumbaScan:
    """Runs one compiled Numba loop; the NumPy loop ``fallback`` when a result is not finite."""

    def __init__(self, fn: Callable[..., Any], source: str, lits: list[np.ndarray],
                 body: Program, nc: int, length: int,
                 fallback: Callable[..., list[Any]]) -> None:
        self.fn, self.source, self.lits, self.nc, self.fallback = fn, source, lits, nc, fallback
        self.length = length
        self.y_specs = [((length, *a.shape), a.dtype) for a in body.out_avals[nc:]]
        self.in_dtypes = [np.dtype(a.dtype) for a in body.in_avals]

    def __call__(self, *args: Any) -> list[Any]:
        ins = [a if type(a) is np.ndarray and a.flags.c_contiguous and a.flags.writeable
               and a.dtype == d else np.array(a, dtype=d, order="C")
               for a, d in zip(args, self.in_dtypes, strict=True)]
        ys = [np.empty(shape, dtype) for shape, dtype in self.y_specs]
        outs = list(self.fn(self.length, *ins, *ys, *self.lits)) + ys
        if all(o.dtype == np.bool_ or np.isfinite(o).all() for o in outs):
            return outs
        return self.fallback(*args)


def numba_scan(body: Program, length: int, reverse: bool, nk: int, nc: int, plain: bool,
               fallback: Callable[..., list[Any]]) -> NumbaScan | None:
    """A :class:`NumbaScan` for this loop, or None when the NumPy loop should run."""
    mode = _state["mode"]
    if mode == "numpy" or (mode == "auto" and length < MIN_STEPS) or not numba_available():
        return None
    made = _loop_source(body, length, reverse, nk, nc, plain)
    if made is None:
        return None
    source, lits = made
    ny = len(body.outputs) - nc
    arg_avals: list[Any] = [None]  # the trip count
    arg_avals += list(body.in_avals[:nk + nc])
    arg_avals += [_stacked(a, length) for a in body.in_avals[nk + nc:]]
    arg_avals += [_stacked(a, length) for a in body.out_avals[nc:nc + ny]]
    arg_avals += [_aval_of(v) for v in lits]
    fn = compile_loop(source, arg_avals)
    if fn is None:
        return None
    return NumbaScan(fn, source, lits, body, nc, length, fallback)


class _Aval:
    def __init__(self, shape: tuple[int, ...], dtype: Any) -> None:
        self.shape, self.dtype = shape, dtype


def _stacked(aval: Any, length: int) -> _Aval:
    return _Aval((length, *aval.shape), aval.dtype)


def _aval_of(value: np.ndarray) -> _Aval:
    return _Aval(value.shape, value.dtype)
