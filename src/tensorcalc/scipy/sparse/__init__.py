"""``tensorcalc.scipy.sparse``: ``linalg`` (iterative solvers with implicit derivatives)."""

from . import linalg  # noqa: F401
