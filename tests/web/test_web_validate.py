"""Request checks that need no server: shape declarations, expression caps, and the CLI entry."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tensorcalc.web import Limits, main
from tensorcalc.web.validate import BadRequest, check_expression, parse_shapes

LIMITS = Limits()


@pytest.mark.parametrize("text, expected", [
    ("A: n x n; x: n", {"A": ("n", "n"), "x": ("n",)}),
    ("A: n x n, x: n", {"A": ("n", "n"), "x": ("n",)}),
    ("A=n,m;X=m,n", {"A": ("n", "m"), "X": ("m", "n")}),  # the CLI's --shapes syntax
    ("B: 3x3 diagonal\nM: m×n", {"B": (3, 3, "diagonal"), "M": ("m", "n")}),
    ("S: symmetric; c: scalar; v: 5", {"S": "symmetric", "c": "scalar", "v": (5,)}),
    ("  ", {}),
])
def test_shape_declarations(text, expected):
    assert parse_shapes(text, LIMITS) == expected


@pytest.mark.parametrize("text, column", [("A n", 1), ("A: n x @", 8), ("A:", 3),
                                          ("A: n; A: m", 7), ("x: n;  : n", 8)])
def test_bad_shape_declarations_point_at_the_column(text, column):
    with pytest.raises(BadRequest) as info:
        parse_shapes(text, LIMITS)
    assert info.value.field == "shapes" and info.value.column == column


def test_operator_runs_are_capped():
    for text in ("-" * 40 + "x", "x" + "'" * 40):
        with pytest.raises(BadRequest, match="in a row"):
            check_expression(text, LIMITS)
    assert check_expression("x - -y''", LIMITS) == "x - -y''"


def test_main_rejects_bad_arguments(capsys):
    assert main(["--port", "70000"]) == 2
    assert main(["--workers", "0"]) == 2
    assert "positive" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--no-such-flag"])


def test_python_m_tensorcalc_web_serves_and_prints_its_address(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    proc = subprocess.Popen([sys.executable, "-m", "tensorcalc.web", "--port", "0", "--quiet",
                             "--workers", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert "http://127.0.0.1:" in line, line + proc.stderr.read()
        url = line.split("at ", 1)[1].split()[0]
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "api/health", timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.parametrize("text, column", [
    ("A: n x", 6), ("A: x n", 4), ("A: n ×", 6), ("A: n*", 5), ("A: n,", 5),
    ("A: n x ; x: n", 6),
])
def test_a_dangling_separator_is_an_error_not_a_vector(text, column):
    with pytest.raises(BadRequest, match="a dimension is missing") as info:
        parse_shapes(text, LIMITS)
    assert info.value.column == column and info.value.field == "shapes"
