"""The eager shortcuts compute what the ordinary rules compute.

``defjvp_diag`` records each unary primitive's derivative factor so that ``JVPTrace`` can apply
it directly, ``defjvp_scalar`` lets ``x + c``, ``x − c``, ``c · x`` and ``x / c`` skip the rule,
and linear and bilinear primitives (``deflinear``, ``defbilinear``) stage their tangent
equations directly. Each is checked here against the ordinary jvp rule, with the shortcuts
switched off (and with them the inline transpose of ``mul_sz``/``div_sz`` in
``backward_pass``)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
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


def _shortcuts_off(m):
    """Every direct path of JVPTrace and the inline transposes of backward_pass switched off."""
    m.setattr(forward, "diag_rules", {})
    m.setattr(forward, "scalar_rules", {})
    m.setattr(forward, "linear_prims", set())
    m.setattr(forward, "bilinear_prims", set())
    m.setattr(transpose, "self_transposes", {})


def _both_ways(monkeypatch, fun, x):
    # .real: a complex-valued ufunc of a real input (wofz) still gives a real loss
    fast = (tc.jvp(fun, (x,), (np.ones_like(x),))[1], tc.grad(lambda v: fun(v).sum().real)(x))
    with monkeypatch.context() as m:
        _shortcuts_off(m)
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
        _shortcuts_off(m)
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


# --- linear and bilinear primitives, and x / c: staged without their jvp rules --------------


def _fast_and_slow(monkeypatch, fun, x):
    """``(jvp, grad)`` of ``fun`` at ``x`` with the direct paths, and with all of them off."""
    def both():
        return (tc.jvp(fun, (x,), (np.ones_like(x),))[1],
                tc.value_and_grad(lambda v: tnp.sum(tnp.sin(fun(v))))(x))
    fast = both()
    with monkeypatch.context() as m:
        _shortcuts_off(m)
        slow = both()
    return fast, slow


_W = np.linspace(-1.0, 1.0, 18).reshape(6, 3)
_CASES = {
    "reshape": lambda v: tnp.reshape(v, (2, 12)) * 1.5,
    "transpose": lambda v: tnp.transpose(tnp.reshape(v, (2, 2, 6)), (2, 0, 1)),
    "sum_axis": lambda v: tnp.sum(v * v, axis=0),
    "matmul_const_right": lambda v: v @ _W,
    "matmul_const_left": lambda v: _W.T @ v.T,
    "matmul_both": lambda v: v @ v.T,
    "matmul_batched": lambda v: tnp.reshape(v, (2, 2, 6)) @ tnp.reshape(v, (2, 6, 2)),
    "matmul_broadcast": lambda v: tnp.reshape(v, (2, 2, 6)) @ _W,
    "matmul_vector": lambda v: v[0] @ _W,
    "divide_power_of_two": lambda v: tnp.sin(v) / 4.0,
    "divide_numpy_scalar": lambda v: tnp.sin(v) / np.float64(0.25),
    "divide_other": lambda v: tnp.sin(v) / 3.0,
    "divide_int": lambda v: v / 8,
}


@pytest.mark.parametrize("name", sorted(_CASES))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_bilinear_and_division_paths_equal_the_rules(monkeypatch, name, dtype):
    x = np.linspace(-1.0, 1.0, 24).reshape(4, 6).astype(dtype)
    (jf, (vf, gf)), (js, (vs, gs)) = _fast_and_slow(monkeypatch, _CASES[name], x)
    for a, b in ((jf, js), (vf, vs), (gf, gs)):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("c", [4.0, np.float64(0.5), np.float32(2.0), 2.0 ** -130, 2.0 ** 1020,
                               -0.25, 3.0, 0.0, 8])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_division_by_a_power_of_two_is_bitwise_the_division(monkeypatch, c, dtype):
    """Large arrays divide by ±2ᵏ as a multiplication by 2⁻ᵏ when that is exact: value and
    gradient are the plain division's, bit for bit, also at 0, -0, ±inf, subnormals, NaN."""
    x = np.random.default_rng(0).standard_normal(forward.RECIPROCAL_FROM).astype(dtype)
    x[:5] = [0.0, -0.0, np.inf, np.nan, 1e-42 if dtype == np.float32 else 1e-310]

    def f(v):
        return tnp.sum(tnp.sin(v) * (v / c))

    with np.errstate(all="ignore"):
        fast = tc.value_and_grad(f)(x)
        monkeypatch.setattr(forward, "RECIPROCAL_FROM", 10 ** 12)
        slow = tc.value_and_grad(f)(x)
        plain = np.sum(np.sin(x) * (x / c))
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast[0], plain)


