"""N-dimensional convolution (``scipy.signal.convolve``/``correlate``): one bilinear primitive,
the *full* convolution ``z[n] = Σₖ x[k] y[n − k]`` (every axis; output size ``n₁ + n₂ − 1``).

The ``'same'`` and ``'valid'`` modes are centred slices of the full result (SciPy's
``_centered``), and ``correlate(x, y) = convolve(x, flip(conj(y)))``, so one primitive and its
rules cover all of them:

- jvp: ``ż = conv(ẋ, y) + conv(x, ẏ)`` (bilinear);
- transpose in ``x``: ``x̄[k] = Σₙ z̄[n] y[n − k]``, the valid part of ``conv(z̄, flip(y))``,
  i.e. entries ``n₂ − 1 … n₂ + n₁ − 2`` of the full convolution on every axis (and the same with
  the roles swapped for ``y``). The pairing is ``Σ a b`` without conjugation, as everywhere.

Values are SciPy's (``scipy.signal.convolve``, direct or FFT as it chooses). Empty inputs are
refused, as SciPy refuses them.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np

from ..core.backend import defxp, device
from ..core.errors import ShapeError
from ..core.primitive import Primitive, bind, get_aval
from ..core.shapes import ShapedArray, shape_str
from ..interpreters.batch import defbatch, moveaxis
from ..interpreters.transpose import defbilinear
from ._base import needs_bind
from .shape import flip, stack
from .structural import getitem


def _full_impl(x: Any, y: Any) -> Any:
    try:
        import scipy.signal as ss
    except ImportError:
        raise ImportError("tensorcalc.scipy.signal computes its values with SciPy; install "
                          "scipy (pip install scipy)") from None
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim == 0:
        return x * y
    return np.asarray(ss.convolve(x, y, mode="full"))


def _full_abstract(x: ShapedArray, y: ShapedArray) -> ShapedArray:
    if len(x.shape) != len(y.shape):
        raise ShapeError(f"convolve: the inputs must have the same number of dimensions, got "
                         f"shapes {shape_str(x.shape)} and {shape_str(y.shape)}")
    if any(d == 0 for d in (*x.shape, *y.shape)):
        raise ShapeError(f"convolve: empty inputs (shapes {shape_str(x.shape)} and "
                         f"{shape_str(y.shape)}) have no convolution")
    shape = tuple(a + b - 1 for a, b in zip(x.shape, y.shape, strict=True))
    return ShapedArray(shape, np.result_type(x.dtype, y.dtype))


conv_full_p = Primitive("conv_full", _full_impl, _full_abstract)


def _shifted(xp: Any, x: Any, start: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    """``x`` placed at ``start`` in zeros of ``shape`` (a concatenation per axis)."""
    for ax, (b, n) in enumerate(zip(start, shape, strict=True)):
        parts = []
        for width in (b, None, n - b - x.shape[ax]):
            if width is None:
                parts.append(x)
            elif width:
                edge = x.shape[:ax] + (width,) + x.shape[ax + 1:]
                parts.append(xp.zeros(edge, dtype=x.dtype, device=device(x)))
        x = parts[0] if len(parts) == 1 else xp.concat(parts, axis=ax)
    return x


@defxp(conv_full_p)
def _full_xp(xp: Any, x: Any, y: Any) -> Any:
    """The definition ``z = Σ_j y[j] · x shifted by j``, over the entries of the smaller
    operand (convolution commutes): ``min(|x|, |y|)`` whole-array passes, fine for the short
    filters it is used with; no FFT or direct-convolution routine is in the standard."""
    dt = xp.result_type(x.dtype, y.dtype)
    x, y = xp.astype(x, dt), xp.astype(y, dt)
    if x.ndim == 0:
        return x * y
    if math.prod(x.shape) < math.prod(y.shape):
        x, y = y, x
    shape = tuple(a + b - 1 for a, b in zip(x.shape, y.shape, strict=True))
    acc = None
    for j in itertools.product(*(range(n) for n in y.shape)):
        term = _shifted(xp, x * y[j], j, shape)
        acc = term if acc is None else acc + term
    return acc


def _shape(x: Any) -> tuple[int, ...]:
    return tuple(get_aval(x).shape)


def _all_axes_flip(x: Any) -> Any:
    return flip(x, axis=tuple(range(len(_shape(x))))) if _shape(x) else x


def _window(z: Any, starts: tuple[int, ...], sizes: tuple[int, ...]) -> Any:
    return getitem(z, tuple(slice(s, s + n) for s, n in zip(starts, sizes, strict=True)))


def _conv_ct(ct: Any, other: Any, own: tuple[int, ...]) -> Any:
    """The cotangent of one operand: the valid part of ``conv(z̄, flip(other))``."""
    full = bind(conv_full_p, ct, _all_axes_flip(other))
    return _window(full, tuple(n - 1 for n in _shape(other)), own)


def _conv_ct_x(ct: Any, x_aval: ShapedArray, y: Any) -> Any:
    return _conv_ct(ct, y, tuple(x_aval.shape))


def _conv_ct_y(ct: Any, x: Any, y_aval: ShapedArray) -> Any:
    return _conv_ct(ct, x, tuple(y_aval.shape))


defbilinear(conv_full_p, _conv_ct_x, _conv_ct_y)


def _conv_batch(args: Any, dims: Any) -> tuple[Any, int]:
    """One full convolution per example (the batch axis is not convolved)."""
    x, y = args
    dx, dy = dims
    size = get_aval(x).shape[dx] if dx is not None else get_aval(y).shape[dy]
    xs = moveaxis(x, dx, 0) if dx is not None else None
    ys = moveaxis(y, dy, 0) if dy is not None else None
    outs = [bind(conv_full_p, x if xs is None else getitem(xs, i),
                 y if ys is None else getitem(ys, i)) for i in range(size)]
    return stack(outs), 0


defbatch(conv_full_p, _conv_batch)

# --- the user-facing functions ---------------------------------------------------------------


def _centered(z: Any, shape: tuple[int, ...]) -> Any:
    full = _shape(z)
    return _window(z, tuple((f - s) // 2 for f, s in zip(full, shape, strict=True)), shape)


def _mode_shape(op: str, s1: tuple[int, ...], s2: tuple[int, ...], mode: str
                ) -> tuple[int, ...] | None:
    if mode == "full":
        return None
    if mode == "same":
        return s1
    if mode == "valid":
        if not (all(a >= b for a, b in zip(s1, s2, strict=True))
                or all(a <= b for a, b in zip(s1, s2, strict=True))):
            raise ValueError(f"{op}: for 'valid' mode one input must be at least as large as the "
                             f"other in every dimension, got {shape_str(s1)} and {shape_str(s2)}")
        return tuple(abs(a - b) + 1 for a, b in zip(s1, s2, strict=True))
    raise ValueError(f"{op}: mode must be 'full', 'same' or 'valid', got {mode!r}")


def convolve(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """``scipy.signal.convolve`` (N-d, modes ``'full'``, ``'same'``, ``'valid'``)."""
    if not (needs_bind(in1) or needs_bind(in2)):
        import scipy.signal as ss

        return ss.convolve(in1, in2, mode=mode, method=method)
    s1, s2 = _shape(in1), _shape(in2)
    if len(s1) != len(s2):
        raise ShapeError(f"convolve: in1 and in2 must have the same number of dimensions, got "
                         f"shapes {shape_str(s1)} and {shape_str(s2)}")
    target = _mode_shape("convolve", s1, s2, mode)
    z = bind(conv_full_p, in1, in2)
    return z if target is None else _centered(z, target)


def correlate(in1: Any, in2: Any, mode: str = "full", method: str = "auto") -> Any:
    """``scipy.signal.correlate``: ``convolve(in1, flip(conj(in2)))``."""
    if not (needs_bind(in1) or needs_bind(in2)):
        import scipy.signal as ss

        return ss.correlate(in1, in2, mode=mode, method=method)
    from .complex_ops import conj

    return convolve(in1, _all_axes_flip(conj(in2)), mode=mode)
