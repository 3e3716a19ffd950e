"""Workloads W1 and W2: MLP gradient and per-operation overhead, on tensorcalc (eager and jit),
a hand-written NumPy backprop, HIPS autograd, PyTorch (CPU eager) and JAX (eager and jit).

W2: gradient of a chain of 201 elementwise operations on a length-16 vector — 50 rounds of
    ``x ← tanh(0.9 sin(x) + 0.1)`` and a final sum — so the time per operation is the framework's
    overhead, not arithmetic.
W1: gradient of an MLP 64-256-256-10 (tanh, softmax cross-entropy) on scikit-learn's digits,
    full batch (1797 samples), and the forward pass alone. The cheap-gradient principle (Baur &
    Strassen; Griewank & Walther) bounds gradient/forward by a small constant (about 3).

The workload builders return :class:`bench._common.Workload` records for ``python -m bench``;
``python -m bench.overhead`` runs just these two.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

try:
    import tensorcalc as tc
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    import tensorcalc as tc
import tensorcalc.numpy as tnp

from ._common import Impl, Workload

ROUNDS = 50  # 4 ops per round (sin, mul, add, tanh) + the final sum = 201 ops


def chain_ops() -> int:
    return ROUNDS * 4 + 1


def make_chain(np_mod: Any) -> Any:
    """The W2 chain written against a NumPy-like module (tnp, numpy, autograd, jax, torch)."""
    def chain(x: Any) -> Any:
        for _ in range(ROUNDS):
            x = np_mod.tanh(np_mod.sin(x) * 0.9 + 0.1)
        return np_mod.sum(x)
    return chain


def chain_workload(peers: Any) -> Workload:
    """W2: one gradient of the 201-op chain; times are reported per operation."""
    x = np.linspace(-1, 1, 16)
    w = Workload("W2", f"gradient of a {chain_ops()}-op elementwise chain, length-16 vector",
                 ref="tensorcalc eager grad", per=chain_ops(), unit="us")
    w.impls["NumPy forward only (floor)"] = Impl(lambda: make_chain(np)(x), note="forward")
    g = tc.grad(make_chain(tnp))
    w.impls["tensorcalc eager grad"] = Impl(lambda: g(x))
    gj = tc.jit(tc.grad(make_chain(tnp)), fuse=False)  # unfused (tiering has its own row)
    w.extra["tensorcalc jit compile s"] = _first_call(lambda: gj(x))
    w.impls["tensorcalc jit(grad)"] = Impl(lambda: gj(x))
    if peers.autograd is not None:
        agrad = peers.autograd.grad(make_chain(peers.anp))
        w.impls["HIPS autograd grad"] = Impl(lambda: agrad(x))
    if peers.torch is not None:
        torch = peers.torch
        xt = torch.tensor(x)
        tchain = make_chain(torch)

        def torch_grad() -> Any:
            xx = xt.clone().requires_grad_(True)
            tchain(xx).backward()
            return xx.grad
        w.impls["PyTorch eager backward"] = Impl(torch_grad, "torch")
    if peers.jax is not None:
        jax, jnp = peers.jax, peers.jnp
        jx = jnp.asarray(x)
        jg = jax.grad(make_chain(jnp))
        w.impls["JAX eager grad"] = Impl(lambda: jg(jx).block_until_ready(), "jax")
        jjg = jax.jit(jax.grad(make_chain(jnp)))
        w.extra["JAX jit compile s"] = _first_call(lambda: jjg(jx).block_until_ready())
        w.impls["JAX jit(grad)"] = Impl(lambda: jjg(jx).block_until_ready(), "jax")
    return w


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float64)
    Y = np.eye(10)[d.target]
    return X, Y


def init_mlp(rng: np.random.Generator, sizes: tuple[int, ...] = (64, 256, 256, 10)) -> list:
    return [(rng.standard_normal((m, n)) / np.sqrt(m), np.zeros(n))
            for m, n in zip(sizes[:-1], sizes[1:], strict=False)]


def mlp_loss(params: Any, X: Any, Y: Any, np_mod: Any = tnp) -> Any:
    """Mean softmax cross-entropy of the tanh MLP (log-sum-exp shifted by the row maximum)."""
    h = X
    for W, b in params[:-1]:
        h = np_mod.tanh(h @ W + b)
    W, b = params[-1]
    z = h @ W + b
    zmax = np_mod.max(z, axis=1, keepdims=True)
    lse = np_mod.log(np_mod.sum(np_mod.exp(z - zmax), axis=1, keepdims=True)) + zmax
    return -np_mod.sum(Y * (z - lse)) / X.shape[0]


def numpy_backprop(params: Any, X: np.ndarray, Y: np.ndarray) -> list:
    """Hand-written reverse pass of the same network (docs/lessons/networks.md: δxᵀ, diag(f′),
    ŷ − y)."""
    hs = [X]
    for W, b in params[:-1]:
        hs.append(np.tanh(hs[-1] @ W + b))
    W, b = params[-1]
    z = hs[-1] @ W + b
    e = np.exp(z - z.max(axis=1, keepdims=True))
    yhat = e / e.sum(axis=1, keepdims=True)
    delta = (yhat - Y) / X.shape[0]
    grads = []
    for i in range(len(params) - 1, -1, -1):
        W, _ = params[i]
        grads.append((hs[i].T @ delta, delta.sum(axis=0)))
        if i:
            delta = (delta @ W.T) * (1 - hs[i] ** 2)
    return grads[::-1]


def mlp_workload(peers: Any) -> Workload:
    """W1: the full-batch MLP gradient; the NumPy forward pass is timed for gradient/forward."""
    X, Y = digits()
    params = init_mlp(np.random.default_rng(0))
    w = Workload("W1", f"MLP 64-256-256-10 gradient on digits, full batch {X.shape[0]}",
                 ref="NumPy hand-written backprop")
    w.impls["NumPy hand-written backprop"] = Impl(lambda: numpy_backprop(params, X, Y))
    w.impls["NumPy forward only"] = Impl(lambda: mlp_loss(params, X, Y, np), note="forward")
    g_tc = tc.grad(mlp_loss)
    w.impls["tensorcalc eager grad"] = Impl(lambda: g_tc(params, X, Y))
    g_jit = tc.jit(tc.grad(mlp_loss))
    w.extra["tensorcalc jit compile s"] = _first_call(lambda: g_jit(params, X, Y))
    w.impls["tensorcalc jit(grad)"] = Impl(lambda: g_jit(params, X, Y))
    from tensorcalc.compile.fusion import numba_available

    if numba_available() and "TENSORCALC_JIT_FUSE" not in os.environ:
        g_tier = tc.jit(tc.grad(mlp_loss))  # the default again, called until tiering settles
        calls, seconds = settle(g_tier, params, X, Y)
        w.extra["tensorcalc default jit warm-up until settled s"] = seconds
        note = f"settled after {calls} calls, {g_tier.source().count('fused[')} kernels"
        w.impls["tensorcalc jit(grad) default, warmed up"] = Impl(lambda: g_tier(params, X, Y),
                                                                  note=note)
    if peers.autograd is not None:
        anp = peers.anp
        ag_grad = peers.autograd.grad(lambda p: mlp_loss(p, X, Y, anp))
        w.impls["HIPS autograd grad"] = Impl(lambda: ag_grad(params))
    if peers.torch is not None:
        w.impls["PyTorch eager backward"] = Impl(_torch_mlp_grad(peers.torch, params, X, Y),
                                                 "torch")
    if peers.jax is not None:
        jax, jnp = peers.jax, peers.jnp
        jp = [(jnp.asarray(W), jnp.asarray(b)) for W, b in params]
        jX, jY = jnp.asarray(X), jnp.asarray(Y)
        jg = jax.grad(lambda p: mlp_loss(p, jX, jY, jnp))
        w.impls["JAX eager grad"] = Impl(lambda: jax.block_until_ready(jg(jp)), "jax")
        jjg = jax.jit(jg)
        w.extra["JAX jit compile s"] = _first_call(lambda: jax.block_until_ready(jjg(jp)))
        w.impls["JAX jit(grad)"] = Impl(lambda: jax.block_until_ready(jjg(jp)), "jax")
    return w


def _torch_mlp_grad(torch: Any, params: Any, X: np.ndarray, Y: np.ndarray) -> Any:
    tp = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
          for W, b in params]
    Xt, Yt = torch.tensor(X), torch.tensor(Y)

    def torch_grad() -> Any:
        for W, b in tp:
            W.grad = b.grad = None
        h = Xt
        for W, b in tp[:-1]:
            h = torch.tanh(h @ W + b)
        z = h @ tp[-1][0] + tp[-1][1]
        loss = -(Yt * torch.log_softmax(z, dim=1)).sum() / Xt.shape[0]
        loss.backward()
        return [(W.grad, b.grad) for W, b in tp]
    return torch_grad


def settle(g: Any, *args: Any, limit: float = 60.0) -> tuple[int, float]:
    """Call the default-jitted ``g`` until tiering has settled (fused, or tried and gone back,
    or found nothing to fuse): the calls and seconds that took."""
    start, calls = time.perf_counter(), 0
    g(*args)
    (compiled,) = g.cache.values()
    while compiled.tier is not None and time.perf_counter() - start < limit:
        g(*args)
        calls += 1
    return calls + 1, time.perf_counter() - start


def _first_call(fn: Any) -> float:
    """Seconds of the first call (tracing + optimization + code generation for a jit)."""
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


if __name__ == "__main__":
    from .suite import main

    main(["--only", "W1,W2", *sys.argv[1:]])
