"""A small rewrite system that puts derivatives into readable matrix form.

Why our own and not egglog/e-graphs: the rules we need are few, local and directional (push
transposes down to the leaves, drop identities, collect like terms, pull out common factors),
each is a named function below that a reader can check against a textbook identity, and there is
no heavy dependency. Equality saturation would find the same normal forms on these inputs at the
cost of a Rust extension; it stays an option if the rule set grows.

Normal form, per node (smart constructors ``s_*``):

* transposes sit on leaves: (AB)ᵀ = BᵀAᵀ, (A + B)ᵀ = Aᵀ + Bᵀ, (Aᵀ)ᵀ = A, Sᵀ = S for symmetric S,
  inv(Aᵀ) = inv(A)ᵀ (printed A⁻ᵀ);
* products: one leading numeric coefficient, commuting scalar factors sorted, identities and
  X X⁻¹ removed, diag(a) diag(b) = diag(a ⊙ b), diag(a) v = a ⊙ v;
* sums: like terms collected, terms ordered (positive first, then alphabetically), and common
  left/right matrix factors pulled out greedily: X b cᵀ + X c bᵀ = X (b cᵀ + c bᵀ);
* for each sum we also try the fully distributed form and keep whichever is smaller, which is
  how σ(Xw) − y falls out of the 0/1 logistic loss;
* recognised closed forms: exp(z) ⊘ (exp(z) + 1) = σ(z), exp(x) / sum(exp(x)) = softmax(x).
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from functools import singledispatch

from .canonical import (
    coef_and_core,
    is_zero,
    key,
    node_count,
    order_terms,
    rational_gcd,
    sigmoid_complement,
    sigmoid_rule,
    softmax_rule,
    split_term,
    transposes,
)
from .expr import (
    Add,
    Adj,
    Commutation,
    Const,
    Diag,
    Expr,
    Fill,
    Func,
    Hadamard,
    Identity,
    Inv,
    Kron,
    MatPow,
    Mul,
    Pow,
    Sum,
    Transpose,
    Unary,
    Var,
    Vec,
    Zero,
    hadamard,
    mul,
    number,
    one_like,
    zero_like,
)
from .shapes import as_matrix, dim_mul, is_matrix, is_row, is_scalar, is_vector

MAX_EXPANSION = 32  # distributing products of sums beyond this many terms is not worth it


def scale(c: object, core: Expr) -> Expr:
    return s_mul(Const(c), core) if c != 1 else core


# ------------------------------------------------------------------------------ transpose


def s_transpose(a: Expr) -> Expr:
    """Push a transpose down to the leaves."""
    if is_scalar(a.shape) or isinstance(a, Identity) or isinstance(a, Diag) and is_matrix(a.shape):
        return a  # diag(v) is symmetric; diag(M) is a vector and transposes like one
    if isinstance(a, Transpose):
        return a.args[0]
    if isinstance(a, Var) and a.structure is not None:
        return a  # symmetric and diagonal matrices equal their transposes
    if isinstance(a, Zero):
        return Zero(Transpose(a).shape)
    if isinstance(a, Fill) and is_matrix(a.shape):
        return Fill(a.value, (a.shape[1], a.shape[0]))
    if isinstance(a, Mul):
        sc, ch = a.scalars, a.chain
        return s_mul(*sc, *(s_transpose(f) for f in reversed(ch)))
    if isinstance(a, Add):
        # (A + Aᵀ)ᵀ = Aᵀ + A, but (x − a)ᵀ stays: push only when it does not add transposes
        pushed = [s_transpose(t) for t in a.args]
        if sum(map(transposes, pushed)) <= 1 + sum(map(transposes, a.args)):
            return s_add(*pushed)
        return Transpose(a)
    if isinstance(a, Hadamard) and is_matrix(a.shape):  # vectors keep (u ⊙ v)ᵀ: reads better
        return s_had(*(s_transpose(t) for t in a.args))
    if isinstance(a, Kron):
        return s_kron(s_transpose(a.args[0]), s_transpose(a.args[1]))
    if isinstance(a, Inv) and s_transpose(a.args[0]) == a.args[0]:
        return a  # the inverse of a symmetric matrix (Xᵀ C X with C symmetric) is symmetric
    return Transpose(a)


# ---------------------------------------------------------------------------------- products


def _merge_scalars(scalars: list[Expr]) -> list[Expr]:
    """Collect powers of equal scalar factors: s · s⁻¹ = 1, s · s = s²."""
    powers: dict[Expr, object] = {}
    for s in scalars:
        base, p = (s.args[0], s.exponent) if isinstance(s, Pow) else (s, 1)
        powers[base] = number(powers.get(base, 0) + p)  # type: ignore[operator]
    out = [s_pow(b, p) for b, p in powers.items() if p != 0]
    return sorted(out, key=key)


def _expand_powers(chain: list[Expr]) -> list[Expr]:
    """Write X^k (and (X^k)ᵀ) as k factors so that X X⁻¹ = I can cancel across powers; the
    pair rules merge what is left back into powers."""
    out: list[Expr] = []
    for f in chain:
        if isinstance(f, MatPow) and f.k <= 8:
            out.extend([f.args[0]] * f.k)
        elif isinstance(f, Transpose) and isinstance(f.args[0], MatPow) and f.args[0].k <= 8:
            out.extend([s_transpose(f.args[0].args[0])] * f.args[0].k)
        else:
            out.append(f)
    return out


def _chain_rules(chain: list[Expr]) -> list[Expr]:
    """Local identities between neighbouring matrix factors, applied until none fires.

    Cancellations run to a fixpoint before powers are merged, so X X (X⁻¹)² cancels fully.
    """
    for merge_powers in (False, True):
        changed = True
        while changed and len(chain) > 1:
            changed = False
            for i in range(len(chain)):
                if isinstance(chain[i], Identity) and len(chain) > 1:
                    del chain[i]
                    changed = True
                    break
                if i + 1 >= len(chain):
                    break
                new = _pair_rule(chain[i], chain[i + 1], merge_powers)
                if new is not None:
                    chain[i : i + 2] = new
                    changed = True
                    break
    return chain


def _pair_rule(f: Expr, g: Expr, merge_powers: bool = True) -> list[Expr] | None:
    # X X⁻¹ = X⁻¹ X = I (and the transposed pair)
    if isinstance(g, Inv) and g.args[0] == f or isinstance(f, Inv) and f.args[0] == g:
        return [Identity(as_matrix(f.shape)[0])]
    if isinstance(f, Transpose) and isinstance(g, Transpose):
        a, b = f.args[0], g.args[0]
        if isinstance(b, Inv) and b.args[0] == a or isinstance(a, Inv) and a.args[0] == b:
            return [Identity(as_matrix(f.shape)[0])]  # Xᵀ X⁻ᵀ = (X⁻¹ X)ᵀ = I
        merged = _pair_rule(b, a, merge_powers)  # (B A)ᵀ = Aᵀ Bᵀ: merge under the transpose
        if merged is not None and len(merged) == 1 and isinstance(merged[0], MatPow):
            return [s_transpose(merged[0])]
    # diag(a) diag(b) = diag(a ⊙ b)
    if isinstance(f, Diag) and isinstance(g, Diag) and is_vector(f.args[0].shape):
        return [s_unary(Diag, s_had(f.args[0], g.args[0]))]
    # diag(a) v = a ⊙ v for a column vector v
    if isinstance(f, Diag) and is_vector(f.args[0].shape) and is_vector(g.shape):
        return [s_had(f.args[0], g)]
    # vᵀ diag(a) = (a ⊙ v)ᵀ
    if isinstance(g, Diag) and is_vector(g.args[0].shape) and isinstance(f, Transpose) and (
        is_vector(f.args[0].shape)
    ):
        return [s_transpose(s_had(g.args[0], f.args[0]))]
    # c𝟏 (d𝟏)ᵀ = cd 𝟏 (an outer product of constant vectors; added with the wider language)
    if isinstance(f, Fill) and is_vector(f.shape) and isinstance(g, Transpose) and isinstance(
            g.args[0], Fill) and is_vector(g.args[0].shape):
        return [Fill(number(f.value * g.args[0].value), (f.shape[0], g.args[0].shape[0]))]
    # 𝟏ᵀ v = sum(v)
    if (
        isinstance(f, Transpose) and isinstance(f.args[0], Fill) and f.args[0].value == 1
        and is_vector(g.shape)
    ):
        return [s_unary(Sum, g)]
    # uᵀ v = sum(u ⊙ v) when the elementwise product cancels: pᵀ (y ⊘ p) = sum(y)
    if isinstance(f, Transpose) and is_vector(f.args[0].shape) and is_vector(g.shape) and (
        isinstance(f.args[0], Hadamard) or isinstance(g, Hadamard)
    ):
        u = f.args[0]
        merged = s_had(u, g)
        if node_count(merged) < node_count(u) + node_count(g) - 1:
            return [s_unary(Sum, merged)]
    # (P ⊗ Q) vec(M) = vec(Q M Pᵀ) and vec(M)ᵀ (P ⊗ Q) = vec(Qᵀ M P)ᵀ: kron(xᵀ, I) vec(M) = M x,
    # vec(M)ᵀ kron(x, I) = (M x)ᵀ, vec(I)ᵀ kron(I, B) = vec(Bᵀ)ᵀ
    if isinstance(f, Kron) and isinstance(g, Vec):
        P, Q = f.args
        M = g.args[0]
        if as_matrix(M.shape) == (as_matrix(Q.shape)[1], as_matrix(P.shape)[1]):
            return [s_unary(Vec, s_mul(Q, M, s_transpose(P)))]
    if isinstance(g, Kron) and isinstance(f, Transpose) and isinstance(f.args[0], Vec):
        P, Q = g.args
        M = f.args[0].args[0]
        if as_matrix(M.shape) == (as_matrix(Q.shape)[0], as_matrix(P.shape)[0]):
            return [s_transpose(s_unary(Vec, s_mul(s_transpose(Q), M, P)))]
    if not merge_powers:
        return None
    # X X = X², X^a X^b = X^(a+b)
    fb, fk = (f.args[0], f.k) if isinstance(f, MatPow) else (f, 1)
    gb, gk = (g.args[0], g.k) if isinstance(g, MatPow) else (g, 1)
    if fb == gb and is_matrix(fb.shape) and not isinstance(fb, Diag | Identity):
        return [MatPow(fb, fk + gk)]
    # (A ⊗ B)(C ⊗ D) = AC ⊗ BD when the inner products fit
    if isinstance(f, Kron) and isinstance(g, Kron):
        a, b = f.args
        c, d = g.args
        if as_matrix(a.shape)[1] == as_matrix(c.shape)[0] and (
            as_matrix(b.shape)[1] == as_matrix(d.shape)[0]
        ):
            return [s_kron(s_mul(a, c), s_mul(b, d))]
    return None


def s_mul(*factors: Expr) -> Expr:
    """Simplified product."""
    raw = mul(*factors)  # validates shapes, flattens
    if not isinstance(raw, Mul):
        return raw
    shape = raw.shape
    coef: object = 1
    scalars: list[Expr] = []
    for s in raw.scalars:
        if isinstance(s, Const):
            coef = number(coef * s.value)  # type: ignore[operator]
        elif isinstance(s, Mul):  # a scalar-valued chain such as xᵀ y
            inner = s_mul(*s.args)
            c, core = coef_and_core(inner)
            coef = number(coef * c)  # type: ignore[operator]
            if not (isinstance(core, Const) and core.value == 1):
                scalars.append(core)
        else:
            scalars.append(s)
    chain = _expand_powers(list(raw.chain))
    if coef == 0 or any(is_zero(f) for f in scalars + chain):
        return zero_like(shape)
    chain = _chain_rules(chain)
    recognised = softmax_rule(scalars, chain)
    if recognised is not None:
        scalars, chain = recognised
    scalars = _merge_scalars(scalars)
    items: list[Expr] = ([Const(coef)] if coef != 1 else []) + scalars + chain
    if not items:
        return Const(1)
    if len(items) == 1:
        return items[0]
    return mul(*items)


# ---------------------------------------------------------------------------------- hadamard


def s_had(*factors: Expr) -> Expr:
    raw = hadamard(*factors)
    if not isinstance(raw, Hadamard):
        return s_mul(*raw.args) if isinstance(raw, Mul) else raw
    shape = raw.shape
    coef: object = 1
    powers: dict[Expr, object] = {}
    extra: list[Expr] = []
    for f in raw.args:
        c, core = coef_and_core(f)
        coef = number(coef * c)  # type: ignore[operator]
        if is_zero(core):
            return Zero(shape)
        if isinstance(core, Fill) and core.value == 1:
            continue
        if isinstance(core, Mul) and core.scalars:  # pull scalar factors out of ⊙
            extra.extend(core.scalars)
            core = s_mul(*core.chain)
        base, p = (core.args[0], core.exponent) if isinstance(core, Pow) else (core, 1)
        powers[base] = number(powers.get(base, 0) + p)  # type: ignore[operator]
    arrays = sigmoid_rule([s_pow(b, p) for b, p in powers.items() if p != 0])
    if not arrays:
        core: Expr = Fill(1, shape)
    elif len(arrays) == 1:
        core = arrays[0]
    else:
        core = Hadamard(*sorted(arrays, key=lambda a: (a.depth, key(a))))
    if coef == 1 and not extra:
        return core
    return s_mul(Const(coef), *extra, core)


# ------------------------------------------------------------------------------------ powers


def s_pow(a: Expr, p: object) -> Expr:
    p = number(p)
    if p == 1:
        return a
    if p == 0:
        return one_like(a.shape)
    if isinstance(a, Const) and isinstance(p, int) and abs(p) <= 16:
        if a.value == 0 and p < 0:
            return Pow(a, p)
        if abs(a.value) >= 10**6:
            return Pow(a, p)
        exact = a.value if isinstance(a.value, float) else Fraction(a.value)
        return Const(number(exact**p))  # 6⁻¹ = 1/6 exactly, not 0.1666…
    if isinstance(a, Fill) and isinstance(p, int) and abs(p) <= 16 and a.value != 0:
        exact = a.value if isinstance(a.value, float) else Fraction(a.value)
        return Fill(number(exact**p), a.shape)
    if isinstance(a, Pow) and isinstance(p, int):
        return s_pow(a.args[0], number(a.exponent * p))
    if isinstance(a, Func) and a.name == "sqrt" and p == 2:
        return a.args[0]
    if is_scalar(a.shape) and isinstance(a, Mul) and isinstance(p, int) and a.scalars:
        # (c s xᵀy)^p = c^p s^p (xᵀy)^p: only the scalar factors distribute, the chain stays whole
        chain = a.chain
        rest = [Pow(Mul(*chain) if len(chain) > 1 else chain[0], p)] if chain else []
        return s_mul(*(s_pow(f, p) for f in a.scalars), *rest)
    return Pow(a, p)


# --------------------------------------------------------------------------------------- sums


def _collect(terms: list[Expr]) -> list[Expr]:
    """Add up like terms (same core, numeric coefficients summed), first appearance order."""
    coefs: dict[Expr, object] = {}
    for t in terms:
        c, core = coef_and_core(t)
        coefs[core] = number(coefs.get(core, 0) + c)  # type: ignore[operator]
    out = [scale(c, core) for core, c in coefs.items() if c != 0]
    return order_terms(out)


def _factor(terms: list[Expr]) -> list[Expr]:
    """Greedily pull a common leftmost or rightmost matrix factor out of two or more terms."""
    if len(terms) < 2:
        return terms
    parts = [split_term(t) for t in terms]
    best: tuple[int, str, Expr] | None = None
    for side in ("left", "right"):
        counts: dict[Expr, int] = {}
        for _, ch in parts:
            if ch:
                f = ch[0] if side == "left" else ch[-1]
                if not isinstance(f, Identity):  # pulling out I gains nothing (and loops)
                    counts[f] = counts.get(f, 0) + 1
        for f, n in counts.items():
            if n >= 2 and (best is None or n > best[0]):
                best = (n, side, f)
    if best is None:
        return terms
    _, side, f = best
    hits: list[tuple[list, list]] = []
    rest: list[Expr] = []
    for t, (sc, ch) in zip(terms, parts, strict=True):
        if ch and (ch[0] == f if side == "left" else ch[-1] == f):
            hits.append((sc, ch[1:] if side == "left" else ch[:-1]))
        else:
            rest.append(t)
    # A term that was f alone would leave I behind: (A + 2 I) x reads worse than A x + 2 x, so
    # such a group is not factored (unless every remainder is a scalar: (a + b) X is fine).
    r, c = as_matrix(f.shape)
    dim = c if side == "left" else r
    lone = [not remaining for _, remaining in hits]
    if any(lone) and not all(lone) and dim != 1:
        return order_terms(_factor_excluding(terms, f))
    inner = [s_mul(*sc, *remaining) for sc, remaining in hits]
    inner_sum = s_add(*inner)
    sign: list[Expr] = []
    if isinstance(inner_sum, Add) and all(coef_and_core(t)[0] < 0 for t in inner_sum.args):
        # -(A + B) reads better than (-A - B) inside a product
        inner_sum = s_add(*(s_mul(Const(-1), t) for t in inner_sum.args))
        sign = [Const(-1)]
    grouped = s_mul(*sign, f, inner_sum) if side == "left" else s_mul(*sign, inner_sum, f)
    return order_terms([grouped] + _factor(rest))


def _factor_excluding(terms: list[Expr], f: Expr) -> list[Expr]:
    """Factor the terms that do not involve f at an end of their chain (f itself is skipped)."""
    parts = [split_term(t) for t in terms]
    touched = [t for t, (_, ch) in zip(terms, parts, strict=True) if ch and f in (ch[0], ch[-1])]
    others = [t for t in terms if t not in touched]
    return touched + (_factor(others) if len(others) > 1 else others)


def _expand(e: Expr, budget: int = MAX_EXPANSION) -> list[Expr]:
    """Distribute products over sums; returns the list of terms (or [e] when too large)."""
    if isinstance(e, Add):
        out: list[Expr] = []
        for t in e.args:
            out.extend(_expand(t, budget))
        return out
    if isinstance(e, Mul | Hadamard):
        pieces = [_expand(a, budget) for a in e.args]
        total = 1
        for p in pieces:
            total *= len(p)
        if total == 1 or total > budget:
            return [e]
        build = s_mul if isinstance(e, Mul) else s_had
        return [build(*combo) for combo in itertools.product(*pieces)]
    if isinstance(e, Transpose):
        inner = _expand(e.args[0], budget)
        return [s_transpose(t) for t in inner] if len(inner) > 1 else [e]
    return [e]


def _assemble(terms: list[Expr], shape: tuple) -> Expr:
    if not terms:
        return zero_like(shape)
    return terms[0] if len(terms) == 1 else Add(*terms)


def s_add(*terms: Expr, expand: bool = True) -> Expr:
    """Simplified sum: collect, try distributing, factor, keep the smallest."""
    flat: list[Expr] = []
    for t in terms:
        flat.extend(t.args if isinstance(t, Add) else (t,))
    shape = flat[0].shape
    Add(*flat) if len(flat) > 1 else None  # shape check
    flat = sigmoid_complement([t for t in flat if not is_zero(t)])
    plain = _collect(flat)
    best = _assemble(_factor(plain) if len(plain) > 1 else plain, shape)
    if expand and len(plain) > 1:
        expanded: list[Expr] = []
        for t in plain:
            expanded.extend(_expand(t))
        if len(expanded) <= 4 * MAX_EXPANSION and len(expanded) != len(plain):
            collected = _collect(expanded)
            alt = _assemble(_factor(collected) if len(collected) > 1 else collected, shape)
            if node_count(alt) < node_count(best):
                best = alt
    if isinstance(best, Add):
        pulled = _pull_common_scalars(list(best.args))
        if pulled is not None and (node_count(pulled) < node_count(best) or (
                node_count(pulled) == node_count(best) and not _equal_coefs(best))):
            best = pulled  # strictly smaller, or as small with one coefficient pulled out whole
    return best


def _equal_coefs(e: Add) -> int:
    """0 when the terms' coefficients agree up to sign (2 A + 2 B), else 1."""
    return int(len({abs(coef_and_core(t)[0]) for t in e.args}) > 1)  # type: ignore[arg-type]


