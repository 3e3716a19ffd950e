"""The NumPy names of issue 17 compute NumPy's values on traced input, and the JAX idioms
work: every ``np_*`` op record's traced value equals NumPy's (the plain-array path), lists of
traced values build arrays with NumPy's dtype, ``.at[]`` updates, operators, conversions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tests.records import numpy_names

RECS = numpy_names.RECORDS


def _zeros_like_tree(args):
    return tuple(np.zeros_like(a) for a in args)


@pytest.mark.parametrize("rec", RECS, ids=[r.id for r in RECS])
def test_traced_value_is_numpys(rec):
    args = rec.args(np.random.default_rng(7))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = rec.fn(*args)                           # plain arrays: NumPy's own functions
        got = tc.jvp(rec.fn, args, _zeros_like_tree(args))[0]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_quantile_methods_match_numpy():
    x = np.random.default_rng(0).standard_normal((4, 7))
    for method in ("linear", "lower", "higher", "nearest", "midpoint"):
        for q in (0.0, 0.25, 0.5, 0.9, 1.0):
            def f(v, q=q, method=method):
                return tnp.quantile(v, q, axis=1, method=method)

            got = tc.jvp(f, (x,), (np.zeros_like(x),))[0]
            np.testing.assert_allclose(got, np.quantile(x, q, axis=1, method=method))


def test_median_of_a_slice_with_nan_is_nan_like_numpy():
    x = np.array([[1.0, np.nan, 3.0], [1.0, 2.0, 4.0]])
    got = tc.jvp(lambda v: tnp.median(v, axis=1), (x,), (np.zeros_like(x),))[0]
    np.testing.assert_array_equal(np.isnan(got), [True, False])


def test_array_of_list_of_tracers_keeps_numpy_dtype_rules():
    seen = {}

    def f(x):
        seen["f64"] = tnp.array([x[0], 1, 2.5]).dtype
        seen["f32"] = tnp.array([x[0].astype(np.float32), 1.0]).dtype
        seen["shape"] = tnp.asarray([[x[0], x[1]], [3.0, x[0] * x[1]]]).shape
        return tnp.array([[x[0], x[1]], [3.0, x[0] * x[1]]]).sum()

    g = tc.grad(f)(np.array([2.0, 5.0]))
    np.testing.assert_allclose(g, [6.0, 3.0])
    assert seen == {"f64": np.float64, "f32": np.float32, "shape": (2, 2)}


def test_ragged_list_of_tracers_raises_clearly():
    with pytest.raises(tc.ShapeError, match="ragged"):
        tc.grad(lambda x: tnp.array([x, x[:1]]).sum())(np.ones(2))


def test_tnp_functions_accept_lists_of_traced_values():
    def f(a, b):
        return tnp.mean([a, b]) + tnp.sum([a, 2.0 * b]) + tnp.max([a, b]) + tnp.sin([a, b]).sum()

    a, b = 0.3, 1.7
    ga, gb = tc.grad(f, argnums=(0, 1))(a, b)
    np.testing.assert_allclose([ga, gb], [0.5 + 1 + np.cos(a), 0.5 + 2 + 1 + np.cos(b)])


def test_like_constants_under_grad_jit_vmap():
    def f(x):
        return (tnp.zeros_like(x) + tnp.ones_like(x) + tnp.empty_like(x) * 0.0
                + tnp.full_like(x, 3.0)) * x

    x = np.arange(3.0)
    for fn in (f, tc.jit(f)):
        np.testing.assert_allclose(fn(x), 4 * x)
    np.testing.assert_allclose(tc.vmap(f)(np.ones((2, 3))), 4 * np.ones((2, 3)))
    np.testing.assert_allclose(tc.grad(lambda v: f(v).sum())(x), 4 * np.ones(3))


def test_mod_floordiv_divmod_operators():
    x = np.array([5.5, -3.25, 7.0])
    g = tc.grad(lambda v: (v % 2.0 + v // 2.0 + divmod(v, 3.0)[1] + 10.0 % (v + 20.0)).sum())(x)
    np.testing.assert_allclose(g, [2.0, 2.0, 2.0])


def test_bitwise_operators_on_traced_booleans_under_jit():
    def f(x):
        m = (x > 0) & ~(x > 2) | (x < -5) ^ (x < -6)
        return tnp.where(m, x, 0.0)

    x = np.array([-7.0, -5.5, 1.0, 3.0])
    m = (x > 0) & ~(x > 2) | (x < -5) ^ (x < -6)
    np.testing.assert_allclose(tc.jit(f)(x), np.where(m, x, 0.0))
    np.testing.assert_allclose(tc.grad(lambda v: f(v).sum())(x), m.astype(float))


@pytest.mark.parametrize("op, what", [(int, "int()"), (float, "float()"),
                                      (complex, "complex()"), (lambda t: t.item(), "item()")])
def test_conversions_name_the_operation(op, what):
    with pytest.raises(tc.ConcretizationError, match=what.replace("(", r"\(").replace(")", r"\)")):
        tc.grad(lambda x: op(x) * x)(1.0)


def test_bool_and_index_under_jit_name_the_operation():
    with pytest.raises(tc.ConcretizationError, match=r"bool\(\).*`if`"):
        tc.jit(lambda x: x if x > 0 else -x)(1.0)
    with pytest.raises(tc.ConcretizationError, match="index or a size"):
        tc.jit(lambda x, n: x * len(range(n)))(1.0, np.int64(3))


def test_bool_and_index_work_eagerly():
    def f(x, n):
        return x * x if x > 0 else -x + np.ones(n).sum()

    assert tc.grad(f)(3.0, 2) == 6.0


def test_writing_a_tracer_into_a_numpy_array_names_concretization():
    def slice_assign(x):
        buf = np.zeros(3)
        buf[:2] = x
        return x.sum()

    def scalar_assign(x):
        buf = np.zeros(3)
        buf[0] = x[0]
        return x.sum()

    with pytest.raises(tc.ConcretizationError):
        tc.grad(slice_assign)(np.ones(2))
    # NumPy turns a failing scalar conversion into its own ValueError; ours is the cause.
    with pytest.raises(ValueError) as info:
        tc.grad(scalar_assign)(np.ones(2))
    assert isinstance(info.value.__cause__, tc.ConcretizationError)
    assert "NumPy array element" in str(info.value.__cause__)


def test_at_updates_follow_jax_semantics():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    idx = np.array([0, 2, 0])
    at = tnp.at(x)
    np.testing.assert_allclose(at[idx].multiply(3.0), [9.0, 2.0, 9.0, 4.0])
    np.testing.assert_allclose(at[idx].add(1.0), [3.0, 2.0, 4.0, 4.0])
    np.testing.assert_allclose(at[idx].min(np.array([0.5, 5.0, 0.7])), [0.5, 2, 3, 4])
    np.testing.assert_allclose(at[np.array([1, 9])].set(0.0, mode="drop"), [1, 0, 3, 4])
    np.testing.assert_allclose(at[np.array([1, 9])].get(mode="fill", fill_value=-1.0), [2, -1])
    np.testing.assert_allclose(at[np.array([1, 9])].get(mode="clip"), [2, 4])
    np.testing.assert_allclose(at[1:3].apply(np.negative, indices_are_sorted=True,
                                             unique_indices=True), [1, -2, -3, 4])
    with pytest.raises(IndexError):
        at[np.array([9])].set(0.0)


def test_inplace_functions_on_tracers_need_inplace_false():
    with pytest.raises(TypeError, match="inplace=False"):
        tc.grad(lambda x: tnp.fill_diagonal(x, 0.0).sum())(np.ones((2, 2)))


def test_fft_matches_numpy_for_all_norms():
    x = np.random.default_rng(1).standard_normal((4, 6))
    for norm in (None, "ortho", "forward"):
        for name in ("fft", "ifft", "rfft", "fftn", "ifftn", "rfftn", "ihfft"):
            got = tc.jvp(lambda v, name=name, norm=norm: getattr(tnp.fft, name)(v, norm=norm), (x,),
                         (np.zeros_like(x),))[0]
            np.testing.assert_allclose(got, getattr(np.fft, name)(x, norm=norm), atol=1e-12)
        c = np.fft.rfft(x)
        for name in ("irfft", "hfft", "irfftn"):
            got = tc.jvp(lambda v, name=name, norm=norm: getattr(tnp.fft, name)(
                tnp.fft.rfft(v), norm=norm), (x,),
                         (np.zeros_like(x),))[0]
            np.testing.assert_allclose(got, getattr(np.fft, name)(c, norm=norm), atol=1e-12)


def test_fft_under_jit_and_vmap():
    x = np.random.default_rng(2).standard_normal((3, 8))

    def f(v):
        return tnp.fft.irfft(tnp.fft.rfft(v) * np.exp(-np.arange(5.0)))

    want = np.fft.irfft(np.fft.rfft(x) * np.exp(-np.arange(5.0)))
    np.testing.assert_allclose(tc.jit(f)(x), want, atol=1e-12)
    np.testing.assert_allclose(tc.vmap(f)(x), want, atol=1e-12)


_A = np.random.default_rng(3).standard_normal(5)
_V = np.random.default_rng(4).standard_normal(7)
_M = np.random.default_rng(5).standard_normal((3, 4))

EDGE_CASES = {
    # name: (tensorcalc form, NumPy form, arguments) — run on traced values, compared to NumPy
    "correlate_longer_v": (lambda a, v: tnp.correlate(a, v, "full"),
                           lambda a, v: np.correlate(a, v, "full"), (_A, _V)),
    "correlate_same": (lambda a, v: tnp.correlate(a, v, "same"),
                       lambda a, v: np.correlate(a, v, "same"), (_A, _V)),
    "convolve_same_longer_v": (lambda a, v: tnp.convolve(a, v, "same"),
                               lambda a, v: np.convolve(a, v, "same"), (_A, _V)),
    "r_trans1d": (lambda a: tnp.r_["0,2,0", a, a], lambda a: np.r_["0,2,0", a, a], (_A,)),
    "r_linspace": (lambda a: tnp.r_[a, 0:1:4j], lambda a: np.r_[a, 0:1:4j], (_A,)),
    "block_3_levels": (lambda m: tnp.block([[[m, m]], [[m, m]]]),
                       lambda m: np.block([[[m, m]], [[m, m]]]), (_M,)),
    "insert_columns": (lambda m: tnp.insert(m, [1, 2], [[1.0], [2.0], [3.0]], axis=1),
                       lambda m: np.insert(m, [1, 2], [[1.0], [2.0], [3.0]], axis=1), (_M,)),
    "delete_slice": (lambda m: tnp.delete(m, slice(0, 3, 2), axis=1),
                     lambda m: np.delete(m, slice(0, 3, 2), axis=1), (_M,)),
    "quantile_keepdims": (lambda m: tnp.quantile(m, [0.2, 0.7], axis=1, keepdims=True),
                          lambda m: np.quantile(m, [0.2, 0.7], axis=1, keepdims=True), (_M,)),
    "searchsorted_sorter": (lambda v: tnp.searchsorted(v, _A, sorter=np.argsort(v)),
                            lambda v: np.searchsorted(v, _A, sorter=np.argsort(v)), (_V,)),
    "digitize_decreasing": (lambda x: tnp.digitize(x, np.array([2.0, 0.5, -1.0])),
                            lambda x: np.digitize(x, np.array([2.0, 0.5, -1.0])), (_A,)),
    "gradient_coords_edge2": (
        lambda m: tnp.gradient(m, np.array([0, 0.3, 1.0, 1.7]), axis=1, edge_order=2),
        lambda m: np.gradient(m, np.array([0, 0.3, 1.0, 1.7]), axis=1, edge_order=2), (_M,)),
    "interp_period": (
        lambda x: tnp.interp(x, np.array([0.1, 1.0, 2.5]), np.array([1.0, 3.0, -1.0]),
                             period=3.0),
        lambda x: np.interp(x, np.array([0.1, 1.0, 2.5]), np.array([1.0, 3.0, -1.0]),
                            period=3.0), (_A,)),
    "polyfit_weights": (lambda x: tnp.polyfit(x, np.sin(x), 2, w=np.arange(1.0, 6.0)),
                        lambda x: np.polyfit(x, np.sin(x), 2, w=np.arange(1.0, 6.0)), (_A,)),
    "hfft_n": (lambda a: tnp.fft.hfft(tnp.fft.rfft(a), 9),
               lambda a: np.fft.hfft(np.fft.rfft(a), 9), (_A,)),
    "irfft2_axes": (lambda m: tnp.fft.irfft2(tnp.fft.rfft2(m, axes=(1, 0)), axes=(1, 0), s=(4, 3)),
                    lambda m: np.fft.irfft2(np.fft.rfft2(m, axes=(1, 0)), axes=(1, 0),
                                            s=(4, 3)), (_M,)),
    "choose_clip": (lambda m: tnp.choose(np.array([0, 3, 1, 2]), [m[0], m[1], m[2]], mode="clip"),
                    lambda m: np.choose(np.array([0, 3, 1, 2]), [m[0], m[1], m[2]], mode="clip"),
                    (_M,)),
}


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_compositions_match_numpy_on_edge_cases(name):
    ours, theirs, args = EDGE_CASES[name]
    got = tc.jvp(ours, args, _zeros_like_tree(args))[0]
    np.testing.assert_allclose(got, theirs(*args), atol=1e-12)
