"""Run the code blocks of one Markdown file and check what they print.

Usage: ``python tests/docs_harness.py FILE.md`` (with ``src`` on ``PYTHONPATH``). Prints a JSON
report ``{"ran", "checked", "skipped", "failures"}`` on stdout; ``tests/test_docs.py`` runs it
once per file, each in a fresh interpreter, so primitives defined by one file never meet another.

The rules:

* ```` ```python ```` blocks run in order in one namespace per file, with the working directory a
  scratch folder (files a block writes go there).
* A plain ```` ``` ```` block (no language) directly after a python block is that block's expected
  stdout. If the block's last statement is a bare expression whose value is not ``None``, its
  ``str`` is printed too, as a REPL would. Comparison: first exact, after dropping trailing
  whitespace on every line and blank lines at either end; failing that, approximate: the text
  with every number taken out must agree (whitespace ignored), and each number must agree to the
  digits the doc shows (``0.423`` accepts ``0.42312``; ``660`` must be ``660``; a number below
  1e-9 in the doc, rounding noise, accepts any number below 1e-9). A line ``...`` in the
  expected output stands for any number of lines.
* An inline comment after a one-line bare expression or ``print`` call is checked when it
  claims a value: the text after its last `` = `` (if any), cut before a ``  (`` aside, that
  starts with a digit, ``-``, ``[``, ``(`` or a quote; it must match the value's ``str`` or
  ``repr`` (or what ``print`` wrote) as outputs do. Any other comment
  (``# the generated source``) is prose.
* A plain block that follows neither rule (a listing, a layout) is not checked.
* A plain block whose lines start with ``$ tensorcalc`` is a shell transcript. ``derive``,
  ``plan``, ``explain`` and ``info`` commands are cheap and run through the CLI in-process; the
  lines up to the next ``$`` are their expected output, compared as above (a transcript showing no
  output lines is run and must not crash). Other commands (``train``, ``serve``, ``demo``,
  ``curl``, ``make``) are skipped with the reason.
* ``>>>`` blocks are doctests: each statement runs as at the prompt and the lines under it are
  its expected output (compared as above).
* ``<!-- docs-test: skip REASON -->`` on the line before a block skips it;
  ``<!-- docs-test: file NAME -->`` just before a python block also writes it to ``NAME`` in
  the scratch folder (for transcripts such as ``tensorcalc plan model.py:f``). A block that fails
  with ``ModuleNotFoundError`` for an optional package skips the rest of the file with that
  reason. ``text``, ``json``, ``html`` and other blocks are not code and are ignored.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import re
import shlex
import sys
import tempfile
import traceback
from dataclasses import dataclass

OPTIONAL = {"scipy", "sklearn", "matplotlib", "tqdm", "selenium", "torch", "jax", "autograd",
            "dask", "distributed", "array_api_strict", "cupy",
            "hypothesis", "threadpoolctl", "IPython"}
CHEAP_COMMANDS = {"derive", "plan", "explain", "info"}
SKIP_MARK = re.compile(r"<!--\s*docs-test:\s*skip\s*(.*?)\s*-->")
TINY = 1e-9  # rounding noise: a doc number below this matches any number below it
FILE_MARK = re.compile(r"<!--\s*docs-test:\s*file\s+(\S+)\s*-->")
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


@dataclass
class Block:
    lang: str
    text: str
    line: int          # 1-based line of the opening fence
    skip: str | None   # reason, from a docs-test marker
    end: int = 0       # 1-based line of the closing fence
    gap: str = ""      # the text between the previous block and this one


def parse_blocks(markdown: str) -> list[Block]:
    blocks: list[Block] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group(1), m.group(2)
        start = i
        body = []
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        skip = None
        for prev in lines[max(0, start - 1):start]:
            sm = SKIP_MARK.search(prev)
            if sm:
                skip = sm.group(1) or "marked skip"
        gap_from = blocks[-1].end if blocks else 0
        blocks.append(Block(lang, "\n".join(body), start + 1, skip, i + 1,
                            "\n".join(lines[gap_from:start])))
        i += 1
    return blocks


def _normalise(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip("\n")


def _tolerance(token: str) -> float:
    mantissa, _, exp = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5001 * 10.0 ** (int(exp or 0) - decimals)


def outputs_match(expected: str, actual: str) -> bool:
    """Exact or approximate agreement; a line ``...`` in ``expected`` stands for any lines."""
    expected, actual = _normalise(expected), _normalise(actual)
    if any(line.strip() == "..." for line in expected.splitlines()):
        return _ellipsis_match(expected.splitlines(), actual.splitlines())
    return _text_match(expected, actual)


def _ellipsis_match(want: list[str], got: list[str]) -> bool:
    if "..." not in [w.strip() for w in want]:
        return len(want) == len(got) and _text_match("\n".join(want), "\n".join(got))
    cut = [w.strip() for w in want].index("...")
    head, rest = want[:cut], want[cut + 1:]
    if len(head) > len(got) or not _text_match("\n".join(head), "\n".join(got[:len(head)])):
        return False
    return any(_ellipsis_match(rest, got[k:]) for k in range(len(head), len(got) + 1))


def _text_match(expected: str, actual: str) -> bool:
    if expected == actual:
        return True
    skeleton = lambda s: re.sub(r"\s+", "", NUMBER.sub("#", s))
    if skeleton(expected) != skeleton(actual):
        return False
    want, got = NUMBER.findall(expected), NUMBER.findall(actual)
    if len(want) != len(got):
        return False
    for w, g in zip(want, got, strict=True):
        if abs(float(w)) < TINY and abs(float(g)) < TINY:
            continue
        if not any(c in w for c in ".eE"):
            if w.lstrip("+") != g.lstrip("+") and float(w) != float(g):
                return False
        elif abs(float(w) - float(g)) > _tolerance(w):
            return False
    return True


def comment_value(comment: str) -> str | None:
    """The value an inline comment claims, or None when the comment is prose."""
    text = comment.rsplit(" = ", 1)[-1]
    text = re.split(r"\s{2,}\(", text)[0].strip()
    return text if text and (text[0] in "-[(\'\"" or text[0].isdigit()) else None


def run_python(source: str, namespace: dict, filename: str,
               failures: list[str] | None = None) -> str:
    """Execute ``source`` statement by statement; return its stdout, plus the value of a
    trailing bare expression. A one-line bare expression (or ``print``) whose comment claims a
    value (see ``comment_value``) is checked against it; mismatches go to ``failures``."""
    tree = ast.parse(source, filename)
    lines = source.splitlines()
    out = io.StringIO()
    for k, stmt in enumerate(tree.body):
        claim = None
        if isinstance(stmt, ast.Expr) and stmt.lineno == stmt.end_lineno:
            rest = lines[stmt.lineno - 1][stmt.end_col_offset:]
            if "#" in rest:
                claim = comment_value(rest.split("#", 1)[1])
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            if isinstance(stmt, ast.Expr):
                value = eval(compile(ast.Expression(stmt.value), filename, "eval"), namespace)
                shown = [buf.getvalue()] if value is None else [str(value), repr(value)]
                if value is not None and k == len(tree.body) - 1:
                    print(value)
            else:
                exec(compile(ast.Module([stmt], []), filename, "exec"), namespace)
        out.write(buf.getvalue())
        if claim is not None and failures is not None and not any(
                outputs_match(claim, text) for text in shown):
            failures.append(f"{filename}+{stmt.lineno}: the comment says {claim!r}, the value "
                            f"is {shown[0].strip()!r}")
    return out.getvalue()


def split_doctest(text: str) -> list[tuple[str, str]]:
    """``>>>``/``...`` statements and the output lines that follow each."""
    items: list[tuple[list[str], list[str]]] = []
    for line in text.splitlines():
        if line.startswith(">>>"):
            items.append(([line[4:]], []))
        elif line.startswith("...") and items and not items[-1][1]:
            items[-1][0].append(line[4:])
        elif items:
            items[-1][1].append(line)
    return [("\n".join(src), "\n".join(out)) for src, out in items]


def run_doctest(text: str, namespace: dict, where: str, report: dict) -> None:
    for source, expected in split_doctest(text):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(compile(source + "\n", where, "single"), namespace)
        if expected.strip():
            report["checked"] += 1
            if not outputs_match(expected, buf.getvalue()):
                report["failures"].append(
                    f"{where}: `{source}` prints differently\n--- doc\n{expected}\n--- actual\n"
                    f"{buf.getvalue()}")


def split_transcript(text: str) -> list[tuple[str, str]]:
    """``$ cmd`` lines and the output lines that follow each."""
    items: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            items.append((line[2:], []))
        elif items:
            items[-1][1].append(line)
    return [(cmd, "\n".join(out)) for cmd, out in items]


def run_cli(command: str) -> str:
    from tensorcalc import cli

    command = command.split("  #")[0].strip()
    argv = shlex.split(command)[1:]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        try:
            cli.main(argv)
        except SystemExit:
            pass
    return buf.getvalue()


def run_file(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        blocks = parse_blocks(f.read())
    report: dict = {"ran": 0, "checked": 0, "skipped": [], "failures": []}
    namespace: dict = {"__name__": "__docs__"}
    skip_rest: str | None = None
    name = os.path.basename(path)
    for k, block in enumerate(blocks):
        where = f"{name}:{block.line}"
        nxt = blocks[k + 1] if k + 1 < len(blocks) else None
        if block.lang == "python":
            if skip_rest or block.skip:
                report["skipped"].append(f"{where}: {skip_rest or block.skip}")
                continue
            mark = FILE_MARK.search(block.gap)
            if mark:
                with open(mark.group(1), "w", encoding="utf-8") as f:
                    f.write(block.text + "\n")
            try:
                if block.text.lstrip().startswith(">>>"):
                    run_doctest(block.text, namespace, where, report)
                    report["ran"] += 1
                    continue
                printed = run_python(block.text, namespace, where, report["failures"])
            except ModuleNotFoundError as e:
                if (e.name or "").split(".")[0] in OPTIONAL:
                    skip_rest = f"needs the optional package {e.name}"
                    report["skipped"].append(f"{where}: {skip_rest}")
                    continue
                report["failures"].append(f"{where}: {traceback.format_exc(limit=-3)}")
                continue
            except Exception:
                report["failures"].append(f"{where}: {traceback.format_exc(limit=-3)}")
                continue
            report["ran"] += 1
            if (nxt is not None and nxt.lang == "" and not nxt.gap.strip()
                    and not nxt.text.startswith("$ ")):
                nxt.lang = "<output>"
                report["checked"] += 1
                if not outputs_match(nxt.text, printed):
                    report["failures"].append(
                        f"{where}: printed output differs\n--- doc\n{nxt.text}\n--- actual\n"
                        f"{printed}")
        elif block.lang == "" and block.text.startswith("$ "):
            for command, expected in split_transcript(block.text):
                words = command.split()
                if words[0] != "tensorcalc" or len(words) < 2 or words[1] not in CHEAP_COMMANDS:
                    report["skipped"].append(f"{where}: `{command}` is not run (slow or external)")
                    continue
                target = words[2].split(":")[0] if words[1] == "plan" and len(words) > 2 else ""
                if target.endswith(".py") and not os.path.exists(target):
                    report["skipped"].append(f"{where}: `{command}` needs {target}; mark the "
                                             "block that holds it <!-- docs-test: file NAME -->")
                    continue
                if block.skip or skip_rest:
                    report["skipped"].append(f"{where}: {block.skip or skip_rest}")
                    continue
                try:
                    printed = run_cli(command)
                except Exception:
                    report["failures"].append(f"{where}: `{command}`: {traceback.format_exc()}")
                    continue
                report["ran"] += 1
                if expected.strip():
                    report["checked"] += 1
                    if not outputs_match(expected, printed):
                        report["failures"].append(
                            f"{where}: `{command}` prints differently\n--- doc\n{expected}\n"
                            f"--- actual\n{printed}")
    return report


def main(argv: list[str]) -> int:
    path = os.path.abspath(argv[0])
    os.environ.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        report = run_file(path)
    sys.stdout.write(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
