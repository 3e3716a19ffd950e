"""Structured local Jacobians: composition rules, their costs, and soundness on samples."""

import numpy as np
import pytest

from tensorcalc.accumulate import (
    Dense,
    Diagonal,
    Identity,
    Kronecker,
    Permutation,
    ScaledIdentity,
    Sparse,
    Zero,
    add_structure,
    compose,
)

RULES = [
    # (left, right, expected structure, expected multiplications)
    (Diagonal(5), Diagonal(5), Diagonal(5), 5),
    (Identity(4), Dense(4, 3), Dense(4, 3), 0),
    (Dense(3, 4), Identity(4), Dense(3, 4), 0),
    (Dense(3, 4), Diagonal(4), Dense(3, 4), 12),
    (Diagonal(3), Dense(3, 4), Dense(3, 4), 12),
    (Dense(2, 3), Dense(3, 4), Dense(2, 4), 24),
    (ScaledIdentity(3), ScaledIdentity(3), ScaledIdentity(3), 1),
    (ScaledIdentity(3), Diagonal(3), Diagonal(3), 3),
    (ScaledIdentity(6), Kronecker(3, 2, 2), Kronecker(3, 2, 2), 6),
    (Zero(2, 3), Dense(3, 4), Zero(2, 4), 0),
    (Dense(2, 3), Zero(3, 4), Zero(2, 4), 0),
    (Permutation(3, (2, 0, 1)), Dense(3, 5), Dense(3, 5), 0),
    (Permutation(3, (2, 0, 1)), Permutation(3, (1, 2, 0)), Permutation(3, (0, 1, 2)), 0),
    (Kronecker(2, 3, 4), Kronecker(3, 5, 4), Kronecker(2, 5, 4), 2 * 3 * 5 * 4),
    (Dense(7, 12), Kronecker(3, 5, 4), Dense(7, 20), 7 * 3 * 5 * 4),
    (Kronecker(2, 3, 4), Dense(12, 7), Dense(8, 7), 2 * 3 * 4 * 7),
    (Dense(2, 6), Sparse(6, 3, nnz=5), Dense(2, 3), 10),
]


@pytest.mark.parametrize("left, right, expected, cost", RULES, ids=lambda x: str(x))
def test_acc_compose_rules(left, right, expected, cost):
    structure, mults = compose(left, right)
    assert structure == expected
    assert mults == cost


def test_acc_diagonal_times_kronecker_keeps_pattern_not_kronecker():
    k = Kronecker(2, 3, 4)
    s, c = compose(Diagonal(8), k)
    assert isinstance(s, Sparse) and c == k.nnz
    assert np.array_equal(s.pattern(), k.pattern())


def test_acc_sparse_product_exact_with_patterns():
    a = Sparse.from_pattern(np.array([[1, 0, 1], [0, 1, 0]], bool))
    b = Sparse.from_pattern(np.array([[1, 1], [0, 0], [0, 1]], bool))
    s, c = compose(a, b)
    # pairs: a00·b00, a00·b01, a02·b21 -> 3; row 1 of the product is empty
    assert c == 3
    assert s == Sparse.from_pattern(np.array([[1, 1], [0, 0]], bool))


def test_acc_sparse_product_expected_without_patterns():
    s, c = compose(Sparse(10, 20, nnz=40), Sparse(20, 10, nnz=30))
    assert c == 60 and s == Sparse(10, 10, nnz=60)
    s, c = compose(Sparse(4, 4, nnz=8), Sparse(4, 4, nnz=12))
    assert c == 24 and s == Dense(4, 4)


def test_acc_apply_costs():
    assert Dense(3, 4).apply_cost(5) == 60
    assert Diagonal(6).apply_cost(2) == 12
    assert ScaledIdentity(6).apply_cost(2) == 12
    assert Identity(6).apply_cost(9) == 0
    assert Permutation(6).apply_cost(9) == 0
    assert Zero(3, 3).apply_cost(9) == 0
    assert Kronecker(2, 3, 4).apply_cost(2) == 48
    assert Sparse(5, 5, nnz=7).apply_cost(3) == 21


