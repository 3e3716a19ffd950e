"""Array backends: tensorcalc on torch CPU tensors against PyTorch's own autograd, and a Dask
gradient that scales with the rows on a two-worker ``dask.distributed.LocalCluster``.

B1 (torch CPU, float64 and float32): the digits MLP 64-256-256-10 of W1 (full batch 1797),
   gradient of the mean softmax cross-entropy: ``tc.grad`` eager and ``tc.jit(tc.grad)`` on
   torch tensors, against PyTorch eager ``loss.backward()`` on the same tensors (targets, for
   float64: jit within 1.3×, eager within 2×). The entries are timed in turn in one loop and
   both the wall and the process-CPU medians are printed (torch on 1 thread by default).
   B1b: W4's logistic Hessian (A 2000×500) on torch float64 tensors (reported, no target).
B2 (Dask): gradient of the logistic loss ``mean(log(1 + exp(−y·Xw)))`` over ``rows × 20``
   float64 data made on the workers in chunks of ``CHUNK`` rows (the client never holds it), on
   a LocalCluster of 2 single-threaded worker processes bound to 127.0.0.1: wall time per size
   (one ``.compute()`` of the lazy gradient), time per row, and each worker's peak resident
   memory, polled while it computes; ``tc.grad`` (one fused task per row chunk) next to the
   unfused graph of the same gradient (``tc.vjp``'s pullback) in the same run.

GPU (CuPy, torch CUDA) figures need a machine with a GPU; this script reports them as pending
when none is present, and never reports a CPU number as a GPU one.

``python -m bench.backends [--rows 1e6,2e6,4e6] [--chunk 1e6] [--repeat 5] [--skip-dask]
[--dtypes float64,float32] [--skip-hessian] [--skip-torch]``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
from typing import Any

import numpy as np

try:
    import tensorcalc as tc
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    import tensorcalc as tc
import tensorcalc.numpy as tnp

from .overhead import _torch_mlp_grad, digits, init_mlp, mlp_loss


def _interleaved(fns: dict[str, Any], repeat: int) -> dict[str, tuple[float, float, float]]:
    """``{name: (median wall s, median CPU s, minor page faults per call)}``, the peers timed in
    turn in one loop (each round runs every entry once), so a burst of load on the shared
    machine hits all of them alike. The CPU time (all threads of this process: NumPy's BLAS may
    run several) is the computation's own work, which other processes' load inflates far less
    than the wall time; page faults count the fresh memory each call touches (kernel time that
    grows with the load)."""
    for fn in fns.values():
        fn()  # warm up (and compile, for jit)
    wall: dict[str, list[float]] = {k: [] for k in fns}
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    faults = dict.fromkeys(fns, 0)
    for _ in range(repeat):
        for k, fn in fns.items():
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            c0, t0 = time.process_time(), time.perf_counter()
            fn()
            wall[k].append(time.perf_counter() - t0)
            cpu[k].append(time.process_time() - c0)
            faults[k] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
    return {k: (statistics.median(wall[k]), statistics.median(cpu[k]), faults[k] / repeat)
            for k in fns}


def torch_mlp(repeat: int, dtype: str = "float64"
              ) -> tuple[dict[str, tuple[float, float, float]], float]:
    """B1: the timings and the largest difference from PyTorch's gradient."""
    import torch

    X, Y = (a.astype(dtype) for a in digits())
    params = [(W.astype(dtype), b.astype(dtype)) for W, b in init_mlp(np.random.default_rng(0))]
    tp = [(torch.asarray(W), torch.asarray(b)) for W, b in params]
    Xt, Yt = torch.asarray(X), torch.asarray(Y)
    g = tc.grad(mlp_loss)
    gj = tc.jit(tc.grad(mlp_loss))
    torch_backward = _torch_mlp_grad(torch, params, X, Y)  # W1's PyTorch peer, same tensors
    ref = tc.core.tree_leaves(torch_backward())
    got = tc.core.tree_leaves(gj(tp, Xt, Yt))
    err = max(float((a - b).abs().max()) for a, b in zip(got, ref, strict=True))
    np_jit = tc.jit(tc.grad(mlp_loss))
    return _interleaved({
        "PyTorch eager backward": torch_backward,
        "tensorcalc eager grad (torch)": lambda: g(tp, Xt, Yt),
        "tensorcalc jit(grad) (torch)": lambda: gj(tp, Xt, Yt),
        "tensorcalc jit(grad) (NumPy arrays)": lambda: np_jit(params, X, Y),
    }, repeat), err