def _pull_common_scalars(terms: list[Expr]) -> Expr | None:
    """c s (A + B): the common numeric factor and the scalar factors every term shares, pulled
    out of the sum (x/3 + y/3 = (x + y)/3, a x + a y = a (x + y)); None when there are none."""
    parts = []
    for t in terms:
        c, core = coef_and_core(t)
        if isinstance(c, float):
            return None  # inexact coefficients are not factored
        sc, ch = split_term(core)
        parts.append((c, [f for f in sc if not isinstance(f, Const)], ch))
    common = list(parts[0][1])
    for _, sc, _ in parts[1:]:
        rest = list(sc)
        keep = []
        for f in common:
            if f in rest:
                rest.remove(f)
                keep.append(f)
        common = keep
    g = rational_gcd([c for c, _, _ in parts])
    if all(c < 0 for c, _, _ in parts):  # type: ignore[operator]
        g = number(-g)  # type: ignore[operator]
    if g == 1 and not common:
        return None
    inner = []
    for c, sc, ch in parts:
        rest = list(sc)
        for f in common:
            rest.remove(f)
        inner.append(s_mul(Const(number(Fraction(c) / Fraction(g))), *rest, *ch))
    return s_mul(Const(g), *common, s_add(*inner, expand=False))


# ------------------------------------------------------------------------------ other nodes


