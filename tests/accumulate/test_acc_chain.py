"""Chain bracketing: the anchor counts, DP against brute force, numeric equality of orders."""

import numpy as np
import pytest

from tensorcalc.accumulate import (
    Bracketing,
    Dense,
    Diagonal,
    Identity,
    Kronecker,
    Permutation,
    ScaledIdentity,
    Sparse,
    Zero,
    all_bracketings,
    bracketing_cost,
    brute_force_chain,
    chain_cost,
    multiply_bracketing,
)


@pytest.mark.parametrize(
    "dims, forward, reverse, optimal, bracketing",
    [
        ([10, 6, 8, 2, 1], 660, 124, 124, "(((J4 J3) J2) J1)"),
        ([50, 50, 2, 50, 50], 135_000, 135_000, 15_000, "((J4 J3) (J2 J1))"),
        ([10, 100, 10, 100, 10], 30_000, 30_000, 21_000, "((J4 J3) (J2 J1))"),
    ],
)
def test_acc_anchor_chains(dims, forward, reverse, optimal, bracketing):
    c = chain_cost(dims)
    assert (c.forward, c.reverse, c.optimal) == (forward, reverse, optimal)
    assert str(c.bracketing) == bracketing
    assert bracketing_cost(dims, c.bracketing) == optimal
    assert c.dims == tuple(dims)


def test_acc_seed_002_terms():
    # docs/lessons/accumulation.md spells the sums out term by term.
    c = chain_cost([10, 6, 8, 2, 1])
    assert c.reverse == 1 * 2 * 8 + 1 * 8 * 6 + 1 * 6 * 10
    assert c.forward == 10 * 6 * 8 + 10 * 8 * 2 + 10 * 2 * 1
    assert c.best_mode == "reverse"
    text = str(c)
    assert "660" in text and "124" in text and "(J4 (J3 (J2 J1)))" in text


def test_acc_mode_formulas_random():
    rng = np.random.default_rng(0)
    for _ in range(50):
        dims = [int(d) for d in rng.integers(1, 40, size=rng.integers(2, 10))]
        c = chain_cost(dims)
        q = len(dims) - 1
        assert c.forward == sum(dims[i] * dims[i - 1] * dims[0] for i in range(2, q + 1))
        assert c.reverse == sum(dims[q] * dims[i] * dims[i - 1] for i in range(1, q))
        assert c.optimal <= min(c.forward, c.reverse)


def test_acc_dp_matches_brute_force_up_to_length_8():
    rng = np.random.default_rng(1)
    for q in range(1, 9):
        for _ in range(6 if q < 8 else 3):
            dims = [int(d) for d in rng.integers(1, 60, size=q + 1)]
            c = chain_cost(dims)
            best, bracketing = brute_force_chain(dims)
            assert c.optimal == best, dims
            assert bracketing_cost(dims, c.bracketing) == best


def test_acc_catalan_counts():
    assert [len(all_bracketings(q)) for q in range(1, 9)] == [1, 1, 2, 5, 14, 42, 132, 429]
    assert {str(b) for b in all_bracketings(3)} == {"((J3 J2) J1)", "(J3 (J2 J1))"}


def test_acc_every_bracketing_gives_the_same_product():
    rng = np.random.default_rng(2)
    dims = [4, 3, 5, 2, 6, 3]
    mats = [rng.standard_normal((dims[i], dims[i - 1])) for i in range(1, len(dims))]
    reference = mats[4] @ mats[3] @ mats[2] @ mats[1] @ mats[0]
    for b in all_bracketings(5):
        np.testing.assert_allclose(multiply_bracketing(mats, b), reference, rtol=1e-12)


def test_acc_bracketing_constructors_and_long_chains():
    assert str(Bracketing.forward(3)) == "(J3 (J2 J1))"
    assert str(Bracketing.reverse(3)) == "((J3 J2) J1)"
    assert str(Bracketing.forward(1)) == "J1"
    # Deep trees are walked iteratively: no recursion limit at q = 5000.
    q = 5000
    dims = [3] * (q + 1)
    assert bracketing_cost(dims, Bracketing.forward(q)) == 27 * (q - 1)
    assert str(Bracketing.reverse(q)).startswith("(" * (q - 1) + "J5000 J4999)")
    c = chain_cost([2] * 201)  # the O(q^3) DP stays fast for a few hundred factors
    assert c.optimal == c.forward == c.reverse == 8 * 199


def test_acc_bad_inputs():
    with pytest.raises(ValueError, match="J2 needs 3 columns"):
        chain_cost([Dense(3, 2), Dense(4, 4)])
    with pytest.raises(TypeError):
        chain_cost(["a", "b"])
    with pytest.raises(ValueError):
        chain_cost([5])
    with pytest.raises(ValueError, match="once each"):
        bracketing_cost([2, 3, 4], Bracketing((1, 1)))


def test_acc_structured_chain_mlp():
    # x(4) -> W1 -> tanh -> W2 -> tanh: diagonal Jacobians of the elementwise steps.
    factors = [Dense(8, 4), Diagonal(8), Dense(2, 8), Diagonal(2)]
    c = chain_cost(factors)
    # forward: diag·dense 32, dense·dense 64, diag·dense 8
    assert c.forward == 8 * 4 + 2 * 8 * 4 + 2 * 4
    # reverse: diag·dense 16, dense·diag 16, dense·dense 64
    assert c.reverse == 2 * 8 + 2 * 8 + 2 * 8 * 4
    assert c.optimal == 88 and str(c.bracketing) == "(J4 ((J3 J2) J1))"
    dense = chain_cost([f.densify() for f in factors])
    assert (dense.forward, dense.reverse) == (
        8 * 8 * 4 + 2 * 8 * 4 + 2 * 2 * 4,
        2 * 2 * 8 + 2 * 8 * 8 + 64,
    )


def _random_structure(rng, rows, cols):
    kinds = ["dense", "sparse", "zero"]
    if rows == cols:
        kinds += ["identity", "scaled", "diagonal", "perm"]
    if rows % 2 == 0 and cols % 2 == 0:
        kinds.append("kron")
    kind = kinds[rng.integers(len(kinds))]
    if kind == "dense":
        return Dense(rows, cols)
    if kind == "zero":
        return Zero(rows, cols)
    if kind == "identity":
        return Identity(rows)
    if kind == "scaled":
        return ScaledIdentity(rows)
    if kind == "diagonal":
        return Diagonal(rows)
    if kind == "perm":
        return Permutation(rows, tuple(int(i) for i in rng.permutation(rows)))
    if kind == "kron":
        return Kronecker(rows // 2, cols // 2, 2, bool(rng.integers(2)))
    return Sparse.from_pattern(rng.random((rows, cols)) < 0.3)


def test_acc_structured_dp_matches_brute_force_and_numbers():
    rng = np.random.default_rng(3)
    for _ in range(40):
        q = int(rng.integers(2, 7))
        dims = [int(d) for d in rng.choice([2, 4, 6], size=q + 1)]
        factors = [_random_structure(rng, dims[i], dims[i - 1]) for i in range(1, q + 1)]
        c = chain_cost(factors)
        best, _ = brute_force_chain(factors)
        assert c.optimal == best
        assert c.optimal <= min(c.forward, c.reverse)
        mats = [f.sample(rng) for f in factors]
        reference = multiply_bracketing(mats, Bracketing.forward(q))
        np.testing.assert_allclose(multiply_bracketing(mats, c.bracketing), reference, atol=1e-10)
