"""`tensorcalc serve` starts the local web page on loopback and answers its API."""

import json
import socket
import subprocess
import sys
import time
import urllib.request


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_starts_on_loopback_and_answers():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tensorcalc", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 30
        body = None
        while time.time() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                    body = json.loads(r.read())
            except OSError:
                time.sleep(0.2)
        assert body is not None, "server did not answer within 30 s"
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/plan", data=json.dumps({"widths": [10, 6, 8, 2, 1]})
            .encode(), headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            plan = json.loads(r.read())
        text = json.dumps(plan)
        assert "660" in text and "124" in text
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_help():
    out = subprocess.run([sys.executable, "-m", "tensorcalc", "serve", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "--port" in out.stdout
