"""Row kernels for ``softmax`` and ``softmax_tangent`` over the last axis, compiled by numba.

NumPy's float64 ``exp`` is a scalar libm loop on CPUs without AVX-512 (about 5–10 ns per
entry), and a softmax over rows costs four more array passes (max, subtract, sum, divide), each
a separate call with its own temporary. These kernels do one row at a time while it sits in L1
cache, with an ``exp`` written so that LLVM vectorizes it:

    eᵛ = 2ᵏ · eʳ,   k = round(v / ln 2),   r = v − k ln 2 ∈ [−ln 2 / 2, ln 2 / 2]

``k`` is rounded by the magic-number trick (adding 1.5·2⁵² leaves k in the low bits of the
sum), ``r`` is computed with ln 2 split in a high and a low part (Cody–Waite) so it is exact to
the last bit, ``eʳ`` is the degree-13 Taylor polynomial (truncation below 5·10⁻¹⁸ on that
range, Horner with fused multiply-adds), and ``2ᵏ`` is applied by adding ``k`` to the exponent
field of the polynomial's bits (a bit cast, :func:`_bits`/:func:`_float`, which LLVM does in
the vector registers), in two steps so that results below the normal range (``v < −708``) round
once to their subnormal; ``v < −746`` (a masked score, −∞) gives 0. The result is within 1 ulp
of the correctly rounded ``eᵛ`` (NumPy's is within 1 ulp too; the two agree bitwise on about
94% of entries). The row is then scaled by the reciprocal of its sum (one division per row),
so a softmax row is within a few ulp of NumPy's, inside 1e-15 relative.
Each kernel reads a row before it writes it, so ``out`` may be the input (jit runs them in
place on a dying operand).

A row with a NaN, +∞ or only −∞ entries gets NaN throughout, NumPy's value (and SciPy's).
``softmax_tangent``'s kernel is the row dot product ``d = Σ s t`` and then ``s ⊙ (t − d)``,
in the same order as the NumPy code; at the first row whose ``d`` is not finite it stops, and
the caller runs the masked NumPy rule on the rows left.

This module imports numba: :func:`tensorcalc.ops.softmax.row_kernels` imports it on the first
large softmax, when numba is installed and ``TENSORCALC_SOFTMAX`` is not ``numpy``; without
numba the NumPy code runs, unchanged. The kernels are cached on disk by numba.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 to 32 bits: k · _LN2_HI is exact for |k| < 2¹¹
_LN2_LO = 1.90821492927058770002e-10  # ln 2 − _LN2_HI
_MAGIC = 6755399441055744.0  # 1.5 · 2⁵²: v / ln 2 + _MAGIC rounds to an integer in the low bits
_MAGIC_BITS = int(np.float64(_MAGIC).view(np.int64))
_FLOOR = -746.0  # e^−746 rounds to 0: lower arguments (−∞ too) are clamped to it
_SHIFT = 1000  # the exponent is applied as 2^(k + _SHIFT) · 2^−_SHIFT (normal, then exact)
_UNSHIFT = 2.0 ** -_SHIFT
# 1/i! for the Taylor polynomial of eʳ, highest degree first.
_C13, _C12, _C11, _C10, _C9, _C8, _C7, _C6, _C5, _C4, _C3, _C2 = (
    1.0 / math.factorial(i) for i in range(13, 1, -1))


@intrinsic
def _bits(typingctx: Any, x: Any) -> Any:  # noqa: ARG001  (numba's intrinsic signature)
    """The int64 with the bits of the float64 ``x``."""
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:  # noqa: ARG001
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _float(typingctx: Any, i: Any) -> Any:  # noqa: ARG001
    """The float64 with the bits of the int64 ``i``."""
    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:  # noqa: ARG001
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


_jit = numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")
# (``contract`` only: fused multiply-adds, no reassociation, so NaN and order stay defined.)


@_jit
def exp_nonpositive(r: float) -> tuple[float, int]:
    """``(eʳ, k)`` for ``r ≤ 0`` (or NaN), by the scheme of the module docstring; ``k`` is the
    power of two applied, positive only for a NaN (LLVM inlines this into the loops)."""
    r = r if not r < _FLOOR else _FLOOR  # (a NaN stays NaN; −∞ becomes the floor: 0)
    t = r * _LOG2E + _MAGIC
    k = t - _MAGIC
    r = r - k * _LN2_HI - k * _LN2_LO
    p = _C13
    p = p * r + _C12
    p = p * r + _C11
    p = p * r + _C10
    p = p * r + _C9
    p = p * r + _C8
    p = p * r + _C7
    p = p * r + _C6
    p = p * r + _C5
    p = p * r + _C4
    p = p * r + _C3
    p = p * r + _C2
    p = p * r + 1.0
    p = p * r + 1.0
    ki = _bits(t) - _MAGIC_BITS
    # 2ᵏ in two steps, 2^(k + 1000) into the exponent field, then an exact multiply by
    # 2⁻¹⁰⁰⁰, so results below the normal range round once to their subnormal (or 0).
    return _float(_bits(p) + ((ki + _SHIFT) << 52)) * _UNSHIFT, ki


@_jit
def _exp_row(v: Any, m: float, out: Any) -> int:
    """``out = exp(v − m)`` for one row whose entries are ``≤ m``. Returns 1 if an entry is NaN
    (its ``k`` comes out positive), else 0."""
    n = v.shape[0]
    high = 0
    for j in range(n):
        e, ki = exp_nonpositive(v[j] - m)
        high = max(high, ki)
        out[j] = e
    return 1 if high > 0 else 0


@_jit
def _sum_row(o: Any) -> float:
    """``Σ o`` in eight lanes (two vector registers), added pairwise at the end: each lane sums
    an eighth of the row, so the rounding error stays near that of NumPy's pairwise sum."""
    n = o.shape[0]
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
    j = 0
    while j + 8 <= n:
        s0 += o[j]
        s1 += o[j + 1]
        s2 += o[j + 2]
        s3 += o[j + 3]
        s4 += o[j + 4]
        s5 += o[j + 5]
        s6 += o[j + 6]
        s7 += o[j + 7]
        j += 8
    tail = 0.0
    while j < n:
        tail += o[j]
        j += 1
    return (((s0 + s4) + (s1 + s5)) + ((s2 + s6) + (s3 + s7))) + tail


