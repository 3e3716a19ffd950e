"""The program reader: Jacobians of linearized :class:`~tensorcalc.core.ir.Program` s.

This package reads the equations of a linear program (a linearization) and turns them into
what :mod:`tensorcalc.accumulate` works on, then runs the chosen strategy. ``accumulate/`` is
the IR-free planning math (structures, costs, elimination orders, colouring); everything here
knows programs, primitives and interpreters:

* :mod:`.structured` — each equation's structured local Jacobian (a table keyed by the
  primitive objects), the planner's graph, and structured vertex elimination;
* :mod:`.plan` — forward/reverse sweeps vs elimination orders, costed and explained;
* :mod:`.sweeps` — batched forward and reverse sweeps (basis tangents / cotangents);
* :mod:`.pattern` — the structural sparsity pattern, O(nnz), from the ops' sparsity rules;
* :mod:`.sparse` — colouring, compressed sweeps and recovery for sparse Jacobians/Hessians;
* :mod:`.driver` — ``compute_blocks``, the dispatcher ``jacobian(mode=...)`` calls.
"""
