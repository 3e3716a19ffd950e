"""What importing a piece of tensorcalc costs: the package root imports its names on first use,
``import tensorcalc.symbolic`` leaves the numeric engine and SciPy alone, ``tensorcalc --version``
imports nothing of the engine, and a transformation always finds tracers with their array
behaviour whatever was imported first.

Each check runs in a fresh interpreter, so what earlier tests imported does not count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import tensorcalc

SRC = Path(tensorcalc.__file__).resolve().parents[1]

ENGINE = ("tensorcalc.numpy", "tensorcalc.api", "tensorcalc.interpreters", "tensorcalc.ops",
          "tensorcalc.transforms", "tensorcalc.compile", "tensorcalc.accumulate",
          "tensorcalc.jacobians")


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(SRC), *filter(None, [os.environ.get("PYTHONPATH")])])}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def _modules_after(statement: str) -> tuple[list[str], int]:
    """The modules ``statement`` imports (names, and how many in all) in a fresh interpreter."""
    out = _run("import json, sys\nbefore = set(sys.modules)\n" + statement + "\n"
               "new = sorted(set(sys.modules) - before)\n"
               "print(json.dumps(new))\n")
    new = json.loads(out.strip().splitlines()[-1])
    return new, len(new)


def _loaded(modules: list[str], prefix: str) -> list[str]:
    return [m for m in modules if m == prefix or m.startswith(prefix + ".")]


def test_importing_the_package_root_imports_no_engine():
    new, _ = _modules_after("import tensorcalc")
    assert [m for m in new if m.startswith("tensorcalc")] == ["tensorcalc"]
    assert not _loaded(new, "numpy") and not _loaded(new, "scipy")


def test_symbolic_imports_neither_the_numeric_engine_nor_scipy():
    # Parsing, deriving and printing do not even need NumPy (the bulk of the import time).
    new, _ = _modules_after("import tensorcalc.symbolic as ts\n"
                            "str(ts.derivative(\"x' * A * x\", 'x'))")
    for prefix in (*ENGINE, "scipy", "numpy"):
        assert not _loaded(new, prefix), (prefix, _loaded(new, prefix))


def test_version_imports_nothing_of_the_engine():
    new, count = _modules_after(
        "import contextlib, io\nfrom tensorcalc.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    main(['--version'])")
    for prefix in (*ENGINE, "tensorcalc.symbolic", "tensorcalc.web.server", "numpy", "scipy",
                   "socket"):
        assert not _loaded(new, prefix), (prefix, _loaded(new, prefix))
    # argparse and its dependencies, the CLI, the serve options: about 50 modules (the eager
    # package imported about 450).
    assert count < 120, count


def test_derive_imports_only_the_symbolic_engine():
    new, _ = _modules_after(
        "import contextlib, io\nfrom tensorcalc.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert main(['derive', \"x' * A * x\", '--wrt', 'x']) == 0")
    assert _loaded(new, "tensorcalc.symbolic")
    for prefix in (*ENGINE, "tensorcalc.web.server", "scipy", "numpy"):
        assert not _loaded(new, prefix), (prefix, _loaded(new, prefix))


def test_symbolic_numerics_import_what_they_need_when_called():
    out = _run("import numpy as np, tensorcalc.symbolic as ts\n"
               "d = ts.derivative(\"x' * A * x\", 'x')\n"
               "print(d.check().passed, isinstance(d.check(), ts.CheckReport))\n"
               "A, x = np.eye(2), np.array([1.0, 2.0])\n"
               "print(d.evaluate(A=A, x=x).tolist())\n")
    assert out.split() == ["True", "True", "[2.0,", "4.0]"]


def test_a_transformation_after_importing_only_the_api_has_array_tracers():
    # tensorcalc.numpy installs the tracers' operators; the api imports it itself.
    out = _run("import numpy as np\nimport tensorcalc.api\nimport tensorcalc as tc\n"
               "print(tc.grad(lambda x: x * x)(3.0))\n"
               "f = lambda x: (x ** 2).sum() + x.T @ x\n"
               "print(tc.jacobian(f)(np.array([1.0, 2.0])).tolist())\n")
    assert out.split() == ["6.0", "[4.0,", "8.0]"]


@pytest.mark.parametrize("module", ["tensorcalc.custom", "tensorcalc.compile",
                                    "tensorcalc.transforms"])
def test_every_entry_point_installs_the_tracer_behaviour(module):
    out = _run(f"import {module}\nfrom tensorcalc.core.primitive import Tracer\n"
               "print(hasattr(Tracer, '__mul__'), hasattr(Tracer, 'sum'))\n")
    assert out.split() == ["True", "True"]


def test_every_public_name_resolves_from_the_root():
    out = _run("import tensorcalc as tc\n"
               "missing = [n for n in tc.__all__ if getattr(tc, n, None) is None]\n"
               "print(missing, set(tc.__all__) <= set(dir(tc)))\n"
               "from tensorcalc import grad, jit, chain_cost, ShapeError\n"
               "print(grad is tc.grad, tc.numpy.sin is not None)\n")
    assert out.split() == ["[]", "True", "True", "True"]


def test_lazy_table_and_all_agree():
    assert set(tensorcalc._EXPORTS) == set(tensorcalc.__all__)
    for name in tensorcalc.__all__:
        assert getattr(tensorcalc, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        tensorcalc.not_a_name  # noqa: B018


def test_web_names_resolve_lazily():
    out = _run("import sys, tensorcalc.web as w\nprint('tensorcalc.web.server' in sys.modules)\n"
               "print(all(getattr(w, n) is not None for n in w.__all__))\n"
               "print('tensorcalc.web.server' in sys.modules)\n")
    assert out.split() == ["False", "True", "True"]


def test_colouring_a_small_pattern_does_not_import_numba():
    """Small patterns take the Python loops: importing numba would cost more than the work
    (accumulate/_kernels.py, SMALL_WORK), and deciding which orderings to try must not pay it."""
    new, _ = _modules_after("import numpy as np\n"
                            "from tensorcalc.accumulate.coloring import column_coloring\n"
                            "column_coloring(np.eye(6, dtype=bool) | np.eye(6, k=1, dtype=bool))")
    assert not _loaded(new, "numba")