@_jit
def _nan_row(o: Any) -> None:
    for j in range(o.shape[0]):
        o[j] = np.nan


@_jit
def softmax_rows(x: Any, out: Any) -> None:
    """``out[i] = softmax(x[i])`` for each row of the C-contiguous float64 matrix ``x``
    (``out`` may be ``x``). A row with a NaN, +∞ or only −∞ gets NaN throughout, as NumPy's
    ``exp(x − max x) / Σ`` gives it."""
    rows, n = x.shape
    e = np.empty(n)  # the row's exponentials: ``out`` may alias ``x``, and LLVM vectorizes a
    # loop only where it can rule overlap out (a loop reading x[j] and writing out[j] in place
    # ran scalar, 2.4x slower)
    for i in range(rows):
        v, o = x[i], out[i]
        # The maximum in four lanes (vector registers). A NaN never wins a comparison; the
        # exp reports it (or the maximum is NaN, when it is the first entry).
        m0 = m1 = m2 = m3 = v[0]
        j = 0
        while j + 4 <= n:
            a, b, c, d = v[j], v[j + 1], v[j + 2], v[j + 3]
            m0, m1 = (a if a > m0 else m0), (b if b > m1 else m1)
            m2, m3 = (c if c > m2 else m2), (d if d > m3 else m3)
            j += 4
        while j < n:
            a = v[j]
            m0 = a if a > m0 else m0
            j += 1
        m = max(max(m0, m1), max(m2, m3))
        if not -math.inf < m < math.inf or _exp_row(v, m, e):
            _nan_row(o)
            continue
        # 1 ≤ s ≤ n (the maximum's own term is 1): one division per row, then products. A
        # division per entry was the vector divider's throughput (7% of the kernel); the
        # product's extra rounding keeps the row within 1e-15 of NumPy's (tests/test_softmax_rows).
        inv = 1.0 / _sum_row(e)
        for j in range(n):
            o[j] = e[j] * inv


@_jit
def softmax_tangent_rows(t: Any, s: Any, out: Any) -> int:
    """``out[i] = s[i] ⊙ (t[i] − Σ s[i] ⊙ t[i])`` for C-contiguous float64 matrices (``out``
    may be ``t`` or ``s``). Stops at the first row whose sum is not finite and returns its
    index, that row and the later ones unwritten; returns −1 when every row is done."""
    rows, n = t.shape
    u = np.empty(n)  # the row, then copied to ``out`` (which may alias t or s: see softmax_rows)
    for i in range(rows):
        ti, si, oi = t[i], s[i], out[i]
        d0 = d1 = d2 = d3 = 0.0
        j = 0
        while j + 4 <= n:
            d0 += si[j] * ti[j]
            d1 += si[j + 1] * ti[j + 1]
            d2 += si[j + 2] * ti[j + 2]
            d3 += si[j + 3] * ti[j + 3]
            j += 4
        while j < n:
            d0 += si[j] * ti[j]
            j += 1
        d = (d0 + d1) + (d2 + d3)
        if not (-math.inf < d < math.inf):
            return i
        for j in range(n):
            u[j] = (ti[j] - d) * si[j]
        for j in range(n):
            oi[j] = u[j]
    return -1
