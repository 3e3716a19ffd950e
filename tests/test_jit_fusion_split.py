"""Fusion splits a group where a value is read outside it: the part that value needs is emitted
there, and the rest stays open to join later equations (``compile.fusion.plan_fusion``). So a
layer's derivative chain ``1 − h²``, computed in the forward pass, fuses with the backward
product ``δ ⊙ (1 − h²)`` instead of being written to memory — unless leaving it open would keep
more arrays alive than it saves."""

import time

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.compile import fusion
from tensorcalc.compile.codegen import compile_program
from tensorcalc.compile.jit import _collector_paused
from tensorcalc.core.ir import Equation, Literal
from tensorcalc.ops import elementwise as ew
from tensorcalc.ops.strong_zero import mul_sz_p
from tests.concurrency import isolated_kernel_cache

_kernel_cache = isolated_kernel_cache("fused")
# What tiering fuses where NumPy's tanh is its own SIMD loop: the exact operations only.
_EXACT = frozenset((p, np.dtype(d)) for p in (ew.add_p, ew.sub_p, ew.mul_p, ew.neg_p, mul_sz_p)
                   for d in (np.float32, np.float64))


def _mlp_loss(W1, W2, X, Y):
    h = tnp.tanh(X @ W1)
    return tnp.sum((h @ W2 - Y) ** 2)


def _mlp(rng, dtype=np.float64):
    X, W1 = rng.standard_normal((40, 6)), rng.standard_normal((6, 24)) / 3
    W2, Y = rng.standard_normal((24, 3)) / 5, rng.standard_normal((40, 3))
    return [a.astype(dtype) for a in (W1, W2, X, Y)]


def _producer(items, var):
    """Index in ``items`` of the plain equation or kernel that writes ``var``."""
    for i, it in enumerate(items):
        if var in (it.outputs if isinstance(it, Equation) else it.outs):
            return i
    raise AssertionError("no producer")


def test_derivative_chain_fuses_with_the_backward_product(rng):
    args = _mlp(rng)
    prog = tc.jit(tc.grad(_mlp_loss), fuse=False).program(*args)
    plan = fusion.plan_fusion(prog, fusible=_EXACT)
    # 1 − h·h and δ ⊙ (1 − h²): one kernel, after the backward matmul that makes δ ...
    (k,) = [k for k in plan.kernels if "(c0 - " in k.src]
    assert k.size == 3 and len(k.ins) == 2 and len(k.outs) == 1
    matmuls = [i for i, it in enumerate(plan.items)
               if isinstance(it, Equation) and it.primitive.name == "matmul"]
    assert plan.items.index(k) > matmuls[2]  # forward: X @ W1, h @ W2; then the backward's
    # ... and no forward equation writes 1 − h² to memory.
    subs = [it for it in plan.items if isinstance(it, Equation) and it.primitive is ew.sub_p
            and any(isinstance(a, Literal) for a in it.inputs)]
    assert subs == []


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_split_kernels_give_the_unfused_bits(rng, dtype):
    pytest.importorskip("numba", reason="fused kernels need numba (the 'fast' extra)")
    args = _mlp(rng, dtype)
    prog = tc.jit(tc.grad(_mlp_loss, argnums=(0, 1)), fuse=False).program(*args)
    fused = fusion.plan_fusion(prog, fusible=_EXACT).program()
    assert any(isinstance(eq.primitive, fusion.FusedKernel) for eq in fused.equations)
    want = tc.jit(tc.grad(_mlp_loss, argnums=(0, 1)), fuse=False)(*args)
    got = compile_program(fused)[0](*args)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype == dtype
        np.testing.assert_array_equal(g, w)


def _side_chain(x, p_read_later):
    p, q = tnp.exp(x), tnp.cos(x)  # not fusible under _EXACT
    m = p * q  # left open at the split below, or not
    w = x + x
    s = tnp.sum(w)  # reads w: the split point
    out = tnp.sum(tnp.sin(m)) * s
    return out + tnp.sum(tnp.exp(p)) if p_read_later else out


