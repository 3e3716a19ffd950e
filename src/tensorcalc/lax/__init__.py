"""``tensorcalc.lax``: JAX's ``lax`` names that tensorcalc provides.

- ``scan``, ``fori_loop`` (concrete bounds) and ``map``: loops with a static trip count, one
  ``scan`` primitive whatever the trip count (:mod:`tensorcalc.lax.scan`), differentiable in
  both modes to any order, batched by ``vmap`` and compiled to a Python ``for`` by ``jit``.
- ``stop_gradient``.

``cond``, ``switch`` and ``while_loop`` are not here yet; Python control flow works in eager
transformations, and ``tnp.where`` under ``jit``.
"""

from ..custom import stop_gradient
from .scan import ScanError, fori_loop, map, scan, scan_p

__all__ = ["ScanError", "fori_loop", "map", "scan", "scan_p", "stop_gradient"]
