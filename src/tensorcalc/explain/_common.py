"""Shared helpers for the lessons of ``tensorcalc explain``: headers, Jacobians and central
differences.

The Jacobian of ``f: R^(N1×…×Nd) → R^(M1×…×Me)`` is returned in numerator layout, shape
``out.shape + in.shape`` (docs/lessons/jacobians.md), by ``tc.jacobian``. The reference is the
central difference ``(f(x + εe_j) − f(x − εe_j)) / 2ε``, whose error is ``O(ε²)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TextIO

import numpy as np

import tensorcalc as tc

WIDTH = 78


def header(out: TextIO, title: str) -> None:
    """A section title, underlined, with a blank line before it."""
    out.write(f"\n{title}\n{'=' * min(len(title), WIDTH)}\n")


def note(out: TextIO, text: str) -> None:
    out.write(f"  ({text})\n")


def jacobian(f: Callable[[np.ndarray], Any], x: np.ndarray) -> np.ndarray:
    """The generalized Jacobian of ``f`` at ``x``, shape ``out.shape + in.shape``."""
    return np.asarray(tc.jacobian(f)(np.asarray(x, dtype=float)))


def numeric_jacobian(f: Callable[[np.ndarray], Any], x: np.ndarray,
                     eps: float = 1e-6) -> np.ndarray:
    """Central-difference Jacobian, shape ``out.shape + in.shape``."""
    x = np.asarray(x, dtype=float)
    cols = []
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = eps
        e = e.reshape(x.shape)
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * eps))
    return np.stack(cols, axis=-1).reshape(np.shape(cols[0]) + x.shape)


def numeric_grad(f: Callable[[np.ndarray], Any], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of a scalar function (shaped like ``x``)."""
    return numeric_jacobian(f, x, eps)


def max_err(a: Any, b: Any) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape:
        raise AssertionError(f"shape mismatch {a.shape} vs {b.shape}")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def matrix_str(a: np.ndarray, indent: str = "      ") -> str:
    """A small matrix, printed with 3 decimals, one row per line."""
    text = np.array2string(np.asarray(a), precision=3, suppress_small=True, max_line_width=90)
    return "\n".join(indent + line for line in text.splitlines())
