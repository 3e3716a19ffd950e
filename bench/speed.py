"""Issue 15's workloads: where tensorcalc stood furthest from its peers, side by side in one run.

S1  CNN gradient on scikit-learn's 8×8 digits: conv 3×3×16 (padding 1), relu, 2×2 max-pool,
    dense 256→10, softmax cross-entropy; batch 512.
S2  LeNet-style CNN gradient on 28×28 inputs: conv 5×5×6 (padding 2), relu, pool, conv 5×5×16,
    relu, pool, dense 400→120→10; batch 64.
S3  per-example gradients (vmap of grad), MLP 784-128-10, batch 256.
S4  Hessian-vector product of an MLP loss, 784-256-256-10, batch 128 (forward over reverse).
S5  eager gradient of a 100,000-op chain on a Python float.
S6  self-attention gradient: sequence 128, model width 64, 4 heads.
W2  jit(grad) of the 201-op elementwise chain on 16 floats (from :mod:`bench.overhead`).
C   jit compile time of chains of 10³, 10⁴ and 10⁵ operations (``--compile``).

Every library runs float64 on one thread (``python -m bench.speed`` pins the thread pools as
``python -m bench`` does). Times are medians after a warm-up call; compile time is separate.
"""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import numpy as np

from . import overhead
from ._common import Impl, Workload

tc = overhead.tc
tnp = overhead.tnp


def _first(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


# --- S1/S2: convolutional networks --------------------------------------------------------------


def _cnn_params(rng: np.random.Generator, lenet: bool) -> list[np.ndarray]:
    def w(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape) / np.sqrt(np.prod(shape[1:]))
    if not lenet:
        return [w(16, 1, 3, 3), np.zeros(16), w(256, 10), np.zeros(10)]
    return [w(6, 1, 5, 5), np.zeros(6), w(16, 6, 5, 5), np.zeros(16),
            w(400, 120), np.zeros(120), w(120, 10), np.zeros(10)]


def _cnn_loss_tc(lenet: bool) -> Any:
    F = tc.nn.functional

    def loss(p: list[Any], x: Any, y: Any) -> Any:
        if not lenet:
            h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1], padding=1)), 2)
            z = tnp.reshape(h, (x.shape[0], -1)) @ p[2] + p[3]
        else:
            h = F.max_pool2d(F.relu(F.conv2d(x, p[0], p[1], padding=2)), 2)
            h = F.max_pool2d(F.relu(F.conv2d(h, p[2], p[3])), 2)
            h = F.relu(tnp.reshape(h, (x.shape[0], -1)) @ p[4] + p[5])
            z = h @ p[6] + p[7]
        return F.softmax_cross_entropy(z, y)
    return loss


def _cnn_loss_torch(torch: Any, lenet: bool) -> Any:
    tf = torch.nn.functional

    def loss(p: list[Any], x: Any, y: Any) -> Any:
        if not lenet:
            h = tf.max_pool2d(tf.relu(tf.conv2d(x, p[0], p[1], padding=1)), 2)
            z = h.reshape(x.shape[0], -1) @ p[2] + p[3]
        else:
            h = tf.max_pool2d(tf.relu(tf.conv2d(x, p[0], p[1], padding=2)), 2)
            h = tf.max_pool2d(tf.relu(tf.conv2d(h, p[2], p[3])), 2)
            h = tf.relu(h.reshape(x.shape[0], -1) @ p[4] + p[5])
            z = h @ p[6] + p[7]
        return -(y * tf.log_softmax(z, dim=1)).sum(1).mean()
    return loss


def _cnn_loss_jax(jax: Any, jnp: Any, lenet: bool) -> Any:
    def conv(x: Any, w: Any, b: Any, pad: int) -> Any:
        out = jax.lax.conv_general_dilated(x, w, (1, 1), [(pad, pad), (pad, pad)],
                                           dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return out + b[None, :, None, None]

    def pool(x: Any) -> Any:
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2),
                                     "VALID")

    def loss(p: list[Any], x: Any, y: Any) -> Any:
        relu = jax.nn.relu
        if not lenet:
            h = pool(relu(conv(x, p[0], p[1], 1)))
            z = h.reshape(x.shape[0], -1) @ p[2] + p[3]
        else:
            h = pool(relu(conv(x, p[0], p[1], 2)))
            h = pool(relu(conv(h, p[2], p[3], 0)))
            h = relu(h.reshape(x.shape[0], -1) @ p[4] + p[5])
            z = h @ p[6] + p[7]
        return -(y * jax.nn.log_softmax(z, axis=1)).sum(1).mean()
    return loss


