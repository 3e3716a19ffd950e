"""``tensorcalc train digits``: a short run, plot and saved parameters; bad arguments."""

import pytest

from tests.cli._run import run_cli


def test_train_digits_short(tmp_path):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    plot = tmp_path / "loss.png"
    saved = tmp_path / "params.npz"
    res = run_cli("train", "digits", "--hidden", "64", "--epochs", "6", "--lr", "0.003",
                  "--seed", "0", "--no-progress", "--plot", str(plot), "--save", str(saved),
                  timeout=300)
    assert res.returncode == 0, res.stderr
    line = next(s for s in res.stdout.splitlines() if s.startswith("test accuracy:"))
    accuracy = float(line.split()[2].rstrip("%")) / 100
    assert accuracy >= 0.93
    assert plot.read_bytes()[:4] == b"\x89PNG"
    import tensorcalc.nn as nn

    params = nn.load(saved)
    assert params[0]["W"].shape == (64, 64)


@pytest.mark.parametrize("args, message", [
    (["train", "mnist"], "invalid choice"),
    (["train", "digits", "--hidden", "a,b"], "comma-separated integers"),
    (["train", "digits", "--epochs", "0"], "--epochs must be >= 1"),
    (["train", "digits", "--lr", "-1"], "--lr must be > 0"),
    (["train", "digits", "--batch-size", "0"], "--batch-size must be >= 1"),
    (["train", "digits", "--patience", "-2"], "--patience must be >= 0"),
])
def test_train_usage_errors(args, message):
    res = run_cli(*args)
    assert res.returncode == 2
    assert message in res.stderr


@pytest.mark.parametrize("option", ["--save", "--plot"])
def test_train_unwritable_output_fails_before_training(tmp_path, option):
    # Used to train to the end and then die with a traceback, losing the parameters.
    missing = tmp_path / "no-such-dir" / "out.npz"
    res = run_cli("train", "digits", "--epochs", "1", "--no-progress", option, str(missing))
    assert res.returncode == 2
    assert "does not exist" in res.stderr and "Traceback" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    assert "test accuracy" not in res.stdout
    directory = tmp_path / "d.npz"
    directory.mkdir()
    res = run_cli("train", "digits", "--epochs", "1", "--no-progress", option, str(directory))
    assert res.returncode == 2 and "is a directory" in res.stderr
