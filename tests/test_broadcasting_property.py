"""Property test: binary primitives on every broadcasting shape pair hypothesis finds, checked
to second order in both modes (the transposes must sum over exactly the broadcast axes)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import mutually_broadcastable_shapes

import tensorcalc as tc
import tensorcalc.numpy as tnp

OPS = {
    "add": tnp.add,
    "sub": tnp.subtract,
    "mul": tnp.multiply,
    "div": lambda a, b: a / (b * b + 1.0),
    "maximum": lambda a, b: tnp.maximum(a, b + 0.05),
    "where": lambda a, b: tnp.where(a > 0, a * b, b - a),
    "matmul_like": lambda a, b: tnp.sum(a * b, axis=-1) if np.ndim(a) and np.ndim(b) else a * b,
}


@settings(max_examples=25, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       op=st.sampled_from(sorted(OPS)), seed=st.integers(0, 2**16))
def test_binary_ops_broadcast(shapes, op, seed):
    rng = np.random.default_rng(seed)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    tc.check_grads(OPS[op], (a, b), order=2, modes=("fwd", "rev"))


@settings(max_examples=20, deadline=None)
@given(shape=st.lists(st.integers(1, 3), min_size=0, max_size=3), seed=st.integers(0, 2**16),
       keep=st.booleans(), data=st.data())
def test_reductions_any_axes(shape, seed, keep, data):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    axes = data.draw(st.lists(st.integers(0, max(len(shape) - 1, 0)), unique=True,
                              max_size=len(shape)))
    axis = tuple(axes) if shape else None
    for f in (tnp.sum, tnp.mean, tnp.max):
        tc.check_grads(lambda x, f=f: f(x, axis=axis, keepdims=keep) * 1.5, (x,), order=2)
