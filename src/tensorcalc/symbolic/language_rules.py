"""Differential, adjoint and vec rules of the wider language (nodes in ``language``).

Differentials (d of a child is None when it does not depend on the variable):

    d X[R, C] = dX[R, C]                    d max(a, b) = w ⊙ da + (1 − w) ⊙ db,
    d max(X) = sum(maxweights(X) ⊙ dX)          w = (1 + sign(a − b)) / 2 (½ on ties)
    d softmax(X, 0) = P ⊙ dX − P ⊙ (𝟏𝟏ᵀ (P ⊙ dX))   (axis 1: (P ⊙ dX) 𝟏𝟏ᵀ), P = softmax(X, 0)
    d logsumexp(X, 0) = (P ⊙ dX)ᵀ 𝟏          d (u .^ p) = p u .^ (p − 1) ⊙ du + log(u) ⊙ u .^ p dp
    d X^k = Σ_{r<k} Xʳ dX X^(k−1−r)          d expm(A) = L(A, dA)   (Fréchet derivative)

Adjoints (⟨C, L(dX)⟩ = ⟨L*(C), dX⟩): dX[R, C] ↦ P_R C P_Cᵀ (P = columns of I);
L(A, ·)* = L(Aᵀ, ·), which is c·expm(A)ᵀ for C = c·I; Σ_r Xʳ · X^(k−1−r) has the closed
adjoint k C (Xᵀ)^(k−1) only when C commutes with Xᵀ (a trace or a determinant of X^k), and
raises otherwise; vec ↦ unvec; kron through its vec Jacobian.
Vec forms: vec(P_Rᵀ dX P_C) = (P_Cᵀ ⊗ P_Rᵀ) vec dX, vec L(A, E) = dexpm(A) vec E.
"""

from __future__ import annotations

from fractions import Fraction

from .calculus import _adjoint as push_adjoint
from .calculus import _eye, _kron, adjoint_rule, transpose_linear, vec_jacobian, vec_rule
from .differentials import differential_rule, sum_nonzero
from .errors import UnsupportedExpression
from .expr import (
    Const,
    Differential,
    Expr,
    Fill,
    Func,
    Identity,
    Inv,
    Kron,
    MatPow,
    Mul,
    Sum,
    Trace,
    Transpose,
    Var,
    Vec,
    add,
    hadamard,
    mul,
    neg,
    one_like,
    transpose,
)
from .language import (
    Expectation,
    Expm,
    ExpmFrechet,
    ExpmJacobian,
    Extremum,
    ExtremumWeights,
    Index,
    LogSumExpAxis,
    MatPowSym,
    Maximum,
    PowerExpr,
    PowerSeries,
    SoftmaxAxis,
    Unvec,
    extremum,
    is_integer_symbol,
    selector,
    unvec,
)
from .shapes import as_matrix, is_matrix, is_row, is_scalar


def _no_integer_dependence(e: Expr, d, what: str) -> None:
    for v in e.free_vars:
        if is_integer_symbol(v) and d(v) is not None:
            raise UnsupportedExpression(f"{what}: {v.name} is an integer symbol; derivatives "
                                        f"with respect to it do not exist")


# ------------------------------------------------------------------------- differentials


@differential_rule.register
def index_rule(e: Index, d) -> tuple:
    for s in e.args[1:]:
        _no_integer_dependence(s, d, f"{e}")
    da = d(e.target)
    return "index", None if da is None else Index(da, e.spec, *e.args[1:])


@differential_rule.register
def maximum_rule(e: Maximum, d) -> tuple:
    a, b = e.args
    da, db = d(a), d(b)
    # max(x, 0) is parsed as max(x, vector(0)): compare with x itself, not x − vector(0)
    gap = a if _zero_fill(b) else neg(b) if _zero_fill(a) else add(a, neg(b))
    s = Func("sign", gap)
    if e.kind == "min":
        s = neg(s)
    half = Const(Fraction(1, 2))
    wa = mul(half, add(one_like(a.shape), s))  # 1 where a wins, ½ on a tie, 0 where it loses
    wb = mul(half, add(one_like(a.shape), neg(s)))
    return e.kind, sum_nonzero([hadamard(wa, da) if da is not None else None,
                                hadamard(wb, db) if db is not None else None])


