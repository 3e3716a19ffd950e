"""Star bicolouring, direct splits and acyclic colourings: validity on random patterns
(hypothesis), exact recovery from the compressed products (checked against the explicit
matrices), the checkers rejecting invalid colourings, and the hard cases where bidirectional
colourings beat one-sided ones."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorcalc.accumulate import _kernels
from tensorcalc.accumulate.coloring import Coloring, color_jacobian, recover_jacobian
from tensorcalc.accumulate.coloring_acyclic import (
    AcyclicColoring,
    acyclic_coloring,
    color_hessian,
    is_acyclic_coloring,
    recover_hessian_acyclic,
)
from tensorcalc.accumulate.coloring_bidirectional import (
    best_coloring,
    direct_split,
    is_valid_bicoloring,
    star_bicoloring,
)

sp = pytest.importorskip("scipy.sparse")


@st.composite
def patterns(draw, square=False):
    m = draw(st.integers(1, 30))
    n = m if square else draw(st.integers(1, 30))
    density = draw(st.floats(0.02, 0.4))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    pat = rng.random((m, n)) < density
    for _ in range(draw(st.integers(0, 2))):  # a few dense rows and columns
        pat[rng.integers(m), :] = True
        pat[:, rng.integers(n)] = True
    if square:
        pat = pat | pat.T
    return pat


def _values(pat, seed=0):
    return np.where(pat, np.random.default_rng(seed).standard_normal(pat.shape), 0.0)


def _recover(pat, c):
    jac = _values(pat)
    got = recover_jacobian(pat, c, jac @ c.seed(), row_compressed=c.row_seed().T @ jac)
    return got, jac


@settings(max_examples=60, deadline=None)
@given(patterns(), st.sampled_from(["split", "star_bicoloring", "bidirectional", "best"]))
def test_bicolourings_are_valid_and_recover_exactly(pat, mode):
    c = color_jacobian(pat, mode)
    assert is_valid_bicoloring(pat, c)
    if c.mode == "bidirectional":
        got, jac = _recover(pat, c)
    else:
        jac = _values(pat)
        got = recover_jacobian(pat, c, c.compress(jac))
    np.testing.assert_array_equal(got.toarray(), jac)
    assert got.nnz == pat.sum()


@settings(max_examples=40, deadline=None)
@given(patterns())
def test_best_is_never_worse_than_either_side(pat):
    best, alt = best_coloring(pat)
    assert best.sweeps <= color_jacobian(pat, "column").sweeps
    assert best.sweeps <= color_jacobian(pat, "row").sweeps
    assert any(v.startswith(str(best.sweeps)) for v in alt.values())


def test_bicolouring_checker_rejects_unrecoverable_entries():
    arrow = np.eye(6, dtype=bool)
    arrow[0, :] = arrow[:, 0] = True
    good = color_jacobian(arrow, "star_bicoloring")
    assert is_valid_bicoloring(arrow, good)
    # all columns one colour and no row seeds: row 0 mixes every column
    bad = Coloring("bidirectional", np.zeros(6, np.int64), (6, 6), np.full(6, -1), None)
    assert not is_valid_bicoloring(arrow, bad)
    # row 0 seeded, but the leaves share one column colour with column 0: rows 1..5 mix it
    bad = Coloring("bidirectional", np.zeros(6, np.int64), (6, 6),
                   np.array([0, -1, -1, -1, -1, -1]), np.array([0]))
    assert not is_valid_bicoloring(arrow, bad)


def test_arrowhead_needs_at_most_four_sweeps():
    for n in (5, 50, 500):
        arrow = np.eye(n, dtype=bool)
        arrow[0, :] = arrow[:, 0] = True
        for mode in ("split", "star_bicoloring", "best"):
            c = color_jacobian(arrow, mode)
            assert c.sweeps <= 4 and is_valid_bicoloring(arrow, c)
            got, jac = _recover(arrow, c) if c.mode == "bidirectional" else (None, None)
            if got is not None:
                np.testing.assert_array_equal(got.toarray(), jac)


def _dense_lines_and_band(n, b, k):
    pat = np.zeros((n, n), bool)
    for d in range(-b, b + 1):
        pat |= np.eye(n, k=d, dtype=bool)
    pat[:k, :] = True
    pat[:, -k:] = True
    return pat


@pytest.mark.parametrize("b", [1, 2, 4])
def test_two_dense_rows_two_dense_columns_and_a_band(b):
    """Column and row colourings both need ``n`` (a dense row / column touches everything);
    bidirectional ones need the ``2b + 1`` band colours, the two dense columns' own colours
    and two reverse sweeps for the dense rows: ``2b + 5``."""
    n = 80
    pat = _dense_lines_and_band(n, b, 2)
    assert color_jacobian(pat, "column").sweeps == n
    assert color_jacobian(pat, "row").sweeps == n
    for mode in ("split", "star_bicoloring"):
        c = color_jacobian(pat, mode)
        assert is_valid_bicoloring(pat, c) and c.sweeps <= 2 * b + 5
        got, jac = _recover(pat, c)
        np.testing.assert_array_equal(got.toarray(), jac)
    assert color_jacobian(pat, "best").sweeps <= 2 * b + 5


def test_random_sparse_with_a_few_dense_rows_and_columns():
    rng = np.random.default_rng(7)
    n = 300
    pat = rng.random((n, n)) < 0.01
    pat[rng.integers(0, n, 3), :] = True
    pat[:, rng.integers(0, n, 3)] = True
    one_sided = min(color_jacobian(pat, "column").sweeps, color_jacobian(pat, "row").sweeps)
    for mode in ("split", "star_bicoloring"):
        c = color_jacobian(pat, mode)
        assert is_valid_bicoloring(pat, c)
        assert c.sweeps < one_sided / 10
    best, alt = best_coloring(pat)
    assert "star bicolouring (JVP + VJP)" in alt and "direct split (JVP + VJP)" in alt
    assert best.sweeps == min(direct_split(pat).sweeps, star_bicoloring(pat).sweeps)


# --- acyclic colourings ----------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(patterns(square=True), st.sampled_from([None, "largest_first", "smallest_last",
                                               "natural"]))
def test_acyclic_colourings_are_acyclic_and_substitution_recovers(pat, ordering):
    a = acyclic_coloring(pat, ordering)
    assert is_acyclic_coloring(pat, a.colors)
    h = _values(pat, 2)
    h = h + h.T
    got = recover_hessian_acyclic(pat, a, h @ a.seed())
    np.testing.assert_allclose(got.toarray(), h, rtol=1e-12, atol=1e-12)
    assert got.nnz == (pat | pat.T).sum()


def test_acyclic_checker_rejects_a_bicoloured_cycle():
    cycle = np.zeros((4, 4), bool)
    for i in range(4):
        cycle[i, (i + 1) % 4] = cycle[(i + 1) % 4, i] = True
    assert not is_acyclic_coloring(cycle, [0, 1, 0, 1])  # proper, but a two-coloured cycle
    assert is_acyclic_coloring(cycle, [0, 1, 0, 2])
    assert not is_acyclic_coloring(cycle, [0, 0, 1, 2])  # not proper
    with pytest.raises(ValueError, match="recover_hessian_acyclic"):
        recover_hessian_acyclic(cycle, AcyclicColoring(np.array([0, 1, 0, 2]), (4, 4)),
                                np.zeros((4, 2)))


def test_color_hessian_methods():
    band = np.eye(30, dtype=bool) | np.eye(30, k=1, dtype=bool) | np.eye(30, k=-1, dtype=bool)
    assert color_hessian(band).mode == "star" and color_hessian(band).n_colors == 3
    assert color_hessian(band, "acyclic").n_colors == 2
    assert color_hessian(band, "auto").mode == "acyclic"
    arrow = np.eye(30, dtype=bool)
    arrow[0, :] = arrow[:, 0] = True
    assert color_hessian(arrow, "auto").mode == "star"  # 2 either way: the direct one wins
    with pytest.raises(ValueError, match="star.*acyclic"):
        color_hessian(band, "greedy")


def test_python_loops_match_the_compiled_ones_for_the_new_kernels(monkeypatch):
    rng = np.random.default_rng(5)
    pat = rng.random((40, 35)) < 0.1
    pat[3, :] = True
    pat[:, 4] = True
    sym = rng.random((40, 40)) < 0.1
    sym = sym | sym.T
    monkeypatch.setenv("TENSORCALC_COLORING", "python")
    py = (star_bicoloring(pat), acyclic_coloring(sym))
    assert is_valid_bicoloring(pat, py[0]) and is_acyclic_coloring(sym, py[1].colors)
    monkeypatch.delenv("TENSORCALC_COLORING")
    if _kernels.backend() != "numba":
        pytest.skip("numba is not installed: only the Python loops exist")
    big = {"work": _kernels.SMALL_WORK}
    monkeypatch.setattr(_kernels, "SMALL_WORK", 0)  # force the compiled loops
    compiled = (star_bicoloring(pat), acyclic_coloring(sym))
    monkeypatch.setattr(_kernels, "SMALL_WORK", big["work"])
    np.testing.assert_array_equal(py[0].colors, compiled[0].colors)
    np.testing.assert_array_equal(py[0].row_colors, compiled[0].row_colors)
    np.testing.assert_array_equal(py[1].colors, compiled[1].colors)
