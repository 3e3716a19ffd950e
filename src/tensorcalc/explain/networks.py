"""The gradients of a network: seven results every network uses, computed and checked.

The lesson is docs/lessons/networks.md; the results are numbered 1–7 there and here.

Each result is computed by the library (Jacobians in numerator layout ``out.shape + in.shape``,
gradients shaped like the parameter), compared with the closed form the lesson derives, and with
central differences:

* (1) ``z = W x``  ⇒ ``∂z/∂x = W``;
* (2) ``z = x W`` (``x`` a row) ⇒ ``∂z/∂x = Wᵀ``;
* (3) ``z = x``    ⇒ ``∂z/∂x = I``;
* (4) ``z = f(x)`` entrywise ⇒ ``∂z/∂x = diag(f′(x))`` (here ``f = tanh``, ``f′ = 1 − tanh²``);
* (5) ``z = W x``, ``δ = ∂J/∂z`` ⇒ ``∂J/∂W = δ xᵀ``;
* (6) ``z = x W``, ``δ = ∂J/∂z`` ⇒ ``∂J/∂W = xᵀ δ`` (a batch of rows sums over the batch);
* (7) ``ŷ = softmax(θ)``, ``J = −Σ yᵢ log ŷᵢ`` ⇒ ``∂J/∂θ = ŷ − y``.

For (5) and (6) the loss is ``J = Σ sin(z)``, so ``δ = cos(z)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

import tensorcalc as tc
import tensorcalc.numpy as tnp

from ._common import header, jacobian, max_err, numeric_grad, numeric_jacobian

TITLE = "The gradients of a network, through softmax cross-entropy"

#: Agreement required with the closed form (exact up to rounding) and with central differences.
FORMULA_TOL = 1e-12
FD_TOL = 1e-6


@dataclass
class Result:
    """One checked identity: what the library computed and its two errors."""

    section: str
    statement: str
    shape: tuple[int, ...]
    formula_err: float
    fd_err: float

    @property
    def ok(self) -> bool:
        return self.formula_err <= FORMULA_TOL and self.fd_err <= FD_TOL


def _jacobian_result(section: str, statement: str, f: Callable[[Any], Any], x: np.ndarray,
                     expected: np.ndarray) -> Result:
    jac = jacobian(f, x)
    return Result(section, statement, jac.shape, max_err(jac, expected),
                  max_err(jac, numeric_jacobian(f, x)))


def _grad_result(section: str, statement: str, f: Callable[[Any], Any], w: np.ndarray,
                 expected: np.ndarray) -> Result:
    g = np.asarray(tc.grad(f)(w))
    return Result(section, statement, g.shape, max_err(g, expected),
                  max_err(g, numeric_grad(f, w)))


def _cross_entropy(theta: Any, y: np.ndarray) -> Any:
    """The fused ``softmax_cross_entropy`` of ``tensorcalc.nn`` when it is there."""
    try:
        from ..nn.functional import softmax_cross_entropy
    except ImportError:
        shifted = theta - tnp.max(theta)
        log_p = shifted - tnp.log(tnp.sum(tnp.exp(shifted)))
        return -tnp.sum(y * log_p)
    return softmax_cross_entropy(theta, y)


def compute(seed: int = 0) -> list[Result]:
    """The seven results of the network-gradients lesson on random data from ``seed``."""
    rng = np.random.default_rng(seed)
    n, m = 3, 4
    W = rng.standard_normal((n, m))
    x = rng.standard_normal(m)
    row = rng.standard_normal(n)
    v = rng.standard_normal(5)
    batch = rng.standard_normal((4, n))
    theta = rng.standard_normal(5)
    y = np.eye(5)[2]
    results = [
        _jacobian_result("(1)", "z = W x        =>  dz/dx = W",
                         lambda t: W @ t, x, W),
        _jacobian_result("(2)", "z = x W        =>  dz/dx = W^T",
                         lambda t: t @ W, row, W.T),
        _jacobian_result("(3)", "z = x          =>  dz/dx = I",
                         lambda t: t, v, np.eye(v.size)),
        _jacobian_result("(4)", "z = tanh(x)    =>  dz/dx = diag(1 - tanh^2 x)",
                         tnp.tanh, v, np.diag(1 - np.tanh(v) ** 2)),
        _grad_result("(5)", "z = W x        =>  dJ/dW = delta x^T",
                     lambda w: tnp.sum(tnp.sin(w @ x)), W, np.outer(np.cos(W @ x), x)),
        _grad_result("(6)", "z = x W        =>  dJ/dW = x^T delta",
                     lambda w: tnp.sum(tnp.sin(batch @ w)), W, batch.T @ np.cos(batch @ W)),
    ]
    y_hat = np.exp(theta - theta.max()) / np.exp(theta - theta.max()).sum()
    results.append(_grad_result("(7)", "softmax + CE   =>  dJ/dtheta = y_hat - y",
                                lambda t: _cross_entropy(t, y), theta, y_hat - y))
    return results


def run(out: TextIO, seed: int = 0) -> bool:
    """Print the seven results with their errors; return whether all of them check out."""
    header(out, TITLE)
    out.write("  J = sum(sin(z)) in (5) and (6), so delta = dJ/dz = cos(z); errors are max |.|\n")
    out.write(f"  {'':6} {'result':45} {'shape':>8}  {'vs formula':>10}  {'vs central diff':>15}\n")
    results = compute(seed)
    for r in results:
        out.write(f"  {r.section:6} {r.statement:45} {str(r.shape):>8}  {r.formula_err:10.1e}  "
                  f"{r.fd_err:15.1e}  {'ok' if r.ok else 'MISMATCH'}\n")
    passed = all(r.ok for r in results)
    out.write(f"  {sum(r.ok for r in results)}/{len(results)} results agree with the lesson "
              "and with finite differences.\n")
    return passed
