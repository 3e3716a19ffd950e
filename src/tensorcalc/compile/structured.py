"""Passes for the structure that derivative programs carry: strong zeros, identities,
diagonals, uniform constants and whole-array slices.

Reverse-mode and Jacobian programs are full of structured local Jacobians written out densely:
the cotangent seed is a constant array of ones, a Jacobian sweep starts from the identity
basis ``I``, the Jacobian of an elementwise function is ``diag(f′(x))`` built as ``mul_sz(I, d)``,
and a mean's cotangent is a constant array whose entries are all ``1/n``. Each pass below
rewrites one such pattern with an identity that holds entry by entry:

* ``strong_zero_simplification`` — ``mul_sz(t, f) = t·f`` when ``f`` is a finite constant or
  ``t`` a constant with no zero entry (the strong zero of ``t`` only matters where ``t = 0`` and
  ``f`` is not finite), ``mul_sz(1, f) = f``, and ``div_sz(t, c) = t / c`` for a finite nonzero
  constant ``c``;
* ``diagonal_matmul`` — ``diag(d) B = d[:, None] ⊙ B`` and ``B diag(d) = B ⊙ d[None, :]`` where
  ``diag(d)`` is ``mul_sz(I, d)`` (``I`` a constant identity, ``d`` a row or column), and
  ``I B = B``, ``B I = B``: an O(n²) scaling instead of an O(n³) product. Only the structural
  zeros of ``I`` are dropped, so the result differs from the dense product only where that
  product would have turned ``0·∞`` into NaN;
* ``uniform_constants`` — a constant array operand of an elementwise op whose entries are all
  equal becomes a 0-d scalar of the same dtype when the other operand already has the result's
  shape (``c ⊙ x = c₀ x``): the constant no longer has to be stored or streamed;
* ``whole_slices`` — ``x[0:n]`` on an axis of length ``n`` is ``x``.

A pass never changes a result's shape or dtype; each returns a new Program. Each pass is a
rule of one forward sweep (:mod:`tensorcalc.compile.sweep`), so the default pipeline runs
them all in a single walk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.ir import Equation, Literal, Program, Var
from ..core.shapes import ShapedArray
from ..ops.elementwise import add_p, div_p, maximum_p, minimum_p, mul_p, pow_p, sub_p
from ..ops.products import matmul_p
from ..ops.strong_zero import div_sz_p, mul_sz_p
from ..ops.structural import getitem_p, reshape_p
from .sweep import Sweep, rewrites, run_rules

Atom = Var | Literal

_ELEMENTWISE_BINARY = frozenset({add_p, sub_p, mul_p, div_p, mul_sz_p, div_sz_p, maximum_p,
                                 minimum_p, pow_p})


def _const_array(a: Atom) -> np.ndarray | None:
    if isinstance(a, Literal) and isinstance(a.value, (bool, int, float, np.generic,
                                                       np.ndarray)):
        return np.asarray(a.value)
    return None


def _finite(a: Atom) -> bool:
    if isinstance(a, Literal) and type(a.value) in (int, float):
        return bool(np.isfinite(a.value))
    v = _const_array(a)
    return v is not None and v.dtype.kind in "biuf" and bool(np.isfinite(v).all())


def _nonzero(a: Atom) -> bool:
    if isinstance(a, Literal) and type(a.value) in (int, float):
        return a.value != 0
    v = _const_array(a)
    return v is not None and bool(np.all(v != 0))


def _all_equal(a: Atom, value: float) -> bool:
    if isinstance(a, Literal) and type(a.value) in (int, float):
        return a.value == value
    v = _const_array(a)
    return v is not None and bool(np.all(v == value))


def _same_aval(a: Atom, v: Var) -> bool:
    return tuple(a.aval.shape) == tuple(v.aval.shape) and a.aval.dtype == v.aval.dtype


@rewrites(mul_sz_p, div_sz_p)
def strong_zero_rule(eq: Equation, sw: Sweep) -> Any:
    """``mul_sz``/``div_sz`` with a constant operand become ``mul``/``div`` (or vanish)."""
    t, f = eq.inputs
    if type(t) is not Literal and type(f) is not Literal:
        return eq  # every rewrite below needs a constant operand
    if eq.primitive is mul_sz_p:
        if _all_equal(t, 1.0) and _same_aval(f, eq.outputs[0]):
            return (f,)  # 1·f = f, and 1 is never a zero
        if _finite(f) or _nonzero(t):
            return Equation(mul_p, eq.inputs, eq.outputs, {})
    elif eq.primitive is div_sz_p:
        if _finite(f) and _nonzero(f):
            return Equation(div_p, eq.inputs, eq.outputs, {})
    return eq


def strong_zero_simplification(prog: Program) -> Program:
    """``mul_sz``/``div_sz`` with a constant operand become ``mul``/``div`` (or vanish)."""
    return run_rules(prog, (strong_zero_rule,))


def _is_identity(a: Atom) -> bool:
    v = _const_array(a)
    return (v is not None and v.ndim == 2 and v.shape[0] == v.shape[1]
            and bool(np.array_equal(v, np.eye(v.shape[0], dtype=v.dtype))))


def _diagonal_of(eq: Equation) -> tuple[Atom, int] | None:
    """``(d, n)`` when ``eq`` computes ``diag(d)`` as ``mul_sz(I, d)`` with ``d`` a vector, a row
    ``(1, n)`` or a column ``(n, 1)`` (``I[i, j]·d[j]`` and ``I[i, j]·d[i]`` are both diag(d))."""
    if eq.primitive is not mul_sz_p or not _is_identity(eq.inputs[0]):
        return None
    d = eq.inputs[1]
    n = eq.inputs[0].aval.shape[0]
    if tuple(d.aval.shape) in ((n,), (1, n), (n, 1)) and eq.outputs[0].aval.shape == (n, n):
        return d, n
    return None


@rewrites(mul_sz_p, matmul_p)
def diagonal_matmul_rule(eq: Equation, sw: Sweep) -> Any:
    """``matmul`` with a constant identity or a ``diag(d)`` operand becomes a scaling."""
    prim = eq.primitive
    if prim is mul_sz_p:
        found = _diagonal_of(eq)
        if found is not None:
            sw.diag[eq.outputs[0]] = found
        return eq
    if prim is not matmul_p:
        return eq
    a, b = eq.inputs
    res = eq.outputs[0]
    if _is_identity(a) and _same_aval(b, res):
        return (b,)
    if _is_identity(b) and _same_aval(a, res):
        return (a,)
    for side, other in ((a, b), (b, a)):
        hit = sw.diag.get(side) if isinstance(side, Var) else None
        if hit is None or len(other.aval.shape) != 2:
            continue
        d, n = hit
        left = side is a
        shape = (n, 1) if left else (1, n)
        if tuple(res.aval.shape) != tuple(other.aval.shape) or \
                np.result_type(d.aval.dtype, other.aval.dtype) != res.aval.dtype:
            continue
        if tuple(d.aval.shape) != shape:
            col = Var(ShapedArray(shape, d.aval.dtype))
            sw.push(Equation(reshape_p, (d,), (col,), {"new_shape": shape}),
                    sw.rules.index(diagonal_matmul_rule) + 1)
            d = sw.read(col)
        return Equation(mul_p, (d, other), eq.outputs, {})
    return eq


def diagonal_matmul(prog: Program) -> Program:
    """``matmul`` with a constant identity or a ``diag(d)`` operand becomes a scaling."""
    if not any(eq.primitive is matmul_p for eq in prog.equations):
        return prog  # nothing to rewrite: skip the rebuild
    return run_rules(prog, (diagonal_matmul_rule,))


@rewrites(*_ELEMENTWISE_BINARY)
def uniform_constant_rule(eq: Equation, sw: Sweep) -> Any:
    """A constant array with one repeated value becomes a 0-d scalar in an elementwise
    binary op whose other operand has the result's shape."""
    if eq.primitive not in _ELEMENTWISE_BINARY or len(eq.inputs) != 2:
        return eq
    a, b = eq.inputs
    if not (type(a) is Literal and isinstance(a.value, np.ndarray)) and \
            not (type(b) is Literal and isinstance(b.value, np.ndarray)):
        return eq  # only constant arrays (of one or more dimensions) can shrink
    ins = [a, b]
    res = eq.outputs[0]
    for i in (0, 1):
        if not (isinstance(ins[i], Literal) and isinstance(ins[i].value, np.ndarray)):
            continue
        v = _const_array(ins[i])
        other = ins[1 - i]
        if v is None or v.ndim == 0 or v.size == 0 or \
                tuple(other.aval.shape) != tuple(res.aval.shape):
            continue
        first = v.flat[0]
        if v.dtype.kind in "biufc" and bool(np.all(v == first)) \
                and not (isinstance(first, np.floating) and np.isnan(first)):
            # A NumPy scalar keeps its dtype in promotion (NEP 50), like the array did.
            ins[i] = Literal(v.dtype.type(first), ShapedArray((), v.dtype))
    if any(a is not b for a, b in zip(ins, eq.inputs, strict=True)):
        return Equation(eq.primitive, tuple(ins), eq.outputs, eq.params)
    return eq


def uniform_constants(prog: Program) -> Program:
    """Constant arrays with one repeated value become 0-d scalars in elementwise binary ops."""
    return run_rules(prog, (uniform_constant_rule,))


def _whole(idx: Any, shape: tuple[int, ...]) -> bool:
    if not isinstance(idx, tuple) or len(idx) > len(shape):
        return False
    for s, n in zip(idx, shape, strict=False):
        if not isinstance(s, slice) or s.step not in (None, 1):
            return False
        if s.start not in (None, 0) or (s.stop is not None and s.stop < n):
            return False
    return True


@rewrites(getitem_p)
def whole_slice_rule(eq: Equation, sw: Sweep) -> Any:
    """``x[0:n, :]`` that selects all of ``x`` is ``x`` itself."""
    if eq.primitive is getitem_p and isinstance(eq.inputs[0], Var) \
            and _whole(eq.params.get("idx"), tuple(eq.inputs[0].aval.shape)) \
            and _same_aval(eq.inputs[0], eq.outputs[0]):
        return (eq.inputs[0],)
    return eq


def whole_slices(prog: Program) -> Program:
    """``x[0:n, :]`` that selects all of ``x`` is ``x`` itself."""
    return run_rules(prog, (whole_slice_rule,))
