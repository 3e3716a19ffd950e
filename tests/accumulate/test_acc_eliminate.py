"""Vertex elimination: hand-counted scalar graphs, tensor graphs, exact search, execution."""

from collections import namedtuple

import numpy as np
import pytest

from tensorcalc.accumulate import (
    Dense,
    Diagonal,
    Identity,
    Kronecker,
    LinearizedGraph,
    OutputCopy,
    accumulate,
    brute_force_order,
    chain_cost,
    compare_orders,
    elimination_cost,
    forward_order,
    markowitz_order,
    optimal_order,
    reverse_order,
)

# t = x0·sin(x0·x1); y0 = cos(t); y1 = t/x1 (Naumann's lecture example): v1 = x0·x1,
# v2 = sin(v1), v3 = x0·v2, y0 = cos(v3), y1 = v3/x1. Vertices -1, 0 are x0, x1.
NAUMANN_EDGES = [(-1, 1), (0, 1), (1, 2), (-1, 3), (2, 3), (3, 4), (3, 5), (0, 5)]


def naumann_graph():
    return LinearizedGraph.from_edges(NAUMANN_EDGES, inputs=[-1, 0], outputs=[4, 5])


def test_acc_naumann_example_hand_counts():
    g = naumann_graph()
    # forward 1,2,3: 2·1 + 2·1 + 2·2 = 8; reverse 3,2,1: 2·2 + 1·2 + 2·2 = 10
    # order 2,1,3: 1·1 + 2·1 + 2·2 = 7 (v2 first folds sin' into v1's edge)
    report = compare_orders(g)
    assert (report.forward, report.reverse, report.markowitz, report.optimal) == (8, 10, 7, 7)
    assert report.orders["markowitz"] == [2, 1, 3]
    assert brute_force_order(g) == (7, [2, 1, 3])
    assert elimination_cost(g, [2, 3, 1]) == 9
    assert "markowitz" in str(report)


def test_acc_naumann_example_numeric_jacobian():
    x0, x1 = 0.7, -1.3
    v1 = x0 * x1
    v2 = np.sin(v1)
    v3 = x0 * v2
    partials = {
        (-1, 1): x1,
        (0, 1): x0,
        (1, 2): np.cos(v1),
        (-1, 3): v2,
        (2, 3): x0,
        (3, 4): -np.sin(v3),
        (3, 5): 1 / x1,
        (0, 5): -v3 / x1**2,
    }
    values = {e: np.array([[c]]) for e, c in partials.items()}
    dt = np.array([np.sin(v1) + v1 * np.cos(v1), x0**2 * np.cos(v1)])
    expected = np.array([-np.sin(v3) * dt, dt / x1 - np.array([0.0, v3 / x1**2])])
    g = naumann_graph()
    for order in ([1, 2, 3], [3, 2, 1], [2, 1, 3], [3, 1, 2]):
        np.testing.assert_allclose(accumulate(g, order, values), expected, rtol=1e-12)


def test_acc_gradient_graph_reverse_wins():
    # y = sin((x1·x2)·x3): v1 = x1·x2, v2 = v1·x3
    edges = [("x1", "v1"), ("x2", "v1"), ("v1", "v2"), ("x3", "v2"), ("v2", "y")]
    g = LinearizedGraph.from_edges(edges, ["x1", "x2", "x3"], ["y"])
    # forward: v1 2·1, v2 3·1 = 5; reverse: v2 2·1, v1 2·1 = 4
    assert elimination_cost(g, forward_order(g)) == 5
    assert elimination_cost(g, reverse_order(g)) == 4
    assert optimal_order(g) == (4, ["v2", "v1"])


def test_acc_fan_out_graph_forward_wins():
    # v1 = sin(x); v2 = cos(v1); y1 = v2·v1; y2 = v2·x; y3 = exp(v2)
    edges = [("x", "v1"), ("v1", "v2"), ("v2", "y1"), ("v1", "y1")]
    edges += [("v2", "y2"), ("x", "y2"), ("v2", "y3")]
    g = LinearizedGraph.from_edges(edges, ["x"], ["y1", "y2", "y3"])
    # forward: v1 1·2, v2 1·3 = 5; reverse: v2 1·3, v1 1·3 = 6
    report = compare_orders(g)
    assert (report.forward, report.reverse, report.markowitz, report.optimal) == (5, 6, 5, 5)


def mlp_graph():
    """x(4) -W1-> z1(8) -tanh-> a1(8) -W2-> z2(2) -tanh-> y(2)."""
    sizes = {"x": 4, "z1": 8, "a1": 8, "z2": 2, "y": 2}
    edges = [
        ("x", "z1", Dense(8, 4)),
        ("z1", "a1", Diagonal(8)),
        ("a1", "z2", Dense(2, 8)),
        ("z2", "y", Diagonal(2)),
    ]
    return LinearizedGraph.from_edges(edges, ["x"], ["y"], sizes)


