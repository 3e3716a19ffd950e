"""Every op record under ``jit(grad(...))`` and, where cheap, ``jit(hessian(...))``, compared
with the un-jitted transformation. This is what catches a constant (``-inf``, ``nan``, a dtype,
an index) that the code generator prints as something Python cannot read back."""

import zlib

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.core.tree import tree_flatten
from tests.records import all_records

RECORDS = all_records()
#: Hessians are quadratic in the input size; above this many float inputs only jit(grad) runs.
HESSIAN_MAX_INPUTS = 8


def _float_argnums(args):
    """The positional arguments whose every leaf is a float array (labels, indices stay put)."""
    nums = []
    for i, a in enumerate(args):
        leaves, _ = tree_flatten(a)
        if leaves and all(np.asarray(x).dtype.kind == "f" for x in leaves):
            nums.append(i)
    return tuple(nums)


def _scalarised(rec, args):
    """``rec.fn`` reduced to a scalar by fixed random weights, so every output entry counts."""
    out_leaves, _ = tree_flatten(rec.fn(*args))
    rng = np.random.default_rng(7)
    weights = [rng.standard_normal(np.shape(x)) for x in out_leaves]

    def scalar(*a):
        leaves, _ = tree_flatten(rec.fn(*a))
        # The real part: a complex output (eig, the complex records) still gives a real loss.
        return sum(tnp.sum(tnp.real(x * w)) for x, w in zip(leaves, weights, strict=True))

    return scalar


def record_gradient_and_jit(rec, rng, **jit_options):
    """``(g, args, want)``: the gradient of the scalarised record over its float arguments,
    the arguments, and ``jit(g, **jit_options)(*args)``; skips the record when there is no
    float argument to differentiate in reverse mode, or it is not traceable."""
    args = rec.args(rng)
    argnums = _float_argnums(args)
    if not argnums or "rev" not in rec.modes:
        pytest.skip("no float argument to differentiate in reverse mode")
    g = tc.grad(_scalarised(rec, args), argnums=argnums)
    try:
        want = tc.jit(g, **jit_options)(*args)
    except tc.ConcretizationError:
        pytest.skip("value-dependent: not traceable without concrete values")
    return g, args, want


def _assert_trees_close(got, want):
    g, _ = tree_flatten(got)
    w, _ = tree_flatten(want)
    assert len(g) == len(w)
    for a, b in zip(g, w, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("rec", RECORDS, ids=[r.id for r in RECORDS])
def test_jit_of_derivatives_matches_eager(rec):
    rng = np.random.default_rng(zlib.crc32(rec.id.encode()))  # stable across processes
    args = rec.args(rng)
    argnums = _float_argnums(args)
    if not argnums:
        pytest.skip("no float argument to differentiate")
    f = _scalarised(rec, args)
    try:
        tc.jit(f)(*args)
    except tc.ConcretizationError:
        pytest.skip("value-dependent (rank, pivots): not traceable without concrete values")
    if "rev" in rec.modes:
        g = tc.grad(f, argnums=argnums)
        _assert_trees_close(tc.jit(g)(*args), g(*args))
    n_inputs = sum(np.size(x) for i in argnums for x in tree_flatten(args[i])[0])
    if rec.order >= 2 and set(rec.modes) == {"fwd", "rev"} and n_inputs <= HESSIAN_MAX_INPUTS:
        h = tc.hessian(f, argnums=argnums)
        _assert_trees_close(tc.jit(h)(*args), h(*args))


def test_jit_grad_of_minus_inf_constant():
    # logaddexp's rule holds a -inf literal; it used to be printed as the bare name ``inf``.
    x = np.array([0.0, 1.0, -2.0])

    def f(x):
        return tnp.sum(tnp.logaddexp(x, 2 * x))

    np.testing.assert_allclose(tc.jit(tc.grad(f))(x), tc.grad(f)(x))
    np.testing.assert_allclose(tc.jit(tc.hessian(f))(x), tc.hessian(f)(x))
