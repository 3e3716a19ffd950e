"""jit's call pool (tensorcalc.compile.pool): buffers a compiled function keeps between calls
for its first allocations. Pooled and unpooled code give the same bits on the op-record table;
results never live in a pool (a later call leaves them unchanged); concurrent, re-entrant and
failed calls never share a pool or corrupt a later call; ``pool=False`` is the code without it.
"""

from __future__ import annotations

import re
import zlib

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.compile.pool as pool_mod
import tensorcalc.numpy as tnp
from tensorcalc.core.tree import tree_flatten
from tests.concurrency import run_threads
from tests.records import all_records
from tests.test_jit_records import record_gradient_and_jit

RECORDS = all_records()


@pytest.fixture(autouse=True)
def _pool_everything(monkeypatch):
    """These tests are about the pool itself: pool buffers of any size (the records' arrays
    are small), and keep each signature on its NumPy code (no tier-up to fused kernels midway,
    which would swap the compiled function whose free list a test reads)."""
    monkeypatch.setattr(pool_mod, "POOL_MIN_BYTES", 0)
    monkeypatch.setenv("TENSORCALC_JIT_FUSE", "0")


def _pools(jitted):
    """The free list of the most recent signature's compiled function."""
    return jitted._last.fn.__globals__["_pools"]


def _buffers(pool):
    """A pool's buffers (not the list of kept results that may end it)."""
    return [b for b in pool if isinstance(b, np.ndarray)]


def _loss(x, w):
    h = tnp.tanh(x @ w) * 2.0 + 1.0
    return tnp.sum(tnp.exp(-h ** 2) + tc.nn.functional.softmax(h, axis=-1) * h)


