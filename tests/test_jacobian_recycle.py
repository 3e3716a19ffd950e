"""An eager Jacobian function writes its large dense products into arrays its earlier calls made,
once nothing else holds them (accumulate/recycle.py), and remembers the skeleton of each
program shape (jacobians/skeleton.py). Neither may change a result the caller can see: results
are checked against NumPy closed forms and central differences, never against the code under
test; a held result, a view of one and a weakly referenced one keep their numbers."""

from __future__ import annotations

import threading
import weakref

import numpy as np
import pytest

import tensorcalc.numpy as tnp
from tensorcalc.accumulate import recycle
from tensorcalc.jacobians import driver, skeleton
from tensorcalc.transforms import jacobian
from tests.finite_diff import central_jacobian

RNG = np.random.default_rng(7)
# The scaled intermediate and the result are 96 x 192 float64 blocks (144 KiB), above
# recycle.MIN_BYTES, so both are recycled.
W1 = RNG.standard_normal((192, 192)) / 12
W2 = RNG.standard_normal((96, 192)) / 12


def f(x):
    return tnp.tanh(W2 @ tnp.tanh(W1 @ x))


def closed(x):
    h1 = np.tanh(W1 @ x)
    h2 = np.tanh(W2 @ h1)
    return ((1 - h2 ** 2)[:, None] * W2) @ ((1 - h1 ** 2)[:, None] * W1)


def _points(n):
    return [RNG.standard_normal(192) for _ in range(n)]


needs_count = pytest.mark.skipif(recycle.ALONE is None,
                                 reason="this interpreter's reference count cannot tell a "
                                        "dropped array from a held one: nothing is recycled")


@needs_count
def test_dropped_results_are_written_into_again():
    jac = jacobian(f)
    made = []
    real = recycle.np.empty

    def counting(shape, dtype):
        made.append(shape)
        return real(shape, dtype)

    recycle.np = _NumpyWith(empty=counting)
    try:
        for x in _points(8):
            np.testing.assert_allclose(jac(x), closed(x), rtol=1e-12, atol=1e-14)
    finally:
        recycle.np = np
    # Calls 1 and 2 allocate (the result of call 1 is still bound during call 2 in a loop
    # like `J = jac(x)`; here it is dropped at once, so call 2 may already recycle); after
    # that every large array is one an earlier call made.
    assert 0 < len(made) <= 4, made


class _NumpyWith:
    """NumPy with one function replaced (to count the allocations recycle.py makes)."""

    def __init__(self, **over):
        self.__dict__.update(over)

    def __getattr__(self, name):
        return getattr(np, name)


