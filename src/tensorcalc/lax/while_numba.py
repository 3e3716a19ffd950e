"""A ``while_loop`` over small values under ``jit``, compiled to one Numba function (optional).

An adaptive solver's loop (``odeint``'s Runge–Kutta steps and its adjoint) carries a handful of
numbers: a state of a few elements, a time, a step size. The NumPy code ``jit`` generates calls
NumPy once per operation of the body, some 250–500 calls per step, each costing far more than
its arithmetic on two or nine numbers. When Numba is importable and every value the cond and
body programs touch has at most :data:`MAX_ELEMENTS` elements (float64, int64 or bool), the
loop is emitted *scalarized*: every element of every value is one local variable of a
``@numba.njit`` function holding the whole ``while`` loop, so a step allocates nothing.

How each equation becomes scalar statements (``x[i]`` is element ``i`` of a value, row-major):

* elementwise operations (the ufuncs, ``select``, ``convert``, the strong-zero products) apply
  per element after broadcasting the operands' element grids: ``z[i] = x[i'] ∘ y[i'']``;
* linear structural operations (``reshape``, ``transpose``, ``broadcast_to``, ``getitem``,
  ``index_add``, ``concatenate``, ``split``, ``reduce_sum``) are linear maps ``z = A x`` with a
  0/1 matrix ``A``, found by applying the primitive's own implementation to the unit vectors:
  a row with one entry is a renaming (no code), a row with several a sum, an empty row a zero.
  This is why the scatter-adds that transposing ``y[0]`` produces cost nothing here;
* ``matmul`` of 1-D/2-D operands: ``z[i, j] = Σₖ x[i, k] y[k, j]`` written out;
* ``reduce_max``/``reduce_min``: ``np.maximum``/``np.minimum`` chains (NaN propagates, as
  NumPy's reductions do).

The strong-zero products are written exactly (``0 if t == 0 else t·f``), so the loop needs no
strong-zero rerun. Anything else (another primitive, a larger or other-dtype value, a Numba
compile failure) keeps the NumPy loop, and Numba is never required. As for the Numba scans
(:mod:`tensorcalc.lax.scan_numba`, whose cache and :func:`~tensorcalc.lax.scan_numba.
loop_compiler` switch this module shares): a non-finite result reruns the NumPy loop so that
NumPy's floating-point warnings are raised as before, the compiled code is cached per process
and on disk, and compile time does not depend on the trip count. A while loop's trip count is
not known when it is compiled, so under ``"auto"`` a loop first runs as NumPy and is compiled
once loops of the same source have run :data:`~tensorcalc.lax.scan_numba.MIN_STEPS` iterations
in this process (``"numba"`` compiles at once, ``"numpy"`` never).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..compile.buffers import ufunc_of
from ..core.ir import Program, Var
from ..ops.elementwise import select_p
from ..ops.products import matmul_p
from ..ops.reductions import reduce_max_p, reduce_min_p
from ..ops.shape import concatenate_p, split_p
from ..ops.strong_zero import div_sz_p, mul_sz_p
from ..ops.structural import (
    broadcast_to_p,
    convert_p,
    getitem_p,
    index_add_p,
    reduce_sum_p,
    reshape_p,
    transpose_p,
)
from . import scan_numba

#: Values with more elements keep the NumPy loop: each element is a local variable, and
#: Numba's compile time grows with their number.
MAX_ELEMENTS = 64

#: Loops whose scalarized body would be longer keep the NumPy loop: Numba's compile time grows
#: faster than linearly with the length of a function (odeint's adjoint of a 2-state system
#: is about 1,100 statements and 10–30 s to compile on a loaded machine).
MAX_STATEMENTS = 3000

#: Linear maps given by the primitive's implementation on unit vectors (see the docstring).
_LINEAR = frozenset({reshape_p, transpose_p, broadcast_to_p, getitem_p, index_add_p,
                     concatenate_p, split_p, reduce_sum_p})

_DTYPES = {np.dtype(np.float64): "float", np.dtype(np.int64): "int", np.dtype(np.bool_): "bool"}

_OPERATORS = {np.add: "+", np.subtract: "-", np.multiply: "*", np.true_divide: "/",
              np.less: "<", np.less_equal: "<=", np.greater: ">", np.greater_equal: ">=",
              np.equal: "==", np.not_equal: "!="}

_seen: dict[str, int] = {}  # iterations run by the NumPy loop, per loop source
_seen_lock = threading.Lock()


class Unsupported(Exception):
    """This loop keeps the NumPy path."""


def _check_value(aval: Any) -> int:
    shape = tuple(aval.shape)
    if not all(type(d) is int for d in shape) or np.dtype(aval.dtype) not in _DTYPES:
        raise Unsupported
    size = int(np.prod(shape, dtype=np.int64))
    if size > MAX_ELEMENTS:
        raise Unsupported
    return size


def _literal_text(value: Any, dtype: Any) -> str:
    kind = _DTYPES[np.dtype(dtype)]
    if kind == "bool":
        return "True" if bool(value) else "False"
    if kind == "int":
        return str(int(value))
    v = float(value)
    if np.isnan(v):
        return "np.nan"
    if np.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(v)


class _Writer:
    """Scalar statements for a sequence of equations; values are object arrays of names.

    With ``hoist``, the literals of the programs become arguments (``h0``, ``h1``, …): a
    predicate ``t < 2.0`` then compiles once for every bound."""

    def __init__(self, plain: bool) -> None:
        self.plain, self.lines, self.count, self.hoist = plain, [], 0, False
        self.consts: dict[str, Any] = {}  # literal text -> its value (for folding)
        self.hoisted: list[np.ndarray] = []

    def fresh(self, expr: str) -> str:
        name = f"s{self.count}"
        self.count += 1
        if self.count > MAX_STATEMENTS:
            raise Unsupported
        self.lines.append(f"{name} = {expr}")
        return name

    def value(self, a: Any, env: dict[int, np.ndarray]) -> np.ndarray:
        if isinstance(a, Var):
            return env[id(a)]
        _check_value(a.aval)
        arr = np.asarray(a.value, dtype=a.aval.dtype)
        if self.hoist and arr.dtype != np.bool_:
            k = len(self.hoisted)
            self.hoisted.append(arr)
            return _names(f"h{k}", a.aval)
        out = np.empty(arr.shape, dtype=object)
        for i, v in np.ndenumerate(arr):
            out[i] = self.literal(v, a.aval.dtype)
        return out

    def is_zero(self, text: str) -> bool:
        return text in self.consts and self.consts[text] == 0

    def literal(self, value: Any, dtype: Any) -> str:
        text = _literal_text(value, dtype)
        self.consts[text] = np.asarray(value, dtype=dtype)[()]
        return text

    def program(self, prog: Program, ins: list[np.ndarray]) -> list[np.ndarray]:
        env = {id(v): x for v, x in zip(prog.inputs, ins, strict=True)}
        for eq in prog.equations:
            for v in eq.outputs:
                _check_value(v.aval)
            outs = self.equation(eq, [self.value(a, env) for a in eq.inputs])
            for v, x in zip(eq.outputs, outs, strict=True):
                env[id(v)] = x
        return [self.value(a, env) for a in prog.outputs]

    def equation(self, eq: Any, ins: list[np.ndarray]) -> list[np.ndarray]:
        prim = eq.primitive
        out_avals = [v.aval for v in eq.outputs]
        if prim in _LINEAR:
            return self.linear(eq, ins, out_avals)
        if prim is matmul_p:
            return [self.matmul(ins, out_avals[0])]
        if prim in (reduce_max_p, reduce_min_p):
            fn = "np.maximum" if prim is reduce_max_p else "np.minimum"
            return [self.reduce(ins[0], eq.params["axes"], fn, out_avals[0])]
        shape = tuple(out_avals[0].shape)
        grids = [np.broadcast_to(x, shape) for x in ins]
        out = np.empty(shape, dtype=object)
        for i in np.ndindex(shape):
            out[i] = self.element(eq, [g[i] for g in grids], out_avals[0])
        return [out]

    def element(self, eq: Any, xs: list[str], aval: Any) -> str:
        """A literal when every operand is one, an operand for ``x + 0``, ``x - 0``, ``x · 1``,
        else a new statement."""
        if all(x in self.consts for x in xs):
            with np.errstate(all="ignore"):
                value = eq.primitive.impl(*[self.consts[x] for x in xs], **eq.params)
            return self.literal(value, aval.dtype)
        fn = ufunc_of(eq, self.plain)
        if fn in (np.add, np.subtract, np.multiply) and len(xs) == 2:
            unit = 1 if fn is np.multiply else 0
            same = [np.dtype(a.aval.dtype) == np.dtype(aval.dtype) for a in eq.inputs]
            for k in ((0, 1) if fn is not np.subtract else (1,)):
                x = xs[k]
                if x in self.consts and self.consts[x] == unit and same[1 - k]:
                    return xs[1 - k]
        return self.fresh(self.elementwise(eq, xs, aval))

    def elementwise(self, eq: Any, xs: list[str], aval: Any) -> str:
        prim = eq.primitive
        # No Python-level branches (``a if p else b``, ``and``): each would split the function
        # into more basic blocks, and Numba's SSA pass grows with blocks times variables.
        if prim is select_p:
            return f"_select({xs[0]}, {xs[1]}, {xs[2]})"
        if prim is convert_p:
            return f"{_DTYPES[np.dtype(eq.params['dtype'])]}({xs[0]})"
        if prim in (mul_sz_p, div_sz_p) and not self.plain:  # the strong zero, exactly
            return f"_{prim.name}({xs[0]}, {xs[1]})"
        fn = ufunc_of(eq, self.plain)
        if fn is None or fn.signature is not None or prim.multiple_results or fn.nin != len(xs):
            raise Unsupported
        if fn in _OPERATORS and len(xs) == 2:
            return f"({xs[0]} {_OPERATORS[fn]} {xs[1]})"
        if fn is np.negative:
            return f"(-{xs[0]})"
        if fn is np.logical_and or fn is np.logical_or:
            return f"({xs[0]} {'&' if fn is np.logical_and else '|'} {xs[1]})"
        if fn is np.logical_not:
            return f"(not {xs[0]})"
        return f"np.{fn.__name__}({', '.join(xs)})"

    def linear(self, eq: Any, ins: list[np.ndarray], out_avals: list[Any]) -> list[np.ndarray]:
        """Each output element as the sum of the input elements the unit vectors reach."""
        shapes = [x.shape for x in ins]
        terms: list[list[list[tuple[str, float]]]] = [
            [[] for _ in range(int(np.prod(a.shape, dtype=np.int64)))] for a in out_avals]
        for k, x in enumerate(ins):
            for j in range(x.size):
                args = [np.zeros(s) for s in shapes]
                args[k].reshape(-1)[j] = 1.0
                res = eq.primitive.impl(*args, **eq.params)
                res = res if eq.primitive.multiple_results else [res]
                for o, r in enumerate(res):
                    for i in np.flatnonzero(np.asarray(r).reshape(-1)):
                        name = x.reshape(-1)[j]
                        if not self.is_zero(name):
                            terms[o][i].append((name, float(np.asarray(r).reshape(-1)[i])))
        outs = []
        for aval, rows in zip(out_avals, terms, strict=True):
            out = np.empty(len(rows), dtype=object)
            for i, row in enumerate(rows):
                out[i] = self.combine(row, aval.dtype)
            outs.append(out.reshape(tuple(aval.shape)))
        return outs

    def combine(self, row: list[tuple[str, float]], dtype: Any) -> str:
        if not row:
            return self.literal(0, dtype)
        if len(row) == 1 and row[0][1] == 1.0:
            return row[0][0]
        if _DTYPES[np.dtype(dtype)] != "float":
            raise Unsupported  # sums of integers or booleans: not met in practice
        parts = [n if c == 1.0 else f"{c!r} * {n}" for n, c in row]
        return self.fresh(" + ".join(parts))

    def matmul(self, ins: list[np.ndarray], aval: Any) -> np.ndarray:
        a, b = ins
        if a.ndim > 2 or b.ndim > 2 or a.ndim == 0 or b.ndim == 0:
            raise Unsupported
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        out = np.empty((a2.shape[0], b2.shape[1]), dtype=object)
        for i in range(out.shape[0]):
            for j in range(out.shape[1]):
                pairs = [(x, y) for x, y in zip(a2[i], b2[:, j], strict=True)
                         if not (self.is_zero(x) or self.is_zero(y))]
                out[i, j] = self.fresh(" + ".join(f"{x} * {y}" for x, y in pairs)) if pairs \
                    else self.literal(0, aval.dtype)
        return out.reshape(tuple(aval.shape))

    def reduce(self, x: np.ndarray, axes: Sequence[int], fn: str, aval: Any) -> np.ndarray:
        axes = tuple(int(a) % max(x.ndim, 1) for a in axes)
        keep = [d for d in range(x.ndim) if d not in axes]
        groups = np.transpose(x, keep + list(axes)).reshape(
            int(np.prod([x.shape[d] for d in keep], dtype=np.int64)), -1)
        out = np.empty(groups.shape[0], dtype=object)
        for i, group in enumerate(groups):
            expr = group[0]
            for g in group[1:]:
                expr = f"{fn}({expr}, {g})"
            out[i] = self.fresh(expr) if len(group) > 1 else expr
        return out.reshape(tuple(aval.shape))


def _names(prefix: str, aval: Any) -> np.ndarray:
    """The element names of argument ``prefix``: itself when it is 0-d (a scalar argument),
    else ``prefix_j`` for element ``j`` of the flat array."""
    size = _check_value(aval)
    if not aval.shape:
        return np.array(prefix, dtype=object)
    out = np.array([f"{prefix}_{j}" for j in range(size)], dtype=object)
    return out.reshape(tuple(aval.shape))


def _loop_source(cond: Program, body: Program, ncc: int, nk: int, plain: bool
                 ) -> tuple[str, list[np.ndarray]]:
    """Source of ``while_loop(*cond_consts, *body_consts, *carry, *hoisted) -> (finite,
    *carry)`` (a 0-d value passed and returned as a scalar, any other as a flat array), and
    the hoisted literals (raises :class:`Unsupported`)."""
    n_carry = len(body.inputs) - nk
    carry_avals = body.in_avals[nk:]
    cc = [_names(f"a{i}", a) for i, a in enumerate(cond.in_avals[:ncc])]
    bc = [_names(f"b{i}", a) for i, a in enumerate(body.in_avals[:nk])]
    carry = [_names(f"c{i}", a) for i, a in enumerate(carry_avals)]
    params = [f"a{i}" for i in range(ncc)] + [f"b{i}" for i in range(nk)] \
        + [f"c{i}" for i in range(n_carry)]
    w = _Writer(plain)
    w.hoist = True
    (pred,) = w.program(cond, cc + carry)
    cond_lines, w.lines, w.hoist = w.lines, [], False
    hoisted = [_names(f"h{k}", h) for k, h in enumerate(w.hoisted)]
    params += [f"h{k}" for k in range(len(hoisted))]
    head = [f"{n} = {n.rsplit('_', 1)[0]}[{n.rsplit('_', 1)[1]}]"
            for x in cc + bc + carry + hoisted if x.ndim for n in x.reshape(-1)]
    new = w.program(body, bc + carry)
    body_lines = w.lines
    targets, values = [], []
    for x, y, aval in zip(carry, new, carry_avals, strict=True):
        cast = _DTYPES[np.dtype(aval.dtype)]
        targets += list(x.reshape(-1))
        values += [f"{cast}({v})" for v in y.reshape(-1)]
    lines = ["from tensorcalc.lax.numba_helpers import div_sz as _div_sz, "
             "mul_sz as _mul_sz, select as _select", "", "",
             f"def while_loop({', '.join(params)}):"] + [f"    {s}" for s in head]
    lines.append("    while True:")
    lines += [f"        {s}" for s in cond_lines]
    lines += [f"        if not {pred.reshape(-1)[0]}:", "            break"]
    lines += [f"        {s}" for s in body_lines]
    if targets:
        lines.append(f"        ({', '.join(targets)},) = ({', '.join(values)},)")
    # x·0 is 0 for a finite x and NaN for inf or NaN: one test for every float result.
    floats = [n for x, aval in zip(carry, carry_avals, strict=True)
              if _DTYPES[np.dtype(aval.dtype)] == "float" for n in x.reshape(-1)]
    results = [f"({' + '.join(f'{n} * 0.0' for n in floats)}) == 0.0, " if floats else "True, "]
    for i, (x, aval) in enumerate(zip(carry, carry_avals, strict=True)):
        if not x.ndim:
            results.append(f"{x[()]}, ")
            continue
        lines.append(f"    r{i} = np.empty({x.size}, np.{np.dtype(aval.dtype).name})")
        lines += [f"    r{i}[{j}] = {n}" for j, n in enumerate(x.reshape(-1))]
        results.append(f"r{i}, ")
    lines.append(f"    return ({''.join(results)})")
    return "\n".join(lines) + "\n", w.hoisted


class _Arg:
    """The Numba type of an argument: a scalar (shape ``()``) or a flat array."""

    def __init__(self, aval: Any) -> None:
        size = _check_value(aval)
        self.shape, self.dtype = ((size,) if aval.shape else ()), aval.dtype


_SCALAR = {"float": float, "int": int, "bool": bool}
_BOX = {"float": np.float64, "int": np.int64, "bool": np.bool_}


def _converter(aval: Any) -> Callable[[Any], Any]:
    """How an argument reaches the compiled loop: a Python scalar, or a flat C array."""
    kind = _DTYPES[np.dtype(aval.dtype)]
    if not aval.shape:
        return _SCALAR[kind]
    dtype = np.dtype(aval.dtype)

    def flat(a: Any) -> np.ndarray:
        if type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous \
                and a.flags.writeable:
            return a.reshape(-1)
        return np.array(a, dtype=dtype, order="C").reshape(-1)

    return flat


class NumbaWhile:
    """Runs the compiled loop once it exists (see the module docstring for when), else the
    NumPy loop ``fallback(*args) -> (carry, iterations)``."""

    def __init__(self, source: str, hoisted: list[np.ndarray], in_avals: Sequence[Any],
                 out_avals: Sequence[Any], fallback: Callable[..., tuple[list[Any], int]],
                 eager: bool) -> None:
        self.source, self.fallback = source, fallback
        self.convert = [_converter(a) for a in in_avals]
        self.hoisted = [_converter(h)(h) for h in hoisted]
        self.arg_avals = [_Arg(a) for a in list(in_avals) + list(hoisted)]
        self.out_shapes = [tuple(a.shape) for a in out_avals]
        self.box = [_BOX[_DTYPES[np.dtype(a.dtype)]] for a in out_avals]
        self.fn: Callable[..., Any] | None = None
        self.failed = False
        if eager:
            self._compile()

    def _compile(self) -> None:
        self.fn = scan_numba.compile_loop(self.source, self.arg_avals, "while_loop")
        self.failed = self.fn is None

    def _numpy(self, args: tuple[Any, ...]) -> list[Any]:
        carry, steps = self.fallback(*args)
        if self.fn is None and not self.failed:
            with _seen_lock:
                _seen[self.source] = _seen.get(self.source, 0) + steps
                due = _seen[self.source] >= scan_numba.MIN_STEPS
            if due:
                self._compile()
        return carry

    def __call__(self, *args: Any) -> list[Any]:
        fn = self.fn
        if fn is None:
            return self._numpy(args)
        finite, *flat = fn(*[c(a) for c, a in zip(self.convert, args, strict=True)],
                           *self.hoisted)
        if not finite:
            return self.fallback(*args)[0]  # NumPy reports the floating-point trouble
        return [o.reshape(s) if s else box(o)
                for o, s, box in zip(flat, self.out_shapes, self.box, strict=True)]


def numba_while(cond: Program, body: Program, ncc: int, nk: int, plain: bool,
                fallback: Callable[..., tuple[list[Any], int]]) -> NumbaWhile | None:
    """A :class:`NumbaWhile` for this loop, or None when the NumPy loop should run."""
    mode = scan_numba.loop_compiler()
    if mode == "numpy" or not scan_numba.numba_available():
        return None
    try:
        source, hoisted = _loop_source(cond, body, ncc, nk, plain)
    except Unsupported:
        return None
    looped = NumbaWhile(source, hoisted, list(cond.in_avals[:ncc]) + list(body.in_avals),
                        body.in_avals[nk:], fallback, eager=mode == "numba")
    return None if looped.failed else looped
