"""Shape and indexing functions of ``tensorcalc.numpy``: traced values equal NumPy's, the
derivative conventions (sort ties, duplicated updates) hold, and bad input raises errors that
name the operator, the axis, the sizes and the shape."""

import warnings

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tests.records import shape as shape_records

RECORDS = shape_records.RECORDS


@pytest.mark.parametrize("rec", RECORDS, ids=[r.id for r in RECORDS])
def test_traced_value_equals_numpy(rec):
    args = rec.args(np.random.default_rng(1))
    want = rec.fn(*args)  # plain arrays: tnp calls NumPy directly
    got = tc.jvp(rec.fn, args, tuple(np.zeros_like(a) for a in args))[0]
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    prog = tc.trace(rec.fn, *args)  # shape rules agree with NumPy's results
    np.testing.assert_allclose(prog(*args)[0], want, rtol=1e-12, atol=1e-12)


def _jacobian(f, x):
    """Dense Jacobian ``out.shape + in.shape`` column by column with forward mode."""
    cols = []
    for k in range(x.size):
        e = np.zeros(x.size)
        e[k] = 1.0
        cols.append(np.asarray(tc.jvp(f, (x,), (e.reshape(x.shape),))[1]).ravel())
    out_shape = np.shape(f(x))
    return np.stack(cols, axis=-1).reshape(out_shape + x.shape)


def _jacobian_rev(f, x):
    out, pullback = tc.vjp(f, x)
    rows = []
    for k in range(np.size(out)):
        e = np.zeros(np.size(out))
        e[k] = 1.0
        rows.append(np.asarray(pullback(e.reshape(np.shape(out)))[0]).ravel())
    return np.stack(rows).reshape(np.shape(out) + x.shape)


# --- sort and argsort ----------------------------------------------------------------------


def test_sort_ties_follow_stable_order():
    x = np.array([1.0, 0.0, 1.0, 1.0])
    want = np.eye(4)[np.argsort(x, kind="stable")]  # row j picks the input sorted into place j
    np.testing.assert_array_equal(_jacobian(tnp.sort, x), want)
    np.testing.assert_array_equal(_jacobian_rev(tnp.sort, x), want)


def test_sort_descending_via_negation_and_axis():
    x = np.random.default_rng(0).standard_normal((3, 4))
    tc.check_grads(lambda x: -tnp.sort(-x, axis=0), (x,), order=3)


def test_argsort_has_no_derivative():
    x = np.array([3.0, 1.0, 2.0])
    out, t = tc.jvp(tnp.argsort, (x,), (np.ones(3),))
    np.testing.assert_array_equal(out, [1, 2, 0])
    assert not np.any(np.asarray(t))
    g = tc.grad(lambda x: tnp.sum(x * tnp.argsort(x)))(x)
    np.testing.assert_array_equal(g, [1, 2, 0])


def test_sort_and_traced_indices_stage():
    x = np.array([0.3, -1.0, 2.0])
    prog = tc.trace(lambda x: tnp.take_along_axis(x, tnp.argsort(x), 0) * tnp.sort(x), x)
    names = [eq.primitive.name for eq in prog.equations]
    assert "argsort" in names and "take_along_axis" in names
    np.testing.assert_allclose(prog(x)[0], np.sort(x) ** 2)
    grad_prog = tc.trace(tc.grad(lambda x: tnp.sum(tnp.sort(x) * np.arange(3.0))), x)
    np.testing.assert_allclose(grad_prog(x)[0], np.arange(3.0)[np.argsort(np.argsort(x))])


def test_getitem_with_argsort_eagerly():
    # Eagerly the indices are concrete, so plain indexing works; staged or batched, use
    # tnp.take / tnp.take_along_axis, which accept traced indices.
    x = np.array([0.5, -1.0, 2.0, 0.0])
    tc.check_grads(lambda x: x[tnp.argsort(x)] * tnp.sort(x), (x,))


# --- indexing ------------------------------------------------------------------------------


@pytest.mark.parametrize("idx", [5, -4, (0, 4), (slice(None), 7), np.array([0, 3]),
                                 (1, np.array([-5]))])
def test_getitem_out_of_range_names_axis_size_shape(idx):
    x = np.zeros((3, 4))
    axis = 1 if isinstance(idx, tuple) else 0
    expect = rf"out of bounds for axis {axis} with size {x.shape[axis]}"
    with pytest.raises(IndexError, match=expect):  # eager: the value is computed right away
        tc.grad(lambda x: tnp.sum(x[idx]))(x)
    with pytest.raises(IndexError, match=rf"getitem: .*{expect} \(array of shape \(3, 4\)\)"):
        tc.trace(lambda x: x[idx], x)  # staged: the shape rule reports it


