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

A pass never changes a result's shape or dtype; each returns a new Program.
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


def _substitute(prog: Program, subst: dict[int, Atom], eqs: list[Equation]) -> Program:
    """Rebuild with ``subst`` applied to every input and output (chains resolved)."""
    def read(a: Atom) -> Atom:
        while isinstance(a, Var) and id(a) in subst:
            a = subst[id(a)]
        return a

    if not subst:
        return Program(prog.inputs, eqs, list(prog.outputs))
    out = [e if not any(isinstance(a, Var) and id(a) in subst for a in e.inputs)
           else Equation(e.primitive, tuple(read(a) for a in e.inputs), e.outputs, e.params)
           for e in eqs]
    return Program(prog.inputs, out, [read(a) for a in prog.outputs])


def strong_zero_simplification(prog: Program) -> Program:
    """``mul_sz``/``div_sz`` with a constant operand become ``mul``/``div`` (or vanish)."""
    subst: dict[int, Atom] = {}
    eqs: list[Equation] = []
    for eq in prog.equations:
        if eq.primitive is mul_sz_p:
            t, f = eq.inputs
            if _all_equal(t, 1.0) and _same_aval(f, eq.outputs[0]):
                subst[id(eq.outputs[0])] = f  # 1·f = f, and 1 is never a zero
                continue
            if _finite(f) or _nonzero(t):
                eq = Equation(mul_p, eq.inputs, eq.outputs, {})
        elif eq.primitive is div_sz_p:
            t, f = eq.inputs
            if _finite(f) and _nonzero(f):
                eq = Equation(div_p, eq.inputs, eq.outputs, {})
        eqs.append(eq)
    return _substitute(prog, subst, eqs)


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


def diagonal_matmul(prog: Program) -> Program:
    """``matmul`` with a constant identity or a ``diag(d)`` operand becomes a scaling."""
    if not any(eq.primitive is matmul_p for eq in prog.equations):
        return prog  # nothing to rewrite: skip the rebuild
    diag: dict[int, tuple[Atom, int]] = {}
    subst: dict[int, Atom] = {}
    eqs: list[Equation] = []

    def read(a: Atom) -> Atom:
        while isinstance(a, Var) and id(a) in subst:
            a = subst[id(a)]
        return a

    for eq in prog.equations:
        if subst and any(isinstance(a, Var) and id(a) in subst for a in eq.inputs):
            eq = Equation(eq.primitive, tuple(read(a) for a in eq.inputs), eq.outputs,
                          eq.params)
        found = _diagonal_of(eq)
        if found is not None:
            diag[id(eq.outputs[0])] = found
        if eq.primitive is matmul_p:
            a, b = eq.inputs
            res = eq.outputs[0]
            if _is_identity(a) and _same_aval(b, res):
                subst[id(res)] = b
                continue
            if _is_identity(b) and _same_aval(a, res):
                subst[id(res)] = a
                continue
            for side, other in ((a, b), (b, a)):
                hit = diag.get(id(side)) if isinstance(side, Var) else None
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
                    eqs.append(Equation(reshape_p, (d,), (col,), {"new_shape": shape}))
                    d = col
                eq = Equation(mul_p, (d, other), eq.outputs, {})
                break
        eqs.append(eq)
    return _substitute(prog, subst, eqs)


def uniform_constants(prog: Program) -> Program:
    """Constant arrays with one repeated value become 0-d scalars in elementwise binary ops."""
    eqs: list[Equation] = []
    for eq in prog.equations:
        if eq.primitive in _ELEMENTWISE_BINARY and len(eq.inputs) == 2:
            ins = list(eq.inputs)
            res = eq.outputs[0]
            for i in (0, 1):
                if not (isinstance(ins[i], Literal) and isinstance(ins[i].value, np.ndarray)):
                    continue  # only constant arrays (of one or more dimensions) can shrink
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
                eq = Equation(eq.primitive, tuple(ins), eq.outputs, eq.params)
        eqs.append(eq)
    return Program(prog.inputs, eqs, prog.outputs)


def _whole(idx: Any, shape: tuple[int, ...]) -> bool:
    if not isinstance(idx, tuple) or len(idx) > len(shape):
        return False
    for s, n in zip(idx, shape, strict=False):
        if not isinstance(s, slice) or s.step not in (None, 1):
            return False
        if s.start not in (None, 0) or (s.stop is not None and s.stop < n):
            return False
    return True


def whole_slices(prog: Program) -> Program:
    """``x[0:n, :]`` that selects all of ``x`` is ``x`` itself."""
    subst: dict[int, Atom] = {}
    eqs: list[Equation] = []
    for eq in prog.equations:
        if eq.primitive is getitem_p and isinstance(eq.inputs[0], Var) \
                and _whole(eq.params.get("idx"), tuple(eq.inputs[0].aval.shape)) \
                and _same_aval(eq.inputs[0], eq.outputs[0]):
            subst[id(eq.outputs[0])] = eq.inputs[0]
            continue
        eqs.append(eq)
    return _substitute(prog, subst, eqs)