def torch_logistic_hessian(repeat: int, n: int = 2000, d: int = 500
                           ) -> tuple[dict[str, tuple[float, float, float]], float]:
    """B1b: W4's Hessian of Σ log(1 + exp(−y ⊙ A w)) on torch CPU float64 tensors (no target):
    the closed form Aᵀ diag(p(1 − p)) A in torch, ``torch.func.hessian``, and tensorcalc."""
    import torch

    rng = np.random.default_rng(0)
    A, y = rng.standard_normal((n, d)), np.sign(rng.standard_normal(n))
    tA, ty, tw = (torch.asarray(a) for a in (A, y, 0.01 * rng.standard_normal(d)))

    def loss(v: Any, A: Any, y: Any) -> Any:
        return tnp.sum(tnp.log(1 + tnp.exp(-y * (A @ v))))

    def closed() -> Any:
        p = 1 / (1 + torch.exp(-ty * (tA @ tw)))
        return (tA.T * (p * (1 - p))) @ tA

    h, hj = tc.hessian(loss), tc.jit(tc.hessian(loss))
    th = torch.func.hessian(lambda v: torch.sum(torch.log(1 + torch.exp(-ty * (tA @ v)))))
    err = float((hj(tw, tA, ty) - closed()).abs().max())
    return _interleaved({
        "closed form in torch": closed,
        "torch.func.hessian": lambda: th(tw),
        "tensorcalc eager hessian (torch)": lambda: h(tw, tA, ty),
        "tensorcalc jit(hessian) (torch)": lambda: hj(tw, tA, ty),
    }, repeat), err




def logistic_loss(w: Any, X: Any, y: Any) -> Any:
    z = tnp.matmul(X, w)
    return tnp.mean(tnp.logaddexp(0.0, tnp.multiply(tnp.negative(y), z)))


def dask_scaling(rows: list[int], chunk: int, repeat: int, features: int = 20
                 ) -> list[dict[str, float]]:
    """B2: per size, the lazy ``tc.grad`` (one fused task per row chunk) and, in the same run,
    the unfused graph of the same gradient (``tc.vjp``'s pullback, which is not fused)."""
    import dask.array as da
    import distributed
    import psutil

    results = []
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  host="127.0.0.1", dashboard_address=None,
                                  memory_limit="4GiB") as cluster, \
            distributed.Client(cluster) as client:
        w = da.asarray(np.linspace(-0.5, 0.5, features))
        for n in rows:
            X = da.random.default_rng(0).standard_normal((n, features), chunks=(chunk, features))
            y = da.sign(X[:, 0] + 0.1)
            g = tc.grad(logistic_loss)(w, X, y)
            unfused = tc.vjp(logistic_loss, w, X, y)[1](np.ones(()))[0]
            assert isinstance(g, da.Array) and isinstance(unfused, da.Array)
            row = {"rows": n, "chunks": -(-n // chunk), "chunk_MiB": chunk * features * 8 / 2**20,
                   "load_before": os.getloadavg()[0]}
            values = []
            for label, arr in (("fused", g), ("unfused", unfused)):
                wall, cpu, peak, value = _timed_computes(client, arr, repeat, psutil)
                row[f"{label}_s"], row[f"{label}_cpu_s"] = wall, cpu
                row[f"{label}_peak_MiB"] = peak
                values.append(value)
            row["max_diff"] = float(np.max(np.abs(values[0] - values[1])))
            row["load_after"] = os.getloadavg()[0]
            results.append(row)
    return results


def _print_b1(title: str, res: dict[str, tuple[float, float, float]], err: float,
              ref_name: str, err_name: str) -> None:
    ref_wall, ref_cpu, _ = res[ref_name]
    print(f"{title} (medians of interleaved rounds; ratio to {ref_name})")
    print(f"    {'':40s} {'wall':>9s}  {'ratio':>6s}  {'CPU':>9s}  {'ratio':>6s}  page faults")
    for k, (wall, cpu, faults) in res.items():
        print(f"    {k:40s} {wall * 1e3:6.2f} ms  {wall / ref_wall:5.2f}x  "
              f"{cpu * 1e3:6.2f} ms  {cpu / ref_cpu:5.2f}x  {faults:7.0f}")
    print(f"    {err_name:40s} {err:.2e}")
def _timed_computes(client: Any, arr: Any, repeat: int, psutil: Any
                    ) -> tuple[float, float, float, Any]:
    """Median wall time of ``repeat`` computes of ``arr`` (after one warm-up), the median CPU
    time they took (both workers, plus this process, which runs the scheduler: CPU time grows
    little with the machine's load, wall time grows with it), the largest worker resident
    memory seen meanwhile (MiB), and the value."""
    value = client.compute(arr).result()  # also warms the workers' imports
    client.run(_collect_garbage)
    peaks: dict[str, int] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_poll_rss, args=(client, peaks, stop, psutil),
                               daemon=True)
    watcher.start()
    times, cpus = [], []
    for _ in range(repeat):
        c0 = _cpu_seconds(client, psutil)
        t0 = time.perf_counter()
        client.compute(arr).result()
        times.append(time.perf_counter() - t0)
        cpus.append(_cpu_seconds(client, psutil) - c0)
    stop.set()
    watcher.join()
    return statistics.median(times), statistics.median(cpus), max(peaks.values()) / 2**20, value


