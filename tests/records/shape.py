"""Op records for shape manipulation and indexing (issue 3, part B): joining, splitting,
flipping, rolling, tiling, padding, triangles, diagonals, take, sort, select, and NumPy
indexing (integer, slice, mask, fancy, mixed) with ``.at[]`` updates."""

from __future__ import annotations

import numpy as np

import tensorcalc.numpy as tnp

from . import OpRecord


def _n(*shapes):
    return lambda rng: tuple(rng.standard_normal(s) for s in shapes)


RECORDS: list[OpRecord] = []


def _add(id_, fn, args, prims=(), **kw):
    RECORDS.append(OpRecord(id_, fn, args, primitives=tuple(prims), **kw))


# --- moving axes, joining, splitting -------------------------------------------------------

_add("moveaxis", lambda x: tnp.moveaxis(x, 0, -1), _n((2, 3, 4)), ["transpose"])
_add("moveaxis_multi", lambda x: tnp.moveaxis(x, [0, 1], [2, 0]), _n((2, 3, 4)), ["transpose"])
_add("ravel", lambda x: tnp.ravel(x) ** 2, _n((2, 3)), ["reshape"])
_add("concatenate_ax0", lambda a, b: tnp.concatenate([a, b, a * b[:2]]), _n((2, 3), (4, 3)),
     ["concatenate"])
_add("concatenate_ax1", lambda a, b: tnp.concatenate((a, b), axis=-1) ** 2, _n((2, 1), (2, 3)),
     ["concatenate"])
_add("concatenate_none", lambda a, b: tnp.concatenate([a, b], axis=None), _n((2, 2), (3,)),
     ["concatenate"])
_add("concatenate_const", lambda a: tnp.concatenate([np.ones((1, 3)), a]), _n((2, 3)),
     ["concatenate"])
_add("stack_ax0", lambda a, b: tnp.stack([a, b, a]), _n((2, 3), (2, 3)), ["concatenate"])
_add("stack_ax_last", lambda a, b: tnp.stack([a, b], axis=-1) ** 2, _n((3,), (3,)),
     ["concatenate"])
_add("hstack_1d", lambda a, b: tnp.hstack([a, b]), _n((2,), (3,)), ["concatenate"])
_add("hstack_2d", lambda a, b: tnp.hstack([a, b]), _n((2, 1), (2, 3)), ["concatenate"])
_add("vstack_1d", lambda a, b: tnp.vstack([a, b]), _n((3,), (3,)), ["concatenate"])
_add("dstack", lambda a, b: tnp.dstack([a, b]), _n((2, 3), (2, 3)), ["concatenate"])
_add("column_stack", lambda a, b: tnp.column_stack([a, b]), _n((3,), (3, 2)), ["concatenate"])
_add("atleast_3d", lambda a: tnp.atleast_3d(a) * tnp.atleast_2d(a)[..., None], _n((3,)),
     ["reshape"])
_add("split_sections", lambda x: tnp.split(x, 3)[0] * tnp.split(x, 3)[2], _n((6, 2)),
     ["split"])
_add("split_indices", lambda x: tnp.split(x, [1, 3], axis=1)[1] ** 2, _n((2, 5)), ["split"])
_add("split_unused_piece", lambda x: tnp.split(x, [2], axis=0)[0] * 3.0, _n((5,)), ["split"])
_add("split_overlapping", lambda x: tnp.split(x, [3, 1])[2] + tnp.split(x, [3, 1])[0][1:2],
     _n((4,)), ["getitem"])
_add("array_split", lambda x: tnp.array_split(x, 3, axis=-1)[1] ** 2, _n((2, 7)), ["split"])
_add("hsplit", lambda x: tnp.hsplit(x, 2)[1] * tnp.hsplit(x, 2)[0], _n((3, 4)), ["split"])
_add("vsplit", lambda x: tnp.vsplit(x, [1])[1], _n((3, 4)), ["split"])
_add("dsplit", lambda x: tnp.dsplit(x, 2)[0] ** 2, _n((2, 2, 4)), ["split"])

# --- flips, rolls, rotations, copies -------------------------------------------------------

