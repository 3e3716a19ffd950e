"""What you need to add a primitive of your own: the words the op blocks of ``tensorcalc.ops``
use, in one public module (docs/guide.md §5 has a worked example).

A primitive is declared in one block: the :class:`Primitive` (implementation on arrays and a
shape/dtype rule; :func:`elementwise` builds NumPy's broadcasting rule for you), the function
users call (:func:`unary_op` / :func:`binary_op` call NumPy directly on plain arrays and bind the
primitive on traced values), then its rules:

==================  ===========================================================================
word                declares
==================  ===========================================================================
``defjvp_diag``     an elementwise derivative ``ẏ = Σᵢ ∂ᵢf(x) ⊙ ẋᵢ`` from the factors ``∂ᵢf``
                    (strong zeros, broadcasting and the eager fast path come with it)
``defjvp``          per-operand jvp rules ``rule(ẋᵢ, ans, *primals, **params)``, summed
``defjvp_rule``     a whole jvp rule ``rule(primals, tangents, **params) -> (ans, tangent)``
``defjvp_zero``     no derivative (comparisons, rounding): the tangent is zero
``deflinear``       linear in every operand: jvp is the primitive itself, plus its transpose
``defbilinear``     linear in each operand separately (a product): both jvps and the transpose
``deftranspose``    the transpose rule of a primitive linear in some operands
``defvectorized``   vmap of a unary elementwise primitive (apply to the stacked array)
``defbroadcasting`` vmap of an n-ary elementwise primitive with NumPy broadcasting
``defbatch``        a general batching rule ``rule(args, dims, **params) -> (out, out_dim)``
``defbatch_gufunc`` vmap of a primitive with leading loop axes (NumPy gufunc style)
``defsparsity``     its Jacobian sparsity rule ``rule(query) -> SAME | Gather | Pairs | DENSE``
                    (``defsparsity_elementwise``, ``defsparsity_gather`` for the common cases;
                    without one, sparse Jacobians take that equation's block as dense;
                    ``defsparsity_program`` for primitives whose parameters are sub-programs:
                    ``rule(ProgramQuery) -> patterns``, see ``tensorcalc.lax.cond``)
==================  ===========================================================================

Rules are written with ``tensorcalc.numpy`` operations, so they are differentiable in turn and
every order of derivative follows. The derivative factors of elementwise rules are applied with
``mul_sz``/``div_sz`` (a product with a strong zero in the tangent: ``0 · ∞ = 0``).
"""

from __future__ import annotations

from .core.primitive import Primitive, Tracer, bind, get_aval
from .core.shapes import ShapedArray
from .core.zeros import Zero, instantiate
from .interpreters.batch import (
    defbatch,
    defbatch_gufunc,
    defbroadcasting,
    defvectorized,
)
from .interpreters.forward import defjvp, defjvp_diag, defjvp_rule, defjvp_zero
from .interpreters.sparsity import (
    DENSE,
    SAME,
    Gather,
    Pairs,
    ProgramQuery,
    SparsityQuery,
    defsparsity,
    defsparsity_elementwise,
    defsparsity_gather,
    defsparsity_program,
)
from .interpreters.transpose import (
    UndefinedPrimal,
    defbilinear,
    deflinear,
    deftranspose,
    is_undefined,
)
from .ops.elementwise import binary_op, elementwise, unary_op
from .ops.strong_zero import div_sz, mul_sz
from .ops.structural import unbroadcast

__all__ = [
    "DENSE", "Gather", "Pairs", "Primitive", "ProgramQuery", "SAME", "ShapedArray",
    "SparsityQuery", "Tracer", "UndefinedPrimal", "Zero", "bind", "binary_op",
    "defbatch", "defbatch_gufunc", "defbilinear", "defbroadcasting", "defjvp", "defjvp_diag",
    "defjvp_rule", "defjvp_zero", "deflinear", "defsparsity", "defsparsity_elementwise",
    "defsparsity_gather", "defsparsity_program", "deftranspose", "defvectorized", "div_sz",
    "elementwise", "get_aval", "instantiate", "is_undefined", "mul_sz", "unary_op",
    "unbroadcast",
]