def _zero_fill(e: Expr) -> bool:
    return isinstance(e, Fill) and e.value == 0


@differential_rule.register
def extremum_rule(e: Extremum, d) -> tuple:
    a = e.args[0]
    da = d(a)
    return e.kind, None if da is None else Sum(hadamard(extremum(a, e.kind, weights=True), da))


@differential_rule.register
def extremum_weights_rule(e: ExtremumWeights, d) -> tuple:
    return e.name, None  # piecewise constant (where the extremum is not tied)


def _ones(n: object) -> Expr:
    return Fill(1, (n,))


@differential_rule.register
def softmax_axis_rule(e: SoftmaxAxis, d) -> tuple:
    x = e.args[0]
    dx = d(x)
    if dx is None:
        return "softmax", None
    pdx = hadamard(e, dx)
    m, n = x.shape
    if e.axis == 0:  # subtract each column's P-weighted mean of dX
        spread = mul(_ones(m), transpose(_ones(m)), pdx)
    else:
        spread = mul(pdx, _ones(n), transpose(_ones(n)))
    return "softmax", add(pdx, neg(hadamard(e, spread)))


@differential_rule.register
def logsumexp_axis_rule(e: LogSumExpAxis, d) -> tuple:
    x = e.args[0]
    dx = d(x)
    if dx is None:
        return "logsumexp", None
    pdx = hadamard(SoftmaxAxis(x, e.axis), dx)
    m, n = x.shape
    if e.axis == 0:
        return "logsumexp", mul(transpose(pdx), _ones(m))
    return "logsumexp", mul(pdx, _ones(n))


@differential_rule.register
def power_expr_rule(e: PowerExpr, d) -> tuple:
    u, p = e.args
    _no_integer_dependence(p, d, f"{e}")
    du, dp = d(u), d(p)
    terms = []
    if du is not None:
        terms.append(hadamard(mul(p, PowerExpr(u, add(p, Const(-1)))), du))
    if dp is not None:
        terms.append(mul(dp, hadamard(Func("log", u), e)))
    return "power", sum_nonzero(terms)


@differential_rule.register
def matpow_sym_rule(e: MatPowSym, d) -> tuple:
    x, k = e.args
    _no_integer_dependence(k, d, f"{e}")
    dx = d(x)
    return "matrix power", None if dx is None else PowerSeries(x, k, dx)


@differential_rule.register
def power_series_rule(e: PowerSeries, d) -> tuple:
    x, k, inner = e.args
    if d(x) is not None:
        raise UnsupportedExpression(f"second derivatives of X^{k} with a symbolic exponent have "
                                    "no closed form here; give the exponent a number")
    di = d(inner)
    return "matrix power", None if di is None else PowerSeries(x, k, di)


@differential_rule.register
def expm_rule(e: Expm, d) -> tuple:
    a = e.args[0]
    da = d(a)
    return "expm", None if da is None else ExpmFrechet(a, da)


def _refuse_second_order(node: Expr, a: Expr, d) -> None:
    if d(a) is not None:
        raise UnsupportedExpression(f"{node}: second derivatives of expm with respect to its "
                                    "argument are not supported (the first derivative is)")


@differential_rule.register
def expm_frechet_rule(e: ExpmFrechet, d) -> tuple:
    a, inner = e.args
    _refuse_second_order(e, a, d)
    di = d(inner)
    return "expm", None if di is None else ExpmFrechet(a, di)


@differential_rule.register
def expm_jacobian_rule(e: ExpmJacobian, d) -> tuple:
    _refuse_second_order(e, e.args[0], d)
    return "expm", None


