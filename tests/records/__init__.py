"""The op-record table, split by family: every module here defines ``RECORDS``, a list of
:class:`OpRecord`. ``tests/test_op_records.py`` runs ``check_grads`` (order 2, forward and
reverse) on every record; add a row whenever you add a primitive."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class OpRecord:
    """One row: ``fn(*args(rng))`` is checked to ``order`` in ``modes``.

    ``args`` builds the arguments from a ``numpy.random.Generator`` so each row can choose a
    domain (positive inputs for log, well-conditioned matrices for inv, distinct entries for
    sort). ``id`` names the row in pytest output.
    """

    id: str
    fn: Callable[..., Any]
    args: Callable[[np.random.Generator], tuple[Any, ...]]
    order: int = 2
    modes: tuple[str, ...] = ("fwd", "rev")
    tol: dict[str, float] = field(default_factory=dict)
    primitives: tuple[str, ...] = ()


def all_records() -> list[OpRecord]:
    out: list[OpRecord] = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        mod = importlib.import_module(f"{__name__}.{info.name}")
        out.extend(getattr(mod, "RECORDS", []))
    return out


def staged_programs(rec: OpRecord, args: tuple[Any, ...]) -> list[Callable[[], Any]]:
    """Makers of the three programs a record stages: its function, its linearization and its
    reverse pass (tests/test_record_coverage.py and tests/test_backend_records.py read them)."""
    import tensorcalc as tc

    return [lambda: tc.trace(rec.fn, *args), lambda: tc.linear_map(rec.fn, *args).program,
            lambda: tc.trace(lambda *a: tc.vjp(rec.fn, *a)[1](rec.fn(*a)), *args)]
