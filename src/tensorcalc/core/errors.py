"""The exceptions tensorcalc raises.

Every error is written for the person who called the public API: it names the operator, the
shapes involved, what was expected and what to do about it.
"""

from __future__ import annotations


class TensorcalcError(Exception):
    """Base class of all tensorcalc errors."""


class ShapeError(TensorcalcError, ValueError):
    """Operands whose shapes do not fit the operator's rule (broadcasting, matmul, reshape)."""


class MissingRuleError(TensorcalcError, NotImplementedError):
    """A primitive lacks a rule an interpreter needs (a jvp, transpose or batching rule)."""

    def __init__(self, primitive: object, rule: str, hint: str = "") -> None:
        self.primitive = primitive
        self.rule = rule
        name = getattr(primitive, "name", primitive)
        msg = f"primitive '{name}' has no {rule} rule"
        if hint:
            msg += f"; {hint}"
        super().__init__(msg)


class NonScalarOutputError(TensorcalcError, TypeError):
    """`grad` was asked for the gradient of a function whose output is not a scalar."""


class DifferentiationTypeError(TensorcalcError, TypeError):
    """An argument cannot be differentiated (integer, boolean or complex without holomorphic)."""


class ConcretizationError(TensorcalcError, TypeError):
    """A traced value was used where a concrete Python value is needed (if, float(), indexing)."""


class LeakedTracerError(TensorcalcError, RuntimeError):
    """A traced value escaped the transformation that created it and was used afterwards."""


class NotDifferentiableError(TensorcalcError, TypeError):
    """A NumPy function that tensorcalc does not provide was applied to a traced value."""
