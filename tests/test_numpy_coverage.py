"""Every public NumPy callable has a kind in ``tensorcalc.numpy`` (issue 17): differentiable,
constant on traced values, or pass-through with a clear error. The kinds are the data in
``src/tensorcalc/numpy/_coverage.py``; this test walks NumPy's own namespace, so a name NumPy
adds fails here until it is classified."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.numpy import _coverage as cov
from tensorcalc.numpy._kinds import is_numpys_own

numpy_public_callables = cov.numpy_public_callables


def _resolve(full: str):
    prefix, _, name = full.rpartition(".")
    space = {"": tnp, "linalg": tnp.linalg, "fft": tnp.fft}[prefix]
    return getattr(space, name)


def test_every_numpy_callable_is_in_exactly_one_list():
    lists = (cov.DIFFERENTIABLE, cov.CONSTANT, cov.PASS_THROUGH)
    for lst in lists:
        dups = sorted({n for n in lst if lst.count(n) > 1})
        assert not dups, f"listed twice in one list: {dups}"
    seen: dict[str, int] = {}
    for lst in lists:
        for n in lst:
            seen[n] = seen.get(n, 0) + 1
    assert not [n for n, c in seen.items() if c > 1], "a name is in two lists"
    missing = [n for n in numpy_public_callables() if n not in seen]
    assert not missing, f"NumPy names in none of the lists in _coverage.py: {missing}"
    assert cov.AVALS_ONLY <= set(cov.CONSTANT)


def test_listed_names_exist_in_numpy():
    stale = []
    for full in (*cov.DIFFERENTIABLE, *cov.CONSTANT, *cov.PASS_THROUGH):
        prefix, _, name = full.rpartition(".")
        mod = {"": np, "linalg": np.linalg, "fft": np.fft}[prefix]
        if not hasattr(mod, name):
            stale.append(full)
    assert not stale, f"names listed in _coverage.py that NumPy does not have: {stale}"


def test_every_listed_name_is_provided():
    for full in numpy_public_callables():
        obj = _resolve(full)
        kind = cov.kind_of(full)
        if kind == "differentiable":
            assert not is_numpys_own(obj), f"{full} is NumPy's own function, not tensorcalc's"
        elif kind == "constant" and not isinstance(obj, type):
            assert not is_numpys_own(obj) or full in cov.NUMPYS_OWN, full


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_every_jax_numpy_name_is_differentiable_or_constant():
    import jax.numpy as jnp

    jax_names = set(dir(jnp)) | {f"linalg.{n}" for n in dir(jnp.linalg)} | \
        {f"fft.{n}" for n in dir(jnp.fft)}
    weak = [n for n in numpy_public_callables() if n in jax_names
            and cov.kind_of(n) == "pass-through" and n not in cov.COMPLEX_PENDING]
    assert not weak, f"jax.numpy has these, tensorcalc only passes them through: {weak}"


def test_pass_through_raises_naming_function_argument_and_alternative():
    def f(x):
        return tnp.putmask(np.zeros(2), x > 0, x)

    with pytest.raises(tc.NotDifferentiableError, match=r"numpy\.putmask.*argument 2.*where"):
        tc.grad(lambda x: f(x).sum())(np.ones(2))
    assert np.array_equal(tnp.typename("d"), np.typename("d"))


def test_numpy_function_on_a_tracer_routes_to_the_pass_through_error():
    with pytest.raises(tc.NotDifferentiableError, match=r"numpy\.real_if_close.*argument 0"):
        tc.grad(lambda x: np.real_if_close(x).sum())(np.ones(2))


def test_constant_names_work_on_tracers_under_grad():
    x0 = np.array([3.0, -1.0, 2.0, 2.0])

    def f(x):
        assert tnp.argwhere(x > 0).tolist() == [[0], [2], [3]]
        assert tnp.unique(x).tolist() == [-1.0, 2.0, 3.0]
        assert tnp.nonzero(x > 2)[0].tolist() == [0]
        assert tnp.count_nonzero(x > 0) == 3
        assert tnp.searchsorted(tnp.sort(x), 2.5) == 3
        assert tnp.isclose(x, x + 1e-12).all() and tnp.allclose(x, x)
        assert tnp.result_type(x, 1.0) == np.float64 and tnp.iscomplexobj(x) is False
        assert tnp.zeros_like(x).shape == (4,) and tnp.ones_like(x).dtype == np.float64
        assert tnp.array_equal(x, x) and not tnp.any(tnp.isnan(x))
        return (x * x).sum()

    np.testing.assert_allclose(tc.grad(f)(x0), 2 * x0)


def test_avals_only_and_like_constants_work_under_jit_and_vmap():
    def f(x):
        z = tnp.zeros_like(x) + tnp.ones_like(x) + tnp.full_like(x, 2.0)
        assert tnp.result_type(x) == np.float64 and tnp.shape(x) == (3,)
        m = tnp.isclose(x, 1.0) | tnp.all(x > 0)
        return tnp.where(m, z * x, x)

    x = np.array([1.0, 2.0, -3.0])
    want = np.where(np.isclose(x, 1.0) | np.all(x > 0), 3 * x, x)
    np.testing.assert_allclose(tc.jit(f)(x), want)
    np.testing.assert_allclose(tc.vmap(f)(np.stack([x, x + 1])), np.stack([want, f(x + 1)]))
    np.testing.assert_allclose(tc.grad(lambda v: f(v).sum())(x), [3.0, 1.0, 1.0])


def test_value_constants_under_jit_name_the_function():
    with pytest.raises(tc.ConcretizationError, match=r"tensorcalc\.numpy\.unique"):
        tc.jit(lambda x: tnp.unique(x))(np.ones(3))


def _load_tool():
    import importlib.util as iu
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "numpy_coverage_doc.py"
    spec = iu.spec_from_file_location("numpy_coverage_doc", path)
    mod = iu.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, path.parents[1]


def test_conventions_doc_is_generated_from_the_lists():
    tool, root = _load_tool()
    text = (root / "docs" / "conventions.md").read_text(encoding="utf-8")
    assert cov.BEGIN in text, "run python tools/numpy_coverage_doc.py"
    if f"NumPy {np.__version__}:" not in text:
        pytest.skip(f"docs/conventions.md was generated with another NumPy than {np.__version__}")
    assert tool.updated(text) == text, (
        "docs/conventions.md's NumPy table is out of date: run python tools/numpy_coverage_doc.py")


def test_readme_states_the_measured_coverage():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    if f"NumPy {np.__version__} " not in readme:
        pytest.skip(f"README.md states the figure for another NumPy than {np.__version__}")
    assert cov.coverage_sentence() in readme
    counts = cov.coverage_counts()
    assert counts["total"] == len(numpy_public_callables())
    assert counts["differentiable"] + counts["constant"] + counts["pass-through"] == \
        counts["total"]
