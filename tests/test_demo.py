"""``python -m tensorcalc.demo`` runs, exits 0 and prints the network-gradients lesson with
every result checked."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

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


def test_demo_main_in_process_returns_zero(monkeypatch):
    # Only the fast sections: training is covered by tests/nn.
    monkeypatch.setattr(demo, "SECTIONS", [s for s in demo.SECTIONS if s[0] != "digits training"])
    buf = io.StringIO()
    assert demo.main([], out=buf) == 0
    assert "Forward versus reverse accumulation" in buf.getvalue()
