"""Planning Jacobian accumulation: chain bracketing, vertex elimination, sparse colouring.

Pure functions over small graph/chain data structures, independent of the autodiff engine (no
program, tracer or primitive is imported here: NumPy and SciPy only). Reading a program into
these structures is :mod:`tensorcalc.jacobians`' job.

* :mod:`.structure` — structured local Jacobians (zero, identity, scaled identity, diagonal,
  permutation, dense, Kronecker ``W ⊗ I``, sparse) and the multiplication cost of composing them;
* :mod:`.local` — the same structures carrying their values (``Local``), with the structured
  products and sums that execute an elimination;
* :mod:`.chain` — forward / reverse / optimal (matrix-chain DP) costs of ``J_q ··· J_1``;
* :mod:`.graph`, :mod:`.eliminate` — linearized DAGs, vertex elimination, forward, reverse,
  Markowitz and exact orders; ``eliminate_values`` runs an order on edge values (structured
  ``Local`` values in :mod:`tensorcalc.jacobians`);
* :mod:`.coloring` — partial distance-2 colourings (three orderings) on CSR/CSC patterns, seed
  matrices, sparse Jacobian recovery; :mod:`.coloring_bidirectional` — direct splits and star
  bicolouring (forward and reverse seeds together) and the choice among all of them;
  :mod:`.coloring_symmetric` — star colouring and symmetric (Hessian) recovery;
  :mod:`.coloring_acyclic` — acyclic colouring and recovery by substitution; the loops are in
  :mod:`._kernels` and :mod:`._kernels_graph` (numba when installed).

:func:`accumulate` is the dense test oracle: it runs an order with plain NumPy matmuls on dense
edge arrays, so the structured executor and the cost counts can be checked against it.
"""

from .chain import (
    Bracketing,
    ChainCost,
    all_bracketings,
    bracketing_cost,
    brute_force_chain,
    chain_cost,
    chain_factors,
    multiply_bracketing,
)
from .coloring import (
    Coloring,
    color_jacobian,
    column_coloring,
    is_valid_coloring,
    recover_jacobian,
    row_coloring,
    seed_matrix,
)
from .coloring_acyclic import (
    AcyclicColoring,
    acyclic_coloring,
    color_hessian,
    is_acyclic_coloring,
    recover_hessian_acyclic,
)
from .coloring_bidirectional import best_coloring, is_valid_bicoloring, star_bicoloring
from .coloring_symmetric import (
    StarColoring,
    is_star_coloring,
    recover_hessian,
    star_coloring,
)
from .eliminate import (
    EliminationReport,
    accumulate,
    brute_force_order,
    compare_orders,
    eliminate_vertex,
    elimination_cost,
    elimination_step_cost,
    forward_order,
    markowitz_order,
    optimal_order,
    reverse_order,
)
from .graph import LinearizedGraph, OutputCopy
from .structure import (
    Dense,
    Diagonal,
    Identity,
    Kronecker,
    LocalJacobian,
    Permutation,
    ScaledIdentity,
    Sparse,
    Zero,
    add_structure,
    compose,
)

__all__ = [
    # chain
    "Bracketing",
    "ChainCost",
    "all_bracketings",
    "bracketing_cost",
    "brute_force_chain",
    "chain_cost",
    "chain_factors",
    "multiply_bracketing",
    # structure
    "LocalJacobian",
    "Zero",
    "Identity",
    "ScaledIdentity",
    "Diagonal",
    "Permutation",
    "Dense",
    "Kronecker",
    "Sparse",
    "compose",
    "add_structure",
    # graph / elimination
    "LinearizedGraph",
    "OutputCopy",
    "EliminationReport",
    "accumulate",
    "brute_force_order",
    "compare_orders",
    "eliminate_vertex",
    "elimination_cost",
    "elimination_step_cost",
    "forward_order",
    "markowitz_order",
    "optimal_order",
    "reverse_order",
    # colouring
    "Coloring",
    "color_jacobian",
    "column_coloring",
    "is_valid_coloring",
    "recover_jacobian",
    "row_coloring",
    "seed_matrix",
    "StarColoring",
    "is_star_coloring",
    "recover_hessian",
    "star_coloring",
    "best_coloring",
    "is_valid_bicoloring",
    "star_bicoloring",
    "AcyclicColoring",
    "acyclic_coloring",
    "color_hessian",
    "is_acyclic_coloring",
    "recover_hessian_acyclic",
]
