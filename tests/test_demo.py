"""``python -m tensorcalc.demo`` runs, exits 0 and prints the network-gradients lesson with
every result checked."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tensorcalc import demo
from tensorcalc.explain import networks

SRC = str(Path(__file__).resolve().parents[1] / "src")


def test_network_gradient_results_all_check_out():
    results = networks.compute(seed=0)
    assert [r.section for r in results] == [f"({i})" for i in range(1, 8)]
    for r in results:
        assert r.ok, r


def test_network_gradients_section_printed():
    buf = io.StringIO()
    assert networks.run(buf)
    text = buf.getvalue()
    assert "dJ/dtheta = y_hat - y" in text
    assert "7/7 results agree" in text
    assert "MISMATCH" not in text


def test_demo_module_runs():
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
               MPLBACKEND="Agg")
    # --quick leaves out the training run (tests/nn trains on digits).
    proc = subprocess.run([sys.executable, "-m", "tensorcalc.demo", "--quick"],
                          capture_output=True,
                          text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert networks.TITLE in out
    for i in range(1, 8):
        assert f"  ({i}) " in out
    assert "7/7 results agree" in out
    assert "660" in out and "124" in out
    assert "Every computed result matched its check." in out
    assert "left out (--quick)" in out
    # the code behind each result, jit, a Hessian, vmap, and where to go next
    assert "  >>> tc.jacobian(lambda x: W @ x)(x)" in out
    assert '  >>> d = tensorcalc.symbolic.derivative("x\' * A * x", "x")' in out
    assert "  >>> print(tc.chain_cost([10, 6, 8, 2, 1]))" in out
    assert "tc.jit(tc.grad(" in out and "def jit_grad_f(x1, x2):" in out
    assert "jit(grad) vs grad: 0.0e+00" in out
    assert "tc.hessian(" in out and "H.shape = (4, 4)" in out
    assert "tc.vmap(tc.grad(loss), in_axes=(None, 0, 0))" in out
    assert "per_example.shape = (8, 3, 4)" in out
    tail = out[out.index("Next:"):]
    assert "docs/lessons/README.md" in tail and "tensorcalc serve" in tail


def test_demo_main_in_process_returns_zero(monkeypatch):
    # Only the fast sections: training is covered by tests/nn.
    monkeypatch.setattr(demo, "SECTIONS", [s for s in demo.SECTIONS if s[0] != "digits training"])
    buf = io.StringIO()
    assert demo.main([], out=buf) == 0
    assert "Forward versus reverse accumulation" in buf.getvalue()


def test_demo_sections_show_code_under_their_headers():
    buf = io.StringIO()
    assert demo.main(["--quick"], out=buf) == 0
    lines = buf.getvalue().splitlines()
    for title in (networks.TITLE, "Compiled derivatives, a Hessian, and vmap"):
        i = lines.index(title)
        assert set(lines[i + 1]) == {"="} and lines[i + 2].startswith("  >>> ")


def test_demo_training_asks_for_one_progress_bar(monkeypatch):
    import tensorcalc.nn.digits as digits

    calls = {}

    class Report:
        test_accuracy, train_accuracy, epochs_run, seconds = 0.98, 1.0, 3, 0.1

    def fake_train_digits(**kwargs):
        calls.update(kwargs)
        return Report()

    monkeypatch.setattr(digits, "train_digits", fake_train_digits)
    buf = io.StringIO()
    assert demo._training(buf)
    assert calls["progress"] == "single"
    assert "  >>> report = tensorcalc.nn.digits.train_digits(" in buf.getvalue()


def test_fit_single_progress_leaves_one_bar(capsys):
    pytest.importorskip("tqdm")
    import numpy as np

    from tensorcalc.nn import MLP, fit

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 4)), rng.integers(0, 3, 64)
    model = MLP(4, (8,), 3)
    fit(model, model.init(rng), X, y, epochs=3, batch_size=16, progress="single")
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "training" in err and "epoch=3/3" in err
    fit(model, model.init(rng), X, y, epochs=3, batch_size=16, progress=True)
    assert capsys.readouterr().err.count("\n") == 3


def test_make_first_install_shows_progress():
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    recipe = makefile.split("$(STAMP): pyproject.toml\n", 1)[1].split("\n\n", 1)[0]
    assert "@echo" in recipe.splitlines()[0]
    (install,) = [line for line in recipe.splitlines() if '-e ".[test,nn]"' in line]
    assert "--quiet" not in install