def cnn_workload(peers: SimpleNamespace, lenet: bool) -> Workload:
    rng = np.random.default_rng(0)
    if lenet:
        x = rng.standard_normal((64, 1, 28, 28))
        y = np.eye(10)[rng.integers(0, 10, 64)]
        w = Workload("S2", "LeNet-style CNN gradient, 28x28, batch 64",
                     ref="tensorcalc jit(grad)")
    else:
        X, Y = overhead.digits()
        x, y = X[:512].reshape(512, 1, 8, 8), Y[:512]
        w = Workload("S1", "CNN gradient on 8x8 digits (conv 3x3x16, relu, max-pool, dense, CE), "
                     "batch 512", ref="tensorcalc jit(grad)")
    p = _cnn_params(rng, lenet)
    loss = _cnn_loss_tc(lenet)
    g = tc.grad(loss)
    gj = tc.jit(tc.grad(loss))
    w.extra["tensorcalc jit compile s"] = _first(lambda: gj(p, x, y))
    w.impls["tensorcalc jit(grad)"] = Impl(lambda: gj(p, x, y))
    w.impls["tensorcalc eager grad"] = Impl(lambda: g(p, x, y))
    if peers.torch is not None:
        torch = peers.torch
        tl = _cnn_loss_torch(torch, lenet)
        pt = [torch.tensor(a) for a in p]
        xt, yt = torch.tensor(x), torch.tensor(y)

        def torch_grad() -> Any:
            ps = [a.detach().requires_grad_(True) for a in pt]
            return torch.autograd.grad(tl(ps, xt, yt), ps)
        w.impls["PyTorch eager backward"] = Impl(torch_grad, "torch")
    if peers.jax is not None:
        jax, jnp = peers.jax, peers.jnp
        jg = jax.jit(jax.grad(_cnn_loss_jax(jax, jnp, lenet)))
        pj = [jnp.asarray(a) for a in p]
        xj, yj = jnp.asarray(x), jnp.asarray(y)
        w.extra["JAX jit compile s"] = _first(lambda: jax.block_until_ready(jg(pj, xj, yj)))
        w.impls["JAX jit(grad)"] = Impl(lambda: jax.block_until_ready(jg(pj, xj, yj)), "jax")
    return w


# --- S3: per-example gradients ------------------------------------------------------------------


def _mlp_params(rng: np.random.Generator, sizes: tuple[int, ...]) -> list[np.ndarray]:
    out: list[np.ndarray] = []
    for m, n in zip(sizes[:-1], sizes[1:], strict=False):
        out += [rng.standard_normal((m, n)) / np.sqrt(m), np.zeros(n)]
    return out


def _mlp_loss(np_mod: Any, logsumexp: Any) -> Any:
    def loss(p: list[Any], x: Any, y: Any) -> Any:
        h = x
        for i in range(0, len(p) - 2, 2):
            h = np_mod.tanh(h @ p[i] + p[i + 1])
        z = h @ p[-2] + p[-1]
        return -np_mod.sum(y * (z - logsumexp(z)))
    return loss


def per_example_workload(peers: SimpleNamespace) -> Workload:
    rng = np.random.default_rng(1)
    p = _mlp_params(rng, (784, 128, 10))
    x = rng.standard_normal((256, 784))
    y = np.eye(10)[rng.integers(0, 10, 256)]
    w = Workload("S3", "per-example gradients (vmap of grad), MLP 784-128-10, batch 256",
                 ref="tensorcalc eager")
    lse_tc = tc.nn.functional.log_softmax
    loss = _mlp_loss(tnp, lambda z: z - lse_tc(z))
    pe = tc.vmap(tc.grad(loss), in_axes=(None, 0, 0))
    pj = tc.jit(pe)
    w.impls["tensorcalc eager"] = Impl(lambda: pe(p, x, y))
    w.extra["tensorcalc jit compile s"] = _first(lambda: pj(p, x, y))
    w.impls["tensorcalc jit"] = Impl(lambda: pj(p, x, y))
    if peers.torch is not None:
        torch = peers.torch
        tloss = _mlp_loss(torch, lambda z: torch.logsumexp(z, -1, keepdim=True))
        tg = torch.func.vmap(torch.func.grad(tloss), in_dims=(None, 0, 0))
        pt = [torch.tensor(a) for a in p]
        xt, yt = torch.tensor(x), torch.tensor(y)
        w.impls["torch.func vmap(grad)"] = Impl(lambda: tg(pt, xt, yt), "torch")
    if peers.jax is not None:
        jax, jnp = peers.jax, peers.jnp
        jloss = _mlp_loss(jnp, lambda z: jax.nn.logsumexp(z, -1, keepdims=True))
        jg = jax.jit(jax.vmap(jax.grad(jloss), in_axes=(None, 0, 0)))
        pj_ = [jnp.asarray(a) for a in p]
        xj, yj = jnp.asarray(x), jnp.asarray(y)
        w.extra["JAX jit compile s"] = _first(lambda: jax.block_until_ready(jg(pj_, xj, yj)))
        w.impls["JAX jit(vmap(grad))"] = Impl(lambda: jax.block_until_ready(jg(pj_, xj, yj)),
                                              "jax")
    return w
