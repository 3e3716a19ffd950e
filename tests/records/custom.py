"""Op records for the primitives behind user-supplied rules: ``custom_jvp_call``,
``custom_vjp_call`` with its ``custom_vjp_bwd`` (reverse mode only, as the API promises) and
``stop_gradient`` (used where it cannot change the derivative, so that central differences
still apply)."""

from __future__ import annotations

import tensorcalc as tc
import tensorcalc.numpy as tnp

from . import OpRecord


@tc.custom_jvp
def _sinh(x):
    return tnp.sinh(x)


@_sinh.defjvp
def _sinh_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _sinh(x), tnp.cosh(x) * t


@tc.custom_vjp
def _cube(x, y):
    return x ** 3 * y


def _cube_fwd(x, y):
    return x ** 3 * y, (x, y)


def _cube_bwd(res, g):
    x, y = res
    return 3 * x ** 2 * y * g, x ** 3 * g


_cube.defvjp(_cube_fwd, _cube_bwd)


def _n(*shapes):
    return lambda rng: tuple(rng.standard_normal(s) for s in shapes)


RECORDS = [
    OpRecord("custom_jvp sinh", lambda x: _sinh(x) * x, _n((3,))),
    OpRecord("custom_jvp scalar", _sinh, _n(())),
    OpRecord("custom_vjp cube", _cube, _n((3,), (3,)), modes=("rev",)),
    OpRecord("custom_vjp broadcast", lambda x, y: _cube(x, y) * 2.0, _n((2, 3), (2, 3)),
             modes=("rev",)),
    OpRecord("stop_gradient", lambda x: tnp.sin(x) * tc.stop_gradient(x * 0.0 + 2.0),
             _n((4,))),
]


