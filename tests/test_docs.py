"""Every code block of README.md, docs/*.md and docs/lessons/*.md runs, and prints what the doc
says it prints. The rules are in tests/docs_harness.py; each file runs in its own interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs_harness import outputs_match, parse_blocks, split_doctest

ROOT = Path(__file__).resolve().parents[1]
HARNESS = Path(__file__).with_name("docs_harness.py")
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
               *(ROOT / "docs" / "lessons").glob("*.md")])


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
def test_code_blocks_run_and_print_what_the_doc_shows(path):
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(HARNESS), str(path)], capture_output=True,
                          text=True, env=env, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(proc.stdout[proc.stdout.rindex('{"ran"'):])
    assert not report["failures"], "\n\n".join(report["failures"])
    for reason in report["skipped"]:
        print("skipped:", reason)


def test_the_docs_have_code():
    assert len(DOCS) >= 10
    assert sum(b.lang == "python" for p in DOCS for b in parse_blocks(p.read_text())) >= 30


def test_output_comparison_rules():
    assert outputs_match("a  \n b\n\n", "a\n b")
    assert outputs_match("[[ 0.423  0.04 ]]", "[[0.42312 0.0401]]")
    assert not outputs_match("[[ 0.423 ]]", "[[0.4246]]")
    assert not outputs_match("forward  660", "forward  661")
    assert not outputs_match("c = mul b", "c = mul_sz b")
    assert outputs_match("error 2.2e-16", "error 0.0e+00")
    assert outputs_match("head\n...\ntail", "head\nx\ny\ntail")
    assert not outputs_match("head\n...\ntail", "head\nx\nTAIL")


def test_block_parsing():
    text = "a\n\n```python\nprint(1)\n```\n```\n1\n```\n\n```python\n>>> 1 + 1\n2\n```\n"
    py, out, doc = parse_blocks(text)
    assert (py.lang, py.line, out.lang, out.gap, doc.gap.strip()) == ("python", 3, "", "", "")
    assert split_doctest(doc.text) == [("1 + 1", "2")]
