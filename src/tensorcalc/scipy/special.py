"""``tensorcalc.scipy.special``: differentiable special functions (filled in by issue 3)."""

__all__: list[str] = []