def s_unary(cls: type, a: Expr) -> Expr:
    """Simplify a named one-argument operation: its class's rewrite rule, else ``cls(a)``."""
    out = unary_rewrite.dispatch(cls)(cls, a)
    return cls(a) if out is None else out


@singledispatch
def unary_rewrite(cls: type, a: Expr) -> Expr | None:
    """The rewrite of ``cls(a)``, or None to keep it; dispatched on the class ``cls`` itself."""
    return None


def s_func(name: str, a: Expr) -> Expr:
    if name == "log" and isinstance(a, Func) and a.name == "exp":
        return a.args[0]
    if name == "exp" and isinstance(a, Func) and a.name == "log":
        return a.args[0]
    if name in ("sign", "step") and isinstance(a, Const):
        v = a.value
        return Const((v > 0) - (v < 0) if name == "sign" else int(v > 0))
    return Func(name, a)


def s_kron(a: Expr, b: Expr) -> Expr:
    if is_scalar(a.shape) or is_scalar(b.shape):
        return s_mul(a, b)
    if isinstance(a, Identity) and isinstance(b, Identity):
        return Identity(dim_mul(a.n, b.n))
    for i, f in enumerate((a, b)):  # (c A) ⊗ B = c (A ⊗ B)
        if isinstance(f, Mul) and f.scalars and f.chain:
            rest = s_mul(*f.chain)
            pair = (rest, b) if i == 0 else (a, rest)
            return s_mul(*f.scalars, s_kron(*pair))
    if is_zero(a) or is_zero(b):
        return Zero(Kron(a, b).shape)
    if is_vector(a.shape) and is_vector(b.shape):
        return s_unary(Vec, s_mul(b, s_transpose(a)))  # b ⊗ a = vec(a bᵀ) (here a ⊗ b)
    if is_row(a.shape) and is_row(b.shape):  # bᵀ ⊗ aᵀ = vec(a bᵀ)ᵀ
        return s_transpose(s_kron(s_transpose(a), s_transpose(b)))
    return Kron(a, b)


