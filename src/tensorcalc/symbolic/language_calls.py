"""How the parser builds the wider language's calls, indexing and symbolic exponents.

``call(name, args)`` builds ``kron(A, B)``, ``vec(X)``, ``max(x)``/``max(a, b)`` (and min),
``softmax(X, axis)``, ``logsumexp(X, axis)``, ``expm(A)``, ``expm_frechet(A, E)``,
``dexpm(A)``, ``maxweights(x)``/``minweights(x)`` and ``expect(f, x, m, S)``. A scalar operand
of the elementwise ``max(a, b)`` is broadcast against the other (``max(x, 0)``).
"""

from __future__ import annotations

from .expr import Const, Expr, Fill, Kron, LogSumExp, Softmax, Vec, mul
from .language import (
    ALL,
    Expectation,
    Expm,
    ExpmFrechet,
    ExpmJacobian,
    Index,
    LogSumExpAxis,
    MatPowSym,
    Maximum,
    PowerExpr,
    SoftmaxAxis,
    extremum,
    integer_symbol,
    is_integer_symbol,
)
from .shapes import describe, is_matrix, is_scalar, is_vector

#: name -> accepted numbers of arguments
CALLS = {
    "kron": (2,), "vec": (1,), "max": (1, 2), "min": (1, 2), "maxweights": (1,),
    "minweights": (1,), "softmax": (1, 2), "logsumexp": (1, 2), "expm": (1,),
    "expm_frechet": (2,), "dexpm": (1,), "expect": (4,),
}


class CallError(ValueError):
    """A call with the wrong number or kind of arguments (the parser adds the column)."""


def _axis(name: str, e: Expr) -> int:
    if not (isinstance(e, Const) and e.value in (0, 1)):
        raise CallError(f"{name}(X, axis): axis must be the number 0 (down each column) or 1 "
                        f"(along each row), got {e}")
    return int(e.value)


def _broadcast(a: Expr, like: Expr) -> Expr:
    if not is_scalar(a.shape) or is_scalar(like.shape):
        return a
    if isinstance(a, Const):
        return Fill(a.value, like.shape)
    return mul(a, Fill(1, like.shape))


def call(name: str, args: list[Expr]) -> Expr:
    if len(args) not in CALLS[name]:
        counts = " or ".join(str(n) for n in CALLS[name])
        raise CallError(f"{name} takes {counts} argument{'s' if CALLS[name] != (1,) else ''}, "
                        f"got {len(args)}")
    if name == "kron":
        return Kron(*args)
    if name == "vec":
        return Vec(args[0])
    if name in ("max", "min"):
        if len(args) == 1:
            return extremum(args[0], name)
        a, b = _broadcast(args[0], args[1]), _broadcast(args[1], args[0])
        return Maximum(a, b, name)
    if name in ("maxweights", "minweights"):
        return extremum(args[0], name[:3], weights=True)
    if name in ("softmax", "logsumexp"):
        x, axis = args[0], _axis(name, args[1])
        if is_vector(x.shape):
            if axis != 0:
                raise CallError(f"{name}(x, axis): a vector has only axis 0")
            return Softmax(x) if name == "softmax" else LogSumExp(x)
        cls = SoftmaxAxis if name == "softmax" else LogSumExpAxis
        return cls(x, axis)
    if name == "expm":
        return Expm(args[0])
    if name == "expm_frechet":
        return ExpmFrechet(*args)
    if name == "dexpm":
        return ExpmJacobian(args[0])
    return Expectation(*args)


def exponent(original: Expr, ex: Expr, integer: bool, fail, tok) -> Expr:
    """Check a symbolic exponent: a scalar, made of integer symbols for a matrix power."""
    if not is_scalar(ex.shape):
        raise fail(f"^: the exponent must be a scalar, got {describe(ex.shape)}", tok)
    if integer:
        bad = sorted(v.name for v in ex.free_vars if not is_integer_symbol(v))
        if bad:
            raise fail(f"^: a matrix power needs an integer exponent, but {', '.join(bad)} is "
                       f"not an integer symbol; declare shapes={{{bad[0]!r}: 'integer'}}", tok)
    return ex


def symbolic_power(base: Expr, ex: Expr) -> Expr:
    """``base ^ ex``: a scalar power or a matrix power with a symbolic exponent."""
    if is_scalar(base.shape):
        return PowerExpr(base, ex)
    if not is_matrix(base.shape):
        from .errors import ShapeError

        raise ShapeError(f"^: {describe(base.shape)} has no power; use .^ for elementwise")
    return MatPowSym(base, ex)


def elementwise_power(base: Expr, ex: Expr) -> Expr:
    return PowerExpr(base, ex)


def index(base: Expr, specs: list[tuple], symbols: list[Expr]) -> Expr:
    """``base[specs]``; the r-th symbolic index becomes ("sym", r)."""
    out, r = [], 0
    for s in specs:
        if s[0] == "sym":
            out.append(("sym", r))
            r += 1
        else:
            out.append(s)
    return Index(base, tuple(out), *symbols)


__all__ = ["ALL", "CALLS", "CallError", "call", "exponent", "index", "integer_symbol",
           "symbolic_power", "elementwise_power"]
