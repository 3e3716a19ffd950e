"""``python -m tensorcalc.demo`` (``make demo``): a two-minute tour with real computed output.

Each section first shows the few lines of code behind its results (``>>>``), then the results,
computed by the library and checked:

1. the seven network gradients (``∂(Wx)/∂x = W`` … ``∂J/∂θ = ŷ − y``), against the closed form
   and central differences (docs/lessons/networks.md);
2. the symbolic derivative of ``xᵀAx`` with its derivation steps (``(A + Aᵀ)x``);
3. the Jacobian chain ``10 → 6 → 8 → 2 → 1``: forward 660, reverse 124, optimal 124;
4. compiled derivatives (``tc.jit``), a Hessian and per-example gradients with ``tc.vmap``;
5. an MLP trained on scikit-learn's digits, with one progress bar, and its test accuracy;

and it ends with where to go next. A section whose optional dependency is not installed is
skipped with a one-line note. ``--quick`` leaves out the training run. The exit status is 1 if
a computed result disagrees with its check, else 0.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

import numpy as np

from . import __version__
from .explain._common import header, max_err, note


def show_code(out: TextIO, code: str) -> None:
    """The lines of code behind the results that follow, as typed at the prompt."""
    for line in code.strip("\n").splitlines():
        out.write(f"  >>> {line}\n" if not line.startswith(" ") else f"  ... {line}\n")


def _after_header(out: TextIO, run: Callable[[TextIO], bool], code: str) -> bool:
    """Run a lesson section into a buffer and show ``code`` right under its header."""
    buf = io.StringIO()
    ok = run(buf)
    blank, title, rule, rest = buf.getvalue().split("\n", 3)
    out.write(f"{blank}\n{title}\n{rule}\n")
    show_code(out, code)
    out.write(rest)
    return ok


def _networks(out: TextIO) -> bool:
    from .explain import networks

    return _after_header(out, networks.run, """
tc.jacobian(lambda x: W @ x)(x)                             # (1)  = W
tc.jacobian(tnp.tanh)(x)                                    # (4)  = diag(1 - tanh(x)**2)
tc.grad(lambda W: tnp.sum(tnp.sin(W @ x)))(W)               # (5)  = outer(cos(W x), x)
tc.grad(lambda t: nn.softmax_cross_entropy(t, y))(theta)    # (7)  = y_hat - y""")


def _symbolic(out: TextIO) -> bool:
    from .explain import differentials

    return _after_header(out, differentials.run_symbolic, """
d = tensorcalc.symbolic.derivative("x' * A * x", "x")
print(d, d.latex(), d.steps(), d.check())""")


def _chain(out: TextIO) -> bool:
    from .explain import accumulation

    return _after_header(out, accumulation.run, "print(tc.chain_cost([10, 6, 8, 2, 1]))")


def _transforms(out: TextIO) -> bool:
    import tensorcalc as tc
    import tensorcalc.numpy as tnp

    header(out, "Compiled derivatives, a Hessian, and vmap")
    rng = np.random.default_rng(0)
    W, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
    A = rng.standard_normal((4, 4))
    X, Y = rng.standard_normal((8, 4)), rng.standard_normal((8, 3))

    def f(W, x):
        return tnp.sum(tnp.tanh(W @ x) ** 2)

    show_code(out, """
g = tc.jit(tc.grad(lambda W, x: tnp.sum(tnp.tanh(W @ x) ** 2)))
g(W, x)                       # traced once, compiled to straight-line NumPy
print(g.source())""")
    g = tc.jit(tc.grad(f))
    jit_err = max_err(g(W, x), tc.grad(f)(W, x))
    for line in g.source().splitlines():
        out.write(f"      {line}\n")
    out.write(f"  jit(grad) vs grad: {jit_err:.1e}\n")

    show_code(out, "H = tc.hessian(lambda x: x @ A @ x)(x)      # = A + A'")
    H = tc.hessian(lambda v: v @ A @ v)(x)
    hess_err = max_err(H, A + A.T)
    out.write(f"  H.shape = {H.shape}; vs A + A': {hess_err:.1e}\n")

    show_code(out, """
loss = lambda W, x, y: tnp.sum((tnp.tanh(W @ x) - y) ** 2)
per_example = tc.vmap(tc.grad(loss), in_axes=(None, 0, 0))(W, X, Y)   # X: (8, 4)""")

    def loss(W, x, y):
        return tnp.sum((tnp.tanh(W @ x) - y) ** 2)

    per_example = np.asarray(tc.vmap(tc.grad(loss), in_axes=(None, 0, 0))(W, X, Y))
    looped = np.stack([tc.grad(loss)(W, X[i], Y[i]) for i in range(X.shape[0])])
    vmap_err = max_err(per_example, looped)
    out.write(f"  per_example.shape = {per_example.shape} (one gradient per row); "
              f"vs a Python loop: {vmap_err:.1e}\n")
    return max(jit_err, hess_err, vmap_err) < 1e-10


