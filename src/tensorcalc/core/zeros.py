"""The symbolic zero of tangents and cotangents.

A tangent (or cotangent) that is identically zero is not an array of zeros but the value
:class:`Zero`, which knows only its abstract value. Every interpreter reads it: the forward
interpreter skips rules whose input tangent is ``Zero``, transposition never accumulates it,
evaluation turns it into an array only when a result must be returned (:func:`instantiate`).
So the work of a derivative is proportional to what actually depends on the inputs: an
elementwise function of a constant costs nothing at the levels that differentiate something
else. It lives in ``core`` because every interpreter and many op rules need it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .primitive import get_aval
from .shapes import ShapedArray, is_concrete, is_inexact_dtype


class Zero:
    """A symbolic zero tangent or cotangent of a known abstract value (``None``: unknown, the
    shape of whatever it is added to)."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray | None) -> None:
        self.aval = aval

    @property
    def shape(self) -> tuple[Any, ...]:
        return self.aval.shape  # type: ignore[union-attr]

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return f"Zero({self.aval.str_short() if self.aval else '?'})"


#: The tangent of an argument that is not being differentiated at this level.
ARG_ZERO = Zero(None)


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    """The tangent space of a value: the same shape and (inexact) dtype, never weak."""
    return ShapedArray(aval.shape, aval.dtype)


def instantiate(t: Any, like: Any = None) -> Any:
    """Turn a symbolic zero into an array of zeros (when a rule needs a real array)."""
    if type(t) is not Zero:
        return t
    aval = t.aval if t.aval is not None else get_aval(like)
    if not is_concrete(aval.shape):
        raise ValueError(f"cannot create zeros of symbolic shape {aval.shape}")
    dtype = aval.dtype if is_inexact_dtype(aval.dtype) else np.float64
    return np.zeros(aval.shape, dtype)
