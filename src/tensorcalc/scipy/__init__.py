"""SciPy-compatible namespaces: ``tensorcalc.scipy.special``, ``.stats``, ``.linalg``,
``.signal``, ``.fft``, ``.sparse.linalg`` and ``.integrate``."""

from . import (
    fft,  # noqa: F401
    integrate,  # noqa: F401
    linalg,  # noqa: F401
    signal,  # noqa: F401
    sparse,  # noqa: F401
    special,  # noqa: F401
    stats,  # noqa: F401
)
