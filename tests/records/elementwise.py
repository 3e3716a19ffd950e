"""Op records for the floating-point ufuncs (issue 3): every unary ufunc on a scalar, a vector
and a matrix inside its domain; binary ufuncs on broadcasting shape pairs; rounding and
predicates combined with a differentiable part; clip with scalar and array bounds."""

from __future__ import annotations

import numpy as np

import tensorcalc.numpy as tnp

from . import OpRecord

SHAPES = [(), (4,), (2, 3)]
PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (3,)), ((4, 1), (1, 3)), ((), (2, 2))]


def _u(lo, hi, signed=False):
    """Arguments uniform in [lo, hi] (and of random sign with ``signed``)."""

    def make(shape):
        def args(rng):
            x = rng.uniform(lo, hi, shape)
            if signed:
                x = x * rng.choice([-1.0, 1.0], shape)
            return (x,)

        return args

    return make


def _n(shape):
    return lambda rng: (rng.standard_normal(shape),)


def _frac(shape):
    # Away from integers (and from the .5 rounding ties): k + 0.2 … k + 0.4.
    return lambda rng: (rng.integers(-3, 3, shape) + rng.uniform(0.2, 0.4, shape),)


UNARY = [
    ("reciprocal", tnp.reciprocal, _u(0.5, 2.0, signed=True), "reciprocal"),
    ("cbrt", tnp.cbrt, _u(0.3, 2.0, signed=True), "cbrt"),
    ("exp2", tnp.exp2, _n, "exp2"),
    ("expm1", tnp.expm1, _n, "expm1"),
    ("log2", tnp.log2, _u(0.3, 3.0), "log2"),
    ("log10", tnp.log10, _u(0.3, 3.0), "log10"),
    ("log1p", tnp.log1p, _u(-0.6, 2.0), "log1p"),
    ("tan", tnp.tan, _u(-1.2, 1.2), "tan"),
    ("arcsin", tnp.arcsin, _u(-0.8, 0.8), "arcsin"),
    ("arccos", tnp.arccos, _u(-0.8, 0.8), "arccos"),
    ("arctan", tnp.arctan, _n, "arctan"),
    ("sinh", tnp.sinh, _n, "sinh"),
    ("cosh", tnp.cosh, _n, "cosh"),
    ("arcsinh", tnp.arcsinh, _n, "arcsinh"),
    ("arccosh", tnp.arccosh, _u(1.3, 3.0), "arccosh"),
    ("arctanh", tnp.arctanh, _u(-0.8, 0.8), "arctanh"),
    ("asin_alias", tnp.asin, _u(-0.8, 0.8), "arcsin"),
    ("atanh_alias", tnp.atanh, _u(-0.8, 0.8), "arctanh"),
    ("sinc", tnp.sinc, lambda s: lambda rng: (2.0 * rng.standard_normal(s),), "sinc"),
    ("fabs", tnp.fabs, _u(0.3, 2.0, signed=True), "abs"),
    ("positive", lambda x: tnp.positive(x) * 2.0, _n, "mul"),
    ("deg2rad", tnp.deg2rad, _n, "mul"),
    ("rad2deg", tnp.rad2deg, _n, "mul"),
    ("radians", tnp.radians, _n, "mul"),
    ("degrees", tnp.degrees, _n, "mul"),
    ("floor", lambda x: tnp.floor(x) * x, _frac, "floor"),
    ("ceil", lambda x: tnp.ceil(x) * x, _frac, "ceil"),
    ("trunc", lambda x: tnp.trunc(x) * x, _frac, "trunc"),
    ("rint", lambda x: tnp.rint(x) * x, _frac, "rint"),
    ("round", lambda x: tnp.round(x) * x + tnp.around(x, 1), _frac, "round"),
    ("isfinite", lambda x: tnp.where(tnp.isfinite(x), x * x, 0.0), _n, "isfinite"),
    ("isnan_isinf", lambda x: tnp.where(tnp.logical_or(tnp.isnan(x), tnp.isinf(x)), 0.0,
                                        tnp.sin(x)), _n, "isnan"),
    ("signbit", lambda x: tnp.where(tnp.signbit(x), -x, x * x), _u(0.2, 2.0, signed=True),
     "signbit"),
    ("logical_not", lambda x: tnp.where(tnp.logical_not(x > 0), x, 2.0 * x),
     _u(0.2, 2.0, signed=True), "logical_not"),
]

RECORDS: list[OpRecord] = []

for name, fn, make, prim in UNARY:
    for shape in SHAPES:
        RECORDS.append(OpRecord(f"{name}{shape}", fn, make(shape), primitives=(prim,)))

RECORDS.append(OpRecord("sinc_at_zero", tnp.sinc, lambda rng: (np.array([0.0, 1e-9, 0.5]),),
                        order=3, primitives=("sinc",)))
RECORDS.append(OpRecord("sinc_third_order", tnp.sinc, _n((5,)), order=3, primitives=("sinc",)))


