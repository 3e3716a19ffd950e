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
C   jit compile time of chains of 10³, 10⁴ and 10⁵ operations, and the first call of
    ``jit(grad)`` of a 60-layer residual MLP against JAX's (``--compile``).

Every library runs float64 on one thread (``python -m bench.speed`` pins the thread pools as
``python -m bench`` does). Times are medians after a warm-up call; compile time is separate.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from types import SimpleNamespace
from typing import Any

if __name__ == "__main__":
    # BLAS reads its thread count when NumPy is first imported: pin before that (a 2-thread
    # OpenBLAS on a contended machine measured 40x slower matmuls than one thread).
    from .__main__ import pin_threads

    pin_threads(["--threads", "1"])

import numpy as np  # noqa: E402

from . import overhead
from ._common import Impl, Workload, load_average, machine
from .suite import format_table, load_peers, peer_versions, run_workload

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


# --- S4: Hessian-vector product of an MLP loss ------------------------------------------------


def hvp_workload(peers: SimpleNamespace) -> Workload:
    rng = np.random.default_rng(2)
    p = _mlp_params(rng, (784, 256, 256, 10))
    v = [rng.standard_normal(a.shape) for a in p]
    x = rng.standard_normal((128, 784))
    y = np.eye(10)[rng.integers(0, 10, 128)]
    w = Workload("S4", "Hessian-vector product of an MLP loss, 784-256-256-10, batch 128",
                 ref="tensorcalc jit")
    lsm = tc.nn.functional.log_softmax
    loss = _mlp_loss(tnp, lambda z: z - lsm(z))

    def hvp(p: Any, v: Any) -> Any:
        return tc.jvp(lambda q: tc.grad(loss)(q, x, y), (p,), (v,))[1]
    hj = tc.jit(hvp)
    w.extra["tensorcalc jit compile s"] = _first(lambda: hj(p, v))
    w.impls["tensorcalc jit"] = Impl(lambda: hj(p, v))
    w.impls["tensorcalc eager"] = Impl(lambda: hvp(p, v))
    if peers.torch is not None:
        torch = peers.torch
        tloss = _mlp_loss(torch, lambda z: torch.logsumexp(z, -1, keepdim=True))
        xt, yt = torch.tensor(x), torch.tensor(y)
        pt, vt = [torch.tensor(a) for a in p], [torch.tensor(a) for a in v]

        def torch_hvp() -> Any:
            return torch.func.jvp(lambda q: torch.func.grad(tloss)(q, xt, yt), (pt,), (vt,))[1]
        w.impls["torch.func jvp(grad)"] = Impl(torch_hvp, "torch")
    if peers.jax is not None:
        jax, jnp = peers.jax, peers.jnp
        jloss = _mlp_loss(jnp, lambda z: jax.nn.logsumexp(z, -1, keepdims=True))
        xj, yj = jnp.asarray(x), jnp.asarray(y)
        jh = jax.jit(lambda q, u: jax.jvp(lambda r: jax.grad(jloss)(r, xj, yj), (q,), (u,))[1])
        pj, vj = [jnp.asarray(a) for a in p], [jnp.asarray(a) for a in v]
        w.extra["JAX jit compile s"] = _first(lambda: jax.block_until_ready(jh(pj, vj)))
        w.impls["JAX jit(jvp(grad))"] = Impl(lambda: jax.block_until_ready(jh(pj, vj)), "jax")
    return w


# --- S5: a 100,000-op chain on a Python float -------------------------------------------------


def scalar_chain_workload(peers: SimpleNamespace, ops: int = 100_000) -> Workload:
    rounds = ops // 4

    def chain(np_mod: Any) -> Any:
        def f(x: Any) -> Any:
            for _ in range(rounds):
                x = np_mod.tanh(np_mod.sin(x) * 0.9 + 0.1)
            return x
        return f
    w = Workload("S5", f"eager gradient of a {ops:,}-op chain on a Python float",
                 ref="tensorcalc eager grad", per=ops, unit="us")
    g = tc.grad(chain(tnp))
    w.impls["tensorcalc eager grad"] = Impl(lambda: g(0.3))
    if peers.torch is not None:
        torch = peers.torch
        tf = chain(torch)

        def torch_grad() -> Any:
            x = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
            return torch.autograd.grad(tf(x), x)[0]
        w.impls["PyTorch eager backward"] = Impl(torch_grad, "torch")
    return w


