"""``tensorcalc.nn``: a small neural-network library on NumPy arrays, differentiated by
tensorcalc.

Functional style, as in JAX: a model is a description (``MLP(64, [256], 10)``), its parameters
are a pytree of NumPy arrays (``params = model.init(rng)``), ``model.apply(params, x)`` runs it,
and gradients come from ``tc.value_and_grad`` of a loss of ``params``. Optimizers are functional
too (``state = opt.init(params)``; ``params, state = opt.update(grads, state, params)``).

The loss ``softmax_cross_entropy`` is a fused primitive whose logits gradient is exactly
``ŷ − y`` (docs/lessons/networks.md); ``Linear`` computes ``x W + b``, so ``∂J/∂W = xᵀδ``.
"""

from . import functional
from .functional import (
    avg_pool2d,
    binary_cross_entropy_with_logits,
    conv2d,
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    max_pool2d,
    mse,
    one_hot,
    relu,
    sigmoid,
    softmax,
    softmax_cross_entropy,
    softplus,
    tanh,
)
from .io import load, save
from .layers import (
    ELU,
    GELU,
    MLP,
    Activation,
    AvgPool2d,
    Conv2d,
    Flatten,
    LeakyReLU,
    Linear,
    MaxPool2d,
    Module,
    ReLU,
    Sequential,
    Sigmoid,
    Softplus,
    Tanh,
)
from .optim import SGD, Adam
from .train import FitResult, accuracy, evaluate, fit, minibatches

__all__ = [
    "ELU", "GELU", "MLP", "SGD", "Activation", "Adam", "AvgPool2d", "Conv2d", "FitResult",
    "Flatten", "LeakyReLU", "Linear", "MaxPool2d", "Module", "ReLU", "Sequential", "Sigmoid",
    "Softplus", "Tanh", "accuracy", "avg_pool2d", "binary_cross_entropy_with_logits", "conv2d",
    "elu", "evaluate", "fit", "functional", "gelu", "leaky_relu", "load", "log_softmax",
    "max_pool2d", "minibatches", "mse", "one_hot", "relu", "save", "sigmoid", "softmax",
    "softmax_cross_entropy", "softplus", "tanh",
]