def _pair(s1, s2, lo=None, hi=None, signed=False):
    def make(rng):
        if lo is None:
            return rng.standard_normal(s1), rng.standard_normal(s2)
        a, b = rng.uniform(lo, hi, s1), rng.uniform(lo, hi, s2)
        if signed:
            a = a * rng.choice([-1.0, 1.0], s1)
            b = b * rng.choice([-1.0, 1.0], s2)
        return a, b

    return make


def _distinct(s1, s2):
    # Operands at least 0.1 apart, so fmax/fmin are away from their kink (needs s1 ⊇ s2).
    def make(rng):
        a, b = rng.standard_normal(s1), rng.standard_normal(s2)
        full_b = np.broadcast_to(b, s1)
        return np.where(np.abs(a - full_b) < 0.1, full_b + 0.3, a), b

    return make


def _quotient(s1, s2):
    # x / y away from integers, so floor and trunc of the quotient are locally constant.
    def make(rng):
        y = rng.uniform(1.2, 2.0, s2) * rng.choice([-1.0, 1.0], s2)
        q = rng.integers(-3, 3, s1) + rng.uniform(0.2, 0.8, s1)
        return q * np.broadcast_to(y, s1), y

    return make


for s1, s2 in PAIRS:
    tag = f"{s1}x{s2}"
    RECORDS += [
        OpRecord(f"logaddexp{tag}", tnp.logaddexp, _pair(s1, s2), primitives=("logaddexp",)),
        OpRecord(f"logaddexp2{tag}", tnp.logaddexp2, _pair(s1, s2),
                 primitives=("logaddexp2",)),
        OpRecord(f"arctan2{tag}", tnp.arctan2, _pair(s1, s2, 0.3, 2.0, signed=True),
                 primitives=("arctan2",)),
        OpRecord(f"hypot{tag}", tnp.hypot, _pair(s1, s2, 0.3, 2.0, signed=True),
                 primitives=("hypot",)),
        OpRecord(f"copysign{tag}", tnp.copysign, _pair(s1, s2, 0.3, 2.0, signed=True),
                 primitives=("copysign",)),
        OpRecord(f"float_power{tag}", tnp.float_power, _pair(s1, s2, 0.5, 2.0),
                 primitives=("pow",)),
        OpRecord(f"pow_alias{tag}", tnp.pow, _pair(s1, s2, 0.5, 2.0), primitives=("pow",)),
        OpRecord(f"logical_and_or{tag}",
                 lambda a, b: tnp.where(tnp.logical_and(a > 0, b > 0), a * b,
                                        tnp.where(tnp.logical_xor(a > 0, b > 0), a, b)),
                 _pair(s1, s2, 0.2, 2.0, signed=True),
                 primitives=("logical_and", "logical_xor")),
    ]
    if np.broadcast_shapes(s1, s2) == s1:
        RECORDS += [
            OpRecord(f"fmax{tag}", tnp.fmax, _distinct(s1, s2), primitives=("fmax",)),
            OpRecord(f"fmin{tag}", tnp.fmin, _distinct(s1, s2), primitives=("fmin",)),
            OpRecord(f"mod{tag}", tnp.mod, _quotient(s1, s2), primitives=("remainder",)),
            OpRecord(f"remainder{tag}", tnp.remainder, _quotient(s1, s2),
                     primitives=("remainder",)),
            OpRecord(f"fmod{tag}", tnp.fmod, _quotient(s1, s2), primitives=("fmod",)),
            OpRecord(f"floor_divide{tag}", lambda a, b: tnp.floor_divide(a, b) * a + b,
                     _quotient(s1, s2), primitives=("floor_divide",)),
        ]


def _clip_args(rng):
    x = rng.uniform(-3.0, 3.0, (3, 4))
    x = np.where(np.abs(np.abs(x) - 1.0) < 0.1, x + 0.3, x)  # away from the bounds ±1
    return (x,)


def _clip_array_bounds(rng):
    x = rng.standard_normal((3, 4))
    lo = rng.uniform(-1.0, -0.2, (4,))
    hi = rng.uniform(0.2, 1.0, (3, 1))
    x = np.where(np.abs(x - lo) < 0.05, x + 0.1, x)
    x = np.where(np.abs(x - hi) < 0.05, x + 0.1, x)
    return x, lo, hi


RECORDS += [
    OpRecord("clip_scalar_bounds", lambda x: tnp.clip(x, -1.0, 1.0) * x, _clip_args,
             primitives=("maximum", "minimum")),
    OpRecord("clip_lower_only", lambda x: tnp.clip(x, -1.0, None), _clip_args,
             primitives=("maximum",)),
    OpRecord("clip_array_bounds", tnp.clip, _clip_array_bounds,
             primitives=("maximum", "minimum")),
    OpRecord("clip_scalar", lambda x: tnp.clip(x, 0.0, 1.0), lambda rng: (0.4,),
             primitives=("maximum", "minimum")),
]
