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


@pytest.mark.parametrize("left, right", list(itertools.product(SAMPLES, repeat=2)))
def test_free_operands_give_the_same_bits_and_fresh_ones_are_untouched(left, right):
    """``free_a``/``free_b`` may write into that operand; the result is bitwise what the
    allocating path gives, and an operand that was not freed keeps its numbers."""
    for op in (L.matmul, L.add):
        expect = L.to_array(op(SAMPLES[left], SAMPLES[right]))
        for free_a, free_b in ((True, False), (False, True), (True, True)):
            a, b = (L.Local(s.structure, np.array(s.data) if isinstance(s.data, np.ndarray)
                            else s.data) for s in (SAMPLES[left], SAMPLES[right]))
            keep_a, keep_b = L.to_array(a).copy(), L.to_array(b).copy()
            out = op(a, b, free_a, free_b)
            np.testing.assert_array_equal(L.to_array(out), expect)
            if not free_a and out is not a:
                np.testing.assert_array_equal(L.to_array(a), keep_a)
            if not free_b and out is not b:
                np.testing.assert_array_equal(L.to_array(b), keep_b)


def test_a_free_operand_is_written_into_only_when_the_result_keeps_its_dtype():
    d64 = L.diagonal(np.linspace(1.0, 2.0, 3))
    w32 = L.dense(np.ones((3, 3), np.float32))
    out = L.matmul(d64, w32, free_b=True)
    assert out is not w32 and out.data.dtype == np.float64
    np.testing.assert_array_equal(w32.data, 1.0)  # a float32 buffer cannot hold the result
    w64 = L.dense(np.ones((3, 3)))
    assert L.matmul(d64, w64, free_b=True) is w64
    np.testing.assert_array_equal(w64.data, np.linspace(1.0, 2.0, 3)[:, None] * np.ones((3, 3)))


@pytest.mark.parametrize("left, right", list(itertools.product(SAMPLES, repeat=2)))
def test_memory_from_empty_gives_the_same_bits_as_numpys(left, right):
    """``empty=`` (a recycler's buffers) changes where a new dense value lives, never its
    numbers: bitwise the allocating result, in a buffer of NumPy's result dtype, written
    through no operand."""
    handed: list[np.ndarray] = []

    def empty(shape, dtype):
        # NaN-filled: an entry the operation did not write would show
        handed.append(np.full(shape, np.nan, dtype))
        return handed[-1]

    for op in (L.matmul, L.add):
        a, b = SAMPLES[left], SAMPLES[right]
        expect = op(a, b)
        keep_a, keep_b = L.to_array(a).copy(), L.to_array(b).copy()
        handed.clear()
        out = op(a, b, empty=empty)
        np.testing.assert_array_equal(L.to_array(out), L.to_array(expect))
        assert type(out.structure) is type(expect.structure)
        np.testing.assert_array_equal(L.to_array(a), keep_a)
        np.testing.assert_array_equal(L.to_array(b), keep_b)
        if handed:  # the buffer is the result's memory, never a scratch copy
            assert type(out.structure) is Dense and out.data is handed[-1]


def test_empty_buffers_take_numpys_result_dtype():
    d32 = L.diagonal(np.linspace(1.0, 2.0, 4).astype(np.float32))
    w64 = L.dense(np.ones((4, 4)))
    w32 = L.dense(np.ones((4, 4), np.float32))
    asked = []

    def empty(shape, dtype):
        asked.append((shape, np.dtype(dtype)))
        return np.empty(shape, dtype)

    assert L.matmul(d32, w64, empty=empty).data.dtype == np.float64
    assert L.matmul(w32, w32, empty=empty).data.dtype == np.float32
    assert L.add(w32, w64, empty=empty).data.dtype == np.float64
    assert asked == [((4, 4), np.dtype(np.float64)), ((4, 4), np.dtype(np.float32)),
                     ((4, 4), np.dtype(np.float64))]
