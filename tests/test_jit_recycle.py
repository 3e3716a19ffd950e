"""Recycled results (tensorcalc.compile.pool): a jitted function writes a large result into
the array an earlier call returned when nothing but its pool holds that array any more.

What must hold: a result the caller still holds — by name, through a view, a memoryview, a
buffer export or a weak reference — never changes; a dropped one is written into (the same
memory comes back); ``g = f(x)`` in a loop recycles the call before last; the values are the
unrecycled code's bit for bit; threads never share a result; and it can be turned off.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.compile.pool as pool_mod
import tensorcalc.numpy as tnp
from tests.concurrency import run_threads

N = 20_000  # 160 KB of float64: above POOL_MIN_BYTES


@pytest.fixture(autouse=True)
def _numpy_code(monkeypatch):
    """Keep each signature on its NumPy code (no tier-up to fused kernels midway)."""
    monkeypatch.setenv("TENSORCALC_JIT_FUSE", "0")
    monkeypatch.delenv("TENSORCALC_JIT_RECYCLE", raising=False)
    monkeypatch.delenv("TENSORCALC_JIT_POOL", raising=False)


def _f(x):
    return tnp.exp(x) * 2.0 - x


def _x(seed):
    return np.random.default_rng(seed).standard_normal(N)


def _want(seed):
    return tc.jit(_f, pool=False)(_x(seed))


def _ptr(a):
    return a.__array_interface__["data"][0]


def test_the_count_is_calibrated_and_tells_a_held_array_apart():
    assert pool_mod._ALONE is not None  # CPython with the GIL: the count is exact
    lone = [[np.empty(3)]]
    assert pool_mod.dropped_results(lone)[0] is lone[0][0]
    held = np.empty(3)
    assert pool_mod.dropped_results([[held]]) == [None]


def test_a_dropped_result_is_written_into_by_the_next_call():
    f = tc.jit(_f)
    r = f(_x(0))
    src = f.source()
    assert "_dropped(_kept)" in src and "out=_r0" in src and "_keep(_kept, (" in src, src
    where = _ptr(r)
    del r
    r = f(_x(1))
    assert _ptr(r) == where  # the first call's memory, not a fresh allocation
    np.testing.assert_array_equal(r, _want(1))


def test_results_the_caller_holds_never_change():
    f = tc.jit(_f)
    held = [f(_x(s)) for s in range(5)]
    assert len({_ptr(r) for r in held}) == 5
    for s, r in enumerate(held):
        np.testing.assert_array_equal(r, _want(s))


def test_a_loop_rebinding_its_result_recycles_the_call_before_last():
    f = tc.jit(_f)
    g = f(_x(0))
    seen = set()
    for s in range(1, 8):
        g = f(_x(s))  # the last g is still bound while this call runs
        seen.add(_ptr(g))
        np.testing.assert_array_equal(g, _want(s))
    assert len(seen) == 2  # two arrays take turns


HOLDERS = {
    "view": lambda r: r[1:],
    "reshape": lambda r: r.reshape(100, -1),
    "memoryview": memoryview,
    "frombuffer": lambda r: np.frombuffer(r, dtype=r.dtype),
    "list": lambda r: [r],
}


@pytest.mark.parametrize("how", HOLDERS)
def test_what_holds_a_result_indirectly_keeps_it(how):
    f = tc.jit(_f)
    r = f(_x(0))
    holder = HOLDERS[how](r)
    snapshot = np.array(r, copy=True)
    del r
    for s in (1, 2, 3):  # through both kept generations
        f(_x(s))
    seen = holder[0] if how == "list" else np.asarray(holder).reshape(-1)
    np.testing.assert_array_equal(seen, snapshot[1:] if how == "view" else snapshot)


def test_a_weakly_referenced_result_is_not_recycled():
    f = tc.jit(_f)
    r = f(_x(0))
    ref = weakref.ref(r)
    snapshot = r.copy()
    del r
    gc.collect()
    for s in (1, 2, 3):
        np.testing.assert_array_equal(f(_x(s)), _want(s))
    np.testing.assert_array_equal(ref(), snapshot)  # kept alive by the pool, and unchanged


def test_shared_memory_and_inputs_are_never_recycled():
    x = _x(0)

    def twice(v):
        y = tnp.exp(v)
        return y, y

    def with_view(v):
        y = tnp.exp(v)
        return y, y.reshape(100, -1)

    def identity(v):
        return v

    for fun in (twice, with_view, identity):
        src = tc.jit(fun).source(x)
        assert "_dropped" not in src, src
    # The product is the only owner of its memory: it alone may be recycled, not the input.
    src = tc.jit(lambda v: (v * 2.0, v)).source(x)
    assert "out=_r0" in src and "_r1" not in src, src
    a, b = tc.jit(twice)(x)
    assert a is b


def test_recycling_can_be_turned_off(monkeypatch):
    x = _x(0)
    for kw in ({"pool": False},):
        assert "_dropped" not in tc.jit(_f, **kw).source(x)
    monkeypatch.setenv("TENSORCALC_JIT_RECYCLE", "0")
    src = tc.jit(_f).source(x)
    assert "_dropped" not in src and "_kept" not in src
    monkeypatch.setenv("TENSORCALC_JIT_POOL", "0")
    monkeypatch.delenv("TENSORCALC_JIT_RECYCLE")
    assert "_dropped" not in tc.jit(_f).source(x)


def test_the_byte_cap_keeps_one_generation_or_none(monkeypatch):
    x = _x(0)
    monkeypatch.setenv("TENSORCALC_JIT_POOL_BYTES", str(N * 8))  # room for one result
    f = tc.jit(_f)
    assert "out=_r0" in f.source(x)
    r = f(x)
    where = _ptr(r)
    del r
    assert _ptr(f(_x(1))) == where  # a dropped result is still recycled
    g = f(_x(2))
    for s in range(3, 6):
        g = f(_x(s))  # one generation: the last g is held, so each call allocates
        np.testing.assert_array_equal(g, _want(s))
    monkeypatch.setenv("TENSORCALC_JIT_POOL_BYTES", str(N * 8 - 1))
    assert "_dropped" not in tc.jit(_f).source(x)


def test_threads_never_share_a_result():
    f = tc.jit(_f)
    wants = {s: _want(s) for s in range(6)}
    bad: list[int] = []

    def work(s):
        x = _x(s)
        kept = []
        for k in range(120):
            got = f(x)
            if k % 3 == 0:
                kept.append(got)  # some results stay held, others are dropped at once
            if not np.array_equal(got, wants[s]):
                bad.append(s)
        if not all(np.array_equal(g, wants[s]) for g in kept):
            bad.append(s)

    run_threads(work, [(s,) for s in range(6)])
    assert not bad


def test_a_jitted_gradient_recycles_its_large_gradients():
    """The per-example gradients of bench S3 in small: vmap of grad returns one large array
    per parameter, each recycled once the caller drops it, with the same bits."""
    def loss(w, x):
        return tnp.sum(tnp.tanh(x @ w) ** 2)

    rng = np.random.default_rng(3)
    w, xs = rng.standard_normal((64, 32)), rng.standard_normal((16, 64))
    pe = tc.vmap(tc.grad(loss), in_axes=(None, 0))
    f, plain = tc.jit(pe), tc.jit(pe, pool=False)
    r = f(w, xs)
    where = _ptr(r)
    del r
    r = f(w, xs * 2.0)
    assert _ptr(r) == where
    np.testing.assert_array_equal(r, plain(w, xs * 2.0))
    np.testing.assert_allclose(r, pe(w, xs * 2.0), rtol=1e-12, atol=1e-12)
