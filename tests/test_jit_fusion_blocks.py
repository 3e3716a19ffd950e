"""Fused kernels that call NumPy's own inner loops (``compile/ufunc_loops.py``,
``compile/fusion_blocks.py``): the loop read from a ufunc's struct is NumPy's (bitwise, with
no numba at all), bad lookups raise instead of following a wrong pointer, and a kernel that
runs some operations through NumPy's loop block by block gives the unfused program's bits for
every shape — block tails, several axes, strided operands, empty arrays — in jit(grad) after
tier-up and under threads."""

import ctypes

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.compile import fusion, tiering, ufunc_loops
from tensorcalc.core.ir import Literal
from tensorcalc.ops import elementwise as ew
from tests.concurrency import isolated_kernel_cache, run_threads

_LOOP = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                         ctypes.c_void_p)
_UFUNCS = (np.tanh, np.sin, np.cos, np.exp, np.log)
#: Every primitive with a NumPy loop, in both dtypes: forced through NumPy's loop whatever the
#: CPU (where numba's version happens to be exact, tiering would inline it instead).
_ALL_THROUGH = frozenset((p, np.dtype(d)) for p in fusion.NUMPY_LOOPS
                         for d in (np.float32, np.float64))
_IEEE = frozenset((p, np.dtype(d)) for p in (ew.add_p, ew.sub_p, ew.mul_p, ew.div_p, ew.neg_p)
                  for d in (np.float32, np.float64))


def _values(dtype, n=4099):
    rng = np.random.default_rng(7)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-310, -1e-300, 710.0, -745.0, 1e22]
    return np.concatenate([special, rng.uniform(-30, 30, n - len(special))]).astype(dtype)


def _bits(x):
    return np.asarray(x).tobytes()


@pytest.mark.parametrize("ufunc", _UFUNCS, ids=lambda u: u.__name__)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_loop_read_from_the_struct_is_numpy_s_own(ufunc, dtype):
    x = _values(dtype)
    y = np.full_like(x, 7.0)
    fn, data = ufunc_loops.loop_address(ufunc, dtype)
    args = (ctypes.c_void_p * 2)(x.ctypes.data, y.ctypes.data)
    dims = (ctypes.c_ssize_t * 1)(x.size)
    steps = (ctypes.c_ssize_t * 2)(x.itemsize, y.itemsize)
    with np.errstate(all="ignore"):
        _LOOP(fn)(args, dims, steps, data or None)
        want = ufunc(x)
    assert _bits(y) == _bits(want)
    assert ufunc_loops.loop_address(ufunc, dtype) == (fn, data)  # cached


def test_bad_lookups_raise_instead_of_following_a_pointer(monkeypatch):
    with pytest.raises(LookupError, match="no int64 loop"):
        ufunc_loops.loop_address(np.tanh, np.int64)
    with pytest.raises(LookupError, match="not a ufunc"):
        ufunc_loops.loop_address(np.vectorize(abs), np.float64)
    monkeypatch.setattr(ufunc_loops, "_cache", {})
    # Another struct layout (simulated by reading one int too far) is caught by the checks of
    # the plain fields, before any pointer is dereferenced.
    monkeypatch.setattr(ufunc_loops, "_NTYPES", ufunc_loops._NTYPES + 4)
    with pytest.raises(LookupError, match="another NumPy struct layout"):
        ufunc_loops.loop_address(np.sin, np.float64)
    monkeypatch.undo()
    monkeypatch.setattr(ufunc_loops, "_cache", {})
    monkeypatch.setattr(ufunc_loops, "_TYPES", ufunc_loops._NAME)
    with pytest.raises(LookupError, match="type table"):
        ufunc_loops.loop_address(np.cos, np.float64)


# -- kernels (numba) --------------------------------------------------------------------------

numba_only = pytest.mark.skipif(not fusion.numba_available(),
                                reason="fused kernels need numba (the 'fast' extra)")
_kernel_cache = isolated_kernel_cache("blocks")


def _chain(x):
    y = tnp.sin(x) * 0.5 + 0.25           # read again after two NumPy calls
    z = tnp.tanh(tnp.tanh(y))             # two NumPy calls in a row
    w = tnp.exp(-x * x) * z - tnp.cos(y) / (2.0 + z)
    return z, w * y + tnp.log(1.5 + z), tnp.tanh(x)   # tanh of an input, returned as is


def eval_program(prog, args):
    """Run a (fused) program one equation at a time with each primitive's NumPy impl."""
    env = {id(v): a for v, a in zip(prog.inputs, args, strict=True)}
    for eq in prog.equations:
        vals = [a.value if isinstance(a, Literal) else env[id(a)] for a in eq.inputs]
        out = eq.primitive.impl(*vals, **eq.params)
        outs = out if eq.primitive.multiple_results else (out,)
        env.update((id(v), o) for v, o in zip(eq.outputs, outs, strict=True))
    return [a.value if isinstance(a, Literal) else env[id(a)] for a in prog.outputs]


