"""Derivation steps, the way the trace-trick tutorials write them (docs/lessons/differentials.md).

For a scalar f of X:

1. the differential of every subexpression that depends on X (product rule (37), transpose (44),
   trace (36), inverse (40), determinant (42), log-determinant (43), elementwise f'(U) ⊙ dU, ...);
2. the trace trick: a scalar equals its trace, so each term of df is rewritten with the cyclic
   property tr(ABC) = tr(CAB) and tr(Mᵀ) = tr(M) into tr(Gᵢᵀ dX);
3. identification: df = tr(Gᵀ dX) with G = Σ Gᵢ, hence ∂f/∂X = G (and the Cookbook number when
   f is one of its identities).

For vector or matrix f the last steps read the Jacobian off dy = J dx, or off
d vec F = J d vec X using vec(A dX B) = (Bᵀ ⊗ A) vec dX.
"""

from __future__ import annotations

from .calculus import RULE_EQUATION, transpose_linear, vec_jacobian
from .cookbook import cite
from .expr import Add, Const, Expr, Kron, Mul, Trace, Transpose, Var, transpose
from .shapes import describe, is_matrix, is_scalar, is_vector
from .simplify import s_mul, s_transpose, simplify

MAX_SUBEXPRESSIONS = 14


def _terms(e: Expr) -> list[Expr]:
    return list(e.args) if isinstance(e, Add) else [e]


def _pairing(G: Expr, dx: Var, tidy: bool = True) -> Expr:
    """tr(Gᵀ dX) (or gᵀ dx, or g dx); ``tidy=False`` keeps Gᵀ visible as one factor."""
    if is_scalar(dx.shape):
        return s_mul(G, dx)
    prod = s_mul(s_transpose(G), dx) if tidy else Mul(_raw_transpose(G), dx)
    return Trace(prod) if is_matrix(dx.shape) else prod


def _raw_transpose(G: Expr) -> Expr:
    return G.args[0] if isinstance(G, Transpose) else transpose(G)


def function_name(f: Expr) -> str:
    """f, y or F by shape, avoiding the names of the function's own variables."""
    taken = {v.name for v in f.free_vars}
    choices = ("f", "g", "h", "phi") if is_scalar(f.shape) else (
        ("F", "G", "H", "Phi") if is_matrix(f.shape) else ("y", "g", "u", "z"))
    return next((c for c in choices if c not in taken), choices[-1] + "_")


class _Lines:
    def __init__(self, fmt: str):
        self.fmt = fmt
        self.lines: list[str] = []

    def show(self, e: Expr) -> str:
        return e.latex() if self.fmt == "latex" else str(e)

    def text(self, s: str) -> None:
        if self.fmt == "latex":
            self.lines.append(r"&\text{" + s.replace("_", r"\_") + r"} \\")
        else:
            self.lines.append(s)

    def eq(self, lhs: str, rhs: str, note: str = "") -> None:
        if self.fmt == "latex":
            tail = rf" && \text{{{note}}}" if note else ""
            self.lines.append(f"{lhs} &= {rhs}{tail} \\\\")
        else:
            self.lines.append(f"    {lhs} = {rhs}" + (f"    [{note}]" if note else ""))

    def partial(self, f: str, x: Var) -> str:
        if self.fmt == "latex":
            return rf"\frac{{\partial {f}}}{{\partial {x.latex()}}}"
        return f"∂{f}/∂{x.name}"

    def d(self, e: Expr) -> str:
        inner = self.show(e)
        return rf"\mathrm{{d}}\left({inner}\right)" if self.fmt == "latex" else f"d({inner})"

    def dname(self, name: str) -> str:
        return rf"\mathrm{{d}}{name}" if self.fmt == "latex" else "d" + name

    def render(self) -> str:
        if self.fmt == "latex":
            return "\\begin{align*}\n" + "\n".join(self.lines) + "\n\\end{align*}"
        return "\n".join(self.lines)


def derivation(d, format: str = "text") -> str:
    """The steps of ``d`` as text or LaTeX (``align*``)."""
    if format not in ("text", "latex"):
        raise ValueError("format must be 'text' or 'latex'")
    out = _Lines(format)
    f, x, L = d.of, d.wrt, d.differential
    name = function_name(f)
    out.text(f"Function: {name} = {f}   ({describe(f.shape)} of {x.name}, {describe(x.shape)})")
    if d.parent is not None:
        out.text(f"(order {d.order}: differentiating the previous derivative again)")
    out.text("Step 1. Differentials of the subexpressions that depend on "
             f"{x.name} (Matrix Cookbook rule numbers):")
    entries = d.record.entries if d.record is not None else []
    shown = entries[-MAX_SUBEXPRESSIONS:]
    if len(entries) > len(shown):
        out.text(f"    ... {len(entries) - len(shown)} simpler subexpressions omitted")
    for node, dn, rule in shown:
        eq = RULE_EQUATION.get(rule)
        note = f"{rule} rule" + (f", Cookbook ({eq})" if eq else "")
        out.eq(out.d(node), out.show(simplify(dn)), note)
    out.eq(out.dname(name), out.show(L), "simplified")
    if is_scalar(f.shape) and not is_scalar(x.shape):
        _trace_trick(out, d, name)
    elif is_scalar(x.shape):
        out.text(f"Step 2. d{name} = (∂{name}/∂{x.name}) d{x.name}, so the derivative is the "
                 f"coefficient of d{x.name}:")
        out.eq(out.partial(name, x), out.show(d.expr))
    else:
        _jacobian(out, d, name)
    eq = cite(f, x) if d.parent is None else None
    if eq is not None:
        out.text(f"This is Matrix Cookbook identity ({eq}).")
    return out.render()


