"""Colour counts against an oracle: optimal values derived by hand for structured patterns, and
NetworkX's greedy colourings of the explicit distance-2 / squared graphs (ColPack does not
install here).

Hand derivations used below:

* a band ``|i − j| ≤ b`` (``n ≥ 2b + 1``): a row holds ``2b + 1`` nonzeros, so a column colouring
  needs ``≥ 2b + 1``; ``j mod (2b + 1)`` is valid (two columns of one colour are ``≥ 2b + 1``
  apart and share no row). A lower band ``0 ≤ i − j ≤ b``: ``b + 1`` the same way.
* the 5-point stencil Jacobian: 5 per row, and ``(i + 2j) mod 5`` is valid (the stencil's five
  cells take five different values of ``i + 2j`` mod 5, for every centre), so exactly 5.
* a tridiagonal Hessian (a path): a star colouring needs 3 (two colours alternate along a path
  of four vertices) and 3 suffice (``i mod 3``); an acyclic colouring needs only 2 (a path is a
  tree, so the proper 2-colouring has no bicoloured cycle).
* a symmetric band ``|i − j| ≤ b``: ``b + 1`` consecutive vertices are a clique, so every proper
  colouring needs ``≥ b + 1``; ``i mod (b + 1)`` is acyclic (each two-coloured subgraph is a set
  of vertex-disjoint monotone paths), so the acyclic optimum is ``b + 1``.
* a 2-D grid graph (5-point Hessian): star chromatic number 5 and acyclic chromatic number 3
  (Fertin, Raspaud & Reed 2004); the greedy colourings here reach 6 and 4 — stated, not hidden.
"""

import numpy as np
import pytest

from tensorcalc.accumulate.coloring import color_jacobian, column_coloring, is_valid_coloring
from tensorcalc.accumulate.coloring_acyclic import acyclic_coloring, is_acyclic_coloring
from tensorcalc.accumulate.coloring_symmetric import is_star_coloring, star_coloring

sp = pytest.importorskip("scipy.sparse")


def band(n, lo, hi):
    pat = np.zeros((n, n), bool)
    for d in range(-lo, hi + 1):
        pat |= np.eye(n, k=d, dtype=bool)
    return pat


def stencil(n):
    idx = np.arange(n * n).reshape(n, n)
    r = [idx, idx[1:], idx[:-1], idx[:, 1:], idx[:, :-1]]
    c = [idx, idx[:-1], idx[1:], idx[:, :-1], idx[:, 1:]]
    r = np.concatenate([a.ravel() for a in r])
    c = np.concatenate([a.ravel() for a in c])
    return sp.csr_matrix((np.ones(r.size, bool), (r, c)), shape=(n * n, n * n))


@pytest.mark.parametrize("b", [1, 2, 3, 5])
def test_band_column_colourings_are_optimal(b):
    pat = band(40, b, b)
    cols = column_coloring(pat)
    assert is_valid_coloring(pat, cols) and cols.max() + 1 == 2 * b + 1
    lower = band(40, 0, b)  # j ≤ i ≤ j + b: b + 1 per row
    assert column_coloring(lower).max() + 1 == b + 1
    # the hand-made optimum is valid, so the bound is attained, not just claimed
    assert is_valid_coloring(pat, np.arange(40) % (2 * b + 1))


def test_stencil_column_colouring_is_optimal():
    pat = stencil(25)
    hand = (np.arange(25)[:, None] + 2 * np.arange(25)[None, :]) % 5
    assert is_valid_coloring(pat, hand.ravel())
    assert color_jacobian(pat).n_colors == 5


def test_path_star_and_acyclic_optima():
    path = band(30, 1, 1)
    assert star_coloring(path).n_colors == 3 and is_star_coloring(path, np.arange(30) % 3)
    assert not is_star_coloring(path, np.arange(30) % 2)  # two colours leave a bicoloured P4
    a = acyclic_coloring(path)
    assert a.n_colors == 2 and is_acyclic_coloring(path, a.colors)


