"""Numeric evaluation of expressions and the numeric check of symbolic derivatives.

``evaluate_expr`` interprets an expression with a NumPy-like namespace ``xp``: plain NumPy for
central differences, ``tensorcalc.numpy`` when the numeric engine differentiates it. Row vectors
are 1-D arrays, like column vectors; products decide between ``@``, scaling and outer products
from the symbolic shapes.

``check_derivative`` compares ``Derivative.evaluate`` (the generated NumPy code) on random inputs
with an independent reference:

* ``"engine"``: ``tensorcalc.jacobian`` (numerator layout, nested for higher orders) applied to
  the original function built from ``tensorcalc.numpy`` ops;
* ``"central-difference"``: central differences of the function one order down, used when the
  engine is missing or lacks an op (reported in ``report.method`` and ``report.note``);
* ``"generated"``: central differences of the generated NumPy code for the function one order
  down (``Derivative.compile``), which checks the code a user copies as well.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import singledispatch

import numpy as np

from .errors import DerivativeMismatch, UnsupportedExpression
from .expr import (
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
    Kron,
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
from .shapes import as_matrix, from_matrix, is_matrix, is_row, is_scalar, is_vector

SIZES = (5, 4, 3, 6, 2, 7)  # first dimension largest: tall matrices keep full column rank


def dim_value(d: object, dims: dict) -> int:
    if isinstance(d, int):
        return d
    out = 1
    for part in str(d).split("·"):
        out *= int(part) if part.isdigit() else dims[part]
    return out


def concrete(shape: tuple, dims: dict) -> tuple:
    """The NumPy shape of a symbolic shape (rows are 1-D)."""
    if is_row(shape):
        return (dim_value(shape[1], dims),)
    return tuple(dim_value(d, dims) for d in shape)


def commutation_matrix(m: int, n: int) -> np.ndarray:
    """K with K vec(X) = vec(Xᵀ) for X of shape m×n (column-major vec)."""
    K = np.zeros((m * n, m * n))
    for i, j in itertools.product(range(m), range(n)):
        K[i * n + j, j * m + i] = 1.0
    return K


def diag_embed_matrix(n: int) -> np.ndarray:
    E = np.zeros((n * n, n))
    for i in range(n):
        E[i * n + i, i] = 1.0
    return E


def _product(xp, a, sa: tuple, b, sb: tuple):
    if is_scalar(sa) or is_scalar(sb):
        return xp.multiply(a, b)
    if is_vector(sa) and is_row(sb):
        return xp.multiply(xp.reshape(a, (-1, 1)), xp.reshape(b, (1, -1)))
    return xp.matmul(a, b)


def evaluate_expr(e: Expr, env: dict, dims: dict, xp=np):
    """Value of ``e`` with variables from ``env`` (name → array) and sizes from ``dims``."""
    memo: dict[Expr, object] = {}
    scope = _Scope(env, dims, xp)

    def ev(n: Expr):
        if n in memo:
            return memo[n]
        out = _eval_node(n, [ev(a) for a in n.args], scope)
        memo[n] = out
        return out

    return ev(e)


class _Scope:
    """What an evaluation rule reads besides the node and its children's values."""

    __slots__ = ("env", "dims", "xp")

    def __init__(self, env: dict, dims: dict, xp):
        self.env, self.dims, self.xp = env, dims, xp


# One rule per node type: (node, values of its children, scope) -> value.
@singledispatch
def _eval_node(n: Expr, args: list, s: _Scope):
    raise UnsupportedExpression(f"cannot evaluate {type(n).__name__}")


@_eval_node.register
def eval_var(n: Var, args: list, s: _Scope):
    return s.env[n.name]


@_eval_node.register
def eval_const(n: Const, args: list, s: _Scope):
    return float(n.value)


@_eval_node.register
def eval_fill(n: Fill, args: list, s: _Scope):
    return np.full(concrete(n.shape, s.dims), float(n.value))


