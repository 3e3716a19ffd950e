"""Convolution primitives (channels first, any number of spatial axes): one forward map and its
two transposes, a family closed under transposition, each BLAS contractions (the forward map
with a bias is ``nn/_conv_bias.py``).

With ``x`` of shape ``(N, C, *S)``, ``w`` of shape ``(O, C/G, *K)`` (``G`` groups), stride
``s``, zero padding ``p`` and dilation ``d``, write ``win(x)[n, c, o, k] = x_pad[n, c, s·o + d·k]``
for the sliding windows of the padded input. Then, within each group,

* ``conv(x, w)[n, o, ô] = Σ_{c, k} win(x)[n, c, ô, k] · w[o, c, k]``  (cross-correlation, as
  PyTorch's ``conv2d``): im2col, ``cols[(c, k), (ô, n)] = win(x)[n, c, ô, k]``, then one GEMM
  ``w · cols`` over every output position of the whole batch;
* ``conv_dx(ȳ, w) = ∂⟨ȳ, conv(x, w)⟩/∂x``: ``cols = wᵀ · ȳ`` (one GEMM), then ``col2im``: each
  kernel offset ``k`` adds the slice ``cols[k]`` into ``x_pad[…, s·ô + d·k]`` (``Π K`` strided
  adds; no ``np.add.at``), and the padding is cut off;
* ``conv_dw(x, ȳ) = ∂⟨ȳ, conv(x, w)⟩/∂w``: ``ȳ · colsᵀ`` (one GEMM, inner dimension ``N·ΠO``).

The NumPy impls store arrays batch-innermost (``nn/_layout.py``) and build ``cols`` in blocks of
output rows that fit in cache (``_column_blocks``): one strided slice copy per kernel offset and
block, then the block's GEMM, so a 10 MB im2col is never materialized. Where that GEMM's inner
dimension is short (``C/G·ΠK`` for conv and conv_dw, ``O/G`` for conv_dx: at most
``DIRECT_INNER``) and numba is installed, 2-D float64 convolutions of a batch run as direct
loops instead (``nn/_conv_numba.py``), 2–2.5× faster on LeNet's first layer.

All three are bilinear, so the product rule gives their jvps, and the transposes close up:
``⟨ȳ, conv(x, w)⟩ = ⟨conv_dx(ȳ, w), x⟩ = ⟨conv_dw(x, ȳ), w⟩``, hence

* conv: ``x̄ = conv_dx(ȳ, w)``, ``w̄ = conv_dw(x, ȳ)``;
* conv_dx(ȳ, w) with cotangent ``x̄``: ``ȳ-part = conv(x̄, w)``, ``w-part = conv_dw(x̄, ȳ)``;
* conv_dw(x, ȳ) with cotangent ``w̄``: ``x-part = conv_dx(ȳ, w̄)``, ``ȳ-part = conv(x, w̄)``.

Batching: a batch of inputs folds into ``N`` when the kernel is shared; otherwise the batch
becomes extra groups (``B·G`` groups over ``B·C`` channels), which is exact because groups never
mix channels. Derivatives of every order are therefore convolutions again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..core.backend import defxp
from ..core.errors import ShapeError
from ..core.primitive import Primitive, bind, get_aval
from ..core.shapes import ShapedArray, shape_str
from ..interpreters.batch import bdim_to_front, common_size, defbatch
from ..interpreters.transpose import defbilinear
from ..ops._base import kernel_module
from ..ops.structural import reshape, transpose
from . import _layout as layout
from . import _xpgrid as grid


def _out_spatial(spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                 padding: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, s, p, d in zip(spatial, kernel, stride, padding, dilation,
                                          strict=True))


def _group_slices(total: int, groups: int) -> list[slice]:
    size = total // groups
    return [slice(g * size, (g + 1) * size) for g in range(groups)]


#: Bytes of one block of im2col columns: small enough to stay in a core's L2 cache between the
#: copy that fills it and the GEMM that reads it (a whole-batch im2col of a LeNet layer is 10 MB
#: and ran 1.5-2.5x slower, mostly in memory traffic and page faults).
BLOCK_BYTES = 1 << 18


def _rows_per_block(out_rows: int, per_row: int) -> int:
    return max(1, min(out_rows, BLOCK_BYTES // max(per_row, 1)))


def _offset_windows(kernel: tuple[int, ...], stride: tuple[int, ...],
                    dilation: tuple[int, ...], out_sp: tuple[int, ...]
                    ) -> list[tuple[tuple[int, ...], int, tuple[slice, ...]]]:
    """Per kernel offset ``k``: ``k``, the start ``d₁·k₁`` on the first spatial axis, and the
    slices ``s·ô + d·k`` of the other axes (computed once: the blocks index them thousands of
    times per call)."""
    return [(k, dilation[0] * k[0],
             tuple(slice(d * ki, d * ki + s * (m - 1) + 1, s)
                   for ki, s, d, m in zip(k[1:], stride[1:], dilation[1:], out_sp[1:],
                                          strict=True)))
            for k in np.ndindex(*kernel)]


def _column_blocks(xt: np.ndarray, kernel: tuple[int, ...], stride: tuple[int, ...],
                   dilation: tuple[int, ...], out_sp: tuple[int, ...]
                   ) -> Iterator[tuple[int, int, np.ndarray]]:
    """im2col in blocks of output rows (the first spatial axis), in the batch-innermost layout
    (nn/_layout.py). ``xt`` is the padded input stored as ``(C, *S_pad, N)``; each block is the
    contiguous ``(C·ΠK, rows·Π O[1:]·N)`` matrix ``cols[(c, k), (ô, n)] = x_pad[n, c, s·ô + d·k]``
    for ``r0 ≤ ô₁ < r1``, yielded with ``r0, r1``. It is filled by one strided slice copy per
    kernel offset (runs of ``N`` contiguous entries) and overwritten by the next block: use it
    before asking for the next."""
    c, n, s0 = xt.shape[0], xt.shape[-1], stride[0]
    per_row = c * math.prod(kernel) * math.prod(out_sp[1:]) * n * xt.dtype.itemsize
    rows = _rows_per_block(out_sp[0], per_row)
    buf = np.empty((c, *kernel, rows, *out_sp[1:], n), xt.dtype)
    offsets = _offset_windows(kernel, stride, dilation, out_sp)
    for r0 in range(0, out_sp[0], rows):
        r1 = min(out_sp[0], r0 + rows)
        cols = buf if r1 - r0 == rows else np.empty((c, *kernel, r1 - r0, *out_sp[1:], n),
                                                    xt.dtype)
        for k, base, tail in offsets:
            first = slice(base + s0 * r0, base + s0 * (r1 - 1) + 1, s0)
            cols[(slice(None),) + k] = xt[(slice(None), first) + tail]
        yield r0, r1, cols.reshape(c * math.prod(kernel), -1)


#: The direct loops pay when the GEMM's inner dimension is at most this (LeNet, batch 64:
#: 25 (5×5 kernel, one channel) direct 1.3 ms against 3.2 ms for conv, 2.0 against 4.0 for
#: conv_dw; 16 output channels, conv_dx 3.0 against 4.3; at 150 the GEMM wins), for batches of
#: at least DIRECT_MIN_BATCH (the vector loops run over the batch). As for softmax's kernels,
#: the choice depends on the call alone, so results never change bits from one call to the
#: next; the first such convolution of a process pays numba's start (1–2 s).
DIRECT_INNER = 32
DIRECT_MIN_BATCH = 16
_direct: Any = None


def direct_kernels() -> Any:
    """The module of direct loops (``nn/_conv_numba.py``, imports numba), or None without numba
    or with ``TENSORCALC_CONV=numpy``."""
    global _direct
    if _direct is None:
        _direct = kernel_module("TENSORCALC_CONV", "tensorcalc.nn._conv_numba") or False
    return _direct or None


def _direct_for(inner: int, batch: int, nd: int, *arrays: np.ndarray) -> Any:
    if (inner > DIRECT_INNER or batch < DIRECT_MIN_BATCH or nd != 2
            or any(a.dtype != np.float64 for a in arrays)):
        return None
    return direct_kernels()


def _conv_impl(x: Any, w: Any, *, stride: tuple[int, ...], padding: tuple[int, ...],
               dilation: tuple[int, ...], groups: int) -> np.ndarray:
    return conv_with_bias(x, w, None, stride, padding, dilation, groups)


def conv_with_bias(x: Any, w: Any, b: Any, stride: tuple[int, ...], padding: tuple[int, ...],
                   dilation: tuple[int, ...], groups: int) -> np.ndarray:
    """``conv(x, w)`` plus the bias ``b`` ``(O,)`` per output channel when it is given."""
    x, w = np.asarray(x), np.asarray(w)
    kernel = w.shape[2:]
    # Eager calls on arrays skip the abstract rule: check here (the group slices below would
    # otherwise leave output channels unwritten).
    _conv_abstract(x, w, stride=stride, padding=padding, dilation=dilation, groups=groups)
    out_sp = _out_spatial(x.shape[2:], kernel, stride, padding, dilation)
    xt = layout.nlast_padded(x, padding)                             # (C, *S_pad, N)
    bias = np.zeros(w.shape[0]) if b is None else np.asarray(b)
    direct = _direct_for(w.shape[1] * math.prod(kernel), x.shape[0], len(kernel), x, w, bias)
    if direct is not None:
        w = np.ascontiguousarray(w)
        out = np.empty((w.shape[0], *out_sp, x.shape[0]))            # (O, *O, N)
        cg = w.shape[1]
        for g, go in enumerate(_group_slices(w.shape[0], groups)):
            direct.conv2d(xt[g * cg:(g + 1) * cg], w[go], bias[go], out[go], *stride, *dilation)
        return layout.nfirst(out)
    dtype = np.result_type(x.dtype, w.dtype) if b is None else np.result_type(x, w, b)
    o, rest = w.shape[0], math.prod(out_sp[1:]) * x.shape[0]
    # One GEMM per group and block over all N·ΠO output positions of the block, written as
    # (O, *O, N): the result has the batch innermost, the layout the relu and pooling that
    # follow run fastest in. The bias is added to each block while it is still in cache.
    out = np.empty((o, out_sp[0] * rest), np.result_type(xt.dtype, w.dtype, dtype))
    col = None if b is None else np.asarray(b).reshape(o, 1)
    wgs = [(go, w[go].reshape(go.stop - go.start, -1)) for go in _group_slices(o, groups)]
    for r0, r1, cols in _column_blocks(xt, kernel, stride, dilation, out_sp):
        for (go, wg), rows in zip(wgs, _group_slices(cols.shape[0], groups), strict=True):
            np.matmul(wg, cols[rows], out=out[go, r0 * rest:r1 * rest])
        if col is not None:
            np.add(out[:, r0 * rest:r1 * rest], col, out=out[:, r0 * rest:r1 * rest])
    out = layout.nfirst(out.reshape(o, *out_sp, x.shape[0]))
    return out.astype(dtype, copy=False)


def _conv_dx_impl(ct: Any, w: Any, *, in_spatial: tuple[int, ...], stride: tuple[int, ...],
                  padding: tuple[int, ...], dilation: tuple[int, ...], groups: int
                  ) -> np.ndarray:
    ct, w = np.asarray(ct), np.asarray(w)
    n, o, out_sp = ct.shape[0], ct.shape[1], ct.shape[2:]
    kernel, cg, s0 = w.shape[2:], w.shape[1], stride[0]
    dtype = np.result_type(ct.dtype, w.dtype)
    padded = tuple(s + 2 * p for s, p in zip(in_spatial, padding, strict=True))
    dxp = np.zeros((cg * groups, *padded, n), dtype)                 # (C, *S_pad, N)
    direct = _direct_for(o // groups, n, len(kernel), ct, w)
    if direct is not None:
        ctt, w = layout.nlast(ct), np.ascontiguousarray(w)          # (O, *O, N)
        for g, go in enumerate(_group_slices(o, groups)):
            direct.conv2d_dx(ctt[go], w[go], dxp[g * cg:(g + 1) * cg], *stride, *dilation)
        return layout.crop(layout.nfirst(dxp), padding, in_spatial)
    ctt = layout.nlast(ct).reshape(o, -1)                            # (O, ΠO·N)
    rest = math.prod(out_sp[1:]) * n
    rows = _rows_per_block(out_sp[0], cg * math.prod(kernel) * rest * dxp.dtype.itemsize)
    offsets = _offset_windows(kernel, stride, dilation, out_sp)
    for g, go in enumerate(_group_slices(o, groups)):
        wg_t = w[go].reshape(go.stop - go.start, -1).T
        dst = dxp[g * cg:(g + 1) * cg]
        for r0 in range(0, out_sp[0], rows):
            # cols[(c, k), (ô, n)] = Σ_o w[o, c, k] ȳ[n, o, ô] for a block of output rows (one
            # GEMM), then col2im: each kernel offset adds its slice at s·ô + d·k.
            r1 = min(out_sp[0], r0 + rows)
            cols = np.matmul(wg_t, ctt[go, r0 * rest:r1 * rest])
            cols = cols.reshape(cg, *kernel, r1 - r0, *out_sp[1:], n)
            for k, base, tail in offsets:
                first = slice(base + s0 * r0, base + s0 * (r1 - 1) + 1, s0)
                dst[(slice(None), first) + tail] += cols[(slice(None),) + k]
    return layout.crop(layout.nfirst(dxp), padding, in_spatial)


def _conv_dw_impl(x: Any, ct: Any, *, kernel: tuple[int, ...], stride: tuple[int, ...],
                  padding: tuple[int, ...], dilation: tuple[int, ...], groups: int
                  ) -> np.ndarray:
    x, ct = np.asarray(x), np.asarray(ct)
    o, out_sp = ct.shape[1], ct.shape[2:]
    xt = layout.nlast_padded(x, padding)                             # (C, *S_pad, N)
    cg = x.shape[1] // groups
    direct = _direct_for(cg * math.prod(kernel), x.shape[0], len(kernel), x, ct)
    if direct is not None:
        out = np.empty((o, cg, *kernel))
        ctt = layout.nlast(ct)                                       # (O, *O, N)
        for g, go in enumerate(_group_slices(o, groups)):
            direct.conv2d_dw(xt[g * cg:(g + 1) * cg], ctt[go], out[go], *stride, *dilation)
        return out
    ctt = layout.nlast(ct).reshape(o, -1)                            # (O, ΠO·N)
    dtype = np.result_type(x.dtype, ct.dtype)
    rest = math.prod(out_sp[1:]) * x.shape[0]
    # dw[o, (c, k)] = Σ_{ô, n} ȳ[n, o, ô] cols[(c, k), (ô, n)]: per group, a sum of GEMMs over
    # the blocks of output rows, each with the block's N·ΠO positions as its inner dimension.
    cgk = x.shape[1] // groups * math.prod(kernel)
    out = np.zeros((o, cgk), np.result_type(xt.dtype, ctt.dtype))
    for r0, r1, cols in _column_blocks(xt, kernel, stride, dilation, out_sp):
        for go, rows in zip(_group_slices(o, groups), _group_slices(cols.shape[0], groups),
                            strict=True):
            out[go] += ctt[go, r0 * rest:r1 * rest] @ cols[rows].T
    return out.reshape(o, x.shape[1] // groups, *kernel).astype(dtype, copy=False)


def _check(name: str, x: ShapedArray, o: int, c_in: int, kernel: tuple[int, ...],
           params: dict[str, Any]) -> None:
    nd, g = len(kernel), params["groups"]
    if x.ndim != nd + 2:
        raise ShapeError(f"{name}: input of shape {shape_str(x.shape)} must have {nd + 2} axes "
                         f"(N, C, {nd} spatial) for a {nd}-D kernel")
    if c_in != (x.shape[1] // g if x.shape[1] % g == 0 else -1) or o % g:
        raise ShapeError(f"{name}: with groups={g} the input's {x.shape[1]} channels and the "
                         f"kernel's {o} outputs must both split into {g} groups, and the kernel "
                         f"must expect {x.shape[1]}/{g} input channels (it expects {c_in})")


def _conv_abstract(x: ShapedArray, w: ShapedArray, **params: Any) -> ShapedArray:
    kernel = tuple(w.shape[2:])
    _check("conv", x, w.shape[0], w.shape[1], kernel, params)
    out = _out_spatial(tuple(x.shape[2:]), kernel, params["stride"], params["padding"],
                       params["dilation"])
    if min(out, default=1) < 1:
        raise ShapeError(f"conv: the kernel {kernel} (dilation {params['dilation']}) is larger "
                         f"than the padded input {shape_str(x.shape)}")
    return ShapedArray((x.shape[0], w.shape[0], *out), np.result_type(x.dtype, w.dtype))


def _conv_dx_abstract(ct: ShapedArray, w: ShapedArray, **params: Any) -> ShapedArray:
    shape = (ct.shape[0], w.shape[1] * params["groups"], *params["in_spatial"])
    return ShapedArray(shape, np.result_type(ct.dtype, w.dtype))


def _conv_dw_abstract(x: ShapedArray, ct: ShapedArray, **params: Any) -> ShapedArray:
    shape = (ct.shape[1], x.shape[1] // params["groups"], *params["kernel"])
    return ShapedArray(shape, np.result_type(x.dtype, ct.dtype))


conv_p = Primitive("nn.conv", _conv_impl, _conv_abstract)
conv_dx_p = Primitive("nn.conv_dx", _conv_dx_impl, _conv_dx_abstract)
conv_dw_p = Primitive("nn.conv_dw", _conv_dw_impl, _conv_dw_abstract)
# Each impl writes into arrays it allocated (a view of one at most): no operand aliases it.
for _prim in (conv_p, conv_dx_p, conv_dw_p):
    _prim.fresh_result = True


# --- array-API impls (nn/_xpgrid.py): im2col by one strided slice per kernel offset ---------


def _xp_columns(xp: Any, x_pad: Any, kernel: tuple[int, ...], stride: tuple[int, ...],
                dilation: tuple[int, ...], out_sp: tuple[int, ...]) -> Any:
    """``(N, C·ΠK, ΠO)`` columns of the padded input, as ``_columns`` (channel-major)."""
    n, c = x_pad.shape[:2]
    wins = [grid.window(x_pad, k, stride, dilation, out_sp) for k in grid.offsets(kernel)]
    return xp.reshape(xp.stack(wins, axis=2), (n, c * math.prod(kernel), math.prod(out_sp)))


def _common(xp: Any, a: Any, b: Any) -> tuple[Any, Any]:
    dt = xp.result_type(a.dtype, b.dtype)
    return xp.astype(a, dt), xp.astype(b, dt)


def _conv_xp(xp: Any, x: Any, w: Any, *, stride: tuple[int, ...], padding: tuple[int, ...],
             dilation: tuple[int, ...], groups: int) -> Any:
    x, w = _common(xp, x, w)
    kernel = tuple(w.shape[2:])
    out_sp = _out_spatial(tuple(x.shape[2:]), kernel, stride, padding, dilation)
    cols = _xp_columns(xp, grid.pad(xp, x, padding), kernel, stride, dilation, out_sp)
    ckk = cols.shape[1] // groups
    parts = []
    for g, go in enumerate(_group_slices(w.shape[0], groups)):
        wg = xp.reshape(w[go, ...], (w[go, ...].shape[0], ckk))
        parts.append(xp.matmul(wg, cols[:, g * ckk:(g + 1) * ckk, :]))      # (N, O/G, ΠO)
    out = parts[0] if groups == 1 else xp.concat(parts, axis=1)
    return xp.reshape(out, (x.shape[0], w.shape[0], *out_sp))


def _conv_dx_xp(xp: Any, ct: Any, w: Any, *, in_spatial: tuple[int, ...],
                stride: tuple[int, ...], padding: tuple[int, ...], dilation: tuple[int, ...],
                groups: int) -> Any:
    ct, w = _common(xp, ct, w)
    n, kernel, out_sp, cg = ct.shape[0], tuple(w.shape[2:]), tuple(ct.shape[2:]), w.shape[1]
    padded = tuple(s + 2 * p for s, p in zip(in_spatial, padding, strict=True))
    parts = []
    for go in _group_slices(w.shape[0], groups):
        wg = xp.reshape(w[go, ...], (w[go, ...].shape[0], cg * math.prod(kernel)))
        cols = xp.matmul(xp.matrix_transpose(wg),
                         xp.reshape(ct[:, go, ...], (n, wg.shape[0], math.prod(out_sp))))
        cols = xp.reshape(cols, (n, cg, math.prod(kernel), *out_sp))
        # col2im: each offset's slice lands at d·k + s·ô of the padded input
        acc = None
        for i, k in enumerate(grid.offsets(kernel)):
            start = tuple(d * ki for d, ki in zip(dilation, k, strict=True))
            term = grid.place(xp, cols[:, :, i, ...], start, stride, padded)
            acc = term if acc is None else acc + term
        parts.append(acc)
    dxp = parts[0] if groups == 1 else xp.concat(parts, axis=1)
    return grid.crop(dxp, padding, in_spatial)


def _conv_dw_xp(xp: Any, x: Any, ct: Any, *, kernel: tuple[int, ...], stride: tuple[int, ...],
                padding: tuple[int, ...], dilation: tuple[int, ...], groups: int) -> Any:
    x, ct = _common(xp, x, ct)
    out_sp = tuple(ct.shape[2:])
    cols = _xp_columns(xp, grid.pad(xp, x, padding), kernel, stride, dilation, out_sp)
    ckk, n = cols.shape[1] // groups, x.shape[0]
    parts = []
    for g, go in enumerate(_group_slices(ct.shape[1], groups)):
        ctg = xp.reshape(ct[:, go, ...], (n, -1, math.prod(out_sp)))
        dw = xp.tensordot(ctg, cols[:, g * ckk:(g + 1) * ckk, :], axes=([0, 2], [0, 2]))
        parts.append(xp.reshape(dw, (ctg.shape[1], -1, *kernel)))
    return parts[0] if groups == 1 else xp.concat(parts, axis=0)


defxp(conv_p, _conv_xp)
defxp(conv_dx_p, _conv_dx_xp)
defxp(conv_dw_p, _conv_dw_xp)


def _geometry(params: dict[str, Any]) -> dict[str, Any]:
    return {k: params[k] for k in ("stride", "padding", "dilation", "groups")}


# --- transposes (module docstring): the family closes under transposition ------------------


def _conv_ct_x(ct: Any, x_aval: ShapedArray, w: Any, **params: Any) -> Any:
    return bind(conv_dx_p, ct, w, in_spatial=tuple(x_aval.shape[2:]), **_geometry(params))


def _conv_ct_w(ct: Any, x: Any, w_aval: ShapedArray, **params: Any) -> Any:
    return bind(conv_dw_p, x, ct, kernel=tuple(w_aval.shape[2:]), **_geometry(params))


def _conv_dx_ct_y(ct: Any, y_aval: ShapedArray, w: Any, **params: Any) -> Any:
    return bind(conv_p, ct, w, **_geometry(params))


def _conv_dx_ct_w(ct: Any, y: Any, w_aval: ShapedArray, **params: Any) -> Any:
    return bind(conv_dw_p, ct, y, kernel=tuple(w_aval.shape[2:]), **_geometry(params))


def _conv_dw_ct_x(ct: Any, x_aval: ShapedArray, y: Any, **params: Any) -> Any:
    return bind(conv_dx_p, y, ct, in_spatial=tuple(x_aval.shape[2:]), **_geometry(params))


def _conv_dw_ct_y(ct: Any, x: Any, y_aval: ShapedArray, **params: Any) -> Any:
    return bind(conv_p, x, ct, **_geometry(params))


defbilinear(conv_p, _conv_ct_x, _conv_ct_w)
defbilinear(conv_dx_p, _conv_dx_ct_y, _conv_dx_ct_w)
defbilinear(conv_dw_p, _conv_dw_ct_x, _conv_dw_ct_y)


# --- batching: fold into N, or into groups ------------------------------------------------


def _fold_n(v: Any) -> Any:
    """``(B, N, …)`` → ``(B·N, …)``."""
    s = get_aval(v).shape
    return reshape(v, (s[0] * s[1], *s[2:]))


def _fold_channels(v: Any) -> Any:
    """``(B, N, C, …)`` → ``(N, B·C, …)``: the batch becomes channel groups."""
    s = get_aval(v).shape
    perm = (1, 0, *range(2, len(s)))
    return reshape(transpose(v, perm), (s[1], s[0] * s[2], *s[3:]))


def _fold_kernel(v: Any) -> Any:
    """``(B, O, C, …)`` → ``(B·O, C, …)``."""
    s = get_aval(v).shape
    return reshape(v, (s[0] * s[1], *s[2:]))


def _unfold_n(v: Any, b: int) -> Any:
    s = get_aval(v).shape
    return reshape(v, (b, s[0] // b, *s[1:]))


def _unfold_channels(v: Any, b: int) -> tuple[Any, int]:
    s = get_aval(v).shape
    return reshape(v, (s[0], b, s[1] // b, *s[2:])), 1


def _conv_batch(args: Any, dims: Any, **params: Any) -> tuple[Any, int]:
    (x, w), (dx, dw) = args, dims
    b = common_size(args, dims, "conv")
    if dw is None:
        return _unfold_n(bind(conv_p, _fold_n(bdim_to_front(x, dx, b)), w, **params), b), 0
    xs, ws = _fold_channels(bdim_to_front(x, dx, b)), _fold_kernel(bdim_to_front(w, dw, b))
    out = bind(conv_p, xs, ws, **{**params, "groups": params["groups"] * b})
    return _unfold_channels(out, b)


def _conv_dx_batch(args: Any, dims: Any, **params: Any) -> tuple[Any, int]:
    (ct, w), (dc, dw) = args, dims
    b = common_size(args, dims, "conv_dx")
    if dw is None:
        return _unfold_n(bind(conv_dx_p, _fold_n(bdim_to_front(ct, dc, b)), w, **params), b), 0
    cs, ws = _fold_channels(bdim_to_front(ct, dc, b)), _fold_kernel(bdim_to_front(w, dw, b))
    out = bind(conv_dx_p, cs, ws, **{**params, "groups": params["groups"] * b})
    return _unfold_channels(out, b)


def _conv_dw_batch(args: Any, dims: Any, **params: Any) -> tuple[Any, int]:
    (x, ct), (dx, dc) = args, dims
    b = common_size(args, dims, "conv_dw")
    xs, cs = _fold_channels(bdim_to_front(x, dx, b)), _fold_channels(bdim_to_front(ct, dc, b))
    out = bind(conv_dw_p, xs, cs, **{**params, "groups": params["groups"] * b})
    s = get_aval(out).shape
    return reshape(out, (b, s[0] // b, *s[1:])), 0


defbatch(conv_p, _conv_batch)
defbatch(conv_dx_p, _conv_dx_batch)
defbatch(conv_dw_p, _conv_dw_batch)


def _tuple(v: Any, nd: int, name: str, op: str, low: int) -> tuple[int, ...]:
    out = (v,) * nd if isinstance(v, (int, np.integer)) else tuple(v)
    if len(out) != nd or not all(isinstance(i, (int, np.integer)) and i >= low for i in out):
        raise ValueError(f"{op}: {name} must be an int >= {low} or {nd} of them, got {v!r}")
    return tuple(int(i) for i in out)


def conv_params(w: Any, stride: Any, padding: Any, dilation: Any, groups: Any, op: str
                ) -> dict[str, Any]:
    """The checked geometry parameters of a convolution with kernel ``w``
    (``nn/_conv_bias.py``'s ``conv`` binds the primitive)."""
    nd = len(get_aval(w).shape) - 2
    if nd < 1:
        raise ShapeError(f"{op}: weight of shape {shape_str(get_aval(w).shape)} needs "
                         "(out_channels, in_channels/groups, *kernel)")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    return {"stride": _tuple(stride, nd, "stride", op, 1),
            "padding": _tuple(padding, nd, "padding", op, 0),
            "dilation": _tuple(dilation, nd, "dilation", op, 1), "groups": int(groups)}
