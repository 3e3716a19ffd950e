"""Op records for the control-flow primitives of ``tensorcalc.lax``: ``scan`` (through
``scan``, ``fori_loop`` and ``map``) and ``cond`` (through ``cond`` and ``switch``), forward
and reverse to second order; ``while`` forward only (reverse mode is undefined for it, as in
JAX). An eager ``cond`` with a concrete predicate just calls a branch,
so the cond rows evaluate a staged program, which binds the primitive itself."""

from __future__ import annotations

import numpy as np

import tensorcalc as tc
import tensorcalc.lax as lax
import tensorcalc.numpy as tnp

from . import OpRecord


def _rnn(w, h0, xs):
    h, ys = lax.scan(lambda h, x: (tnp.tanh(w @ h + x), tnp.sin(h)), h0, xs)
    return h, ys


def _n(*shapes):
    return lambda rng: tuple(rng.standard_normal(s) * 0.7 for s in shapes)


RECORDS = [
    OpRecord("scan rnn", _rnn, _n((3, 3), (3,), (4, 3)), primitives=("scan",)),
    OpRecord("scan reverse", lambda h0, xs: lax.scan(lambda c, x: (c * tnp.cos(x), c + x), h0,
                                                     xs, reverse=True), _n((2,), (3, 2))),
    OpRecord("fori_loop", lambda x: lax.fori_loop(0, 3, lambda i, v: tnp.sin(v) * 1.5 + i, x),
             _n((3,))),
    OpRecord("map", lambda xs: lax.map(lambda x: tnp.exp(x) * x[0], xs), _n((3, 2))),
]


def _branchy(x, a):
    return lax.cond(tnp.sum(x) > 0, lambda x, a: tnp.sin(x) * a, lambda x, a: tnp.exp(x) + a,
                    x, a)


_COND = tc.trace(_branchy, tc.ShapeDtype((3,)), tc.ShapeDtype((3,)))
_SWITCH = tc.trace(lambda i, x: lax.switch(i, [tnp.sin, tnp.cos, lambda x: x ** 3], x),
                   np.int64(0), tc.ShapeDtype((2,)))

RECORDS += [
    OpRecord("cond", lambda x, a: _COND(x, a)[0], _n((3,), (3,)), primitives=("cond",)),
    OpRecord("cond false", lambda x, a: _COND(-tnp.abs(x), a)[0], _n((3,), (3,))),
    OpRecord("switch", lambda x: _SWITCH(np.int64(1), x)[0] + _SWITCH(np.int64(2), x)[0],
             _n((2,))),
]

_WHILE = tc.trace(lambda x: lax.while_loop(lambda c: c[1] < 3,
                                           lambda c: (tnp.sin(c[0]) * 1.2, c[1] + 1), (x, 0))[0],
                  tc.ShapeDtype((3,)))

RECORDS += [
    OpRecord("while_loop", lambda x: _WHILE(x)[0], _n((3,)), modes=("fwd",),
             primitives=("while",)),
]
