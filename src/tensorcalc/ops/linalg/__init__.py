"""Linear-algebra primitives, one module per kind: inverses and determinants (``inverse``),
decompositions (``decompositions``), the general eigenproblem (``eig``) and least squares
(``least_squares``), SciPy's matrix functions (``matrix_functions``); ``_common`` holds the
checks and building blocks they share. The user-facing functions, with NumPy's names and the
composites built on these primitives, are in :mod:`tensorcalc.numpy.linalg` and
:mod:`tensorcalc.scipy.linalg`."""

from . import (  # noqa: F401  (registers rules)
    decompositions,
    eig,
    inverse,
    least_squares,
    matrix_functions,
)
