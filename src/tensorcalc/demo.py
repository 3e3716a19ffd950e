"""``python -m tensorcalc.demo`` (``make demo``): a two-minute tour with real computed output.

Sections:

1. the seven network gradients (``∂(Wx)/∂x = W`` … ``∂J/∂θ = ŷ − y``), each computed
   by the library and checked against the closed form and central differences;
2. the symbolic derivative of ``xᵀAx`` with its derivation steps (``(A + Aᵀ)x``);
3. the Jacobian chain ``10 → 6 → 8 → 2 → 1``: forward 660, reverse 124, optimal 124;
4. an MLP trained on scikit-learn's digits with a progress bar and its test accuracy.

A section whose optional dependency is not installed is skipped with a one-line note. ``--quick``
leaves out the training run. The exit status is 1 if a computed result disagrees with its
check, else 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from typing import TextIO

from . import __version__
from .explain._common import header, note


def _networks(out: TextIO) -> bool:
    from .explain import networks

    return networks.run(out)


def _symbolic(out: TextIO) -> bool:
    from .explain import differentials

    return differentials.run_symbolic(out)


def _chain(out: TextIO) -> bool:
    from .explain import accumulation

    return accumulation.run(out)


def _training(out: TextIO) -> bool:
    try:
        from .nn.digits import train_digits
    except ImportError as exc:
        header(out, "Training an MLP on the digits data set")
        note(out, f"skipped: {exc}")
        return True
    header(out, "Training an MLP on the digits data set (tensorcalc.nn)")
    try:
        report = train_digits(hidden=(256, 256), epochs=30, seed=0, out=out)
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
    ("digits training", _training),
]


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tensorcalc.demo",
                                     description="A short tour of tensorcalc with real output.")
    parser.add_argument("--quick", action="store_true", help="leave out the training run")
    args = parser.parse_args(argv)
    out = out or sys.stdout
    start = time.perf_counter()
    out.write(f"tensorcalc {__version__}: a tour of matrix and tensor calculus on NumPy\n")
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
        return 1
    out.write(" Every computed result matched its check.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
