"""Tracers are array-API objects (issue 17, item 5): ``__array_namespace__`` gives the standard's
names over tensorcalc.numpy, so array-API-generic code and SciPy's array-API dispatch
(``SCIPY_ARRAY_API=1``, which must be set before SciPy is imported: tested in a subprocess)
are differentiated like tnp code. Derivatives are checked against central differences."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.numpy import array_api as xp_tc

RNG = np.random.default_rng(5)


def generic_loss(x):
    """Array-API code: no NumPy, only the namespace of its argument (NumPy's own namespace
    lacks ``sort(descending=)``, so plain arrays go through array_api_compat's wrapper)."""
    compat = pytest.importorskip("array_api_compat")
    xp = compat.array_namespace(x)
    y = xp.concat([x, xp.flip(x, axis=0)], axis=0)
    m = xp.reshape(y, (2, -1))
    m = xp.permute_dims(m, (1, 0))
    v = xp.matmul(xp.matrix_transpose(m), m)
    s = xp.sum(xp.pow(xp.acos(xp.tanh(x) * 0.5), 2.0)) + xp.std(x, correction=1)
    c = xp.cumulative_sum(x, include_initial=True)
    return xp.sum(v) + s + xp.sum(xp.astype(c, xp.float64) ** 2) + xp.max(xp.sort(
        x, descending=True)[:2])


def test_namespace_of_a_tracer_is_the_standards():
    seen = {}

    def f(x):
        seen["xp"] = x.__array_namespace__()
        seen["ver"] = seen["xp"].__array_api_version__
        return tnp.sum(x)

    tc.grad(f)(np.ones(3))
    assert seen["xp"] is xp_tc and seen["ver"] == "2023.12"
    for name in ("concat", "permute_dims", "matrix_transpose", "astype", "pow", "acos", "asin",
                 "atan2", "bool", "float64", "int32", "e", "pi", "linalg", "fft", "isdtype",
                 "result_type", "unstack", "cumulative_sum", "vecdot", "where", "clip"):
        assert hasattr(xp_tc, name), name
    assert xp_tc.linalg.inv is tnp.linalg.inv
    with pytest.raises(AttributeError, match="not in the standard"):
        xp_tc.not_a_function  # noqa: B018


def test_generic_code_differentiates_like_tnp():
    x = RNG.uniform(-0.8, 0.8, 5)
    tc.check_grads(generic_loss, (x,), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(tc.jit(tc.grad(generic_loss))(x), tc.grad(generic_loss)(x),
                               rtol=1e-12)


def test_array_api_compat_recognises_tracers():
    compat = pytest.importorskip("array_api_compat")
    out = {}

    def f(x):
        out["xp"] = compat.array_namespace(x)
        out["dev"] = compat.device(x)
        return out["xp"].sum(out["xp"].exp(x))

    g = tc.grad(f)(np.array([0.0, 1.0]))
    np.testing.assert_allclose(g, np.exp([0.0, 1.0]))
    assert out["xp"] is xp_tc and out["dev"] == "cpu"


def test_dtype_utilities_and_devices():
    def f(x):
        assert xp_tc.isdtype(x.dtype, "real floating") and xp_tc.isdtype(x, "real floating")
        assert xp_tc.result_type(x, np.float32) == np.float64
        assert xp_tc.finfo(x).eps == np.finfo(np.float64).eps
        assert x.device == "cpu" and x.to_device("cpu") is x
        with pytest.raises(ValueError, match="device"):
            x.to_device("cuda:0")
        z = xp_tc.zeros_like(x)
        return tnp.sum(x * x) + tnp.sum(z) + tnp.sum(xp_tc.full_like(x, 2.0))

    assert tc.grad(f)(np.array([1.0, 2.0])).tolist() == [2.0, 4.0]


def test_unstack_argsort_descending():
    x = np.array([[3.0, 1.0, 2.0], [0.5, 4.0, -1.0]])
    parts = tc.jit(lambda x: xp_tc.unstack(x, axis=1))(x)
    np.testing.assert_array_equal(np.stack(parts, axis=1), x)
    np.testing.assert_array_equal(xp_tc.argsort(x, descending=True),
                                  np.argsort(-x, kind="stable"))


_SCIPY_SCRIPT = textwrap.dedent("""
    import numpy as np
    import tensorcalc as tc
    import tensorcalc.numpy as tnp
    from scipy.optimize import rosen, rosen_der, rosen_hess
    import scipy.special as sc

    x = np.array([0.3, -0.7, 1.2, 0.5])
    assert np.allclose(tc.grad(rosen)(x), rosen_der(x), rtol=1e-12)
    assert np.allclose(tc.jit(tc.grad(rosen))(x), rosen_der(x), rtol=1e-12)
    assert np.allclose(tc.hessian(rosen)(x), rosen_hess(x), rtol=1e-12)
    y = np.array([0.3, 0.9, 1.7])
    for name, d in [("erf", lambda v: 2 / np.sqrt(np.pi) * np.exp(-v * v)),
                    ("expit", lambda v: sc.expit(v) * sc.expit(-v)),
                    ("gammaln", sc.digamma), ("ndtr", lambda v: np.exp(-v * v / 2) /
                                                          np.sqrt(2 * np.pi)),
                    ("i0", sc.i1), ("entr", lambda v: -np.log(v) - 1)]:
        fn = getattr(sc, name)
        g = tc.grad(lambda v: tnp.sum(fn(v)))(y)
        assert np.allclose(g, d(y), rtol=1e-10), name
    try:
        tc.grad(lambda v: rosen_der(v).sum())(x)
    except Exception as e:      # in-place writes into arrays: refused, as in JAX
        assert "at[" in str(e) or "differentiated" in str(e), e
    else:
        raise AssertionError("rosen_der writes in place and cannot be traced")
    print("SCIPY-ARRAY-API-OK")
""")


def test_scipy_array_api_dispatch_in_a_subprocess():
    pytest.importorskip("scipy")
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "src")
    env = dict(os.environ, SCIPY_ARRAY_API="1",
               PYTHONPATH=src + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-c", _SCIPY_SCRIPT], env=env, capture_output=True,
                       text=True, timeout=300)
    assert "SCIPY-ARRAY-API-OK" in r.stdout, r.stderr[-3000:]
