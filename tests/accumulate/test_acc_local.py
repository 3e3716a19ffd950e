"""Value-carrying local Jacobians (accumulate/local.py): products and sums agree with dense
arithmetic, each value holds its structure class, and accumulate/ stays free of the IR."""

import ast
import itertools
import pathlib

import numpy as np
import pytest

from tensorcalc.accumulate import local as L
from tensorcalc.accumulate.structure import (
    Dense,
    Diagonal,
    Identity,
    Kronecker,
    Permutation,
    ScaledIdentity,
    Sparse,
)

N = 6


def _samples() -> dict[str, L.Local]:
    rng = np.random.default_rng(3)
    rows = np.array([0, 1, 1, 3, 5, 5, 2])
    cols = np.array([2, 0, 4, 3, 1, 5, 2])
    return {
        "identity": L.identity(N),
        "scaled identity": L.scaled(-2.5, N),
        "diagonal": L.diagonal(rng.standard_normal(N)),
        "permutation": L.permutation(rng.permutation(N)),
        "kronecker I2⊗W[3x3]": L.kron(rng.standard_normal((3, 3)), 2, identity_first=True),
        "kronecker W[3x3]⊗I2": L.kron(rng.standard_normal((3, 3)), 2, identity_first=False),
        "dense": L.dense(rng.standard_normal((N, N))),
        "sparse": L.selection(rows, cols, (N, N), rng.standard_normal(rows.size)),
    }


SAMPLES = _samples()
STRUCTURE = {"identity": Identity, "scaled identity": ScaledIdentity, "diagonal": Diagonal,
             "permutation": Permutation, "kronecker I2⊗W[3x3]": Kronecker,
             "kronecker W[3x3]⊗I2": Kronecker, "dense": Dense, "sparse": Sparse}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_local_holds_its_structure_and_describes_it(name):
    a = SAMPLES[name]
    assert type(a.structure) is STRUCTURE[name]
    assert a.describe() == name
    assert (a.rows, a.cols) == a.structure.shape == L.to_array(a).shape == (N, N)


@pytest.mark.parametrize("left, right", list(itertools.product(SAMPLES, repeat=2)))
def test_products_and_sums_match_dense(left, right):
    a, b = SAMPLES[left], SAMPLES[right]
    da, db = L.to_array(a), L.to_array(b)
    for op, expect in ((L.matmul, da @ db), (L.add, da + db)):
        out = op(a, b)
        assert out.structure.shape == (N, N)
        np.testing.assert_allclose(L.to_array(out), expect, rtol=1e-12, atol=1e-12)
        if isinstance(out.structure, Sparse):
            assert out.structure.nnz == out.data.nnz


def test_structure_survives_where_it_should():
    d = SAMPLES["diagonal"]
    kinds = {
        (d, d, L.matmul): Diagonal,
        (SAMPLES["scaled identity"], d, L.add): Diagonal,
        (SAMPLES["identity"], SAMPLES["identity"], L.add): ScaledIdentity,
        (SAMPLES["permutation"], SAMPLES["permutation"], L.matmul): Permutation,
        (SAMPLES["kronecker I2⊗W[3x3]"], SAMPLES["kronecker I2⊗W[3x3]"], L.matmul): Kronecker,
        (SAMPLES["sparse"], SAMPLES["sparse"], L.matmul): Sparse,
        (d, SAMPLES["sparse"], L.matmul): Sparse,
        (d, SAMPLES["dense"], L.matmul): Dense,
    }
    for (a, b, op), kind in kinds.items():
        assert type(op(a, b).structure) is kind


def test_accumulate_package_does_not_import_the_ir():
    """accumulate/ is the pure cost model and executor: NumPy and SciPy only."""
    pkg = pathlib.Path(L.__file__).parent
    for path in sorted(pkg.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [("." * node.level) + (node.module or "")]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith("..") and not name.startswith("tensorcalc"), \
                    f"{path.name} imports {name}"
