"""``tensorcalc.extend``: the words of the op blocks, public; docs/guide.md §5 runs as written.

The guide's example defines primitives, and a primitive name can be registered once per
process, so its code blocks run in a fresh interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.extend as ext
import tensorcalc.numpy as tnp
from tensorcalc.interpreters.forward import diag_rules, jvp_rules
from tensorcalc.interpreters.transpose import transpose_rules

ROOT = Path(__file__).resolve().parents[1]


def _guide_section_blocks() -> list[str]:
    text = (ROOT / "docs" / "guide.md").read_text()
    section = text[text.index("## 5. Adding a primitive"):text.index("## 6.")]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_guide_section_5_runs_as_written_and_prints_what_it_shows():
    blocks = _guide_section_blocks()
    assert len(blocks) >= 2
    code = "\n".join(blocks)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"),
                                                       os.environ.get("PYTHONPATH", "")]))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    shown = re.search(r"print\(.*\)\s+# (\[.*\])", code).group(1)
    assert res.stdout.strip() == shown


def test_every_exported_name_exists():
    for name in ext.__all__:
        assert getattr(ext, name) is not None, name


def _fresh(name: str) -> str:
    return f"{name}_{len(ext.Primitive.registry)}"


def test_defbilinear_builds_both_jvps_and_the_transpose():
    p = ext.Primitive(_fresh("test_scaled_mul"), np.multiply,
                      lambda x, y: ext.ShapedArray(np.broadcast_shapes(x.shape, y.shape),
                                                   np.result_type(x.dtype, y.dtype)))
    ext.defbilinear(p, lambda ct, x_aval, y: ext.unbroadcast(tnp.multiply(ct, y), x_aval),
                    lambda ct, x, y_aval: ext.unbroadcast(tnp.multiply(ct, x), y_aval))
    ext.defbroadcasting(p)
    assert p.linear and p in transpose_rules and p in jvp_rules
    x, y = np.array([1.0, -2.0, 3.0]), np.array([0.5, 4.0, -1.5])
    tc.check_grads(lambda x, y: tnp.sum(tnp.sin(p.bind(x, y))), (x, y), order=2,
                   modes=("fwd", "rev"))
    # A linear program may not multiply two of its own values.
    rule = transpose_rules[p]
    u = ext.UndefinedPrimal(ext.ShapedArray((3,), np.dtype(np.float64)))
    with pytest.raises(TypeError, match="quadratic"):
        rule(np.ones(3), u, u)


def test_the_flags_are_set_by_the_rules():
    lin = ext.Primitive(_fresh("test_lin"), lambda x: 2 * x, lambda x: x)
    assert not lin.linear and lin.differentiable
    ext.deflinear(lin, lambda ct, x: (2 * ct,))
    assert lin.linear
    step = ext.Primitive(_fresh("test_step"), lambda x: x > 0,
                         lambda x: ext.ShapedArray(x.shape, np.dtype(bool)))
    ext.defjvp_zero(step)
    assert not step.differentiable


def test_defjvp_diag_checks_its_arguments():
    p = ext.elementwise(_fresh("test_noop"), np.positive)
    with pytest.raises(TypeError, match="one derivative factor per operand"):
        ext.defjvp_diag(p)
    with pytest.raises(TypeError, match="quotient=True is for unary"):
        ext.defjvp_diag(p, lambda a, x, y: 1.0, lambda a, x, y: 1.0, quotient=True)


def test_every_unary_ufunc_takes_the_eager_fast_path():
    # Declared with defjvp_diag, every unary elementwise primitive with a derivative factor is
    # handled by JVPTrace directly; none is left with a hand-written `t * f′(x)` rule.
    from tensorcalc.ops import unary

    names = [n for n in dir(unary) if n.endswith("_p")]
    unary_prims = [getattr(unary, n) for n in names]
    differentiable = [p for p in unary_prims if p.differentiable]
    assert differentiable and all(p in diag_rules for p in differentiable), \
        [p.name for p in differentiable if p not in diag_rules]
