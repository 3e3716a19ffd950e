"""Stopping the server by signal: no worker outlives it, busy or not (Linux: reads /proc)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads process states from /proc")

ROOT = Path(__file__).resolve().parents[2]
SERVER = """
import sys
import tensorcalc.web.app as app
app.TASKS["derive"] = "tests.web.slow_tasks:sleepy_pid"
from tensorcalc.web.server import serve
serve("127.0.0.1", int(sys.argv[1]), workers=1, time_limit=60, quiet=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")  # a zombie no longer runs; a container's init may not reap it


def _wait(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _post_derive(port: int) -> None:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/derive",
                                 data=json.dumps({"expression": "x'*x"}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    try:
        urllib.request.urlopen(req, timeout=30).read()
    except OSError:
        pass  # the server goes away mid-request: that is the point


def _busy_server(tmp_path: Path):
    """A served app whose one worker is busy with a 60 s task; returns (proc, worker pid)."""
    port, pidfile = _free_port(), tmp_path / "worker.pid"
    env = dict(os.environ, TENSORCALC_TEST_PIDFILE=str(pidfile),
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]))
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):
                return True
        except OSError:
            return False

    assert _wait(healthy, 60), "the server did not become healthy"
    threading.Thread(target=_post_derive, args=(port,), daemon=True).start()
    assert _wait(lambda: pidfile.exists() and pidfile.read_text(), 20), "no task started"
    return proc, int(pidfile.read_text())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_stop_the_server_and_its_busy_worker(tmp_path, signum):
    proc, worker = _busy_server(tmp_path)
    try:
        proc.send_signal(signum)
        assert proc.wait(timeout=20) == 0
        assert "stopped" in proc.stderr.read()
        assert _wait(lambda: _gone(worker), 5), "the busy worker outlived the server"
    finally:
        proc.kill()
        proc.wait(timeout=10)
        if not _gone(worker):
            os.kill(worker, signal.SIGKILL)


def test_a_busy_worker_exits_when_the_server_is_killed_outright(tmp_path):
    proc, worker = _busy_server(tmp_path)
    try:
        proc.kill()  # SIGKILL: no handler runs, only the worker's own watch can notice
        proc.wait(timeout=10)
        assert _wait(lambda: _gone(worker), 5), "the busy worker outlived the server"
    finally:
        if not _gone(worker):
            os.kill(worker, signal.SIGKILL)
