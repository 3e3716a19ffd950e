"""nn.save / nn.load: atomic writes, file names, and checks against the expected structure."""

import os

import numpy as np
import pytest

from tensorcalc import nn


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "params.npz"
    old = {"W": np.arange(6.0).reshape(2, 3)}
    nn.save(path, old)

    def savez_disk_full(file, *args, **kwargs):
        # Writes part of an archive, then fails the way a full disk does.
        f = open(file, "wb") if isinstance(file, (str, os.PathLike)) else file  # noqa: SIM115
        f.write(b"PK\x03\x04 truncated")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", savez_disk_full)
    with pytest.raises(OSError, match="No space"):
        nn.save(path, {"W": np.zeros((2, 3))})
    monkeypatch.undo()
    np.testing.assert_array_equal(nn.load(path)["W"], old["W"])
    assert sorted(os.listdir(tmp_path)) == ["params.npz"]   # the temporary was removed


def test_save_replaces_and_appends_npz(tmp_path):
    nn.save(tmp_path / "p", {"a": np.ones(2)})
    nn.save(tmp_path / "p", {"a": np.zeros(2)})
    assert sorted(os.listdir(tmp_path)) == ["p.npz"]
    np.testing.assert_array_equal(nn.load(tmp_path / "p.npz")["a"], np.zeros(2))
