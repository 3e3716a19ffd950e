"""Op records for the first primitive set (issue 2): arithmetic, transcendental functions,
kinks away from the kink, where, reductions, structural ops and matmul, over scalars, vectors,
matrices, batches and broadcast shapes."""

from __future__ import annotations

import numpy as np

import tensorcalc.numpy as tnp

from . import OpRecord


def _n(*shape):
    return lambda rng: (rng.standard_normal(shape),)


def _pos(*shape):
    return lambda rng: (rng.uniform(0.5, 2.0, shape),)


def _pair(s1, s2, lo=None):
    def make(rng):
        if lo is None:
            return rng.standard_normal(s1), rng.standard_normal(s2)
        return rng.uniform(lo, lo + 1.5, s1), rng.uniform(lo, lo + 1.5, s2)

    return make


SHAPE_PAIRS = [((), ()), ((3,), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1), (1, 3)),
               ((), (2, 2)), ((2, 1, 3), (4, 1))]

RECORDS: list[OpRecord] = []

for s1, s2 in SHAPE_PAIRS:
    tag = f"{s1}x{s2}"
    RECORDS += [
        OpRecord(f"add{tag}", tnp.add, _pair(s1, s2), primitives=("add",)),
        OpRecord(f"sub{tag}", tnp.subtract, _pair(s1, s2), primitives=("sub",)),
        OpRecord(f"mul{tag}", tnp.multiply, _pair(s1, s2), primitives=("mul",)),
        OpRecord(f"div{tag}", tnp.divide, _pair(s1, s2, lo=0.5), primitives=("div",)),
        OpRecord(f"pow{tag}", tnp.power, _pair(s1, s2, lo=0.5), primitives=("pow",)),
        OpRecord(f"maximum{tag}", tnp.maximum, _pair(s1, s2), primitives=("maximum",)),
        OpRecord(f"minimum{tag}", tnp.minimum, _pair(s1, s2), primitives=("minimum",)),
        OpRecord(f"where{tag}", lambda a, b: tnp.where(a > b, a * b, a - b), _pair(s1, s2),
                 primitives=("select", "gt")),
        OpRecord(f"where_ge_le{tag}",
                 lambda a, b: tnp.where(a >= b, a, b) * tnp.where(a <= b + 0.5, 2.0, a),
                 _pair(s1, s2), primitives=("select", "ge", "le")),
    ]

for shape in [(), (4,), (2, 3), (2, 3, 2)]:
    tag = str(shape)
    RECORDS += [
        OpRecord(f"neg{tag}", tnp.negative, _n(*shape), primitives=("neg",)),
        OpRecord(f"exp{tag}", tnp.exp, _n(*shape), primitives=("exp",)),
        OpRecord(f"log{tag}", tnp.log, _pos(*shape), primitives=("log",)),
        OpRecord(f"sin{tag}", tnp.sin, _n(*shape), primitives=("sin",)),
        OpRecord(f"cos{tag}", tnp.cos, _n(*shape), primitives=("cos",)),
        OpRecord(f"tanh{tag}", tnp.tanh, _n(*shape), primitives=("tanh",)),
        OpRecord(f"sqrt{tag}", tnp.sqrt, _pos(*shape), primitives=("sqrt",)),
        OpRecord(f"abs{tag}", tnp.abs, _pos(*shape), primitives=("abs",)),
        OpRecord(f"abs_neg{tag}", lambda x: tnp.abs(-x), _pos(*shape), primitives=("abs",)),
        OpRecord(f"sign{tag}", lambda x: tnp.sign(x) * x, _n(*shape), primitives=("sign",)),
        OpRecord(f"square{tag}", lambda x: x ** 2 + x ** 3.0, _n(*shape), primitives=("pow",)),
        OpRecord(f"convert{tag}", lambda x: tnp.astype(x, np.float32) * 2.0, _n(*shape),
                 tol={"atol": 1e-2, "rtol": 1e-2, "eps": 1e-3}, primitives=("convert",)),
    ]

for shape, axis, keep in [((5,), None, False), ((2, 3), 0, False), ((2, 3), 1, True),
                          ((2, 3, 4), (0, 2), False), ((2, 3, 4), -1, True)]:
    tag = f"{shape}_ax{axis}_k{keep}"
    RECORDS += [
        OpRecord(f"sum{tag}", lambda x, a=axis, k=keep: tnp.sum(x, axis=a, keepdims=k),
                 _n(*shape), primitives=("reduce_sum",)),
        OpRecord(f"mean{tag}", lambda x, a=axis, k=keep: tnp.mean(x, axis=a, keepdims=k),
                 _n(*shape), primitives=("reduce_sum",)),
        OpRecord(f"max{tag}", lambda x, a=axis, k=keep: tnp.max(x, axis=a, keepdims=k),
                 _n(*shape), primitives=("reduce_max",)),
        OpRecord(f"min{tag}", lambda x, a=axis, k=keep: tnp.min(x, axis=a, keepdims=k),
                 _n(*shape), primitives=("reduce_min",)),
    ]

RECORDS += [
    OpRecord("broadcast_to", lambda x: tnp.broadcast_to(x, (4, 2, 3)), _n(2, 1),
             primitives=("broadcast_to",)),
    OpRecord("reshape", lambda x: tnp.reshape(x, (3, -1)) * 1.5, _n(2, 3, 2),
             primitives=("reshape",)),
    OpRecord("transpose", lambda x: tnp.transpose(x, (2, 0, 1)), _n(2, 3, 4),
             primitives=("transpose",)),
    OpRecord("T", lambda x: x.T @ x, _n(3, 2), primitives=("transpose", "matmul")),
    OpRecord("getitem_basic", lambda x: x[1:, ::2, None, 0], _n(3, 4, 2),
             primitives=("getitem",)),
    OpRecord("getitem_int", lambda x: x[1] * x[-1], _n(3, 2), primitives=("getitem",)),
    OpRecord("getitem_fancy_repeat", lambda x: x[np.array([0, 2, 0, 0])] ** 2, _n(3),
             primitives=("getitem", "index_add")),
    OpRecord("getitem_mask", lambda x: x[np.array([True, False, True])], _n(3, 2),
             primitives=("getitem",)),
    OpRecord("at_set", lambda x, v: tnp.at(x)[1:3].set(v * 2.0), _pair((4, 2), (2,)),
             primitives=("index_set",)),
    OpRecord("at_add", lambda x, v: tnp.at(x)[np.array([0, 0, 3])].add(v), _pair((4,), (3,)),
             primitives=("index_add",)),
]

for s1, s2 in [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)),
               ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)),
               ((3,), (5, 3, 2)), ((5, 2, 3), (3,))]:
    RECORDS.append(OpRecord(f"matmul{s1}@{s2}", tnp.matmul, _pair(s1, s2),
                            primitives=("matmul",)))

RECORDS += [
    OpRecord("dot_mv", tnp.dot, _pair((3, 4), (4,)), primitives=("matmul",)),
    OpRecord("composite_mlp", lambda W, x: tnp.sum(tnp.tanh(W @ x) ** 2),
             _pair((3, 4), (4, 2))),
    OpRecord("composite_sum_pytree", lambda d: d["a"] * tnp.exp(d["b"]).sum(),
             lambda rng: ({"a": rng.standard_normal(2), "b": rng.standard_normal(3)},)),
]
