"""Numeric evaluation of the wider language's nodes, and values for integer symbols.

Each rule takes (node, values of its children, scope) like those in ``numeric``. ``expm`` and
its Fréchet derivative use SciPy (``scipy.linalg.expm``); the Fréchet derivative is the
top-right block of expm([[A, E], [0, A]]) and dexpm(A) the top-right block of
expm([[I ⊗ A, I], [0, Aᵀ ⊗ I]]) (Higham, *Functions of Matrices*, §3.2). The numeric engine
has no expm, so ``check()`` falls back to central differences there.
"""

from __future__ import annotations

import numpy as np

from .errors import UnsupportedExpression
from .language import (
    ALL,
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
    is_integer_symbol,
)
from .numeric import _eval_node, _Scope, concrete, dim_value


def _numpy_only(s: _Scope, what: str) -> None:
    if s.xp is not np:
        raise AttributeError(f"the numeric engine has no {what}")


def _key(n: Index, spec: tuple, value_of) -> object:
    if spec == ALL:
        return slice(None)
    if spec[0] == "span":
        return slice(spec[1], spec[2])
    if spec[0] == "at":
        return spec[1]
    return int(value_of(n.symbol(spec)))


@_eval_node.register
def eval_index(n: Index, args: list, s: _Scope):
    syms = dict(zip(n.args[1:], args[1:], strict=True))
    key = tuple(_key(n, spec, syms.__getitem__) for spec in n.spec)
    return args[0][key if len(key) > 1 else key[0]]


@_eval_node.register
def eval_maximum(n: Maximum, args: list, s: _Scope):
    return (s.xp.maximum if n.kind == "max" else s.xp.minimum)(args[0], args[1])


@_eval_node.register
def eval_extremum(n: Extremum, args: list, s: _Scope):
    return (s.xp.max if n.kind == "max" else s.xp.min)(args[0])


@_eval_node.register
def eval_extremum_weights(n: ExtremumWeights, args: list, s: _Scope):
    a = np.asarray(args[0], dtype=float)
    hit = (a == (a.max() if n.kind == "max" else a.min())).astype(float)
    return hit / hit.sum()


@_eval_node.register
def eval_softmax_axis(n: SoftmaxAxis, args: list, s: _Scope):
    ex = s.xp.exp(args[0])
    return s.xp.divide(ex, s.xp.sum(ex, axis=n.axis, keepdims=True))


@_eval_node.register
def eval_logsumexp_axis(n: LogSumExpAxis, args: list, s: _Scope):
    return s.xp.log(s.xp.sum(s.xp.exp(args[0]), axis=n.axis))


@_eval_node.register
def eval_power_expr(n: PowerExpr, args: list, s: _Scope):
    return s.xp.power(args[0], args[1])


@_eval_node.register
def eval_matpow_sym(n: MatPowSym, args: list, s: _Scope):
    k = int(round(float(args[1])))
    if k < 0:
        raise ValueError(f"{n}: the exponent is {k}; X^k needs k >= 0")
    out = s.xp.eye(args[0].shape[0]) if k == 0 else args[0]
    for _ in range(k - 1):
        out = s.xp.matmul(out, args[0])
    return out


@_eval_node.register
def eval_power_series(n: PowerSeries, args: list, s: _Scope):
    _numpy_only(s, "power series")
    x, k, e = args[0], int(round(float(args[1]))), args[2]
    powers = [np.linalg.matrix_power(x, r) for r in range(k)]
    return sum(powers[r] @ e @ powers[k - 1 - r] for r in range(k))


def expm(a):
    from scipy.linalg import expm as scipy_expm

    return scipy_expm(np.asarray(a, dtype=float))


def expm_frechet(a, e):
    a, e = np.asarray(a, dtype=float), np.asarray(e, dtype=float)
    n = a.shape[0]
    block = np.block([[a, e], [np.zeros_like(a), a]])
    return expm(block)[:n, n:]


def dexpm(a):
    a = np.asarray(a, dtype=float)
    n = a.shape[0]
    eye = np.eye(n)
    zero = np.zeros((n * n, n * n))
    big = np.block([[np.kron(eye, a), np.eye(n * n)], [zero, np.kron(a.T, eye)]])
    return expm(big)[: n * n, n * n:]


@_eval_node.register
def eval_expm(n: Expm, args: list, s: _Scope):
    _numpy_only(s, "expm")
    return expm(args[0])


@_eval_node.register
def eval_expm_frechet(n: ExpmFrechet, args: list, s: _Scope):
    _numpy_only(s, "expm_frechet")
    return expm_frechet(args[0], args[1])


@_eval_node.register
def eval_expm_jacobian(n: ExpmJacobian, args: list, s: _Scope):
    _numpy_only(s, "dexpm")
    return dexpm(args[0])


@_eval_node.register
def eval_unvec(n: Unvec, args: list, s: _Scope):
    m, k = dim_value(n.m, s.dims), dim_value(n.n, s.dims)
    return s.xp.transpose(s.xp.reshape(args[0], (k, m)))


@_eval_node.register
def eval_expectation(n: Expectation, args: list, s: _Scope):
    raise UnsupportedExpression(f"{n} was not expanded; build expectations with parse()")


def integer_values(e, dims: dict) -> dict:
    """Values for the integer symbols of ``e``: the last valid position for an index (so
    that the check does not always look at entry 0), 3 for an exponent."""
    out: dict = {}
    stack, seen = [e], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if isinstance(node, Index):
            shape = concrete(node.target.shape, dims)
            lengths = [shape[0]] if len(shape) == 1 else list(shape)
            for spec, length in zip(node.spec, lengths, strict=True):
                if spec[0] == "sym":
                    name = node.symbol(spec).name
                    out[name] = min(out.get(name, length - 1), length - 1)
        stack.extend(node.args)
    for v in e.free_vars:
        if is_integer_symbol(v) and v.name not in out:
            out[v.name] = 3
    return out