_add("flip_all", lambda x: tnp.flip(x) * x, _n((2, 3)), ["getitem"])
_add("flip_axes", lambda x: tnp.flip(x, (0, 2)), _n((2, 3, 2)), ["getitem"])
_add("fliplr_flipud", lambda x: tnp.fliplr(x) * tnp.flipud(x), _n((3, 3)), ["getitem"])
_add("roll_scalar", lambda x: tnp.roll(x, 2) * x, _n((5,)), ["roll"])
_add("roll_flat", lambda x: tnp.roll(x, -4), _n((2, 3)), ["roll"])
_add("roll_axes", lambda x: tnp.roll(x, (1, -1), axis=(0, 1)) ** 2, _n((3, 4)), ["roll"])
for _k in (1, 2, 3, -1):
    _add(f"rot90_k{_k}", lambda x, k=_k: tnp.rot90(x, k) ** 2, _n((2, 3)),
         ["getitem", "transpose"])
_add("rot90_axes", lambda x: tnp.rot90(x, 1, axes=(2, 0)), _n((2, 3, 4)),
     ["getitem", "transpose"])
_add("tile_int", lambda x: tnp.tile(x, 3) ** 2, _n((2,)), ["broadcast_to"])
_add("tile_tuple", lambda x: tnp.tile(x, (2, 1, 3)), _n((2, 2)), ["broadcast_to"])
_add("repeat_scalar", lambda x: tnp.repeat(x, 2, axis=1) ** 2, _n((2, 3)), ["broadcast_to"])
_add("repeat_flat", lambda x: tnp.repeat(x, 3), _n((2, 2)), ["broadcast_to"])
_add("repeat_per_element", lambda x: tnp.repeat(x, [2, 0, 1], axis=0) ** 2, _n((3, 2)),
     ["getitem"])

# --- pad -----------------------------------------------------------------------------------

_add("pad_constant", lambda x: tnp.pad(x, ((1, 2), (0, 1)), constant_values=0.5) ** 2,
     _n((2, 3)), ["index_add"])
_add("pad_constant_int_width", lambda x: tnp.pad(x, 2), _n((3,)), ["index_add"])
_add("pad_constant_traced_value", lambda x, c: tnp.pad(x, 1, constant_values=c) ** 2,
     _n((2, 2), ()), ["index_add", "mul"])
for _mode in ("edge", "reflect", "symmetric", "wrap"):
    _add(f"pad_{_mode}", lambda x, m=_mode: tnp.pad(x, ((2, 1), (1, 4)), mode=m) ** 2,
         _n((3, 3)), ["getitem"])
_add("pad_reflect_wide", lambda x: tnp.pad(x, (5, 6), mode="reflect"), _n((3,)), ["getitem"])

# --- triangles, diagonals ------------------------------------------------------------------

for _k in (-1, 0, 2):
    _add(f"tril_k{_k}", lambda x, k=_k: tnp.tril(x, k) ** 2, _n((3, 4)), ["select"])
    _add(f"triu_k{_k}", lambda x, k=_k: tnp.triu(x, k) ** 2, _n((4, 3)), ["select"])
_add("tril_batched", lambda x: tnp.tril(x) @ tnp.triu(x), _n((2, 3, 3)), ["select"])
_add("tril_1d", tnp.tril, _n((3,)), ["select"])
for _k in (-1, 0, 2):
    _add(f"diag_vec_k{_k}", lambda v, k=_k: tnp.diag(v, k) ** 2, _n((3,)), ["index_add"])
    _add(f"diag_mat_k{_k}", lambda m, k=_k: tnp.diag(m, k) ** 2, _n((3, 4)), ["getitem"])
_add("diag_roundtrip", lambda m: tnp.diag(tnp.diag(m)) @ m, _n((3, 3)),
     ["getitem", "index_add"])
_add("diagonal_offset", lambda x: tnp.diagonal(x, 1) ** 2, _n((3, 4)), ["getitem"])
_add("diagonal_axes", lambda x: tnp.diagonal(x, -1, 2, 0), _n((3, 2, 4)), ["getitem"])
_add("trace", lambda x: tnp.trace(x @ x), _n((3, 3)), ["getitem", "reduce_sum"])
_add("trace_offset_axes", lambda x: tnp.trace(x, 1, 1, 2) ** 2, _n((2, 3, 4)),
     ["getitem", "reduce_sum"])

# --- take, take_along_axis, sort, select ---------------------------------------------------

_add("take_flat", lambda x: tnp.take(x, [5, 0, -1, 0]) ** 2, _n((2, 3)), ["getitem"])
_add("take_axis", lambda x: tnp.take(x, np.array([[2, 0], [1, 1]]), axis=1), _n((2, 3, 2)),
     ["getitem"])