def _args(seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((20, 12)), rng.standard_normal((12, 9))


def _want(seed):
    return tc.grad(_loss, argnums=(0, 1))(*_args(seed))


@pytest.mark.parametrize("rec", RECORDS, ids=[r.id for r in RECORDS])
def test_record_gradients_pooled_equal_unpooled_bitwise(rec):
    g, args, want = record_gradient_and_jit(
        rec, np.random.default_rng(zlib.crc32(rec.id.encode())), pool=False)
    pooled = tc.jit(g, pool=True)
    first = pooled(*args)
    kept = [np.array(a, copy=True) for a in tree_flatten(first)[0]]
    second = pooled(*args)  # runs on the buffers the first call left in the pool
    for got in (first, second):
        for a, b in zip(tree_flatten(got)[0], tree_flatten(want)[0], strict=True):
            np.testing.assert_array_equal(a, b)
    del second
    third = pooled(*args)  # writes into the second call's results, which nobody holds now
    for a, b in zip(tree_flatten(third)[0], tree_flatten(want)[0], strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(tree_flatten(first)[0], kept, strict=True):
        np.testing.assert_array_equal(a, b)  # later calls left the first's results alone


def test_the_gradient_uses_the_pool_and_hands_back_fresh_results():
    g = tc.jit(tc.grad(_loss, argnums=(0, 1)))
    first = g(*_args(0))
    src = g.source()
    assert "_take()" in src and "out=_b0" in src and "_give(_pool)" in src, src
    kept = [a.copy() for a in first]
    second = g(*_args(1))  # other inputs: every pool buffer is rewritten
    for a, b in zip(first, kept, strict=True):
        np.testing.assert_array_equal(a, b)
    for got, want in zip(second, _want(1), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13)
    (pool,) = _pools(g)
    for res in (*first, *second):
        assert not any(np.shares_memory(res, buf) for buf in _buffers(pool))


def test_pool_off_is_the_code_without_a_pool(monkeypatch):
    x, w = _args(0)
    g = tc.grad(_loss, argnums=(0, 1))
    off = tc.jit(g, pool=False)
    src = off.source(x, w)
    assert "_pool" not in src and "_b0" not in src and "out=" in src  # buffers still reused
    monkeypatch.setenv("TENSORCALC_JIT_POOL", "0")
    assert tc.jit(g).source(x, w) == src
    monkeypatch.delenv("TENSORCALC_JIT_POOL")
    on = tc.jit(g).source(x, w)
    # The same program: only the pool's lines and the out= of first allocations differ.
    bare = [ln for ln in on.splitlines() if "_pool" not in ln and "except IndexError" not in ln
            and "_kept" not in ln and ln.strip() != "try:"]
    assert [re.sub(r", out=_[br]\d+", "", ln) for ln in bare] == src.splitlines()
    for a, b in zip(off(x, w), tc.jit(g)(x, w), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_byte_cap_leaves_large_buffers_to_allocate(monkeypatch):
    x, w = _args(0)
    g = tc.grad(_loss, argnums=(0, 1))
    monkeypatch.setenv("TENSORCALC_JIT_POOL_BYTES", "0")
    assert "_pool" not in tc.jit(g).source(x, w)
    # x @ w's (20, 9) float64 buffer is the first pooled one; with the cap at its size nothing
    # after it fits (and pooling goes on in order, not by size).
    monkeypatch.setenv("TENSORCALC_JIT_POOL_BYTES", str(20 * 9 * 8))
    src = tc.jit(g).source(x, w)
    assert "np.matmul(x1, x2, out=_b0)" in src and "_b1" not in src, src
    monkeypatch.setenv("TENSORCALC_JIT_POOL_BYTES", "many")
    with pytest.raises(ValueError, match="TENSORCALC_JIT_POOL_BYTES"):
        tc.jit(g)(x, w)


def test_threads_calling_one_jitted_function_get_their_own_results():
    g = tc.jit(tc.grad(_loss, argnums=(0, 1)))
    seeds = range(6)
    wants = {s: g(*_args(s)) for s in seeds}  # single-threaded, one call at a time
    wants = {s: [a.copy() for a in v] for s, v in wants.items()}
    bad: list[int] = []

    def work(s):
        args = _args(s)
        for _ in range(150):
            got = g(*args)
            if not all(np.array_equal(a, b) for a, b in zip(got, wants[s], strict=True)):
                bad.append(s)

    run_threads(work, [(s,) for s in seeds])  # they switch inside the compiled function
    assert not bad
    assert 1 <= len(_pools(g)) <= len(seeds)  # one pool per call that was in flight at once


@pytest.mark.usefixtures("numpy_tanh")  # compared with eager code
def test_a_reentrant_call_takes_a_pool_of_its_own():
    """The compiled code calls softmax's implementation; here that call first runs the same
    jitted function on other inputs, as a callback would, while the outer call holds a pool."""
    g = tc.jit(tc.grad(_loss, argnums=(0, 1)))
    g(*_args(0))
    env = g._last.fn.__globals__
    name = next(k for k, v in env.items()
                if getattr(v, "__name__", "") == "_softmax_impl")
    inner: list = []
    impl = env[name]

    def softmax_calling_back(*a, **kw):
        if not inner:
            inner.append(None)  # the inner call runs the plain softmax
            inner[0] = g(*_args(2))
        return impl(*a, **kw)

    env[name] = softmax_calling_back
    try:
        outer = g(*_args(1))
    finally:
        env[name] = impl
    for got, want in ((outer, _want(1)), (inner[0], _want(2))):
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-13)
    assert len(_pools(g)) == 2


def test_a_call_that_raises_drops_its_pool_and_the_next_call_is_right():
    def f(x):
        return tnp.sum(tnp.log(x * 2.0) * x)

    g = tc.jit(tc.grad(f))
    good = np.linspace(0.5, 2.0, 40)
    bad = good.copy()
    bad[3] = 0.0
    g(good)
    assert "out=_b0" in g.source()
    assert len(_pools(g)) == 1
    with np.errstate(divide="raise"), pytest.raises(FloatingPointError):
        g(bad)  # raises after x * 2.0 was written into the pool buffer
    assert len(_pools(g)) == 0  # the failed call's pool was not returned
    np.testing.assert_allclose(g(good), np.log(2.0 * good) + 1.0, rtol=1e-14)
    assert len(_pools(g)) == 1


F = tc.nn.functional
_EYE = np.eye(3).reshape(3, 3, 1, 1)
FRESH_LAYERS = {
    "relu": F.relu,
    "max_pool2d": lambda v: F.max_pool2d(v, 1),
    "avg_pool2d": lambda v: F.avg_pool2d(v, 1),
    "conv2d": lambda v: F.conv2d(v, _EYE),
    "conv2d_bias": lambda v: F.conv2d(v, _EYE, np.zeros(3)),
}


@pytest.mark.parametrize("name", FRESH_LAYERS)
def test_jit_reuses_the_buffer_an_nn_layer_read(name):
    """The nn layers return arrays of their own (``Primitive.fresh_result``): the scaled input
    they read is dead once they ran, and the next elementwise result is written into its
    buffer (``out=``) instead of a new one."""
    layer = FRESH_LAYERS[name]

    def f(x):
        return layer(x * 2.0) + 1.0

    x = np.linspace(-1.0, 1.0, 2 * 3 * 4 * 4).reshape(2, 3, 4, 4)
    g = tc.jit(f, pool=False)
    src = g.source(x)
    add_line = [ln for ln in src.splitlines() if "add" in ln][-1]
    assert "out=" in add_line, src
    np.testing.assert_allclose(g(x), f(x), rtol=1e-15)



def strong_zero_gradient_gives_the_pool_back():
    """Run a jitted gradient whose strong-zero products are smaller than its outputs (so each
    product is checked where it is made) twice against eager; returns it and its result."""
    def f(x, w):
        return tnp.sum(tnp.where(x > 0, tnp.sqrt(tnp.abs(x)), 0.0) * tnp.sin(x)) * tnp.sum(w)

    x = np.array([0.0, 1.0, -2.0, 4.0, 0.5])
    w = np.linspace(0.0, 1.0, 10_000).reshape(100, 100)  # outputs larger than the products
    g = tc.jit(tc.grad(f, argnums=(0, 1)))
    want = tc.grad(f, argnums=(0, 1))(x, w)
    for _ in range(2):
        got = g(x, w)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-14)
    return g, got


def test_the_strong_zero_signal_gives_the_pool_back_first():
    """The NaN of sqrt′(0) · 0 raises jit's signal, which puts the pool back before the
    checked rerun."""
    g, got = strong_zero_gradient_gives_the_pool_back()
    assert "_give(_pool); raise _StrongZeroNaN" in g.source(), g.source()
    assert np.all(np.isfinite(got[0])) and len(_pools(g)) == 1


def test_small_buffers_are_left_to_the_allocator(monkeypatch):
    """Below POOL_MIN_BYTES nothing is pooled (the arena serves it without faults; the source
    stays as short as before); from it up, the first allocation is pooled."""
    monkeypatch.setattr(pool_mod, "POOL_MIN_BYTES", 64 << 10)
    f = tc.jit(tc.grad(_loss, argnums=(0, 1)))
    small = _args(0)
    assert "_pool" not in f.source(*small)
    rng = np.random.default_rng(1)
    big = rng.standard_normal((128, 64)), rng.standard_normal((64, 128))  # 128 KiB results
    src = f.source(*big)
    assert "_give(_pool)" in src and re.search(r"np\.matmul\(x\d+, x\d+, out=_b0\)", src)
    for a, b in zip(f(*big), tc.grad(_loss, argnums=(0, 1))(*big), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.usefixtures("numpy_tanh")  # compared with eager code
def test_loop_bodies_follow_the_enclosing_jit_s_pool_choice(monkeypatch):
    """A scan body is a compiled function of its own; jit(pool=False) reaches it too."""
    import importlib

    from tensorcalc import lax

    scan_mod = importlib.import_module("tensorcalc.lax.scan")  # lax.scan is the function

    bodies = []
    real = scan_mod.compile_program

    def spy(prog, name="compiled", **kw):
        fn, src = real(prog, name, **kw)
        bodies.append(src)
        return fn, src

    monkeypatch.setattr(scan_mod, "compile_program", spy)

    def f(w, xs):
        def step(c, x):
            h = tnp.tanh(c @ w + x)
            return h, tnp.sum(h * h)
        return tnp.sum(lax.scan(step, xs[0], xs)[1])

    rng = np.random.default_rng(0)
    w, xs = rng.standard_normal((24, 24)) * 0.2, rng.standard_normal((5, 7, 24))
    want = tc.grad(f)(w, xs)
    for pool, pooled in ((None, True), (False, False), (True, True)):
        bodies.clear()
        got = tc.jit(tc.grad(f), pool=pool)(w, xs)
        np.testing.assert_allclose(got, want, rtol=1e-13)
        # Some bodies have nothing to pool (every allocation reaches a result): look for any.
        assert bodies and any("_pool" in src for src in bodies) == pooled, (pool, bodies)
    monkeypatch.setenv("TENSORCALC_JIT_POOL", "0")
    bodies.clear()
    tc.jit(tc.grad(f), pool=True)(w, xs)  # an explicit choice wins over the environment
    assert bodies and any("_pool" in src for src in bodies)
    bodies.clear()
    tc.jit(tc.grad(f))(w, xs)
    assert bodies and not any("_pool" in src for src in bodies)
