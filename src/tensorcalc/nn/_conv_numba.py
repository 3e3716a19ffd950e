"""Direct 2-D convolution loops for the shapes where im2col + GEMM is slow, compiled by numba.

With the batch innermost in memory (``nn/_layout.py``: ``x`` stored as ``(C, H, W, N)``), every
term of a convolution is a multiply-add of two runs of ``N`` contiguous entries, a vector loop:

* ``conv``:    ``y[o, i, j, :] = b[o] + Σ_{c, p, q} w[o, c, p, q] · x[c, s₀i + d₀p, s₁j + d₁q, :]``
* ``conv_dw``: ``w̄[o, c, p, q] = Σ_{i, j, n} ȳ[o, i, j, n] · x[c, s₀i + d₀p, s₁j + d₁q, n]``
* ``conv_dx``: ``x̄[c, s₀i + d₀p, s₁j + d₁q, :] += w[o, c, p, q] · ȳ[o, i, j, :]``

(``x`` padded, ``x̄`` the padded cotangent, cropped by the caller). im2col + GEMM does the same
multiply-adds, but when the GEMM's inner dimension is short — ``C·ΠK = 25`` for a 5×5 kernel on
one input channel, ``O = 16`` output channels for ``conv_dx`` — OpenBLAS runs far below its
peak and the column matrix (10 MB for LeNet's first layer) costs as much memory traffic as the
products. These loops keep one output run (``conv``), the ``ΠK`` partial sums of one
``(o, c)`` pair (``conv_dw``) or one input row (``conv_dx``) in L1 cache. The sums are in
another order than BLAS's (within a few ulp of it relative to the terms); ``_conv.py`` picks
them by shape (:func:`tensorcalc.nn._conv.direct_kernels`).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True, fastmath={"contract"}, error_model="numpy")


@_jit
def conv2d(xt: Any, w: Any, b: Any, out: Any, s0: int, s1: int, d0: int, d1: int) -> None:
    """``out (O, Ho, Wo, N) = conv(xt (C, Hp, Wp, N), w (O, C, K₀, K₁)) + b (O,)``."""
    o_n, ho, wo, n = out.shape
    c_n, k0, k1 = w.shape[1], w.shape[2], w.shape[3]
    acc = np.empty(n, out.dtype)
    for o in range(o_n):
        bias = b[o]
        for i in range(ho):
            for j in range(wo):
                for t in range(n):
                    acc[t] = bias
                for c in range(c_n):
                    for p in range(k0):
                        row = xt[c, s0 * i + d0 * p]
                        for q in range(k1):
                            wv = w[o, c, p, q]
                            src = row[s1 * j + d1 * q]
                            for t in range(n):
                                acc[t] += wv * src[t]
                dst = out[o, i, j]
                for t in range(n):
                    dst[t] = acc[t]


@_jit
def conv2d_dw(xt: Any, ct: Any, out: Any, s0: int, s1: int, d0: int, d1: int) -> None:
    """``out (O, C, K₀, K₁) = conv_dw(xt (C, Hp, Wp, N), ct (O, Ho, Wo, N))``."""
    o_n, ho, wo, n = ct.shape
    c_n, k0, k1 = out.shape[1], out.shape[2], out.shape[3]
    acc = np.empty((k0, k1, n), out.dtype)  # per kernel offset, N partial sums (vector lanes)
    for o in range(o_n):
        for c in range(c_n):
            acc[:] = 0.0
            for i in range(ho):
                crow = ct[o, i]
                for p in range(k0):
                    row = xt[c, s0 * i + d0 * p]
                    for j in range(wo):
                        g = crow[j]
                        for q in range(k1):
                            src = row[s1 * j + d1 * q]
                            a = acc[p, q]
                            for t in range(n):
                                a[t] += g[t] * src[t]
            for p in range(k0):
                for q in range(k1):
                    total = 0.0
                    for t in range(n):
                        total += acc[p, q, t]
                    out[o, c, p, q] = total


@_jit
def conv2d_dx(ct: Any, w: Any, dxp: Any, s0: int, s1: int, d0: int, d1: int) -> None:
    """``dxp (C, Hp, Wp, N) += conv_dx(ct (O, Ho, Wo, N), w (O, C, K₀, K₁))`` (``dxp`` zeroed)."""
    o_n, ho, wo, n = ct.shape
    c_n, k0, k1 = w.shape[1], w.shape[2], w.shape[3]
    for c in range(c_n):
        for o in range(o_n):
            for i in range(ho):
                crow = ct[o, i]
                for p in range(k0):
                    drow = dxp[c, s0 * i + d0 * p]
                    for j in range(wo):
                        src = crow[j]
                        for q in range(k1):
                            wv = w[o, c, p, q]
                            dst = drow[s1 * j + d1 * q]
                            for t in range(n):
                                dst[t] += wv * src[t]
