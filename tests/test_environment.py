"""tensorcalc.environment: the BLAS-kernel warning on made-up reports, and the real report of
this process (``tc.environment_info``, ``tensorcalc info``)."""

from __future__ import annotations

import io

import numpy as np
import pytest

import tensorcalc as tc
from tensorcalc import environment as env

from .cli._run import run_cli

AVX512 = {"AVX2": True, "AVX512F": True, "AVX512_SKX": True}
AVX2 = {"AVX2": True, "AVX512F": False, "AVX512_SKX": False}


def pool(core: str, api: str = "openblas") -> dict:
    return {"user_api": "blas", "internal_api": api, "version": "0.3.31",
            "architecture": core, "num_threads": 1, "filepath": "/x/libopenblas.so"}


def test_avx2_kernels_on_an_avx512_cpu_are_reported_with_the_variable_that_chose_them():
    [w] = env.blas_advice([pool("Haswell")], AVX512, {"OPENBLAS_CORETYPE": "Haswell"})
    assert "Haswell kernels" in w and "0.3.31" in w
    assert "OPENBLAS_CORETYPE=Haswell in the environment" in w and "unset it" in w
    assert "before Python starts" in w


def test_without_the_variable_the_warning_names_the_core_to_set():
    [w] = env.blas_advice([pool("Zen")], AVX512, {})
    assert "Zen kernels" in w and "set OPENBLAS_CORETYPE=SkylakeX" in w


@pytest.mark.parametrize("core", ["SkylakeX", "COOPERLAKE", "SapphireRapids"])
def test_avx512_kernels_get_no_warning(core):
    assert env.blas_advice([pool(core)], AVX512, {}) == []


def test_no_warning_where_the_cpu_has_no_avx512_or_the_blas_is_not_openblas():
    assert env.blas_advice([pool("Haswell")], AVX2, {}) == []
    assert env.blas_advice([pool("Haswell", api="mkl")], AVX512, {}) == []
    assert env.blas_advice([], AVX512, {}) == []
    assert env.blas_advice(None, AVX512, {}) == []  # threadpoolctl missing: nothing known


def test_one_warning_per_slow_library():
    pools = [pool("Haswell"), pool("SkylakeX"), pool("Sandybridge")]
    assert len(env.blas_advice(pools, AVX512, {})) == 2


def test_summary_lines():
    assert env.blas_summary(None) == "unknown (threadpoolctl is not installed)"
    assert env.blas_summary([]) == "none loaded"
    assert env.blas_summary([pool("Haswell")]) == "openblas 0.3.31, kernels Haswell, 1 thread(s)"


def test_the_report_of_this_process():
    info = tc.environment_info()
    assert info["numpy"] == np.__version__ and info["tensorcalc"] == tc.__version__
    assert set(info["optional"]) == set(env.OPTIONAL)
    assert isinstance(info["advice"], list) and isinstance(info["jit tanh"], str)
    pools = info["blas"]
    if pools is not None:  # threadpoolctl (the nn extra) is installed
        assert all(p["user_api"] == "blas" for p in pools)
        expected = env.blas_advice(pools, env.cpu_features())
        assert info["advice"] == expected
    out = io.StringIO()
    tc.print_environment_info(out)
    text = out.getvalue()
    assert f"numpy: {np.__version__}\n" in text and "blas: " in text
    assert text.count("warning: ") == len(info["advice"])


def test_tanh_choice_follows_the_switch(monkeypatch):
    monkeypatch.setenv("TENSORCALC_TANH", "numpy")
    assert env.jit_tanh_choice() == "NumPy's (TENSORCALC_TANH=numpy)"
    monkeypatch.setenv("TENSORCALC_TANH", "kernel")
    choice = env.jit_tanh_choice()
    assert choice.startswith("jit's numba kernel") or "not installed" in choice


def test_cli_info_prints_the_report():
    r = run_cli("info", timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"numpy: {np.__version__}" in r.stdout and "jit tanh: " in r.stdout
