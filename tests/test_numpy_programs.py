"""Ordinary NumPy programs (tests/numpy_programs.py: the classic optimization test functions
and a few data-fitting losses, written as NumPy code) differentiate to second order: the
gradient and the Hessian match central differences of the function, both modes pass
``check_grads``, and the same code on plain arrays gives NumPy's own values."""

from __future__ import annotations

import numpy
import pytest

import tensorcalc as tc
from tests import numpy_programs

NAMES = sorted(numpy_programs.PROGRAMS)


def _fd_grad(f, x, h=1e-6):
    g = numpy.zeros_like(x)
    for i in range(x.size):
        e = numpy.zeros_like(x)
        e[i] = h
        g[i] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def _fd_hessian(f, x, h=1e-4):
    n = x.size
    H = numpy.zeros((n, n))
    for i in range(n):
        for j in range(n):
            ei = numpy.zeros(n)
            ej = numpy.zeros(n)
            ei[i] = h
            ej[j] = h
            H[i, j] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * h * h)
    return H


def _scale(f, x):
    return max(1.0, abs(float(f(x))))


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_central_differences(name):
    f, x0 = numpy_programs.PROGRAMS[name]
    x = numpy.asarray(x0, dtype=float)
    numpy.testing.assert_allclose(tc.grad(f)(x), _fd_grad(f, x), rtol=1e-5,
                                  atol=1e-6 * _scale(f, x))


@pytest.mark.parametrize("name", NAMES)
def test_hessian_matches_central_differences(name):
    f, x0 = numpy_programs.PROGRAMS[name]
    x = numpy.asarray(x0, dtype=float)
    H = tc.hessian(f)(x)
    numpy.testing.assert_allclose(H, H.T, rtol=1e-9, atol=1e-9 * _scale(f, x))
    numpy.testing.assert_allclose(H, _fd_hessian(f, x), rtol=1e-4, atol=1e-4 * _scale(f, x))


@pytest.mark.parametrize("name", NAMES)
def test_second_order_both_modes(name):
    f, x0 = numpy_programs.PROGRAMS[name]
    x = numpy.asarray(x0, dtype=float)
    s = _scale(f, x)
    tc.check_grads(f, (x,), order=2, modes=("fwd", "rev"), atol=1e-5 * s, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_same_code_runs_on_numpy(name, monkeypatch):
    f, x0 = numpy_programs.PROGRAMS[name]
    x = numpy.asarray(x0, dtype=float)
    ours = tc.jvp(f, (x,), (numpy.zeros_like(x),))[0]
    monkeypatch.setattr(numpy_programs, "np", numpy)
    numpy.testing.assert_allclose(ours, f(x), rtol=1e-12, atol=1e-12)
