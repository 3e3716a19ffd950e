"""A fused kernel written in place on one of its operands: the operand's own loop against the
general loop given the same array twice, on W1's backward kernel ``δ ⊙ (1 − h²)`` (1797×256,
float64).

jit's buffer plan hands a one-output kernel a dying operand as ``out`` (``h``'s buffer here).
The general loop ``_loop(a0, a1, o0)`` then gets ``o0`` and ``a0`` on one memory, LLVM's check
before its vector loop finds them overlapping, and the scalar loop runs. Since the fourteenth
stop of issue 15 each kernel also has a loop per operand that writes into that operand
(``compile/fusion_blocks.in_place_loops``), which is what an in-place call runs. Rows: that
loop; the general loop given ``h`` twice, which ran before; the general loop into a separate
array; NumPy's three passes. ``python -m bench.fused_in_place``
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from ._common import load_average, machine, median_time


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(prog="python -m bench.fused_in_place", description=__doc__)
    ap.add_argument("--rounds", type=int, default=200)
    args = ap.parse_args(argv)
    import tensorcalc as tc
    from tensorcalc.compile import fusion

    rng = np.random.default_rng(0)
    h = np.tanh(rng.standard_normal((1797, 256)))
    d = rng.standard_normal((1797, 256))
    (k,) = fusion.plan_fusion(tc.trace(lambda h, d: d * (1 - h * h), h, d)).kernels
    kernel = fusion._load(k.src)
    loop = kernel.__globals__["_loop"]
    want = d * (1 - h * h)
    work, out = h.copy(), np.empty_like(h)

    def refill() -> None:  # each in-place call starts from h again (a copy is not timed)
        np.copyto(work, h)

    rows: dict[str, Callable[[], Any]] = {
        "in place, the operand's own loop (now)": lambda: kernel(work, d, out=work),
        "in place, the general loop (before)": lambda: loop(work, d, work),
        "into a separate array": lambda: kernel(h, d, out=out),
        "NumPy, three passes": lambda: np.multiply(
            d, np.subtract(1.0, np.multiply(h, h, out=out), out=out), out=out),
    }
    for name, fn in rows.items():  # every row computes δ ⊙ (1 − h²)
        refill()
        fn()
        got = work if name.startswith("in place") else out
        if got.tobytes() != want.tobytes():
            raise AssertionError(f"bench.fused_in_place: {name!r} differs from NumPy's bits")
    print(f"machine: {machine()}")
    print(f"load average at start: {load_average()}")
    print(f"command: python -m bench.fused_in_place --rounds {args.rounds}")
    result = {}
    for name, fn in rows.items():
        if name.startswith("in place"):
            def call(fn: Callable[[], Any] = fn) -> None:
                refill()
                fn()
            copy = median_time(refill, args.rounds)
            seconds = median_time(call, args.rounds) - copy
        else:
            seconds = median_time(fn, args.rounds)
        result[name] = seconds
        print(f"  {name:40s} {seconds * 1e3:7.3f} ms")
    print(f"load average at end: {load_average()}")
    return result


if __name__ == "__main__":
    main()
