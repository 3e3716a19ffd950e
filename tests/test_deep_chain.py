"""A chain of 100,000 operations differentiates in both modes without RecursionError: every
walk over a program is a loop, never recursion."""

import numpy as np

import tensorcalc as tc
import tensorcalc.numpy as tnp

N = 100_000


def chain(x):
    for _ in range(N):
        x = x * 0.9999 + 0.0001
    return tnp.sum(x)


def test_reverse_mode_deep_chain():
    g = tc.grad(chain)(np.ones(2))
    np.testing.assert_allclose(g, 0.9999 ** N * np.ones(2), rtol=1e-9)


def test_forward_mode_deep_chain():
    _, t = tc.jvp(chain, (np.ones(2),), (np.ones(2),))
    np.testing.assert_allclose(t, 2 * 0.9999 ** N, rtol=1e-9)


def test_trace_and_evaluate_deep_chain():
    prog = tc.trace(chain, np.ones(2))
    assert len(prog.equations) == 2 * N + 1
    assert len(str(prog).splitlines()) == 2 * N + 3
    np.testing.assert_allclose(prog(np.ones(2))[0], chain(np.ones(2)))


def test_deeply_nested_pytree():
    tree = 1.0
    for _ in range(5000):
        tree = [tree]
    leaves, treedef = tc.tree_flatten(tree)
    assert leaves == [1.0]
    rebuilt = tc.tree_unflatten(treedef, [2.0])
    for _ in range(5000):
        assert isinstance(rebuilt, list) and len(rebuilt) == 1
        rebuilt = rebuilt[0]
    assert rebuilt == 2.0
