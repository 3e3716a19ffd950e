"""Generalized Jacobians of tensor maps, and the tensor chain rule (docs/lessons/jacobians.md).

For ``f: R^(N1×…×Nd) → R^(M1×…×Me)`` the generalized Jacobian has shape
``(M1×…×Me) × (N1×…×Nd)`` — output axes first, then input axes — with entries
``(∂y/∂x)_{i,j} = ∂y_i/∂x_j`` for multi-indices ``i`` and ``j``. It acts on a perturbation by the
generalized matrix product (a sum over all input axes): ``y(x + Δx) ≈ y(x) + (∂y/∂x) Δx``, and
the chain rule is the same product over the middle axes: ``∂z/∂x = (∂z/∂y)(∂y/∂x)``.

The example is ``Y = tanh(B X)`` with ``B ∈ R^(4×2)``, ``X ∈ R^(2×3)`` (so ``∂Y/∂X`` has shape
``4×3×2×3``) followed by ``z = Σ_rows Y²`` (``z ∈ R^3``).
"""

from __future__ import annotations

from typing import TextIO

import numpy as np

import tensorcalc.numpy as tnp

from ._common import header, jacobian, max_err, numeric_jacobian

TITLE = "Generalized Jacobians and the tensor chain rule"


def run(out: TextIO, seed: int = 0) -> bool:
    header(out, TITLE)
    rng = np.random.default_rng(seed)
    B = rng.standard_normal((4, 2))
    X = rng.standard_normal((2, 3))

    def f(x):
        return tnp.tanh(B @ x)

    def g(y):
        return tnp.sum(y * y, axis=0)

    Y = np.tanh(B @ X)
    J = jacobian(f, X)
    out.write(f"  Y = tanh(B X), B {B.shape}, X {X.shape} -> Y {Y.shape}\n")
    out.write(f"  dY/dX has shape {J.shape} = Y.shape + X.shape (output axes, then input axes)\n")
    fd = max_err(J, numeric_jacobian(f, X))
    out.write(f"  entry (dY/dX)[i,j,k,l] = dY_ij/dX_kl; vs central differences: {fd:.1e}\n")
    row = np.round(J[0, 0], 3).tolist()
    out.write(f"  Y[0,0] depends only on column 0 of X: dY[0,0]/dX = {row}\n")
    dX = 1e-4 * rng.standard_normal(X.shape)
    linear = np.tensordot(J, dX, axes=2)
    actual = np.tanh(B @ (X + dX)) - Y
    lin_err = max_err(linear, actual)
    out.write("  generalized matrix product (dY/dX) dX, summed over both axes of X, predicts\n"
              f"  Y(X + dX) - Y(X) up to {lin_err:.1e} (second order in |dX| ~ 1e-4)\n")
    Jz = jacobian(lambda x: g(f(x)), X)
    Jzy = jacobian(g, Y)
    chained = np.tensordot(Jzy, J, axes=2)
    chain_err = max_err(Jz, chained)
    out.write(f"  chain rule: z = sum_rows Y^2 {Jz.shape[:1]}; dz/dY {Jzy.shape} times dY/dX "
              f"{J.shape}\n  = dz/dX {chained.shape}; vs the direct Jacobian: {chain_err:.1e}\n")
    return fd < 1e-6 and lin_err < 1e-6 and chain_err < 1e-12
