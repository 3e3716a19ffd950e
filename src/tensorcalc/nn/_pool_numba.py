"""The cotangent of 2-D max-pooling over tiling windows in one pass, compiled by numba.

With the batch innermost in memory (``nn/_layout.py``: ``x`` stored as ``(C, H, W, N)``) and
windows that tile the input (stride = kernel ``(K₀, K₁)``, no padding), output position
``(c, i, j)`` owns the input block ``x[c, K₀i : K₀i + K₀, K₁j : K₁j + K₁, :]`` alone. For each
block the loop

* counts the tied maxima ``count = Σ_{p,q} [x[c, K₀i + p, K₁j + q] = y[c, i, j]]`` (a run of
  ``N`` counts, one per image),
* divides ``share = ȳ[c, i, j] / count``,
* and writes ``x̄[c, K₀i + p, K₁j + q] = share`` where the entry is a maximum, ``0`` elsewhere,

so every entry of ``x̄`` is written once and the tie masks never reach memory. NumPy's version
(``_pool._scatter_tiled``) makes the same comparisons, the same sums of ones and the same
division, in five passes over the input with a temporary per pass: the results are the same
bits (up to the sign of a zero off the maxima, which this loop writes as ``+0``, as the select
``np.where`` does). ``count`` is 0 only where ``y`` is NaN; then no entry is a maximum and the
block is 0, as NumPy's select gives.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")


@_jit
def max_pool2d_scatter(xt: Any, yt: Any, ct: Any, out: Any, k0: int, k1: int) -> None:
    """``out (C, H, W, N) = pool_scatter(ct, xt (C, H, W, N), yt (C, H/K₀, W/K₁, N))``;
    ``ct`` is indexed like ``yt`` (any strides)."""
    c_n, ho, wo, n = yt.shape
    share = np.empty(n, out.dtype)
    for c in range(c_n):
        for i in range(ho):
            for j in range(wo):
                yv = yt[c, i, j]
                for t in range(n):
                    share[t] = 0.0
                for p in range(k0):
                    for q in range(k1):
                        xv = xt[c, k0 * i + p, k1 * j + q]
                        for t in range(n):
                            share[t] += 1.0 if xv[t] == yv[t] else 0.0
                g = ct[c, i, j]
                for t in range(n):
                    share[t] = g[t] / share[t]
                for p in range(k0):
                    for q in range(k1):
                        xv = xt[c, k0 * i + p, k1 * j + q]
                        dst = out[c, k0 * i + p, k1 * j + q]
                        for t in range(n):
                            dst[t] = share[t] if xv[t] == yv[t] else 0.0
