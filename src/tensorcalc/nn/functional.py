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

Convolution and pooling use the NCHW layout. ``conv2d`` gathers the sliding windows
(``im2col``: a constant index pattern, so the gather is linear and its transpose is a
scatter-add) and multiplies by the flattened kernel: ``out[n, o] = W[o] · cols[n]`` — a matmul,
so its derivatives are those of a linear layer (docs/lessons/networks.md). Ties in
``max_pool2d`` share the
derivative equally (the ``max`` convention); ``avg_pool2d`` counts padding as zeros.
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
from ._primitives import softmax_xent, softplus

__all__ = [
    "avg_pool2d", "binary_cross_entropy_with_logits", "conv2d", "elu", "gelu", "leaky_relu",
    "log_softmax", "max_pool2d", "mse", "one_hot", "relu", "sigmoid", "softmax",
    "softmax_cross_entropy", "softplus", "tanh",
]

tanh = tnp.tanh
REDUCTIONS = ("mean", "sum", "none")


# --- activations -----------------------------------------------------------------------------


def relu(x: Any) -> Any:
    """``max(x, 0)``; the derivative at 0 is 0 (the branch ``x > 0`` is not taken)."""
    return tnp.where(x > 0, x, 0.0)


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


def _pad(x: Any, ph: int, pw: int, value: float) -> Any:
    if ph == 0 and pw == 0:
        return x
    n, c, h, w = tnp.shape(x)
    base = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=_float(x))
    return tnp.index_set(base, (slice(None), slice(None), slice(ph, ph + h), slice(pw, pw + w)),
                         x)


def _windows(x: Any, kernel: tuple[int, int], stride: tuple[int, int],
             padding: tuple[int, int], pad_value: float, name: str) -> Any:
    """All ``kh × kw`` windows of the padded input: shape ``(N, C, kh, kw, OH, OW)``."""
    if len(tnp.shape(x)) != 4:
        raise ShapeError(f"{name}: input must be 4-D (N, C, H, W), got shape "
                         f"{tuple(tnp.shape(x))}; add a batch axis with x[None]")
    kh, kw = kernel
    sh, sw = stride
    if min(kh, kw, sh, sw) < 1 or min(padding) < 0:
        raise ValueError(f"{name}: kernel and stride must be >= 1 and padding >= 0, got "
                         f"kernel={kernel}, stride={stride}, padding={padding}")
    xp = _pad(x, padding[0], padding[1], pad_value)
    hp, wp = tnp.shape(xp)[2:]
    if hp < kh or wp < kw:
        raise ShapeError(f"{name}: the {kh}x{kw} kernel is larger than the padded input "
                         f"{hp}x{wp}")
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    rows = np.arange(kh)[:, None, None, None] + sh * np.arange(oh)[None, None, :, None]
    cols = np.arange(kw)[None, :, None, None] + sw * np.arange(ow)[None, None, None, :]
    return tnp.getitem(xp, (slice(None), slice(None), rows, cols))


def conv2d(x: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0) -> Any:
    """2-D cross-correlation (PyTorch's ``conv2d``): ``x`` is ``(N, C, H, W)``, ``weight`` is
    ``(O, C, kh, kw)``, ``bias`` is ``(O,)``; the result is ``(N, O, OH, OW)`` with
    ``OH = (H + 2·ph − kh) // sh + 1``."""
    wshape = tuple(tnp.shape(weight))
    if len(wshape) != 4:
        raise ShapeError(f"conv2d: weight must be 4-D (out_channels, in_channels, kh, kw), got "
                         f"shape {wshape}")
    xshape = tuple(tnp.shape(x))
    if len(xshape) == 4 and xshape[1] != wshape[1]:
        raise ShapeError(f"conv2d: input has {xshape[1]} channels (shape {xshape}) but the "
                         f"weight expects {wshape[1]} (shape {wshape})")
    o, c, kh, kw = wshape
    win = _windows(x, (kh, kw), _pair(stride, "stride"), _pair(padding, "padding"), 0.0,
                   "conv2d")
    n, _, _, _, oh, ow = tnp.shape(win)
    cols = tnp.reshape(win, (n, c * kh * kw, oh * ow))
    out = tnp.matmul(tnp.reshape(weight, (o, c * kh * kw)), cols)  # (N, O, OH·OW)
    out = tnp.reshape(out, (n, o, oh, ow))
    if bias is not None:
        if tuple(tnp.shape(bias)) != (o,):
            raise ShapeError(f"conv2d: bias must have shape ({o},), got {tuple(tnp.shape(bias))}")
        out = out + tnp.reshape(bias, (1, o, 1, 1))
    return out


def _pool(x: Any, kernel_size: Any, stride: Any, padding: Any, pad_value: float,
          name: str) -> Any:
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    win = _windows(x, kernel, stride, _pair(padding, "padding"), pad_value, name)
    n, c, kh, kw, oh, ow = tnp.shape(win)
    return tnp.reshape(win, (n, c, kh * kw, oh, ow))


def max_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Any:
    """Maximum over ``kernel_size`` windows (stride defaults to the kernel size); padding is
    ``−inf``. Tied maxima share the derivative equally."""
    return tnp.max(_pool(x, kernel_size, stride, padding, -np.inf, "max_pool2d"), axis=2)


def avg_pool2d(x: Any, kernel_size: Any, stride: Any = None, padding: Any = 0) -> Any:
    """Mean over ``kernel_size`` windows (stride defaults to the kernel size); zero padding
    is counted in the mean, as PyTorch's default ``count_include_pad=True``."""
    return tnp.mean(_pool(x, kernel_size, stride, padding, 0.0, "avg_pool2d"), axis=2)
