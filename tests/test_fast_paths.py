"""The eager shortcuts compute what the ordinary rules compute.

``defjvp_diag`` records each unary primitive's derivative factor so that ``JVPTrace`` can apply
it directly, and ``defjvp_scalar`` lets ``x + c``, ``x − c`` and ``c · x`` skip the rule. Each
is checked here against the ordinary jvp rule, with the shortcut switched off (and with it the
inline transpose of ``mul_sz``/``div_sz`` in ``backward_pass``)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
from tensorcalc.core.primitive import bind
from tensorcalc.interpreters import forward, transpose
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
        m.setattr(transpose, "self_transposes", {})
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


# --- NumPy scalars: a chain on a Python float computes on np.float64 after its first op ----


@pytest.mark.parametrize("prim", sorted(forward.diag_rules, key=lambda p: p.name),
                         ids=lambda p: p.name)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_diagonal_shortcut_on_numpy_scalars_equals_the_rule(monkeypatch, prim, dtype):
    pts, params = _call(prim, None)
    x = dtype(pts[2])

    def fun(v):
        return bind(prim, bind(ew.mul_p, v, dtype(1)), **params)  # v stays a scalar

    fast = tc.grad(lambda v: fun(v).real)(x)
    with monkeypatch.context() as m:
        m.setattr(forward, "diag_rules", {})
        m.setattr(forward, "scalar_rules", {})
        m.setattr(transpose, "self_transposes", {})
        slow = tc.grad(lambda v: fun(v).real)(x)
    assert np.asarray(fast).dtype == np.asarray(slow).dtype
    np.testing.assert_array_equal(fast, slow)


def test_scalar_chain_takes_the_direct_paths(monkeypatch):
    """``tanh(0.9 sin x + 0.1)`` on a Python float never reaches the generic jvp rules (the
    shortcut is what makes a scalar chain as cheap per operation as a vector one)."""
    import tensorcalc.numpy as tnp

    calls = []
    rules = dict(forward.jvp_rules)
    for prim in (ew.sin_p, ew.tanh_p, ew.mul_p, ew.add_p):
        rule = rules[prim]
        monkeypatch.setitem(forward.jvp_rules, prim,
                            lambda p, t, _r=rule, _n=prim.name, **kw: calls.append(_n)
                            or _r(p, t, **kw))

    def f(x):
        for _ in range(3):
            x = tnp.tanh(tnp.sin(x) * 0.9 + 0.1)
        return x

    g = tc.grad(f)(0.3)
    h = 1e-6
    fd = (f(0.3 + h) - f(0.3 - h)) / (2 * h)
    assert abs(g - fd) < 1e-8
    assert calls == ["sin"]  # only the first op sees a Python float


def test_scalar_shortcut_keeps_the_strong_zero():
    import tensorcalc.numpy as tnp

    # d/dx where(x > 0, sqrt(x), 0) at 0: the untaken sqrt'(0) = inf must not leak as NaN
    g = tc.grad(lambda x: tnp.where(x > 0, tnp.sqrt(x * 1.0), 0.0))(np.float64(0.0))
    assert g == 0.0


@pytest.mark.parametrize("x", [np.linspace(-1.0, 1.0, 5), 0.3, np.float32(0.3)],
                         ids=["vector", "float", "float32"])
def test_elementwise_chain_transposes_inline(monkeypatch, x):
    """The backward pass of an elementwise chain applies ``mul_sz``/``div_sz`` inline
    (``self_transposes``): their transpose rules are never called, and the gradient is the
    central difference's."""
    import tensorcalc.numpy as tnp
    from tensorcalc.ops.strong_zero import div_sz_p, mul_sz_p

    calls = []
    for prim in (mul_sz_p, div_sz_p):
        rule = transpose.transpose_rules[prim]
        monkeypatch.setitem(transpose.transpose_rules, prim,
                            lambda ct, *a, _r=rule, _n=prim.name, **kw: calls.append(_n)
                            or _r(ct, *a, **kw))

    def f(v):
        for _ in range(3):
            v = tnp.log(tnp.tanh(tnp.sin(v) * 0.9 + 0.1) + 2.0)
        return tnp.sum(v)

    g = tc.grad(f)(x)
    h = 1e-3 if np.asarray(x).dtype == np.float32 else 1e-6
    xd = np.asarray(x, np.float64)
    fd = [(f(xd + h * e) - f(xd - h * e)) / (2 * h) for e in np.eye(xd.size).reshape(
        (xd.size,) + xd.shape)]
    np.testing.assert_allclose(np.ravel(g), np.ravel(fd), rtol=1e-3 if h == 1e-3 else 1e-6,
                               atol=1e-9)
    assert np.asarray(g).dtype == np.asarray(x).dtype
    assert calls == []
    # a factor that broadcasts the cotangent takes the rule (which sums over the new axes)
    w = np.full((2, 1) + np.shape(x), 0.5, np.asarray(x).dtype)
    gw = tc.grad(lambda v: tnp.sum(v * w))(x)
    np.testing.assert_array_equal(gw, np.full(np.shape(x), 1.0, np.asarray(x).dtype))
    assert calls == ["mul_sz"]


# --- pytrees: the fast paths for one leaf and flat tuples/lists ---------------------------


def _walked(tree):
    """Flatten with the general walk (an ``is_leaf`` that never fires skips the fast paths)."""
    from tensorcalc.core.tree import tree_flatten

    return tree_flatten(tree, is_leaf=lambda _: False)


@pytest.mark.parametrize("tree", [
    np.ones(3), 1.5, (np.ones(2), 2.0), [1.0, np.ones(1), 3], (), [], (None, 1.0),
    ((1.0,), 2.0), [(1.0, 2.0)], {"b": 1.0, "a": (2.0,)},
    tc.core.shapes.ShapedArray((2,), np.dtype(np.float64)),
], ids=repr)
def test_tree_fast_paths_agree_with_the_walk(tree):
    from collections import namedtuple

    from tensorcalc.core.tree import tree_flatten, tree_unflatten

    pair = namedtuple("pair", "a b")
    for t in (tree, pair(tree, 1.0)):
        leaves, d = tree_flatten(t)
        w_leaves, w_d = _walked(t)
        assert d == w_d
        assert len(leaves) == len(w_leaves)
        assert all(a is b for a, b in zip(leaves, w_leaves, strict=True))
        back = tree_unflatten(d, leaves)
        assert type(back) is type(t)
        assert tree_flatten(back)[1] == d


def test_tree_unflatten_fast_path_still_counts_the_leaves():
    from tensorcalc.core.tree import tree_flatten, tree_unflatten

    _, d = tree_flatten((1.0, 2.0))
    with pytest.raises(ValueError, match="left over"):
        tree_unflatten(d, [1.0, 2.0, 3.0])
    _, leaf = tree_flatten(1.0)
    with pytest.raises(ValueError, match="left over"):
        tree_unflatten(leaf, [1.0, 2.0])
