"""Op records for prod, cumsum, cumprod, var, std, average, ptp, nansum, nanmean and
argmax/argmin (issue 3): axis as int, tuple and None, keepdims, and inputs with zeros."""

from __future__ import annotations

import numpy as np

import tensorcalc.numpy as tnp

from . import OpRecord


def _n(*shape):
    return lambda rng: (rng.standard_normal(shape),)


def _with_zeros(*shape, k=1):
    """Normal entries with ``k`` of them set to exactly 0."""

    def make(rng):
        x = rng.standard_normal(shape)
        flat = x.reshape(-1)
        flat[rng.choice(flat.size, k, replace=False)] = 0.0
        return (x,)

    return make


AXES = [((5,), None, False), ((2, 3), 0, False), ((2, 3), 1, True), ((2, 3, 4), (0, 2), False),
        ((2, 3, 4), -1, True), ((2, 3, 4), None, True)]

RECORDS: list[OpRecord] = []

for shape, axis, keep in AXES:
    tag = f"{shape}_ax{axis}_k{keep}"
    RECORDS += [
        OpRecord(f"prod{tag}", lambda x, a=axis, k=keep: tnp.prod(x, axis=a, keepdims=k),
                 _n(*shape), primitives=("reduce_prod",)),
        OpRecord(f"var{tag}", lambda x, a=axis, k=keep: tnp.var(x, axis=a, keepdims=k),
                 _n(*shape), primitives=("reduce_sum",)),
        OpRecord(f"std_ddof1{tag}",
                 lambda x, a=axis, k=keep: tnp.std(x, axis=a, ddof=1, keepdims=k),
                 _n(*shape), primitives=("sqrt", "select")),
        OpRecord(f"ptp{tag}", lambda x, a=axis, k=keep: tnp.ptp(x, axis=a, keepdims=k),
                 _n(*shape), primitives=("reduce_max", "reduce_min")),
        OpRecord(f"nansum{tag}", lambda x, a=axis, k=keep: tnp.nansum(x, axis=a, keepdims=k),
                 _n(*shape), primitives=("isnan", "select")),
        OpRecord(f"nanmean{tag}",
                 lambda x, a=axis, k=keep: tnp.nanmean(x, axis=a, keepdims=k),
                 _n(*shape), primitives=("isnan", "reduce_sum")),
    ]

for shape, axis in [((5,), 0), ((5,), None), ((2, 3), 0), ((2, 3), 1), ((2, 3, 4), -2),
                    ((2, 3), None)]:
    tag = f"{shape}_ax{axis}"
    RECORDS += [
        OpRecord(f"cumsum{tag}", lambda x, a=axis: tnp.cumsum(x, axis=a), _n(*shape),
                 primitives=("cumsum",)),
        OpRecord(f"cumprod{tag}", lambda x, a=axis: tnp.cumprod(x, axis=a), _n(*shape),
                 primitives=("cumprod",)),
    ]

RECORDS += [
    OpRecord("prod_one_zero", tnp.prod, _with_zeros(5, k=1), primitives=("reduce_prod",)),
    OpRecord("prod_two_zeros", tnp.prod, _with_zeros(5, k=2), primitives=("reduce_prod",)),
    OpRecord("prod_three_zeros", tnp.prod, _with_zeros(6, k=3), order=3,
             primitives=("reduce_prod",)),
    OpRecord("prod_zeros_axis", lambda x: tnp.prod(x, axis=1), _with_zeros(3, 4, k=3),
             primitives=("reduce_prod",)),
    OpRecord("prod_scalar", tnp.prod, lambda rng: (1.7,), primitives=("reduce_prod",)),
    OpRecord("prod_order3", tnp.prod, _n(4), order=3, primitives=("reduce_prod",)),
    OpRecord("cumprod_zeros", lambda x: tnp.cumprod(x, axis=1), _with_zeros(2, 6, k=3),
             primitives=("cumprod",)),
    OpRecord("cumprod_long", tnp.cumprod, _n(37), primitives=("cumprod",)),
    OpRecord("cumsum_dtype32", lambda x: tnp.cumsum(x, dtype=np.float32) * 1.0, _n(6),
             tol={"atol": 1e-2, "rtol": 1e-2, "eps": 1e-3}, primitives=("cumsum", "convert")),
    OpRecord("var_correction", lambda x: tnp.var(x, axis=0, correction=1), _n(4, 3),
             primitives=("reduce_sum",)),
    OpRecord("std_scalar_batch", lambda x: tnp.std(x, axis=-1), _n(3, 1, 5),
             primitives=("sqrt",)),
    OpRecord("average_plain", lambda x: tnp.average(x, axis=1), _n(3, 4),
             primitives=("reduce_sum",)),
    OpRecord("average_weights_1d",
             lambda x, w: tnp.average(x, axis=1, weights=w),
             lambda rng: (rng.standard_normal((3, 4)), rng.uniform(0.5, 2.0, 4)),
             primitives=("reduce_sum", "div")),
    OpRecord("average_weights_full_returned",
             lambda x, w: tnp.average(x, axis=(0, 1), weights=w, returned=True),
             lambda rng: (rng.standard_normal((2, 3)), rng.uniform(0.5, 2.0, (2, 3))),
             primitives=("reduce_sum", "div")),
    OpRecord("average_keepdims",
             lambda x, w: tnp.average(x, axis=0, weights=w, keepdims=True),
             lambda rng: (rng.standard_normal((4, 2)), rng.uniform(0.5, 2.0, 4)),
             primitives=("reduce_sum", "div")),
    OpRecord("argmax_argmin", lambda x: x * tnp.argmax(x) + x * tnp.argmin(x, axis=0)[0],
             _n(4, 3), primitives=("argmax", "argmin")),
    OpRecord("argmax_keepdims", lambda x: x * tnp.argmax(x, axis=1, keepdims=True), _n(2, 5),
             primitives=("argmax",)),
]