_add("take_scalar", lambda x: tnp.take(x, -1, axis=0) * x[0], _n((3, 2)), ["getitem"])
_add("take_wrap_clip", lambda x: tnp.take(x, [4, -5], mode="wrap") * tnp.take(x, [7, -3],
                                                                               mode="clip"),
     _n((3,)), ["getitem"])
_add("take_along_axis", lambda x: tnp.take_along_axis(x, np.array([[0, 2, 2], [1, 0, 0]]), 1),
     _n((2, 3)), ["take_along_axis"])
_add("take_along_axis_broadcast",
     lambda x: tnp.take_along_axis(x, np.array([[1], [0], [1]]), 0) ** 2, _n((2, 4)),
     ["take_along_axis"])
_add("take_along_axis_none", lambda x: tnp.take_along_axis(x, np.array([5, 0, 0]), None),
     _n((2, 3)), ["take_along_axis"])
_add("take_along_axis_argsort",
     lambda x, y: tnp.take_along_axis(y, tnp.argsort(x, axis=0), axis=0) * x,
     _n((3, 2), (3, 2)), ["take_along_axis", "argsort"])
_add("take_traced_indices", lambda x, y: tnp.take(y, tnp.argsort(x), axis=0) ** 2,
     _n((3,), (3, 2)), ["take_along_axis", "argsort"])
_add("sort_last", lambda x: tnp.sort(x) ** 3, _n((3, 4)), ["sort"])
_add("sort_axis0", lambda x: tnp.sort(x, axis=0) * x, _n((4, 2)), ["sort"])
_add("sort_flat", lambda x: tnp.sort(x, axis=None)[:3], _n((2, 3)), ["sort"])
_add("sort_via_argsort", lambda x: tnp.take(x, tnp.argsort(x)) * tnp.sort(x), _n((5,)),
     ["sort", "argsort", "take_along_axis"])
_add("select", lambda a, b: tnp.select([a > 0.5, a < -0.5], [a * b, b], default=a ** 2),
     _n((3, 4), (4,)), ["select"])
_add("select_scalar_default", lambda a: tnp.select([a > 0], [a ** 2]), _n((5,)), ["select"])

# --- indexing: basic, advanced, mixed, masks, updates --------------------------------------

_add("getitem_negative", lambda x: x[-1, -2:] * x[-3, :2], _n((3, 4)), ["getitem"])
_add("getitem_step_negative", lambda x: x[::-2, 1::2], _n((5, 4)), ["getitem"])
_add("getitem_mixed_adjacent", lambda x: x[:, [0, 2, 2], 1] ** 2, _n((2, 3, 4)), ["getitem"])
_add("getitem_mixed_separated", lambda x: x[[0, 1], :, [3, 0]], _n((2, 3, 4)), ["getitem"])
_add("getitem_fancy_2d", lambda x: x[np.array([[0, 1], [1, 1]]), np.array([2, 0])],
     _n((2, 3)), ["getitem"])
_add("getitem_fancy_negative", lambda x: x[..., [-1, 0, -1]] * 2.0, _n((2, 3)), ["getitem"])
_add("getitem_newaxis_fancy", lambda x: x[None, 1:, [2, 2]], _n((3, 4)), ["getitem"])
_add("getitem_mask_2d", lambda x: x[np.array([[True, False, True], [False, True, True]])] ** 2,
     _n((2, 3)), ["getitem"])
_add("getitem_mask_axis1", lambda x: x[:, np.array([True, False, True])], _n((2, 3, 2)),
     ["getitem"])
_add("at_set_broadcast", lambda x, v: tnp.at(x)[:, 1].set(v) ** 2, _n((3, 2), ()), ["index_set"])
_add("at_set_row_broadcast", lambda x, v: tnp.at(x)[np.array([0, 2])].set(v), _n((3, 2), (2,)),
     ["index_set"])
_add("at_add_duplicates", lambda x, v: tnp.at(x)[np.array([1, 1, 0, 1])].add(v) ** 2,
     _n((3,), (4,)), ["index_add"])
_add("at_add_duplicates_broadcast", lambda x, v: tnp.at(x)[np.array([0, 0]), 1:].add(v),
     _n((2, 3), (2,)), ["index_add"])
_add("at_add_mask", lambda x, v: tnp.at(x)[np.array([True, False, True])].add(v * v),
     _n((3, 2), (2,)), ["index_add"])
