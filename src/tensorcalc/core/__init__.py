"""Core: shapes, abstract values, the program IR, primitives and tracers, the transformation
context (per thread), the symbolic zero, pytrees, errors. Nothing here imports the interpreters,
the ops or the NumPy namespace.

The names are imported on first use (PEP 562), so a module that needs only ``core.errors`` (the
symbolic engine's errors subclass them) does not import NumPy."""

import typing as _typing

from .lazy import lazy_attributes as _lazy_attributes

_EXPORTS: dict[str, str] = {
    "new_trace": "context", "Zero": "zeros",
    **dict.fromkeys(("ConcretizationError", "DifferentiationTypeError", "LeakedTracerError",
                     "MissingRuleError", "NonScalarOutputError", "NotDifferentiableError",
                     "ShapeError", "TensorcalcError"), "errors"),
    **dict.fromkeys(("Equation", "Literal", "Program", "Var"), "ir"),
    **dict.fromkeys(("Primitive", "Trace", "Tracer", "bind", "get_aval"), "primitive"),
    **dict.fromkeys(("ShapedArray", "ShapeDtype", "Sym"), "shapes"),
    **dict.fromkeys(("register_pytree_node", "tree_flatten", "tree_leaves", "tree_map",
                     "tree_unflatten"), "tree"),
}

__all__ = [
    "ConcretizationError", "DifferentiationTypeError", "Equation", "LeakedTracerError",
    "Literal", "MissingRuleError", "NonScalarOutputError", "NotDifferentiableError", "Primitive",
    "Program", "ShapeDtype", "ShapeError", "ShapedArray", "Sym", "TensorcalcError", "Trace",
    "Tracer", "Var", "Zero", "bind", "get_aval", "new_trace", "register_pytree_node",
    "tree_flatten", "tree_leaves", "tree_map", "tree_unflatten",
]


__getattr__, __dir__ = _lazy_attributes(__name__, globals(), _EXPORTS, __all__)


if _typing.TYPE_CHECKING:
    from .context import new_trace
    from .errors import (
        ConcretizationError,
        DifferentiationTypeError,
        LeakedTracerError,
        MissingRuleError,
        NonScalarOutputError,
        NotDifferentiableError,
        ShapeError,
        TensorcalcError,
    )
    from .ir import Equation, Literal, Program, Var
    from .primitive import Primitive, Trace, Tracer, bind, get_aval
    from .shapes import ShapedArray, ShapeDtype, Sym
    from .tree import register_pytree_node, tree_flatten, tree_leaves, tree_map, tree_unflatten
    from .zeros import Zero
