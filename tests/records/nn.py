"""Op records for ``tensorcalc.nn.functional``: activations away from their kinks, the fused
softmax cross-entropy (one-hot, integer and soft labels, batch axes), BCE with logits, mse,
conv2d and pooling (distinct, well-separated values so max has no near-ties)."""

from __future__ import annotations

import numpy as np

import tensorcalc.nn.functional as F

from . import OpRecord


def _signed(*shape):
    # Magnitudes in [0.2, 2]: finite differences never straddle the kink at 0.
    return lambda rng: (rng.uniform(0.2, 2.0, shape) * rng.choice([-1.0, 1.0], shape),)


def _normal(*shape):
    return lambda rng: (rng.standard_normal(shape),)


def _xent_int(rows, classes):
    return lambda rng: (rng.standard_normal((rows, classes)), rng.integers(0, classes, rows))


def _xent_soft(*shape):
    def make(rng):
        flat = rng.dirichlet(np.ones(shape[-1]), size=int(np.prod(shape[:-1])))
        return rng.standard_normal(shape), flat.reshape(shape)

    return make


def _separated(*shape):
    def make(rng):
        return (rng.permutation(np.arange(np.prod(shape)) * 0.37).reshape(shape) - 2.0,)

    return make


def _conv_args(rng):
    return (rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 3, 2)),
            rng.standard_normal(3))


RECORDS: list[OpRecord] = [
    OpRecord("nn.relu", F.relu, _signed(3, 4), primitives=("nn.relu", "nn.relu_mask")),
    OpRecord("nn.leaky_relu", lambda x: F.leaky_relu(x, 0.2), _signed(5)),
    OpRecord("nn.elu", F.elu, _signed(2, 3)),
    OpRecord("nn.gelu_tanh", F.gelu, _normal(6)),
    OpRecord("nn.sigmoid", F.sigmoid, _normal(2, 3), primitives=("expit",)),
    OpRecord("nn.softplus", F.softplus, _normal(4), primitives=("nn.softplus",)),
    OpRecord("nn.softmax", F.softmax, _normal(3, 4)),
    OpRecord("nn.softmax_axis0", lambda x: F.softmax(x, axis=0), _normal(3, 4)),
    OpRecord("nn.log_softmax", F.log_softmax, _normal(2, 5)),
    OpRecord("nn.xent_int_mean", F.softmax_cross_entropy, _xent_int(4, 5),
             primitives=("nn.softmax_cross_entropy",)),
    OpRecord("nn.xent_soft_batch",
             lambda t, y: F.softmax_cross_entropy(t, y, reduction="none"), _xent_soft(2, 3, 4),
             primitives=("nn.softmax_cross_entropy",)),
    OpRecord("nn.xent_onehot_vector",
             lambda t: F.softmax_cross_entropy(t, np.eye(6)[2]), _normal(6)),
    OpRecord("nn.bce_logits",
             lambda t: F.binary_cross_entropy_with_logits(t, np.array([0.0, 1.0, 1.0, 0.3])),
             _normal(4)),
    OpRecord("nn.mse", F.mse, lambda rng: (rng.standard_normal((3, 2)),
                                           rng.standard_normal((3, 2)))),
    OpRecord("nn.conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=1),
             _conv_args, primitives=("nn.conv_bias", "nn.conv", "nn.conv_dx", "nn.conv_dw")),
    OpRecord("nn.max_pool2d", lambda x: F.max_pool2d(x, 2, 1), _separated(1, 2, 4, 3)),
    OpRecord("nn.avg_pool2d", lambda x: F.avg_pool2d(x, 2, padding=1), _normal(1, 2, 3, 3)),
    OpRecord("nn.conv2d_dilated_grouped",
             lambda x, w: F.conv2d(x, w, stride=(2, 1), padding=(1, 0), dilation=(1, 2),
                                   groups=2),
             lambda rng: (rng.standard_normal((2, 4, 5, 6)), rng.standard_normal((4, 2, 2, 2))),
             primitives=("nn.conv", "nn.conv_dx", "nn.conv_dw")),
    OpRecord("nn.conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2),
             lambda rng: (rng.standard_normal((2, 3, 9)), rng.standard_normal((2, 3, 3)),
                          rng.standard_normal(2)),
             primitives=("nn.conv_bias",)),
    OpRecord("nn.max_pool2d_tiling", lambda x: F.max_pool2d(x, 2), _separated(2, 2, 4, 5),
             primitives=("nn.max_pool", "nn.pool_select", "nn.pool_scatter")),
    # stride = kernel dividing the input: the tiled scatter (nn/_pool.py)
    OpRecord("nn.max_pool2d_exact_tiling", lambda x: F.max_pool2d(x, 2), _separated(2, 3, 4, 6),
             primitives=("nn.max_pool", "nn.pool_select", "nn.pool_scatter")),
    OpRecord("nn.max_pool2d_padded", lambda x: F.max_pool2d(x, 3, 2, 1), _separated(1, 2, 5, 4)),
    OpRecord("nn.avg_pool2d_tiling", lambda x: F.avg_pool2d(x, 2), _normal(2, 2, 4, 4),
             primitives=("nn.avg_pool", "nn.avg_pool_t")),
    OpRecord("nn.gelu_erf", lambda x: F.gelu(x, approximate=False), _normal(6)),
]
