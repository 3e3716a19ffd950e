"""Op records for tensorcalc.scipy.linalg (issue 17, item 6): expm (and through it
expm_frechet), sqrtm (and sylvester), solve_sylvester, lu_factor and lu_solve,
solve_triangular, cho_solve, polar and block_diag, on single matrices, stacks and 1×1 / empty
edge cases."""

from __future__ import annotations

import numpy as np

import tensorcalc.scipy.linalg as tsl

from . import OpRecord


def _small(shape):
    return lambda rng: (0.5 * rng.standard_normal(shape),)


def _spd(n, batch=()):
    def make(rng):
        b = rng.standard_normal(batch + (n, n))
        return (b @ np.swapaxes(b, -1, -2) + n * np.eye(n),)

    return make


def _inv(n):
    return lambda rng: (rng.standard_normal((n, n)) + 3 * np.eye(n),)


def _lu_solve(trans, k=None):
    def fn(a, b):
        return tsl.lu_solve(tsl.lu_factor(a), b, trans=trans)

    def make(rng):
        b = rng.standard_normal((4,) if k is None else (4, k))
        return _inv(4)(rng) + (b,)

    return fn, make


RECORDS: list[OpRecord] = [
    OpRecord("expm", tsl.expm, _small((3, 3)), primitives=("expm", "expm_frechet")),
    OpRecord("expm_stack", tsl.expm, _small((2, 3, 3))),
    OpRecord("expm_1x1", tsl.expm, _small((1, 1))),
    OpRecord("expm_frechet", tsl.expm_frechet,
             lambda rng: _small((3, 3))(rng) + (rng.standard_normal((3, 3)),)),
    OpRecord("sqrtm", tsl.sqrtm, _spd(3), primitives=("sqrtm", "sylvester")),
    OpRecord("sqrtm_stack", tsl.sqrtm, _spd(2, (2,))),
    OpRecord("lu_factor", lambda a: tsl.lu_factor(a)[0], _inv(4), primitives=("lu_factor",)),
    OpRecord("lu_factor_stack", lambda a: tsl.lu_factor(a)[0],
             lambda rng: (rng.standard_normal((2, 3, 3)) + 3 * np.eye(3),)),
    OpRecord("lu_solve", *_lu_solve(0), primitives=("lu_solve",)),
    OpRecord("lu_solve_T", *_lu_solve(1)),
    OpRecord("lu_solve_matrix", *_lu_solve(0, 2)),
    OpRecord("lu_solve_T_matrix", *_lu_solve(1, 3)),
    OpRecord("solve_triangular_lower", lambda a, b: tsl.solve_triangular(a, b, lower=True),
             lambda rng: _inv(3)(rng) + (rng.standard_normal((3, 2)),)),
    OpRecord("solve_triangular_T_unit",
             lambda a, b: tsl.solve_triangular(a, b, trans="T", unit_diagonal=True),
             lambda rng: _inv(3)(rng) + (rng.standard_normal(3),)),
    OpRecord("cho_solve", lambda s, b: tsl.cho_solve(tsl.cho_factor(s), b),
             lambda rng: _spd(3)(rng) + (rng.standard_normal(3),)),
    OpRecord("cho_solve_lower", lambda s, b: tsl.cho_solve(tsl.cho_factor(s, lower=True), b),
             lambda rng: _spd(3)(rng) + (rng.standard_normal((3, 2)),)),
    OpRecord("solve_sylvester", tsl.solve_sylvester,
             lambda rng: (_inv(3)(rng)[0], _inv(2)(rng)[0], rng.standard_normal((3, 2))),
             primitives=("solve_sylvester",)),
    OpRecord("solve_sylvester_stack", tsl.solve_sylvester,
             lambda rng: (rng.standard_normal((2, 2, 2)) + 3 * np.eye(2), _inv(2)(rng)[0],
                          rng.standard_normal((2, 2)))),
    OpRecord("expm_frechet_stack_a", lambda a, e: tsl.expm_frechet(a, e, compute_expm=False),
             lambda rng: _small((2, 3, 3))(rng) + (rng.standard_normal((3, 3)),)),
    OpRecord("sylvester_stack_x", lambda s: tsl.sqrtm(s) @ np.ones((2, 2)), _spd(2, (3,))),
    OpRecord("lu_solve_stack_lu", lambda a, b: tsl.lu_solve(tsl.lu_factor(a), b),
             lambda rng: (rng.standard_normal((2, 3, 3)) + 3 * np.eye(3),
                          rng.standard_normal(3))),
    OpRecord("polar", tsl.polar, lambda rng: (rng.standard_normal((4, 3)),)),
    OpRecord("polar_left", lambda a: tsl.polar(a, "left"),
             lambda rng: (rng.standard_normal((3, 3)),)),
    OpRecord("block_diag", tsl.block_diag,
             lambda rng: (rng.standard_normal((2, 2)), rng.standard_normal(3), 2.0,
                          rng.standard_normal((0, 2)))),
]