@_eval_node.register
def eval_identity(n: Identity, args: list, s: _Scope):
    return np.eye(dim_value(n.n, s.dims))


@_eval_node.register
def eval_zero(n: Zero, args: list, s: _Scope):
    return np.zeros(concrete(n.shape, s.dims)) if n.shape else 0.0


@_eval_node.register
def eval_commutation(n: Commutation, args: list, s: _Scope):
    return commutation_matrix(dim_value(n.m, s.dims), dim_value(n.n, s.dims))


@_eval_node.register
def eval_diag_embed(n: DiagEmbed, args: list, s: _Scope):
    return diag_embed_matrix(dim_value(n.n, s.dims))


@_eval_node.register
def eval_add(n: Add, args: list, s: _Scope):
    out = args[0]
    for b in args[1:]:
        out = s.xp.add(out, b)
    return out


@_eval_node.register
def eval_mul(n: Mul, args: list, s: _Scope):
    """Left to right; each step is a scaling, an outer or a matrix product by the shapes."""
    out, shape = args[0], n.args[0].shape
    for b, arg in zip(args[1:], n.args[1:], strict=True):
        out = _product(s.xp, out, shape, b, arg.shape)
        r = as_matrix(shape)[0] if not is_scalar(shape) else None
        shape = arg.shape if is_scalar(shape) else (
            shape if is_scalar(arg.shape) else from_matrix(r, as_matrix(arg.shape)[1]))
    return out


@_eval_node.register
def eval_hadamard(n: Hadamard, args: list, s: _Scope):
    out = args[0]
    for b in args[1:]:
        out = s.xp.multiply(out, b)
    return out


@_eval_node.register
def eval_transpose(n: Transpose, args: list, s: _Scope):
    return s.xp.transpose(args[0]) if is_matrix(n.args[0].shape) else args[0]


@_eval_node.register
def eval_pow(n: Pow, args: list, s: _Scope):
    a, p = args[0], float(n.exponent)
    if p == -1:
        return s.xp.divide(1.0, a)
    if p == 0.5:
        return s.xp.sqrt(a)
    return s.xp.power(a, p)


@_eval_node.register
def eval_matpow(n: MatPow, args: list, s: _Scope):
    out = a = args[0]
    for _ in range(n.k - 1):
        out = s.xp.matmul(out, a)
    return out


@_eval_node.register
def eval_func(n: Func, args: list, s: _Scope):
    return _func(n.name, args[0], s.xp)


@_eval_node.register
def eval_sum(n: Sum, args: list, s: _Scope):
    return s.xp.sum(args[0])


@_eval_node.register
def eval_trace(n: Trace, args: list, s: _Scope):
    return s.xp.trace(args[0]) if is_matrix(n.args[0].shape) else args[0]


@_eval_node.register
def eval_det(n: Det, args: list, s: _Scope):
    return s.xp.linalg.det(args[0]) if is_matrix(n.args[0].shape) else args[0]


@_eval_node.register
def eval_logdet(n: LogDet, args: list, s: _Scope):
    a = args[0]
    return s.xp.linalg.slogdet(a)[1] if is_matrix(n.args[0].shape) else s.xp.log(a)


@_eval_node.register
def eval_inv(n: Inv, args: list, s: _Scope):
    return s.xp.linalg.inv(args[0])


@_eval_node.register
def eval_adj(n: Adj, args: list, s: _Scope):
    if s.xp is np and is_matrix(n.args[0].shape):
        return adjugate(args[0])
    return s.xp.multiply(s.xp.linalg.det(args[0]), s.xp.linalg.inv(args[0]))


def adjugate(a: np.ndarray) -> np.ndarray:
    """adj(A) through the SVD A = U S Vᵀ: det(U) det(V) V diag(Π_{j≠i} s_j) Uᵀ, no inverse, so
    exact at singular A as well."""
    u, s, vt = np.linalg.svd(np.asarray(a, dtype=float))
    left = np.concatenate(([1.0], np.cumprod(s[:-1])))
    right = np.concatenate((np.cumprod(s[::-1][:-1])[::-1], [1.0]))
    return np.linalg.det(u) * np.linalg.det(vt) * (vt.T * (left * right)) @ u.T


