"""The seed lessons, reproduced with the library (``tensorcalc explain 000|001|002|003``).

Each lesson module has ``run(out) -> bool``: it prints the lesson's results as computed by
tensorcalc, each with the check it passed, and returns whether every check passed.
"""

from __future__ import annotations

import importlib
from typing import TextIO

#: lesson number -> (module name, one-line summary)
LESSONS: dict[str, tuple[str, str]] = {
    "000": ("seed000", "generalized Jacobians: shape out.shape + in.shape, tensor chain rule"),
    "001": ("seed001", "the trace trick for x'Ax, and numerator vs denominator layout"),
    "002": ("seed002", "forward vs reverse accumulation: chain costs 660 vs 124"),
    "003": ("seed003", "network gradients 2.8.1-2.8.7: W, W^T, I, diag(f'), delta x^T, y_hat - y"),
}


def run_lesson(number: str, out: TextIO) -> bool:
    """Run lesson ``number`` ("000".."003"); raise KeyError for an unknown number."""
    module_name, _ = LESSONS[number]
    module = importlib.import_module(f"{__name__}.{module_name}")
    return bool(module.run(out))
