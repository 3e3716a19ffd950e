"""A one-output fused kernel whose ``out`` is one of its operands runs a loop of its own that
writes into that operand (``compile.fusion_blocks.in_place_loops``): with ``out`` and the
operand two arguments on one memory, LLVM's overlap check fails and the loop runs scalar.
These tests pin what that loop must keep: the bits of the kernel written into a fresh array,
for every operand position, for strided and Fortran-ordered operands, in float32 and
float64, in the plain kernels and in those that call NumPy's loops block by block, and that
the call really takes the operand's own loop."""

import numpy as np
import pytest

import tensorcalc as tc
from tensorcalc.compile import fusion
from tensorcalc.ops import elementwise as ew
from tests.concurrency import isolated_kernel_cache

numba = pytest.importorskip("numba", reason="fused kernels need numba (the 'fast' extra)")

_kernel_cache = isolated_kernel_cache("fused")
_TANH_THROUGH_NUMPY = frozenset((ew.tanh_p, np.dtype(d)) for d in (np.float32, np.float64))


def _three(a, b, c):
    # Each operand is read at a different depth of the chain, the last one after a division.
    return ((a * b - c) * 0.5 + a) / (1.5 + c * c) - b


def _blocked(a, b, c, np_mod=tc.numpy):
    return (np_mod.tanh(a * b + c) - a) * c


def _kernel(fun, args, through=frozenset()):
    """The one fused kernel of ``fun`` and its module (the generated ``kernel``'s globals)."""
    prog = tc.trace(fun, *args)
    plan = fusion.plan_fusion(prog, through_numpy=through)
    (k,) = plan.kernels
    assert len(k.outs) == 1
    raw = fusion._load(k.src)
    (eq,) = plan.program().equations
    return eq.primitive, raw, k.src


def _operands(rng, dtype, layout):
    # More than one block of 256 with a tail, vector loops with a tail, and fewer than the
    # 2048 entries from which jit runs its own float64 tanh (which is never fused).
    shape = (5, 300)
    base = [rng.uniform(-2, 2, shape).astype(dtype) for _ in range(3)]
    if layout == "F":
        return [np.asfortranarray(a) for a in base]
    if layout == "strided":
        return [np.ascontiguousarray(np.repeat(a, 2, axis=1))[:, ::2] for a in base]
    return base


@pytest.mark.parametrize("fun, through", [(_three, frozenset()), (_blocked, _TANH_THROUGH_NUMPY)],
                         ids=["plain", "blocked"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_in_place_on_each_operand_gives_the_fresh_arrays_bits(rng, fun, through, dtype, layout):
    args = _operands(rng, dtype, layout)
    kernel, _, src = _kernel(fun, args, through)
    for k in range(3):
        assert f"def _loop_in{k}(" in src
    want = kernel.numpy_out(*args)  # written into a fresh array
    assert want.dtype == dtype
    # The unfused program's bits: IEEE operations in the same order, and NumPy's own tanh.
    np.testing.assert_array_equal(want, fun(*args, np_mod=np) if through else fun(*args))
    for k in range(3):
        ops = [a.copy(order="K") if j == k else a for j, a in enumerate(args)]
        if layout == "strided":  # keep operand k a strided view of a larger array
            ops[k] = np.repeat(args[k], 2, axis=1)[:, ::2]
        got = kernel.numpy_out(*ops, out=ops[k])
        assert got is ops[k]
        assert got.tobytes() == want.tobytes(), f"in place on operand {k}"


def test_in_place_call_takes_the_operands_own_loop(rng):
    args = _operands(rng, np.float64, "C")
    _, raw, _ = _kernel(_three, args)
    module = raw.__globals__
    real = module["_loop"]

    def refuse(*_):
        raise AssertionError("the two-argument loop ran for an in-place call")

    module["_loop"] = refuse
    try:
        for k in range(3):
            ops = [a.copy() for a in args]
            (got,) = raw(*ops, out=ops[k])
            assert got is ops[k]
        with pytest.raises(AssertionError, match="two-argument loop"):
            raw(*args, out=np.empty_like(args[0]))  # a separate out: the general loop
    finally:
        module["_loop"] = real


def test_jit_grad_in_place_kernels_keep_the_unfused_bits(rng):
    X, W1 = rng.standard_normal((64, 8)), rng.standard_normal((8, 32)) / 3
    W2, Y = rng.standard_normal((32, 3)) / 5, rng.standard_normal((64, 3))

    def loss(W1, W2):
        h = tc.numpy.tanh(X @ W1)
        return tc.numpy.sum((h @ W2 - Y) ** 2)

    g = tc.grad(loss, argnums=(0, 1))
    plain = tc.jit(g, fuse=False)(W1, W2)
    fused_fn = tc.jit(g, fuse=True)
    fused = fused_fn(W1, W2)
    # δ ⊙ (1 − h²) is written into h's buffer, one of its operands: the in-place loop ran.
    in_place = []
    for line in fused_fn.source(W1, W2).splitlines():
        if "fused[" in line and ", out=" in line:
            target, call = line.strip().split(" = ", 1)
            operands = call[call.index("(") + 1:call.index(", out=")].split(", ")
            in_place.append(call.split("out=")[1].startswith(target) and target in operands)
    assert any(in_place)
    for p, f in zip(plain, fused, strict=True):
        np.testing.assert_array_equal(f, p)