def test_acc_tensor_graph_structure_aware_counts():
    g = mlp_graph()
    # forward: diag·dense 8·4, dense·dense 2·8·4, diag·dense 2·4
    assert elimination_cost(g, forward_order(g)) == 32 + 64 + 8
    # reverse: diag·dense 2·8, dense·diag 2·8, dense·dense 2·8·4
    assert elimination_cost(g, reverse_order(g)) == 16 + 16 + 64
    assert optimal_order(g) == (88, ["a1", "z1", "z2"])
    assert optimal_order(g)[0] == chain_cost([e for e in g.edges.values()]).optimal
    dense = g.densified()
    assert elimination_cost(dense, forward_order(dense)) == 8 * 8 * 4 + 2 * 8 * 4 + 2 * 2 * 4
    assert markowitz_order(g, criterion="cost") == ["a1", "z2", "z1"]


def test_acc_batched_layer_kronecker():
    # A batch of B=16 rows through z = x Wᵀ (I_B ⊗ W), tanh, then a scalar loss sum.
    b, n, m = 16, 4, 8
    sizes = {"x": b * n, "z": b * m, "a": b * m, "loss": 1}
    edges = [
        ("x", "z", Kronecker(m, n, b, identity_first=True)),
        ("z", "a", Diagonal(b * m)),
        ("a", "loss", Dense(1, b * m)),
    ]
    g = LinearizedGraph.from_edges(edges, ["x"], ["loss"], sizes)
    # reverse: (1 x bm)·diag = bm; then (1 x bm)·(I⊗W) = b·m·n
    assert elimination_cost(g, reverse_order(g)) == b * m + b * m * n
    # forward: diag·kron keeps the b·m·n pattern (cost b·m·n), then dense row · it = b·m·n
    assert elimination_cost(g, forward_order(g)) == 2 * b * m * n
    dense = g.densified()
    # densified: the diagonal becomes a (bm x bm) block and the Kronecker a (bm x bn) one
    assert elimination_cost(dense, reverse_order(dense)) == (b * m) ** 2 + (b * m) * (b * n)


def random_dag(rng, n_in, n_mid, n_out, max_fan_in=3):
    names = [f"x{i}" for i in range(n_in)]
    edges = []
    for k in range(n_mid + n_out):
        v = f"v{k}" if k < n_mid else f"y{k - n_mid}"
        pool = names if k < n_mid else names[n_in:] or names
        fan_in = min(len(pool), int(rng.integers(1, max_fan_in + 1)))
        for u in rng.choice(pool, size=fan_in, replace=False):
            edges.append((str(u), v))
        if k < n_mid:
            names.append(v)
    g = LinearizedGraph.from_edges(edges, names[:n_in], [f"y{j}" for j in range(n_out)])
    g.prune()
    return g


def test_acc_exact_search_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(25):
        g = random_dag(rng, int(rng.integers(1, 4)), int(rng.integers(2, 7)), 2)
        cost, order = optimal_order(g)
        assert brute_force_order(g)[0] == cost
        assert elimination_cost(g, order) == cost


def test_acc_exact_search_matches_brute_force_on_tensor_graphs():
    rng = np.random.default_rng(3)
    for trial in range(20):
        g = random_dag(rng, 2, int(rng.integers(3, 7)), 2)
        sizes = {v: int(rng.integers(1, 4)) for v in g.vertices}
        if trial % 2:  # equal sizes so that some edges can be diagonal
            sizes = {v: 3 for v in g.vertices}
        edges = []
        for u, w in g.edges:
            jac = Diagonal(3) if trial % 2 and rng.random() < 0.5 else None
            edges.append((u, w) if jac is None else (u, w, jac))
        t = LinearizedGraph.from_edges(edges, g.inputs, g.outputs, sizes)
        cost, order = optimal_order(t)
        assert brute_force_order(t)[0] == cost
        assert elimination_cost(t, order) == cost


def test_acc_exact_search_beats_heuristics_and_orders_agree_numerically():
    rng = np.random.default_rng(1)
    for _ in range(8):
        g = random_dag(rng, 3, 12, 3)
        report = compare_orders(g)
        assert report.optimal <= min(report.forward, report.reverse, report.markowitz)
        values = g.sample_values(rng)
        reference = tangent_sweep(g, values)
        for order in report.orders.values():
            np.testing.assert_allclose(accumulate(g, order, values), reference, atol=1e-10)


