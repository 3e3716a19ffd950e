"""Array backends: tensorcalc on torch CPU tensors against PyTorch's own autograd, and a Dask
gradient that scales with the rows on a two-worker ``dask.distributed.LocalCluster``.

B1 (torch CPU, float64): the digits MLP 64-256-256-10 of W1 (full batch 1797), gradient of the
   mean softmax cross-entropy: ``tc.grad`` eager and ``tc.jit(tc.grad)`` on torch tensors,
   against PyTorch eager ``loss.backward()`` on the same tensors (targets: jit within 1.3×,
   eager within 2×).
B2 (Dask): gradient of the logistic loss ``mean(log(1 + exp(−y·Xw)))`` over ``rows × 20``
   float64 data made on the workers in chunks of ``CHUNK`` rows (the client never holds it), on
   a LocalCluster of 2 single-threaded worker processes bound to 127.0.0.1: wall time per size
   (one ``.compute()`` of the lazy gradient), time per row, and each worker's peak resident
   memory, polled while it computes; ``tc.grad`` (one fused task per row chunk) next to the
   unfused graph of the same gradient (``tc.vjp``'s pullback) in the same run.

GPU (CuPy, torch CUDA) figures need a machine with a GPU; this script reports them as pending
when none is present, and never reports a CPU number as a GPU one.

``python -m bench.backends [--rows 1e6,2e6,4e6] [--chunk 1e6] [--repeat 5] [--skip-torch]``
"""

from __future__ import annotations

import argparse
import os
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


def _median_s(fn: Any, repeat: int, number: int = 1) -> float:
    fn()  # warm up (and compile, for jit)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return statistics.median(times)


def torch_mlp(repeat: int) -> dict[str, float]:
    import torch

    X, Y = digits()
    params = init_mlp(np.random.default_rng(0))
    tp = [(torch.asarray(W), torch.asarray(b)) for W, b in params]
    Xt, Yt = torch.asarray(X), torch.asarray(Y)
    g = tc.grad(mlp_loss)
    gj = tc.jit(tc.grad(mlp_loss))
    torch_backward = _torch_mlp_grad(torch, params, X, Y)  # W1's PyTorch peer, same tensors
    ref = tc.core.tree_leaves(torch_backward())
    got = tc.core.tree_leaves(gj(tp, Xt, Yt))
    err = max(float((a - b).abs().max()) for a, b in zip(got, ref, strict=True))
    return {
        "PyTorch eager backward": _median_s(torch_backward, repeat),
        "tensorcalc eager grad (torch)": _median_s(lambda: g(tp, Xt, Yt), repeat),
        "tensorcalc jit(grad) (torch)": _median_s(lambda: gj(tp, Xt, Yt), repeat),
        "tensorcalc jit(grad) (NumPy arrays)": _median_s(lambda: _NP_JIT(params, X, Y), repeat),
        "max |tc − torch| of the gradient": err,
    }


_NP_JIT = tc.jit(tc.grad(mlp_loss))


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
    ap.add_argument("--skip-torch", action="store_true", help="B2 only")
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
        res = torch_mlp(args.repeat)
    except ImportError as err:
        print(f"B1 skipped: {err}")
    else:
        ref = res["PyTorch eager backward"]
        print("B1  digits MLP gradient, torch CPU float64 tensors (median s, ratio to torch)")
        for k, v in res.items():
            if k.startswith("max"):
                print(f"    {k:40s} {v:.2e}")
            else:
                print(f"    {k:40s} {v * 1e3:9.2f} ms  {v / ref:5.2f}x")
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
