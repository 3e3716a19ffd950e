"""Core: shapes, abstract values, the program IR, primitives and tracers, the transformation
context (per thread), the symbolic zero, pytrees, errors. Nothing here imports the interpreters,
the ops or the NumPy namespace."""

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

__all__ = [
    "ConcretizationError", "DifferentiationTypeError", "Equation", "LeakedTracerError",
    "Literal", "MissingRuleError", "NonScalarOutputError", "NotDifferentiableError", "Primitive",
    "Program", "ShapeDtype", "ShapeError", "ShapedArray", "Sym", "TensorcalcError", "Trace",
    "Tracer", "Var", "Zero", "bind", "get_aval", "new_trace", "register_pytree_node",
    "tree_flatten", "tree_leaves", "tree_map", "tree_unflatten",
]
