"""tensorcalc.numpy names for products and contractions (``ops/einsum.py`` and
``ops/products.py``)."""

from ..ops.einsum import einsum
from ..ops.products import cross, dot, inner, kron, outer, tensordot, vdot

__all__ = ["cross", "dot", "einsum", "inner", "kron", "outer", "tensordot", "vdot"]
