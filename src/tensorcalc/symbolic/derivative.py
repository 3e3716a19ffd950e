"""``derivative``/``hessian`` and the ``Derivative`` result object.

Layouts (stated on every result as ``d.layout``), for f: R^(in.shape) → R^(out.shape):

* ``numerator`` (default): the generalized Jacobian, shape ``out.shape + in.shape``;
  dy = J dx for vectors.
* ``denominator``: shape ``in.shape + out.shape`` (the transpose of the above for vectors).
* ``gradient``: scalar f only; the shape of X, (∂f/∂X)_ij = ∂f/∂X_ij (Matrix Cookbook).
* ``mixed``: matrixcalculus.org's "contraction along the last axes", f(X + dX) ≈ f(X) + T·dX;
  in this shape convention the same arrays as ``numerator``, under the site's name.

For scalar f they coincide. A nested derivative (``derivative(d, x)``) differentiates the
*tensor* of ``d`` in ``d``'s layout, never its vec-form matrix, so shapes stack:
out + X₁ + X₂ + … (numerator, mixed; gradient for a scalar f at order 0) and … + X₂ + X₁ + out
(denominator).

Results are in *matrix form* (``d.form == "matrix"``) when the derivative is a scalar, vector or
matrix. Tensors of order three and more are computed in *vec form*: ``d.expr`` is J with
vec(dF) = J vec(dX) (column-major vec, ``d.form == "vec"``); ``evaluate`` reshapes it into the
tensor of the stated layout. They are *printed* in index notation (``d.form == "index"``, e.g.
d^3 f/dx[i]dx[j]dx[k] = δ[i,j] δ[i,k] exp(x)[i]) when the vec form would need a non-standard
selector matrix (vec(diag(v)) = E v) or the index notation is shorter; ``d.index_notation()``
gives that notation for any result. ``d.numeric_expr`` is ``expr`` as evaluated (det(M)·M⁻¹
through adj(M), see ``adjugate``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

from ._printable import Displayable
from .calculus import Recorder, differential, substitute, transpose_linear, vec_jacobian
from .canonical import coef_and_core, is_zero, recognise_closed_forms
from .errors import UnsupportedExpression
from .expr import (
    Commutation,
    Const,
    Diag,
    DiagEmbed,
    Differential,
    Expr,
    Identity,
    Var,
    Vec,
    Zero,
    zero_like,
)
from .parser import parse
from .shapes import dim_mul, from_matrix, is_row, is_scalar, is_vector, size, transpose_shape
from .simplify import s_add, s_mul, s_transpose, s_unary, simplify

if TYPE_CHECKING:
    import numpy as np  # imported where it is used: parsing and deriving do not need NumPy

LAYOUTS = ("numerator", "denominator", "gradient", "mixed")
CONVENTIONS = ("frobenius", "cookbook")


def _find_var(f: Expr, wrt: str | Var) -> Var:
    name = wrt.name if isinstance(wrt, Var) else wrt
    for v in f.free_vars:
        if v.name == name:
            return v
    names = ", ".join(sorted(v.name for v in f.free_vars)) or "none"
    raise ValueError(f"{f} does not contain the variable {name!r} (its variables: {names})")


def _placeholder(x: Var, f: Expr) -> Var:
    """dX, renamed if the expression already uses that name."""
    taken = {v.name for v in f.free_vars}
    name = "d" + x.name
    while name in taken:
        name += "_"
    return Differential(x, name)


def _as_vector_shape(shape: tuple) -> tuple:
    return (shape[1],) if is_row(shape) else shape


def layout_shape(layout: str, out: tuple, inn: tuple) -> tuple:
    """out.shape + in.shape (numerator, mixed, gradient), in.shape + out.shape (denominator)."""
    if layout == "denominator":
        return tuple(inn) + tuple(out)
    return tuple(out) + tuple(inn)


@dataclass(eq=False)
class Derivative(Displayable):
    """A symbolic derivative. ``expr`` is the result; see the module doc for layouts and forms."""

    expr: Expr
    of: Expr  # the function that was differentiated (the previous stage for higher orders)
    wrt: Var
    layout: str
    form: str  # "matrix", "vec" (d vec F = J d vec X) or "index" (printed in index notation)
    differential: Expr | None  # d(of) as an expression in ``dvar``
    dvar: Var
    parent: Derivative | None = None
    symmetric_convention: str = "frobenius"
    unstructured: Expr | None = None  # gradient before the symmetric/diagonal projection
    record: Recorder | None = field(default=None, repr=False)
    _compiled: dict = field(default_factory=dict, repr=False)

    # ----------------------------------------------------------------------- description
    @property
    def order(self) -> int:
        return 1 + (self.parent.order if self.parent is not None else 0)

    @property
    def base(self) -> Expr:
        """The original function (before any differentiation)."""
        return self.parent.base if self.parent is not None else self.of

    @property
    def wrt_chain(self) -> tuple[Var, ...]:
        return (self.parent.wrt_chain if self.parent is not None else ()) + (self.wrt,)

    @property
    def out_shape(self) -> tuple:
        """Tensor shape of the function differentiated at this stage: the previous stage's
        derivative tensor (in its layout) for a nested derivative, never its vec-form matrix."""
        if self.parent is not None:
            return self.parent.shape
        return _as_vector_shape(self.of.shape)

    @property
    def shape(self) -> tuple:
        """Shape of the derivative array in its layout (symbolic dims unless declared)."""
        return layout_shape(self.layout, self.out_shape, self.wrt.shape)

    def __str__(self) -> str:
        if self.form == "index":
            from .printing.index import to_index_text

            return to_index_text(self)
        sized = _sized_text(self)
        return sized if sized is not None else str(self.expr)

    def index_notation(self, format: str = "text") -> str:
        """The derivative tensor in index notation (any order; "text", "latex", "mathml")."""
        from .printing import index

        fn = {"text": index.to_index_text, "latex": index.to_index_latex,
              "mathml": index.to_index_mathml}[format]
        return fn(self)

    def __repr__(self) -> str:
        return (f"<Derivative d({self.of})/d{self.wrt.name} = {self.expr}; layout={self.layout}, "
                f"form={self.form}, shape={self.shape}>")

    def latex(self) -> str:
        if self.form == "index":
            return self.index_notation("latex")
        if is_zero(self.expr) and self.shape:
            return r"\mathbf{0}_{" + r" \times ".join(map(str, self.shape)) + "}"
        return self.expr.latex()

    def mathml(self, display: str = "block") -> str:
        if self.form == "index":
            from .printing.index import to_index_mathml

            return to_index_mathml(self, display=display)
        return self.expr.mathml(display=display)

    def steps(self, format: str = "text") -> str:
        """The derivation: differentials, trace trick, identification (format "text"/"latex")."""
        from .steps import Steps, derivation

        text = derivation(self, format=format)
        return Steps(text, self) if format == "text" else text  # Steps: shows as LaTeX in Jupyter

    # ------------------------------------------------------------------------ numerics
    @property
    def numeric_expr(self) -> Expr:
        """``expr`` as evaluated: det(M)·M⁻¹ goes through adj(M), exact at singular M too."""
        if "numeric" not in self._compiled:
            from .adjugate import through_adjugate

            self._compiled["numeric"] = through_adjugate(self.expr)
        return self._compiled["numeric"]

    def numpy_source(self, with_value: bool = True, name: str | None = None) -> str:
        """Standalone Python source computing (value, derivative) or just the derivative."""
        from .printing.numpy_source import derivative_source

        return derivative_source(self, with_value=with_value, name=name)

    def source(self, target: str = "numpy", with_value: bool = True, name: str | None = None
               ) -> str:
        """The generated function for ``target``: "numpy", "torch" or "jax" (see
        ``printing/backends.py``); the NumPy text is that of ``numpy_source``."""
        from .printing.backends import translate

        return translate(self.numpy_source(with_value=with_value, name=name), target)

    def compile(self, with_value: bool = True):
        """The generated source as a callable (exec of our own generated code only)."""
        key = bool(with_value)
        if key not in self._compiled:
            from .printing.numpy_source import compile_source

            src = self.numpy_source(with_value=with_value, name="f")
            self._compiled[key] = compile_source(src, "f")
        return self._compiled[key]

    def evaluate(self, **values) -> np.ndarray:
        """The derivative at the given values (keyword per variable), as an ndarray.

        A dimension that no variable carries (as in ``sum(vector(1))``) is passed as
        ``dim_<name>=size``.
        """
        import numpy as np

        from .printing.numpy_source import derivative_parameters

        fn = self.compile(with_value=False)
        code = fn.__code__
        params = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        # Parameters are variable names, mangled where Python or the generated code needs it
        # (``lambda`` -> ``lambda_``, ``np`` next to ``np_`` -> ``np__``); dimensions: dim_<name>.
        names = {p: derivative_parameters(self, with_value=False).get(p, p) for p in params}
        missing = [names[p] for p in params if names[p] not in values]
        if missing:
            raise TypeError(f"evaluate() needs values for {', '.join(missing)}")
        return np.asarray(fn(**{p: values[names[p]] for p in params}))

    def check(self, trials: int = 3, seed: int = 0, rtol: float = 1e-5, atol: float = 1e-6,
              method: str = "auto"):
        """Compare with tensorcalc's numeric Jacobian (central differences as a fallback);
        ``method="generated"`` compares with central differences of the generated NumPy code
        of the function instead, ``"central-difference"`` with those of the expression."""
        from .numeric import check_derivative

        return check_derivative(self, trials=trials, seed=seed, rtol=rtol, atol=atol,
                                method=method)


def derivative(f: str | Expr | Derivative, wrt: str | Var, layout: str = "numerator",
               shapes: dict | None = None, symmetric_convention: str = "frobenius",
               steps: bool = True) -> Derivative:
    """Symbolic derivative of ``f`` with respect to the variable ``wrt``.

    ``layout`` is "numerator" (Jacobian, out.shape + in.shape), "denominator"
    (in.shape + out.shape) or "gradient" (scalar f; the shape of X). For a symmetric X the
    gradient follows ``symmetric_convention``: "frobenius" gives (G + Gᵀ)/2, the gradient for
    the Frobenius inner product on symmetric matrices; "cookbook" gives G + Gᵀ − G∘I, the partials
    with respect to the independent entries (the Matrix Cookbook's section on symmetric matrices). G
    is the unstructured gradient. A diagonal X gets diag(diag(G)).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if symmetric_convention not in CONVENTIONS:
        raise ValueError(f"symmetric_convention must be one of {CONVENTIONS}")
    parent = f if isinstance(f, Derivative) else None
    fx = parse(f, shapes)
    if parent is None:
        fx = recognise_closed_forms(fx)  # written-out sigmoid, softmax, logsumexp
    else:
        # differentiate det(M)·M⁻¹ as adj(M): the same function, and for a size-2 or -3 M the
        # adjugate's differential has no inverse, so a Hessian of det is valid at singular M
        fx = parent.numeric_expr
    if isinstance(wrt, Var):
        x = wrt
    elif parent is not None and all(v.name != wrt for v in fx.free_vars):
        x = _find_var(parent.base, wrt)  # e.g. the Hessian of a linear function: exactly zero
    else:
        x = _find_var(fx, wrt)
    dx = _placeholder(x, fx)
    rec = Recorder() if steps else None
    raw = differential(fx, x, dx, rec)
    L = simplify(raw) if raw is not None else zero_like(fx.shape)

    parent_matrix = parent is None or parent.form == "matrix"

    def make(expr: Expr, form: str, unstructured: Expr | None = None) -> Derivative:
        return Derivative(expr=expr, of=fx, wrt=x, layout=layout, form=form, differential=L,
                          dvar=dx, parent=parent, symmetric_convention=symmetric_convention,
                          unstructured=unstructured, record=rec)

    out_shape = parent.shape if parent is not None else _as_vector_shape(fx.shape)
    base_scalar = is_scalar((parent.base if parent is not None else fx).shape)
    if layout == "gradient" and not (is_scalar(out_shape) or base_scalar):
        raise ValueError(
            f"layout='gradient' needs a scalar function, but {fx} is "
            f"{'a vector' if is_vector(fx.shape) else 'a matrix'}; use layout='numerator' "
            "(Jacobian) or 'denominator'")
    if is_scalar(out_shape):
        if is_scalar(x.shape):
            g = substitute(L, dx, Const(1))
            return make(simplify(g), "matrix")
        g = transpose_linear(L, dx, Const(1))
        G = simplify(g) if g is not None else Zero(x.shape)
        if x.structure is None:
            return make(G, "matrix")
        return make(_structured(G, x, symmetric_convention), "matrix", unstructured=G)
    if is_scalar(x.shape):  # derivative of an array with respect to a scalar: out.shape
        E = simplify(substitute(L, dx, Const(1)))
        # a nested stage whose tensor has more axes than its vec-form matrix stays in vec form
        return make(E, "matrix" if len(out_shape) <= 2 and parent_matrix else "vec")
    J = vec_jacobian(L, dx)
    J = simplify(J) if J is not None else None
    if J is None or isinstance(J, Zero) or isinstance(J, Const) and J.value == 0:
        # an exact zero, shaped like the Jacobian it stands for (size(F) × size(X))
        J = zero_like(from_matrix(size(out_shape), size(x.shape)))
    elif x.structure is not None:  # only structured directions dX count (see _projection)
        J = simplify(s_mul(J, _projection(x, symmetric_convention)))
    vector_case = len(out_shape) == 1 and is_vector(x.shape)
    if layout == "denominator":
        J = s_transpose(J)
    d = make(J, "matrix" if vector_case else "vec")
    if d.form == "vec":
        d.form = _display_form(d)
    return d


def _display_form(d: Derivative) -> str:
    """"index" when the vec form needs a non-standard selector (vec(diag(v)) = E v) or when the
    index notation is shorter; "vec" otherwise (and when index notation is unavailable)."""
    from .printing.index import AUTO_TERMS, TooManyTerms, to_index_text

    selector = _has(d.expr, DiagEmbed)
    vec_text = str(d.expr)
    if not selector and len(vec_text) < 24:
        return "vec"  # kron(B', A), commutation(n, m): nothing shorter exists
    try:
        rhs = to_index_text(d, limit=AUTO_TERMS).split(" = ", 1)[1]
    except (UnsupportedExpression, TooManyTerms):
        return "vec"
    if any(word in rhs for word in ("kron(", "commutation(", "diag_embed(")):
        return "vec"  # a vec-form symbol with indices would read worse than the vec form itself
    return "index" if selector or len(rhs) < len(vec_text) else "vec"


def _sized_text(d: Derivative) -> str | None:
    """A zero tensor prints as zeros(shape) and a vec-form identity as eye(size), so that
    neither reads as a bare 0 or eye whose size the reader cannot know."""
    if is_zero(d.expr) and d.shape:
        return f"zeros({', '.join(map(str, d.shape))})"
    c, core = coef_and_core(d.expr)
    if d.form == "vec" and isinstance(core, Identity):
        return str(d.expr).replace("eye", f"eye({core.n})")
    return None


def _has(e: Expr, cls: type) -> bool:
    stack = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, cls):
            return True
        stack.extend(n.args)
    return False


