"""tensorcalc.numpy names for complex numbers: ``real``, ``imag``, ``conj``/``conjugate``,
``angle``, the predicates ``iscomplexobj``/``isrealobj``/``iscomplex``/``isreal``, and the
``.real``/``.imag`` attributes of traced values. The derivative convention (JAX's: a real
loss of ``z`` has gradient ``∂f/∂x − i ∂f/∂y``) is stated in ops/complex_ops.py and
docs/conventions.md."""

from __future__ import annotations

from typing import Any

import numpy as _np

from ..core.primitive import Tracer
from ..ops._base import needs_bind
from ..ops.complex_ops import angle, conj, conjugate, imag, real
from ..ops.elementwise import equal, not_equal

__all__ = ["angle", "conj", "conjugate", "imag", "iscomplex", "iscomplexobj", "isreal",
           "isrealobj", "real"]


def iscomplexobj(x: Any) -> bool:
    """``numpy.iscomplexobj``: whether the dtype is complex (no value is read)."""
    return x.dtype.kind == "c" if needs_bind(x) else _np.iscomplexobj(x)


def isrealobj(x: Any) -> bool:
    """``numpy.isrealobj``."""
    return not iscomplexobj(x)


def iscomplex(x: Any) -> Any:
    """``numpy.iscomplex``: entries with a non-zero imaginary part (boolean, no derivative)."""
    if not needs_bind(x):
        return _np.iscomplex(x)
    return not_equal(imag(x), 0)


def isreal(x: Any) -> Any:
    """``numpy.isreal``: entries with a zero imaginary part (boolean, no derivative)."""
    if not needs_bind(x):
        return _np.isreal(x)
    return equal(imag(x), 0)


Tracer.real = property(real)  # type: ignore[attr-defined]
Tracer.imag = property(imag)  # type: ignore[attr-defined]
