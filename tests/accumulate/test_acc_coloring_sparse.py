"""Colourings on CSR/CSC patterns: validity on random patterns (hypothesis), every ordering,
bidirectional splits, star colourings for symmetric patterns, and the plain-Python loops."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tensorcalc.accumulate import _kernels
from tensorcalc.accumulate.coloring import (
    ORDERINGS,
    color_jacobian,
    column_coloring,
    is_valid_coloring,
    recover_jacobian,
    row_coloring,
)
from tensorcalc.accumulate.coloring_symmetric import (
    is_star_coloring,
    recover_hessian,
    star_coloring,
)

sp = pytest.importorskip("scipy.sparse")


@st.composite
def patterns(draw, square=False):
    m = draw(st.integers(1, 25))
    n = m if square else draw(st.integers(1, 25))
    density = draw(st.floats(0.02, 0.5))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    pat = rng.random((m, n)) < density
    if draw(st.booleans()):  # a dense row and column (arrowhead-like)
        pat[draw(st.integers(0, m - 1)), :] = True
        pat[:, draw(st.integers(0, n - 1))] = True
    if square:
        pat = pat | pat.T
    return pat


@settings(max_examples=60, deadline=None)
@given(patterns(), st.sampled_from(ORDERINGS + ("natural",)))
def test_one_sided_colourings_are_valid(pat, ordering):
    cols = column_coloring(sp.csr_matrix(pat), ordering)
    rows = row_coloring(pat, ordering)
    assert is_valid_coloring(pat, cols, "column") and is_valid_coloring(pat, rows, "row")
    # brute force: same-coloured columns never share a row
    for c in range(cols.max() + 1):
        assert (pat[:, cols == c].sum(axis=1) <= 1).all()
    assert cols.max() + 1 >= pat.sum(axis=1).max()  # the lower bound


@settings(max_examples=60, deadline=None)
@given(patterns(), st.sampled_from(["column", "row", "bidirectional", "best", "auto"]))
def test_recovery_is_exact_for_every_mode(pat, mode):
    rng = np.random.default_rng(0)
    jac = np.where(pat, rng.standard_normal(pat.shape), 0.0)
    c = color_jacobian(pat, mode)
    if c.mode == "bidirectional":
        got = recover_jacobian(pat, c, jac @ c.seed(), row_compressed=c.row_seed().T @ jac)
    else:
        got = recover_jacobian(pat, c, c.compress(jac))
    np.testing.assert_array_equal(got.toarray(), jac)
    assert got.nnz == pat.sum()  # every structural entry is stored


@settings(max_examples=60, deadline=None)
@given(patterns(square=True), st.sampled_from(["largest_first", "smallest_last", "natural"]))
def test_star_colourings_are_star_and_recover_symmetric_matrices(pat, ordering):
    s = star_coloring(pat, ordering)
    assert is_star_coloring(pat, s.colors)
    rng = np.random.default_rng(1)
    h = np.where(pat, rng.standard_normal(pat.shape), 0.0)
    h = h + h.T
    np.testing.assert_allclose(recover_hessian(pat, s, h @ s.seed()).toarray(), h)


def test_star_check_rejects_a_bicoloured_path():
    path = np.zeros((4, 4), bool)
    for i in range(3):
        path[i, i + 1] = path[i + 1, i] = True
    assert not is_star_coloring(path, [0, 1, 0, 1])  # proper, but a bicoloured P4
    assert is_star_coloring(path, [0, 1, 0, 2])
    assert not is_star_coloring(path, [0, 0, 1, 2])  # not proper


def test_arrowhead_counts():
    n = 200
    arrow = np.eye(n, dtype=bool)
    arrow[0, :] = arrow[:, 0] = True
    assert color_jacobian(arrow).n_colors == n  # one-sided: hopeless
    bi = color_jacobian(arrow, "bidirectional")
    assert bi.sweeps == 3 and (bi.jvps, bi.vjps) == (2, 1)
    assert "2 JVPs + 1 VJPs = 3 sweeps" in str(bi)
    assert star_coloring(arrow).n_colors == 2  # symmetric: the hub and the leaves


def test_stencil_colours_reach_the_lower_bound():
    n = 30
    idx = np.arange(n * n).reshape(n, n)
    r = [idx.ravel(), idx[1:].ravel(), idx[:-1].ravel(), idx[:, 1:].ravel(), idx[:, :-1].ravel()]
    c = [idx.ravel(), idx[:-1].ravel(), idx[1:].ravel(), idx[:, :-1].ravel(), idx[:, 1:].ravel()]
    pat = sp.csr_matrix((np.ones(sum(a.size for a in r), bool), (np.concatenate(r),
                         np.concatenate(c))), shape=(n * n, n * n))
    assert color_jacobian(pat).n_colors == 5  # 5 nonzeros per row: optimal


def test_python_loops_match_the_compiled_ones(monkeypatch):
    rng = np.random.default_rng(3)
    pat = rng.random((60, 50)) < 0.08
    sym = (rng.random((40, 40)) < 0.1)
    sym = sym | sym.T
    monkeypatch.setenv("TENSORCALC_COLORING", "python")
    assert _kernels.backend() == "python"
    py = [column_coloring(pat, o) for o in ORDERINGS] + [star_coloring(sym).colors]
    for colors in py[:-1]:
        assert is_valid_coloring(pat, colors)
    assert is_star_coloring(sym, py[-1])
    monkeypatch.delenv("TENSORCALC_COLORING")
    if _kernels.backend() != "numba":
        pytest.skip("numba is not installed: only the Python loops exist")
    compiled = [column_coloring(pat, o) for o in ORDERINGS] + [star_coloring(sym).colors]
    for a, b in zip(py, compiled, strict=True):
        np.testing.assert_array_equal(a, b)


def test_colpack_oracle():
    colpack = pytest.importorskip("colpack", reason="the optional `colpack` package (ColPack's "
                                  "Python bindings) is not installed; no oracle to compare")
    assert colpack is not None  # pragma: no cover - runs only where colpack installs


def test_large_pattern_without_numba_tries_largest_first_only(monkeypatch):
    """Without numba a large pattern is coloured by largest-first alone (the other orderings
    are Python loops several times slower); the colouring stays valid."""
    from tensorcalc.accumulate import coloring

    monkeypatch.setenv("TENSORCALC_COLORING", "python")
    monkeypatch.setattr(coloring, "PYTHON_WORK_LIMIT", 1_000)
    n = 20
    eye, band = sp.identity(n), sp.diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n, n))
    pat = (sp.kron(band, eye) + sp.kron(eye, band)).tocsr()  # 5-point stencil, 400 columns
    colors, name = coloring._best_columns(coloring.as_pattern(pat))
    assert name == "largest_first"
    assert is_valid_coloring(pat, colors)
    monkeypatch.setattr(coloring, "PYTHON_WORK_LIMIT", 10**12)
    _, name_small = coloring._best_columns(coloring.as_pattern(pat))
    assert name_small != "largest_first"  # below the limit every ordering is tried