def _structured(G: Expr, x: Var, convention: str) -> Expr:
    """Project the unstructured gradient G onto the structure of X."""
    if x.structure == "diagonal":
        return s_unary(Diag, s_unary(Diag, G))
    Gt = s_transpose(G)
    if convention == "frobenius":
        return s_mul(Const(Fraction(1, 2)), s_add(G, Gt))
    return s_add(G, Gt, s_mul(Const(-1), s_unary(Diag, s_unary(Diag, G))))


def _projection(x: Var, convention: str) -> Expr:
    """P with J_structured = J P for J = ∂vec F/∂vec X taken over independent entries.

    symmetric, "frobenius": P = (I + K)/2, the orthogonal projection onto symmetric dX (the
    derivative as a map on symmetric matrices, matching the gradient (G + Gᵀ)/2);
    symmetric, "cookbook": P = I + K − diag(vec I), the partials with respect to the independent
    entries s_kl = X_kl = X_lk (matching G + Gᵀ − G∘I);
    diagonal: P = diag(vec I), only the diagonal entries vary.
    """
    n = x.shape[0]
    eye = Identity(dim_mul(n, n))
    select = s_unary(Diag, s_unary(Vec, Identity(n)))
    if x.structure == "diagonal":
        return select
    K = Commutation(n, n)
    if convention == "frobenius":
        return s_mul(Const(Fraction(1, 2)), s_add(eye, K))
    return s_add(eye, K, s_mul(Const(-1), select))


def hessian(f: str | Expr, wrt: str | Var, shapes: dict | None = None,
            symmetric_convention: str = "frobenius") -> Derivative:
    """Second derivative of a scalar f: the Jacobian (numerator layout) of its gradient.

    For a vector x this is the n×n Hessian matrix; for a matrix X it is given in vec form
    (d vec G = H d vec X), with ``evaluate`` returning the X.shape + X.shape tensor.
    """
    first = derivative(f, wrt, shapes=shapes, symmetric_convention=symmetric_convention)
    if not is_scalar(first.of.shape):
        raise ValueError(f"hessian needs a scalar function, got {first.of} with shape "
                         f"{first.of.shape}; use derivative twice for a Jacobian of a Jacobian")
    return derivative(first, wrt, symmetric_convention=symmetric_convention)


__all__ = ["Derivative", "derivative", "hessian", "LAYOUTS", "UnsupportedExpression",
           "transpose_shape"]
