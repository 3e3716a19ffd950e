"""Generated Numba modules on disk: where they live and how they are imported.

Numba's ``cache=True`` keeps a function's machine code next to the file that defines it and
finds it again by that file and the function's module. So the code generators that compile
with Numba — fused elementwise kernels (:mod:`tensorcalc.compile.fusion`) and whole ``scan``
loops (:mod:`tensorcalc.lax.scan_numba`) — write each generated source to a file named after
its digest and import it from there; a later process that generates the same source imports
the same file and loads the machine code instead of compiling it.

**Where.** ``$TENSORCALC_CACHE_DIR/<kind>``, else ``$XDG_CACHE_HOME/tensorcalc/<kind>``, else
``~/.cache/tensorcalc/<kind>``; ``TENSORCALC_NUMBA_CACHE=0`` keeps everything in memory.
A directory that cannot be made or written means the same: the code is compiled in memory.

**Writes are atomic.** A source is written to a temporary file in the same directory and
renamed into place, so a concurrent reader (another thread or process generating the same
kernel) sees the whole file or none.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from typing import Any

from .options import env_switch


def cache_dir(kind: str) -> str | None:
    """The writable directory for generated modules of ``kind`` (module docstring), or None."""
    if env_switch("TENSORCALC_NUMBA_CACHE") is False:
        return None
    root = os.environ.get("TENSORCALC_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "tensorcalc")
    path = os.path.join(root, kind)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError:
        return None
    return path if os.access(path, os.W_OK) else None


def import_generated(text: str, folder: str, file_stem: str, module_name: str) -> dict[str, Any]:
    """The globals of ``text`` imported as ``module_name`` from ``folder/file_stem.py`` (written
    atomically first when absent). Raises :class:`OSError` when the file cannot be written."""
    path = os.path.join(folder, f"{file_stem}.py")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{file_stem}.", suffix=".tmp")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    # Numba's cache finds a function's globals again by its module's name: register it first.
    sys.modules[module_name] = module
    spec.loader.exec_module(module)  # a file this package generated, never user text
    return vars(module)
