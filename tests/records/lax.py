"""Op records for the control-flow primitives of ``tensorcalc.lax``: ``scan`` (through
``scan``, ``fori_loop`` and ``map``), forward and reverse to second order."""

from __future__ import annotations

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
