"""Minibatches and the training loop.

``fit`` minimizes the mean loss over shuffled minibatches: for each batch ``B`` it computes
``(L_B(p), ∇_p L_B(p))`` with ``tc.value_and_grad`` (reverse mode: one backward pass whatever
the number of parameters, docs/lessons/accumulation.md) and lets the optimizer step. After each
epoch it evaluates on the validation set (if given) and stops early when the monitored loss has not
improved by ``min_delta`` for ``patience`` epochs, returning the best parameters seen.

Progress is a tqdm bar per epoch (loss, accuracy, examples per second) when tqdm is installed,
otherwise one printed line per epoch; ``progress="single"`` keeps one bar for the whole run
(its postfix names the epoch) instead of leaving one bar per epoch on screen.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from ..api import value_and_grad
from .functional import softmax_cross_entropy
from .layers import Module, as_rng
from .optim import Adam

LossFn = Callable[[Any, Any], Any]


def minibatches(X: np.ndarray, y: np.ndarray | None, batch_size: int, *, shuffle: bool = True,
                rng: Any = 0, drop_last: bool = False) -> Iterator[tuple[np.ndarray, Any]]:
    """Yield ``(X[idx], y[idx])`` for consecutive index blocks of a (shuffled) permutation.

    ``rng`` is a seed or a Generator; pass the same Generator across epochs to get a new
    order every epoch that is still reproducible from the seed.
    """
    X = np.asarray(X)
    n = X.shape[0]
    if y is not None and np.shape(y)[0] != n:
        raise ValueError(f"minibatches: X has {n} examples but y has {np.shape(y)[0]}")
    if batch_size < 1:
        raise ValueError(f"minibatches: batch_size must be >= 1, got {batch_size}")
    order = as_rng(rng).permutation(n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], (None if y is None else np.asarray(y)[idx])


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    """Fraction of rows whose arg-max matches the label (integer or one-hot)."""
    y = np.asarray(y)
    labels = y if y.ndim == np.ndim(logits) - 1 else np.argmax(y, axis=-1)
    return float(np.mean(np.argmax(logits, axis=-1) == labels))


def evaluate(model: Module, params: Any, X: np.ndarray, y: np.ndarray,
             loss_fn: LossFn = softmax_cross_entropy, batch_size: int = 1024
             ) -> tuple[float, float]:
    """Mean loss and accuracy over ``(X, y)``, in plain NumPy (nothing is traced)."""
    total, correct, n = 0.0, 0.0, X.shape[0]
    for xb, yb in minibatches(X, y, batch_size, shuffle=False):
        logits = np.asarray(model.apply(params, xb))
        total += float(loss_fn(logits, yb)) * xb.shape[0]
        correct += accuracy(logits, yb) * xb.shape[0]
    return total / n, correct / n


@dataclass
class FitResult:
    """What ``fit`` returns: the best parameters and the per-epoch history."""

    params: Any
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    seconds: float = 0.0


def _progress_bar(total: int, desc: str, enabled: bool, stream: TextIO | None) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="batch", leave=True, file=stream or sys.stderr,
                dynamic_ncols=True, mininterval=0.2)


def blas_threads(limit: int | None) -> contextlib.AbstractContextManager[Any]:
    """Limit the BLAS thread pool while training (a no-op without threadpoolctl).

    Minibatch products are small (32×256 by 256×256): threads cost more than they save, and on
    a busy machine spinning BLAS threads can slow training down several-fold. threadpoolctl
    comes with scikit-learn (the ``nn`` extra)."""
    if limit is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=limit, user_api="blas")


def fit(model: Module, params: Any, X: np.ndarray, y: np.ndarray, *,
        optimizer: Any = None, loss_fn: LossFn = softmax_cross_entropy, epochs: int = 10,
        batch_size: int = 64, validation: tuple[np.ndarray, np.ndarray] | None = None,
        patience: int | None = None, min_delta: float = 0.0, seed: int = 0,
        progress: bool | str = True, out: TextIO | None = None, threads: int | None = 1
        ) -> FitResult:
    """Train ``params`` of ``model`` on ``(X, y)``; see the module docstring.

    ``loss_fn(logits, labels)`` must return the mean loss of a batch (a scalar). ``optimizer``
    defaults to ``Adam(1e-3)``. With ``patience`` and a ``validation`` set, training stops
    early and the parameters of the best validation epoch are returned; otherwise the final
    parameters are. ``threads`` caps the BLAS threads during training (``None``: no cap).
    """
    with blas_threads(threads):
        return _fit(model, params, X, y, optimizer, loss_fn, epochs, batch_size, validation,
                    patience, min_delta, seed, progress, out)


def _fit(model: Module, params: Any, X: np.ndarray, y: np.ndarray, optimizer: Any,
         loss_fn: LossFn, epochs: int, batch_size: int,
         validation: tuple[np.ndarray, np.ndarray] | None, patience: int | None,
         min_delta: float, seed: int, progress: bool | str, out: TextIO | None) -> FitResult:
    if epochs < 1:
        raise ValueError(f"fit: epochs must be >= 1, got {epochs}")
    if patience is not None and patience < 1:
        raise ValueError(f"fit: patience must be >= 1 or None, got {patience}")
    X, y = np.asarray(X), np.asarray(y)
    optimizer = optimizer or Adam(1e-3)
    state = optimizer.init(params)
    rng = as_rng(seed)
    out = out or sys.stdout

    def objective(p: Any, xb: np.ndarray, yb: np.ndarray) -> tuple[Any, Any]:
        logits = model.apply(p, xb)
        return loss_fn(logits, yb), logits

    step = value_and_grad(objective, has_aux=True)
    result = FitResult(params)
    best = np.inf
    since_best = 0
    start = time.perf_counter()
    steps_per_epoch = -(-X.shape[0] // batch_size)
    single = progress == "single"
    run_bar = _progress_bar(epochs * steps_per_epoch, "training", single, None)
    for epoch in range(1, epochs + 1):
        bar = run_bar if single else _progress_bar(steps_per_epoch, f"epoch {epoch}/{epochs}",
                                                    bool(progress), None)
        t0 = time.perf_counter()
        loss_sum, correct, seen = 0.0, 0.0, 0
        for xb, yb in minibatches(X, y, batch_size, rng=rng):
            (loss, logits), grads = step(params, xb, yb)
            params, state = optimizer.update(grads, state, params)
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"fit: the loss became {float(loss)} at epoch {epoch}; lower the learning "
                    "rate or check the inputs for NaN/inf")
            m = xb.shape[0]
            loss_sum += float(loss) * m
            correct += accuracy(np.asarray(logits), yb) * m
            seen += m
            if bar is not None:
                rate = seen / max(time.perf_counter() - t0, 1e-9)
                bar.set_postfix(epoch=f"{epoch}/{epochs}", loss=f"{loss_sum / seen:.4f}",
                                acc=f"{correct / seen:.3f}", ex_per_s=f"{rate:,.0f}",
                                refresh=False)
                bar.update(1)
        seconds = time.perf_counter() - t0
        record = {"epoch": epoch, "loss": loss_sum / seen, "accuracy": correct / seen,
                  "seconds": seconds, "examples_per_s": seen / max(seconds, 1e-9)}
        if validation is not None:
            record["val_loss"], record["val_accuracy"] = evaluate(
                model, params, validation[0], validation[1], loss_fn)
        result.history.append(record)
        if bar is not None:
            if validation is not None:
                bar.set_postfix(epoch=f"{epoch}/{epochs}", loss=f"{record['loss']:.4f}",
                                acc=f"{record['accuracy']:.3f}",
                                val_acc=f"{record['val_accuracy']:.3f}",
                                ex_per_s=f"{record['examples_per_s']:,.0f}")
            if not single:
                bar.close()
        elif progress:
            out.write(_epoch_line(record, epochs))
            out.flush()
        monitored = record.get("val_loss", record["loss"])
        if monitored < best - min_delta:
            best, since_best = monitored, 0
            result.params, result.best_epoch = params, epoch
        else:
            since_best += 1
            if patience is not None and since_best >= patience:
                result.stopped_early = True
                break
    if run_bar is not None:
        run_bar.total = run_bar.n  # an early stop ends the run before the planned total
        run_bar.refresh()
        run_bar.close()
    if patience is None:
        result.params, result.best_epoch = params, len(result.history)
    result.seconds = time.perf_counter() - start
    return result


def _epoch_line(record: dict[str, float], epochs: int) -> str:
    line = (f"  epoch {record['epoch']:>3}/{epochs}  loss {record['loss']:.4f}  "
            f"acc {record['accuracy']:.3f}")
    if "val_loss" in record:
        line += f"  val_loss {record['val_loss']:.4f}  val_acc {record['val_accuracy']:.3f}"
    return line + f"  {record['examples_per_s']:,.0f} ex/s\n"