def _trace_trick(out: _Lines, d, name: str) -> None:
    x, dx, L = d.wrt, d.dvar, d.differential
    out.text("Step 2. Trace trick: a scalar equals its trace; use tr(ABC) = tr(CAB) and "
             f"tr(Mᵀ) = tr(M) to move d{x.name} to the right of each term:")
    gs = []
    for t in _terms(L):
        g = transpose_linear(t, dx, Const(1))
        if g is None:
            continue
        g = simplify(g)
        gs.append(g)
        lhs = out.show(Trace(t) if is_matrix(dx.shape) and not isinstance(t, Trace) else t)
        out.eq(lhs, out.show(_pairing(g, dx)))
    G = d.unstructured if d.unstructured is not None else d.expr
    out.eq(out.dname(name), out.show(_pairing(G, dx, tidy=False)), "sum of the terms, simplified")
    out.text(f"Step 3. Identification: d{name} = tr(Gᵀ d{x.name}) ⇔ "
             f"∂{name}/∂{x.name} = G (gradient has the shape of {x.name}; for a scalar "
             "function all layouts agree):")
    out.eq(out.partial(name, x), out.show(G))
    if d.unstructured is not None:
        conv = {"frobenius": "(G + Gᵀ)/2, the gradient for ⟨A, B⟩ = tr(AᵀB) on symmetric "
                             "matrices",
                "cookbook": "G + Gᵀ − G∘I, the partials w.r.t. the independent entries "
                            "(Cookbook, symmetric matrices)"}
        if x.structure == "diagonal":
            out.text(f"{x.name} is diagonal: keep the diagonal of G, diag(diag(G)).")
        else:
            out.text(f"{x.name} is symmetric; convention '{d.symmetric_convention}': "
                     + conv[d.symmetric_convention] + ":")
        out.eq(out.partial(name, x), out.show(d.expr))


def _term_jacobians(out: _Lines, d, vec: bool) -> None:
    """One line per term of dF: the term and the matrix it contributes to J."""
    dx = d.dvar
    terms = _terms(d.differential)
    if len(terms) > MAX_SUBEXPRESSIONS:
        return
    for t in terms:
        j = vec_jacobian(t, dx)
        if j is None:
            continue
        j = simplify(j)
        if vec:
            if out.fmt == "latex":
                lhs = rf"\operatorname{{vec}}\left({t.latex()}\right)"
                rhs = rf"{_wrapped(j, out)} \operatorname{{vec}}\left({dx.latex()}\right)"
            else:
                lhs, rhs = f"vec({t})", f"{_wrapped(j, out)} * vec({dx})"
        else:
            lhs = out.show(t)
            rhs = out.show(s_mul(j, dx)) if not isinstance(j, Add) else (
                rf"{_wrapped(j, out)} {dx.latex()}" if out.fmt == "latex" else f"({j}) * {dx}")
        out.eq(lhs, rhs)


def _wrapped(e: Expr, out: _Lines) -> str:
    text = out.show(e)
    if isinstance(e, Add) or isinstance(e, Kron) and out.fmt == "latex":
        return rf"\left({text}\right)" if out.fmt == "latex" else f"({text})"
    return text


def _jacobian(out: _Lines, d, name: str) -> None:
    x = d.wrt
    vec = d.form != "matrix"
    if vec:
        out.text("Step 2. Vectorise with vec(A dX B) = (Bᵀ ⊗ A) vec(dX), vec(dXᵀ) = K vec(dX) "
                 "(K the commutation matrix) and vec(C ⊙ dX) = diag(vec C) vec(dX):")
        if out.fmt == "latex":
            out.eq(rf"d\operatorname{{vec}}({name})", rf"J \, d\operatorname{{vec}}({x.latex()})")
        else:
            out.eq(f"d vec({name})", f"J d vec({x.name})")
    else:
        out.text(f"Step 2. Write each term of the differential as a matrix times d{x.name}, "
                 f"so that d{name} = J d{x.name}:")
    _term_jacobians(out, d, vec)
    layout = d.layout
    shape = "(" + ", ".join(str(s) for s in d.shape) + ")"
    if layout == "denominator":
        out.text(f"Step 3. Denominator layout is the transpose, Jᵀ, shape {shape}:")
        out.eq(out.partial(name, x), out.show(d.expr))
    else:
        what = "vec form, reshaped to " if vec else ""
        out.text(f"Step 3. Numerator layout (Jacobian), {what}shape {shape}:")
        out.eq("J", out.show(d.expr))
    if d.form == "index":
        out.text("In index notation (shorter than the vec form above, or free of its selector "
                 "E with vec(diag(v)) = E v):")
        text = d.index_notation("latex" if out.fmt == "latex" else "text")
        lhs, rhs = text.split(" = ", 1)
        out.eq(lhs, rhs)
    if is_vector(d.of.shape) and d.parent is not None and is_vector(x.shape):
        out.text("This is the Hessian: the Jacobian of the gradient.")


class Steps(str):
    """The text of a derivation that a notebook shows as LaTeX (``align*``); a plain ``str``
    everywhere else."""


    def __new__(cls, text: str, derivative) -> Steps:
        out = super().__new__(cls, text)
        out._derivative = derivative
        return out

    def latex(self) -> str:
        return derivation(self._derivative, format="latex")

    def _repr_latex_(self) -> str:
        return self.latex()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        bundle = {"text/plain": str(self), "text/latex": self.latex()}
        return {k: v for k, v in bundle.items()
                if (include is None or k in include) and (exclude is None or k not in exclude)}

    def _repr_pretty_(self, p, cycle: bool) -> None:
        p.text(str(self))
