"""Every registered primitive is exercised by the op-record table: it appears in the program
of some record's function, of its linearization or of its reverse pass, or (for primitives that
cannot be staged, like lstsq) the record names it in ``primitives``."""

import warnings

import numpy as np

from tensorcalc.core.primitive import Primitive
from tests.records import all_records, staged_programs


def test_every_primitive_has_an_op_record():
    seen: set[str] = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rec in all_records():
            seen.update(rec.primitives)
            args = rec.args(np.random.default_rng(0))
            for make in staged_programs(rec, args):
                try:
                    seen.update(eq.primitive.name for eq in make().equations)
                except Exception:  # noqa: BLE001 (records that cannot be staged still count by tag)
                    continue
    registered = {name for name in Primitive.registry if not name.startswith("test_")}
    missing = sorted(registered - seen)
    assert not missing, (
        f"primitives with no row in tests/records/: {missing}. Add an OpRecord whose function "
        "uses each (check_grads then covers it to second order in both modes).")
