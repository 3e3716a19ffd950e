"""tensorcalc.scipy.signal values against scipy.signal, and tensorcalc.scipy.fft's lazy
re-export of tensorcalc.numpy.fft (issue 17, item 6). Derivatives of the convolutions are in
tests/records/signal.py."""

import importlib

import numpy as np
import pytest

import tensorcalc as tc

ss = pytest.importorskip("scipy.signal")
tss = pytest.importorskip("tensorcalc.scipy.signal")
RNG = np.random.default_rng(3)
SHAPES = [((7,), (3,)), ((3,), (7,)), ((5, 4), (2, 3)), ((2, 3), (5, 4)), ((4, 3, 2), (2, 2, 2))]


@pytest.mark.parametrize("s1,s2", SHAPES)
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize("name", ["convolve", "correlate"])
def test_values_match_scipy(s1, s2, mode, name):
    x, y = RNG.standard_normal(s1), RNG.standard_normal(s2)
    got = tc.jit(lambda a, b: getattr(tss, name)(a, b, mode=mode))(x, y)
    np.testing.assert_allclose(got, getattr(ss, name)(x, y, mode=mode), atol=1e-12)


def test_complex_correlate_and_2d_and_vmap():
    x = RNG.standard_normal(6) + 1j * RNG.standard_normal(6)
    y = RNG.standard_normal(3) + 1j * RNG.standard_normal(3)
    np.testing.assert_allclose(tc.jit(tss.correlate)(x, y), ss.correlate(x, y), atol=1e-12)
    for s2 in [(2, 3), (3, 2), (3, 3), (1, 4)]:
        a, b = RNG.standard_normal((4, 5)), RNG.standard_normal(s2)
        for mode in ("full", "same", "valid"):
            for name in ("convolve2d", "correlate2d"):
                fn = getattr(tss, name)
                got = tc.jit(lambda a, b, f=fn, m=mode: f(a, b, m))(a, b)
                np.testing.assert_allclose(got, getattr(ss, name)(a, b, mode), atol=1e-12)
    rows = RNG.standard_normal((3, 5))
    np.testing.assert_allclose(tc.vmap(lambda r: tss.convolve(r, y.real))(rows),
                               np.stack([np.convolve(r, y.real) for r in rows]), atol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="mode"):
        tc.jit(lambda a, b: tss.convolve(a, b, mode="middle"))(np.ones(3), np.ones(2))
    with pytest.raises(tc.ShapeError, match="same number of dimensions"):
        tc.jit(tss.convolve)(np.ones(3), np.ones((2, 2)))
    with pytest.raises(ValueError, match="valid"):
        tc.jit(lambda a, b: tss.convolve(a, b, mode="valid"))(np.ones((3, 2)), np.ones((2, 3)))
    with pytest.raises(NotImplementedError, match="boundary"):
        tss.convolve2d(np.ones((2, 2)), np.ones((2, 2)), boundary="wrap")


def test_scipy_fft_reexports_numpy_fft():
    import tensorcalc.scipy.fft as tsf

    try:
        tnp_fft = importlib.import_module("tensorcalc.numpy.fft")
    except ImportError:
        with pytest.raises(AttributeError, match="tensorcalc.numpy.fft"):
            tsf.fft  # noqa: B018
        pytest.skip("tensorcalc.numpy.fft is not on this branch: only the clear error is tested")
    for name in ("fft", "ifft", "rfft", "irfft", "fftn"):
        assert getattr(tsf, name) is getattr(tnp_fft, name)
    x = RNG.standard_normal(8)
    np.testing.assert_allclose(tsf.rfft(x), np.fft.rfft(x), atol=1e-12)
    g = tc.grad(lambda x: tsf.rfft(x).real.sum())(x)
    np.testing.assert_allclose(g, np.fft.rfft(np.eye(8)).real.sum(axis=1), atol=1e-10)
