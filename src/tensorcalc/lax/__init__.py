"""``tensorcalc.lax``: JAX's ``lax`` names that tensorcalc provides.

- ``scan``, ``fori_loop`` (concrete bounds) and ``map``: loops with a static trip count, one
  ``scan`` primitive whatever the trip count (:mod:`tensorcalc.lax.scan`), differentiable in
  both modes to any order, batched by ``vmap`` and compiled to a Python ``for`` by ``jit``;
  ``scan(…, checkpoint=…)`` recomputes instead of storing for long loops
  (:mod:`tensorcalc.lax.scan_checkpoint`).
- ``cond`` and ``switch``: a concrete predicate calls the branch; a traced one is one ``cond``
  equation over the staged branches (:mod:`tensorcalc.lax.cond`), differentiable, batched
  (a batched predicate selects per example) and compiled to ``if``/``elif``.
- ``stop_gradient``.
- ``custom_root``, ``custom_linear_solve``: solves differentiated implicitly
  (:mod:`tensorcalc.lax.implicit`, docs/implicit.md).

- ``while_loop`` (and ``fori_loop`` with traced bounds): a Python ``while`` eagerly, one
  ``while`` equation otherwise (:mod:`tensorcalc.lax.while_loop`), compiled to ``while``;
  forward-mode differentiable, reverse mode raises (JAX's rule: use ``scan``).
"""

from ..custom import stop_gradient
from .cond import CondError, cond, cond_p, switch
from .implicit import LinearSolveError, custom_linear_solve, custom_root, linear_solve_p
from .scan import ScanError, fori_loop, map, scan, scan_p
from .while_loop import WhileLoopReverseModeError, while_loop, while_p

__all__ = ["CondError", "LinearSolveError", "custom_linear_solve", "custom_root",
           "linear_solve_p", "ScanError", "cond", "cond_p", "fori_loop", "map", "scan", "scan_p",
           "stop_gradient", "switch", "WhileLoopReverseModeError", "while_loop", "while_p"]
