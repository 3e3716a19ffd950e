"""Regenerate the NumPy-coverage table of docs/conventions.md from the lists in
``src/tensorcalc/numpy/_coverage.py``: ``python tools/numpy_coverage_doc.py`` (run from the
repository root; tests/test_numpy_coverage.py fails when the file is out of date)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from tensorcalc.numpy import _coverage  # noqa: E402

DOC = ROOT / "docs" / "conventions.md"


def updated(text: str) -> str:
    """``text`` with the generated section replaced (appended when it is missing)."""
    section = _coverage.render_markdown()
    if _coverage.BEGIN in text:
        head, rest = text.split(_coverage.BEGIN, 1)
        _, tail = rest.split(_coverage.END, 1)
        return head + section + tail
    return text.rstrip("\n") + "\n\n" + section + "\n"


def main() -> None:
    new = updated(DOC.read_text(encoding="utf-8"))
    fd, tmp = tempfile.mkstemp(dir=DOC.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(new)
    os.replace(tmp, DOC)  # atomic: a reader never sees half a file


if __name__ == "__main__":
    main()
