"""Binomial (revolve) checkpointing of scan: the schedule is valid and optimal, the gradients
are the plain scan's, and the memory is cut."""

from __future__ import annotations

import gc
import tracemalloc
from functools import cache

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.lax as lax
import tensorcalc.numpy as tnp
from tensorcalc.lax import revolve
from tensorcalc.lax.revolve_schedule import (
    optimal_evaluations,
    recompute_factor,
    schedule,
    snapshots_for,
)

RNG = np.random.default_rng(3)
W = RNG.standard_normal((3, 3)) * 0.5
X = RNG.standard_normal(3)


@cache
def _best(length: int, free: int) -> int:
    """The least number of step evaluations by exhaustive search over the first split."""
    if length == 1:
        return 1
    if free == 0:
        return length * (length + 1) // 2
    return min(m + _best(length - m, free - 1) + _best(m, free) for m in range(1, length))


def _simulate(length: int, snapshots: int) -> tuple[int, list[int], int]:
    """Run the actions on positions only: evaluations, youturn order, most snapshots held."""
    held, cur, evals, turns, most = {0}, 0, 0, [], 0
    for action in schedule(length, snapshots):
        kind = action[0]
        if kind == "restore":
            assert action[1] in held, action
            cur = action[1]
        elif kind == "advance":
            assert action[1] == cur, action
            evals += action[2] - action[1]
            cur = action[2]
        elif kind == "snapshot":
            assert action[1] == cur, action
            held.add(cur)
            most = max(most, len(held) - 1)
        elif kind == "drop":
            held.remove(action[1])
        else:
            assert action[1] == cur, action
            evals += 1
            turns.append(action[1])
    return evals, turns, most


@pytest.mark.parametrize("snapshots", [0, 1, 2, 3, 4])
def test_schedule_reverses_every_step_once_in_order_at_the_optimal_cost(snapshots):
    for length in range(1, 31):
        evals, turns, most = _simulate(length, snapshots)
        assert turns == list(range(length - 1, -1, -1))
        assert most <= snapshots
        assert evals == _best(length, snapshots) == optimal_evaluations(length, snapshots)


def test_binomial_capacity_and_recompute_factor():
    # s snapshots (besides the input) reverse C(s + 1 + r, r) steps at recompute factor r
    from math import comb

    for s in range(1, 6):
        for r in range(1, 5):
            cap = comb(s + 1 + r, r)
            assert recompute_factor(cap, s) == r
            assert recompute_factor(cap + 1, s) == r + 1
    assert snapshots_for(10_000, 2) == 139


def _rnn(w, h0, xs, ck, reverse=False):
    h, ys = lax.scan(lambda h, x: (tnp.tanh(w @ h + x), {"s": tnp.sin(h)}), h0, xs,
                     checkpoint=ck, reverse=reverse)
    return tnp.sum(h) + tnp.sum(ys["s"] * tnp.arange(xs.shape[0] * 1.0)[:, None])


@pytest.mark.parametrize("ck", ["revolve", ("revolve", 0), ("revolve", 1), ("revolve", 4)])
@pytest.mark.parametrize("reverse", [False, True])
def test_revolve_gives_the_plain_scan_gradient(ck, reverse):
    xs = RNG.standard_normal((17, 3)) * 0.5
    ref = tc.grad(lambda *a: _rnn(*a, None, reverse), (0, 1, 2))(W, X, xs)
    got = tc.grad(lambda *a: _rnn(*a, ck, reverse), (0, 1, 2))(W, X, xs)
    jit = tc.jit(tc.grad(lambda *a: _rnn(*a, ck, reverse), (0, 1, 2)))(W, X, xs)
    for a, b, c in zip(got, jit, ref, strict=True):
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(b, c, rtol=1e-12, atol=1e-13)


def test_revolve_to_second_order_and_under_vmap():
    xs = RNG.standard_normal((6, 3)) * 0.5
    tc.check_grads(lambda w, h: _rnn(w, h, xs, ("revolve", 1)), (W, X), order=2,
                   modes=("fwd", "rev"))
    v = tc.vmap(tc.grad(lambda h: _rnn(W, h, xs, "revolve")))(np.stack([X, -X]))
    r = tc.vmap(tc.grad(lambda h: _rnn(W, h, xs, None)))(np.stack([X, -X]))
    np.testing.assert_allclose(v, r, rtol=1e-12)


def test_run_time_evaluations_are_the_optimal_count(monkeypatch):
    # the loop's forward pass (T steps) doubles as the schedule's first sweep (T − 1 advances)
    calls = {"n": 0}
    plain_compile = revolve.compile_program

    def counting(prog, name="compiled", **kw):
        fn, src = plain_compile(prog, name, **kw)

        def counted(*args):
            calls["n"] += 1
            return fn(*args)

        return counted, src

    monkeypatch.setattr(revolve, "compile_program", counting)
    monkeypatch.setattr(revolve, "_COMPILED", {})
    monkeypatch.setattr(revolve, "_PROG_FNS", {})
    for length, snaps in ((12, 2), (20, 3), (9, 0)):
        xs = RNG.standard_normal((length, 3)) * 0.5
        calls["n"] = 0
        tc.grad(lambda w, xs=xs, snaps=snaps: _rnn(w, X, xs, ("revolve", snaps)))(W)
        assert calls["n"] == length + optimal_evaluations(length, snaps) - (length - 1)


def test_bad_snapshot_count():
    xs = RNG.standard_normal((5, 3))
    with pytest.raises(ValueError, match=r"checkpoint=\('revolve', s\) needs a number"):
        tc.grad(lambda w: _rnn(w, X, xs, ("revolve", -1)))(W)


def _peak(fn, *args):
    gc.collect()
    tracemalloc.start()
    try:
        fn(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_revolve_cuts_the_reverse_mode_peak():
    xs = RNG.standard_normal((3000, 32)) * 0.3
    w = RNG.standard_normal((32, 32)) * 0.15

    def loss(w, ck):
        h, _ = lax.scan(lambda h, x: (tnp.tanh(w @ h + x), None), np.zeros(32), xs,
                        checkpoint=ck)
        return tnp.sum(h)

    np.testing.assert_allclose(tc.grad(lambda w: loss(w, "revolve"))(w),
                               tc.grad(lambda w: loss(w, None))(w), rtol=1e-10)
    plain = _peak(tc.grad(lambda w: loss(w, None)), w)
    got = _peak(tc.grad(lambda w: loss(w, "revolve")), w)
    # plain: 3000 steps of residuals; revolve: about 78 carries plus one step's residuals
    assert got <= 0.10 * plain, (got, plain)
