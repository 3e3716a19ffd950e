"""Op records for tensorcalc.scipy.special (issue 3): erf, erfc, gammaln, digamma, polygamma,
expit, logit, xlogy, xlog1py, logsumexp (with b, axis, keepdims, return_sign), softmax and
log_softmax."""

from __future__ import annotations

import numpy as np

import tensorcalc.numpy as tnp
import tensorcalc.scipy.special as tsp

from . import OpRecord

SHAPES = [(), (4,), (2, 3)]


def _u(lo, hi):
    return lambda shape: lambda rng: (rng.uniform(lo, hi, shape),)


def _n(shape):
    return lambda rng: (rng.standard_normal(shape),)


def _gamma_domain(shape):
    # Positive arguments and negative ones between the poles (−2.7 … −2.3).
    def make(rng):
        x = rng.uniform(0.3, 4.0, shape)
        neg = rng.uniform(-2.7, -2.3, shape)
        return (np.where(rng.random(shape) < 0.3, neg, x),)

    return make


UNARY = [
    ("erf", tsp.erf, _n, "erf"),
    ("erfc", tsp.erfc, _n, "erfc"),
    ("gammaln", tsp.gammaln, _gamma_domain, "gammaln"),
    ("digamma", tsp.digamma, _gamma_domain, "polygamma"),
    ("psi", tsp.psi, _u(0.5, 3.0), "polygamma"),
    ("polygamma1", lambda x: tsp.polygamma(1, x), _u(0.5, 3.0), "polygamma"),
    ("polygamma3", lambda x: tsp.polygamma(3, x), _u(0.5, 3.0), "polygamma"),
    ("expit", tsp.expit, lambda s: lambda rng: (4.0 * rng.standard_normal(s),), "expit"),
    ("logit", tsp.logit, _u(0.1, 0.9), "log1p"),
]

RECORDS: list[OpRecord] = []

for name, fn, make, prim in UNARY:
    for shape in SHAPES:
        RECORDS.append(OpRecord(f"{name}{shape}", fn, make(shape), primitives=(prim,)))


def _xy(s1, s2, zeros=False):
    def make(rng):
        x = rng.standard_normal(s1)
        if zeros and x.size:
            x.reshape(-1)[0] = 0.0  # the derivative at x = 0 is log(y), not the value's 0
        return x, rng.uniform(0.3, 2.0, s2)

    return make


for s1, s2 in [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((4, 1), (1, 3))]:
    tag = f"{s1}x{s2}"
    RECORDS += [
        OpRecord(f"xlogy{tag}", tsp.xlogy, _xy(s1, s2, zeros=True), primitives=("xlogy",)),
        OpRecord(f"xlog1py{tag}", tsp.xlog1py, _xy(s1, s2, zeros=True),
                 primitives=("xlog1py",)),
    ]

for shape, axis, keep in [((5,), None, False), ((2, 3), 0, False), ((2, 3), 1, True),
                          ((2, 3, 4), (0, 2), False), ((2, 3, 4), -1, True), ((), None, False)]:
    tag = f"{shape}_ax{axis}_k{keep}"
    RECORDS += [
        OpRecord(f"logsumexp{tag}",
                 lambda x, a=axis, k=keep: tsp.logsumexp(x, axis=a, keepdims=k),
                 _n(shape), primitives=("logsumexp",)),
        OpRecord(f"logsumexp_b{tag}",
                 lambda x, b, a=axis, k=keep: tsp.logsumexp(x, axis=a, b=b, keepdims=k),
                 lambda rng, s=shape: (rng.standard_normal(s), rng.uniform(0.5, 2.0, s)),
                 primitives=("exp", "log")),
    ]

for shape, axis in [((5,), None), ((2, 3), 0), ((2, 3), 1), ((2, 3, 4), (1, 2)), ((3,), -1)]:
    tag = f"{shape}_ax{axis}"
    RECORDS += [
        OpRecord(f"softmax{tag}", lambda x, a=axis: tsp.softmax(x, axis=a), _n(shape),
                 primitives=("softmax",)),
        OpRecord(f"log_softmax{tag}", lambda x, a=axis: tsp.log_softmax(x, axis=a), _n(shape),
                 primitives=("log_softmax",)),
    ]

RECORDS += [
    OpRecord("logsumexp_large", lambda x: tsp.logsumexp(x, axis=1),
             lambda rng: (800.0 + rng.standard_normal((2, 3)),), primitives=("logsumexp",)),
    OpRecord("logsumexp_signed_b",
             lambda x, b: tsp.logsumexp(x, b=b, return_sign=True)[0],
             lambda rng: (rng.standard_normal(4), np.array([1.0, -0.5, 2.0, -0.2])),
             primitives=("exp", "log", "abs")),
    OpRecord("softmax_order3", lambda x: tsp.softmax(x), _n((4,)), order=3,
             primitives=("softmax",)),
    # softmax_tangent's row dot product as a stacked matmul (a single trailing axis), and the
    # attention pattern around it: scores from a batched matmul, a weighted sum after.
    OpRecord("softmax_last_axis_3d", lambda x: tsp.softmax(x, axis=-1), _n((2, 3, 4)),
             primitives=("softmax", "softmax_tangent")),
    OpRecord("softmax_attention",
             lambda q, k, v: tnp.sum(tsp.softmax(q @ tnp.swapaxes(k, -1, -2) / 2.0, axis=-1) @ v),
             lambda rng: tuple(rng.standard_normal((2, 3, 2)) for _ in range(3)),
             primitives=("softmax", "softmax_tangent", "matmul")),
    OpRecord("softmax_cross_entropy",
             lambda z, y: -(y * tsp.log_softmax(z, axis=-1)).sum(),
             lambda rng: (rng.standard_normal((3, 4)), np.eye(4)[[0, 3, 1]]),
             primitives=("log_softmax",)),
]
