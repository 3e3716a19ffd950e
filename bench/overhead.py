"""Per-operation overhead and MLP gradient: tensorcalc eager against HIPS autograd, PyTorch
(CPU eager), JAX (eager) and a hand-written NumPy backprop, measured in the same run.

W2: gradient of a chain of 200 elementwise operations on a length-16 vector (per-op cost).
W1: gradient of an MLP 64-256-256-10 (tanh, softmax cross-entropy) on scikit-learn's digits,
    full batch (1797 samples), and the forward pass alone (gradient/forward ratio).

Run: ``python -m bench.overhead`` (peers are optional: ``pip install -e ".[bench]"``).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import tensorcalc as tc  # noqa: E402
import tensorcalc.numpy as tnp  # noqa: E402

from ._common import fmt_row, machine, median_time, optional  # noqa: E402


ROUNDS = 50  # 4 ops per round (sin, mul, add, tanh) + the final sum = 201 ops


def chain_ops() -> int:
    return ROUNDS * 4 + 1


def make_chain(np_mod):
    def chain(x):
        for _ in range(ROUNDS):
            x = np_mod.tanh(np_mod.sin(x) * 0.9 + 0.1)
        return np_mod.sum(x)
    return chain


def bench_chain() -> None:
    ops = chain_ops()
    x = np.linspace(-1, 1, 16)
    print(f"\nW2: gradient of a {ops}-op elementwise chain on a length-16 vector (per op)")
    results = {}
    results["numpy forward only (floor)"] = median_time(lambda: make_chain(np)(x))
    g = tc.grad(make_chain(tnp))
    results["tensorcalc eager grad"] = median_time(lambda: g(x))
    gj = tc.jit(tc.grad(make_chain(tnp)))
    results["tensorcalc jit(grad)"] = median_time(lambda: gj(x))
    ag = optional("autograd")
    if ag is not None:
        import autograd.numpy as anp
        agrad = ag.grad(make_chain(anp))
        results["HIPS autograd grad"] = median_time(lambda: agrad(x))
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(1)
        xt = torch.tensor(x)

        def torch_grad():
            xx = xt.clone().requires_grad_(True)
            y = xx
            for _ in range(ROUNDS):
                y = torch.tanh(torch.sin(y) * 0.9 + 0.1)
            y.sum().backward()
            return xx.grad
        results["PyTorch eager backward"] = median_time(torch_grad)
    jax = optional("jax")
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        jg = jax.grad(make_chain(jnp))
        results["JAX eager grad"] = median_time(lambda: jg(x), repeat=5, warmup=1)
    ref = results["tensorcalc eager grad"]
    for name, t in results.items():
        print(fmt_row(name, t, ref, unit="us", per=ops))
    a = results.get("HIPS autograd grad")
    p = results.get("PyTorch eager backward")
    if a:
        print(f"  tensorcalc / autograd per-op ratio: {ref / a:.2f} (target <= 0.5)")
    if p:
        print(f"  tensorcalc / PyTorch per-op ratio:  {ref / p:.2f}")
        print(f"  tensorcalc jit / PyTorch eager:     {results['tensorcalc jit(grad)'] / p:.2f} "
              "(target <= 0.5)")


def digits():
    from sklearn.datasets import load_digits

    d = load_digits()
    X = (d.data / 16.0).astype(np.float64)
    Y = np.eye(10)[d.target]
    return X, Y


def init_mlp(rng, sizes=(64, 256, 256, 10)):
    return [(rng.standard_normal((m, n)) / np.sqrt(m), np.zeros(n))
            for m, n in zip(sizes[:-1], sizes[1:])]


def mlp_loss(params, X, Y, np_mod=tnp):
    h = X
    for W, b in params[:-1]:
        h = np_mod.tanh(h @ W + b)
    W, b = params[-1]
    z = h @ W + b
    zmax = np_mod.max(z, axis=1, keepdims=True)
    lse = np_mod.log(np_mod.sum(np_mod.exp(z - zmax), axis=1, keepdims=True)) + zmax
    return -np_mod.sum(Y * (z - lse)) / X.shape[0]


def numpy_backprop(params, X, Y):
    """Hand-written reverse pass of the same network (seed 003: δxᵀ, diag(f′), ŷ − y)."""
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


def bench_mlp() -> None:
    X, Y = digits()
    params = init_mlp(np.random.default_rng(0))
    print(f"\nW1: MLP 64-256-256-10 gradient on digits, full batch {X.shape[0]}")
    g_tc = tc.grad(mlp_loss)
    # the two must agree before they are timed
    for (gw, gb), (hw, hb) in zip(g_tc(params, X, Y), numpy_backprop(params, X, Y)):
        np.testing.assert_allclose(gw, hw, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(gb, hb, rtol=1e-9, atol=1e-12)
    results = {}
    results["NumPy hand-written backprop"] = median_time(lambda: numpy_backprop(params, X, Y))
    results["tensorcalc eager grad"] = median_time(lambda: g_tc(params, X, Y))
    g_jit = tc.jit(tc.grad(mlp_loss))
    t0 = time.perf_counter()
    g_jit(params, X, Y)
    compile_s = time.perf_counter() - t0
    results["tensorcalc jit(grad)"] = median_time(lambda: g_jit(params, X, Y))
    fwd = median_time(lambda: mlp_loss(params, X, Y, np))
    results["forward pass (NumPy)"] = fwd
    ag = optional("autograd")
    if ag is not None:
        import autograd.numpy as anp
        ag_grad = ag.grad(lambda p: mlp_loss(p, X, Y, anp))
        results["HIPS autograd grad"] = median_time(lambda: ag_grad(params))
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
        tp = [(torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True))
              for W, b in params]
        Xt, Yt = torch.tensor(X), torch.tensor(Y)

        def torch_grad():
            for W, b in tp:
                W.grad = b.grad = None
            h = Xt
            for W, b in tp[:-1]:
                h = torch.tanh(h @ W + b)
            z = h @ tp[-1][0] + tp[-1][1]
            loss = -(Yt * torch.log_softmax(z, dim=1)).sum() / Xt.shape[0]
            loss.backward()
        results["PyTorch eager backward"] = median_time(torch_grad)
    ref = results["NumPy hand-written backprop"]
    for name, t in results.items():
        print(fmt_row(name, t, ref))
    print(f"  tensorcalc / hand-written NumPy: {results['tensorcalc eager grad'] / ref:.2f} "
          "(target <= 1.2)")
    print(f"  tensorcalc jit / hand-written:   {results['tensorcalc jit(grad)'] / ref:.2f} "
          "(target <= 1.0)")
    if "PyTorch eager backward" in results:
        print(f"  tensorcalc jit / PyTorch eager:  "
              f"{results['tensorcalc jit(grad)'] / results['PyTorch eager backward']:.2f} "
              "(target <= 1.0)")
    print(f"  tensorcalc gradient / forward:   {results['tensorcalc eager grad'] / fwd:.2f} "
          "(cheap-gradient principle: <= ~3)")
    print(f"  jit compile time of the gradient: {compile_s * 1e3:.0f} ms (target < 500 ms)")


def main() -> None:
    print(f"machine: {machine()}")
    bench_chain()
    bench_mlp()


if __name__ == "__main__":
    main()
