"""Op records for the SciPy-valued special functions (issue 17, item 6): gamma, gammasgn,
beta, betaln, ndtr, log_ndtr, ndtri, erfinv, erfcinv, erfcx, dawsn, log_expit, Bessel
i0/i1/i0e/i1e, entr, kl_div, rel_entr, zeta (in q), exp1, expi, gammainc/gammaincc (in x),
betainc (in x) and the composites multigammaln, factorial, poch, boxcox, boxcox1p. Shapes
include 0-d, empty and broadcasting. Their values come from SciPy (a test dependency)."""

from __future__ import annotations

import numpy as np

import tensorcalc.scipy.special as tsp

from . import OpRecord

SHAPES = [(), (4,), (2, 3), (0,)]


def _u(lo, hi, n=1):
    return lambda shape: lambda rng: tuple(rng.uniform(lo, hi, shape) for _ in range(n))


def _n(scale=1.0):
    return lambda shape: lambda rng: (scale * rng.standard_normal(shape),)


UNARY = [
    ("gamma", tsp.gamma, _u(0.3, 3.0), "gamma"),
    ("gamma_neg", tsp.gamma, _u(-1.8, -1.2), "gamma"),
    ("gammasgn", lambda x: tsp.gammasgn(x) * x, _u(-1.8, 2.0), "gammasgn"),
    ("ndtr", tsp.ndtr, _n(2.0), "ndtr"),
    ("log_ndtr", tsp.log_ndtr, _n(4.0), "log_ndtr"),
    ("ndtri", tsp.ndtri, _u(0.05, 0.95), "ndtri"),
    ("erfinv", tsp.erfinv, _u(-0.9, 0.9), "erfinv"),
    ("erfcinv", tsp.erfcinv, _u(0.1, 1.9), "erfcinv"),
    ("erfcx", tsp.erfcx, _n(), "erfcx"),
    ("dawsn", tsp.dawsn, _n(), "dawsn"),
    ("log_expit", tsp.log_expit, _n(3.0), "log_expit"),
    ("i0", tsp.i0, _n(2.0), "bessel_i0"),
    ("i1", tsp.i1, _n(2.0), "bessel_i1"),
    ("i0e", tsp.i0e, _n(2.0), "bessel_i0e"),
    ("i1e", tsp.i1e, _n(2.0), "bessel_i1e"),
    ("entr", tsp.entr, _u(0.2, 2.0), "entr"),
    ("exp1", tsp.exp1, _u(0.3, 3.0), "exp1"),
    ("expi", tsp.expi, _u(0.3, 3.0), "expi"),
    ("zeta_q", lambda q: tsp.zeta(3.0, q), _u(0.5, 3.0), "zeta"),
    ("gammainc_x", lambda x: tsp.gammainc(2.5, x), _u(0.3, 4.0), "gammainc"),
    ("gammaincc_x", lambda x: tsp.gammaincc(1.5, x), _u(0.3, 4.0), "gammaincc"),
    ("betainc_x", lambda x: tsp.betainc(2.5, 1.5, x), _u(0.1, 0.9), "betainc"),
    ("multigammaln", lambda a: tsp.multigammaln(a, 3), _u(2.0, 5.0), "gammaln"),
    ("factorial", tsp.factorial, _u(0.2, 4.0), "gamma"),
]

BINARY = [
    ("beta", tsp.beta, "beta"),
    ("betaln", tsp.betaln, "betaln"),
    ("kl_div", tsp.kl_div, "kl_div"),
    ("rel_entr", tsp.rel_entr, "rel_entr"),
    ("poch", tsp.poch, "gamma"),
]

RECORDS: list[OpRecord] = []
for name, fn, make, prim in UNARY:
    for shape in SHAPES:
        RECORDS.append(OpRecord(f"sp_{name}{shape}", fn, make(shape), primitives=(prim,)))

for name, fn, prim in BINARY:
    for s1, s2 in [((), ()), ((4,), (4,)), ((2, 3), (3,)), ((0,), ())]:
        RECORDS.append(OpRecord(
            f"sp_{name}{s1}{s2}", fn,
            lambda rng, s1=s1, s2=s2: (rng.uniform(0.4, 2.5, s1), rng.uniform(0.4, 2.5, s2)),
            primitives=(prim,)))

for shape in [(), (3,)]:
    RECORDS += [
        OpRecord(f"sp_boxcox{shape}", tsp.boxcox,
                 lambda rng, s=shape: (rng.uniform(0.5, 2.0, s), rng.uniform(-1.0, 1.0, s))),
        OpRecord(f"sp_boxcox1p{shape}", tsp.boxcox1p,
                 lambda rng, s=shape: (rng.uniform(0.1, 2.0, s), rng.uniform(-1.0, 1.0, s))),
    ]

MORE = [
    ("spence", tsp.spence, _u(0.3, 2.0), "spence"),
    ("expn", lambda x: tsp.expn(np.array(2), x), _u(0.3, 2.0), "expn"),
    ("expn0", lambda x: tsp.expn(0, x), _u(0.3, 2.0), "expn"),
    ("si", lambda x: tsp.sici(x)[0], _n(2.0), "sici_si"),
    ("ci", lambda x: tsp.sici(x)[1], _u(0.3, 3.0), "sici_ci"),
    ("fresnel", tsp.fresnel, _n(), "fresnel_s"),
    ("owens_t_h", lambda h: tsp.owens_t(h, 0.7), _n(), "owens_t"),
    ("hyp1f1", lambda x: tsp.hyp1f1(1.5, 2.5, x), _n(), "hyp1f1"),
    ("hyp2f1", lambda x: tsp.hyp2f1(0.5, 1.5, 2.5, x), _u(-0.5, 0.8), "hyp2f1"),
    ("comb", lambda k: tsp.comb(6.5, k), _u(0.5, 5.0), "gammaln"),
]
for name, fn, make, prim in MORE:
    for shape in SHAPES:
        RECORDS.append(OpRecord(f"sp_{name}{shape}", fn, make(shape), primitives=(prim,)))

RECORDS += [
    OpRecord("sp_owens_t", tsp.owens_t,
             lambda rng: (rng.standard_normal(3), rng.uniform(0.2, 1.5, 3)),
             primitives=("owens_t",)),
    OpRecord("sp_wofz", tsp.wofz, lambda rng: (rng.standard_normal(3) + 1j * rng.uniform(
        0.1, 1.0, 3),), primitives=("wofz",)),
]
