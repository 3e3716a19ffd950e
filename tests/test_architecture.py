"""The house rules that keep the code readable, checked on every run.

- Every module under ``src/`` stays under 600 lines.
- Imports point down the layers (docs/guide.md §7): ``core/`` imports nothing of tensorcalc
  above it (not the interpreters, the ops, the NumPy namespace or anything else), and no
  ``ops/`` module imports the NumPy namespace. Function-level imports count too: a lazy import
  is still an arrow.
- ``ruff check`` passes on src, tests and bench.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "src" / "tensorcalc"
MAX_LINES = 600


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _imported(path: Path, src: Path = ROOT / "src") -> set[str]:
    """Absolute names of the tensorcalc modules ``path`` imports (relative ones resolved)."""
    package = ".".join(path.relative_to(src).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rsplit(".", 1)[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            names.add(mod)
            names.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return {n for n in names if n == "tensorcalc" or n.startswith("tensorcalc.")}


def test_every_source_file_is_under_the_line_budget():
    long = {str(p.relative_to(ROOT)): n for p in _modules(PKG)
            if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"files over {MAX_LINES} lines (split them by content): {long}"


def test_core_imports_nothing_above_it():
    bad = {}
    for path in _modules(PKG / "core"):
        up = {n for n in _imported(path)
              if not n.startswith("tensorcalc.core") and n != "tensorcalc"}
        if up:
            bad[str(path.relative_to(ROOT))] = sorted(up)
    assert not bad, f"core/ must not import the layers above it: {bad}"


def test_ops_do_not_import_the_numpy_namespace():
    bad = {}
    for path in _modules(PKG / "ops"):
        up = {n for n in _imported(path) if n.startswith(("tensorcalc.numpy", "tensorcalc.api",
                                                           "tensorcalc.transforms",
                                                           "tensorcalc.compile",
                                                           "tensorcalc.jacobians"))}
        if up:
            bad[str(path.relative_to(ROOT))] = sorted(up)
    assert not bad, f"ops/ must not import the namespaces or transformations above it: {bad}"


def test_the_import_walker_sees_lazy_and_relative_imports(tmp_path):
    # The layering tests are only as good as the walker: check it on a module that imports
    # upward lazily and relatively, as the fixed circles used to.
    probe = tmp_path / "tensorcalc" / "core" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("import numpy as np\n\n\ndef f():\n"
                     "    from ..interpreters.evaluate import eval_program\n"
                     "    from . import zeros\n")
    names = _imported(probe, tmp_path)
    assert "tensorcalc.interpreters.evaluate" in names
    assert "tensorcalc.core.zeros" in names and "numpy" not in names


def _ruff() -> list[str] | None:
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent))
    if exe:
        return [exe]
    try:
        import ruff  # noqa: F401
    except ImportError:
        return None
    return [sys.executable, "-m", "ruff"]


def test_ruff_is_clean():
    cmd = _ruff()
    if cmd is None:
        pytest.skip("ruff is not installed (it comes with the test extra: pip install -e .[test])")
    res = subprocess.run(cmd + ["check", "src", "tests", "bench"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