@differential_rule.register
def unvec_rule(e: Unvec, d) -> tuple:
    dv = d(e.args[0])
    return "vec", None if dv is None else Unvec(dv, e.m, e.n)


@differential_rule.register
def expectation_rule(e: Expectation, d) -> tuple:
    raise UnsupportedExpression(f"{e} was not expanded; build expectations with parse()")


# ------------------------------------------------------------------------------ adjoints


def _selectors(e: Index) -> tuple[Expr | None, Expr | None]:
    rows, cols = as_matrix(e.target.shape)
    r_spec, c_spec = e.axis_specs()
    return selector(rows, r_spec, e.symbol(r_spec)), selector(cols, c_spec, e.symbol(c_spec))


@adjoint_rule.register
def adjoint_of_index(L: Index, dx: Var, cot: Expr, out: list) -> None:
    """⟨c, dX[R, C]⟩ = ⟨P_R c P_Cᵀ, dX⟩: scatter the cotangent back."""
    pr, pc = _selectors(L)
    parts = ([pr] if pr is not None else []) + [cot] + ([transpose(pc)] if pc is not None else [])
    g = mul(*parts)
    if is_row(L.target.shape) and not is_row(g.shape):
        g = transpose(g)
    push_adjoint(L.target, dx, g, out)


def _scalar_identity(c: Expr) -> Expr | None:
    """s when c = s · I (a cotangent from a trace), else None."""
    if isinstance(c, Identity):
        return Const(1)
    if isinstance(c, Mul) and len(c.chain) == 1 and isinstance(c.chain[0], Identity):
        return mul(*c.scalars)
    return None


@adjoint_rule.register
def adjoint_of_frechet(L: ExpmFrechet, dx: Var, cot: Expr, out: list) -> None:
    """L(A, ·)* = L(Aᵀ, ·); L(Aᵀ, c I) = c expm(A)ᵀ (A commutes with its exponential)."""
    a, inner = L.args
    s = _scalar_identity(cot)
    g = mul(s, transpose(Expm(a))) if s is not None else ExpmFrechet(transpose(a), cot)
    push_adjoint(inner, dx, g, out)


def _commutes_with_transpose(f: Expr, x: Expr) -> bool:
    """Whether the factor f is a function of Xᵀ that commutes with it (powers, inverses)."""
    if isinstance(f, Identity) or is_scalar(f.shape):
        return True
    if isinstance(f, Inv):
        return _commutes_with_transpose(f.args[0], x)
    if not isinstance(f, Transpose):
        return False
    g = f.args[0]
    while isinstance(g, Inv | MatPow | MatPowSym):
        g = g.args[0]
    return g == x


@adjoint_rule.register
def adjoint_of_power_series(L: PowerSeries, dx: Var, cot: Expr, out: list) -> None:
    """Σ_r (Xʳ)ᵀ C (X^(k−1−r))ᵀ = k C (Xᵀ)^(k−1) when C commutes with Xᵀ."""
    x, k, inner = L.args
    factors = [f for f in (cot.args if isinstance(cot, Mul) else (cot,))
               if not isinstance(f, Identity)]
    if not all(_commutes_with_transpose(f, x) for f in factors):
        raise UnsupportedExpression(
            f"the derivative of {x}^{k} with a symbolic exponent has a closed form only inside "
            f"a trace or determinant (tr(A X^k) needs a sum over r); give {k} a number")
    last = factors[-1]
    if isinstance(last, Transpose) and isinstance(last.args[0], Inv) and (
        last.args[0].args[0] == MatPowSym(x, k)
    ):  # (X^-k)ᵀ (X^(k-1))ᵀ = X^-ᵀ: det(X^k) gives k det(X^k) X^-ᵀ (Cookbook 58)
        g = mul(k, *factors[:-1], transpose(Inv(x)))
    else:
        g = mul(k, cot, transpose(MatPowSym(x, add(k, Const(-1)))))
    push_adjoint(inner, dx, g, out)