def test_getitem_out_of_range_eager_names_shape():
    with pytest.raises(IndexError, match=r"getitem: .*axis 0 with size 3.*\(3, 2\)"):
        tc.grad(lambda x: tnp.sum(x[np.array([0, 3])]))(np.zeros((3, 2)))


def test_take_out_of_range():
    with pytest.raises(IndexError, match=r"take: index 4 is out of bounds for axis 1 with size "
                                         r"3 \(array of shape \(2, 3\)\)"):
        tc.grad(lambda x: tnp.sum(tnp.take(x, [0, 4], axis=1)))(np.zeros((2, 3)))


def test_take_along_axis_out_of_range():
    with pytest.raises(IndexError, match=r"take_along_axis: .*out of bounds.*\(2, 3\)"):
        tc.grad(lambda x: tnp.sum(tnp.take_along_axis(x, np.array([[0], [3]]), 1)))(
            np.zeros((2, 3)))


def test_take_along_axis_rank_mismatch():
    with pytest.raises(tc.ShapeError, match="same number of dimensions"):
        tc.grad(lambda x: tnp.sum(tnp.take_along_axis(x, np.array([0]), 1)))(np.zeros((2, 3)))


def test_mixed_advanced_indexing_matches_numpy_layout():
    x = np.arange(24.0).reshape(2, 3, 4)
    for idx in [(slice(None), [0, 2], 1), ([0, 1], slice(None), [3, 0]),
                (Ellipsis, [-1, 0]), (None, 1, [2, 2]), (np.array([True, False]), 1)]:
        out = tc.jvp(lambda x, i=idx: x[i], (x,), (np.ones_like(x),))
        np.testing.assert_array_equal(out[0], x[idx])
        np.testing.assert_array_equal(out[1], np.ones_like(x)[idx])


def test_getitem_duplicates_accumulate_in_reverse():
    x = np.array([1.0, 2.0, 3.0])
    g = tc.grad(lambda x: tnp.sum(x[np.array([0, 0, 2, 0])]))(x)
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])


def test_at_add_duplicates_and_broadcast():
    x = np.zeros((3, 2))
    v = np.array([1.0, 2.0])
    out = tnp.at(x)[np.array([0, 0, 2])].add(v)
    np.testing.assert_array_equal(out, [[2, 4], [0, 0], [1, 2]])
    gx, gv = tc.grad(lambda x, v: tnp.sum(tnp.at(x)[np.array([0, 0, 2])].add(v) ** 2),
                     argnums=(0, 1))(x, v)
    np.testing.assert_allclose(gx, 2 * out)
    np.testing.assert_allclose(gv, 2 * (2 * out[0] + out[2]))  # v is read three times


def test_at_set_broadcast_scalar():
    x = np.arange(6.0).reshape(3, 2)
    f = lambda x, v: tnp.sum(tnp.at(x)[:, 1].set(v) * np.arange(6.0).reshape(3, 2))  # noqa: E731
    gx, gv = tc.grad(f, argnums=(0, 1))(x, 2.0)
    np.testing.assert_array_equal(gx, [[0, 0], [2, 0], [4, 0]])
    assert gv == 1 + 3 + 5


def test_at_set_duplicates_last_write_wins():
    x = np.zeros(3)
    v = np.array([1.0, 2.0, 3.0])
    f = lambda x, v: tnp.at(x)[np.array([0, 2, 0])].set(v)  # noqa: E731
    np.testing.assert_array_equal(f(x, v), [3.0, 0.0, 2.0])
    # Entry 0 of v is overwritten by entry 2: it has no influence on the result.
    _, pullback = tc.vjp(f, x, v)
    np.testing.assert_array_equal(pullback(np.ones(3))[1], [0.0, 1.0, 1.0])


# --- shapes and errors ---------------------------------------------------------------------


def test_concatenate_shape_mismatch():
    with pytest.raises(tc.ShapeError, match=r"concatenate along axis 0: array 1 has shape "
                                            r"\(2, 4\) but array 0 has shape \(2, 3\)"):
        tc.grad(lambda a: tnp.sum(tnp.concatenate([a, np.zeros((2, 4))])))(np.zeros((2, 3)))
    with pytest.raises(tc.ShapeError, match="same number of dimensions"):
        tc.grad(lambda a: tnp.sum(tnp.concatenate([a, np.zeros(3)])))(np.zeros((2, 3)))


