"""The structured local-Jacobian table of jacobians/structured.py: keyed by primitive objects,
and each rule still fires on the programs it was written for (a rule that silently stops
applying would show here as a dense or materialized block in the printed plan)."""

import re

import numpy as np
import pytest

import tensorcalc.numpy as tnp
from tensorcalc.api import linear_map, trace
from tensorcalc.core.context import strong_zero_checks
from tensorcalc.core.primitive import Primitive
from tensorcalc.jacobians.structured import RULES, NotStructured, local_jacobians
from tensorcalc.transforms import jacobian, jacobian_plan


def test_rule_table_is_keyed_by_registered_primitives():
    assert RULES
    registered = list(Primitive.registry.values())
    for prim, rule in RULES.items():
        assert isinstance(prim, Primitive), prim
        assert any(prim is p for p in registered), f"{prim.name} is not the registered object"
        assert callable(rule) and rule.__name__.endswith("_rule"), rule


def _kinds(plan) -> dict[str, set[str]]:
    """Primitive name -> the kinds of local Jacobian the plan printed for its equations."""
    out: dict[str, set[str]] = {}
    for text, jacs in plan.steps:
        prim = re.match(r"\S+ = (\w+)", text).group(1)
        for j in jacs:
            kind = re.match(r"d/d\(arg \d\): (.*) \d+x\d+$", j).group(1)
            out.setdefault(prim, set()).add(re.sub(r" I\d+.*", "", kind))
    return out


W = np.random.default_rng(0).standard_normal((4, 3))
C = np.random.default_rng(1).standard_normal(4)


@pytest.mark.parametrize("fun, arg, expected", [
    # tanh(W x): dense matmul, diagonal tangent product (mul_sz)
    (lambda x: tnp.tanh(W @ x), np.ones(3), {"matmul": {"dense"}, "mul_sz": {"diagonal"}}),
    # a batch of rows through a dense layer: I_B ⊗ W, then a reshape (identity)
    (lambda X: tnp.reshape(tnp.tanh(X @ W.T), (-1,)), np.ones((5, 3)),
     {"matmul": {"kronecker"}, "mul_sz": {"diagonal"}, "reshape": {"identity"}}),
    # transpose (permutation), product with a scalar (scaled identity)
    (lambda X: tnp.sin(X.T) * 2.0, np.ones((5, 3)),
     {"transpose": {"permutation"}, "mul_sz": {"diagonal", "scaled identity"}}),
    # neg, quotient by a constant, where with a constant condition, getitem, sums
    (lambda x: tnp.sum(-(W @ x) / C + x[:2].sum() - tnp.where(C > 0, W @ x, 0.0)), np.ones(3),
     {"neg": {"scaled identity"}, "div_sz": {"diagonal"}, "select": {"diagonal"},
      "getitem": {"sparse"}, "reduce_sum": {"dense"}, "add": {"identity", "sparse"}}),
    # broadcasting add/sub and broadcast_to (0/1 selections)
    (lambda x: tnp.sin(x)[None, :] - tnp.ones((2, 3)) + tnp.broadcast_to(x, (2, 3)), np.ones(3),
     {"broadcast_to": {"sparse"}, "add": {"identity"}, "getitem": {"sparse"}}),
    # convert (identity)
    (lambda x: x - tnp.sin(x) + (x * x).astype(np.float32), np.ones(3),
     {"convert": {"identity"}, "neg": {"scaled identity"}}),
])
def test_plan_shows_the_structured_kinds(fun, arg, expected):
    plan = jacobian_plan(fun, arg)
    assert plan.choice == "structured"
    kinds = _kinds(plan)
    for prim, want in expected.items():
        assert kinds.get(prim) == want, (prim, kinds, str(plan))
    np.testing.assert_allclose(jacobian(fun)(arg), jacobian(fun, mode="forward")(arg),
                               rtol=1e-12, atol=1e-14)


def test_primal_linear_ops_have_structured_rules():
    # mul/sub/div by constants rarely reach a linearization (tangents use mul_sz/div_sz and
    # neg): read them off a traced program that is itself linear.
    prog = trace(lambda x, y: (x * C - 3.0 * x) / C - tnp.broadcast_to(y, (4,)),
                 np.ones(4), np.ones(()))
    x, y = prog.inputs
    described = {}
    for (u, w), jac in local_jacobians(prog).items():
        eq = next(e for e in prog.equations if e.outputs[0] is w)
        described.setdefault(eq.primitive.name, set()).add(
            ("x" if u is x else "y" if u is y else "v", jac.describe()))
    assert described["mul"] == {("x", "diagonal"), ("x", "scaled identity")}
    assert described["sub"] == {("v", "identity"), ("v", "scaled identity")}
    assert described["div"] == {("v", "diagonal")}
    assert described["broadcast_to"] == {("y", "sparse")}


def test_strong_zero_products_leave_the_structured_path_when_enforced():
    f = lambda x: tnp.tanh(W @ x)  # noqa: E731
    lin = linear_map(f, np.ones(3))
    assert any(eq.primitive.name == "mul_sz" for eq in lin.program.equations)
    local_jacobians(lin.program)  # structured normally
    with strong_zero_checks():
        with pytest.raises(NotStructured, match="mul_sz with strong zeros enforced"):
            local_jacobians(lin.program)
        plan = jacobian_plan(f, np.ones(3))
    assert plan.graph is None and "strong zeros enforced" in plan.reason
