"""Layers in functional style: ``params = layer.init(rng)``, ``y = layer.apply(params, x)``.

Parameters are pytrees of NumPy arrays (dicts and lists), so ``tc.value_and_grad`` of a loss of
``params`` returns gradients with the same structure, and optimizers map over them.

``Linear`` computes ``z = x W + b`` with ``x`` of shape ``(batch, in)`` and ``W`` of shape
``(in, out)``: rows are examples, so (docs/lessons/networks.md) ``∂J/∂W = xᵀ δ`` summed over the
batch, ``∂J/∂b = Σ_rows δ`` and ``∂J/∂x = δ Wᵀ``. Weights are initialized from
``N(0, gain²/fan_in)`` (He: ``gain² = 2`` for relu-like activations; LeCun: ``gain² = 1``),
biases at zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import tensorcalc.numpy as tnp

from . import functional as F

Params = Any


def as_rng(rng: Any) -> np.random.Generator:
    """A ``numpy.random.Generator`` from a seed (int), a Generator, or None (fresh entropy)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or isinstance(rng, (int, np.integer)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be an int seed or a numpy.random.Generator, got {type(rng)}")


def _check_params(layer: Any, params: Params, required: dict[str, tuple[int, ...]],
                  optional: dict[str, tuple[int, ...]]) -> None:
    """Raise unless ``params`` has exactly the entries and shapes ``layer`` was built for:
    parameters of another architecture (a loaded file, a swapped list entry) would otherwise
    broadcast or be ignored and run silently."""
    if not isinstance(params, dict):
        raise TypeError(f"{layer!r}: params must be a dict like layer.init() returns, got "
                        f"{type(params).__name__}")
    expected = {**required, **optional}
    if set(params) - {"b"} != set(required) or ("b" in params) != ("b" in optional):
        raise ValueError(f"{layer!r}: params has keys {sorted(params)}, expected "
                         f"{sorted(expected)}; use the parameters from this layer's init()")
    for k, shape in expected.items():
        got = tnp.shape(params[k])
        if tuple(got) != shape:
            raise ValueError(f"{layer!r}: params[{k!r}] has shape {tuple(got)}, expected "
                             f"{shape}; were these parameters saved from another "
                             "architecture?")


class Module:
    """Base class: ``init(rng) -> params`` and ``apply(params, x) -> y``; calling the module
    is ``apply``."""

    def init(self, rng: Any = 0) -> Params:
        return {}

    def apply(self, params: Params, x: Any) -> Any:
        raise NotImplementedError

    def __call__(self, params: Params, x: Any) -> Any:
        return self.apply(params, x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linear(Module):
    """``x W + b`` with ``W`` of shape ``(in_features, out_features)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 init: str = "he") -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError(f"Linear needs positive sizes, got {in_features} -> {out_features}")
        if init not in ("he", "lecun"):
            raise ValueError(f"Linear: init={init!r} is not 'he' or 'lecun'")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.bias, self.init_scheme = bias, init

    def init(self, rng: Any = 0) -> Params:
        rng = as_rng(rng)
        gain2 = 2.0 if self.init_scheme == "he" else 1.0
        std = math.sqrt(gain2 / self.in_features)
        params = {"W": rng.normal(0.0, std, (self.in_features, self.out_features))}
        if self.bias:
            params["b"] = np.zeros(self.out_features)
        return params

    def apply(self, params: Params, x: Any) -> Any:
        _check_params(self, params, {"W": (self.in_features, self.out_features)},
                      {"b": (self.out_features,)} if self.bias else {})
        z = tnp.matmul(x, params["W"])
        return z + params["b"] if "b" in params else z

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, bias={self.bias})"


class Activation(Module):
    """An entrywise function as a layer (no parameters)."""

    def __init__(self, fn: Callable[[Any], Any], name: str) -> None:
        self.fn, self.name = fn, name

    def apply(self, params: Params, x: Any) -> Any:
        return self.fn(x)

    def __repr__(self) -> str:
        return self.name


def ReLU() -> Activation:  # noqa: N802  (layer constructors read like classes)
    return Activation(F.relu, "ReLU()")


def Tanh() -> Activation:  # noqa: N802
    return Activation(F.tanh, "Tanh()")


def Sigmoid() -> Activation:  # noqa: N802
    return Activation(F.sigmoid, "Sigmoid()")


def Softplus() -> Activation:  # noqa: N802
    return Activation(F.softplus, "Softplus()")


def GELU(approximate: bool = True) -> Activation:  # noqa: N802
    return Activation(lambda x: F.gelu(x, approximate), f"GELU(approximate={approximate})")


def LeakyReLU(negative_slope: float = 0.01) -> Activation:  # noqa: N802
    return Activation(lambda x: F.leaky_relu(x, negative_slope), f"LeakyReLU({negative_slope})")


def ELU(alpha: float = 1.0) -> Activation:  # noqa: N802
    return Activation(lambda x: F.elu(x, alpha), f"ELU({alpha})")


ACTIVATIONS: dict[str, Callable[[], Activation]] = {
    "relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "softplus": Softplus, "gelu": GELU,
    "leaky_relu": LeakyReLU, "elu": ELU,
}


class Flatten(Module):
    """Reshape ``(N, ...)`` to ``(N, -1)``."""

    def apply(self, params: Params, x: Any) -> Any:
        return tnp.reshape(x, (tnp.shape(x)[0], -1))


class Conv2d(Module):
    """``conv2d`` (NCHW) with weight ``(out, in, k, k)`` and bias ``(out,)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, bias: bool = True) -> None:
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel = F._pair(kernel_size, "kernel_size")
        self.stride, self.padding, self.bias = stride, padding, bias

    def init(self, rng: Any = 0) -> Params:
        rng = as_rng(rng)
        fan_in = self.in_channels * self.kernel[0] * self.kernel[1]
        shape = (self.out_channels, self.in_channels) + self.kernel
        params = {"W": rng.normal(0.0, math.sqrt(2.0 / fan_in), shape)}
        if self.bias:
            params["b"] = np.zeros(self.out_channels)
        return params

    def apply(self, params: Params, x: Any) -> Any:
        _check_params(self, params,
                      {"W": (self.out_channels, self.in_channels) + self.kernel},
                      {"b": (self.out_channels,)} if self.bias else {})
        return F.conv2d(x, params["W"], params.get("b"), self.stride, self.padding)

    def __repr__(self) -> str:
        return (f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel}, "
                f"stride={self.stride}, padding={self.padding})")


