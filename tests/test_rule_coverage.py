"""Rule coverage: every registered primitive has the rules the interpreters need.

A differentiable primitive needs a jvp rule (forward mode, and through linearize + transpose
reverse mode); a linear primitive needs a transpose rule; every primitive needs a batching rule
(vmap, and through it jacfwd / jacrev / hessian). The check runs in a fresh interpreter that
imports every module of ``tensorcalc`` which defines primitives, so primitives made up by other
tests do not count, and a new op module is picked up without editing this file.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

_PROBE = r"""
import importlib, json, pkgutil
import tensorcalc
for pkg in ("tensorcalc.ops", "tensorcalc.numpy", "tensorcalc.scipy", "tensorcalc.nn"):
    try:
        mod = importlib.import_module(pkg)
    except ImportError:
        continue
    for info in pkgutil.walk_packages(getattr(mod, "__path__", []), pkg + "."):
        try:
            importlib.import_module(info.name)
        except ModuleNotFoundError as e:
            # Kernel modules of the optional `fast` extra (they register no primitives; their
            # callers import them only when numba is there). Anything else missing is a bug.
            if e.name not in ("numba", "llvmlite"):
                raise
from tensorcalc.core.primitive import Primitive
from tensorcalc.interpreters.batch import batch_rules
from tensorcalc.interpreters.forward import jvp_rules
from tensorcalc.interpreters.transpose import transpose_rules
gaps = {"jvp": [], "transpose": [], "batch": []}
for name, p in sorted(Primitive.registry.items()):
    if p.differentiable and p not in jvp_rules:
        gaps["jvp"].append(name)
    if p.linear and p not in transpose_rules:
        gaps["transpose"].append(name)
    if p not in batch_rules:
        gaps["batch"].append(name)
print(json.dumps({"count": len(Primitive.registry), "gaps": gaps}))
"""


def _coverage() -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), env_path()]))
    res = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         env=env, check=False, timeout=120)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def env_path() -> str:
    return os.environ.get("PYTHONPATH", "")


def test_every_primitive_has_its_rules():
    info = _coverage()
    assert info["count"] > 0
    gaps = {k: v for k, v in info["gaps"].items() if v}
    assert not gaps, (
        "primitives missing rules (add them in the primitive's block in tensorcalc/ops): "
        + "; ".join(f"{kind}: {', '.join(names)}" for kind, names in gaps.items()))