def test_acc_add_rules():
    assert add_structure(Identity(3), Identity(3)) == ScaledIdentity(3)
    assert add_structure(Diagonal(3), ScaledIdentity(3)) == Diagonal(3)
    assert add_structure(Zero(3, 2), Dense(3, 2)) == Dense(3, 2)
    assert add_structure(Dense(3, 3), Diagonal(3)) == Dense(3, 3)
    assert add_structure(Kronecker(2, 2, 3), Kronecker(2, 2, 3)) == Kronecker(2, 2, 3)
    union = add_structure(Diagonal(3), Permutation(3, (1, 2, 0)))
    assert isinstance(union, Sparse) and union.nnz == 6
    with pytest.raises(ValueError):
        add_structure(Dense(2, 3), Dense(3, 2))


def test_acc_shape_errors_and_immutability():
    with pytest.raises(ValueError, match="inner sizes"):
        compose(Dense(2, 3), Dense(4, 2))
    with pytest.raises(ValueError):
        Permutation(3, (0, 0, 1))
    with pytest.raises(ValueError):
        Sparse(2, 2)
    s = Sparse(2, 2, nnz=1)
    with pytest.raises(AttributeError):
        s.rows = 3
    with pytest.raises(ValueError):
        Sparse(2, 2, nnz=1, pattern=np.ones((2, 2)))
    assert hash(Sparse(2, 2, nnz=1)) == hash(Sparse(2, 2, nnz=1))


def _structures(rng, rows, cols):
    out = [Dense(rows, cols), Zero(rows, cols), Sparse.from_pattern(rng.random((rows, cols)) < 0.4)]
    if rows == cols:
        out += [Identity(rows), ScaledIdentity(rows), Diagonal(rows)]
        out.append(Permutation(rows, tuple(int(i) for i in rng.permutation(rows))))
    if rows % 2 == 0 and cols % 2 == 0:
        out += [Kronecker(rows // 2, cols // 2, 2), Kronecker(rows // 2, cols // 2, 2, True)]
    if rows % 3 == 0 and cols % 3 == 0:
        out.append(Kronecker(rows // 3, cols // 3, 3))
    return out


def test_acc_rules_are_sound_on_samples():
    """For every pair: the product's support lies in the predicted pattern, and the predicted
    cost never exceeds the count of stored-entry products (identities and permutations: 0)."""
    rng = np.random.default_rng(0)
    for m, n, p in [(6, 6, 6), (4, 6, 2), (6, 6, 3), (2, 4, 6)]:
        for left in _structures(rng, m, n):
            for right in _structures(rng, n, p):
                s, cost = compose(left, right)
                assert s.shape == (m, p)
                a, b = left.sample(rng), right.sample(rng)
                product = a @ b
                pat = s.pattern()
                assert pat is not None
                assert not (np.abs(product) > 1e-12)[~pat].any(), (left, right, s)
                naive = int((a != 0).sum(axis=0) @ (b != 0).sum(axis=1))
                assert cost <= naive, (left, right)
                if isinstance(s, Sparse):
                    assert s.nnz == int(pat.sum())


def test_acc_add_is_sound_and_transpose_consistent():
    rng = np.random.default_rng(1)
    for x in _structures(rng, 6, 6):
        assert np.array_equal(x.transpose().pattern(), x.pattern().T)
        assert np.array_equal(x.transpose().sample(rng) != 0, x.pattern().T)
        for y in _structures(rng, 6, 6):
            s = add_structure(x, y)
            total = x.sample(rng) + y.sample(rng)
            assert not (np.abs(total) > 1e-12)[~s.pattern()].any(), (x, y, s)


def test_acc_samples_have_their_structure():
    rng = np.random.default_rng(2)
    for x in _structures(rng, 6, 6) + _structures(rng, 4, 6):
        sample = x.sample(rng)
        assert sample.shape == x.shape
        assert np.array_equal(sample != 0, x.pattern())
        assert x.nnz == int(x.pattern().sum())
