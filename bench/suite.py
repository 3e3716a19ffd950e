"""The benchmark suite: every workload on tensorcalc (eager and jit) and its peers, in one run.

W1  gradient of an MLP 64-256-256-10 on digits, full batch, and its forward pass   (overhead.py)
W2  gradient of a 201-op elementwise chain on a length-16 vector, per operation    (overhead.py)
W3  Jacobian R⁵¹² → R²⁵⁶ of x ↦ tanh(W₂ tanh(W₁ x)); closed form (D₂W₂)(D₁W₁), Dₖ = diag(1 − hₖ²)
W4  Hessian of the logistic loss Σ log(1 + exp(−y ⊙ Aw)), A 2000×500; closed form Aᵀ diag(p(1−p)) A
W5  Hessian of xᵀAx, n = 2048; closed form A + Aᵀ

Each row is the median wall time after a warm-up call (compile time is reported separately),
and its ratio to the workload's reference row, all measured in the same process. Every result
is checked against the reference before it is timed. Peak memory: tracemalloc for NumPy-based
rows; with ``--rss`` every row is re-run in a child process that reports its resident-set
high-water mark above the level before the call (PyTorch and JAX included).

Run ``python -m bench`` (``--help`` for options); thread pinning is done in ``__main__``.

``python -m bench --jit-vs-eager`` checks the rule "jit is never slower than eager" on every
workload of this suite and of :mod:`bench.speed`: the eager and the jit row of each are called
in turn, round after round, so both see the same machine load, and the ratio of their median
CPU times (this thread's, which a busy machine inflates less than wall time) is printed with
the wall-time ratio beside it. ``--alternate`` does the same for every row of the chosen
workloads (median process CPU time, peers included), for figures taken on a loaded machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import numpy as np

from . import overhead
from ._common import (
    Impl,
    Workload,
    alternating_cpu,
    flat_values,
    load_average,
    machine,
    measure,
    optional,
    reset_rss_peak,
    rss_kib,
    traced_peak,
)

tc = overhead.tc
tnp = overhead.tnp


def load_peers(threads: int) -> SimpleNamespace:
    """Import the optional peers (float64 everywhere, thread pools pinned to ``threads``)."""
    torch = optional("torch")
    if torch is not None:
        torch.set_num_threads(threads)
        import torch.func  # noqa: F401
    jax = optional("jax")
    jnp = None
    if jax is not None:
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
    autograd = optional("autograd")
    anp = None
    if autograd is not None:
        import autograd.numpy as anp
    return SimpleNamespace(torch=torch, jax=jax, jnp=jnp, autograd=autograd, anp=anp)


def peer_versions(peers: SimpleNamespace) -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in ("torch", "jax", "autograd"):
        if getattr(peers, name) is None:
            parts.append(f"{name} missing")
            continue
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(name)
    return ", ".join(parts)


# --- W3–W5: Jacobians and Hessians --------------------------------------------------------------


def _jacobian_api() -> tuple[Callable[..., Any], Callable[..., Any]]:
    from tensorcalc.transforms import hessian, jacobian

    return jacobian, hessian


def tanh_map_workload(peers: SimpleNamespace, slow: bool) -> Workload:
    """W3: the full Jacobian of a two-layer tanh map, R⁵¹² → R²⁵⁶."""
    jacobian, _ = _jacobian_api()
    rng = np.random.default_rng(0)
    W1 = rng.standard_normal((512, 512)) / 20
    W2 = rng.standard_normal((256, 512)) / 20
    x = rng.standard_normal(512)

    def f(x: Any) -> Any:
        return tnp.tanh(W2 @ tnp.tanh(W1 @ x))

    def closed() -> np.ndarray:
        h1 = np.tanh(W1 @ x)
        h2 = np.tanh(W2 @ h1)
        return ((1 - h2 ** 2)[:, None] * W2) @ ((1 - h1 ** 2)[:, None] * W1)

    w = Workload("W3", "Jacobian R^512 -> R^256 of tanh(W2 tanh(W1 x))",
                 ref="closed form (D2 W2)(D1 W1)")
    w.impls[w.ref] = Impl(closed)
    _tensorcalc_rows(w, jacobian(f), jacobian(tc.jit(f)), tc.jit(jacobian(f)), x,
                     "jacobian")
    if peers.torch is not None:
        torch, tf = peers.torch, peers.torch.func
        tW1, tW2, tx = map(torch.from_numpy, (W1, W2, x))
        tjac = tf.jacrev(lambda v: torch.tanh(tW2 @ torch.tanh(tW1 @ v)))
        w.impls["torch.func.jacrev"] = Impl(lambda: tjac(tx), "torch")
    if peers.jax is not None:
        jax, jnp = peers.jax, peers.jnp
        jW1, jW2, jx = map(jnp.asarray, (W1, W2, x))
        jf = jax.jacrev(lambda v: jnp.tanh(jW2 @ jnp.tanh(jW1 @ v)))
        _jax_rows(w, jax, jf, jx, "jacrev")
    if peers.autograd is not None:
        anp = peers.anp
        ajac = peers.autograd.jacobian(lambda v: anp.tanh(W2 @ anp.tanh(W1 @ v)))
        w.impls["HIPS autograd jacobian"] = Impl(lambda: ajac(x))
    return w


def logistic_workload(peers: SimpleNamespace, slow: bool) -> Workload:
    """W4: the Hessian of the logistic loss with a 2000×500 design matrix."""
    _, hessian = _jacobian_api()
    rng = np.random.default_rng(0)
    A = rng.standard_normal((2000, 500))
    y = np.sign(rng.standard_normal(2000))
    wv = 0.01 * rng.standard_normal(500)

    def loss(v: Any) -> Any:
        return tnp.sum(tnp.log(1 + tnp.exp(-y * (A @ v))))

    def closed() -> np.ndarray:
        p = 1 / (1 + np.exp(-y * (A @ wv)))
        return (A.T * (p * (1 - p))) @ A

    w = Workload("W4", "Hessian of sum log(1 + exp(-y * (A w))), A 2000x500",
                 ref="closed form A^T diag(p(1-p)) A")
    w.impls[w.ref] = Impl(closed)
    _tensorcalc_rows(w, hessian(loss), hessian(tc.jit(loss)), tc.jit(hessian(loss)), wv,
                     "hessian")
    if peers.torch is not None:
        torch, tf = peers.torch, peers.torch.func
        tA, ty, tw = map(torch.from_numpy, (A, y, wv))
        th = tf.hessian(lambda v: torch.sum(torch.log1p(torch.exp(-ty * (tA @ v)))))
        w.impls["torch.func.hessian"] = Impl(lambda: th(tw), "torch")
    if peers.jax is not None:
        jax, jnp = peers.jax, peers.jnp
        jA, jy, jw = map(jnp.asarray, (A, y, wv))
        jh = jax.hessian(lambda v: jnp.sum(jnp.log1p(jnp.exp(-jy * (jA @ v)))))
        _jax_rows(w, jax, jh, jw, "hessian")
    if peers.autograd is not None and slow:
        anp = peers.anp
        ah = peers.autograd.hessian(lambda v: anp.sum(anp.log(1 + anp.exp(-y * (A @ v)))))
        w.impls["HIPS autograd hessian"] = Impl(lambda: ah(wv))
    return w


def quadratic_workload(peers: SimpleNamespace, slow: bool) -> Workload:
    """W5: the Hessian of the quadratic form xᵀAx at n = 2048."""
    _, hessian = _jacobian_api()
    rng = np.random.default_rng(0)
    n = 2048
    A = rng.standard_normal((n, n))
    x = rng.standard_normal(n)

    def q(v: Any) -> Any:
        return v @ (A @ v)

    w = Workload("W5", f"Hessian of x^T A x, n = {n}", ref="closed form A + A^T")
    w.impls[w.ref] = Impl(lambda: A + A.T)
    _tensorcalc_rows(w, hessian(q), hessian(tc.jit(q)), tc.jit(hessian(q)), x, "hessian")
    if peers.torch is not None:
        torch, tf = peers.torch, peers.torch.func
        tA, tx = torch.from_numpy(A), torch.from_numpy(x)
        th = tf.hessian(lambda v: v @ (tA @ v))
        w.impls["torch.func.hessian"] = Impl(lambda: th(tx), "torch")
    if peers.jax is not None:
        jax, jnp = peers.jax, peers.jnp
        jA, jx = jnp.asarray(A), jnp.asarray(x)
        _jax_rows(w, jax, jax.hessian(lambda v: v @ (jA @ v)), jx, "hessian")
    if peers.autograd is not None and slow:
        ah = peers.autograd.hessian(lambda v: v @ (A @ v))
        w.impls["HIPS autograd hessian"] = Impl(lambda: ah(x))
    return w


def _tensorcalc_rows(w: Workload, eager: Any, of_jit: Any, jitted: Any, x: np.ndarray,
                     what: str) -> None:
    w.impls[f"tensorcalc {what}"] = Impl(lambda: eager(x))
    w.impls[f"tensorcalc {what}(jit(f))"] = Impl(lambda: of_jit(x))
    t0 = time.perf_counter()
    jitted(x)
    w.extra["tensorcalc jit compile s"] = time.perf_counter() - t0
    w.impls[f"tensorcalc jit({what})"] = Impl(lambda: jitted(x))


def _jax_rows(w: Workload, jax: Any, fn: Any, x: Any, what: str) -> None:
    w.impls[f"JAX eager {what}"] = Impl(lambda: fn(x).block_until_ready(), "jax")
    jf = jax.jit(fn)
    t0 = time.perf_counter()
    jf(x).block_until_ready()
    w.extra["JAX jit compile s"] = time.perf_counter() - t0
    w.impls[f"JAX jit({what})"] = Impl(lambda: jf(x).block_until_ready(), "jax")


BUILDERS: dict[str, Callable[[SimpleNamespace, bool], Workload]] = {
    "W1": lambda peers, slow: overhead.mlp_workload(peers),
    "W2": lambda peers, slow: overhead.chain_workload(peers),
    "W3": tanh_map_workload,
    "W4": logistic_workload,
    "W5": quadratic_workload,
}


SINGLE_CALL_S = 10.0  # slower than this: one call is the measurement

#: (eager row, jit row) of each workload, for ``--jit-vs-eager`` (S-workloads: bench.speed).
JIT_PAIRS: dict[str, list[tuple[str, str]]] = {
    "W1": [("tensorcalc eager grad", "tensorcalc jit(grad)")],
    "W2": [("tensorcalc eager grad", "tensorcalc jit(grad)")],
    "W3": [("tensorcalc jacobian", "tensorcalc jit(jacobian)"),
           ("tensorcalc jacobian", "tensorcalc jacobian(jit(f))")],
    "W4": [("tensorcalc hessian", "tensorcalc jit(hessian)"),
           ("tensorcalc hessian", "tensorcalc hessian(jit(f))")],
    "W5": [("tensorcalc hessian", "tensorcalc jit(hessian)"),
           ("tensorcalc hessian", "tensorcalc hessian(jit(f))")],
    "S1": [("tensorcalc eager grad", "tensorcalc jit(grad)")],
    "S2": [("tensorcalc eager grad", "tensorcalc jit(grad)")],
    "S3": [("tensorcalc eager", "tensorcalc jit")],
    "S4": [("tensorcalc eager", "tensorcalc jit")],
    "S6": [("tensorcalc eager", "tensorcalc jit")],
}

# --- running and reporting --------------------------------------------------------------------


@dataclass
class Row:
    workload: str
    impl: str
    seconds: float
    runs: int
    ratio: float
    traced_mib: float | None = None
    rss_mib: float | None = None
    note: str = ""


def run_workload(w: Workload, budget: float, memory: bool) -> list[Row]:
    """Check every implementation against the reference, then time it (and trace its memory).
    The checking call doubles as the warm-up; a call slower than ``SINGLE_CALL_S`` is reported
    from that one (cold) call rather than run again."""
    ref_val = flat_values(w.impls[w.ref].fn())
    timed: list[tuple[str, float, int, float | None, str]] = []
    for name, impl in w.impls.items():
        note = impl.note
        t0 = time.perf_counter()
        got = impl.fn()
        first = time.perf_counter() - t0
        if note != "forward":
            got = flat_values(got)
            if got.shape != ref_val.shape or not np.allclose(got, ref_val, rtol=1e-7,
                                                             atol=1e-9):
                note = "MISMATCH vs reference"
        if first > SINGLE_CALL_S:
            secs, runs = first, 1
            note = (note + "; " if note else "") + "one cold call"
        else:
            secs, runs = measure(impl.fn, budget)
        big = first > SINGLE_CALL_S
        mib = (traced_peak(impl.fn) / 2 ** 20 if memory and impl.family == "numpy" and not big
               else None)
        timed.append((name, secs, runs, mib, note))
    ref_secs = next(s for n, s, *_ in timed if n == w.ref)
    return [Row(w.key, n, s, r, s / ref_secs, m, None, note) for n, s, r, m, note in timed]


def run_alternating(w: Workload, budget: float) -> list[Row]:
    """Like :func:`run_workload`, but every implementation is called once per round, round
    after round, and the median *process CPU time* is reported (all threads: JAX computes on
    its own). On a machine shared with other jobs this compares rows under the same load,
    where consecutive timing windows can differ by 2x."""
    ref_val = flat_values(w.impls[w.ref].fn())
    names, notes = list(w.impls), {}
    pair = 0.0
    for name in names:
        impl = w.impls[name]
        got = impl.fn()  # the warm-up (and compile) call, then one timed call for the budget
        t0 = time.perf_counter()
        impl.fn()
        pair += time.perf_counter() - t0
        notes[name] = impl.note
        if impl.note != "forward":
            got = flat_values(got)
            if got.shape != ref_val.shape or not np.allclose(got, ref_val, rtol=1e-7,
                                                             atol=1e-9):
                notes[name] = "MISMATCH vs reference"
    rounds = int(min(300, max(5, budget / max(pair, 1e-7))))
    cpu = alternating_cpu({n: w.impls[n].fn for n in names}, rounds)
    med = {n: statistics.median(v) for n, v in cpu.items()}
    return [Row(w.key, n, med[n], rounds, med[n] / med[w.ref], None, None,
                (notes[n] + "; " if notes[n] else "") + "CPU, alternating") for n in names]


def child_rss(key: str, impl: str, threads: int, slow: bool) -> float | None:
    """Peak resident-set growth (MiB) of one call of ``impl``, measured in a fresh process."""
    cmd = [sys.executable, "-m", "bench", "--threads", str(threads), "--child-rss", key, impl]
    if slow:
        cmd.append("--slow")
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=True,
                             cwd=os.path.join(os.path.dirname(__file__), ".."))
        return json.loads(out.stdout.strip().splitlines()[-1])["rss_mib"]
    except (subprocess.SubprocessError, ValueError, KeyError, IndexError):
        return None


def child_main(key: str, impl: str, threads: int, slow: bool) -> None:
    """In the child: build the workload, warm the implementation up, then report the peak
    resident-set growth of one more call (the high-water mark is reset just before it)."""
    peers = load_peers(threads)
    w = BUILDERS[key](peers, slow)
    fn = w.impls[impl].fn
    fn()
    ok = reset_rss_peak()
    base = rss_kib("VmRSS")
    fn()
    peak = rss_kib("VmHWM")
    mib = (peak - base) / 1024 if ok and base is not None and peak is not None else None
    print(json.dumps({"rss_mib": mib}))


def format_table(w: Workload, rows: list[Row], markdown: bool) -> str:
    scale = 1e6 if w.unit == "us" else 1e3
    unit = f"{w.unit}/op" if w.per > 1 else w.unit
    head = ["implementation", unit, "runs", f"x {w.ref}", "peak MiB (tracemalloc)",
            "peak MiB (RSS)", "note"]
    body = [[r.impl, f"{r.seconds * scale / w.per:.3f}", str(r.runs), f"{r.ratio:.2f}",
             "" if r.traced_mib is None else f"{r.traced_mib:.1f}",
             "" if r.rss_mib is None else f"{r.rss_mib:.1f}", r.note] for r in rows]
    title = f"{w.key}: {w.title}"
    extras = "; ".join(f"{k} = {v * 1e3:.0f} ms" for k, v in w.extra.items())
    if markdown:
        lines = [f"### {title}", "", "| " + " | ".join(head) + " |",
                 "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(lines + ([f"\nFirst call (compile): {extras}."] if extras else []))
    widths = [max(len(x[i]) for x in [head, *body]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{wd}}}" if i == 0 else f"{{:>{wd}}}" for i, wd in enumerate(widths))
    lines = [title, "  " + fmt.format(*head)]
    lines += ["  " + fmt.format(*b) for b in body]
    if extras:
        lines.append(f"  first call (compile): {extras}")
    return "\n".join(lines)


def _t(rows: list[Row], key: str, impl: str) -> float | None:
    return next((r.seconds for r in rows if r.workload == key and r.impl == impl), None)


def targets(rows: list[Row], extra: dict[str, dict[str, float]]) -> list[tuple[str, str, str]]:
    """(target, measured, verdict) for each target of issues 7 and 15 this run can evaluate."""
    out: list[tuple[str, str, str]] = []

    def ratio(label: str, num: float | None, den: float | None, bound: float,
              kind: str = "<=") -> None:
        if num is None or den is None:
            out.append((label, "n/a (peer missing)", "not measured"))
            return
        r = num / den
        met = r <= bound if kind == "<=" else r >= bound
        out.append((label, f"{r:.2f}", "met" if met else "NOT met"))

    ratio("W2 jit per-op / PyTorch eager <= 0.5", _t(rows, "W2", "tensorcalc jit(grad)"),
          _t(rows, "W2", "PyTorch eager backward"), 0.5)
    ratio("W2 eager per-op / HIPS autograd <= 0.5", _t(rows, "W2", "tensorcalc eager grad"),
          _t(rows, "W2", "HIPS autograd grad"), 0.5)
    jit1 = _t(rows, "W1", "tensorcalc jit(grad)")
    ratio("W1 jit / PyTorch eager <= 1.0", jit1, _t(rows, "W1", "PyTorch eager backward"), 1.0)
    ratio("W1 jit / hand-written NumPy <= 1.0", jit1,
          _t(rows, "W1", "NumPy hand-written backprop"), 1.0)
    ratio("W1 jit gradient / NumPy forward <= ~3", jit1, _t(rows, "W1", "NumPy forward only"),
          3.0)
    ratio("W1 jit / JAX jit <= 1.0 (issue 15)", jit1, _t(rows, "W1", "JAX jit(grad)"), 1.0)
    ratio("W1 jit, tiering settled / JAX jit <= 1.0", _t(rows, "W1",
          "tensorcalc jit(grad) default, warmed up"), _t(rows, "W1", "JAX jit(grad)"), 1.0)
    for key in ("W1", "W2"):
        ratio(f"{key} jit / eager <= 1 (jit must not slow it down)",
              _t(rows, key, "tensorcalc jit(grad)"), _t(rows, key, "tensorcalc eager grad"), 1.0)
    c = extra.get("W1", {}).get("tensorcalc jit compile s")
    if c is not None:
        out.append(("W1 jit(grad) compile < 0.5 s", f"{c:.3f} s", "met" if c < 0.5 else "NOT met"))
    for key, what, closed, speedup in (("W3", "jacobian", "closed form (D2 W2)(D1 W1)", None),
                                       ("W4", "hessian", "closed form A^T diag(p(1-p)) A", 5.0),
                                       ("W5", "hessian", "closed form A + A^T", 8.0)):
        eager = _t(rows, key, f"tensorcalc {what}")
        jitted = _t(rows, key, f"tensorcalc jit({what})")
        ratio(f"{key} eager / closed form <= 1.2", eager, _t(rows, key, closed), 1.2)
        if key == "W3":
            ratio("W3 eager / closed form <= 1.1 (issue 15)", eager, _t(rows, key, closed), 1.1)
        ratio(f"{key} jit / closed form <= 1.2", jitted, _t(rows, key, closed), 1.2)
        ratio(f"{key} jit / eager <= 1 (jit must not slow it down)", jitted, eager, 1.0)
        if speedup is not None:
            torch_t = _t(rows, key, "torch.func.hessian")
            ratio(f"{key} torch.func.hessian / tensorcalc eager >= {speedup:g}", torch_t,
                  eager, speedup, ">=")
            ratio(f"{key} torch.func.hessian / tensorcalc jit >= {speedup:g}", torch_t,
                  jitted, speedup, ">=")
    return out


def jit_vs_eager(keys: list[str], budget: float) -> list[tuple[str, str, str, float, float,
                                                                 float, float, int]]:
    """For each workload's (eager, jit) pair: ``(key, eager, jit, eager CPU s, jit CPU s,
    CPU ratio, wall ratio, rounds)``, the two called alternately ``rounds`` times."""
    from .speed import BUILDERS as SPEED

    none = SimpleNamespace(torch=None, jax=None, jnp=None, autograd=None, anp=None)
    out = []
    for key in keys:
        build = BUILDERS.get(key)
        w = build(none, False) if build is not None else SPEED[key](none)
        for eager, jitted in JIT_PAIRS[key]:
            fns = (w.impls[eager].fn, w.impls[jitted].fn)
            ref = flat_values(fns[0]())
            got = flat_values(fns[1]())
            if got.shape != ref.shape or not np.allclose(got, ref, rtol=1e-7, atol=1e-9):
                raise AssertionError(f"{key}: {jitted} does not match {eager}")
            t0 = time.perf_counter()
            fns[0]()
            fns[1]()
            pair = time.perf_counter() - t0
            rounds = int(min(200, max(5, budget / max(pair, 1e-7))))
            cpu: tuple[list[float], list[float]] = ([], [])
            wall: tuple[list[float], list[float]] = ([], [])
            for _ in range(rounds):
                for k, fn in enumerate(fns):
                    c0, t0 = time.thread_time(), time.perf_counter()
                    fn()
                    cpu[k].append(time.thread_time() - c0)
                    wall[k].append(time.perf_counter() - t0)
            ce, cj = (statistics.median(c) for c in cpu)
            we, wj = (statistics.median(t) for t in wall)
            out.append((key, eager, jitted, ce, cj, cj / ce, wj / we, rounds))
    return out


def print_jit_vs_eager(keys: list[str], budget: float) -> None:
    print("jit vs eager (alternating calls; ratio of median CPU time, wall time beside it)")
    print(f"  {'':4} {'eager row':<24} {'jit row':<28} {'eager ms':>10} {'jit ms':>10} "
          f"{'jit/eager':>9} {'(wall)':>7} {'rounds':>6}")
    for key, e, j, ce, cj, r, rw, n in jit_vs_eager(keys, budget):
        flag = "" if r <= 1.0 else "  <- jit slower"
        print(f"  {key:<4} {e:<24} {j:<28} {ce * 1e3:10.3f} {cj * 1e3:10.3f} {r:9.2f} "
              f"{rw:7.2f} {n:6d}{flag}", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    ap.add_argument("--only", default="W1,W2,W3,W4,W5", help="comma-separated workloads")
    ap.add_argument("--budget", type=float, default=1.0,
                    help="seconds of timed runs per implementation (default 1.0)")
    ap.add_argument("--threads", type=int, default=1, help="threads for every library")
    ap.add_argument("--rss", action="store_true", help="peak RSS per row in a child process")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc peaks")
    ap.add_argument("--slow", action="store_true", help="include HIPS autograd Hessians")
    ap.add_argument("--markdown", metavar="PATH", help="also write the tables as Markdown")
    ap.add_argument("--alternate", action="store_true",
                    help="call the rows in turn, round after round, and report median process "
                         "CPU time (a loaded machine); no memory columns")
    ap.add_argument("--jit-vs-eager", action="store_true",
                    help="alternate each workload's eager and jit rows (W1-W5, S1-S4, S6) and "
                         "print jit/eager; --only picks workloads")
    ap.add_argument("--child-rss", nargs=2, metavar=("KEY", "IMPL"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.jit_vs_eager:
        keys = list(JIT_PAIRS) if args.only == ap.get_default("only") else \
            [k.strip() for k in args.only.split(",") if k.strip()]
        print(f"machine: {machine()}\nload average at start: {load_average()}", flush=True)
        print_jit_vs_eager(keys, args.budget)
        print(f"load average at end: {load_average()}")
        return
    if args.child_rss:
        child_main(args.child_rss[0], args.child_rss[1], args.threads, args.slow)
        return
    peers = load_peers(args.threads)
    header = [f"machine: {machine()}",
              f"peers: {peer_versions(peers)}; all float64",
              f"threads: {args.threads} per library (BLAS/OpenMP env, torch.set_num_threads, "
              "XLA single-thread Eigen when 1, CPU affinity)",
              f"load average at start: {load_average()}",
              f"command: python -m bench {' '.join(argv if argv is not None else sys.argv[1:])}"]
    print("\n".join(header), flush=True)
    all_rows: list[Row] = []
    extra: dict[str, dict[str, float]] = {}
    texts: list[str] = []
    for key in [k.strip() for k in args.only.split(",") if k.strip()]:
        w = BUILDERS[key](peers, args.slow)
        rows = (run_alternating(w, args.budget) if args.alternate else
                run_workload(w, args.budget, not args.no_memory))
        if args.rss:
            for r in rows:
                r.rss_mib = child_rss(key, r.impl, args.threads, args.slow)
        all_rows += rows
        extra[key] = w.extra
        print("\n" + format_table(w, rows, False), flush=True)
        texts.append(format_table(w, rows, True))
    verdicts = targets(all_rows, extra)
    print("\ntargets (issues 7 and 15):")
    for label, got, verdict in verdicts:
        print(f"  {label:<55} {got:>22}  {verdict}")
    print(f"load average at end: {load_average()}")
    if args.markdown:
        lines = ["```", *header, f"load average at end: {load_average()}", "```"]
        target_rows = ["### Targets", "", "| target | measured | verdict |", "|---|---|---|"]
        target_rows += [f"| {a} | {b} | {c} |" for a, b, c in verdicts]
        with open(args.markdown, "w") as f:
            f.write("\n\n".join(["\n".join(lines), *texts, "\n".join(target_rows)]) + "\n")
        print(f"wrote {args.markdown}")
