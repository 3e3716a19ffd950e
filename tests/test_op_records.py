"""Every op record: derivatives to second order in forward and reverse mode, checked against
central differences and the dot-product identity (``tensorcalc.check_grads``)."""

import zlib

import numpy as np
import pytest

import tensorcalc as tc
from tests.records import all_records

RECORDS = all_records()


@pytest.mark.parametrize("rec", RECORDS, ids=[r.id for r in RECORDS])
def test_op_record(rec):
    rng = np.random.default_rng(zlib.crc32(rec.id.encode()))  # stable across processes
    args = rec.args(rng)
    tc.check_grads(rec.fn, args, order=rec.order, modes=rec.modes, **rec.tol)


def test_record_ids_unique():
    ids = [r.id for r in RECORDS]
    assert len(ids) == len(set(ids))