def test_stack_shape_mismatch():
    with pytest.raises(tc.ShapeError, match=r"stack: .*\(3,\) .*\(2,\)"):
        tc.grad(lambda a: tnp.sum(tnp.stack([a, a[:2]])))(np.zeros(3))


def test_split_unequal_division():
    with pytest.raises(ValueError, match="equal division"):
        tc.grad(lambda a: tnp.sum(tnp.split(a, 2)[0]))(np.zeros(5))


def test_split_unused_pieces_get_zero_cotangent():
    g = tc.grad(lambda a: tnp.sum(tnp.split(a, 3)[1] * 2.0))(np.ones(6))
    np.testing.assert_array_equal(g, [0, 0, 2, 2, 0, 0])


def test_pad_unsupported_mode_raises():
    with pytest.raises(NotImplementedError, match="pad: mode 'linear_ramp'"):
        tc.grad(lambda a: tnp.sum(tnp.pad(a, 1, mode="linear_ramp")))(np.zeros(3))


def test_pad_copies_accumulate():
    g = tc.grad(lambda a: tnp.sum(tnp.pad(a, (2, 1), mode="edge")))(np.ones(3))
    np.testing.assert_array_equal(g, [3, 1, 2])


def test_tril_does_not_leak_inf():
    x = np.array([[1.0, np.inf], [2.0, 3.0]])
    g = tc.grad(lambda x: tnp.sum(tnp.tril(x)))(x)
    np.testing.assert_array_equal(g, [[1, 0], [1, 1]])


def test_diag_and_diagonal_are_transposes():
    rng = np.random.default_rng(0)
    v, u = rng.standard_normal(3), rng.standard_normal((4, 4))
    _, pull = tc.vjp(lambda v: tnp.diag(v, 1), v)
    np.testing.assert_allclose(pull(u)[0], np.diag(u, 1))


def test_diag_rejects_3d():
    with pytest.raises(ValueError, match="diag: input must be 1-D or 2-D"):
        tc.grad(lambda a: tnp.sum(tnp.diag(a)))(np.zeros((2, 2, 2)))


def test_select_first_true_wins():
    x = np.array([-2.0, 0.0, 2.0])
    f = lambda x: tnp.select([x > -1, x > 1], [x * 2.0, x * 3.0], default=-x)  # noqa: E731
    np.testing.assert_array_equal(f(x), np.select([x > -1, x > 1], [x * 2, x * 3], -x))
    _, t = tc.jvp(f, (x,), (np.ones(3),))
    np.testing.assert_array_equal(t, [-1, 2, 2])


def test_numpy_functions_dispatch_to_tnp():
    x = np.random.default_rng(0).standard_normal((3, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = tc.grad(lambda x: np.sum(np.concatenate([np.flip(x), np.tril(x)]) ** 2))(x)
    np.testing.assert_allclose(g, 2 * (x + np.tril(x)))


def test_concatenate_cotangent_keeps_each_dtype():
    a, b = np.ones(2, np.float32), np.ones(3)
    ga, gb = tc.grad(lambda a, b: tnp.sum(tnp.concatenate([a, b]) ** 2), argnums=(0, 1))(a, b)
    assert ga.dtype == np.float32 and gb.dtype == np.float64


# --- batching of the transposed (reverse-mode) programs ------------------------------------

VJP_CASES = ["concatenate_ax1", "split_indices", "split_unused_piece", "roll_axes",
             "sort_axis0", "take_along_axis_broadcast", "take_traced_indices", "pad_reflect_wide",
             "diag_vec_k-1", "tile_tuple", "repeat_per_element"]


@pytest.mark.parametrize("rec_id", VJP_CASES)
def test_vmap_of_pullback_matches_loop(rec_id):
    from tensorcalc.transforms import vmap

    (rec,) = [r for r in RECORDS if r.id == rec_id]
    rng = np.random.default_rng(3)
    args = rec.args(rng)
    out, pullback = tc.vjp(rec.fn, *args)
    cts = rng.standard_normal((4,) + np.shape(out))
    expect = [pullback(c) for c in cts]
    got = vmap(pullback)(cts)
    for i in range(len(args)):
        np.testing.assert_allclose(got[i], np.stack([e[i] for e in expect]), rtol=1e-12,
                                   atol=1e-12)
