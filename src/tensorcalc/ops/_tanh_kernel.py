"""jit's float64 ``tanh``: a branch-free formula that LLVM vectorizes, compiled by numba.

NumPy's float64 ``tanh`` is a scalar loop on CPUs without AVX-512 (16–20 ns per entry on
AVX2, where ``exp`` takes 6), and an MLP with tanh activations spends most of its time in it.
XLA (JAX) has its own vectorized ``tanh`` (about 1.5 ns per entry here, within 4 ulp of
NumPy's); this is ours, within 2 ulp of NumPy's and 1.6 of the exact value:

    |x| < 0.625:  tanh x = x + x·z·P(z)/Q(z),   z = x²     (Cephes' rational approximation,
                                                            relative error below 2.5·10⁻¹⁶)
    |x| ≥ 0.625:  tanh |x| = (1 − e)/(1 + e),    e = e^(−2|x|) ∈ [0, 0.29]

with ``e`` from the softmax kernels' exponential (:func:`._softmax_rows.exp_nonpositive`,
within 1 ulp). On the second branch an error ε in ``e`` moves the quotient by at most
``2eε/((1 − e)(1 + e)) ≤ 0.63 ε`` relative, so the two roundings of the quotient dominate. Both
branches are computed and one is selected, so the loop has no branch and runs four entries per
instruction; for ``|x| ≥ 373`` the exponential underflows to 0 and the result is ±1 exactly,
as NumPy's. ``±0`` keeps its sign, subnormals are returned as they are (``tanh x = x`` below
the first rounding), ``±∞`` gives ±1 and NaN gives NaN.

The choice is jit's, not eager evaluation's: ``tensorcalc.numpy.tanh`` on arrays is NumPy's,
and ``jit`` runs this kernel for float64 ``tanh`` of at least
:data:`~tensorcalc.ops.elementwise.TANH_KERNEL_FROM` entries (:func:`tanh_into`; a choice by
shape alone, so a program of small arrays never starts numba). Such a ``tanh`` is never fused
into a loop (it is one vectorized pass already), so a compiled function gives the same bits
before and after tiered fusion. ``jit(f, fuse=False)`` (NumPy's code throughout) and
``TENSORCALC_TANH=numpy`` keep NumPy's ``tanh`` under jit too. Imported by
:func:`tensorcalc.ops.elementwise.jit_tanh` only when numba is installed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._softmax_rows import _jit, exp_nonpositive

# Cephes' tanh.c: P(z) and Q(z) (Q monic), highest degree first.
_P0, _P1, _P2 = -9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3
_Q0, _Q1, _Q2 = 1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3
_SPLIT = 0.625


@_jit
def tanh64(x: float) -> float:
    """``tanh x`` for a float64 ``x`` (module docstring)."""
    ax = abs(x)
    z = x * x
    small = x + x * (z * (((_P0 * z + _P1) * z + _P2) / (((z + _Q0) * z + _Q1) * z + _Q2)))
    e, _ = exp_nonpositive(-2.0 * ax)
    big = (1.0 - e) / (1.0 + e)
    big = big if x > 0 else -big
    r = big if ax >= _SPLIT else small  # a NaN takes the first branch: x + … is NaN
    return r if ax != 0.0 else x  # ±0 (the first branch gives +0 for −0)


@_jit
def _tanh_flat(a: Any, out: Any) -> None:
    """``out = tanh(a)`` for C-contiguous arrays of one shape (any number of axes) that do not
    overlap (LLVM checks that at run time and otherwise runs a scalar loop)."""
    a1, o1 = a.reshape(a.size), out.reshape(out.size)
    for i in range(a1.shape[0]):
        o1[i] = tanh64(a1[i])


@_jit
def _tanh_in_place(a: Any) -> None:
    """``a = tanh(a)``: one array, so the loop vectorizes (the two-array loop on the same
    memory fails LLVM's overlap check and runs scalar, 5x slower: measured)."""
    a1 = a.reshape(a.size)
    for i in range(a1.shape[0]):
        a1[i] = tanh64(a1[i])


def tanh_into(x: Any, out: np.ndarray | None = None) -> Any:
    """``tanh(x)`` for float64 ``x`` by :func:`tanh64`, written into ``out`` when given (a
    float64 array of ``x``'s shape, possibly ``x`` itself)."""
    if type(x) is not np.ndarray or not x.flags.c_contiguous or x.ndim == 0:
        x = np.asarray(x)
        if x.ndim == 0:  # a NumPy scalar, as a ufunc gives
            r = np.float64(tanh64(float(x)))
            return r if out is None else _copied(r, out)
        x = np.ascontiguousarray(x)  # any strides: copied once (jit's buffers are contiguous)
    if out is None:
        out = np.empty(x.shape, np.float64)
    elif not out.flags.c_contiguous:
        return _copied(tanh_into(x), out)
    if out is x or out.ctypes.data == x.ctypes.data:  # in place (jit's dying operand)
        _tanh_in_place(out)
    else:
        _tanh_flat(x, out)
    return out


def _copied(r: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.copyto(out, r)
    return out


tanh_into.signature = None  # type: ignore[attr-defined]  # elementwise: may run in place
tanh_into.jit_name = "_tanh64"  # type: ignore[attr-defined]  # its name in generated code

numpy_out = tanh_into  # the name compile/buffers.numpy_call_of reads