@_eval_node.register
def eval_diag(n: Diag, args: list, s: _Scope):
    return s.xp.diag(args[0])


@_eval_node.register
def eval_norm1(n: Norm1, args: list, s: _Scope):
    return s.xp.sum(s.xp.abs(args[0]))


@_eval_node.register
def eval_norm2(n: Norm2, args: list, s: _Scope):
    return s.xp.sqrt(s.xp.sum(s.xp.multiply(args[0], args[0])))


@_eval_node.register
def eval_softmax(n: Softmax, args: list, s: _Scope):
    ex = s.xp.exp(args[0])
    return s.xp.divide(ex, s.xp.sum(ex))


@_eval_node.register
def eval_logsumexp(n: LogSumExp, args: list, s: _Scope):
    return s.xp.log(s.xp.sum(s.xp.exp(args[0])))


@_eval_node.register
def eval_vec(n: Vec, args: list, s: _Scope):
    """Column-major: vec of a matrix is the row-major ravel of its transpose."""
    a = args[0]
    return s.xp.reshape(s.xp.transpose(a), (-1,)) if is_matrix(n.args[0].shape) else a


@_eval_node.register
def eval_kron(n: Kron, args: list, s: _Scope):
    """``np.kron`` on the matrix readings of the operands, reshaped back to the node's shape."""
    ma = s.xp.reshape(args[0], as_shape2(n.args[0].shape, s.dims))
    mb = s.xp.reshape(args[1], as_shape2(n.args[1].shape, s.dims))
    return s.xp.reshape(s.xp.kron(ma, mb), concrete(n.shape, s.dims))


def as_shape2(shape: tuple, dims: dict) -> tuple:
    r, c = as_matrix(shape)
    return (dim_value(r, dims), dim_value(c, dims))


def _func(name: str, a, xp):
    if name == "relu":
        return xp.maximum(a, 0.0)
    if name == "sigmoid":  # tanh form: no overflow for large |a|
        return xp.multiply(0.5, xp.add(1.0, xp.tanh(xp.multiply(0.5, a))))
    if name == "step":
        return xp.where(np.asarray(a) > 0, 1.0, 0.0)
    if name == "softplus":
        return xp.logaddexp(0.0, a)
    return getattr(xp, name)(a)


# ------------------------------------------------------------------------------ random data


def bind_dims(variables, rng: np.random.Generator | None = None, extra: Expr | None = None) -> dict:
    """Sizes for the symbolic dimensions of the variables (and of the leaves of ``extra``)."""
    names: list[str] = []
    shapes = [v.shape for v in variables]
    if extra is not None:
        stack = [extra]
        while stack:
            n = stack.pop()
            shapes.append(n.shape)
            stack.extend(n.args)
    for shape in shapes:
        for d in shape:
            for part in str(d).split("·"):
                if not part.isdigit() and part not in names:
                    names.append(part)
    return {d: SIZES[i % len(SIZES)] for i, d in enumerate(names)}


def random_inputs(variables, dims: dict, rng: np.random.Generator, positive: bool) -> dict:
    """Random values: square matrices are shifted by n·I (invertible, positive determinant)."""
    env = {}
    for v in sorted(variables, key=lambda v: v.name):
        shape = concrete(v.shape, dims)
        if not shape:
            env[v.name] = float(rng.uniform(0.5, 1.5))
            continue
        lo, hi = (0.5, 1.5) if positive else (-1.0, 1.0)
        x = rng.uniform(lo, hi, shape)
        x[np.abs(x) < 0.1] += 0.2  # stay away from kinks of abs/relu/sign at 0
        if len(shape) == 2 and shape[0] == shape[1]:
            if positive:
                x = rng.uniform(0.1, 0.5, shape)
            x = x + shape[0] * np.eye(shape[0])
            if v.structure == "symmetric":
                x = (x + x.T) / 2
            elif v.structure == "diagonal":
                x = np.diag(np.diag(x))
        env[v.name] = x
    return env