# --- S6: self-attention -----------------------------------------------------------------------


def _attention(np_mod: Any, softmax: Any, perm: Any = None) -> Any:
    perm = perm or np_mod.transpose

    def loss(p: list[Any], x: Any) -> Any:
        wq, wk, wv, wo = p
        seq, d = x.shape
        heads, dh = 4, d // 4

        def split(t: Any) -> Any:
            return perm(np_mod.reshape(t, (seq, heads, dh)), (1, 0, 2))
        q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
        a = softmax((q @ perm(k, (0, 2, 1))) / np.sqrt(dh))
        o = np_mod.reshape(perm(a @ v, (1, 0, 2)), (seq, d)) @ wo
        return np_mod.sum(np_mod.tanh(o))
    return loss


def attention_workload(peers: SimpleNamespace) -> Workload:
    rng = np.random.default_rng(3)
    p = [rng.standard_normal((64, 64)) / 8 for _ in range(4)]
    x = rng.standard_normal((128, 64))
    w = Workload("S6", "self-attention gradient, seq 128, d 64, 4 heads", ref="tensorcalc jit")
    loss = _attention(tnp, lambda z: tc.nn.functional.softmax(z, axis=-1))
    g = tc.grad(loss)
    gj = tc.jit(g)
    w.extra["tensorcalc jit compile s"] = _first(lambda: gj(p, x))
    w.impls["tensorcalc jit"] = Impl(lambda: gj(p, x))
    w.impls["tensorcalc eager"] = Impl(lambda: g(p, x))
    if peers.torch is not None:
        torch = peers.torch
        tl = _attention(torch, lambda z: torch.softmax(z, -1), torch.permute)
        pt, xt = [torch.tensor(a) for a in p], torch.tensor(x)

        def torch_grad() -> Any:
            ps = [a.detach().requires_grad_(True) for a in pt]
            return torch.autograd.grad(tl(ps, xt), ps)
        w.impls["PyTorch eager backward"] = Impl(torch_grad, "torch")
    if peers.jax is not None:
        jax, jnp = peers.jax, peers.jnp
        jg = jax.jit(jax.grad(_attention(jnp, lambda z: jax.nn.softmax(z, -1))))
        pj, xj = [jnp.asarray(a) for a in p], jnp.asarray(x)
        w.extra["JAX jit compile s"] = _first(lambda: jax.block_until_ready(jg(pj, xj)))
        w.impls["JAX jit(grad)"] = Impl(lambda: jax.block_until_ready(jg(pj, xj)), "jax")
    return w


# --- C: compile time ------------------------------------------------------------------------


def compile_times(sizes: tuple[int, ...] = (1_000, 10_000, 100_000)) -> list[str]:
    """Seconds to compile ``jit(f)`` and ``jit(grad(f))`` of an ``n``-op elementwise chain
    (wall, and this process's CPU time)."""
    out = []
    x = np.linspace(-1.0, 1.0, 16)
    for n in sizes:
        rounds = n // 4

        def f(x: Any, rounds: int = rounds) -> Any:
            for _ in range(rounds):
                x = tnp.tanh(tnp.sin(x) * 0.9 + 0.1)
            return tnp.sum(x)
        for what, fun in (("jit(f)", f), ("jit(grad(f))", tc.grad(f))):
            j = tc.jit(fun)
            cpu = time.process_time()
            t = _first(lambda j=j: j.compile(x))
            cpu = time.process_time() - cpu  # (steadier than wall on a shared machine)
            out.append(f"  {n:>7,}-op chain, {what:<13} {len(j.program(x).equations):>7,} "
                       f"equations: {t:7.2f} s  (CPU {cpu:6.2f} s)")
    return out


