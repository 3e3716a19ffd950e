"""Minibatches, the fit loop (progress, early stopping) and a short digits run."""

import io

import numpy as np
import pytest

import tensorcalc.nn as nn


def test_minibatches_cover_every_example_once():
    X = np.arange(10)[:, None]
    y = np.arange(10)
    batches = list(nn.minibatches(X, y, 3, rng=0))
    assert [len(b[0]) for b in batches] == [3, 3, 3, 1]
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen) == list(range(10))
    np.testing.assert_array_equal(np.concatenate([b[0][:, 0] for b in batches]), seen)
    again = np.concatenate([b[1] for b in nn.minibatches(X, y, 3, rng=0)])
    np.testing.assert_array_equal(seen, again)
    assert [len(b[0]) for b in nn.minibatches(X, y, 3, drop_last=True)] == [3, 3, 3]


def test_minibatch_errors():
    with pytest.raises(ValueError, match="10 examples but y has 9"):
        list(nn.minibatches(np.zeros((10, 2)), np.zeros(9), 2))


def _blobs(rng, n=200):
    centers = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    labels = rng.integers(0, 3, n)
    return centers[labels] + 0.5 * rng.standard_normal((n, 2)), labels


def test_fit_learns_blobs_and_prints_progress(rng):
    X, y = _blobs(rng)
    model = nn.MLP(2, [16], 3)
    out = io.StringIO()
    # progress without tqdm's bar: tqdm writes to stderr, so ask for plain lines via a stream
    res = nn.fit(model, model.init(0), X, y, optimizer=nn.Adam(0.05), epochs=15,
                 batch_size=32, seed=0, progress=False, out=out)
    assert len(res.history) == 15
    assert res.history[-1]["loss"] < res.history[0]["loss"]
    assert nn.evaluate(model, res.params, X, y)[1] > 0.95


def test_fit_plain_progress_lines_without_tqdm(rng, monkeypatch):
    import tensorcalc.nn.train as train

    monkeypatch.setattr(train, "_progress_bar", lambda *a, **k: None)
    X, y = _blobs(rng, 60)
    model = nn.MLP(2, [4], 3)
    out = io.StringIO()
    nn.fit(model, model.init(0), X, y, epochs=2, validation=(X, y), out=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "epoch   1/2" in lines[0] and "val_acc" in lines[0] and "ex/s" in lines[0]


def test_early_stopping_restores_best(rng):
    X, y = _blobs(rng, 90)
    model = nn.MLP(2, [8], 3)
    # A huge learning rate with SGD makes validation loss bounce; patience 1 must stop early.
    res = nn.fit(model, model.init(0), X, y, optimizer=nn.SGD(lr=5.0), epochs=30,
                 validation=(X, y), patience=1, progress=False)
    assert res.stopped_early
    best = min(h["val_loss"] for h in res.history)
    assert res.history[res.best_epoch - 1]["val_loss"] == best
    assert nn.evaluate(model, res.params, X, y)[0] == pytest.approx(best)


def test_fit_errors():
    model = nn.MLP(2, [4], 3)
    with pytest.raises(ValueError, match="epochs"):
        nn.fit(model, model.init(0), np.zeros((4, 2)), np.zeros(4, int), epochs=0)


def test_digits_short_run_reaches_floor():
    pytest.importorskip("sklearn")
    from tensorcalc.nn.digits import train_digits

    out = io.StringIO()
    report = train_digits(hidden=(64,), epochs=8, seed=0, lr=3e-3, patience=None,
                          progress=False, out=out)
    assert report.test_accuracy >= 0.95
    assert report.epochs_run == 8
    assert "MLP 64 -> 64 -> 10" in out.getvalue()


def test_digits_plot(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    from tensorcalc.nn.digits import plot_history

    path = tmp_path / "loss.png"
    plot_history([{"epoch": 1, "loss": 1.0, "val_loss": 1.2},
                  {"epoch": 2, "loss": 0.5, "val_loss": 0.7}], str(path))
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_fit_tqdm_bar_shows_loss_accuracy_and_throughput(rng, capsys):
    pytest.importorskip("tqdm")
    X, y = _blobs(rng, 64)
    model = nn.MLP(2, [4], 3)
    nn.fit(model, model.init(0), X, y, epochs=1, batch_size=16, validation=(X, y))
    err = capsys.readouterr().err
    assert "epoch 1/1" in err
    for key in ("loss=", "acc=", "ex_per_s=", "val_acc="):
        assert key in err
