"""``tensorcalc.lax``: JAX's ``lax`` names that tensorcalc provides (``stop_gradient`` so far).

Control flow (``cond``, ``switch``, ``scan``, ``fori_loop``, ``while_loop``) is not here yet;
Python control flow works in eager transformations, and ``tnp.where`` under ``jit``.
"""

from ..custom import stop_gradient

__all__ = ["stop_gradient"]
