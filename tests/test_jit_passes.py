"""The jit passes preserve results and fire: buffer reuse (``out=``, ``del``), strong-zero,
identity/diagonal, uniform-constant and whole-slice simplifications; hypothesis drives random
small programs through the whole pipeline; jit composes with grad, jacobian and hessian."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.api_util import StrongZeroNaN
from tensorcalc.compile import dead_code_elimination, generate_source
from tensorcalc.compile.buffers import plan_buffers
from tensorcalc.compile.structured import (
    diagonal_matmul,
    strong_zero_simplification,
    uniform_constants,
    whole_slices,
)
from tensorcalc.core.ir import Literal
from tensorcalc.ops.strong_zero import div_sz, mul_sz
from tensorcalc.transforms import hessian, jacobian


def names(prog):
    return [eq.primitive.name for eq in prog.equations]


def mlp_loss(params, x):
    (W1, b1), (W2, b2) = params
    h = tnp.tanh(x @ W1 + b1)
    return tnp.mean((h @ W2 + b2) ** 2)


@pytest.fixture
def params(rng):
    return [(rng.standard_normal((4, 5)), rng.standard_normal(5)),
            (rng.standard_normal((5, 2)), rng.standard_normal(2))]


# --- buffer reuse ----------------------------------------------------------------------------


def test_buffer_reuse_fires_on_a_gradient_and_keeps_its_values(params, rng):
    x = rng.standard_normal((6, 4))
    g = tc.jit(tc.grad(mlp_loss))
    got = g(params, x)
    src = g.source()
    assert "out=" in src and "\n    del " in src
    for (a, b), (c, d) in zip(got, tc.grad(mlp_loss)(params, x), strict=True):
        np.testing.assert_allclose(a, c, rtol=1e-13)
        np.testing.assert_allclose(b, d, rtol=1e-13)


def test_buffer_reuse_never_writes_inputs_outputs_or_views(rng):
    def f(x):
        a = tnp.sin(x)          # returned: its buffer must survive
        t = tnp.transpose(a)    # a view of a, also returned
        b = tnp.exp(a) + 1.0    # exp's fresh buffer may take the add in place
        c = b * 2.0 - x         # x is an input: never an out=
        return a, t, c

    x = rng.standard_normal((3, 4))
    x0 = x.copy()
    a, t, c = tc.jit(f)(x)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_allclose(a, np.sin(x0))
    np.testing.assert_allclose(t, np.sin(x0).T)
    np.testing.assert_allclose(c, (np.exp(np.sin(x0)) + 1.0) * 2.0 - x0)
    src = tc.jit(f).source(x)
    assert "out=x" not in src


def test_each_call_returns_fresh_arrays(rng):
    f = tc.jit(lambda x: tnp.tanh(x * 2.0) + 1.0)
    x = rng.standard_normal(5)
    r1 = f(x)
    r2 = f(x)
    r1 += 100.0
    np.testing.assert_allclose(r2, np.tanh(2 * x) + 1)


def test_plan_reuses_a_dead_buffer_for_a_later_matmul(rng):
    def f(w, x):
        h = tnp.tanh(x @ w)              # (3, 3) buffers
        return tnp.sum(h @ w)

    prog = tc.jit(tc.grad(f)).program(np.eye(3), np.ones((3, 3)))
    plan = plan_buffers(prog)
    assert plan.reused >= 1
    src, _ = generate_source(prog, "g")
    src_plain, _ = generate_source(prog, "g", reuse_buffers=False)
    assert "out=" in src and "out=" not in src_plain and "del " not in src_plain


def test_no_out_into_a_buffer_of_another_dtype(rng):
    f = tc.jit(lambda x: (tnp.sin(x) > 0) * 1.0 + tnp.cos(x).astype(np.float32))
    x = rng.standard_normal(4)
    np.testing.assert_allclose(f(x), (np.sin(x) > 0) * 1.0 + np.cos(x).astype(np.float32))
    assert f(x).dtype == np.float64


# --- random programs (hypothesis) -------------------------------------------------------------

UNARY = [tnp.sin, tnp.tanh, tnp.negative, lambda v: v * v, lambda v: tnp.exp(-v * v),
         tnp.transpose, lambda v: v - tnp.sum(v, axis=0, keepdims=True)]
BINARY = [tnp.add, tnp.multiply, tnp.subtract, lambda a, b: a * 0.5 + b]


@st.composite
def programs(draw):
    steps = draw(st.lists(st.tuples(st.integers(0, len(UNARY) + len(BINARY) - 1),
                                    st.integers(0, 100), st.integers(0, 100)),
                          min_size=1, max_size=14))
    outs = draw(st.lists(st.integers(0, 100), min_size=1, max_size=3))
    return steps, outs


def build(steps, outs):
    def f(x):
        vals = [x]
        for op, i, j in steps:
            a, b = vals[i % len(vals)], vals[j % len(vals)]
            if op < len(UNARY):
                vals.append(UNARY[op](a))
            elif a.shape == b.shape:
                vals.append(BINARY[op - len(UNARY)](a, b))
            else:
                vals.append(a + 1.0)
        return tuple(vals[k % len(vals)] for k in outs)
    return f


@settings(max_examples=60, deadline=None)
@given(programs())
def test_random_programs_jit_equals_eager(prog):
    f = build(*prog)
    x = np.linspace(-1.0, 1.5, 9).reshape(3, 3)
    x0 = x.copy()
    got = tc.jit(f)(x)
    want = f(x)
    np.testing.assert_array_equal(x, x0)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-13, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(programs())
def test_random_programs_jit_of_grad_equals_grad(prog):
    f = build(*prog)

    def loss(x):
        return sum(tnp.sum(o * o) for o in f(x))

    x = np.linspace(-1.0, 1.5, 9).reshape(3, 3)
    np.testing.assert_allclose(tc.jit(tc.grad(loss))(x), tc.grad(loss)(x), rtol=1e-12,
                               atol=1e-14)


# --- structured simplifications ---------------------------------------------------------------


def test_strong_zero_with_constant_operands_becomes_plain_arithmetic():
    c = np.array([2.0, 3.0])
    prog = tc.trace(lambda t: div_sz(mul_sz(t, c), c) + mul_sz(np.ones(2), t), np.ones(2))
    assert "mul_sz" in names(prog) and "div_sz" in names(prog)
    simple = strong_zero_simplification(prog)
    assert "mul_sz" not in names(simple) and "div_sz" not in names(simple)
    t = np.array([0.5, -1.0])
    np.testing.assert_array_equal(simple(t)[0], prog(t)[0])


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")
def test_strong_zero_is_kept_where_the_factor_is_not_finite():
    f = np.array([1.0, np.inf])
    prog = strong_zero_simplification(tc.trace(lambda t: mul_sz(t, f), np.ones(2)))
    assert names(prog) == ["mul_sz"]
    np.testing.assert_array_equal(tc.jit(lambda t: mul_sz(t, f))(np.zeros(2)), [0.0, 0.0])


def test_diagonal_matmul_turns_diag_products_into_scalings(rng):
    W = rng.standard_normal((4, 3))
    prog = tc.trace(lambda d: (mul_sz(np.eye(4), d) @ W, W.T @ mul_sz(np.eye(4), d),
                               np.eye(4) @ W * d[:, None]), rng.standard_normal(4))
    simple = diagonal_matmul(prog)
    assert "matmul" not in names(dead_code_elimination(simple))
    d = rng.standard_normal(4)
    for a, b in zip(simple(d), prog(d), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-14)


def test_jit_of_jacobian_uses_the_diagonal_structure(rng):
    W1, W2 = rng.standard_normal((6, 5)), rng.standard_normal((4, 6))

    def f(x):
        return tnp.tanh(W2 @ tnp.tanh(W1 @ x))

    x = rng.standard_normal(5)
    jf = tc.jit(jacobian(f))
    np.testing.assert_allclose(jf(x), jacobian(f)(x), rtol=1e-12)
    assert all(eq.outputs[0].aval.shape != (4, 4) for eq in jf.program().equations)


def test_uniform_constants_become_scalars(rng):
    c = np.full((3, 4), 0.25)
    prog = tc.trace(lambda x: x * c + np.full((3, 4), 2.0, dtype=np.float32), np.ones((3, 4)))
    simple = uniform_constants(prog)
    consts = [a for eq in simple.equations for a in eq.inputs
              if isinstance(a, Literal)]
    assert consts and all(np.ndim(a.value) == 0 for a in consts)
    x = rng.standard_normal((3, 4))
    np.testing.assert_array_equal(simple(x)[0], prog(x)[0])
    assert simple(x)[0].dtype == prog(x)[0].dtype


def test_whole_slices_are_dropped(rng):
    prog = tc.trace(lambda x: x[0:3, :] * 2.0 + tnp.sum(x[0:2]), np.ones((3, 2)))
    simple = whole_slices(prog)
    assert names(simple).count("getitem") == 1
    x = rng.standard_normal((3, 2))
    np.testing.assert_array_equal(simple(x)[0], prog(x)[0])


# --- composition with the transforms ----------------------------------------------------------


def test_jit_composes_with_grad_jacobian_and_hessian(rng):
    A = rng.standard_normal((5, 5))

    def f(x):
        return tnp.sum(tnp.log(1.0 + tnp.exp(A @ x))) + x @ (A @ x)

    x = rng.standard_normal(5)
    np.testing.assert_allclose(tc.jit(tc.grad(f))(x), tc.grad(f)(x), rtol=1e-12)
    g = tc.grad(f)
    np.testing.assert_allclose(jacobian(tc.jit(g))(x), jacobian(g)(x), rtol=1e-12)
    np.testing.assert_allclose(tc.jit(hessian(f))(x), hessian(f)(x), rtol=1e-12)


def _sqrt_where_loss(W, x):
    # sqrt′(0) = ∞ in the branch the where does not take: 0 · ∞ in the plain product.
    y = tnp.where(x > 0, tnp.sqrt(tnp.where(x > 0, x, 0.0)), 0.0)
    return tnp.sum(W @ y)


def test_nan_checks_inside_the_program_rerun_checked_when_outputs_are_large(rng):
    # The W gradient (4000×5) is far larger than every strong-zero product (5 entries), so
    # the fast pass checks the products where they are made instead of scanning the result.
    W, x = rng.standard_normal((4000, 5)), np.array([0.0, 1.0, -2.0, 4.0, 0.0])
    g = tc.jit(tc.grad(_sqrt_where_loss, argnums=(0, 1)))
    gW, gx = g(W, x)
    assert "_nan(" in g.source(W, x)
    with pytest.raises(StrongZeroNaN), np.errstate(all="ignore"):
        g.compile(W, x).fn(W, x)  # the fast pass sees its own 0 · ∞ and signals the rerun
    eW, ex = tc.grad(_sqrt_where_loss, argnums=(0, 1))(W, x)
    assert np.all(np.isfinite(gx)) and gx[0] == 0.0 and gx[4] == 0.0
    np.testing.assert_allclose(gx, ex, rtol=1e-15)
    np.testing.assert_allclose(gW, eW, rtol=1e-15)


def test_result_is_scanned_when_it_is_small(rng):
    W, x = rng.standard_normal((2, 5)), np.array([0.0, 1.0, -2.0, 4.0, 0.0])
    g = tc.jit(tc.grad(_sqrt_where_loss, argnums=1))
    assert "_nan(" not in g.source(W, x)
    np.testing.assert_allclose(g(W, x), tc.grad(_sqrt_where_loss, argnums=1)(W, x), rtol=1e-15)
    assert g(W, x)[0] == 0.0


@pytest.mark.parametrize("zero", [0.0, np.float64(0.0), 0j])
def test_cse_keeps_a_product_by_minus_zero_apart_from_one_by_zero(zero, monkeypatch):
    """0.0 == -0.0, but x · -0.0 is -0 where x · 0.0 is +0: CSE must not share the two, and a
    table (long programs, compile/table.py) must not share their constants' register."""
    from tensorcalc.compile import table

    def f(x):
        return x * zero, x * -zero

    x = np.array([1.0, 2.0])
    want = f(x)
    for above in (table.TABLE_ABOVE, 0):
        monkeypatch.setattr(table, "TABLE_ABOVE", above)
        got = tc.jit(f)(x)
        for a, b in zip(got, want, strict=True):
            for part in (np.real, np.imag):
                np.testing.assert_array_equal(np.signbit(part(a)), np.signbit(part(b)))
            np.testing.assert_array_equal(a, b)
