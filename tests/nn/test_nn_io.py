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


def test_load_appends_npz_and_names_the_file(tmp_path):
    nn.save(tmp_path / "p", {"a": np.ones(2)})
    np.testing.assert_array_equal(nn.load(tmp_path / "p")["a"], np.ones(2))
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        nn.load(tmp_path / "missing")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="bad.npz"):
        nn.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.ones(2))
    with pytest.raises(ValueError, match=r"other\.npz was not written"):
        nn.load(other)


def test_load_like_refuses_another_architecture(tmp_path):
    small = nn.Sequential([nn.Linear(3, 4), nn.Linear(4, 2)]).init(0)
    big = nn.Sequential([nn.Linear(3, 5), nn.Linear(5, 2)]).init(0)
    path = tmp_path / "small.npz"
    nn.save(path, small)
    loaded = nn.load(path, like=small)
    np.testing.assert_array_equal(loaded[0]["W"], small[0]["W"])
    with pytest.raises(ValueError, match=r"small\.npz.*\[0\]\['W'\].*\(3, 5\).*\(3, 4\)"):
        nn.load(path, like=big)
    with pytest.raises(ValueError, match="length 3"):
        nn.load(path, like=[*small, {}])


def test_linear_and_conv_check_parameter_shapes():
    x = np.ones((2, 3))
    wrong = nn.Linear(3, 5).init(0)
    with pytest.raises(ValueError, match=r"Linear\(3, 4.*\(3, 5\), expected \(3, 4\)"):
        nn.Linear(3, 4)(wrong, x)
    with pytest.raises(ValueError, match=r"keys \['W'\], expected \['W', 'b'\]"):
        nn.Linear(3, 4)({"W": np.ones((3, 4))}, x)
    conv = nn.Conv2d(1, 2, 3)
    with pytest.raises(ValueError, match=r"params\['W'\] has shape \(2, 2, 3, 3\)"):
        conv(nn.Conv2d(2, 2, 3).init(0), np.ones((1, 1, 5, 5)))
    assert conv(conv.init(0), np.ones((1, 1, 5, 5))).shape == (1, 2, 3, 3)
