"""JAX idioms (issue 17, item 3): ``tc.jit`` keyword and static-by-name arguments, arguments
that are not arrays passing through ``grad``/``jit``, and the ``tensorcalc.tree_util``
namespace."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc import tree_util


def test_grad_passes_a_function_argument_through():
    def apply(f, x, label, nothing):
        assert label == "loss" and nothing is None
        return f(x).sum()

    x = np.array([0.1, 0.7])
    np.testing.assert_allclose(tc.grad(apply, 1)(tnp.sin, x, "loss", None), np.cos(x))
    np.testing.assert_allclose(tc.hessian(lambda f, v: f(v).sum(), 1)(tnp.exp, x),
                               np.diag(np.exp(x)))


def test_jit_keyword_arguments_are_traced():
    calls = []

    def f(x, *, scale=1.0):
        calls.append(1)
        return (x * scale).sum()

    j = tc.jit(f)
    assert j(np.ones(3), scale=2.0) == 6.0
    assert j(np.ones(3), scale=5.0) == 15.0       # same signature: no new trace
    assert len(calls) == 1
    np.testing.assert_allclose(tc.grad(lambda s: j(np.ones(3), scale=s))(2.0), 3.0)


def test_jit_static_argnames_by_name_or_position():
    traces = []

    def f(x, n, mode="sum"):
        traces.append((n, mode))
        y = x ** n
        return y.sum() if mode == "sum" else y

    j = tc.jit(f, static_argnames=("n", "mode"))
    assert j(np.full(2, 2.0), 3) == 16.0
    np.testing.assert_allclose(j(np.full(2, 2.0), n=2, mode="vec"), [4.0, 4.0])
    assert j(np.full(2, 2.0), 3) == 16.0
    assert traces == [(3, "sum"), (2, "vec")]


def test_jit_passes_functions_and_strings_through():
    j = tc.jit(lambda f, x, how: f(x) if how == "plain" else -f(x))
    np.testing.assert_allclose(j(tnp.exp, np.zeros(2), "plain"), [1.0, 1.0])
    np.testing.assert_allclose(j(tnp.cos, np.zeros(2), "neg"), [-1.0, -1.0])
    assert len(j.cache) == 2


def test_tree_util_is_leaf_and_structure():
    tree = {"a": (1.0, [2.0, 3.0]), "b": None}
    assert tree_util.tree_leaves(tree) == [1.0, 2.0, 3.0]
    assert tree_util.tree_leaves(tree, is_leaf=lambda x: isinstance(x, list)) == [1.0, [2.0, 3.0]]
    leaves, treedef = tree_util.tree_flatten(tree)
    assert tree_util.tree_unflatten(treedef, [x * 2 for x in leaves]) == \
        {"a": (2.0, [4.0, 6.0]), "b": None}
    assert tree_util.tree_structure(tree) == treedef
    assert tree_util.tree_map(lambda x, y: x + y, (1, 2), (10, 20)) == (11, 22)
    # a leaf of the first tree takes the whole subtree of the others (JAX's prefix rule)
    assert tree_util.tree_map(lambda x, y: (x, y), (1, 2), (3, [4, 5])) == ((1, 3), (2, [4, 5]))
    assert tree_util.tree_reduce(lambda a, b: a + b, tree) == 6.0
    assert tc.tree_util is tree_util


def test_register_dataclass_meta_fields_and_grad():
    @tree_util.register_dataclass
    @dataclasses.dataclass
    class Params:
        w: np.ndarray
        b: float
        name: str = dataclasses.field(default="lin", metadata={"static": True})

    p = Params(np.array([1.0, 2.0]), 0.5)
    assert tree_util.tree_leaves(p)[1] == 0.5 and len(tree_util.tree_leaves(p)) == 2
    g = tc.grad(lambda q, x: (q.w @ x + q.b) ** 2)(p, np.array([1.0, -1.0]))
    assert isinstance(g, Params) and g.name == "lin"
    np.testing.assert_allclose(g.w, 2 * (-0.5) * np.array([1.0, -1.0]))
    np.testing.assert_allclose(g.b, 2 * (-0.5))


def test_register_dataclass_with_explicit_fields():
    @dataclasses.dataclass
    class Box:
        lo: float
        hi: float
        tag: str

    tree_util.register_dataclass(Box, data_fields=["lo", "hi"], meta_fields=["tag"])
    b = tc.jit(lambda q: Box(q.lo * 2, q.hi * 3, q.tag))(Box(1.0, 2.0, "t"))
    assert (b.lo, b.hi, b.tag) == (2.0, 6.0, "t")


def test_register_dataclass_rejects_a_plain_class():
    class Plain:
        pass

    with pytest.raises(TypeError, match="not a dataclass"):
        tree_util.register_dataclass(Plain)


def test_vmap_passes_a_function_argument_through():
    out = tc.vmap(lambda f, x, how: f(x) if how == "f" else x, in_axes=(None, 0, None))(
        tnp.exp, np.zeros((2, 3)), "f")
    np.testing.assert_allclose(out, np.ones((2, 3)))
