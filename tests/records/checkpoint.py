"""Op records for rematerialization: ``checkpoint`` (its reverse pass stages
``checkpoint_lin``), the ``dots_saveable`` and ``save_only_these_names`` policies with the
``checkpoint_name`` marker, and checkpointed scans (nested segments; revolve, whose reverse pass
stages ``revolve_lin`` and ``revolve_bwd``)."""

from __future__ import annotations

import tensorcalc as tc
import tensorcalc.lax as lax
import tensorcalc.numpy as tnp

from . import OpRecord


def _block(x, w):
    h = tc.checkpoint_name(tnp.tanh(w @ x), "h")
    return tnp.sin(h) * x


def _n(*shapes):
    return lambda rng: tuple(rng.standard_normal(s) * 0.7 for s in shapes)


RECORDS = [
    OpRecord("checkpoint", tc.checkpoint(_block), _n((3,), (3, 3)),
             primitives=("checkpoint", "checkpoint_lin", "checkpoint_name")),
    OpRecord("checkpoint dots", tc.checkpoint(_block, tc.checkpoint_policies.dots_saveable),
             _n((3,), (3, 3))),
    OpRecord("checkpoint names",
             tc.checkpoint(_block, tc.checkpoint_policies.save_only_these_names("h")),
             _n((3,), (3, 3))),
    OpRecord("scan sqrt checkpoint",
             lambda h0, xs: lax.scan(lambda c, x: (tnp.sin(c) * x, c * x), h0, xs,
                                     checkpoint="sqrt"), _n((2,), (5, 2))),
    OpRecord("scan revolve checkpoint",
             lambda h0, xs: lax.scan(lambda c, x: (tnp.sin(c) * x, c * x), h0, xs,
                                     checkpoint=("revolve", 1)), _n((2,), (5, 2)),
             primitives=("revolve_scan", "revolve_lin", "revolve_bwd")),
]
