"""tc.jit: one compilation per signature, generated NumPy code equal to eager results, the
optimization passes, and composition with the other transformations."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.compile import (
    algebraic_simplification,
    common_subexpression_elimination,
    constant_folding,
    dead_code_elimination,
)


def mlp_loss(params, x):
    (W1, b1), (W2, b2) = params
    h = tnp.tanh(x @ W1 + b1)
    return tnp.mean((h @ W2 + b2) ** 2)


@pytest.fixture
def params(rng):
    return [(rng.standard_normal((4, 5)), rng.standard_normal(5)),
            (rng.standard_normal((5, 2)), rng.standard_normal(2))]


def test_jit_matches_eager_and_caches(params, rng):
    x = rng.standard_normal((3, 4))
    f = tc.jit(mlp_loss)
    np.testing.assert_allclose(f(params, x), mlp_loss(params, x), rtol=1e-14)
    f(params, x * 2)
    assert len(f.cache) == 1
    f(params, rng.standard_normal((7, 4)))
    assert len(f.cache) == 2


def test_jit_of_grad_equals_grad(params, rng):
    x = rng.standard_normal((3, 4))
    g = tc.jit(tc.grad(mlp_loss))
    for (a, b), (c, d) in zip(g(params, x), tc.grad(mlp_loss)(params, x), strict=True):
        np.testing.assert_allclose(a, c, rtol=1e-13)
        np.testing.assert_allclose(b, d, rtol=1e-13)
    src = g.source()
    assert src.startswith("def ") and "np.matmul" in src and "tanh" in src


def test_grad_and_jvp_of_jit_compose(rng):
    x = rng.standard_normal(4)
    f = tc.jit(lambda x: tnp.sum(tnp.sin(x) ** 2))
    np.testing.assert_allclose(tc.grad(f)(x), 2 * np.sin(x) * np.cos(x))
    tc.check_grads(f, (x,), order=2)


def test_static_argnums(rng):
    f = tc.jit(lambda x, n: tnp.sum(x ** n), static_argnums=1)
    x = rng.standard_normal(3)
    assert f(x, 2) == pytest.approx(np.sum(x ** 2))
    assert f(x, 3) == pytest.approx(np.sum(x ** 3))
    assert len(f.cache) == 2
    with pytest.raises(TypeError, match="hashable"):
        f(x, np.array([1, 2]))


def test_value_dependent_control_flow_under_jit_is_a_clear_error():
    def f(x):
        return x * 2 if tnp.sum(x) > 0 else -x

    with pytest.raises(tc.ConcretizationError, match="static_argnums"):
        tc.jit(f)(np.ones(2))
    np.testing.assert_allclose(f(np.ones(2)), [2, 2])  # eager keeps working


def test_passes_simplify_the_gradient_program():
    prog = tc.jit(tc.grad(lambda x: tnp.sum(x * x))).program(np.ones(3))
    names = [eq.primitive.name for eq in prog.equations]
    # the ones-cotangent of the sum and its broadcast vanish: 2x is what is left
    assert "reduce_sum" not in names and "broadcast_to" not in names
    assert len(prog.equations) <= 2


def test_individual_passes():
    prog = tc.trace(lambda x: (tnp.transpose(tnp.transpose(x)) * 1.0 + 0.0) + x * 2.0
                    + x * 2.0, np.ones((2, 3)))
    p = dead_code_elimination(algebraic_simplification(prog))
    assert all(eq.primitive.name != "transpose" for eq in p.equations)
    p = common_subexpression_elimination(p)
    assert sum(eq.primitive.name == "mul" for eq in p.equations) == 1
    p = dead_code_elimination(constant_folding(p))
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(p(x)[0], prog(x)[0])


def test_constant_folding_evaluates_constant_subprograms():
    c = np.arange(3.0)
    prog = tc.trace(lambda x: x + tnp.exp(c) * 2.0, np.ones(3))
    folded = constant_folding(prog)
    assert [eq.primitive.name for eq in folded.equations] == ["add"]


def test_grad_results_are_writable_arrays():
    g = tc.grad(lambda x: tnp.sum(x))(np.ones(3))
    g -= 1.0
    np.testing.assert_array_equal(g, np.zeros(3))


def test_integer_and_boolean_sums_stage_with_numpys_dtype():
    # The shape rule of reduce_sum once probed NumPy with a 0-d stand-in, which has no axis 0.
    x = np.array([1.0, -2.0, 3.0])
    for f in (lambda v: tnp.sum(v > 0), lambda v: tnp.sum(tnp.astype(v > 0, np.int64)),
              lambda v: tnp.sum(tnp.astype(v > 0, np.uint8), axis=0)):
        got = tc.jit(f)(x)
        want = f(x)
        assert got == want and np.asarray(got).dtype == np.asarray(want).dtype


def test_the_per_call_fast_path_keys_on_shapes_dtypes_and_containers(rng):
    """Arrays and lists/tuples of arrays by position skip the pytree flatten (jit.__call__):
    each signature still gets its own program, and anything else takes the general path."""
    calls = []

    def f(p, x):
        calls.append(None)  # counts stagings
        return tnp.sum(p[0] @ x + p[1])

    j = tc.jit(f)
    p, x = [rng.standard_normal((3, 4)), rng.standard_normal(3)], rng.standard_normal(4)
    want = float(np.sum(p[0] @ x + p[1]))
    assert j(p, x) == pytest.approx(want) and j(p, x) == pytest.approx(want)
    assert len(calls) == 1 and len(j._by_arrays) == 1
    assert j(tuple(p), x) == pytest.approx(want)  # a tuple is another signature
    assert j(p, x.astype(np.float32)) == pytest.approx(want, rel=1e-6)
    assert j([p[0], 2.0], x) == pytest.approx(float(np.sum(p[0] @ x + 2.0)))  # a scalar leaf
    assert j(p, 2 * x) == pytest.approx(float(np.sum(p[0] @ (2 * x) + p[1])))  # new values
    assert len(calls) == 4 and len(j._by_arrays) == 3
    q = [rng.standard_normal((2, 4)), rng.standard_normal(2)]  # new shapes
    assert j(q, x) == pytest.approx(float(np.sum(q[0] @ x + q[1]))) and len(calls) == 5
    assert j({0: p[0], 1: p[1]}, x) == pytest.approx(want)  # a dict: the general path
    ma = np.ma.masked_array(x, mask=[0, 1, 0, 0])
    with pytest.raises(TypeError, match="masked"):
        j(p, ma)
    # under another transformation the function runs on tracers, never the cached program
    g = tc.grad(lambda x: j(p, x))(x)
    np.testing.assert_allclose(g, p[0].sum(axis=0), rtol=1e-13)


def test_division_by_a_power_of_two_becomes_the_same_bits_multiplication():
    """x / 2ᵏ → x · 2⁻ᵏ (algebraic_simplification): the same real number, so the same bits for
    every float x — subnormal results, infinities and NaN included — and no other divisor."""
    x = np.array([1.0, -3.0, 5e-324, 2.5e-308, np.inf, -np.inf, np.nan, 1e308, -0.0, 7.0])
    divisors = [4.0, 0.5, np.float64(8.0), np.array(2.0 ** -20), 2.0 ** 1000, -16.0,
                3.0, 0.1, 2.0 ** 1023, 2.0 ** -1074]
    for c in divisors:
        f = tc.jit(lambda v, c=c: v / c)
        with np.errstate(all="ignore"):
            want = x / c
            np.testing.assert_array_equal(f(x), want)
            np.testing.assert_array_equal(f(x.astype(np.float32)), x.astype(np.float32) / c)
        src = f.source(x)
        power = c in (4.0, 0.5, 8.0, 2.0 ** -20, 2.0 ** 1000, -16.0)
        assert ("multiply" in src) == power and ("divide" in src) != power, (c, src)
    # the reciprocal must be normal in the type the division is computed in: 2¹³⁰ is not a
    # float32, so x / 2⁻¹³⁰ of a float32 x stays a division (x · 2¹³⁰ would be inf)
    x32 = np.array([2.0 ** -10, 1.0, -3.0, 1e-40], np.float32)
    for c in (2.0 ** -130, 2.0 ** -127, 2.0 ** 127, np.float32(2.0 ** -130)):
        with np.errstate(all="ignore"):
            np.testing.assert_array_equal(tc.jit(lambda v, c=c: v / c)(x32), x32 / c)
    # integers keep their true division (a float result either way, but not rewritten)
    f = tc.jit(lambda v: v / 4.0)
    assert "divide" in f.source(np.arange(4))
    np.testing.assert_array_equal(f(np.arange(4)), np.arange(4) / 4.0)


def test_reshape_and_transpose_take_the_arrays_method_and_numpys_result(rng):
    # The generated code calls ``_reshape``/``_transpose`` (the array's own method, a quarter
    # of the cost of NumPy's functions); the results must be NumPy's, the reshape of a
    # transposed (non-contiguous) view included, and a Python number (no method) still works.
    x = rng.standard_normal((6, 4))

    def f(v):
        t = tnp.transpose(tnp.reshape(v, (3, 2, 4)), (1, 2, 0))
        return t, tnp.reshape(t, (8, 3))

    g = tc.jit(f)
    t, r = g(x)
    want_t = np.transpose(np.reshape(x, (3, 2, 4)), (1, 2, 0))
    np.testing.assert_array_equal(t, want_t)
    np.testing.assert_array_equal(r, np.reshape(want_t, (8, 3)))
    assert "_reshape(" in g.source(x) and "np.reshape(" not in g.source(x)
    assert "_transpose(" in g.source(x)
    scalar = tc.jit(lambda s: tnp.reshape(s, (1, 1)) * 2.0)
    np.testing.assert_array_equal(scalar(3.0), [[6.0]])  # a float has no method: NumPy's
    assert tc.jit(tc.grad(lambda s: tnp.sum(tnp.reshape(s, (1, 1)) ** 2)))(3.0) == 6.0