def _fused_and_plain(fun, x):
    plain = tc.jit(fun, fuse=False)
    want = plain(x)
    prog = plain.program(x)
    fused = fusion.fuse_elementwise(prog, fusible=_IEEE, through_numpy=_ALL_THROUGH)
    return prog, fused, want


@numba_only
@pytest.mark.parametrize("shape", [(1,), (255,), (256,), (257,), (600,), (3, 700), (2, 3, 257)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.usefixtures("numpy_tanh")  # (3, 700): NumPy's tanh, not jit's own, at that size
def test_blocked_kernels_give_the_unfused_bits(rng, shape, dtype):
    x = (rng.standard_normal(shape) * 3).astype(dtype)
    prog, fused, want = _fused_and_plain(_chain, x)
    kernels = [eq for eq in fused.equations if isinstance(eq.primitive, fusion.FusedKernel)]
    assert len(kernels) == 1 and len(fused.equations) < len(prog.equations)
    with np.errstate(all="ignore"):
        got = eval_program(fused, [x])
    assert [_bits(g) for g in got] == [_bits(w) for w in want]
    assert all(g.dtype == dtype for g in got)


@numba_only
def test_blocked_kernels_read_strided_operands_where_they_lie(rng):
    base = rng.standard_normal((40, 600))
    for view in (base.T[::3], base[::2, ::-5]):
        x = np.ascontiguousarray(view)
        _, fused, want = _fused_and_plain(_chain, x)
        got = eval_program(fused, [view])
        assert [_bits(g) for g in got] == [_bits(w) for w in want]


@numba_only
def test_blocked_kernels_on_empty_arrays(rng):
    for shape in [(0,), (4, 0)]:
        x = np.zeros(shape)
        _, fused, want = _fused_and_plain(_chain, x)
        got = eval_program(fused, [x])
        assert [g.shape for g in got] == [w.shape for w in want] == [shape] * 3


@pytest.fixture
def through_everything(monkeypatch):
    """Tier up at the first call, with every transcendental operation through NumPy's loop."""
    monkeypatch.delenv("TENSORCALC_JIT_FUSE", raising=False)
    monkeypatch.setattr(tiering, "PLAN_AFTER", 0.0)
    monkeypatch.setattr(tiering, "TIER_COST", 0.0)
    monkeypatch.setattr(tiering, "TRIAL", False)
    monkeypatch.setattr(tiering, "_exact", _IEEE)
    monkeypatch.setattr(tiering, "_through_numpy", _ALL_THROUGH)


def _loss(x):
    for _ in range(3):
        x = tnp.tanh(tnp.sin(x) * 0.9 + 0.1) * tnp.exp(-x * x) + 0.5 * x
    return tnp.sum(tnp.log(x * x + 1.0) * tnp.cos(x))


@numba_only
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tiered_gradient_through_numpy_loops_keeps_every_bit(rng, through_everything, dtype):
    x = rng.standard_normal(700).astype(dtype)
    want = tc.jit(tc.grad(_loss), fuse=False)(x)
    g = tc.jit(tc.grad(_loss))
    g(x)
    assert "fused[" in g.source()
    # The kernels that call NumPy's loops are in the program (a transcendental operation a
    # split leaves alone stays NumPy's call: the same bits, without the blocks).
    plan = fusion.plan_fusion(tc.jit(tc.grad(_loss), fuse=False).program(x),
                              fusible=_IEEE, through_numpy=_ALL_THROUGH)
    assert sum("call_loop(" in k.src for k in plan.kernels) >= 3
    assert g.source().count("fused[") == len(plan.kernels)
    for _ in range(3):
        assert _bits(g(x)) == _bits(want)


@numba_only
def test_tiered_kernels_through_numpy_loops_under_threads(rng, through_everything):
    xs = [rng.standard_normal(300 + 37 * i) for i in range(6)]
    g = tc.jit(tc.grad(_loss))
    wants = [tc.jit(tc.grad(_loss), fuse=False)(x) for x in xs]
    for x in xs:
        g(x)  # tier up each signature first
    bad = []

    def work(i):
        for _ in range(20):
            if _bits(g(xs[i])) != _bits(wants[i]):
                bad.append(i)

    run_threads(work, [(i,) for i in range(6)])
    assert not bad


@numba_only
def test_the_probe_rejects_a_wrong_numpy_loop(monkeypatch):
    monkeypatch.setitem(fusion.NUMPY_LOOPS, ew.tanh_p, np.sinh)
    monkeypatch.setattr(tiering, "_exact", _IEEE)
    monkeypatch.setattr(tiering, "_through_numpy", None)
    found = tiering.numpy_loop_kernels()
    assert (ew.tanh_p, np.dtype(np.float64)) not in found
    assert (ew.sin_p, np.dtype(np.float64)) in found  # NumPy's own sin loop: its bits
