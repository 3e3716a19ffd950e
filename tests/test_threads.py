"""Transformations under threads: every thread (and asyncio task) has its own trace stack and
strong-zero mode, so nested derivatives computed concurrently equal the single-threaded ones.

Before the trace context moved into context variables, 4 threads calling ``hessian`` and
``grad(grad)`` got a few zeros or spurious leaked-tracer errors per thousand calls: two threads
shared one stack, a thread popped the other's trace, and two traces of one thread got the same
level. The switch interval is made tiny so that threads interleave inside the transformations.
"""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tests.concurrency import run_threads

N_THREADS = 8
CALLS_PER_THREAD = 2000


def _energy(x):
    return tnp.sum(tnp.sin(x) * x ** 2) + tnp.prod(tnp.cos(x[:2]))


def _quad(x):
    return tnp.tanh(x) @ x


def _guarded(x):
    # Its first, unchecked pass makes a NaN (0 · ∞ from sqrt′(0) in the branch not taken):
    # the strong-zero rerun must happen in this thread whatever the other threads are doing.
    return tnp.sum(tnp.where(x > 0, tnp.sqrt(tnp.abs(x)), 0.0) * x)


def _programs(energy, quad, guarded):
    """The mixed transformations of the test, as (name, function of x)."""
    v = np.linspace(0.3, 1.1, 4)
    return [
        ("grad", tc.grad(energy)),
        ("grad(grad)", tc.grad(lambda x: tc.grad(energy)(x) @ v)),
        ("hessian", tc.hessian(quad)),
        ("jvp(grad)", lambda x: tc.jvp(tc.grad(energy), (x,), (v,))[1]),
        ("vmap(grad)", lambda x: tc.vmap(tc.grad(quad))(tnp.stack([x, 2 * x]))),
        ("grad guarded", tc.grad(guarded)),
        ("hessian guarded", tc.hessian(guarded)),
        ("jit grad", tc.jit(tc.grad(energy))),
        ("jit hessian", tc.jit(tc.hessian(quad))),
        ("jit jvp(grad)", tc.jit(lambda x: tc.jvp(tc.grad(energy), (x,), (v,))[1])),
        ("jit vmap(grad)", tc.jit(lambda x: tc.vmap(tc.grad(quad))(tnp.stack([x, 2 * x])))),
        ("jit grad guarded", tc.jit(tc.grad(guarded))),
    ]


def _inputs():
    rng = np.random.default_rng(7)
    xs = [rng.standard_normal(4) for _ in range(5)]
    xs.append(np.array([0.0, 1.0, -2.0, 0.0]))  # the guarded functions' NaN path
    return xs


def test_nested_derivatives_under_threads_match_single_threaded():
    shared = _programs(_energy, _quad, _guarded)
    xs = _inputs()
    expected = {(name, k): np.asarray(f(x)) for name, f in shared for k, x in enumerate(xs)}
    assert not any(np.isnan(v).any() for v in expected.values())
    mismatches: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        # Half the threads also build their own transformed functions (own jit caches).
        own = _programs(_energy, _quad, _guarded) if seed % 2 else shared
        try:
            for _ in range(CALLS_PER_THREAD):
                name, f = own[rng.integers(len(own))]
                k = int(rng.integers(len(xs)))
                got = np.asarray(f(xs[k]))
                want = expected[(name, k)]
                if got.shape != want.shape or not np.allclose(got, want, rtol=1e-12, atol=0):
                    with lock:
                        mismatches.append(f"{name} at input {k}: {got} != {want}")
        except BaseException as err:  # noqa: BLE001  (reported below with the thread's seed)
            with lock:
                errors.append(err)

    run_threads(worker, [(s,) for s in range(N_THREADS)], switch_interval=1e-5)
    assert not errors, f"{len(errors)} thread(s) raised; first: {errors[0]!r}"
    assert not mismatches, f"{len(mismatches)} mismatches; first: {mismatches[:3]}"


def test_asyncio_tasks_each_have_their_own_trace_stack():
    """Tasks interleave at every await inside a transformed function; each keeps its own
    levels (a task starts from a copy of its creator's context)."""

    async def inner_grad(x: float, started: asyncio.Event, go: asyncio.Event) -> float:
        def f(y):
            return tnp.sin(y) * y

        out = tc.grad(tc.grad(f))(x)
        started.set()
        await go.wait()
        return float(out) + float(tc.grad(f)(x))

    async def main() -> list[float]:
        evs = [(asyncio.Event(), asyncio.Event()) for _ in range(4)]
        tasks = [asyncio.create_task(inner_grad(0.5 + k, *evs[k])) for k in range(4)]
        for s, _ in evs:
            await s.wait()
        for _, g in evs:
            g.set()
        return await asyncio.gather(*tasks)

    got = asyncio.run(main())
    for k, v in enumerate(got):
        x = 0.5 + k
        want = (2 * np.cos(x) - x * np.sin(x)) + (np.sin(x) + x * np.cos(x))
        assert v == pytest.approx(want, rel=1e-13)


def test_strong_zero_mode_is_per_thread():
    """A thread inside the checked rerun does not switch other threads into (or out of) it."""
    from tensorcalc.core.context import strong_zero_checks, strong_zeros_enforced

    seen: list[bool] = []
    inside = threading.Event()
    release = threading.Event()

    def checked() -> None:
        with strong_zero_checks():
            inside.set()
            release.wait(5)

    t = threading.Thread(target=checked)
    t.start()
    inside.wait(5)
    seen.append(strong_zeros_enforced())
    release.set()
    t.join()
    assert seen == [False]
