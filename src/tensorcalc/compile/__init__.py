"""Program passes and NumPy code generation behind ``tc.jit``."""

from .codegen import compile_program, generate_source
from .jit import Jitted, jit
from .passes import (
    algebraic_simplification,
    common_subexpression_elimination,
    constant_folding,
    dead_code_elimination,
    optimize,
)

__all__ = ["Jitted", "algebraic_simplification", "common_subexpression_elimination",
           "compile_program", "constant_folding", "dead_code_elimination", "generate_source",
           "jit", "optimize"]
