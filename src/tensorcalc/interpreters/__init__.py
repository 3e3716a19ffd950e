"""The interpreters of :class:`~tensorcalc.core.ir.Program` s and of traced code.

=============  ===========================================================================
evaluate       run a program with ``bind`` (so evaluating inside a transformation transforms)
forward        push tangents: ``(x, ẋ) ↦ (f(x), J ẋ)``; owns the jvp rules (``defjvp``…)
stage          record primitives as equations (``tc.trace``, ``jit``)
linearize      forward mode with staged tangents: ``f(x)`` and the linear program ``ẋ ↦ J ẋ``
transpose      run a linear program backwards: ``ȳ ↦ Jᵀ ȳ``; owns the transpose rules
batch          ``vmap``: batching rules per primitive
=============  ===========================================================================

Each interpreter owns the table of rules it reads and the words that fill it; the op blocks in
:mod:`tensorcalc.ops` fill them, and :mod:`tensorcalc.extend` re-exports the words.
"""
