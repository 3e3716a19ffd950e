"""NumPy source printer: a standalone function computing a value and its derivative.

The generated function (in the spirit of matrixcalculus.org's ``fAndG``) converts its arguments
with ``np.asarray``, binds the symbolic dimensions from the argument shapes and asserts every
shape, hoists common subexpressions into temporaries ``_t0, _t1, ...`` (structural equality of the
expression DAG), and never forms an inverse it only multiplies: ``inv(A) b`` becomes
``np.linalg.solve(A, b)``. ``diag(v) M`` becomes ``v[:, None] * M``; a chain ending in a vector
is multiplied right to left so that only matrix-vector products occur.

Only identifiers that passed the parser's name pattern reach the source, and numbers are printed
with ``repr(float)``, so the text handed to ``exec`` is entirely ours.
"""

from __future__ import annotations

from collections import Counter
from functools import singledispatch

from tensorcalc.symbolic.expr import (
    Add,
    Adj,
    Commutation,
    Const,
    Det,
    Diag,
    DiagEmbed,
    Expr,
    Fill,
    Func,
    Hadamard,
    Identity,
    Inv,
    LogDet,
    LogSumExp,
    MatPow,
    Mul,
    Norm1,
    Norm2,
    Pow,
    Softmax,
    Sum,
    Trace,
    Transpose,
    Var,
    Vec,
    Zero,
)
from tensorcalc.symbolic.shapes import (
    as_matrix,
    from_matrix,
    is_matrix,
    is_row,
    is_scalar,
    is_vector,
)

from .numpy_helpers import HELPERS
from .numpy_names import python_names
from .precedence import is_negative
from .text import negated


def dim_code(d: object) -> str:
    if isinstance(d, int):
        return str(d)
    parts = str(d).split("·")
    return " * ".join(p if p.isdigit() else f"_{p}" for p in parts)


