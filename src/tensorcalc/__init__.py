"""tensorcalc: matrix and tensor calculus for NumPy.

Numeric automatic differentiation of NumPy code (``grad``, ``vjp``, ``jvp``, ``linearize``,
``trace``), generalized Jacobians of shape ``out.shape + in.shape`` (docs/lessons/jacobians.md), and
symbolic matrix calculus (:mod:`tensorcalc.symbolic`).
"""

from . import numpy  # noqa: F401  (installs array behaviour on tracers)
from .accumulate import chain_cost
from .api import grad, jvp, linear_map, linearize, trace, value_and_grad, vjp
from .checkpoint import checkpoint, checkpoint_name, checkpoint_policies, remat
from .compile import jit
from .core import (
    ConcretizationError,
    DifferentiationTypeError,
    MissingRuleError,
    NonScalarOutputError,
    NotDifferentiableError,
    Program,
    ShapeDtype,
    ShapeError,
    Sym,
    TensorcalcError,
    register_pytree_node,
    tree_flatten,
    tree_map,
    tree_unflatten,
)
from .custom import CustomRuleError, custom_jvp, custom_vjp, stop_gradient
from .testing import GradientCheckError, check_grads
from .transforms import hessian, hvp, jacfwd, jacobian, jacobian_plan, jacrev, vmap

__version__ = "0.1.0"

__all__ = [
    "ConcretizationError", "CustomRuleError", "DifferentiationTypeError", "GradientCheckError",
    "MissingRuleError", "NonScalarOutputError", "NotDifferentiableError", "Program",
    "ShapeDtype", "ShapeError", "Sym", "TensorcalcError", "chain_cost", "check_grads",
    "checkpoint", "checkpoint_name", "checkpoint_policies", "remat",
    "custom_jvp", "custom_vjp", "grad", "hessian", "hvp", "jacfwd", "jacobian", "jacobian_plan",
    "jacrev", "jit", "jvp", "linear_map", "linearize", "register_pytree_node", "stop_gradient",
    "trace", "tree_flatten", "tree_map", "tree_unflatten", "value_and_grad", "vjp", "vmap",
]
