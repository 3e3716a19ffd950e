"""Op records for ``custom_linear_solve`` (``tensorcalc.lax``): a dense solve whose matrix is
closed over by ``matvec`` (derivatives through the matrix and ``b``), symmetric and with a
transposed solve, forward and reverse to second order."""

from __future__ import annotations

import numpy as np

import tensorcalc.lax as lax
import tensorcalc.numpy as tnp

from . import OpRecord


def _spd(rng):
    m = rng.standard_normal((3, 3))
    return m @ m.T + 3.0 * np.eye(3), rng.standard_normal(3)


def _general(rng):
    return rng.standard_normal((3, 3)) + 4.0 * np.eye(3), rng.standard_normal(3)


def _sym_solve(a, b):
    return lax.custom_linear_solve(lambda x: a @ x, b, lambda mv, r: tnp.linalg.solve(a, r),
                                   symmetric=True)


def _gen_solve(a, b):
    return lax.custom_linear_solve(
        lambda x: a @ x, b, lambda mv, r: tnp.linalg.solve(a, r),
        transpose_solve=lambda vm, r: tnp.linalg.solve(tnp.transpose(a), r))


RECORDS = [
    OpRecord("custom_linear_solve symmetric", _sym_solve, _spd,
             primitives=("custom_linear_solve",)),
    OpRecord("custom_linear_solve transpose_solve", _gen_solve, _general),
]
