"""Convolution plus a per-channel bias as one primitive: ``conv_bias(x, w, b) = conv(x, w) + b``
with ``b`` of shape ``(O,)`` broadcast over the batch and spatial axes.

Why a primitive of its own: a separate bias add reads and writes the whole activation once
more and allocates a second array of its size (1.4 ms of a 10 ms CNN gradient on the 8×8
digits); here the bias is added to each block of the GEMM's output while it is in cache.

It is affine, not linear, so it has jvp rules and no transpose: the tangent is
``conv(ẋ, w) + conv(x, ẇ) + ḃ`` (broadcast), written with the bilinear ``conv`` of
``nn/_conv.py`` and ``broadcast_to``; linear programs, and so reverse mode and every higher
derivative, hold only those. Batching: the batched ``conv`` rule, then the batched bias added.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.backend import defxp
from ..core.errors import ShapeError
from ..core.primitive import Primitive, bind, get_aval
from ..core.shapes import ShapedArray, shape_str
from ..interpreters.batch import bdim_to_front, common_size, defbatch
from ..interpreters.forward import defjvp
from ..ops import elementwise as ew
from ..ops.structural import broadcast_to, reshape
from ._conv import _conv_abstract, _conv_batch, _conv_xp, conv_p, conv_params, conv_with_bias


def _conv_bias_impl(x: Any, w: Any, b: Any, **params: Any) -> np.ndarray:
    return conv_with_bias(x, w, b, params["stride"], params["padding"], params["dilation"],
                          params["groups"])


def _conv_bias_abstract(x: ShapedArray, w: ShapedArray, b: ShapedArray, **params: Any
                        ) -> ShapedArray:
    out = _conv_abstract(x, w, **params)
    if b.shape != (w.shape[0],):
        raise ShapeError(f"conv: bias of shape {shape_str(b.shape)} must be ({w.shape[0]},), "
                         "one entry per output channel")
    return ShapedArray(out.shape, np.result_type(out.dtype, b.dtype))


conv_bias_p = Primitive("nn.conv_bias", _conv_bias_impl, _conv_bias_abstract)
conv_bias_p.fresh_result = True  # conv_with_bias writes into an array it allocated


@defxp(conv_bias_p)
def _conv_bias_xp(xp: Any, x: Any, w: Any, b: Any, **params: Any) -> Any:
    out = _conv_xp(xp, x, w, **params)
    return out + xp.reshape(b, (1, b.shape[0]) + (1,) * (out.ndim - 2))


def _spread(t: Any, ans: Any) -> Any:
    """A per-channel ``(O,)`` array broadcast to the output's shape."""
    shape = get_aval(ans).shape
    return broadcast_to(reshape(t, (1, shape[1]) + (1,) * (len(shape) - 2)), shape)


def _jvp_x(t: Any, ans: Any, x: Any, w: Any, b: Any, **params: Any) -> Any:
    return bind(conv_p, t, w, **params)


def _jvp_w(t: Any, ans: Any, x: Any, w: Any, b: Any, **params: Any) -> Any:
    return bind(conv_p, x, t, **params)


def _jvp_b(t: Any, ans: Any, x: Any, w: Any, b: Any, **params: Any) -> Any:
    return _spread(t, ans)


defjvp(conv_bias_p, _jvp_x, _jvp_w, _jvp_b)


def _conv_bias_batch(args: Any, dims: Any, **params: Any) -> tuple[Any, int]:
    (x, w, b), (dx, dw, db) = args, dims
    size = common_size(args, dims, "conv")
    if dx is None and dw is None:   # only the bias is batched: broadcast the one convolution
        out = bind(conv_p, x, w, **params)
        s = (size, *get_aval(out).shape)
    else:
        out, d = _conv_batch((x, w), (dx, dw), **params)
        out = bdim_to_front(out, d, size)                          # (B, N, O, *S)
        s = get_aval(out).shape
    bias = bdim_to_front(b, db, size)                              # (B, O)
    return ew.add(out, reshape(bias, (size, 1, s[2]) + (1,) * (len(s) - 3))), 0


defbatch(conv_bias_p, _conv_bias_batch)


def conv(x: Any, w: Any, *, stride: Any = 1, padding: Any = 0, dilation: Any = 1,
         groups: int = 1, op: str = "conv", bias: Any = None) -> Any:
    """Cross-correlation of ``x`` ``(N, C, *S)`` with ``w`` ``(O, C/groups, *K)``, plus
    ``bias`` ``(O,)`` per output channel when given."""
    params = conv_params(w, stride, padding, dilation, groups, op)
    try:
        if bias is None:
            return bind(conv_p, x, w, **params)
        return bind(conv_bias_p, x, w, bias, **params)
    except ShapeError as e:
        raise ShapeError(str(e).replace("conv:", f"{op}:", 1)) from None
