"""The primitives, one module per family, each primitive declared in one block with its
implementation, shape rule, jvp rule and (for linear primitives) transpose rule."""

from . import elementwise, products, reductions, structural  # noqa: F401  (registers rules)
