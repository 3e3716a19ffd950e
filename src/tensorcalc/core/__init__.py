"""Core: shapes, abstract values, the program IR, primitives and tracers, pytrees, errors."""

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
from .primitive import Primitive, Trace, Tracer, bind, get_aval, new_trace
from .shapes import ShapedArray, ShapeDtype, Sym
from .tree import register_pytree_node, tree_flatten, tree_leaves, tree_map, tree_unflatten

__all__ = [
    "ConcretizationError", "DifferentiationTypeError", "Equation", "LeakedTracerError",
    "Literal", "MissingRuleError", "NonScalarOutputError", "NotDifferentiableError", "Primitive",
    "Program", "ShapeDtype", "ShapeError", "ShapedArray", "Sym", "TensorcalcError", "Trace",
    "Tracer", "Var", "bind", "get_aval", "new_trace", "register_pytree_node", "tree_flatten",
    "tree_leaves", "tree_map", "tree_unflatten",
]
