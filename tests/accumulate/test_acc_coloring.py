"""Sparse Jacobian colouring: colour counts, validity, seed matrices and exact recovery."""

import numpy as np
import pytest

from tensorcalc.accumulate import (
    color_jacobian,
    column_coloring,
    is_valid_coloring,
    recover_jacobian,
    row_coloring,
    seed_matrix,
)

sp = pytest.importorskip("scipy.sparse")


def tridiagonal(n):
    return np.eye(n, dtype=bool) | np.eye(n, k=1, dtype=bool) | np.eye(n, k=-1, dtype=bool)


def test_acc_diagonal_needs_one_colour():
    coloring = color_jacobian(np.eye(50))
    assert coloring.n_colors == 1 and coloring.mode == "column"


def test_acc_tridiagonal_needs_three_colours():
    colors = column_coloring(tridiagonal(40))
    assert colors.max() + 1 == 3
    assert is_valid_coloring(tridiagonal(40), colors)


def test_acc_banded_difference_needs_two_colours():
    # Jacobian of (x[1:] - x[:-1])**2: 49 x 50 with two adjacent nonzeros per row.
    pat = np.eye(49, 50, dtype=bool) | np.eye(49, 50, k=1, dtype=bool)
    coloring = color_jacobian(pat)
    assert (coloring.mode, coloring.n_colors) == ("column", 2)


def test_acc_arrowhead_picks_the_cheaper_side():
    n = 20
    dense_last_row = np.eye(n, dtype=bool)
    dense_last_row[-1, :] = True
    assert column_coloring(dense_last_row).max() + 1 == n
    assert row_coloring(dense_last_row).max() + 1 == 2
    best = color_jacobian(dense_last_row)
    assert (best.mode, best.n_colors) == ("row", 2)

    dense_first_col = np.eye(n, dtype=bool)
    dense_first_col[:, 0] = True
    best = color_jacobian(dense_first_col)
    assert (best.mode, best.n_colors) == ("column", 2)

    # Classic arrowhead (dense first row and column): every pair of columns shares row 0 and
    # every pair of rows shares column 0, so one-sided colouring needs n colours.
    arrow = dense_first_col.copy()
    arrow[0, :] = True
    assert color_jacobian(arrow).n_colors == n


def test_acc_random_patterns_are_validly_coloured():
    rng = np.random.default_rng(0)
    for _ in range(30):
        m, n = (int(k) for k in rng.integers(1, 40, size=2))
        pat = rng.random((m, n)) < rng.uniform(0.02, 0.4)
        for mode in ("column", "row"):
            coloring = color_jacobian(pat, mode=mode)
            assert is_valid_coloring(pat, coloring.colors, mode)
            counts = pat.sum(axis=1 if mode == "column" else 0)
            assert coloring.n_colors >= (counts.max() if counts.size else 0)
            # brute check: same-coloured columns (rows) never share a row (column)
            p = pat if mode == "column" else pat.T
            for c in range(coloring.n_colors):
                assert (p[:, coloring.colors == c].sum(axis=1) <= 1).all()


def test_acc_invalid_colouring_detected():
    pat = tridiagonal(5)
    assert not is_valid_coloring(pat, np.zeros(5, dtype=int))
    assert not is_valid_coloring(pat, np.array([0, 1, 2]))


@pytest.mark.parametrize("mode", ["column", "row", "auto"])
def test_acc_recovery_is_exact(mode):
    rng = np.random.default_rng(1)
    pat = (rng.random((60, 45)) < 0.08) | np.eye(60, 45, dtype=bool)
    jac = np.where(pat, rng.standard_normal(pat.shape), 0.0)
    coloring = color_jacobian(pat, mode=mode)
    seed = coloring.seed()
    compressed = jac @ seed if coloring.mode == "column" else seed.T @ jac
    assert np.array_equal(compressed, coloring.compress(jac))
    recovered = recover_jacobian(pat, coloring, compressed)
    assert sp.issparse(recovered)
    np.testing.assert_array_equal(recovered.toarray(), jac)
    dense = recover_jacobian(sp.csr_matrix(pat), coloring, compressed, dense=True)
    np.testing.assert_array_equal(dense, jac)
    assert coloring.sweeps == coloring.n_colors < min(pat.shape)


def test_acc_seed_matrix_and_errors():
    np.testing.assert_array_equal(seed_matrix([0, 1, 0]), [[1, 0], [0, 1], [1, 0]])
    coloring = color_jacobian(np.eye(3))
    with pytest.raises(ValueError, match="shape"):
        recover_jacobian(np.eye(3), coloring, np.zeros((3, 2)))
    with pytest.raises(ValueError):
        color_jacobian(np.eye(3), mode="diagonal")
    assert "1 colours" in str(coloring)