class MaxPool2d(Module):
    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def apply(self, params: Params, x: Any) -> Any:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)


class AvgPool2d(MaxPool2d):
    def apply(self, params: Params, x: Any) -> Any:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Sequential(Module):
    """Layers applied in order; the parameters are a list with one entry per layer."""

    def __init__(self, *layers: Module) -> None:
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = tuple(layers[0])
        for layer in layers:
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential takes Module instances, got {type(layer).__name__}"
                                " (did you forget the parentheses, e.g. ReLU()?)")
        self.layers = list(layers)

    def init(self, rng: Any = 0) -> Params:
        rng = as_rng(rng)
        return [layer.init(rng) for layer in self.layers]

    def apply(self, params: Params, x: Any) -> Any:
        if len(params) != len(self.layers):
            raise ValueError(f"Sequential has {len(self.layers)} layers but params has "
                             f"{len(params)} entries; create params with model.init(rng)")
        for layer, p in zip(self.layers, params, strict=True):
            x = layer.apply(p, x)
        return x

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {layer!r}" for layer in self.layers)
        return f"Sequential(\n{inner}\n)"


class MLP(Sequential):
    """``Linear → activation → … → Linear``: ``sizes = (in, *hidden, out)``."""

    def __init__(self, in_features: int, hidden: Sequence[int], out_features: int,
                 activation: str = "relu") -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"MLP: unknown activation {activation!r}; choose one of "
                             f"{sorted(ACTIVATIONS)}")
        sizes = [int(in_features), *(int(h) for h in hidden), int(out_features)]
        init = "he" if activation in ("relu", "leaky_relu", "elu", "gelu") else "lecun"
        layers: list[Module] = []
        for i in range(len(sizes) - 1):
            layers.append(Linear(sizes[i], sizes[i + 1], init=init))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
        super().__init__(*layers)
        self.sizes = sizes
