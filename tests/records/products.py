"""Op records for products and contractions (issue 3, part B): einsum in all its forms,
tensordot, N-D dot, inner, vdot, outer, kron and cross."""

from __future__ import annotations

import warnings

import tensorcalc.numpy as tnp

from . import OpRecord


def _n(*shapes):
    return lambda rng: tuple(rng.standard_normal(s) for s in shapes)


def _cross(*args, **kw):
    # NumPy 2 deprecates 2-vectors in cross (plain-array calls warn); tnp keeps NumPy's
    # behaviour, and the records only need the values.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return tnp.cross(*args, **kw)


RECORDS: list[OpRecord] = []

EINSUM_CASES = [
    ("matmul", "ij,jk->ik", [(2, 3), (3, 4)]),
    ("implicit", "ij,jk", [(2, 3), (3, 4)]),
    ("chain3", "ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("shared3_dp", "ij,j,jk->ik", [(2, 3), (3,), (3, 4)]),
    ("cycle_trace", "ij,jk,ki", [(2, 3), (3, 4), (4, 2)]),
    ("batch", "bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("ellipsis_batch", "...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]),
    ("ellipsis_implicit", "...j,j", [(2, 3, 4), (4,)]),
    ("ellipsis_middle", "i...j,j->...i", [(2, 3, 4), (4,)]),
    ("trace", "ii", [(3, 3)]),
    ("diag", "ii->i", [(3, 3)]),
    ("diag_inner", "iij,jk->ik", [(2, 2, 3), (3, 2)]),
    ("transpose", "ij->ji", [(2, 3)]),
    ("implicit_transpose", "ji", [(2, 3)]),
    ("sum_all", "ijk->", [(2, 3, 2)]),
    ("sum_axis", "ijk->ik", [(2, 3, 2)]),
    ("outer", "i,j->ij", [(3,), (2,)]),
    ("hadamard", "ij,ij->ij", [(2, 3), (2, 3)]),
    ("broadcast_unit", "ij,ij->ij", [(1, 3), (2, 3)]),
    ("broadcast_unit_contract", "ij,jk", [(2, 1), (3, 2)]),
    ("summed_alone", "ij,jk->k", [(2, 3), (3, 4)]),
    ("bilinear_form", "i,ij,j->", [(3,), (3, 4), (4,)]),
    ("four_operands", "ab,bc,cd,de->ae", [(2, 3), (3, 2), (2, 4), (4, 2)]),
    ("scalar_operand", ",ij->ij", [(), (2, 3)]),
]

for name, spec, shapes in EINSUM_CASES:
    RECORDS.append(OpRecord(f"einsum_{name}", lambda *a, s=spec: tnp.einsum(s, *a),
                            _n(*shapes), primitives=("einsum",)))

RECORDS += [
    OpRecord("einsum_same_operand_twice", lambda x: tnp.einsum("ij,ij->i", x, x) ** 2,
             _n((2, 3)), primitives=("einsum",)),
    OpRecord("einsum_sublists", lambda a, b: tnp.einsum(a, [0, 1], b, [1, 2], [2, 0]),
             _n((2, 3), (3, 4)), primitives=("einsum",)),
    OpRecord("einsum_nonlinear_mix", lambda a, b: tnp.sin(tnp.einsum("ij,jk->ik", a, b)).sum(),
             _n((2, 3), (3, 2)), primitives=("einsum",)),
    OpRecord("tensordot_int", lambda a, b: tnp.tensordot(a, b), _n((2, 3, 4), (3, 4, 2)),
             primitives=("einsum",)),
    OpRecord("tensordot_int1", lambda a, b: tnp.tensordot(a, b, 1), _n((2, 3), (3, 2)),
             primitives=("einsum",)),
    OpRecord("tensordot_pairs", lambda a, b: tnp.tensordot(a, b, ([0, 2], [2, 0])),
             _n((2, 3, 4), (4, 5, 2)), primitives=("einsum",)),
    OpRecord("tensordot_zero", lambda a, b: tnp.tensordot(a, b, 0), _n((2,), (3,)),
             primitives=("einsum",)),
    OpRecord("dot_nd", tnp.dot, _n((2, 3, 4), (2, 4, 3)), primitives=("einsum",)),
    OpRecord("dot_nd_vec", tnp.dot, _n((2, 3, 4), (4,)), primitives=("einsum",)),
    OpRecord("dot_vec_nd", tnp.dot, _n((3,), (2, 3, 2)), primitives=("einsum",)),
    OpRecord("dot_mat", tnp.dot, _n((2, 3), (3, 2)), primitives=("matmul",)),
    OpRecord("dot_scalar", tnp.dot, _n((), (2, 3)), primitives=("mul",)),
    OpRecord("inner", tnp.inner, _n((2, 3), (4, 3)), primitives=("einsum",)),
    OpRecord("inner_vec", tnp.inner, _n((3,), (3,)), primitives=("einsum",)),
    OpRecord("vdot", tnp.vdot, _n((2, 3), (3, 2)), primitives=("einsum",)),
    OpRecord("outer", tnp.outer, _n((2, 2), (3,)), primitives=("mul",)),
    OpRecord("kron_2d", tnp.kron, _n((2, 3), (3, 2)), primitives=("mul",)),
    OpRecord("kron_mixed_rank", tnp.kron, _n((2,), (2, 3)), primitives=("mul",)),
    OpRecord("cross_3", tnp.cross, _n((4, 3), (3,)), primitives=("mul",)),
    OpRecord("cross_2", _cross, _n((2,), (4, 2)), primitives=("mul",)),
    OpRecord("cross_2_3", _cross, _n((2,), (3,)), primitives=("mul",)),
    OpRecord("cross_3_2", _cross, _n((2, 3), (2,)), primitives=("mul",)),
    OpRecord("cross_axes", lambda a, b: tnp.cross(a, b, axisa=0, axisb=1, axisc=0),
             _n((3, 2), (2, 3)), primitives=("mul",)),
    OpRecord("cross_axis", lambda a, b: tnp.cross(a, b, axis=0), _n((3, 2), (3, 2)),
             primitives=("mul",)),
]