# ------------------------------------------------------------------------------- the driver


def _rebuild(e: Expr, args: tuple) -> Expr:
    if isinstance(e, Add):
        return s_add(*args)
    if isinstance(e, Mul):
        return s_mul(*args)
    if isinstance(e, Hadamard):
        return s_had(*args)
    if isinstance(e, Transpose):
        return s_transpose(args[0])
    if isinstance(e, Pow):
        return s_pow(args[0], e.exponent)
    if isinstance(e, Func):
        return s_func(e.name, args[0])
    if isinstance(e, Kron):
        return s_kron(*args)
    if isinstance(e, Unary) and not isinstance(e, Adj):
        return s_unary(type(e), args[0])
    if isinstance(e, MatPow) and isinstance(args[0], Identity):
        return args[0]
    return e.rebuild(args) if args != e.args else e


def simplify(e: Expr | str, rounds: int = 6, shapes: dict | None = None) -> Expr:
    """Rewrite bottom-up with the rules above until nothing changes (at most ``rounds``).

    Accepts an expression or its text (parsed with ``shapes``).
    """
    if not isinstance(e, Expr):
        from .parser import parse

        e = parse(e, shapes)
    for _ in range(rounds):
        memo: dict[Expr, Expr] = {}
        new = _simplify_once(e, memo)
        if new == e:
            return new
        e = new
    return e


def _simplify_once(e: Expr, memo: dict) -> Expr:
    hit = memo.get(e)
    if hit is not None:
        return hit
    if not e.args or isinstance(e, Commutation):
        out = e
    else:
        out = _rebuild(e, tuple(_simplify_once(a, memo) for a in e.args))
    memo[e] = out
    return out


# The rewrites of the named one-argument operations register themselves with unary_rewrite.
from . import simplify_unary  # noqa: E402, F401
