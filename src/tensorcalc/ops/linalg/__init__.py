"""Linear-algebra primitives, one module per kind: inverses and determinants (``inverse``),
decompositions (``decompositions``), the general eigenproblem (``eig``) and least squares
(``least_squares``); ``_common`` holds the checks and building blocks they share. The
user-facing functions, with NumPy's names and the composites built on these primitives, are in
:mod:`tensorcalc.numpy.linalg`."""

from . import decompositions, eig, inverse, least_squares  # noqa: F401  (registers rules)
