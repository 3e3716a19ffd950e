"""The four lessons of docs/lessons/, reproduced with the library (``tensorcalc explain``).

Each lesson module has ``TITLE`` and ``run(out) -> bool``: it prints the lesson's results as
computed by tensorcalc, each with the check it passed, and returns whether every check passed.
A lesson is named by its subject (``jacobians``, ``differentials``, ``accumulation``,
``networks``) or by its number (``000``…``003``, the order in which the lessons build).
"""

from __future__ import annotations

import importlib
from typing import TextIO

#: lesson name -> (number, one-line summary); the module is ``tensorcalc.explain.<name>``
LESSONS: dict[str, tuple[str, str]] = {
    "jacobians": ("000", "generalized Jacobians: shape out.shape + in.shape, tensor chain rule"),
    "differentials": ("001", "the trace trick for x'Ax, and numerator vs denominator layout"),
    "accumulation": ("002", "forward vs reverse accumulation: chain costs 660 vs 124"),
    "networks": ("003", "network gradients: W, W^T, I, diag(f'), delta x^T, y_hat - y"),
}
#: numeric aliases: "000" -> "jacobians", ...
NUMBERS: dict[str, str] = {number: name for name, (number, _) in LESSONS.items()}


def lesson_name(name_or_number: str) -> str:
    """The lesson's subject name; raise KeyError for an unknown name or number."""
    if name_or_number in LESSONS:
        return name_or_number
    return NUMBERS[name_or_number]


def lesson_title(name_or_number: str) -> str:
    """The lesson's title, as its section header prints it."""
    module = importlib.import_module(f"{__name__}.{lesson_name(name_or_number)}")
    return module.TITLE


def run_lesson(name_or_number: str, out: TextIO) -> bool:
    """Run a lesson, named by subject or number; raise KeyError for an unknown one."""
    module = importlib.import_module(f"{__name__}.{lesson_name(name_or_number)}")
    return bool(module.run(out))