def test_matmul_reshape_and_division_never_reach_their_jvp_rules(monkeypatch):
    """An attention-like gradient stages every equation directly; its gradient is the central
    difference's."""
    from tensorcalc.ops import products, structural

    calls = []
    for prim in (products.matmul_p, structural.reshape_p, structural.transpose_p,
                 structural.reduce_sum_p, ew.div_p):
        rule = forward.jvp_rules[prim]
        monkeypatch.setitem(forward.jvp_rules, prim,
                            lambda p, t, _r=rule, _n=prim.name, **kw: calls.append(_n)
                            or _r(p, t, **kw))
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((8, 4)), rng.standard_normal((4, 4)) / 2

    def loss(w):
        q = tnp.transpose(tnp.reshape(x @ w, (8, 2, 2)), (1, 0, 2))
        s = q @ tnp.transpose(q, (0, 2, 1)) / 2.0
        return tnp.sum(tnp.tanh(tnp.reshape(s, (2, 64))))

    g = tc.grad(loss)(w)
    assert calls == []
    h = 1e-6
    fd = np.array([(loss(w + h * e) - loss(w - h * e)) / (2 * h)
                   for e in np.eye(16).reshape(16, 4, 4)]).reshape(4, 4)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_a_rule_registered_again_replaces_the_direct_path():
    import tensorcalc.extend as ext

    p = ext.Primitive(f"test_twice_{len(ext.Primitive.registry)}", lambda x: 2 * x,
                      lambda x: x)
    ext.deflinear(p, lambda ct, x: (2 * ct,))
    assert p in forward.linear_prims
    seen = []

    def rule(primals, tangents):
        seen.append(1)
        return p.bind(*primals), p.bind(*tangents)

    ext.defjvp_rule(p, rule)
    assert p not in forward.linear_prims
    assert tc.grad(lambda v: tnp.sum(p.bind(v)))(np.ones(3)).tolist() == [2.0, 2.0, 2.0]
    assert seen == [1]


def test_unary_operations_stack_lists_of_traced_values():
    g = tc.grad(lambda v: tnp.sum(tnp.sin([v[0], [v[1], 2.0]][0:1] + [v[2]])))(np.ones(3))
    np.testing.assert_allclose(g, [np.cos(1.0), 0.0, np.cos(1.0)])
    with pytest.raises(TypeError):
        tnp.sin("a")


@pytest.mark.parametrize("prim_name, factor", [("mul_sz_p", np.inf), ("div_sz_p", 0.0)])
def test_backward_inline_products_are_plain_only_while_checks_are_off(prim_name, factor):
    """The inline transpose of ``mul_sz``/``div_sz`` is NumPy's ufunc in the unchecked pass
    (``0 · ∞`` is NaN there, which sends the transformation to its checked rerun) and the
    strong-zero product under ``strong_zero_checks`` (``0 · ∞`` is 0)."""
    from tensorcalc.core.context import strong_zero_checks
    from tensorcalc.core.ir import Equation, Literal, Program, Var
    from tensorcalc.core.shapes import ShapedArray
    from tensorcalc.ops import strong_zero

    prim = getattr(strong_zero, prim_name)
    t = Var(ShapedArray((3,), np.dtype(np.float64)))
    f = np.array([factor, 2.0, 4.0])
    out = Var(t.aval)
    prog = Program([t], [Equation(prim, (t, Literal(f, t.aval)), (out,), {})], [out])
    ct = np.array([0.0, 1.0, 1.0])
    with np.errstate(all="ignore"):
        plain = transpose.backward_pass(prog, [ct])[0]
    with strong_zero_checks():
        checked = transpose.backward_pass(prog, [ct])[0]
    assert np.isnan(plain[0]) and checked[0] == 0.0
    np.testing.assert_array_equal(plain[1:], checked[1:])
    expect = ct[1:] * f[1:] if prim_name == "mul_sz_p" else ct[1:] / f[1:]
    np.testing.assert_array_equal(checked[1:], expect)