@pytest.mark.parametrize("p_read_later", [False, True])
def test_a_split_keeps_open_only_what_costs_no_memory(rng, p_read_later):
    x = rng.standard_normal(9)
    prog = tc.trace(lambda x: _side_chain(x, p_read_later), x)
    (m_eq,) = [eq for eq in prog.equations
             if eq.primitive is ew.mul_p and eq.outputs[0].aval.shape == x.shape]
    (s_eq,) = [eq for eq in prog.equations[:prog.equations.index(m_eq) + 3]
               if eq.primitive.name == "reduce_sum"]
    items = fusion.plan_fusion(prog, min_size=1, fusible=_EXACT).items
    before = _producer(items, m_eq.outputs[0]) < items.index(s_eq)
    # Left open, m = p·q would keep p and q alive past the sum instead of m: two arrays for
    # one, so it is emitted with w. Once p is read later anyway, only q's life grows: one
    # for one, and m stays open (emitted where sin reads it).
    assert before == (not p_read_later)


def _many_splits(x):
    side = x
    for _ in range(_many_splits.n):
        x = x * 1.0001 + 0.5  # fused, and read by a reduction at every step: a split each
        side = side + x * x  # left open (it costs no memory: x is read again next step)
        x = x - tnp.sum(x) * 1e-9
    return tnp.sum(side)


def test_planning_is_linear_in_the_number_of_splits(rng):
    x = rng.standard_normal(4)
    times = {}
    for n in (400, 4000):
        _many_splits.n = n
        prog = tc.trace(_many_splits, x)
        runs = []
        # As jit runs it (collector paused) and the best of two: a full collection of what the
        # rest of the suite left behind (seconds, late in a long run) is not the pass's cost.
        with _collector_paused():
            for _ in range(2):
                t0 = time.perf_counter()
                plan = fusion.plan_fusion(prog, fusible=_EXACT)
                runs.append(time.perf_counter() - t0)
        times[n] = min(runs)
        assert len(plan.kernels) > n // 2
    # Ten times the program: about ten times the time (a quadratic pass would give ~100).
    assert times[4000] / times[400] < 35


def test_one_output_kernels_write_into_the_buffer_they_are_given(rng):
    pytest.importorskip("numba", reason="fused kernels need numba (the 'fast' extra)")
    a0, b0 = rng.standard_normal((5, 5)), rng.standard_normal((5, 5))
    prog = tc.trace(lambda a, b: (a * b + a) * 0.5, a0, b0)
    (eq,) = fusion.plan_fusion(prog).program().equations
    kernel = eq.primitive
    assert not kernel.multiple_results and kernel.numpy_out.signature is None
    want = (a0 * b0 + a0) * 0.5
    out = np.empty_like(a0)
    assert kernel.numpy_out(a0, b0, out=out) is out
    np.testing.assert_array_equal(out, want)
    a = a0.copy()
    assert kernel.numpy_out(a, b0, out=a) is a  # in place on an operand
    np.testing.assert_array_equal(a, want)
    # An operand that is another view of out's memory: written through a fresh array.
    a = a0.copy()
    kernel.numpy_out(a, a.T, out=a)
    np.testing.assert_array_equal(a, (a0 * a0.T + a0) * 0.5)


def test_fused_kernels_run_in_place_on_a_dying_operand(rng):
    pytest.importorskip("numba", reason="fused kernels need numba (the 'fast' extra)")
    args = _mlp(rng)
    g = tc.jit(tc.grad(_mlp_loss, argnums=(0, 1)), fuse=False)
    prog = g.program(*args)
    fused_src = compile_program(fusion.plan_fusion(prog, fusible=_EXACT).program())[1]
    # δ ⊙ (1 − h²) is written into h's buffer (h's last use), as an elementwise ufunc would be.
    (line,) = [ln.strip() for ln in fused_src.splitlines() if "# fused[3]" in ln]
    target, call = line.split(" = ", 1)
    operands = call[call.index("(") + 1:call.index(", out=")].split(", ")
    assert call.split("out=")[1].startswith(target) and target in operands
