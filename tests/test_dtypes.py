"""dtypes through derivatives: float32 stays float32 (values, gradients, second derivatives and
every intermediate of the linearized program); complex128 works for holomorphic functions with
``holomorphic=True``, checked against central differences."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
import tensorcalc.scipy.special as tsp

Y32 = np.array([1.3, 1.6, 1.45], np.float32)

FLOAT_FUNCS = {
    "reciprocal": tnp.reciprocal, "cbrt": tnp.cbrt, "exp2": tnp.exp2, "expm1": tnp.expm1,
    "log2": tnp.log2, "log10": tnp.log10, "log1p": tnp.log1p, "tan": tnp.tan,
    "arcsin": tnp.arcsin, "arccos": tnp.arccos, "arctan": tnp.arctan, "sinh": tnp.sinh,
    "cosh": tnp.cosh, "arcsinh": tnp.arcsinh, "arctanh": tnp.arctanh,
    "arccosh": lambda v: tnp.arccosh(v + 1.0), "sinc": tnp.sinc, "fabs": tnp.fabs,
    "deg2rad": tnp.deg2rad, "floor": lambda v: tnp.floor(v) * v,
    "prod": tnp.prod, "cumprod": tnp.cumprod, "cumsum": tnp.cumsum, "var": tnp.var,
    "std": tnp.std, "ptp": tnp.ptp, "average": lambda v: tnp.average(v, weights=Y32),
    "nanmean": tnp.nanmean, "erf": tsp.erf, "erfc": tsp.erfc, "gammaln": tsp.gammaln,
    "digamma": tsp.digamma, "expit": tsp.expit, "logit": tsp.logit,
    "logsumexp": tsp.logsumexp, "logsumexp_b": lambda v: tsp.logsumexp(v, b=Y32),
    "softmax": tsp.softmax, "log_softmax": tsp.log_softmax,
    "logaddexp": lambda v: tnp.logaddexp(v, Y32), "logaddexp2": lambda v: tnp.logaddexp2(v, Y32),
    "arctan2": lambda v: tnp.arctan2(v, Y32), "hypot": lambda v: tnp.hypot(v, Y32),
    "copysign": lambda v: tnp.copysign(v, Y32), "fmax": lambda v: tnp.fmax(v, Y32),
    "mod": lambda v: tnp.mod(Y32, v), "clip": lambda v: tnp.clip(v, 0.4, Y32),
    "xlogy": lambda v: tsp.xlogy(v, Y32), "xlog1py": lambda v: tsp.xlog1py(Y32, v),
    "where_sqrt": lambda v: tnp.where(v > 0.5, v, tnp.sqrt(v)),
}


@pytest.mark.parametrize("name", sorted(FLOAT_FUNCS))
def test_float32_stays_float32(name):
    f = FLOAT_FUNCS[name]
    x = np.array([0.3, 0.6, 0.45], np.float32)

    def s(v):
        return tnp.sum(f(v))

    outs = {"value": f(x), "grad": tc.grad(s)(x),
            "hessian_row_sum": tc.grad(lambda v: tnp.sum(tc.grad(s)(v)))(x),
            "jvp": tc.jvp(f, (x,), (x,))[1]}
    for what, v in outs.items():
        assert np.asarray(v).dtype == np.float32, what
    # No intermediate of the first- or second-order linear program is promoted to float64.
    for fn in (f, tc.grad(s)):
        for eq in tc.linear_map(fn, x).program.equations:
            for atom in (*eq.inputs, *eq.outputs):
                av = atom.aval
                assert not (av.dtype == np.float64 and not av.weak_type), (eq.primitive.name, av)


@pytest.mark.parametrize("name", ["prod", "cumsum", "std", "logsumexp", "erf", "sinc"])
def test_float32_check_grads(name):
    x = np.array([0.3, 0.6, 0.45], np.float32)
    tc.check_grads(FLOAT_FUNCS[name], (x,), order=2, atol=2e-2, rtol=2e-2, eps=1e-2)


HOLOMORPHIC = {
    "exp": tnp.exp, "sin": tnp.sin, "cos": tnp.cos, "tanh": tnp.tanh, "log": tnp.log,
    "sqrt": tnp.sqrt, "mul": lambda z: z * (2 - 1j) * z, "add": lambda z: z + z * z + (1 + 2j),
    "div": lambda z: 1 / (z + 2), "pow_int": lambda z: z ** 3,
    "pow_complex_base": lambda z: tnp.power(1.5 + 0.5j, z),
    "tan": tnp.tan, "sinh": tnp.sinh, "cosh": tnp.cosh, "arcsin": tnp.arcsin,
    "arccos": tnp.arccos, "arctan": tnp.arctan, "arcsinh": tnp.arcsinh,
    "arccosh": lambda z: tnp.arccosh(z + 2), "arctanh": tnp.arctanh, "expm1": tnp.expm1,
    "log1p": tnp.log1p, "exp2": tnp.exp2, "log2": tnp.log2, "log10": tnp.log10,
    "reciprocal": tnp.reciprocal, "sinc": tnp.sinc, "erf": tsp.erf,
    "logsumexp": tsp.logsumexp, "cumprod_sum": lambda z: tnp.sum(tnp.cumprod(z * tnp.ones(3))),
}


def _holo_grad(f):
    return tc.grad(f, holomorphic=True)


def _central(f, z, h=1e-6):
    return (f(z + h) - f(z - h)) / (2 * h)


@pytest.mark.parametrize("name", sorted(HOLOMORPHIC))
def test_complex_holomorphic(name):
    f = HOLOMORPHIC[name]
    z = np.complex128(0.3 + 0.4j)
    g = _holo_grad(f)(z)
    assert np.asarray(g).dtype == np.complex128
    fd = _central(f, z)
    assert g == pytest.approx(fd, rel=1e-6, abs=1e-6)
    # Forward mode agrees, and so does the second derivative (reverse over reverse).
    assert tc.jvp(f, (z,), (np.complex128(1.0),))[1] == pytest.approx(fd, rel=1e-6, abs=1e-6)
    fd2 = _central(_holo_grad(f), z)
    assert _holo_grad(_holo_grad(f))(z) == pytest.approx(fd2, rel=1e-5, abs=1e-5)


def test_complex_without_holomorphic_is_refused():
    with pytest.raises(tc.DifferentiationTypeError, match="holomorphic=True"):
        tc.grad(tnp.exp)(np.complex128(1 + 1j))


@pytest.mark.parametrize("f", [lambda z: tnp.abs(z) ** 2, lambda z: tnp.abs(z * z + 1)])
def test_holomorphic_refuses_real_valued_functions(f):
    # abs(z)**2 used to return 2+4j at 1+2j: a number, but no derivative of anything.
    with pytest.raises(tc.DifferentiationTypeError, match="needs a complex output"):
        tc.grad(f, holomorphic=True)(np.complex128(1 + 2j))


def test_holomorphic_refuses_real_inputs():
    with pytest.raises(tc.DifferentiationTypeError, match="needs complex inputs"):
        tc.grad(lambda z: z * z, holomorphic=True)(1.0)


def test_expit_refuses_complex():
    with pytest.raises(TypeError, match="complex"):
        tc.grad(tsp.expit, holomorphic=True)(np.complex128(1 + 1j))


def test_integer_inputs_follow_numpy_result_dtypes():
    x = np.arange(1, 4, dtype=np.int32)
    for f in (tnp.floor, tnp.cbrt, tnp.exp2, tnp.reciprocal, tnp.cumsum, tnp.prod,
              lambda v: tnp.argmax(v)):
        prog = tc.trace(f, x)
        assert prog.out_avals[0].dtype == np.asarray(f(x)).dtype


# --- values without SciPy (it is optional at run time) ---------------------------------------


@pytest.fixture
def no_scipy(monkeypatch):
    from tensorcalc.ops import special

    monkeypatch.setattr(special, "_scipy", False)


def test_special_values_without_scipy_match_scipy(no_scipy):
    sp = pytest.importorskip("scipy.special")
    x = np.concatenate([np.linspace(0.05, 30.0, 97), -np.linspace(0.1, 5.9, 37) - 1e-3])
    np.testing.assert_allclose(tsp.erf(x), sp.erf(x), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(tsp.erfc(x), sp.erfc(x), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(tsp.gammaln(x), sp.gammaln(x), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(tsp.digamma(x), sp.digamma(x), rtol=1e-12, atol=1e-12)
    pos = x[x > 0]
    for n in range(1, 5):
        np.testing.assert_allclose(tsp.polygamma(n, pos), sp.polygamma(n, pos), rtol=1e-12)
    np.testing.assert_allclose(tsp.logit(np.array([0.1, 0.5, 0.9])),
                               sp.logit(np.array([0.1, 0.5, 0.9])), rtol=1e-14)
    assert tsp.gammaln(0.0) == np.inf and np.isnan(tsp.digamma(-2.0))
    assert tsp.erf(np.float32(0.5)).dtype == np.float32


def test_special_derivatives_without_scipy(no_scipy):
    x = np.array([0.7, 1.9, 3.2])
    tc.check_grads(lambda v: tsp.gammaln(v) + tsp.erf(v) * tsp.digamma(v), (x,), order=2)
