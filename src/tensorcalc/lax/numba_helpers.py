"""Scalar functions the Numba while loops of :mod:`tensorcalc.lax.while_numba` call.

They hold the loops' only branches: written inline (``a if p else b``) each would split the
generated function into more basic blocks, and Numba's compile time grows with blocks times
variables; as calls they are one instruction in the loop's bytecode, inlined by LLVM. Imported
only by generated code, so only when Numba is installed.
"""

from __future__ import annotations

import numba


@numba.njit(error_model="numpy")
def select(p, a, b):  # noqa: ANN001, ANN201  (Numba infers the types)
    """``a`` where ``p`` else ``b``: NumPy's ``where`` on scalars."""
    return a if p else b


@numba.njit(error_model="numpy")
def mul_sz(t, f):  # noqa: ANN001, ANN201
    """``t · f``, 0 where ``t == 0`` even when ``f`` is inf or NaN (the strong zero)."""
    return 0.0 if t == 0 else t * f


@numba.njit(error_model="numpy")
def div_sz(t, f):  # noqa: ANN001, ANN201
    """``t / f``, 0 where ``t == 0`` even when ``f`` is 0, inf or NaN (the strong zero)."""
    return 0.0 if t == 0 else t / f
