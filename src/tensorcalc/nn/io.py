"""``save`` / ``load`` of parameter pytrees as ``.npz`` files, structure included.

The arrays are stored as ``leaf_0, leaf_1, …`` in flattening order, and the structure (nested
dicts with string keys, lists, tuples, ``None``) as a JSON description under ``__tree__``, so a
file loads back into the same nesting with no pickle involved.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

FORMAT = "tensorcalc.nn params v1"


def _encode(tree: Any, leaves: list[np.ndarray]) -> Any:
    """The JSON description of ``tree``; arrays are appended to ``leaves``. Iterative over
    containers would be overkill here: parameter trees are a few levels deep."""
    if isinstance(tree, dict):
        for k in tree:
            if not isinstance(k, str):
                raise TypeError(f"save: dict keys must be strings to be stored, got {k!r}")
        return {"dict": {k: _encode(v, leaves) for k, v in tree.items()}}
    if isinstance(tree, tuple) and not hasattr(tree, "_fields"):
        return {"tuple": [_encode(v, leaves) for v in tree]}
    if isinstance(tree, list):
        return {"list": [_encode(v, leaves) for v in tree]}
    if tree is None:
        return {"none": None}
    if isinstance(tree, (np.ndarray, np.generic, int, float, bool)):
        leaves.append(np.asarray(tree))
        return {"leaf": len(leaves) - 1}
    raise TypeError(f"save: cannot store a {type(tree).__name__}; parameters must be arrays in "
                    "dicts (string keys), lists and tuples")


def _decode(desc: Any, arrays: Any) -> Any:
    (kind, value), = desc.items()
    if kind == "dict":
        return {k: _decode(v, arrays) for k, v in value.items()}
    if kind == "list":
        return [_decode(v, arrays) for v in value]
    if kind == "tuple":
        return tuple(_decode(v, arrays) for v in value)
    if kind == "none":
        return None
    if kind == "leaf":
        return arrays[f"leaf_{value}"]
    raise ValueError(f"load: unknown node {kind!r} in the stored structure")


def _npz_path(path: str | os.PathLike[str]) -> str:
    """``path`` with ``.npz`` appended if missing, as ``np.savez`` does for a file name."""
    p = os.fspath(path)
    return p if p.endswith(".npz") else p + ".npz"


def save(path: str | os.PathLike[str], params: Any) -> None:
    """Write ``params`` (a pytree of arrays) to ``path`` (``.npz`` is appended if missing).

    The file is written atomically: into a temporary file in the same directory, flushed to
    disk, then renamed over ``path``. A failed save (full disk, interrupted process) leaves the
    previous file intact instead of a truncated archive.
    """
    leaves: list[np.ndarray] = []
    desc = _encode(params, leaves)
    header = json.dumps({"format": FORMAT, "tree": desc})
    target = _npz_path(path)
    directory = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, __tree__=np.array(header),
                     **{f"leaf_{i}": a for i, a in enumerate(leaves)})
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private (0600); keep the mode a plain write would have had.
        try:
            mode = os.stat(target).st_mode & 0o777
        except FileNotFoundError:
            mode = 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        # Whatever failed, the half-written temporary must not be left next to the real file.
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _check_like(got: Any, like: Any, where: str, path: str) -> None:
    """Raise unless ``got`` has the nesting, keys and leaf shapes of ``like``."""
    def fail(what: str) -> None:
        raise ValueError(f"load: {path} does not match like=: at {where or 'the root'} {what}. "
                         "The file was probably saved from another architecture; build the "
                         "model it was trained with, or retrain")

    if isinstance(like, dict):
        if not isinstance(got, dict):
            fail(f"expected a dict, the file has a {type(got).__name__}")
        if set(got) != set(like):
            fail(f"expected keys {sorted(like)}, the file has {sorted(got)}")
        for k in like:
            _check_like(got[k], like[k], f"{where}[{k!r}]", path)
    elif isinstance(like, (list, tuple)) and not hasattr(like, "_fields"):
        if type(got) is not type(like) or len(got) != len(like):
            fail(f"expected a {type(like).__name__} of length {len(like)}, the file has "
                 f"{type(got).__name__}"
                 + (f" of length {len(got)}" if isinstance(got, (list, tuple)) else ""))
        for i, (g, w) in enumerate(zip(got, like, strict=True)):
            _check_like(g, w, f"{where}[{i}]", path)
    elif like is None:
        if got is not None:
            fail("expected None")
    else:
        if not isinstance(got, np.ndarray):
            fail(f"expected an array, the file has a {type(got).__name__}")
        if got.shape != np.shape(like):
            fail(f"expected shape {np.shape(like)}, the file has {got.shape}")


def load(path: str | os.PathLike[str], like: Any = None) -> Any:
    """Read parameters written by :func:`save`, with the same nesting and array dtypes.

    ``.npz`` is appended to ``path`` if missing, as :func:`save` does. With ``like`` (for example
    ``model.init(0)``) the loaded tree must have the same nesting, keys and array shapes, so
    parameters of another architecture are refused instead of failing later, or not at all.
    """
    name = os.fspath(path)
    if not os.path.exists(name):
        name = _npz_path(name)
    try:
        data = np.load(name, allow_pickle=False)
    except FileNotFoundError:
        raise FileNotFoundError(f"load: no parameter file {name}") from None
    except (OSError, ValueError, zipfile.BadZipFile) as e:
        raise ValueError(f"load: {name} is not a readable .npz file ({e})") from e
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise ValueError(f"load: {name} is a single .npy array, not a file written by "
                         "tensorcalc.nn.save")
    with data:
        if "__tree__" not in data.files:
            raise ValueError(f"load: {name} was not written by tensorcalc.nn.save "
                             "(no __tree__ entry)")
        try:
            header = json.loads(str(data["__tree__"]))
            arrays = {k: data[k] for k in data.files if k != "__tree__"}
        except (OSError, ValueError, zipfile.BadZipFile) as e:
            raise ValueError(f"load: {name} is damaged ({e})") from e
        if header.get("format") != FORMAT:
            raise ValueError(f"load: {name} has unsupported format {header.get('format')!r}; "
                             f"expected {FORMAT!r}")
    try:
        out = _decode(header["tree"], arrays)
    except (KeyError, ValueError) as e:
        raise ValueError(f"load: {name} has a damaged structure description ({e})") from e
    if like is not None:
        _check_like(out, like, "", name)
    return out