# ------------------------------------------------------------------------------ the check


@dataclass
class CheckReport:
    """Outcome of ``Derivative.check``."""

    passed: bool
    method: str  # "engine" or "central-difference"
    max_abs_error: float
    max_rel_error: float
    trials: int
    layout: str
    note: str = ""
    errors: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.passed

    @property
    def max_error(self) -> float:
        """Largest absolute difference (alias of ``max_abs_error``)."""
        return self.max_abs_error

    def __str__(self) -> str:
        status = "OK" if self.passed else "MISMATCH"
        text = (f"{status}: max abs error {self.max_abs_error:.3g}, max rel error "
                f"{self.max_rel_error:.3g} over {self.trials} trials ({self.method}, layout "
                f"{self.layout})")
        return text + (f"; {self.note}" if self.note else "")


def _engine_errors() -> tuple:
    errs: list = [AttributeError, NotImplementedError, ImportError, TypeError]
    try:
        import tensorcalc

        missing = getattr(tensorcalc, "MissingRuleError", None)
        if isinstance(missing, type):
            errs.append(missing)
    except ImportError:
        pass
    return tuple(errs)


def _to_layout(ref: np.ndarray, d, dims: dict) -> np.ndarray:
    """A numerator-layout array of one stage into the layout of ``d``."""
    if d.layout != "denominator":
        return ref
    out_nd = len(concrete(d.out_shape, dims))
    axes = list(range(out_nd, ref.ndim)) + list(range(out_nd))
    return np.transpose(ref, axes)


def _project(G: np.ndarray, d) -> np.ndarray:
    """Apply the symmetric/diagonal convention to the last two (input) axes of a numeric
    numerator-layout derivative taken over independent entries."""
    s = d.wrt.structure
    if s is None:
        return G
    eye = np.eye(G.shape[-1])
    Gt = np.swapaxes(G, -1, -2)
    if s == "diagonal":
        return G * eye
    if d.symmetric_convention == "frobenius":
        return (G + Gt) / 2
    return G + Gt - G * eye


