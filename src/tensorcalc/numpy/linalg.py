"""``tensorcalc.numpy.linalg``: NumPy's linear algebra, differentiable (filled in by issue 3)."""

__all__: list[str] = []
