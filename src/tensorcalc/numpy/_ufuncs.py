"""tensorcalc.numpy names provided by the op modules of this family (filled in by issue 3)."""

__all__: list[str] = []
