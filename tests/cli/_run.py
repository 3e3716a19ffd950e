"""Run ``python -m tensorcalc`` in a subprocess with the checkout's ``src`` on the path."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run_cli(*args: str, timeout: float = 120, cwd: str | None = None
            ) -> subprocess.CompletedProcess:
    env = dict(os.environ, MPLBACKEND="Agg")
    env["PYTHONPATH"] = SRC + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return subprocess.run([sys.executable, "-m", "tensorcalc", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=cwd)