def _chain(x):
    for _ in range(3):
        x = tnp.tanh(tnp.sin(x) * 0.9 + 0.1) / 2.0
        x = tnp.exp(x) - 0.5 * x / 3.0
    return tnp.sum(x)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_grad_compact_tape_matches_the_equations_bitwise(dtype):
    """grad records its products with constants as tape entries (StageTrace.compact); vjp,
    whose linear map escapes, records Equations. Both transpose the same products."""
    x = np.linspace(-1.3, 1.1, 17).astype(dtype)
    g = tc.grad(_chain)(x)
    _, pullback = tc.vjp(_chain, x)
    (expect,) = pullback(np.ones((), dtype))
    assert g.dtype == dtype
    np.testing.assert_array_equal(g, expect)
    tc.check_grads(_chain, (x.astype(np.float64),), order=2, modes=("fwd", "rev"))


def test_compact_stage_records_tape_entries_and_needs_escapes_false():
    from tensorcalc.interpreters.linearize import linearize_flat

    x = np.linspace(-1.0, 1.0, 5)
    _, lin = linearize_flat(lambda xs: [_chain(xs[0])], [x], escapes=False, compact=True)
    entries = [eq for eq in lin.program.equations if type(eq) is tuple]
    assert len(entries) >= 12  # sin, tanh, exp factors and the scalings by numbers
    _, lin2 = linearize_flat(lambda xs: [_chain(xs[0])], [x], escapes=False)
    assert not any(type(eq) is tuple for eq in lin2.program.equations)
    with pytest.raises(ValueError, match="compact=True needs escapes=False"):
        linearize_flat(lambda xs: [_chain(xs[0])], [x], compact=True)


def test_tape_entry_with_an_unexpected_cotangent_takes_the_rule():
    from tensorcalc.core.ir import Program, Var
    from tensorcalc.core.shapes import ShapedArray
    from tensorcalc.ops import strong_zero

    aval = ShapedArray((3,), np.dtype(np.float64))
    t, out = Var(aval), Var(aval)
    f = np.array([1.5, -2.0, 4.0])
    prog = Program([t], [(strong_zero.mul_sz_p, t, f, out)], [out])
    (ct,) = transpose.backward_pass(prog, [np.array([1.0, 2.0, 3.0])])
    np.testing.assert_array_equal(ct, [1.5, -4.0, 12.0])
    (ct,) = transpose.backward_pass(prog, [np.float64(2.0)])  # broadcast: the rule's path
    np.testing.assert_array_equal(ct, [3.0, -4.0, 8.0])
    prog = Program([t], [(strong_zero.div_sz_p, t, 4.0, out)], [out])
    (ct,) = transpose.backward_pass(prog, [np.array([1.0, 2.0, 3.0])])
    np.testing.assert_array_equal(ct, [0.25, 0.5, 0.75])


def test_compact_grad_releases_the_arrays_it_locked():
    x = np.linspace(-1.0, 1.0, 6)
    g = tc.grad(lambda v: tnp.sum(tnp.exp(v) * 2.0))(x)  # exp's factor is its own value
    np.testing.assert_allclose(g, 2.0 * np.exp(x), rtol=1e-15)
    assert x.flags.writeable
