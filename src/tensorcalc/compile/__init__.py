"""Program passes and NumPy code generation behind ``tc.jit``.

``passes``: dead-code elimination, common-subexpression elimination, constant folding,
algebraic simplification; ``structured``: strong zeros, identity/diagonal matmuls, uniform
constants, whole slices; ``buffers``: liveness, ``del`` at last use and ``out=`` reuse;
``codegen``: Program → straight-line NumPy source; ``jit``: the per-signature cache.
"""

from .buffers import plan_buffers
from .codegen import compile_program, generate_source
from .jit import Jitted, jit
from .passes import (
    algebraic_simplification,
    common_subexpression_elimination,
    constant_folding,
    dead_code_elimination,
    optimize,
)
from .structured import (
    diagonal_matmul,
    strong_zero_simplification,
    uniform_constants,
    whole_slices,
)

__all__ = ["Jitted", "algebraic_simplification", "common_subexpression_elimination",
           "compile_program", "constant_folding", "dead_code_elimination", "diagonal_matmul",
           "generate_source", "jit", "optimize", "plan_buffers", "strong_zero_simplification",
           "uniform_constants", "whole_slices"]
