"""SciPy-compatible namespaces: ``tensorcalc.scipy.special``."""

from . import special  # noqa: F401
