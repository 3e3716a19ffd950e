"""Fused loops take broadcast operands (``compile.fusion._key``): a bias row, a column, a
length-1 axis of a 3-D array join the group of the result's shape and are read at their own
index (``b[i1]``, ``c[i0, 0]``), so ``tanh(x W + b)`` is one pass. The tests check the unfused
program's bits (IEEE operations in the same order, and NumPy's own ``tanh`` loop where it is
SIMD code), that the kernels really read the operands broadcast, that an operand another open
group defines is emitted before the group that reads it, and that a broadcast operand is never
the buffer a kernel writes into."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.compile import fusion
from tensorcalc.compile.codegen import compile_program
from tensorcalc.compile.fusion_blocks import operand_index
from tensorcalc.ops import elementwise as ew
from tests.concurrency import isolated_kernel_cache

_kernel_cache = isolated_kernel_cache("fused")
_TANH = frozenset({(ew.tanh_p, np.dtype(np.float64))})  # through NumPy's own loop


def test_operand_index_follows_numpys_broadcasting():
    assert operand_index((4, 5), (4, 5)) == "i0, i1"
    assert operand_index((5,), (4, 5)) == "i1"
    assert operand_index((1, 5), (4, 5)) == "0, i1"
    assert operand_index((4, 1), (4, 5)) == "i0, 0"
    assert operand_index((3, 1, 5), (2, 3, 4, 5)) == "i1, 0, i3"
    assert operand_index((1,), (1,)) == "i0"  # an axis of size 1 in both: its own index


def test_broadcast_operands_join_the_group_of_the_results_shape(rng):
    x, b = rng.standard_normal((6, 7)), rng.standard_normal(7)
    col = rng.standard_normal((6, 1))
    prog = tc.trace(lambda x, b, c: (x + b) * c - b / (1.5 + x * c), x, b, col)
    plan = fusion.plan_fusion(prog)
    assert [k.size for k in plan.kernels] == [6]  # one kernel for all six operations
    (k,) = plan.kernels
    assert "a1[i1]" in k.src and "a2[i0, 0]" in k.src
    if fusion.numba_available():  # the kernel itself, with no rerun of the unfused program
        (got,) = compile_program(plan.program())[0](x, b, col)
        np.testing.assert_array_equal(got, (x + b) * col - b / (1.5 + x * col))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_broadcasts_give_the_unfused_bits(rng, dtype):
    pytest.importorskip("numba", reason="fused kernels need numba (the 'fast' extra)")
    x = rng.standard_normal((5, 3, 40)).astype(dtype)
    row = rng.standard_normal(40).astype(dtype)
    mid = rng.standard_normal((3, 1)).astype(dtype)
    lead = rng.standard_normal((5, 1, 1)).astype(dtype)

    def f(x, row, mid, lead):
        y = (x * row + mid) / (2.0 + lead * lead) - row
        return tnp.sum(y * y * mid)

    g = tc.grad(f, argnums=(0, 1, 2, 3))
    plain = tc.jit(g, fuse=False)(x, row, mid, lead)
    fused_fn = tc.jit(g, fuse=True)
    fused = fused_fn(x, row, mid, lead)
    assert "fused[" in fused_fn.source(x, row, mid, lead)
    for p, q in zip(plain, fused, strict=True):
        assert q.dtype == p.dtype == dtype
        np.testing.assert_array_equal(q, p)


def test_a_bias_and_tanh_are_one_kernel_with_numpys_tanh(rng):
    pytest.importorskip("numba", reason="fused kernels need numba (the 'fast' extra)")
    X, W = rng.standard_normal((30, 8)), rng.standard_normal((8, 50)) / 3
    b = rng.standard_normal(50)
    prog = tc.trace(lambda X, W, b: tnp.tanh(X @ W + b), X, W, b)
    plan = fusion.plan_fusion(prog, through_numpy=_TANH)
    assert [k.size for k in plan.kernels] == [2]  # the bias row and tanh, after the product
    (got,) = compile_program(plan.program())[0](X, W, b)
    np.testing.assert_array_equal(got, np.tanh(X @ W + b))


def test_an_operand_from_another_open_group_is_emitted_first(rng):
    pytest.importorskip("numba", reason="fused kernels need numba (the 'fast' extra)")
    x, r = rng.standard_normal((4, 9)), rng.standard_normal(9)

    def f(x, r):
        s = r * 0.5 + 1.0  # an open group of shape (9,)
        return (x - s) * s  # read broadcast by the group of shape (4, 9)

    prog = tc.trace(f, x, r)
    plan = fusion.plan_fusion(prog)
    assert sorted(k.size for k in plan.kernels) == [2, 2]
    order = [item.outs[0].aval.shape for item in plan.items if isinstance(item, fusion.Kernel)]
    assert order == [(9,), (4, 9)]  # the row's kernel runs before the one that reads it
    plain, fused = tc.jit(f, fuse=False)(x, r), tc.jit(f, fuse=True)(x, r)
    np.testing.assert_array_equal(fused, plain)
    np.testing.assert_array_equal(plain, (x - (r * 0.5 + 1.0)) * (r * 0.5 + 1.0))


def test_a_broadcast_operand_is_never_the_output_buffer(rng):
    pytest.importorskip("numba", reason="fused kernels need numba (the 'fast' extra)")
    x, b = rng.standard_normal((6, 7)), rng.standard_normal(7)
    prog = tc.trace(lambda x, b: (x + b) * b, x, b)
    (eq,) = fusion.plan_fusion(prog).program().equations
    kernel = eq.primitive
    (k,) = fusion.plan_fusion(prog).kernels
    assert "_loop_in0" in k.src and "_loop_in1" not in k.src  # b is not of the result's shape
    xx = x.copy()
    assert kernel.numpy_out(xx, b, out=xx) is xx
    np.testing.assert_array_equal(xx, (x + b) * b)
