"""Functional neural-network operations on NumPy arrays, differentiable with tensorcalc.

Activations (all entrywise, so their Jacobian is ``diag(f′(x))``, docs/lessons/networks.md):

* ``relu(x) = max(x, 0)`` with ``relu′(0) = 0``; ``leaky_relu(x) = x`` for ``x > 0`` else ``αx``
  (derivative ``α`` at 0); ``elu(x) = x`` for ``x > 0`` else ``α(eˣ − 1)``;
* ``gelu(x) = x Φ(x)``: exact with ``erf`` (``approximate=False``), or the tanh form
  ``½x(1 + tanh(√(2/π)(x + 0.044715x³)))`` (default, as in JAX);
* ``sigmoid`` (``scipy.special.expit``), ``softplus``, ``tanh``; ``softmax`` and
  ``log_softmax`` along an axis (``scipy.special``'s, shifted by the maximum so that nothing
  overflows).

Losses: ``softmax_cross_entropy`` is one fused primitive per row, ``−Σ_k y_k log softmax(θ)_k``,
whose logits gradient is exactly ``ŷ − y`` (docs/lessons/networks.md);
``binary_cross_entropy_with_logits`` is ``softplus(θ) − yθ`` (gradient ``σ(θ) − y``); ``mse`` is
the mean squared error.

Convolution and pooling use the channels-first layout (NCHW; NCL for ``conv1d``) and are
primitives of their own (``nn/_conv.py``, ``nn/_conv_bias.py``, ``nn/_pool.py``):
``conv1d``/``conv2d`` (stride, padding, dilation, groups, bias) are im2col + GEMM in blocks,
and their two transposes are GEMMs plus, for the input, a strided col2im add per kernel offset;
the NumPy results store the batch axis innermost (``nn/_layout.py``). Pooling reduces the
strided slices of the input, one per kernel offset. Ties in ``max_pool2d`` share the derivative
equally (the ``max`` convention); ``avg_pool2d`` counts padding as zeros.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

import tensorcalc.numpy as tnp

from ..core.errors import ShapeError
from ..core.primitive import get_aval
from ..ops import special
from ..ops._base import dtype_of, needs_bind
from ._conv_bias import conv
from ._pool import pool
from ._primitives import relu as _relu
from ._primitives import softmax_xent, softplus

__all__ = [
    "avg_pool2d", "binary_cross_entropy_with_logits", "conv1d", "conv2d", "elu", "gelu",
    "leaky_relu", "log_softmax", "max_pool2d", "mse", "one_hot", "relu", "sigmoid", "softmax",
    "softmax_cross_entropy", "softplus", "tanh",
]

tanh = tnp.tanh
REDUCTIONS = ("mean", "sum", "none")


# --- activations -----------------------------------------------------------------------------


def relu(x: Any) -> Any:
    """``max(x, 0)``; the derivative at 0 is 0 (the branch ``x > 0`` is not taken)."""
    return _relu(x)


def leaky_relu(x: Any, negative_slope: float = 0.01) -> Any:
    """``x`` where ``x > 0``, else ``negative_slope · x`` (derivative ``negative_slope`` at 0)."""
    return tnp.where(x > 0, x, negative_slope * x)


def elu(x: Any, alpha: float = 1.0) -> Any:
    """``x`` where ``x > 0``, else ``alpha · (eˣ − 1)``."""
    # exp only sees non-positive values, so the branch not taken cannot overflow to inf and
    # turn its zero cotangent into NaN (0 · inf).
    negative = alpha * (tnp.exp(tnp.minimum(x, 0.0)) - 1.0)
    return tnp.where(x > 0, x, negative)


def sigmoid(x: Any) -> Any:
    """The logistic function ``1 / (1 + e^{−x})``, stable for large ``|x|`` (it is
    ``scipy.special.expit``, one primitive for both)."""
    return special.expit(x)


def gelu(x: Any, approximate: bool = True) -> Any:
    """``x Φ(x)``; ``approximate=True`` uses the tanh form, ``False`` the exact ``erf`` form."""
    if approximate:
        c = math.sqrt(2.0 / math.pi)
        return 0.5 * x * (1.0 + tnp.tanh(c * (x + 0.044715 * x * x * x)))
    return 0.5 * x * (1.0 + special.erf(x / math.sqrt(2.0)))


def softmax(x: Any, axis: int = -1) -> Any:
    """``e^{x − m} / Σ e^{x − m}`` along ``axis`` (``m`` the maximum: no overflow)."""
    return special.softmax(_array(x), axis=axis)


def log_softmax(x: Any, axis: int = -1) -> Any:
    """``x − logsumexp(x)`` along ``axis``, computed with the max shift."""
    return special.log_softmax(_array(x), axis=axis)


def _array(x: Any) -> Any:
    return x if needs_bind(x) else np.asarray(x)


# --- losses ----------------------------------------------------------------------------------


def _reduce(loss: Any, reduction: str, name: str) -> Any:
    if reduction == "mean":
        return tnp.mean(loss)
    if reduction == "sum":
        return tnp.sum(loss)
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: reduction={reduction!r} is not one of {REDUCTIONS}")


def _dtype(x: Any) -> np.dtype:
    return get_aval(x).dtype if needs_bind(x) else np.asarray(x).dtype


def one_hot(labels: Any, num_classes: int, dtype: Any = np.float64) -> Any:
    """``labels[..., None] == arange(num_classes)`` as floats; labels must be integers in range."""
    if not needs_bind(labels):
        labels = np.asarray(labels)
        if not np.issubdtype(dtype_of(labels), np.integer):
            raise TypeError(f"one_hot: labels must be integers, got dtype {dtype_of(labels)}")
        if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(
                f"one_hot: labels must lie in [0, {num_classes}) for {num_classes} classes; got "
                f"values from {labels.min()} to {labels.max()}")
    hit = tnp.equal(tnp.expand_dims(labels, -1), np.arange(num_classes))
    return tnp.astype(hit, dtype)


def softmax_cross_entropy(logits: Any, labels: Any, *, axis: int = -1,
                          reduction: str = "mean") -> Any:
    """Cross-entropy of ``softmax(logits)`` against ``labels`` along the class ``axis``.

    ``labels`` are integer class indices (shape of ``logits`` without the class axis) or
    probabilities / one-hot rows shaped like ``logits``. The per-row loss is
    ``−Σ_k y_k log softmax(θ)_k``, then averaged (``"mean"``), summed (``"sum"``) or returned
    per row (``"none"``). The gradient with respect to the logits is exactly ``ŷ − y`` per row,
    times the cotangent (``1/rows`` for the mean).
    """
    if reduction not in REDUCTIONS:
        raise ValueError(
            f"softmax_cross_entropy: reduction={reduction!r} is not one of {REDUCTIONS}")
    if not needs_bind(labels):
        labels = np.asarray(labels)  # lists and scalars become arrays with a dtype to inspect
    if not needs_bind(logits):
        logits = np.asarray(logits)
    shape = tnp.shape(logits)
    if len(shape) == 0:
        raise ShapeError("softmax_cross_entropy: logits must have a class axis, got a scalar")
    axis = axis % len(shape)
    if axis != len(shape) - 1:
        logits = tnp.swapaxes(logits, axis, -1)
        if np.ndim(labels) == len(shape) and not np.issubdtype(_dtype(labels), np.integer):
            labels = tnp.swapaxes(labels, axis, -1)
    classes = tnp.shape(logits)[-1]
    row_shape = tuple(tnp.shape(logits)[:-1])
    if np.issubdtype(_dtype(labels), np.integer):
        if tuple(tnp.shape(labels)) != row_shape:
            raise ShapeError(
                f"softmax_cross_entropy: integer labels must have shape {row_shape} (the "
                f"logits' shape {tuple(shape)} without the class axis), got "
                f"{tuple(tnp.shape(labels))}. For one-hot labels pass floats shaped like "
                "the logits.")
        labels = one_hot(labels, classes, _float(logits))
    elif tuple(tnp.shape(labels)) != tuple(tnp.shape(logits)):
        raise ShapeError(
            f"softmax_cross_entropy: float labels must be one-hot or probability rows shaped "
            f"like the logits {tuple(shape)}, got {tuple(tnp.shape(labels))}; pass integer "
            "class indices otherwise")
    return _reduce(softmax_xent(logits, labels), reduction, "softmax_cross_entropy")


def _float(x: Any) -> np.dtype:
    dt = _dtype(x)
    return dt if np.issubdtype(dt, np.floating) else np.dtype(np.float64)


def binary_cross_entropy_with_logits(logits: Any, targets: Any, *,
                                     reduction: str = "mean") -> Any:
    """``softplus(θ) − yθ`` entrywise (``−y log σ(θ) − (1 − y) log(1 − σ(θ))``, stably);
    the gradient is ``σ(θ) − y``."""
    if tuple(tnp.shape(logits)) != tuple(tnp.shape(targets)):
        raise ShapeError(
            f"binary_cross_entropy_with_logits: targets of shape {tuple(tnp.shape(targets))} "
            f"do not match logits of shape {tuple(tnp.shape(logits))}")
    return _reduce(tnp.subtract(softplus(logits), tnp.multiply(targets, logits)), reduction,
                   "binary_cross_entropy_with_logits")


def mse(pred: Any, target: Any, *, reduction: str = "mean") -> Any:
    """Mean (or sum) of ``(pred − target)²``."""
    diff = pred - target
    return _reduce(diff * diff, reduction, "mse")


# --- convolution and pooling (NCHW) ----------------------------------------------------------


def _pair(v: Any, name: str) -> tuple[int, int]:
    pair = (v, v) if isinstance(v, (int, np.integer)) else tuple(v)
    if len(pair) != 2 or not all(isinstance(p, (int, np.integer)) for p in pair):
        raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    return int(pair[0]), int(pair[1])


def conv2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Any:
    """2-D cross-correlation (PyTorch's ``conv2d``): ``x`` is ``(N, C, H, W)``, ``weight`` is
    ``(O, C/groups, kh, kw)``, ``bias`` is ``(O,)``; the result is ``(N, O, OH, OW)`` with
    ``OH = (H + 2·ph − dh·(kh − 1) − 1) // sh + 1``."""
    return _conv_nd(x, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def conv1d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Any:
    """1-D cross-correlation (PyTorch's ``conv1d``): ``x`` is ``(N, C, L)``, ``weight`` is
    ``(O, C/groups, k)``, ``bias`` is ``(O,)``; the result is ``(N, O, OL)``."""
    return _conv_nd(x, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def _conv_nd(x: Any, weight: Any, bias: Any, stride: Any, padding: Any, dilation: Any,
             groups: int, nd: int, name: str) -> Any:
    wshape = tuple(tnp.shape(weight))
    axes = "(out_channels, in_channels/groups, " + ("kh, kw)" if nd == 2 else "k)")
    if len(wshape) != nd + 2:
        raise ShapeError(f"{name}: weight must be {nd + 2}-D {axes}, got shape {wshape}")
    xshape = tuple(tnp.shape(x))
    if len(xshape) != nd + 2:
        raise ShapeError(f"{name}: input must be {nd + 2}-D (N, C, {nd} spatial axes), got "
                         f"shape {xshape}; add a batch axis with x[None]")
    if groups == 1 and xshape[1] != wshape[1]:
        raise ShapeError(f"{name}: input has {xshape[1]} channels (shape {xshape}) but the "
                         f"weight expects {wshape[1]} (shape {wshape})")
    o = wshape[0]
    if bias is not None:
        if tuple(tnp.shape(bias)) != (o,):
            raise ShapeError(f"{name}: bias must have shape ({o},), got "
                             f"{tuple(tnp.shape(bias))}")
        bias = bias if needs_bind(bias) else np.asarray(bias)
    # the bias is added inside the convolution's own primitive (nn/_conv_bias.py)
    return conv(x, weight, stride=stride, padding=padding, dilation=dilation, groups=groups,
                op=name, bias=bias)


def _pool(kind: str, x: Any, kernel_size: Any, stride: Any, padding: Any, name: str) -> Any:
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    pad = _pair(padding, "padding")
    shape = tuple(tnp.shape(x))
    if len(shape) != 4:
        raise ShapeError(f"{name}: input must be 4-D (N, C, H, W), got shape {shape}; add a "
                         "batch axis with x[None]")
    if min(*kernel, *stride) < 1 or min(pad) < 0:
        raise ValueError(f"{name}: kernel and stride must be >= 1 and padding >= 0, got "
                         f"kernel={kernel}, stride={stride}, padding={pad}")
    hp, wp = shape[2] + 2 * pad[0], shape[3] + 2 * pad[1]
    if hp < kernel[0] or wp < kernel[1]:
        raise ShapeError(f"{name}: the {kernel[0]}x{kernel[1]} kernel is larger than the padded "
                         f"input {hp}x{wp}")
    return pool(kind, x, kernel, stride, pad)


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Any:
    """Maximum over ``kernel_size`` windows (stride defaults to the kernel size); padding is
    ``−inf``. Tied maxima share the derivative equally."""
    return _pool("max", x, kernel_size, stride, padding, "max_pool2d")


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Any:
    """Mean over ``kernel_size`` windows (stride defaults to the kernel size); zero padding
    is counted in the mean, as PyTorch's default ``count_include_pad=True``."""
    return _pool("avg", x, kernel_size, stride, padding, "avg_pool2d")
