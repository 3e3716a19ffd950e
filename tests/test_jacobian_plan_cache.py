"""The elimination order of a structured Jacobian is chosen once per graph structure.

The cache must never change a result: a Jacobian at a new point (new numbers, same structure)
re-uses the order but multiplies the new local Jacobians, and graphs that differ in topology,
sizes or edge kinds get their own entry. Results are checked against NumPy closed forms and
central differences, never against the code under test.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.accumulate.graph import LinearizedGraph
from tensorcalc.accumulate.structure import Dense, Diagonal
from tensorcalc.jacobians import plan as plan_mod
from tensorcalc.transforms import jacobian, jacobian_plan
from tests.finite_diff import central_jacobian


@pytest.fixture
def counted(monkeypatch):
    """Clear the order cache and count the order searches made while the test runs."""
    plan_mod._ORDERS.clear()
    calls = []
    search = plan_mod.choose_order

    def counting(graph):
        calls.append(graph)
        return search(graph)

    monkeypatch.setattr(plan_mod, "choose_order", counting)
    yield calls
    plan_mod._ORDERS.clear()


def test_order_is_searched_once_and_results_follow_the_point(counted):
    rng = np.random.default_rng(0)
    W1 = rng.standard_normal((12, 9)) / 3
    W2 = rng.standard_normal((5, 12)) / 3

    def f(x):
        return tnp.tanh(W2 @ tnp.tanh(W1 @ x))

    def closed(x):  # (D2 W2)(D1 W1), D = diag(1 - tanh^2)
        h1 = np.tanh(W1 @ x)
        h2 = np.tanh(W2 @ h1)
        return ((1 - h2 ** 2)[:, None] * W2) @ ((1 - h1 ** 2)[:, None] * W1)

    jac = jacobian(f)
    for _ in range(4):
        x = rng.standard_normal(9)
        got = jac(x)
        np.testing.assert_allclose(got, closed(x), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(got, central_jacobian(lambda v: closed_f(W1, W2, v), x),
                                   rtol=1e-6, atol=1e-8)
    assert len(counted) == 1


def closed_f(W1, W2, x):
    return np.tanh(W2 @ np.tanh(W1 @ x))


def _programs():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((6, 6))
    c = rng.standard_normal(6)
    B = rng.standard_normal((4, 2))
    return [
        # fan-out: x feeds three paths that meet again (a DAG, the exact search)
        lambda x: tnp.sin(x) * x + A @ tnp.exp(x) + tnp.sum(x * c),
        # scalar scale, broadcast and reduction
        lambda x: 2.0 * tnp.cos(x) - tnp.sum(x) + c,
        # reshape and transpose between the matmuls (permutations and Kronecker factors)
        lambda x: tnp.reshape((B @ tnp.tanh(tnp.reshape(x, (2, -1))))[:, :1].T, (-1,)),
        # a chain of matrices (the chain DP)
        lambda x: A @ (A.T @ tnp.tanh(A @ x)),
    ]


@pytest.mark.parametrize("k", range(4))
def test_cached_plan_is_the_fresh_plan(counted, k):
    f = _programs()[k]
    rng = np.random.default_rng(2)
    x0, x1 = rng.standard_normal(6), rng.standard_normal(6)
    fresh = jacobian_plan(f, x0)
    again = jacobian_plan(f, x1)  # same structure, other numbers: a cache hit
    assert len(counted) == 1
    assert again.elimination_costs == fresh.elimination_costs
    assert again.order_name == fresh.order_name
    assert [again.graph.vertices.index(v) for v in again.order] == \
        [fresh.graph.vertices.index(v) for v in fresh.order]
    assert str(again).splitlines()[-1] == str(fresh).splitlines()[-1]
    for x in (x0, x1):
        np.testing.assert_allclose(jacobian(f)(x), central_jacobian(f, x), rtol=1e-6,
                                   atol=1e-8)


def test_structure_key_separates_kinds_sizes_and_topology():
    def chain(n, mid):
        return LinearizedGraph.from_edges([("x", "v", Dense(n, n)), ("v", "y", mid)],
                                          ["x"], ["y"], {"x": n, "v": n, "y": n})

    key = plan_mod.structure_key
    assert key(chain(4, Dense(4, 4))) == key(chain(4, Dense(4, 4)))
    assert key(chain(4, Dense(4, 4))) != key(chain(4, Diagonal(4)))
    assert key(chain(4, Diagonal(4))) != key(chain(5, Diagonal(5)))
    fan = LinearizedGraph.from_edges([("x", "v", Dense(4, 4)), ("v", "y", Diagonal(4)),
                                      ("x", "y", Dense(4, 4))], ["x"], ["y"],
                                     {"x": 4, "v": 4, "y": 4})
    assert key(fan) != key(chain(4, Diagonal(4)))


def test_programs_of_other_shapes_get_their_own_order(counted):
    def f(x):
        return tnp.tanh(tnp.sin(x) * 3.0)

    for n in (3, 4, 3, 4):
        x = np.linspace(-1, 1, n)
        np.testing.assert_allclose(jacobian(f)(x),
                                   np.diag(3 * np.cos(x) / np.cosh(3 * np.sin(x)) ** 2),
                                   rtol=1e-12, atol=1e-15)
    assert len(counted) == 2


def test_cache_is_bounded():
    cache = plan_mod._OrderCache(2)
    for n in (2, 3, 4, 5):
        g = LinearizedGraph.from_edges([("x", "v", Dense(n, n)), ("v", "y", Diagonal(n))],
                                       ["x"], ["y"], {"x": n, "v": n, "y": n})
        costs, best, order = cache.order_for(g)
        assert order == ["v"] and costs[best] == n * n
    assert len(cache) == 2


def test_threads_share_the_cache_safely():
    rng = np.random.default_rng(3)
    mats = {n: rng.standard_normal((n, n)) for n in (3, 5, 7)}
    errors = []

    def work(n):
        try:
            for _ in range(20):
                x = rng.standard_normal(n)
                got = jacobian(lambda v, M=mats[n]: tnp.sin(M @ v))(x)
                want = np.cos(mats[n] @ x)[:, None] * mats[n]
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in (3, 5, 7, 3, 5, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_jit_of_the_function_uses_the_cache_too(counted):
    A = np.random.default_rng(4).standard_normal((4, 4))
    jac = jacobian(tc.jit(lambda x: tnp.exp(A @ x)))
    for s in (0.1, 0.2, 0.3):
        x = np.full(4, s)
        np.testing.assert_allclose(jac(x), np.exp(A @ x)[:, None] * A, rtol=1e-12)
    assert len(counted) <= 1