def _cpu_seconds(client: Any, psutil: Any) -> float:
    """User + system CPU seconds of the worker processes and of this one (the scheduler)."""
    def used() -> float:
        t = psutil.Process().cpu_times()
        return t.user + t.system

    return sum(client.run(used).values()) + used()


def _collect_garbage() -> None:
    import gc

    gc.collect()


def _poll_rss(client: Any, peaks: dict[str, int], stop: threading.Event, psutil: Any) -> None:
    """Each worker's peak resident memory, sampled every 0.1 s until ``stop``."""
    while not stop.is_set():
        for addr, rss in client.run(lambda: psutil.Process().memory_info().rss).items():
            peaks[addr] = max(peaks.get(addr, 0), rss)
        time.sleep(0.1)


def _gpu_status() -> str:
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
    except Exception:  # noqa: BLE001 - no CuPy or no CUDA device: nothing to measure
        return "pending: no GPU machine was available (CuPy / CUDA not usable here)"
    return "a GPU is present: run the CuPy / torch-CUDA variants (not implemented in this script)"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="1e6,2e6,4e6")
    ap.add_argument("--chunk", default="1e6")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--skip-hessian", action="store_true")
    ap.add_argument("--skip-torch", action="store_true", help="B2 only")
    ap.add_argument("--dtypes", default="float64,float32", help="B1's torch dtypes")
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="torch intra-op threads (1: steadier on a shared machine)")
    args = ap.parse_args(argv)
    try:
        import torch

        torch.set_num_threads(args.torch_threads)
    except ImportError:
        pass
    print(f"load average: {os.getloadavg()}")
    try:
        if args.skip_torch:
            raise ImportError("--skip-torch")
        import torch  # noqa: F401
    except ImportError as err:
        print(f"B1 skipped: {err}")
    else:
        for dtype in args.dtypes.split(","):
            res, err = torch_mlp(args.repeat, dtype)
            _print_b1(f"B1  digits MLP gradient, torch CPU {dtype} tensors", res, err,
                      "PyTorch eager backward", "max |tc jit − torch| of the gradient")
        if not args.skip_hessian:
            res, err = torch_logistic_hessian(args.repeat)
            _print_b1("B1b W4 logistic Hessian (A 2000×500), torch CPU float64", res, err,
                      "closed form in torch", "max |tc jit − closed form|")
        print(f"    load average after B1: {os.getloadavg()}")
    if not args.skip_dask:
        rows = [int(float(r)) for r in args.rows.split(",")]
        try:
            res2 = dask_scaling(rows, int(float(args.chunk)), args.repeat)
        except ImportError as err:
            print(f"B2 skipped: {err}")
        else:
            print("B2  logistic-loss gradient on Dask, 2-worker LocalCluster (median wall s; "
                  "per 10^6 rows; ratio of time per row to the smallest size)")
            base = res2[0]
            for r in res2:
                per = {k: r[f"{k}_s"] / (r["rows"] / 1e6) for k in ("fused", "unfused")}
                scale = {k: per[k] / (base[f"{k}_s"] / (base["rows"] / 1e6)) for k in per}
                print(f"    rows {r['rows']:>10,d} ({r['chunks']:3d} chunks of "
                      f"{r['chunk_MiB']:.0f} MiB)  load {r['load_before']:4.1f}-"
                      f"{r['load_after']:4.1f}  max |fused - unfused| {r['max_diff']:.1e}")
                for k in ("fused", "unfused"):
                    cpu = r[f"{k}_cpu_s"] / (r["rows"] / 1e6)
                    cpu_scale = cpu / (base[f"{k}_cpu_s"] / (base["rows"] / 1e6))
                    print(f"      {k:8s} {r[f'{k}_s']:7.3f} s  {per[k]:6.3f} s/1e6 rows  "
                          f"scaling {scale[k]:4.2f}  CPU {cpu:6.3f} s/1e6 rows (scaling "
                          f"{cpu_scale:4.2f})  peak worker RSS {r[f'{k}_peak_MiB']:7.1f} MiB")
    print(f"GPU: {_gpu_status()}")


if __name__ == "__main__":
    main()