def tangent_sweep(g, values):
    """Independent reference: push an identity block of tangents through in topological order."""
    n = g.jacobian_shape[1]
    tangents, col = {}, 0
    for x in g.inputs:
        t = np.zeros((g.size(x), n))
        t[:, col : col + g.size(x)] = np.eye(g.size(x))
        tangents[x], col = t, col + g.size(x)
    for v in g.topological_order():
        if v not in tangents:
            tangents[v] = sum(
                (values[(u, v)] @ tangents[u] for u in g.preds(v)), np.zeros((g.size(v), n))
            )
    return np.vstack([tangents[y] for y in g.outputs])


def test_acc_structured_chain_graph_matches_chain_dp():
    rng = np.random.default_rng(2)
    kinds = [lambda k: Dense(k, k), Diagonal, lambda k: Kronecker(k // 2, k // 2, 2)]
    for _ in range(15):
        q = int(rng.integers(2, 7))
        factors = [kinds[int(rng.integers(3))](4) for _ in range(q)]
        factors[0], factors[-1] = Dense(4, 6), Dense(3, 4)
        names = [f"v{i}" for i in range(q + 1)]
        sizes = {v: f.cols for v, f in zip(names, factors, strict=False)} | {names[-1]: 3}
        edges = [(names[i], names[i + 1], factors[i]) for i in range(q)]
        g = LinearizedGraph.from_edges(edges, [names[0]], [names[-1]], sizes)
        chain = chain_cost(factors)
        assert elimination_cost(g, forward_order(g)) == chain.forward
        assert elimination_cost(g, reverse_order(g)) == chain.reverse
        assert optimal_order(g)[0] == chain.optimal
        values = g.sample_values(rng)
        mats = [values[(names[i], names[i + 1])] for i in range(q)]
        product = mats[-1]
        for mat in mats[-2::-1]:
            product = product @ mat
        np.testing.assert_allclose(accumulate(g, optimal_order(g)[1], values), product)


Var = namedtuple("Var", "name shape")
Equation = namedtuple("Equation", "primitive inputs outputs params")


def test_acc_from_equations_like_a_program():
    x, c = Var("x", (3,)), Var("c", (3,))
    a, b, s = Var("a", (3,)), Var("b", (3,)), Var("s", ())
    eqs = [
        Equation("mul", (x, x), (a,), {}),
        Equation("add", (a, c), (b,), {}),
        Equation("reduce_sum", (b,), (s,), {}),
    ]
    rules = {"mul": lambda n: Diagonal(n), "add": lambda n: Identity(n)}

    def local_jacobian(eq, i, j):
        if eq.primitive == "reduce_sum":
            return Dense(1, 3)
        return rules[eq.primitive](3)

    g = LinearizedGraph.from_equations(eqs, [x], [b, s], local_jacobian)
    assert c not in g.vertices  # the constant lies on no path from x
    assert isinstance(g.outputs[0], OutputCopy) and g.outputs[0].of == b
    assert g.intermediates == [a, b]
    assert g.edge(x, a) == Diagonal(3)  # x·x: the two uses are summed
    assert g.jacobian_shape == (4, 3)
    # forward: Identity·diag is free; then b -> copy free, b -> s dense(1,3)·diag = 3
    assert elimination_cost(g, forward_order(g)) == 3
    default = LinearizedGraph.from_equations(eqs, [x], [s])
    assert default.edge(a, b) == Dense(3, 3)


def test_acc_deep_chain_is_iterative():
    n = 20_000
    edges = [(i, i + 1) for i in range(n + 1)]
    g = LinearizedGraph.from_edges(edges, [0], [n + 1])
    assert len(g.intermediates) == n
    assert elimination_cost(g, reverse_order(g)) == n
    assert accumulate(g, forward_order(g), {e: np.array([[1.0]]) for e in edges})[0, 0] == 1.0


def test_acc_graph_errors():
    with pytest.raises(ValueError, match="out-edges"):
        LinearizedGraph.from_edges([("x", "y"), ("y", "z")], ["x"], ["y", "z"])
    with pytest.raises(ValueError, match="in-edges"):
        LinearizedGraph.from_edges([("y", "x"), ("x", "z")], ["x"], ["z"])
    with pytest.raises(ValueError, match="cycle"):
        LinearizedGraph.from_edges([("x", "a"), ("a", "b"), ("b", "a"), ("b", "y")], ["x"], ["y"])
    with pytest.raises(ValueError, match="shape"):
        LinearizedGraph.from_edges([("x", "y", Dense(2, 2))], ["x"], ["y"], {"x": 3, "y": 2})
    g = naumann_graph()
    with pytest.raises(ValueError, match="every intermediate"):
        elimination_cost(g, [1, 2])
    with pytest.raises(ValueError, match="too large"):
        optimal_order(g, max_intermediates=2)