def _residual_mlp(np_mod: Any, layers: int) -> Any:
    """``h ← h + tanh(h Wᵢ + bᵢ)`` for ``layers`` layers, then the mean square of ``h``."""
    def loss(p: list[Any], x: Any) -> Any:
        h = x
        for i in range(layers):
            h = h + np_mod.tanh(h @ p[2 * i] + p[2 * i + 1])
        return np_mod.mean(h * h)
    return loss


def residual_first_calls(peers: SimpleNamespace, layers: int = 60, width: int = 64,
                         batch: int = 32, repeats: int = 3) -> list[str]:
    """First call of ``jit(grad)`` of a ``layers``-layer residual MLP: staging, passes, code
    generation and the first run, against JAX's first call of ``jax.jit(jax.grad)`` (tracing
    and XLA compilation). Each repeat builds a new function, so no cache is hit; the libraries
    are warmed up once on a small function first. Medians of ``repeats``."""
    rng = np.random.default_rng(5)
    p = [a for _ in range(layers) for a in (rng.standard_normal((width, width)) / width,
                                             rng.standard_normal(width) / 10)]
    x = rng.standard_normal((batch, width))
    small = [rng.standard_normal((4, 4)), np.zeros(4)]
    tc.jit(tc.grad(_residual_mlp(tnp, 1)))(small, x[:, :4])  # warm-up
    ours = sorted(_first(lambda: tc.jit(tc.grad(_residual_mlp(tnp, layers)))(p, x))
                  for _ in range(repeats))[repeats // 2]
    n_eqs = len(tc.jit(tc.grad(_residual_mlp(tnp, layers))).program(p, x).equations)
    out = [f"  {layers}-layer residual MLP {batch}x{width}, first call of jit(grad) "
           f"({n_eqs:,} equations): tensorcalc {ours:6.3f} s"]
    if peers.jax is not None:
        jax, jnp = peers.jax, peers.jnp
        pj, xj = [jnp.asarray(a) for a in p], jnp.asarray(x)
        small_j = [jnp.asarray(a) for a in small]
        jax.block_until_ready(jax.jit(jax.grad(_residual_mlp(jnp, 1)))(small_j, xj[:, :4]))
        theirs = sorted(_first(lambda: jax.block_until_ready(
            jax.jit(jax.grad(_residual_mlp(jnp, layers)))(pj, xj))) for _ in range(repeats))
        theirs_s = theirs[repeats // 2]
        ratio = ours / theirs_s
        out[0] += f", JAX {theirs_s:6.3f} s"
        out.append(f"  first-call ratio tensorcalc / JAX <= 0.2: {ratio:5.2f}  "
                   f"{'met' if ratio <= 0.2 else 'NOT met'}")
    return out


def chain_workload(peers: SimpleNamespace) -> Workload:
    """W2 with one more row: the jitted gradient with elementwise fusion (numba), if present."""
    w = overhead.chain_workload(peers)
    from tensorcalc.compile.fusion import numba_available

    if numba_available():
        x = np.linspace(-1, 1, 16)
        gf = tc.jit(tc.grad(overhead.make_chain(tnp)), fuse=True)
        w.extra["tensorcalc jit(fuse=True) compile s"] = _first(lambda: gf(x))
        w.impls["tensorcalc jit(grad, fuse=True)"] = Impl(lambda: gf(x))
        if "TENSORCALC_JIT_FUSE" not in os.environ:
            gt = tc.jit(tc.grad(overhead.make_chain(tnp)))  # the default: tiered fusion
            calls, seconds = overhead.settle(gt, x)
            w.extra["tensorcalc default jit warm-up until settled s"] = seconds
            note = f"settled after {calls} calls, {gt.source().count('fused[')} kernels"
            w.impls["tensorcalc jit(grad) default, warmed up"] = Impl(lambda: gt(x), note=note)
    return w


BUILDERS = {
    "S1": lambda peers: cnn_workload(peers, False),
    "S2": lambda peers: cnn_workload(peers, True),
    "S3": per_example_workload,
    "S4": hvp_workload,
    "S5": scalar_chain_workload,
    "S6": attention_workload,
    "W2": chain_workload,
}


def _ratio(rows: list[Any], key: str, num: str, den: str) -> float | None:
    t = {r.impl: r.seconds for r in rows if r.workload == key}
    return t[num] / t[den] if num in t and den in t else None


TARGETS = [  # (workload, label, numerator, denominator, bound)
    ("S1", "S1 CNN jit / PyTorch eager <= 1.0", "tensorcalc jit(grad)",
     "PyTorch eager backward", 1.0),
    ("S2", "S2 LeNet jit / PyTorch eager <= 1.0", "tensorcalc jit(grad)",
     "PyTorch eager backward", 1.0),
    ("S3", "S3 per-example jit / eager <= 1.0", "tensorcalc jit", "tensorcalc eager", 1.0),
    ("S4", "S4 HVP jit / JAX jit <= 1.2", "tensorcalc jit", "JAX jit(jvp(grad))", 1.2),
    ("S5", "S5 scalar chain eager / PyTorch <= 1.0", "tensorcalc eager grad",
     "PyTorch eager backward", 1.0),
    ("S6", "S6 attention jit / JAX jit <= 1.0", "tensorcalc jit", "JAX jit(grad)", 1.0),
    ("S6", "S6 attention eager / PyTorch eager <= 1.2", "tensorcalc eager",
     "PyTorch eager backward", 1.2),
    ("W2", "W2 jit per op / JAX jit <= 2.0", "tensorcalc jit(grad)", "JAX jit(grad)", 2.0),
    ("W2", "W2 default jit, warmed up, / JAX jit <= 2.0",
     "tensorcalc jit(grad) default, warmed up", "JAX jit(grad)", 2.0),
    ("W2", "W2 jit(fuse=True) per op / JAX jit <= 2.0", "tensorcalc jit(grad, fuse=True)",
     "JAX jit(grad)", 2.0),
    ("W2", "W2 eager per op / PyTorch eager <= 0.6", "tensorcalc eager grad",
     "PyTorch eager backward", 0.6),
]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.speed", description=__doc__.split("\n")[0])
    ap.add_argument("--only", default=",".join(BUILDERS), help="comma-separated workloads")
    ap.add_argument("--budget", type=float, default=1.0, help="seconds of timed runs per row")
    ap.add_argument("--compile", action="store_true", help="also time jit compilation (C)")
    args = ap.parse_args(argv)
    peers = load_peers(1)
    print(f"machine: {machine()}\npeers: {peer_versions(peers)}; all float64, 1 thread each\n"
          f"load average at start: {load_average()}\n"
          f"command: python -m bench.speed {' '.join(argv if argv is not None else sys.argv[1:])}",
          flush=True)
    rows: list[Any] = []
    for key in [k.strip() for k in args.only.split(",") if k.strip()]:
        # Objects left by earlier workloads (compiled programs, peers' caches) would make every
        # full collection of this one walk them: collect, then freeze them out of its way.
        gc.collect()
        gc.freeze()
        w = BUILDERS[key](peers)
        got = run_workload(w, args.budget, False)
        rows += got
        print("\n" + format_table(w, got, False), flush=True)
    if args.compile:
        print("\nC: jit compile time (first call, one thread)")
        print("\n".join(compile_times()), flush=True)
        print("\n".join(residual_first_calls(peers)), flush=True)
    print("\ntargets (issue 15):")
    for key, label, num, den, bound in TARGETS:
        r = _ratio(rows, key, num, den)
        if r is not None:
            print(f"  {label:<48} {r:6.2f}  {'met' if r <= bound else 'NOT met'}")
    print(f"load average at end: {load_average()}")


if __name__ == "__main__":
    main(sys.argv[1:])