def _training(out: TextIO) -> bool:
    try:
        from .nn.digits import train_digits
    except ImportError as exc:
        header(out, "Training an MLP on the digits data set")
        note(out, f"skipped: {exc}")
        return True
    header(out, "Training an MLP on the digits data set (tensorcalc.nn)")
    show_code(out, """
report = tensorcalc.nn.digits.train_digits(hidden=(256, 256), epochs=30)
# inside: fit() takes tc.value_and_grad of the softmax cross-entropy per batch, Adam steps""")
    try:
        report = train_digits(hidden=(256, 256), epochs=30, seed=0, progress="single", out=out)
    except ImportError as exc:  # scikit-learn (the nn extra) is not installed
        note(out, f"skipped: {exc}")
        return True
    out.write(f"  test accuracy {report.test_accuracy:.2%} (train {report.train_accuracy:.2%}) "
              f"after {report.epochs_run} epochs in {report.seconds:.1f} s\n")
    return report.test_accuracy >= 0.95


SECTIONS: list[tuple[str, Callable[[TextIO], bool]]] = [
    ("network gradients", _networks),
    ("symbolic derivative", _symbolic),
    ("Jacobian chain plan", _chain),
    ("jit, Hessian and vmap", _transforms),
    ("digits training", _training),
]

NEXT_STEPS = """
Next:
  docs/lessons/README.md    four short lessons: Jacobians, differentials, forward vs reverse,
                            network gradients (tensorcalc explain jacobians|...|networks)
  docs/guide.md             how the engine works; docs/jit.md, docs/jacobians.md, docs/nn.md
  tensorcalc derive "x' * A * x" --wrt x --steps      a derivation, step by step
  tensorcalc plan --chain 10,6,8,2,1                   the cost of each accumulation order
  tensorcalc serve          the same tools as a local web page
"""


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tensorcalc.demo",
                                     description="A short tour of tensorcalc with real output.")
    parser.add_argument("--quick", action="store_true", help="leave out the training run")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    start = time.perf_counter()
    out.write(f"tensorcalc {__version__}: a tour of matrix and tensor calculus on NumPy\n"
              "(lines after >>> are the code behind the results below them; W, x, y, ... are "
              "small random arrays)\n")
    failed = []
    for name, section in SECTIONS:
        if args.quick and name == "digits training":
            header(out, "Training an MLP on the digits data set")
            note(out, "left out (--quick)")
            continue
        try:
            ok = section(out)
        except ImportError as exc:
            header(out, name[0].upper() + name[1:])
            note(out, f"skipped: an optional dependency is missing ({exc})")
            ok = True
        if not ok:
            failed.append(name)
        out.flush()
    out.write(f"\nDone in {time.perf_counter() - start:.1f} s.")
    if failed:
        out.write(f" These checks FAILED: {', '.join(failed)}.\n")
        out.write(NEXT_STEPS)
        return 1
    out.write(" Every computed result matched its check.\n")
    out.write(NEXT_STEPS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
