"""tensorcalc.numpy names for products and contractions (``ops/einsum.py`` and
``ops/products_extra.py``). ``dot`` here handles N-D operands and replaces the 1-D/2-D one."""

from ..ops.einsum import einsum
from ..ops.products_extra import cross, dot, inner, kron, outer, tensordot, vdot

__all__ = ["cross", "dot", "einsum", "inner", "kron", "outer", "tensordot", "vdot"]
