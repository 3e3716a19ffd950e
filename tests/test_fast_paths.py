"""The eager shortcuts compute what the ordinary rules compute.

``defjvp_diag`` records each unary primitive's derivative factor so that ``JVPTrace`` can apply
it directly, and ``defjvp_scalar`` lets ``x + c``, ``x − c`` and ``c · x`` skip the rule. Each
is checked here against the ordinary jvp rule, with the shortcut switched off."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from tensorcalc.core.primitive import bind
from tensorcalc.interpreters import forward
from tensorcalc.ops import elementwise as ew

_PARAMS = ({}, {"k": 1}, {"n": 1})


def _call(prim, x):
    """``prim`` applied at points of its domain, with the first parameters it accepts."""
    for params in _PARAMS:
        for lo, hi in ((0.2, 0.8), (1.2, 1.8)):
            pts = np.linspace(lo, hi, 5)
            try:
                with np.errstate(all="ignore"):
                    out = bind(prim, pts, **params)
            except TypeError:
                break
            if np.all(np.isfinite(out)):
                return pts, params
    raise AssertionError(f"no domain found for {prim.name}")


def _both_ways(monkeypatch, fun, x):
    # .real: a complex-valued ufunc of a real input (wofz) still gives a real loss
    fast = (tc.jvp(fun, (x,), (np.ones_like(x),))[1], tc.grad(lambda v: fun(v).sum().real)(x))
    with monkeypatch.context() as m:
        m.setattr(forward, "diag_rules", {})
        m.setattr(forward, "scalar_rules", {})
        slow = (tc.jvp(fun, (x,), (np.ones_like(x),))[1],
                tc.grad(lambda v: fun(v).sum().real)(x))
    return fast, slow


@pytest.mark.parametrize("prim", sorted(forward.diag_rules, key=lambda p: p.name),
                         ids=lambda p: p.name)
def test_diagonal_shortcut_equals_the_rule(monkeypatch, prim):
    x, params = _call(prim, None)
    (jf, gf), (js, gs) = _both_ways(monkeypatch, lambda v: bind(prim, v, **params), x)
    np.testing.assert_array_equal(jf, js)
    np.testing.assert_array_equal(gf, gs)


@pytest.mark.parametrize("op", [lambda v: v + 2.5, lambda v: 2.5 + v, lambda v: v - 2.5,
                                lambda v: 2.5 - v, lambda v: v * 2.5, lambda v: 2.5 * v,
                                lambda v: ew.multiply(v, 3), lambda v: ew.add(1, v)])
def test_scalar_shortcut_equals_the_rule(monkeypatch, op):
    x = np.linspace(-1.0, 1.0, 4)
    (jf, gf), (js, gs) = _both_ways(monkeypatch, op, x)
    np.testing.assert_array_equal(jf, js)
    np.testing.assert_array_equal(gf, gs)
