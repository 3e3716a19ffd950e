"""Where generated Numba modules live (``compile/kernel_files.py``), shared by the fused
kernels and the ``scan`` loops: one directory rule for both, the off switch, atomic writes and
an in-memory fallback when the disk cannot be used."""

import os
import stat
import sys

import numpy as np
import pytest

from tensorcalc.compile import fusion, kernel_files


def test_one_directory_rule_for_every_kind(monkeypatch, tmp_path):
    monkeypatch.setenv("TENSORCALC_CACHE_DIR", str(tmp_path / "c"))
    assert kernel_files.cache_dir("fused") == str(tmp_path / "c" / "fused")
    assert kernel_files.cache_dir("numba_loops") == str(tmp_path / "c" / "numba_loops")
    assert os.path.isdir(tmp_path / "c" / "fused")
    monkeypatch.delenv("TENSORCALC_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert kernel_files.cache_dir("fused") == str(tmp_path / "xdg" / "tensorcalc" / "fused")
    monkeypatch.setenv("TENSORCALC_NUMBA_CACHE", "0")
    assert kernel_files.cache_dir("fused") is None


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0,
                    reason="needs a directory this user cannot write")
def test_an_unwritable_directory_means_memory(monkeypatch, tmp_path):
    root = tmp_path / "ro"
    (root / "fused").mkdir(parents=True)
    (root / "fused").chmod(stat.S_IRUSR | stat.S_IXUSR)
    monkeypatch.setenv("TENSORCALC_CACHE_DIR", str(root))
    try:
        assert kernel_files.cache_dir("fused") is None
    finally:
        (root / "fused").chmod(stat.S_IRWXU)


def test_import_generated_writes_once_and_imports_by_name(tmp_path):
    text = "VALUE = 41 + 1\n"
    env = kernel_files.import_generated(text, str(tmp_path), "tc_test_mod", "tc_test_mod_a")
    assert env["VALUE"] == 42 and sys.modules["tc_test_mod_a"].VALUE == 42
    path = tmp_path / "tc_test_mod.py"
    assert path.read_text() == text
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # no stray temp file
    before = path.stat().st_mtime_ns
    again = kernel_files.import_generated(text, str(tmp_path), "tc_test_mod", "tc_test_mod_b")
    assert again["VALUE"] == 42 and path.stat().st_mtime_ns == before  # read, not rewritten
    del sys.modules["tc_test_mod_a"], sys.modules["tc_test_mod_b"]


@pytest.mark.skipif(not fusion.numba_available(), reason="fused kernels need numba")
def test_fused_kernels_without_a_disk_cache_compile_in_memory(monkeypatch, tmp_path, rng):
    import tensorcalc as tc
    import tensorcalc.numpy as tnp

    monkeypatch.setenv("TENSORCALC_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("TENSORCALC_NUMBA_CACHE", "0")
    monkeypatch.setattr(fusion, "_kernels", {})
    x = rng.standard_normal(9)
    f = lambda v: tnp.sum((v * 0.5 + 1.25) * v - 3.0)  # noqa: E731
    np.testing.assert_array_equal(tc.jit(tc.grad(f), fuse=True)(x),
                                  tc.jit(tc.grad(f), fuse=False)(x))
    assert fusion._kernels and not os.path.exists(tmp_path / "fused")
