"""No file of the project points outside the repository: the lessons live in docs/lessons/,
and nothing refers to source notes (by number or section) that users do not have."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Spelled in pieces so that this file does not match itself.
FORBIDDEN = ["seed" + " 0", "../" + "shared", "shared" + "/seeds", "2" + ".8."]
SCANNED = ["src", "docs", "tests", "bench", "README.md", "Makefile", "pyproject.toml"]
TEXT = {".py", ".md", ".txt", ".toml", ".cfg", ".lark", ".html", ".js", ".css", ".json", ""}


def _files():
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            yield path
            continue
        for f in path.rglob("*"):
            # Build output (an egg-info copy of an older README) is not the project's text.
            if f.is_file() and f.suffix in TEXT and "__pycache__" not in f.parts \
                    and not any(part.endswith(".egg-info") for part in f.parts):
                yield f


def test_no_references_outside_the_repository():
    hits = []
    for f in _files():
        text = f.read_text(encoding="utf-8", errors="replace").lower()
        for pattern in FORBIDDEN:
            for lineno, line in enumerate(text.splitlines(), 1):
                if pattern in line:
                    hits.append(f"{f.relative_to(ROOT)}:{lineno}: {pattern!r}: {line.strip()}")
    assert not hits, "\n".join(hits)


def test_the_four_lessons_exist():
    names = sorted(p.stem for p in (ROOT / "docs" / "lessons").glob("*.md"))
    assert names == ["README", "accumulation", "differentials", "jacobians", "networks"]
