"""Jacobian / Hessian benchmarks of the Jacobian issue, in one run.

    python -m bench.jacobians [--repeat 7]

W3 (Jacobian of tanh(W2 tanh(W1 x)), 512 -> 256), W4 (Hessian of the logistic loss, A
2000x500) and W5 (Hessian of x'Ax, n = 2048) come from the suite (bench/suite.py: the same
workloads `python -m bench` runs, with torch.func and jax.jit in the same run); this script adds
the sparse diagonal Jacobian and the planner's multiplication counts on RobotArm-like and
RoeFlux-like scalar programs.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from . import suite  # first: it puts the checkout's src/ on the path

# isort: split
import tensorcalc.numpy as tnp  # noqa: E402
from tensorcalc.transforms import jacobian, jacobian_plan  # noqa: E402


def median_ms(fn, repeat):
    fn()
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return 1e3 * float(np.median(ts))


def bench_sparse(rng, repeat):
    print("Diagonal Jacobian of x^2, n=10^4, sparse=True")
    x = rng.standard_normal(10_000)
    jf = jacobian(lambda x: x ** 2, sparse=True)
    ms = median_ms(lambda: jf(x), max(repeat, 50))
    print(f"  {'tensorcalc sparse jacobian':<34}{ms:10.3f} ms  (target < 1 ms)")


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
    ap.add_argument("--skip-suite", action="store_true", help="only the sparse and count parts")
    args = ap.parse_args()
    if not args.skip_suite:
        suite.main(["--only", "W3,W4,W5"])
    rng = np.random.default_rng(0)
    bench_sparse(rng, args.repeat)
    counts()


if __name__ == "__main__":
    main()
