"""NumPy source for the wider language's nodes (``symbolic/language.py``).

Indexing is NumPy indexing (``x[i]``, ``X[i, :]``, ``X[0:2, j]``); max/min are
``np.maximum``/``np.max``; the axis-wise softmax and log-sum-exp subtract the maximum first;
``expm`` and its Fréchet derivative call ``scipy.linalg.expm`` (the derivative as the top-right
block of expm([[A, E], [0, A]])), imported inside the helper so that only code that needs it
needs SciPy.
"""

from __future__ import annotations

from tensorcalc.symbolic.expr import Kron, Vec
from tensorcalc.symbolic.language import (
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
)
from tensorcalc.symbolic.shapes import is_row, is_vector

from .numpy_helpers import HELPERS
from .numpy_source import _code, _Emitter, dim_code

HELPERS.update({
    "_extremum_weights": (
        "def _extremum_weights(a, largest):\n"
        "    # tied extrema share the subgradient equally (1/k on each of k)\n"
        "    hit = (a == (np.max(a) if largest else np.min(a))) * 1.0\n"
        "    return hit / np.sum(hit)\n"
    ),
    "_softmax_axis": (
        "def _softmax_axis(z, axis):\n"
        "    e = np.exp(z - np.max(z, axis=axis, keepdims=True))\n"
        "    return e / np.sum(e, axis=axis, keepdims=True)\n"
    ),
    "_logsumexp_axis": (
        "def _logsumexp_axis(z, axis):\n"
        "    m = np.max(z, axis=axis, keepdims=True)\n"
        "    return np.sum(m, axis=axis) + np.log(np.sum(np.exp(z - m), axis=axis))\n"
    ),
    "_power_series": (
        "def _power_series(x, k, e):\n"
        "    # sum over r < k of x^r e x^(k-1-r): the differential of x^k in the direction e\n"
        "    p = [np.linalg.matrix_power(x, r) for r in range(k)]\n"
        "    return sum(p[r] @ e @ p[k - 1 - r] for r in range(k))\n"
    ),
    "_expm": (
        "def _expm(a):\n"
        "    from scipy.linalg import expm\n"
        "    return expm(a)\n"
    ),
    "_expm_frechet": (
        "def _expm_frechet(a, e):\n"
        "    # the top-right block of expm([[a, e], [0, a]]) is the Frechet derivative L(a, e)\n"
        "    from scipy.linalg import expm\n"
        "    n = a.shape[0]\n"
        "    z = np.zeros((n, n))\n"
        "    return expm(np.block([[a, e], [z, a]]))[:n, n:]\n"
    ),
    "_dexpm": (
        "def _dexpm(a):\n"
        "    # vec(L(a, e)) = _dexpm(a) @ vec(e): the top-right block of\n"
        "    # expm([[I (x) a, I], [0, a.T (x) I]])\n"
        "    from scipy.linalg import expm\n"
        "    n = a.shape[0]\n"
        "    i, z = np.eye(n * n), np.zeros((n * n, n * n))\n"
        "    big = np.block([[np.kron(np.eye(n), a), i], [z, np.kron(a.T, np.eye(n))]])\n"
        "    return expm(big)[:n * n, n * n:]\n"
    ),
})


def _key(e: Index, spec: tuple, em: _Emitter) -> str:
    if spec == ALL:
        return ":"
    if spec[0] == "span":
        return f"{spec[1]}:{spec[2]}"
    if spec[0] == "at":
        return str(spec[1])
    return em.code(e.symbol(spec))


@_code.register
def numpy_index(e: Index, em: _Emitter) -> str:
    return f"{em.code(e.target)}[{', '.join(_key(e, s, em) for s in e.spec)}]"


@_code.register
def numpy_maximum(e: Maximum, em: _Emitter) -> str:
    fn = "np.maximum" if e.kind == "max" else "np.minimum"
    return f"{fn}({em.code(e.args[0])}, {em.code(e.args[1])})"


@_code.register
def numpy_extremum(e: Extremum, em: _Emitter) -> str:
    return f"np.{e.kind}({em.code(e.args[0])})"


@_code.register
def numpy_extremum_weights(e: ExtremumWeights, em: _Emitter) -> str:
    return f"{em.helper('_extremum_weights')}({em.code(e.args[0])}, {e.kind == 'max'})"


@_code.register
def numpy_softmax_axis(e: SoftmaxAxis, em: _Emitter) -> str:
    return f"{em.helper('_softmax_axis')}({em.code(e.args[0])}, {e.axis})"


@_code.register
def numpy_logsumexp_axis(e: LogSumExpAxis, em: _Emitter) -> str:
    return f"{em.helper('_logsumexp_axis')}({em.code(e.args[0])}, {e.axis})"


@_code.register
def numpy_power_expr(e: PowerExpr, em: _Emitter) -> str:
    return f"np.power({em.code(e.args[0])}, {em.code(e.args[1])})"


@_code.register
def numpy_matpow_sym(e: MatPowSym, em: _Emitter) -> str:
    return f"np.linalg.matrix_power({em.code(e.args[0])}, int({em.code(e.args[1])}))"


@_code.register
def numpy_power_series(e: PowerSeries, em: _Emitter) -> str:
    x, k, d = (em.code(a) for a in e.args)
    return f"{em.helper('_power_series')}({x}, int({k}), {d})"


@_code.register
def numpy_expm(e: Expm, em: _Emitter) -> str:
    return f"{em.helper('_expm')}({em.code(e.args[0])})"


@_code.register
def numpy_expm_frechet(e: ExpmFrechet, em: _Emitter) -> str:
    return f"{em.helper('_expm_frechet')}({em.code(e.args[0])}, {em.code(e.args[1])})"


@_code.register
def numpy_expm_jacobian(e: ExpmJacobian, em: _Emitter) -> str:
    return f"{em.helper('_dexpm')}({em.code(e.args[0])})"


@_code.register
def numpy_unvec(e: Unvec, em: _Emitter) -> str:
    # column-major reshape to m×n, written as a row-major reshape to n×m, transposed
    return f"{em.code(e.args[0])}.reshape(({dim_code(e.n)}, {dim_code(e.m)})).T"


@_code.register
def numpy_expectation(e: Expectation, em: _Emitter) -> str:
    raise TypeError(f"{e} was not expanded; build expectations with parse()")


# ------------------------------------------------------------- Kronecker products and vec

@_code.register
def numpy_vec(e: Vec, em: _Emitter) -> str:
    return f"{em.code(e.args[0])}.T.reshape(-1)"  # column-major; the same text in torch, jax


def _as2d(code: str, shape: tuple) -> str:
    if is_vector(shape):
        return f"{code}[:, None]"
    if is_row(shape):
        return f"{code}[None, :]"
    return code


@_code.register
def numpy_kron(e: Kron, em: _Emitter) -> str:
    """Vectors enter ``np.kron`` as columns or rows; a vector result is flattened back."""
    a, b = e.args
    out = f"np.kron({_as2d(em.code(a), a.shape)}, {_as2d(em.code(b), b.shape)})"
    return f"{out}.reshape(-1)" if is_vector(e.shape) or is_row(e.shape) else out