def central_jacobian(fn, x: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Numerator-layout Jacobian of fn at x by central differences."""
    x = np.asarray(x, dtype=float)
    f0 = np.asarray(fn(x))
    J = np.zeros(f0.shape + x.shape)
    for idx in np.ndindex(*x.shape) if x.shape else [()]:
        step = h * max(1.0, abs(float(x[idx])))
        xp_, xm = x.copy(), x.copy()
        xp_[idx] += step
        xm[idx] -= step
        J[(...,) + tuple(idx)] = (np.asarray(fn(xp_)) - np.asarray(fn(xm))) / (2 * step)
    return J


def _central_reference(d, env: dict, dims: dict) -> np.ndarray:
    name = d.wrt.name

    out = concrete(d.out_shape, dims)

    def fn(value):
        local = dict(env)
        local[name] = value
        # a nested stage differentiates the previous derivative tensor, not its vec-form matrix
        return np.reshape(np.asarray(evaluate_expr(d.of, local, dims)), out, order="F")

    ref = central_jacobian(fn, env[name])
    return _to_layout(_project(ref, d), d, dims)


def _generated_reference(d, env: dict, dims: dict) -> np.ndarray:
    """Central differences of the generated NumPy code for the function (``d.compile``'s
    value), so that the check covers the code users copy, not only the expression."""
    from .printing.numpy_source import derivative_parameters

    fn = d.compile(with_value=True)
    code = fn.__code__
    params = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    names = derivative_parameters(d, with_value=True)
    name = d.wrt.name

    def value(x):
        local = dict(env)
        local[name] = x
        args = {p: dims[p[4:]] if p.startswith("dim_") and p not in names else local[names[p]]
                for p in params}
        return np.asarray(fn(**args)[0], dtype=float)

    ref = central_jacobian(value, env[name])
    return _to_layout(_project(ref, d), d, dims)


def _engine_reference(d, env: dict, dims: dict) -> np.ndarray:
    import tensorcalc
    import tensorcalc.numpy as tnp

    chain = d.wrt_chain
    stages = []
    node = d
    while node is not None:
        stages.append(node)
        node = node.parent
    if any(s.layout == "denominator" and not is_scalar(s.of.shape) for s in stages):
        raise NotImplementedError("engine reference only for numerator layouts")
    if any(s.wrt.structure for s in stages) and len(stages) > 1:
        raise NotImplementedError("structured variables at order > 1")
    names = sorted(env)
    base = d.base

    def f(*arrays):
        return evaluate_expr(base, dict(zip(names, arrays, strict=True)), dims, xp=tnp)

    jacobian = getattr(tensorcalc, "jacobian", None)
    if jacobian is None:  # exported from the package root once the engine lands there
        from tensorcalc.transforms import jacobian
    fn = f
    for v in chain:
        fn = jacobian(fn, argnums=names.index(v.name))
    ref = np.asarray(fn(*[env[k] for k in names]), dtype=float)
    return _project(ref, d)


def check_derivative(d, trials: int = 3, seed: int = 0, rtol: float = 1e-5,
                     atol: float = 1e-6, method: str = "auto") -> CheckReport:
    """See ``Derivative.check``; raises ``DerivativeMismatch`` when the check fails."""
    variables = d.base.free_vars
    dims = bind_dims(sorted(variables, key=lambda v: str(d.base).find(v.name)), extra=d.base)
    if method not in ("auto", "engine", "central-difference", "generated"):
        raise ValueError(f"check: method must be 'auto', 'engine', 'central-difference' or "
                         f"'generated', got {method!r}")
    errors: list = []
    used = "engine" if method in ("auto", "engine") else method
    note = ""
    rng = np.random.default_rng(seed)
    for _ in range(trials):
        env = None
        for positive in (False, True):
            env = random_inputs(variables, dims, rng, positive)
            env.update(integer_values(d.base, dims))
            with np.errstate(all="ignore"):
                val = np.asarray(evaluate_expr(d.base, env, dims), dtype=float)
            if np.all(np.isfinite(val)):
                break
        else:
            raise ValueError(f"could not find inputs where {d.base} is finite")
        got = np.asarray(d.evaluate(**env, **{f"dim_{k}": v for k, v in dims.items()}),
                         dtype=float)
        ref = None
        if used == "engine":
            try:
                ref = _engine_reference(d, env, dims)
            except _engine_errors() as err:
                if method == "engine":
                    raise
                used = "central-difference"
                note = ("numeric engine unavailable for this expression "
                        f"({type(err).__name__}: {err})")
        if ref is None:
            ref = (_generated_reference if used == "generated" else _central_reference)(
                d, env, dims)
        if got.shape != ref.shape:
            raise DerivativeMismatch(
                f"shape mismatch: symbolic {got.shape} vs numeric {ref.shape}", None)
        abs_err = float(np.max(np.abs(got - ref))) if got.size else 0.0
        scale = max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
        errors.append((abs_err, abs_err / scale))
    if used in ("central-difference", "generated") and d.parent is not None:
        parent_report = d.parent.check(trials=trials, seed=seed, rtol=rtol, atol=atol,
                                       method=used)
        errors.extend(parent_report.errors)
        note = (note + "; " if note else "") + "each order checked against the one below"
    max_abs = max(e[0] for e in errors)
    max_rel = max(e[1] for e in errors)
    tol_rel = rtol if used == "engine" else max(rtol, 1e-5)
    passed = max_rel <= tol_rel or max_abs <= atol
    report = CheckReport(passed, used, max_abs, max_rel, trials, d.layout, note, errors)
    if not passed:
        raise DerivativeMismatch(f"derivative of {d.of} w.r.t. {d.wrt.name} disagrees: {report}",
                                 report)
    return report


from .numeric_language import integer_values  # noqa: E402 (registers the wider language)
