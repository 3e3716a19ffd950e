"""Optimizers in functional style: ``state = opt.init(params)`` and
``params, state = opt.update(grads, state, params)``.

``SGD`` (PyTorch's formulation): ``g ← g + λp`` (weight decay), ``v ← μv + g``, then
``p ← p − η(g + μv)`` with Nesterov momentum or ``p ← p − ηv`` without.

``Adam`` (Kingma & Ba): ``m ← β₁m + (1 − β₁)g``, ``v ← β₂v + (1 − β₂)g²``, and with the bias
corrections ``m̂ = m/(1 − β₁ᵗ)``, ``v̂ = v/(1 − β₂ᵗ)``: ``p ← p − η m̂/(√v̂ + ε)``. Weight decay
is added to the gradient (L2), or applied to the parameters directly with ``decoupled=True``
(AdamW: ``p ← p − ηλp``).

Parameters, gradients and state are pytrees of the same structure; nothing is updated in place.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from ..core.tree import tree_flatten, tree_map


def _check_same_structure(grads: Any, params: Any, name: str) -> None:
    g_tree = tree_flatten(grads)[1]
    p_tree = tree_flatten(params)[1]
    if g_tree != p_tree:
        raise ValueError(f"{name}.update: gradients have structure {g_tree} but parameters have "
                         f"{p_tree}; pass the gradient of the loss with respect to params")


def _positive(value: float, name: str, allow_zero: bool = False) -> float:
    value = float(value)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return value


class SGDState(NamedTuple):
    step: int
    velocity: Any


class SGD:
    """Stochastic gradient descent with optional momentum, Nesterov and weight decay."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False) -> None:
        self.lr = _positive(lr, "lr")
        self.momentum = _positive(momentum, "momentum", allow_zero=True)
        self.weight_decay = _positive(weight_decay, "weight_decay", allow_zero=True)
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.nesterov = nesterov

    def init(self, params: Any) -> SGDState:
        return SGDState(0, tree_map(np.zeros_like, params) if self.momentum else None)

    def update(self, grads: Any, state: SGDState, params: Any) -> tuple[Any, SGDState]:
        _check_same_structure(grads, params, "SGD")
        lr, mu, wd = self.lr, self.momentum, self.weight_decay
        if wd:
            grads = tree_map(lambda g, p: g + wd * p, grads, params)
        if not mu:
            return tree_map(lambda p, g: p - lr * g, params, grads), SGDState(state.step + 1, None)
        velocity = tree_map(lambda v, g: mu * v + g, state.velocity, grads)
        step = tree_map(lambda g, v: g + mu * v, grads, velocity) if self.nesterov else velocity
        new = tree_map(lambda p, s: p - lr * s, params, step)
        return new, SGDState(state.step + 1, velocity)

    def __repr__(self) -> str:
        return (f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay}, "
                f"nesterov={self.nesterov})")


class AdamState(NamedTuple):
    step: int
    m: Any
    v: Any


class Adam:
    """Adam with bias correction; ``decoupled=True`` makes the weight decay AdamW's."""

    def __init__(self, lr: float = 1e-3, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled: bool = False) -> None:
        self.lr = _positive(lr, "lr")
        for name, b in (("b1", b1), ("b2", b2)):
            if not 0 <= b < 1:
                raise ValueError(f"Adam: {name} must be in [0, 1), got {b}")
        self.b1, self.b2 = float(b1), float(b2)
        self.eps = _positive(eps, "eps")
        self.weight_decay = _positive(weight_decay, "weight_decay", allow_zero=True)
        self.decoupled = decoupled

    def init(self, params: Any) -> AdamState:
        return AdamState(0, tree_map(np.zeros_like, params), tree_map(np.zeros_like, params))

    def update(self, grads: Any, state: AdamState, params: Any) -> tuple[Any, AdamState]:
        _check_same_structure(grads, params, "Adam")
        b1, b2, lr, eps, wd = self.b1, self.b2, self.lr, self.eps, self.weight_decay
        if wd and not self.decoupled:
            grads = tree_map(lambda g, p: g + wd * p, grads, params)
        t = state.step + 1
        m = tree_map(lambda m_, g: b1 * m_ + (1 - b1) * g, state.m, grads)
        v = tree_map(lambda v_, g: b2 * v_ + (1 - b2) * g * g, state.v, grads)
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t

        def step(p: Any, m_: Any, v_: Any) -> Any:
            new = p - lr * (m_ / c1) / (np.sqrt(v_ / c2) + eps)
            return new - lr * wd * p if wd and self.decoupled else new

        return tree_map(step, params, m, v), AdamState(t, m, v)

    def __repr__(self) -> str:
        return (f"Adam(lr={self.lr}, b1={self.b1}, b2={self.b2}, eps={self.eps}, "
                f"weight_decay={self.weight_decay}, decoupled={self.decoupled})")
