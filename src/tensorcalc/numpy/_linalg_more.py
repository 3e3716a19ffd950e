"""``eig``/``eigvals`` (results as NumPy 2's ``EigResult``) and the tensor inverses
``tensorinv``/``tensorsolve``, which are ``inv``/``solve`` of the array reshaped to a matrix:

- ``tensorinv(a, ind)``: ``a`` of shape ``I + J`` (``I = a.shape[:ind]``) is the matrix
  ``prod(I) × prod(J)``; the result has shape ``J + I`` and contracts with ``a`` over ``J``
  (``tensordot(tensorinv(a), a, ind)`` is the identity on ``J``).
- ``tensorsolve(a, b, axes)``: solves ``tensordot(a, x, x.ndim) = b`` for ``x`` of shape
  ``a.shape[b.ndim:]`` (``axes`` first moves those axes of ``a`` to the end, as NumPy does).

Both are differentiable through ``inv``/``solve`` and the reshapes, so every order works.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..ops._base import needs_bind
from ..ops.linalg.eig import eig as _eig
from ..ops.linalg.eig import eigvals
from ..ops.linalg.inverse import inv, solve
from ..ops.shape import moveaxis
from ..ops.structural import reshape

__all__ = ["EigResult", "eig", "eigvals", "tensorinv", "tensorsolve"]


class EigResult(NamedTuple):
    eigenvalues: Any
    eigenvectors: Any


def eig(a: Any) -> EigResult:
    """``numpy.linalg.eig``: ``EigResult(eigenvalues, eigenvectors)``; see
    :mod:`tensorcalc.ops.linalg.eig` for the derivative, the phase and degenerate eigenvalues."""
    return EigResult(*_eig(a))


def _shape(a: Any) -> tuple[int, ...]:
    return tuple(a.shape) if needs_bind(a) else np.shape(a)


def tensorinv(a: Any, ind: int = 2) -> Any:
    """``numpy.linalg.tensorinv``: the inverse of ``a`` read as a ``prod(a.shape[:ind]) ×
    prod(a.shape[ind:])`` matrix, of shape ``a.shape[ind:] + a.shape[:ind]``."""
    if not needs_bind(a):
        return np.linalg.tensorinv(a, ind)
    shape = _shape(a)
    if not isinstance(ind, int) or ind <= 0:
        raise ValueError(f"tensorinv: ind must be a positive integer, got {ind!r}")
    rows, cols = math.prod(shape[:ind]), math.prod(shape[ind:])
    if rows != cols:
        raise np.linalg.LinAlgError(
            f"tensorinv: a of shape {shape} with ind={ind} is a {rows} × {cols} matrix; it must "
            "be square (prod(a.shape[:ind]) == prod(a.shape[ind:]))")
    return reshape(inv(reshape(a, (rows, cols))), shape[ind:] + shape[:ind])


def tensorsolve(a: Any, b: Any, axes: Any = None) -> Any:
    """``numpy.linalg.tensorsolve``: ``x`` of shape ``a.shape[b.ndim:]`` with
    ``tensordot(a, x, axes=x.ndim) == b``."""
    if not (needs_bind(a) or needs_bind(b)):
        return np.linalg.tensorsolve(a, b, axes)
    if axes is not None:
        a = moveaxis(a, tuple(axes), tuple(range(len(_shape(a)) - len(axes), len(_shape(a)))))
    sa, sb = _shape(a), _shape(b)
    x_shape = sa[len(sb):]
    rows, cols = math.prod(sb), math.prod(x_shape)
    if sa[:len(sb)] != sb or rows != cols:
        raise np.linalg.LinAlgError(
            f"tensorsolve: a has shape {sa} and b has shape {sb}; a must have shape "
            "b.shape + x.shape with prod(x.shape) == prod(b.shape)")
    x = solve(reshape(a, (rows, cols)), reshape(b, (rows,)))
    return reshape(x, x_shape)
