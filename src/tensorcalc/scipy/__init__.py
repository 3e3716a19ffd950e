"""SciPy-compatible namespaces: ``tensorcalc.scipy.special``, ``.stats``, ``.linalg``,
``.signal``, ``.fft``, ``.sparse.linalg`` and ``.integrate``."""

from . import (
    integrate,  # noqa: F401
    linalg,  # noqa: F401
    sparse,  # noqa: F401
    special,  # noqa: F401
    stats,  # noqa: F401
)