@pytest.mark.parametrize("b", [1, 2, 3, 4])
def test_band_acyclic_colouring_is_optimal(b):
    pat = band(50, b, b)
    assert is_acyclic_coloring(pat, np.arange(50) % (b + 1))  # the hand optimum is acyclic
    a = acyclic_coloring(pat)
    assert is_acyclic_coloring(pat, a.colors) and a.n_colors == b + 1
    s = star_coloring(pat)
    assert b + 1 < s.n_colors <= 2 * b + 1  # star needs more, at most the distance-2 count


def test_grid_hessian_counts_against_the_known_optima():
    g = stencil(20)
    s, a = star_coloring(g), acyclic_coloring(g)
    assert is_star_coloring(g, s.colors) and is_acyclic_coloring(g, a.colors)
    assert 5 <= s.n_colors <= 6  # optimum 5
    assert 3 <= a.n_colors <= 4  # optimum 3
    assert a.n_colors < s.n_colors


# --- NetworkX's greedy colourings as the oracle ---------------------------------------------

def _nx_best(graph):
    nx = pytest.importorskip("networkx", reason="networkx (the `test` extra) is the greedy "
                             "colouring oracle; not installed")
    return min(max(nx.greedy_color(graph, s).values(), default=-1) + 1
               for s in ("largest_first", "smallest_last", "DSATUR"))


def _graph(adj):
    nx = pytest.importorskip("networkx", reason="networkx (the `test` extra) is the greedy "
                             "colouring oracle; not installed")
    g = nx.Graph()
    g.add_nodes_from(range(adj.shape[0]))
    g.add_edges_from(zip(*np.nonzero(np.triu(adj, 1)), strict=True))
    return g


def _random(seed, m=80, n=70, density=0.05):
    rng = np.random.default_rng(seed)
    return rng.random((m, n)) < density


def _cyclic_far(n=400, far=40):
    """The long-range banded benchmark's pattern: ``x_i``, its cyclic neighbours and
    ``x_{i ± far}``."""
    i = np.arange(n)
    pat = np.zeros((n, n), bool)
    for c in (i, (i - 1) % n, (i + 1) % n, (i - far) % n, (i + far) % n):
        pat[i, c] = True
    return pat


JACOBIANS = {
    "band b=3": lambda: band(60, 3, 3),
    "cyclic band, long-range": _cyclic_far,
    "stencil 12x12": lambda: stencil(12).toarray(),
    "random 1": lambda: _random(1),
    "random 2": lambda: _random(2, 100, 100, 0.03),
    "random 3": lambda: _random(3, 60, 90, 0.08),
}


@pytest.mark.parametrize("name", sorted(JACOBIANS))
def test_column_colours_within_ten_percent_of_networkx(name):
    pat = JACOBIANS[name]().astype(int)
    d2 = (pat.T @ pat) > 0  # columns sharing a row
    ours = column_coloring(pat).max() + 1
    assert ours <= 1.1 * _nx_best(_graph(d2))


SYMMETRIC = {
    "path": lambda: band(40, 1, 1),
    "band b=2": lambda: band(40, 2, 2),
    "grid 12x12": lambda: stencil(12).toarray(),
    "random": lambda: (lambda a: a | a.T)(_random(4, 70, 70, 0.05)),
}


@pytest.mark.parametrize("name", sorted(SYMMETRIC))
def test_star_and_acyclic_colours_against_networkx_on_the_squared_graph(name):
    """A distance-2 colouring (a proper colouring of the squared graph) is a star colouring,
    so NetworkX's greedy colouring of ``G²`` is a star colouring to compare with; acyclic
    colourings are weaker still, so they must not need more than our star colouring."""
    pat = SYMMETRIC[name]()
    a = pat.astype(int)
    square = (a @ a + a) > 0
    s, ac = star_coloring(pat), acyclic_coloring(pat)
    assert s.n_colors <= 1.1 * _nx_best(_graph(square))
    assert ac.n_colors <= s.n_colors
    assert is_star_coloring(pat, s.colors) and is_acyclic_coloring(pat, ac.colors)