@adjoint_rule.register
def adjoint_of_unvec(L: Unvec, dx: Var, cot: Expr, out: list) -> None:
    push_adjoint(L.args[0], dx, Vec(cot) if is_matrix(cot.shape) else cot, out)


@adjoint_rule.register
def adjoint_of_vec(L: Vec, dx: Var, cot: Expr, out: list) -> None:
    push_adjoint(L.args[0], dx, unvec(cot, L.args[0].shape), out)


def _scalar_ones(c: Expr) -> Expr | None:
    """s when c = s · 𝟏 (a cotangent from a sum of entries), else None."""
    if isinstance(c, Fill):
        return Const(c.value)
    if isinstance(c, Mul) and len(c.chain) == 1 and isinstance(c.chain[0], Fill):
        return mul(Const(c.chain[0].value), *c.scalars)
    return None


def _vec_of(c: Expr) -> Expr:
    return Vec(c) if is_matrix(c.shape) else transpose(c) if is_row(c.shape) else c


@adjoint_rule.register
def adjoint_of_kron(L: Kron, dx: Var, cot: Expr, out: list) -> None:
    """tr(A ⊗ dB) = tr(A) tr(dB) for a trace; otherwise through vec(A ⊗ B)."""
    a, b = L.args
    first = a.depends_on(dx)
    f, other = (a, b) if first else (b, a)
    s = _scalar_identity(cot)
    ro, co = as_matrix(other.shape)
    rf, cf = as_matrix(f.shape)
    if s is not None and ro == co and rf == cf and is_matrix(f.shape):
        tr_other = other if is_scalar(other.shape) else Trace(other)
        push_adjoint(f, dx, mul(s, tr_other, Identity(rf)), out)
        return
    s = _scalar_ones(cot)
    if s is not None:  # sum(A ⊗ dB) = sum(A) sum(dB)
        total = other if is_scalar(other.shape) else Sum(other)
        push_adjoint(f, dx, mul(s, total, Fill(1, f.shape)), out)
        return
    # a placeholder for f (distinct from every variable): vec(A ⊗ u) = W vec(u), so the
    # cotangent of f is unvec(Wᵀ vec(C))
    u = Differential(Var("u_", f.shape), "u_")
    jac = vec_jacobian(Kron(u, b) if first else Kron(a, u), u)
    g = unvec(mul(transpose(jac), _vec_of(cot)), f.shape)
    push_adjoint(f, dx, g, out)


# --------------------------------------------------------------------------------- vec form


@vec_rule.register
def vec_of_index(L: Index, dx: Var) -> Expr | None:
    """vec(P_Rᵀ dX P_C) = (P_Cᵀ ⊗ P_Rᵀ) vec dX."""
    j = vec_jacobian(L.target, dx)
    if j is None:
        return None
    pr, pc = _selectors(L)
    rows, cols = as_matrix(L.target.shape)
    left = transpose(pc) if pc is not None else _eye(cols)
    right = transpose(pr) if pr is not None else _eye(rows)
    k = _kron(left, right)
    return mul(k, j) if k is not None else j


@vec_rule.register
def vec_of_power_series(L: PowerSeries, dx: Var) -> Expr | None:
    x, k, _ = L.args
    raise UnsupportedExpression(f"the Jacobian of {x}^{k} with a symbolic exponent has no closed "
                                f"form (a sum over r); give {k} a number")


@vec_rule.register
def vec_of_frechet(L: ExpmFrechet, dx: Var) -> Expr | None:
    j = vec_jacobian(L.args[1], dx)
    return None if j is None else mul(ExpmJacobian(L.args[0]), j)


@vec_rule.register
def vec_of_unvec(L: Unvec, dx: Var) -> Expr | None:
    return vec_jacobian(L.args[0], dx)


__all__ = ["adjoint_of_index", "adjoint_of_kron", "index_rule", "transpose_linear"]
