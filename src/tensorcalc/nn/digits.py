"""Train an MLP on scikit-learn's 8×8 digits (1,797 images, 10 classes; shipped with
scikit-learn, no download).

Pixels (0–16) are scaled to ``[0, 1]`` and centred with the training mean; the split is a
stratified 75/25 train/test split from the seed, and 10% of the training part is held out for
validation (early stopping). The model is ``MLP(64, hidden, 10)`` with relu, trained with Adam
on the softmax cross-entropy, whose logits gradient is ``ŷ − y`` (docs/lessons/networks.md).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np

from .layers import MLP
from .optim import Adam
from .train import evaluate, fit


@dataclass
class DigitsReport:
    test_accuracy: float
    train_accuracy: float
    epochs_run: int
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)
    params: Any = None
    model: Any = None


def load_digits_split(seed: int = 0, test_size: float = 0.25
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X_train, y_train, X_test, y_test)``, features scaled to [0, 1] and centred."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as exc:
        raise ImportError(
            "the digits data set comes with scikit-learn, which is not installed; install the "
            "nn extra: pip install 'tensorcalc[nn]'") from exc
    data = load_digits()
    X = data.data.astype(np.float64) / 16.0
    y = data.target.astype(np.int64)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, random_state=seed, stratify=y)
    mean = X_train.mean(axis=0)
    return X_train - mean, y_train, X_test - mean, y_test


def train_digits(hidden: Sequence[int] = (256, 256), epochs: int = 30, seed: int = 0,
                 lr: float = 1e-3, batch_size: int = 32, patience: int | None = 8,
                 progress: bool | str = True, out: TextIO | None = None,
                 plot: str | None = None) -> DigitsReport:
    """Train and report test accuracy; ``plot`` writes the loss curves to that image file."""
    out = out or sys.stdout
    start = time.perf_counter()
    X_train, y_train, X_test, y_test = load_digits_split(seed)
    rng = np.random.default_rng(seed)
    held = rng.permutation(X_train.shape[0])
    n_val = max(1, X_train.shape[0] // 10)
    val_idx, fit_idx = held[:n_val], held[n_val:]
    model = MLP(X_train.shape[1], hidden, 10)
    params = model.init(rng)
    sizes = " -> ".join(str(s) for s in model.sizes)
    out.write(f"  digits: {fit_idx.size} train / {n_val} validation / {X_test.shape[0]} test "
              f"images; MLP {sizes} (relu), Adam lr={lr}, batch {batch_size}\n")
    out.flush()
    result = fit(model, params, X_train[fit_idx], y_train[fit_idx], optimizer=Adam(lr),
                 epochs=epochs, batch_size=batch_size,
                 validation=(X_train[val_idx], y_train[val_idx]), patience=patience, seed=seed,
                 progress=progress, out=out)
    _, test_acc = evaluate(model, result.params, X_test, y_test)
    _, train_acc = evaluate(model, result.params, X_train, y_train)
    if result.stopped_early:
        out.write(f"  early stop after epoch {len(result.history)}; best validation loss at "
                  f"epoch {result.best_epoch}\n")
    if plot:
        plot_history(result.history, plot)
        out.write(f"  loss curves written to {plot}\n")
    return DigitsReport(test_acc, train_acc, len(result.history), time.perf_counter() - start,
                        result.history, result.params, model)


def plot_history(history: list[dict[str, float]], path: str) -> None:
    """Training and validation loss per epoch, saved with matplotlib's Agg backend."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError("plotting needs matplotlib: pip install 'tensorcalc[nn]'") from exc
    epochs = [h["epoch"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [h["loss"] for h in history], marker="o", label="train loss")
    if history and "val_loss" in history[0]:
        ax.plot(epochs, [h["val_loss"] for h in history], marker="o", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("softmax cross-entropy")
    ax.set_title("MLP on digits (tensorcalc.nn)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
