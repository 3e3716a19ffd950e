"""jit's switches read from the environment (``TENSORCALC_JIT_FUSE``, ``TENSORCALC_JIT_POOL``).

One spelling for all of them: ``1``/``true``/``on``/``yes`` turn a switch on, ``0``/``false``/
``off``/``no`` off (any case); unset or anything else leaves the default to the caller.
"""

from __future__ import annotations

import os

_ON = frozenset({"1", "true", "on", "yes"})
_OFF = frozenset({"0", "false", "off", "no"})


def env_switch(name: str) -> bool | None:
    """``True``/``False`` when the environment variable ``name`` turns a switch on/off, else
    ``None`` (unset, empty or another word: the caller's default)."""
    value = os.environ.get(name, "").lower()
    return True if value in _ON else False if value in _OFF else None