def test_held_results_and_views_keep_their_numbers():
    jac = jacobian(f)
    xs = _points(6)
    held = [jac(x) for x in xs]                     # every result held
    view = jac(xs[0])[:3]                           # only a view of this one held
    for x in _points(5):
        jac(x)                                      # dropped: these may be recycled
    for x, J in zip(xs, held, strict=True):
        np.testing.assert_allclose(J, closed(x), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(view, closed(xs[0])[:3], rtol=1e-12, atol=1e-14)


def test_a_weakly_referenced_result_is_never_written_into():
    jac = jacobian(f)
    x0 = RNG.standard_normal(192)
    J = jac(x0)
    ref = weakref.ref(J)
    expect = J.copy()
    del J
    for x in _points(4):
        jac(x)
    J = ref()
    if J is not None:  # still alive (the recycler keeps it), so it must be unchanged
        np.testing.assert_array_equal(J, expect)


def test_recycled_results_match_central_differences_in_both_layouts():
    for layout in ("numerator", "denominator"):
        jac = jacobian(f, layout=layout)
        for x in _points(3):
            got = jac(x)
            num = central_jacobian(f_np, x)
            np.testing.assert_allclose(got if layout == "numerator" else got.T, num,
                                       rtol=1e-6, atol=1e-8)


def f_np(x):
    return np.tanh(W2 @ np.tanh(W1 @ x))


def test_concurrent_calls_never_share_memory_or_numbers():
    jac = jacobian(f)
    xs = _points(16)
    out: dict[int, np.ndarray] = {}
    errors = []

    def work(k):
        try:
            for _ in range(3):
                jac(xs[k])                          # dropped results, to recycle
            out[k] = jac(xs[k])
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(xs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for k, x in enumerate(xs):
        np.testing.assert_allclose(out[k], closed(x), rtol=1e-12, atol=1e-14)
    for a in range(len(xs)):
        for b in range(a):
            assert not np.shares_memory(out[a], out[b])


def test_recycler_hands_out_only_arrays_nothing_else_holds():
    r = recycle.Recycler()
    shape = (recycle.MIN_BYTES // 8,)
    first = r.empty(shape, np.float64)
    r.finish()
    a = r.empty(shape, np.float64)
    assert a is not first                           # `first` is still held here
    r.finish()
    del first, a
    b = r.empty(shape, np.float64)
    if recycle.ALONE is not None:
        assert b.base is None and any(b is k for k in r.made)
        c = r.empty(shape, np.float64)
        d = r.empty(shape, np.float32)              # another dtype: never the same array
        assert len({id(b), id(c), id(d)}) == 3
    small = r.empty((4,), np.float64)               # below MIN_BYTES: not remembered
    assert all(small is not k for k in r.made)


def test_recycler_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(recycle, "MAX_BYTES", 3 * recycle.MIN_BYTES)
    r = recycle.Recycler()
    shape = (recycle.MIN_BYTES // 8,)
    for _ in range(5):
        for _ in range(4):
            r.empty(shape, np.float64)
        r.finish()
    assert sum(a.nbytes for a in r.kept) <= 3 * recycle.MIN_BYTES
    monkeypatch.setattr(recycle, "MAX_BYTES", 1 << 30)
    r = recycle.Recycler()
    held = []
    for _ in range(6):
        held.append(r.empty(shape, np.float64))     # held: never recycled, so always new
        r.finish()
        assert len(r.kept) <= recycle.GENERATIONS


# --- skeletons ---------------------------------------------------------------------------------


@pytest.fixture
def counted_skeletons(monkeypatch):
    skeleton.clear()
    built = []
    real = skeleton._skeleton

    def counting(*args):
        built.append(args)
        return real(*args)

    monkeypatch.setattr(skeleton, "_skeleton", counting)
    yield built
    skeleton.clear()


def test_a_program_shape_is_planned_once(counted_skeletons):
    jac = jacobian(f)
    for x in _points(5):
        np.testing.assert_allclose(jac(x), closed(x), rtol=1e-12, atol=1e-14)
    assert len(counted_skeletons) == 1


def test_the_skeleton_gives_the_bits_of_the_full_plan(monkeypatch):
    x = RNG.standard_normal(192)
    with_skeleton = jacobian(f)(x)
    monkeypatch.setattr(driver, "elimination_for", lambda lin: None)
    np.testing.assert_array_equal(jacobian(f)(x), with_skeleton)


def test_control_flow_and_constants_that_change_structure_get_their_own_skeleton(
        counted_skeletons):
    c = np.linspace(0.5, 1.5, 6)

    def g(x):
        y = tnp.sin(x) * (c if x[0] > 0 else 2.0)   # an array or a scalar constant
        if x[1] > 0:
            y = tnp.tanh(y) + x * x
        return tnp.cumsum(y) if x[2] > 0 else y[::-1]

    def g_np(x):
        y = np.sin(x) * (c if x[0] > 0 else 2.0)
        if x[1] > 0:
            y = np.tanh(y) + x * x
        return np.cumsum(y) if x[2] > 0 else y[::-1]

    jac = jacobian(g)
    signs = [(s0, s1, s2) for s0 in (1, -1) for s1 in (1, -1) for s2 in (1, -1)]
    for _ in range(2):
        for s in signs:
            x = RNG.uniform(0.2, 1.0, 6)
            x[:3] *= s
            np.testing.assert_allclose(jac(x), central_jacobian(g_np, x), rtol=1e-6,
                                       atol=1e-8)
    assert len(counted_skeletons) <= len(signs)     # the second round re-used every one


def test_programs_of_other_sizes_do_not_share_a_skeleton(counted_skeletons):
    def h(x):
        return tnp.tanh(x) * x

    for n in (3, 4, 3, 4):
        x = RNG.standard_normal(n)
        np.testing.assert_allclose(jacobian(h)(x), np.diag(np.tanh(x) + x / np.cosh(x) ** 2),
                                   rtol=1e-12, atol=1e-14)
    assert len(counted_skeletons) == 2
