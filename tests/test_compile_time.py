"""Compile time grows linearly with program size.

A complexity test, not a timing test: ``jit(grad)`` of a chain ten times longer must take far
less than a hundred times as long to compile. A quadratic pass (a scan over the remaining
program per equation, a collector walking every object made so far) drives the ratio towards
100 (the count-by-scan in the buffer planner gave 33 to 40 at these sizes); linear passes give
≈ 10. The bound 25 leaves room for a loaded machine.

Long programs are written in a compact source form (fewer lines for Python's ``compile``);
it must compute the same bits as the readable form small programs keep.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.compile import codegen, table
from tensorcalc.core.tree import tree_flatten
from tests.records import elementwise, nn, reductions
from tests.test_jit_records import record_gradient_and_jit


def _chain(rounds: int):
    def f(x):
        for _ in range(rounds):
            x = tnp.tanh(tnp.sin(x) * 0.9 + 0.1)
        return tnp.sum(x)
    return f


def _compile_seconds(rounds: int) -> tuple[float, int]:
    x = np.linspace(-1.0, 1.0, 8)
    best = float("inf")
    size = 0
    for _ in range(2):
        g = tc.jit(tc.grad(_chain(rounds)))
        t0 = time.perf_counter()
        g.compile(x)
        best = min(best, time.perf_counter() - t0)
        size = len(g.program(x).equations)
    return best, size


def test_jit_compile_time_is_linear_in_program_size():
    _compile_seconds(10)  # warm imports and caches
    small, n_small = _compile_seconds(200)
    large, n_large = _compile_seconds(2000)
    assert n_large >= 9 * n_small >= 17000  # ~2·10³ and ~2·10⁴ equations
    assert large / small < 25, (f"compiling {n_large} equations took {large:.2f} s, "
                                f"{n_small} took {small:.3f} s: ratio {large / small:.0f}")


def test_table_build_time_is_linear_in_program_size(monkeypatch):
    """The same for programs run as a table of steps (compile/table.py; long programs by
    default, every program here)."""
    monkeypatch.setattr(table, "TABLE_ABOVE", 0)
    _compile_seconds(10)
    small, n_small = _compile_seconds(200)
    large, n_large = _compile_seconds(2000)
    assert large / small < 25, (f"building the table of {n_large} equations took {large:.2f} "
                                f"s, {n_small} took {small:.3f} s: ratio {large / small:.0f}")


def test_compiled_long_chain_matches_eager():
    x = np.linspace(-1.0, 1.0, 8)
    f = _chain(2000)
    np.testing.assert_allclose(tc.jit(tc.grad(f))(x), tc.grad(f)(x), rtol=1e-13)


# --- the compact source form of long programs -----------------------------------------------
# Programs over COMPACT_ABOVE equations are written compactly (ufunc globals, ``out`` by
# position, a call read once by the next written as its argument). The records are small, so
# the threshold is lowered to 0 here: both forms must give bit-for-bit the same results, since
# they call the same ufuncs in the same order on the same buffers.

COMPACT_RECORDS = elementwise.RECORDS + reductions.RECORDS + nn.RECORDS


@pytest.mark.parametrize("rec", COMPACT_RECORDS, ids=[r.id for r in COMPACT_RECORDS])
def test_compact_source_gives_the_same_bits(rec, monkeypatch):
    g, args, want = record_gradient_and_jit(rec, np.random.default_rng(11))
    monkeypatch.setattr(codegen, "COMPACT_ABOVE", 0)
    got = tc.jit(g)(*args)
    for a, b in zip(tree_flatten(got)[0], tree_flatten(want)[0], strict=True):
        np.testing.assert_array_equal(a, b)


def _deleted(source):
    return sorted(n.strip() for line in source.splitlines() if line.startswith("    del ")
                  for n in line[8:].split(","))


def test_compact_form_nests_chains_and_frees_what_the_readable_one_frees(monkeypatch):
    x = np.linspace(-1.0, 1.0, 8)
    g = tc.grad(_chain(30))
    readable = tc.jit(g)
    want = readable(x)
    monkeypatch.setattr(codegen, "COMPACT_ABOVE", 0)
    compact = tc.jit(g)
    np.testing.assert_array_equal(compact(x), want)
    src, ref = compact.source(), readable.source()
    # A call read once by the next is nested in it (named by a walrus for its buffer).
    assert "_subtract(1.0, (v" in src and "out=" not in src and "#" not in src
    assert "out=" in ref and " *= " not in ref
    # A product or sum in place on its first operand is an augmented assignment.
    assert " *= " in src and " += " in src and "_multiply(v2, 0.9, v2)" not in src
    # The same names are deleted (a nested call's releases come after its line).
    assert _deleted(src) == _deleted(ref) and _deleted(src)
    assert src.count("(") < 0.7 * ref.count("(") and len(src) < 0.6 * len(ref)


def test_augmented_assignment_only_in_place_on_the_first_operand(monkeypatch):
    """``v -= w`` is ``np.subtract(v, w, v)``; a result written into the buffer of the second
    operand, or by a ufunc without an exact in-place operator (``**=``), stays a call."""
    x = np.linspace(0.5, 1.5, 8)

    def f(x):
        y = tnp.exp(x)
        z = 2.0 - y * y  # the product's buffer is reused by the subtraction (second operand)
        w = (z - tnp.sin(x)) ** 3.0  # in place on z, then a power
        return tnp.sum(w / tnp.cos(x))

    monkeypatch.setattr(codegen, "COMPACT_ABOVE", 0)
    j = tc.jit(f)
    got = j(x)
    src = j.source()
    assert " -= " in src and " /= " in src and "_subtract(2.0, " in src
    assert "**=" not in src and "_power(" in src
    monkeypatch.setattr(codegen, "COMPACT_ABOVE", 10**9)
    np.testing.assert_array_equal(got, tc.jit(f)(x))
    # ... and against plain NumPy in the same order.
    y = np.exp(x)
    np.testing.assert_array_equal(got, np.sum((2.0 - y * y - np.sin(x)) ** 3.0 / np.cos(x)))


@pytest.mark.filterwarnings("ignore:the matrix subclass:PendingDeprecationWarning")
def test_subclass_arguments_run_the_program_without_in_place_operators(monkeypatch):
    """Buffers are ufunc results, so an ``np.matrix`` argument makes them matrices, whose
    ``*=`` is the matrix product: such a call must run the program written with calls."""
    def f(x):
        y = tnp.exp(x)
        y = y * x
        return y * x

    monkeypatch.setattr(codegen, "COMPACT_ABOVE", 0)
    j = tc.jit(f)
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    plain = j(a)
    assert " *= " in j.source()
    got = j(np.matrix(a))
    assert type(got) is np.matrix
    np.testing.assert_array_equal(np.asarray(got), np.exp(a) * a * a)
    np.testing.assert_array_equal(plain, np.exp(a) * a * a)
