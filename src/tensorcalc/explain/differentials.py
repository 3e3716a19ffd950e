"""The trace trick for ``y = xᵀAx``, and numerator vs denominator layout
(docs/lessons/differentials.md).

The trace trick writes the differential of a scalar as an inner product ``dy = tr(Gᵀ dX)``,
from which ``∂y/∂X = G`` (gradient layout, shaped like ``X``). With ``⟨A, B⟩ = tr(AᵀB)``,
``tr(a) = a`` for a scalar and ``tr(AB) = tr(BA)``:

    dy = d(xᵀAx) = dxᵀ A x + xᵀ A dx = tr(xᵀAᵀ dx) + tr(xᵀA dx) = tr(((A + Aᵀ)x)ᵀ dx)

so ``∂y/∂x = (A + Aᵀ)x``. For a vector map ``y = Ax`` (``A ∈ R^(m×n)``) the numerator layout
puts ``y`` along the rows, ``∂y/∂xᵀ = A`` (``m×n``, the Jacobian), and the denominator layout
puts ``x`` along the rows, ``∂yᵀ/∂x = Aᵀ`` (``n×m``): the two layouts are transposes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TextIO

import numpy as np

import tensorcalc as tc

from ._common import header, jacobian, max_err, numeric_grad

TITLE = "Matrix calculus with differentials: the trace trick and both layouts"

TRACE_STEPS = (
    "y  = x'Ax",
    "dy = dx' A x + x' A dx                  (product rule)",
    "   = tr(x' A' dx) + tr(x' A dx)         (a scalar is its own trace; transpose dx'Ax)",
    "   = tr(((A + A')x)' dx)                (collect the factor of dx)",
    "=> dy/dx = (A + A')x                   (dy = tr(G' dx) means dy/dx = G)",
)


def _lines(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.splitlines()
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return str(value).splitlines()


def run_symbolic(out: TextIO) -> bool:
    """The symbolic derivative of ``x'Ax`` with its steps and a numeric check."""
    header(out, "Symbolic derivative of x'Ax (tensorcalc.symbolic)")
    import tensorcalc.symbolic as ts

    d = ts.derivative("x' * A * x", "x")
    dims = ", ".join(str(n) for n in d.shape)
    shape = f"({dims},)" if len(d.shape) == 1 else f"({dims})"
    out.write(f"  d/dx x'Ax = {d}      (shape {shape}, layout {d.layout})\n")
    out.write(f"  LaTeX: {d.latex()}\n")
    out.write("  steps:\n")
    for line in _lines(d.steps()):
        out.write(f"      {line}\n")
    report = d.check()
    out.write(f"  numeric check: {report}\n")
    return bool(getattr(report, "passed", report))


def run(out: TextIO, seed: int = 0) -> bool:
    header(out, TITLE)
    rng = np.random.default_rng(seed)
    n, m = 4, 3
    A = rng.standard_normal((n, n))
    x = rng.standard_normal(n)
    B = rng.standard_normal((n, m))
    C = rng.standard_normal((n, n))
    inner, trace = float(np.sum(A * C)), float(np.trace(A.T @ C))
    out.write(f"  <A, C> = tr(A'C): {inner:.6f} = {trace:.6f}\n")
    out.write("  derivation:\n")
    for step in TRACE_STEPS:
        out.write(f"      {step}\n")

    def quad(t):
        return t @ (A @ t)

    g = np.asarray(tc.grad(quad)(x))
    err_formula = max_err(g, (A + A.T) @ x)
    err_fd = max_err(g, numeric_grad(quad, x))
    out.write(f"  tc.grad(x'Ax) vs (A + A')x: {err_formula:.1e}; vs central differences: "
              f"{err_fd:.1e}\n")
    Jy = jacobian(lambda t: t @ B, x)  # y = B'x, an m-vector: numerator layout is m×n
    err_layout = max(max_err(Jy, B.T), max_err(Jy.T, B))
    out.write(f"  y = B'x with B {B.shape}:\n"
              f"      numerator layout   dy/dx'  shape {Jy.shape} = B'\n"
              f"      denominator layout dy'/dx  shape {Jy.T.shape} = B"
              f"   (max error {err_layout:.1e})\n"
              "      gradient layout (scalar y): shaped like x, the column (A + A')x above\n")
    import tensorcalc.symbolic as ts

    ok = err_formula < 1e-12 and err_fd < 1e-6 and err_layout < 1e-12 and \
        abs(inner - trace) < 1e-9
    cases = [("x' * A * x", ("numerator", "denominator", "gradient")),
             ("A * x", ("numerator", "denominator"))]
    for expr, layouts in cases:
        for layout in layouts:
            try:
                d = ts.derivative(expr, "x", layout=layout)
            except Exception as exc:  # a layout the engine refuses is reported, not fatal
                out.write(f"  symbolic d({expr})/dx, {layout} layout: refused ({exc})\n")
                continue
            out.write(f"  symbolic d({expr})/dx, {layout:<11} layout: {d}\n")
    return ok and run_symbolic(out)
