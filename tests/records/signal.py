"""Op records for tensorcalc.scipy.signal (issue 17, item 6): the full convolution primitive
through convolve and correlate in every mode, 0-d, 1-D, 2-D and 3-D, real and complex."""

from __future__ import annotations

import tensorcalc.scipy.signal as tss

from . import OpRecord

CASES = [((), ()), ((7,), (3,)), ((3,), (7,)), ((1,), (1,)), ((5, 4), (2, 3)),
         ((4, 3, 2), (2, 2, 2))]
RECORDS: list[OpRecord] = []
for s1, s2 in CASES:
    for mode in ("full", "same", "valid"):
        for name, fn in (("convolve", tss.convolve), ("correlate", tss.correlate)):
            RECORDS.append(OpRecord(
                f"{name}_{mode}{s1}{s2}",
                lambda a, b, f=fn, m=mode: f(a, b, mode=m),
                lambda rng, s1=s1, s2=s2: (rng.standard_normal(s1), rng.standard_normal(s2)),
                primitives=("conv_full",)))
RECORDS += [
    OpRecord("correlate_complex", lambda a, b: tss.correlate(a, b, mode="same"),
             lambda rng: (rng.standard_normal(5) + 1j * rng.standard_normal(5),
                          rng.standard_normal(3) + 1j * rng.standard_normal(3))),
    OpRecord("convolve2d_valid", lambda a, b: tss.convolve2d(a, b, mode="valid"),
             lambda rng: (rng.standard_normal((4, 5)), rng.standard_normal((2, 2)))),
    OpRecord("correlate2d_same", lambda a, b: tss.correlate2d(a, b, mode="same"),
             lambda rng: (rng.standard_normal((4, 5)), rng.standard_normal((3, 2)))),
]
