"""Jacobian / Hessian benchmarks: tensorcalc vs closed forms and peers, in one run.

    PYTHONPATH=src python3 bench/jacobians.py [--repeat 7]

Prints medians (ms) and ratios. Peers (torch.func, jax.jit) are used when importable. Also
prints the multiplication counts (forward / reverse / Markowitz / chosen) of the planner on
RobotArm-like and RoeFlux-like scalar programs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tensorcalc.numpy as tnp
from tensorcalc.transforms import hessian, jacobian, jacobian_plan

try:
    import torch
    import torch.func as tf
except ImportError:  # pragma: no cover
    torch = None
try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
except ImportError:  # pragma: no cover
    jax = None


def median_ms(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return 1e3 * float(np.median(ts))


def row(name, t, ref=None, refname=""):
    ratio = f"  ({t / ref:.2f}x {refname})" if ref else ""
    print(f"  {name:<34}{t:10.3f} ms{ratio}")


def bench_mlp(rng, repeat):
    print("Jacobian of tanh(W2 tanh(W1 x)), R^512 -> R^256")
    W1 = rng.standard_normal((512, 512)) / 20
    W2 = rng.standard_normal((256, 512)) / 20
    x = rng.standard_normal(512)
    f = lambda x: tnp.tanh(W2 @ tnp.tanh(W1 @ x))  # noqa: E731

    def closed():
        h1 = np.tanh(W1 @ x)
        h2 = np.tanh(W2 @ h1)
        return ((1 - h2 ** 2)[:, None] * W2) @ ((1 - h1 ** 2)[:, None] * W1)

    assert np.allclose(jacobian(f)(x), closed())
    tc_t = median_ms(lambda: jacobian(f)(x), repeat)
    cf = median_ms(closed, repeat)
    row("closed form (W2*d2)(W1*d1)", cf)
    row("tensorcalc jacobian (auto)", tc_t, cf, "closed form")
    row("tensorcalc jacobian (reverse)", median_ms(lambda: jacobian(f, mode="reverse")(x),
                                                   repeat), cf, "closed form")
    if torch is not None:
        tW1, tW2, tx = map(torch.from_numpy, (W1, W2, x))
        tfun = lambda x: torch.tanh(tW2 @ torch.tanh(tW1 @ x))  # noqa: E731
        tt = median_ms(lambda: tf.jacrev(tfun)(tx), repeat)
        row("torch.func.jacrev", tt, tc_t, "tensorcalc")
    if jax is not None:
        jW1, jW2, jx = map(jnp.asarray, (W1, W2, x))
        jj = jax.jit(jax.jacrev(lambda x: jnp.tanh(jW2 @ jnp.tanh(jW1 @ x))))
        jt = median_ms(lambda: jj(jx).block_until_ready(), repeat)
        row("jax.jit(jax.jacrev)", jt, tc_t, "tensorcalc")


def bench_logistic(rng, repeat):
    print("Hessian of sum log(1+exp(-y*(A w))), A 2000x500")
    A = rng.standard_normal((2000, 500))
    y = np.sign(rng.standard_normal(2000))
    w = 0.01 * rng.standard_normal(500)
    loss = lambda w: tnp.sum(tnp.log(1 + tnp.exp(-y * (A @ w))))  # noqa: E731

    def closed():
        p = 1 / (1 + np.exp(-y * (A @ w)))
        return (A.T * (p * (1 - p))) @ A

    assert np.allclose(hessian(loss)(w), closed())
    tc_t = median_ms(lambda: hessian(loss)(w), repeat)
    cf = median_ms(closed, repeat)
    row("closed form A^T diag(p(1-p)) A", cf)
    row("tensorcalc hessian", tc_t, cf, "closed form")
    if torch is not None:
        tA, ty, tw = map(torch.from_numpy, (A, y, w))
        tl = lambda w: torch.sum(torch.log1p(torch.exp(-ty * (tA @ w))))  # noqa: E731
        row("torch.func.hessian", median_ms(lambda: tf.hessian(tl)(tw), max(3, repeat // 2)),
            tc_t, "tensorcalc")


def bench_quadratic(rng, repeat):
    print("Hessian of x^T A x, n=2048")
    n = 2048
    A = rng.standard_normal((n, n))
    x = rng.standard_normal(n)
    q = lambda x: x @ (A @ x)  # noqa: E731
    assert np.allclose(hessian(q)(x), A + A.T)
    plan = jacobian_plan(lambda z: A @ z + z @ A, x)
    tc_t = median_ms(lambda: hessian(q)(x), repeat)
    cf = median_ms(lambda: A + A.T, repeat)
    row("closed form A + A^T", cf)
    row("tensorcalc hessian", tc_t, cf, "closed form")
    print(f"    (plan of the gradient's linearization: {plan.choice}, "
          f"{plan.cost('optimal'):,} multiplications, no sweeps)")
    if torch is not None:
        tA, tx = torch.from_numpy(A), torch.from_numpy(x)
        row("torch.func.hessian", median_ms(lambda: tf.hessian(lambda x: x @ (tA @ x))(tx), 3),
            tc_t, "tensorcalc")


def bench_sparse(rng, repeat):
    print("Diagonal Jacobian of x^2, n=10^4, sparse=True")
    x = rng.standard_normal(10_000)
    jf = jacobian(lambda x: x ** 2, sparse=True)
    row("tensorcalc sparse jacobian", median_ms(lambda: jf(x), max(repeat, 50)))


def robot_arm(x):
    # RobotArm-like: planar 4-link arm end-effector distance (scalar program, trig chain).
    a = tnp.cos(x[0]) + tnp.cos(x[0] + x[1]) + tnp.cos(x[0] + x[1] + x[2])
    b = tnp.sin(x[0]) + tnp.sin(x[0] + x[1]) + tnp.sin(x[0] + x[1] + x[2])
    return tnp.sqrt(a * a + b * b) * x[3]


def roe_flux(u):
    # RoeFlux-like: Roe-averaged flux difference of two 1-d Euler states (scalar ops).
    rl, ul, pl, rr, ur, pr = (u[k] for k in range(6))
    sl, sr = tnp.sqrt(rl), tnp.sqrt(rr)
    um = (sl * ul + sr * ur) / (sl + sr)
    hl = 3.5 * pl / rl + 0.5 * ul * ul
    hr = 3.5 * pr / rr + 0.5 * ur * ur
    hm = (sl * hl + sr * hr) / (sl + sr)
    cm = tnp.sqrt(0.4 * (hm - 0.5 * um * um))
    f1 = 0.5 * (rl * ul + rr * ur) - 0.5 * tnp.abs(um) * (rr - rl)
    f2 = 0.5 * (rl * ul * ul + pl + rr * ur * ur + pr) - 0.5 * cm * (ur - ul) * um
    f3 = 0.5 * (ul * rl * hl + ur * rr * hr) - 0.5 * (um + cm) * (pr - pl) / cm
    return tnp.stack([f1, f2, f3]) if hasattr(tnp, "stack") else f1 + f2 + f3


def counts():
    print("Planner multiplication counts (scalar programs, vertex elimination)")
    for name, f, x in [("RobotArm-like", robot_arm, np.array([0.3, 0.5, 0.7, 1.2])),
                       ("RoeFlux-like", roe_flux, np.array([1.0, 0.2, 1.0, 0.9, 0.1, 0.8]))]:
        plan = jacobian_plan(f, x)
        c = plan.elimination_costs
        print(f"  {name:<16} fwd {c.get('forward')}  rev {c.get('reverse')}  "
              f"markowitz {c.get('markowitz')}  chosen {plan.order_name} "
              f"{c.get(plan.order_name)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"peers: torch {'yes' if torch else 'no'}, jax {'yes' if jax else 'no'}")
    bench_mlp(rng, args.repeat)
    bench_logistic(rng, args.repeat)
    bench_quadratic(rng, args.repeat)
    bench_sparse(rng, args.repeat)
    counts()


if __name__ == "__main__":
    main()
