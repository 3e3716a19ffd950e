"""Package attributes imported on first use (PEP 562), shared by the packages that load lazily.

``tensorcalc.core`` and ``tensorcalc.web`` name their public objects in a table
``name -> submodule``; :func:`lazy_attributes` gives them the module-level ``__getattr__`` and
``__dir__`` that import the submodule when a name is first read and then keep the value in the
package's namespace, so later reads cost a dict lookup. This module imports nothing of
tensorcalc. The package root keeps a copy of the same loader, because ``import tensorcalc`` is
promised to load that one file and nothing else (tests/test_lazy_imports.py).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any


def lazy_attributes(package: str, namespace: dict[str, Any], exports: dict[str, str],
                    public: Iterable[str], submodules: Iterable[str] = ()
                    ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``exports[name]`` is the submodule (relative
    to the package) that defines ``name``; ``submodules`` are reachable as attributes too."""
    subs = frozenset(submodules)
    listed = set(public) | subs

    def __getattr__(name: str) -> Any:  # noqa: N807  (the module hook's own name)
        module = exports.get(name)
        if module is not None:
            value = getattr(importlib.import_module(f".{module}", package), name)
        elif name in subs:
            value = importlib.import_module(f".{name}", package)
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        namespace[name] = value  # later lookups do not come back here
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(namespace) | listed)

    return __getattr__, __dir__
