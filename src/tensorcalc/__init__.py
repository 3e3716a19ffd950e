"""tensorcalc: matrix and tensor calculus for NumPy.

Numeric automatic differentiation of NumPy code (``grad``, ``vjp``, ``jvp``, ``linearize``,
``trace``), generalized Jacobians of shape ``out.shape + in.shape`` (docs/lessons/jacobians.md), and
symbolic matrix calculus (:mod:`tensorcalc.symbolic`).

The names below are imported on first use (PEP 562), so ``import tensorcalc.symbolic`` and
``tensorcalc --version`` do not pay for the numeric engine. Every module that runs a
transformation imports :mod:`tensorcalc.numpy` itself, which gives tracers their array
behaviour (operators, methods, NumPy's functions).
"""

import importlib as _importlib
import typing as _typing

__version__ = "0.1.0"

# public name -> the submodule (relative to this package) that defines it
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("chain_cost",), "accumulate"),
    **dict.fromkeys(("grad", "jvp", "linear_map", "linearize", "trace", "value_and_grad", "vjp"),
                    "api"),
    **dict.fromkeys(("checkpoint", "checkpoint_name", "checkpoint_policies", "remat"),
                    "checkpointing"),
    **dict.fromkeys(("jit",), "compile"),
    **dict.fromkeys(("ConcretizationError", "DifferentiationTypeError", "MissingRuleError",
                     "NonScalarOutputError", "NotDifferentiableError", "Program", "ShapeDtype",
                     "ShapeError", "Sym", "TensorcalcError", "register_pytree_node",
                     "tree_flatten", "tree_map", "tree_unflatten"), "core"),
    **dict.fromkeys(("CustomRuleError", "custom_jvp", "custom_vjp", "stop_gradient"), "custom"),
    **dict.fromkeys(("environment_info", "print_environment_info"), "environment"),
    **dict.fromkeys(("SparseHessianPlan", "SparseJacobianPlan", "sparse_hessian_plan",
                     "sparse_jacobian_plan"), "sparse_plans"),
    **dict.fromkeys(("GradientCheckError", "check_grads"), "testing"),
    **dict.fromkeys(("hessian", "hvp", "jacfwd", "jacobian", "jacobian_plan", "jacrev", "vmap"),
                    "transforms"),
}

# subpackages reachable as attributes (``tc.numpy.sin``) without importing them first
_SUBMODULES = frozenset((
    "accumulate", "api", "checkpointing", "compile", "core", "custom", "environment", "explain",
    "extend", "interpreters", "jacobians", "lax", "nn", "numpy", "ops", "scipy", "sparse_plans",
    "symbolic", "testing", "transforms", "tree_util",
))

__all__ = [
    "ConcretizationError", "CustomRuleError", "DifferentiationTypeError", "GradientCheckError",
    "MissingRuleError", "NonScalarOutputError", "NotDifferentiableError", "Program",
    "ShapeDtype", "ShapeError", "Sym", "TensorcalcError", "chain_cost", "check_grads",
    "checkpoint", "checkpoint_name", "checkpoint_policies", "remat",
    "custom_jvp", "custom_vjp", "environment_info", "grad", "hessian", "hvp", "jacfwd",
    "jacobian", "jacobian_plan", "jacrev", "jit", "jvp", "linear_map", "linearize",
    "print_environment_info", "register_pytree_node",
    "SparseHessianPlan", "SparseJacobianPlan", "sparse_hessian_plan", "sparse_jacobian_plan",
    "stop_gradient",
    "trace", "tree_flatten", "tree_map", "tree_unflatten", "value_and_grad", "vjp", "vmap",
]


# The root keeps its own copy of core/lazy.py's loader: `import tensorcalc` loads nothing but
# this file, not even tensorcalc.core.
def __getattr__(name: str) -> _typing.Any:
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(_importlib.import_module(f".{module}", __name__), name)
    elif name in _SUBMODULES:
        value = _importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)


if _typing.TYPE_CHECKING:  # for type checkers and editors; at run time __getattr__ imports them
    from .accumulate import chain_cost
    from .api import grad, jvp, linear_map, linearize, trace, value_and_grad, vjp
    from .checkpointing import checkpoint, checkpoint_name, checkpoint_policies, remat
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
    from .environment import environment_info, print_environment_info
    from .sparse_plans import (
        SparseHessianPlan,
        SparseJacobianPlan,
        sparse_hessian_plan,
        sparse_jacobian_plan,
    )
    from .testing import GradientCheckError, check_grads
    from .transforms import hessian, hvp, jacfwd, jacobian, jacobian_plan, jacrev, vmap
