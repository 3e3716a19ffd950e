"""SciPy-compatible namespaces: ``tensorcalc.scipy.special``, ``.sparse.linalg`` and
``.integrate``."""

from . import (
    integrate,  # noqa: F401
    sparse,  # noqa: F401
    special,  # noqa: F401
)