def shape_code(shape: tuple) -> str:
    if is_row(shape):
        shape = (shape[1],)
    inner = ", ".join(dim_code(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


class _Emitter:
    """Turns expressions into statements with common subexpressions hoisted."""

    def __init__(self, roots: list[Expr], py: dict[str, str]):
        self.py = py
        self.lines: list[str] = []
        self.names: dict[Expr, str] = {}
        self.helpers: set[str] = set()
        self.extra: list[str] = []
        counts: Counter = Counter()
        seen: set[Expr] = set()
        stack = list(roots)
        while stack:  # count parents per distinct node (iteratively)
            n = stack.pop()
            for a in n.args:
                counts[a] += 1
                if a not in seen:
                    seen.add(a)
                    stack.append(a)
        self.shared = {n for n, c in counts.items() if c >= 2 and n.args}

    def code(self, e: Expr) -> str:
        if e in self.names:
            return self.names[e]
        text = _code(e, self)
        if e in self.shared:
            name = f"_t{len(self.names) + len(self.extra)}"
            self.lines.append(f"{name} = {text}")
            self.names[e] = name
            return name
        return text

    def fresh(self, code: str) -> str:
        """Bind ``code`` to a new temporary (so that it can be used twice)."""
        if code.isidentifier():
            return code
        name = f"_t{len(self.names) + len(self.extra)}"
        self.extra.append(name)
        self.lines.append(f"{name} = {code}")
        return name

    def helper(self, name: str) -> str:
        self.helpers.add(name)
        return name


@singledispatch
def _code(e: Expr, em: _Emitter) -> str:
    raise TypeError(f"no NumPy rule for {type(e).__name__}")


@_code.register
def numpy_var(e: Var, em: _Emitter) -> str:
    return em.py[e.name]


@_code.register
def numpy_const(e: Const, em: _Emitter) -> str:
    return repr(float(e.value))


@_code.register
def numpy_fill(e: Fill, em: _Emitter) -> str:
    return f"np.full({shape_code(e.shape)}, {float(e.value)!r})"


@_code.register
def numpy_identity(e: Identity, em: _Emitter) -> str:
    return f"np.eye({dim_code(e.n)})"


@_code.register
def numpy_zero(e: Zero, em: _Emitter) -> str:
    return f"np.zeros({shape_code(e.shape)})"


@_code.register
def numpy_commutation(e: Commutation, em: _Emitter) -> str:
    return f"{em.helper('_commutation')}({dim_code(e.m)}, {dim_code(e.n)})"


@_code.register
def numpy_diag_embed(e: DiagEmbed, em: _Emitter) -> str:
    return f"{em.helper('_diag_embed')}({dim_code(e.n)})"


@_code.register
def numpy_add(e: Add, em: _Emitter) -> str:
    def term(t: Expr) -> str:
        # a constant array next to a real array broadcasts as a plain number: 1.0 - p
        return repr(float(t.value)) if isinstance(t, Fill) and not all_fill else em.code(t)

    all_fill = all(isinstance(t, Fill) for t in e.args)
    out = term(e.args[0])
    for t in e.args[1:]:
        out += f" - {term(negated(t))}" if is_negative(t) else f" + {term(t)}"
    return f"({out})"


def _binary(a: str, sa: tuple, b: str, sb: tuple) -> tuple[str, tuple]:
    """Product of two operands by their symbolic shapes: scaling, outer or matmul."""
    if is_scalar(sa) or is_scalar(sb):
        return f"({a} * {b})", sb if is_scalar(sa) else sa
    shape = from_matrix(as_matrix(sa)[0], as_matrix(sb)[1])
    if is_vector(sa) and is_row(sb):
        return f"np.outer({a}, {b})", shape
    return f"({a} @ {b})", shape


def _left_apply(f: Expr, acc: str, sacc: tuple, em: _Emitter) -> tuple[str, tuple]:
    """f @ acc, with solves for inverses and broadcasting for diagonals."""
    shape = from_matrix(as_matrix(f.shape)[0], as_matrix(sacc)[1])
    if isinstance(f, Inv) and not is_scalar(sacc):
        return f"np.linalg.solve({em.code(f.args[0])}, {acc})", shape
    if isinstance(f, Transpose) and isinstance(f.args[0], Inv) and not is_scalar(sacc):
        return f"np.linalg.solve({em.code(f.args[0].args[0])}.T, {acc})", shape
    if isinstance(f, Add) and not is_scalar(sacc) and any(_starts_with_inverse(t) for t in f.args):
        # (X⁻¹ + X⁻ᵀ) b = solve(X, b) + solve(Xᵀ, b): distribute rather than form an inverse
        acc = em.fresh(acc)
        parts = []
        for t in f.args:
            neg = is_negative(t)
            term = negated(t) if neg else t
            code = _apply_chain_left(term, acc, sacc, em)
            parts.append(("- " if neg else "+ ") + code)
        return "(" + " ".join(parts).lstrip("+ ") + ")", shape
    if isinstance(f, Diag) and is_vector(f.args[0].shape) and not is_scalar(sacc):
        v = em.code(f.args[0])
        return (f"({v} * {acc})" if is_vector(sacc) else f"({v}[:, None] * {acc})"), shape
    return _binary(em.code(f), f.shape, acc, sacc)


def _starts_with_inverse(t: Expr) -> bool:
    first = t.chain[0] if isinstance(t, Mul) and t.chain else t
    return isinstance(first, Inv) or isinstance(first, Transpose) and isinstance(
        first.args[0], Inv)


def _apply_chain_left(t: Expr, acc: str, sacc: tuple, em: _Emitter) -> str:
    """t @ acc for a term t (a product is applied factor by factor, right to left)."""
    scalars, chain = (t.scalars, t.chain) if isinstance(t, Mul) else ((), (t,))
    code, shape = acc, sacc
    for f in reversed(chain):
        code, shape = _left_apply(f, code, shape, em)
    return " * ".join([em.code(s) for s in scalars] + [code])


def _right_apply(acc: str, sacc: tuple, f: Expr, em: _Emitter) -> tuple[str, tuple]:
    """acc @ f, with solves for inverses and broadcasting for diagonals."""
    shape = from_matrix(as_matrix(sacc)[0], as_matrix(f.shape)[1])
    tail = ".T" if is_matrix(sacc) else ""
    if isinstance(f, Inv) and not is_scalar(sacc) and not is_vector(sacc):
        return f"np.linalg.solve({em.code(f.args[0])}.T, {acc}{tail}){tail}", shape
    if isinstance(f, Transpose) and isinstance(f.args[0], Inv) and not (
        is_scalar(sacc) or is_vector(sacc)
    ):
        return f"np.linalg.solve({em.code(f.args[0].args[0])}, {acc}{tail}){tail}", shape
    if isinstance(f, Diag) and is_vector(f.args[0].shape) and not (
        is_scalar(sacc) or is_vector(sacc)
    ):
        return f"({acc} * {em.code(f.args[0])})", shape
    return _binary(acc, sacc, em.code(f), f.shape)


@_code.register
def numpy_mul(e: Mul, em: _Emitter) -> str:
    """A chain ending in a vector or starting with inv(X) or inv(X)' is applied right to left."""
    scalars, chain = list(e.scalars), list(e.chain)
    sign = ""
    if scalars and isinstance(scalars[0], Const) and scalars[0].value == -1:
        sign = "-"  # -x rather than -1.0 * x
        scalars = scalars[1:]
    parts = [em.code(s) for s in scalars]
    if _selects_diagonal(chain):
        # Eᵀ diag(vec(M)) keeps M's diagonal only: compute just that (no 0 · inf elsewhere).
        m = chain[1].args[0].args[0]
        parts.append(f"{em.helper('_diag_rows')}({em.code(_diagonal_of(m))})")
        chain = []
    if chain:
        right_to_left = is_vector(chain[-1].shape) or isinstance(chain[0], Inv | Transpose) and (
            isinstance(chain[0], Inv) or isinstance(chain[0].args[0], Inv))
        if right_to_left:
            acc, sacc = em.code(chain[-1]), chain[-1].shape
            for f in reversed(chain[:-1]):
                acc, sacc = _left_apply(f, acc, sacc, em)
        else:
            acc, sacc = em.code(chain[0]), chain[0].shape
            for f in chain[1:]:
                acc, sacc = _right_apply(acc, sacc, f, em)
        parts.append(acc)
    body = parts[0] if len(parts) == 1 else "(" + " * ".join(parts) + ")"
    return f"(-{body})" if sign else body


@_code.register
def numpy_hadamard(e: Hadamard, em: _Emitter) -> str:
    """A factor ``a .^ -1`` becomes a division by ``a``. With a diagonal factor (``eye``,
    ``diag(v)``) only the diagonal is computed: ``eye .* exp(X)`` is ``diag(exp(diag(X)))``, so
    an off-diagonal ``exp(X)`` that overflows (or a ``./ X`` by an off-diagonal 0) cannot
    make ``0 · inf = NaN`` in entries that are 0."""
    if is_matrix(e.shape) and any(_is_diagonal(a) for a in e.args):
        factors = [_diagonal_of(a) for a in e.args if not isinstance(a, Identity)]
        if factors:
            vec = factors[0] if len(factors) == 1 else Hadamard(*factors)
            return f"np.diag({em.code(vec)})"
    out = ""
    for a in e.args:
        if isinstance(a, Pow) and a.exponent == -1:
            out = f"{out or '1.0'} / {em.code(a.args[0])}"
        else:
            out = f"{out} * {em.code(a)}" if out else em.code(a)
    return f"({out})"


def _selects_diagonal(chain: list[Expr]) -> bool:
    """Whether ``chain`` is ``diag_embed(n)ᵀ · diag(vec(M))`` for a square matrix ``M``."""
    return (len(chain) == 2 and isinstance(chain[0], Transpose)
            and isinstance(chain[0].args[0], DiagEmbed) and isinstance(chain[1], Diag)
            and isinstance(chain[1].args[0], Vec) and is_matrix(chain[1].args[0].args[0].shape)
            and chain[1].args[0].args[0].shape[0] == chain[1].args[0].args[0].shape[1])


def _is_diagonal(e: Expr) -> bool:
    return isinstance(e, Identity) or (isinstance(e, Diag) and is_vector(e.args[0].shape))


def _diagonal_of(e: Expr) -> Expr:
    """The diagonal of the square matrix ``e`` as a vector expression, pushed through
    elementwise operations so that they run on the n diagonal entries only."""
    if isinstance(e, Diag) and is_vector(e.args[0].shape):
        return e.args[0]
    if isinstance(e, Func):
        return Func(e.name, _diagonal_of(e.args[0]))
    if isinstance(e, Pow):
        return Pow(_diagonal_of(e.args[0]), e.exponent)
    if isinstance(e, Hadamard):
        return Hadamard(*(_diagonal_of(a) for a in e.args))
    return Diag(e)


@_code.register
def numpy_transpose(e: Transpose, em: _Emitter) -> str:
    inner = em.code(e.args[0])
    return f"{inner}.T" if is_matrix(e.args[0].shape) else inner


@_code.register
def numpy_pow(e: Pow, em: _Emitter) -> str:
    a, p = em.code(e.args[0]), float(e.exponent)
    if p == -1:
        return f"(1.0 / {a})"
    if p == 0.5:
        return f"np.sqrt({a})"
    if p == 2:
        return f"({a} * {a})" if len(a) < 12 else f"np.square({a})"
    return f"np.power({a}, {p!r})"


@_code.register
def numpy_matpow(e: MatPow, em: _Emitter) -> str:
    return f"np.linalg.matrix_power({em.code(e.args[0])}, {e.k})"


_FUNCS = {"exp", "log", "sin", "cos", "tan", "tanh", "sqrt", "abs", "sign", "sinh", "cosh",
          "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh"}


@_code.register
def numpy_func(e: Func, em: _Emitter) -> str:
    inner = e.args[0]
    if e.name == "log" and isinstance(inner, Add) and len(inner.args) == 2:
        exps = [t for t in inner.args if isinstance(t, Func) and t.name == "exp"]
        ones = [t for t in inner.args if isinstance(t, Fill | Const) and t.value == 1]
        if len(exps) == 1 and len(ones) == 1:  # log(exp(z) + 1) without overflow
            return f"np.logaddexp(0.0, {em.code(exps[0].args[0])})"
    a = em.code(e.args[0])
    if e.name in _FUNCS:
        return f"np.{e.name}({a})"
    if e.name == "relu":
        return f"np.maximum({a}, 0.0)"
    if e.name == "sigmoid":  # tanh form: no overflow for large |a|
        return f"(0.5 * (1.0 + np.tanh(0.5 * {a})))"
    if e.name == "step":
        return f"np.heaviside({a}, 0.0)"
    if e.name == "softplus":
        return f"np.logaddexp(0.0, {a})"
    raise TypeError(f"no NumPy rule for {e.name}")


@_code.register
def numpy_sum(e: Sum, em: _Emitter) -> str:
    return f"np.sum({em.code(e.args[0])})"


@_code.register
def numpy_trace(e: Trace, em: _Emitter) -> str:
    return f"np.trace({em.code(e.args[0])})"


@_code.register
def numpy_det(e: Det, em: _Emitter) -> str:
    return f"np.linalg.det({em.code(e.args[0])})"


@_code.register
def numpy_logdet(e: LogDet, em: _Emitter) -> str:
    return f"np.linalg.slogdet({em.code(e.args[0])})[1]"


@_code.register
def numpy_inv(e: Inv, em: _Emitter) -> str:
    return f"np.linalg.inv({em.code(e.args[0])})"


@_code.register
def numpy_adj(e: Adj, em: _Emitter) -> str:
    return f"{em.helper('_adjugate')}({em.code(e.args[0])})"


@_code.register
def numpy_diag(e: Diag, em: _Emitter) -> str:
    return f"np.diag({em.code(e.args[0])})"


@_code.register
def numpy_norm1(e: Norm1, em: _Emitter) -> str:
    return f"np.sum(np.abs({em.code(e.args[0])}))"


@_code.register
def numpy_norm2(e: Norm2, em: _Emitter) -> str:
    return f"np.linalg.norm({em.code(e.args[0])})"


@_code.register
def numpy_softmax(e: Softmax, em: _Emitter) -> str:
    return f"{em.helper('_softmax')}({em.code(e.args[0])})"


@_code.register
def numpy_logsumexp(e: LogSumExp, em: _Emitter) -> str:
    return f"{em.helper('_logsumexp')}({em.code(e.args[0])})"


# ------------------------------------------------------------------------------- functions


def _ordered_vars(base: Expr) -> list[Var]:
    text = str(base)
    return sorted(base.free_vars, key=lambda v: (text.find(v.name), v.name))


def _dims_of(e: Expr) -> set:
    out: set = set()
    stack = [e]
    while stack:
        n = stack.pop()
        for d in n.shape:
            for part in str(d).split("·"):
                if not part.isdigit():
                    out.add(part)
        stack.extend(n.args)
    return out


def function_source(name: str, params: list[Var], bodies: list[tuple[str, Expr]],
                    doc: str, epilogue: list[str] | None = None,
                    extra_dims: set | None = None,
                    guards: list[tuple[Expr, str]] | None = None) -> str:
    """Source of ``def name(params): ... return <bodies>`` with shape checks and CSE;
    each ``(matrix, what)`` in ``guards`` is refused first when numerically singular."""
    py = python_names(params + [v for _, e in bodies for v in e.free_vars])
    em = _Emitter([e for _, e in bodies], py)
    for m, what in guards or []:
        em.lines.append(f"{em.helper('_nonsingular')}({em.code(m)}, {what!r})")
    results = [(out, em.code(e)) for out, e in bodies]
    need = set().union(*(_dims_of(e) for _, e in bodies)) | (extra_dims or set())
    head = [f"def {name}({', '.join(py[p.name] for p in params)}):", f'    """{doc}"""']
    bound: set = set()
    checks: list[str] = []  # shape checks that need a later argument's dims (x' * vec(X))
    for p in params:
        pn = py[p.name]
        if p.structure == "integer":  # an index or an exponent: a Python int
            head.append(f"    {pn} = int({pn})")
            continue
        head.append(f"    {pn} = np.asarray({pn}, dtype=float)")
        shape = (p.shape[1],) if is_row(p.shape) else p.shape
        axes = f"{len(shape)} {'axis' if len(shape) == 1 else 'axes'}"
        head.append(f"    assert {pn}.ndim == {len(shape)}, "
                    f"f\"{p.name} must have {axes}, got shape {{{pn}.shape}}\"")
        for axis, d in enumerate(shape):
            if isinstance(d, str) and "·" not in d and d not in bound:  # m·n: checked below
                head.append(f"    _{d} = {pn}.shape[{axis}]")
                bound.add(d)
        if shape:
            want = _shape_text(shape)
            line = (f"    assert {pn}.shape == {shape_code(shape)}, "
                    f"f\"{p.name}: expected shape {want}, got {{{pn}.shape}}\"")
            late = {q for d in shape for q in str(d).split("·") if not q.isdigit()} - bound
            (checks if late else head).append(line)
    free = sorted(need - bound)  # sizes no argument carries (``sum(vector(1))``): ask for them
    if free:
        head[0] = head[0][:-2] + (", " if params else "") + "*, " + ", ".join(
            f"dim_{d}" for d in free) + "):"
        head += [f"    _{d} = int(dim_{d})" for d in free]
    head += checks
    body = [f"    {line}" for line in em.lines]
    body += [f"    {out} = {code}" for out, code in results]
    body += [f"    {line}" for line in (epilogue or [])]
    outs = [out for out, _ in bodies]
    body.append(f"    return {', '.join(outs)}")
    helpers = "\n\n".join(HELPERS[h] for h in sorted(em.helpers))
    parts = ["import numpy as np", "", ""] + ([helpers, ""] if helpers else []) + head + body
    return "\n".join(parts) + "\n"


def _derivative_parts(d, with_value: bool):
    """The bodies, parameters and extra dimensions of a derivative's generated function."""
    bodies = ([("_value", d.of)] if with_value else []) + [("_deriv", d.numeric_expr)]
    dims = {p for s in d.shape for p in str(s).split("·") if not p.isdigit()}
    used = set().union(*(e.free_vars for _, e in bodies))
    params = []
    for v in _ordered_vars(d.base):
        if v in used or ({str(x) for x in v.shape} & (dims | _all_dims(bodies))):
            params.append(v)
    params = _minimal(params, used, dims | _all_dims(bodies))
    return bodies, params, dims


def derivative_parameters(d, with_value: bool = True) -> dict[str, str]:
    """Python parameter name -> variable name, for the function :func:`derivative_source`
    generates (``Derivative.evaluate`` passes values by variable name)."""
    bodies, params, _ = _derivative_parts(d, with_value)
    py = python_names(params + [v for _, e in bodies for v in e.free_vars])
    return {py[p.name]: p.name for p in params}


def derivative_source(d, with_value: bool = True, name: str | None = None) -> str:
    """Source for ``Derivative.numpy_source`` (see the module doc)."""
    name = name or ("f_and_df" if with_value else "df")
    bodies, params, dims = _derivative_parts(d, with_value)
    layout_shape = d.shape
    epilogue = []
    if with_value and d.parent is not None and d.parent.form != "matrix":
        # the value is the previous derivative: its tensor, not its vec-form matrix
        epilogue.append(f"_value = np.asarray(_value).reshape({shape_code(d.out_shape)}"
                        ", order='F')")
    if d.form in ("vec", "index"):
        epilogue.append(f"_deriv = np.asarray(_deriv).reshape({shape_code(layout_shape)}"
                        ", order='F')")
    doc = (f"{'Value and derivative' if with_value else 'Derivative'} of {d.of} with respect to "
           f"{d.wrt.name}.\n\n    Layout: {d.layout}; derivative shape {_shape_text(layout_shape)}"
           f"{' (reshaped from vec form)' if d.form != 'matrix' else ''}. "
           "Generated by tensorcalc.symbolic.\n    ")
    return function_source(name, params, bodies, doc, epilogue, dims, _adj_guards(d))


def _nodes(e: Expr) -> set:
    seen, stack = set(), [e]
    while stack:
        n = stack.pop()
        if n not in seen:
            seen.add(n)
            stack.extend(n.args)
    return seen


def _adj_guards(d) -> list[tuple[Expr, str]]:
    """The arguments M of ``adj`` in the function whose derivative formula still goes through
    inv(M) (the adjugate's derivative for a symbolic size): it divides by det M, so a
    numerically singular M must raise, not print garbage. adj's value needs no guard."""
    used = _nodes(d.numeric_expr)
    return [(n.args[0], f"adj({n.args[0]})") for n in _nodes(d.of)
            if isinstance(n, Adj) and is_matrix(n.args[0].shape) and Inv(n.args[0]) in used]


def _shape_text(shape: tuple) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _all_dims(bodies) -> set:
    return set().union(*(_dims_of(e) for _, e in bodies))


def _minimal(params: list[Var], used: set, dims: set) -> list[Var]:
    """Used variables plus the fewest extra ones that bind the remaining dimensions."""
    out = [p for p in params if p in used]
    bound = {str(d) for p in out for d in p.shape}
    for p in params:
        if p not in out and ({str(d) for d in p.shape} & (dims - bound)):
            out.append(p)
            bound |= {str(d) for d in p.shape}
    return sorted(out, key=params.index)


def compile_source(source: str, name: str):
    """exec our generated source in a fresh namespace and return the function ``name``."""
    import numpy as np

    namespace: dict = {"np": np, "__name__": "tensorcalc_generated"}
    exec(compile(source, f"<tensorcalc:{name}>", "exec"), namespace)  # noqa: S102 (our code)
    return namespace[name]


from . import numpy_language as _numpy_language  # noqa: E402, F401 (the wider language)
