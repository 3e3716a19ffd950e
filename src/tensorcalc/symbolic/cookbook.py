"""Matrix Cookbook identities (Petersen & Pedersen, Nov 2012) recognised in derivations.

``cite(f, x)`` returns the equation number when f matches one of the identities below up to a
renaming of variables of the same kind (the variable of differentiation must map to x). Steps
use it to say "this is Matrix Cookbook (81)". The table mirrors the anchor list used as the test
oracle; a, b, c, d are vectors there.
"""

from __future__ import annotations

from functools import lru_cache

from .expr import Expr, Var

VECTORS = {k: "vector" for k in "abcd"}

IDENTITIES: tuple[tuple[int, str, str], ...] = (
    (49, "det(X)", "X"),
    (51, "det(A*X*B)", "X"),
    (55, "logdet(X'*X)", "X"),
    (57, "logdet(X)", "X"),
    (61, "a'*inv(X)*b", "X"),
    (62, "det(inv(X))", "X"),
    (63, "tr(A*inv(X)*B)", "X"),
    (64, "tr(inv(X+A))", "X"),
    (69, "x'*a", "x"),
    (69, "a'*x", "x"),
    (70, "a'*X*b", "X"),
    (71, "a'*X'*b", "X"),
    (72, "a'*X*a", "X"),
    (77, "b'*X'*X*c", "X"),
    (78, "(B*x+b)'*C*(D*x+d)", "x"),
    (81, "x'*B*x", "x"),
    (82, "b'*X'*D*X*c", "X"),
    (83, "(X*b+c)'*D*(X*b+c)", "X"),
    (84, "(x-A*s)'*W*(x-A*s)", "s"),
    (88, "(x-A*s)'*W*(x-A*s)", "A"),
    (99, "tr(X)", "X"),
    (100, "tr(X*A)", "X"),
    (101, "tr(A*X*B)", "X"),
    (102, "tr(A*X'*B)", "X"),
    (103, "tr(X'*A)", "X"),
    (104, "tr(A*X')", "X"),
    (106, "tr(X^2)", "X"),
    (107, "tr(X^2*B)", "X"),
    (108, "tr(X'*B*X)", "X"),
    (111, "tr(X*B*X')", "X"),
    (114, "tr(A*X*B*X)", "X"),
    (115, "tr(X'*X)", "X"),
    (116, "tr(B'*X'*C*X*B)", "X"),
    (117, "tr(X'*B*X*C)", "X"),
    (118, "tr(A*X*B*X'*C)", "X"),
    (119, "tr((A*X*B+C)*(A*X*B+C)')", "X"),
    (120, "tr(X)^2", "X"),
    (125, "tr(inv(X'*C*X)*A)", "X"),
    (129, "norm2(x-a)", "x"),
    (131, "norm2(x)^2", "x"),
    (131, "x'*x", "x"),
    (132, "norm2(X)^2", "X"),
)


@lru_cache(maxsize=1)
def _templates() -> list[tuple[int, Expr, str]]:
    from .parser import parse

    return [(eq, parse(text, VECTORS), wrt) for eq, text, wrt in IDENTITIES]


def _match(t: Expr, e: Expr, mapping: dict) -> bool:
    if isinstance(t, Var):
        if not isinstance(e, Var) or len(t.shape) != len(e.shape):
            return False
        if t.name in mapping:
            return mapping[t.name] == e.name
        if e.name in mapping.values():
            return False
        mapping[t.name] = e.name
        return True
    if type(t) is not type(e) or len(t.args) != len(e.args):
        return False
    if t.params() != e.params() and t.args == () or (
        t.args and _params_without_shape(t) != _params_without_shape(e)
    ):
        return False
    return all(_match(a, b, mapping) for a, b in zip(t.args, e.args, strict=True))


def _params_without_shape(e: Expr) -> tuple:
    return tuple(p for p in e.params() if not isinstance(p, tuple))


def cite(f: Expr, x: Var) -> int | None:
    """Cookbook equation number of d f / d x, if f is one of the listed identities."""
    for eq, template, wrt in _templates():
        mapping: dict = {}
        if _match(template, f, mapping) and mapping.get(wrt) == x.name:
            return eq
    return None
