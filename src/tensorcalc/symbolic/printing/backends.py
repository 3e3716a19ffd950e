"""PyTorch and JAX versions of the generated NumPy source.

The NumPy printer's output is made of a small, fixed set of calls (``np.<name>(...)``, the
helpers of ``numpy_helpers`` and ``numpy_language``, ``.T``, ``@``, indexing), so each target is a
translation table over those names plus its own versions of the helpers that NumPy writes with
in-place assignment or SciPy:

* ``"torch"``: ``torch.<name>`` in float64 (``torch.as_tensor(x, dtype=torch.float64)``), with
  ``torch.linalg`` for the linear algebra and ``torch.linalg.matrix_exp`` for expm; the result
  is a tensor, so the function can sit inside ``torch.autograd`` or ``torch.compile``.
* ``"jax"``: ``jax.numpy`` (``jnp``) in the default float type (float32 unless
  ``jax_enable_x64`` is set), ``jax.scipy.linalg`` for expm and its Fréchet derivative; pure and
  traceable except the singular-matrix guard of ``adj``, which needs concrete values.

Only text that the NumPy printer generated is translated; an ``np.`` name without a rule raises
``TypeError`` naming it, never passes through unchanged.
"""

from __future__ import annotations

import re

from .numpy_helpers import HELPERS

TARGETS = ("numpy", "torch", "jax")

_ELEMENTWISE = ("exp", "log", "sin", "cos", "tan", "tanh", "sqrt", "abs", "sign", "sinh",
                "cosh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "square")

_TORCH = {n: f"torch.{n}" for n in _ELEMENTWISE + ("outer", "trace", "diag", "sum", "max",
                                                   "min", "arange", "meshgrid")}
_TORCH.update({f"linalg.{n}": f"torch.linalg.{n}" for n in (
    "solve", "inv", "det", "slogdet", "norm", "matrix_power", "cond", "LinAlgError")})
_TORCH.update({"maximum": "_maximum", "minimum": "_minimum", "logaddexp": "_logaddexp",
               "heaviside": "_heaviside", "kron": "_kron", "power": "torch.pow"})
_SHIMS = ("_maximum", "_minimum", "_logaddexp", "_heaviside", "_kron")

_TORCH_HELPERS = {
    "_maximum": "def _maximum(a, b):\n    return torch.maximum(_f64(a), _f64(b))\n",
    "_minimum": "def _minimum(a, b):\n    return torch.minimum(_f64(a), _f64(b))\n",
    "_logaddexp": "def _logaddexp(a, b):\n    return torch.logaddexp(_f64(a), _f64(b))\n",
    "_heaviside": "def _heaviside(a, at0):\n    return torch.heaviside(_f64(a), _f64(at0))\n",
    "_f64": "def _f64(a):\n    return torch.as_tensor(a, dtype=torch.float64)\n",
    "_kron": ("def _kron(a, b):\n    # torch.kron needs contiguous operands (it views them)\n"
              "    return torch.kron(a.contiguous(), b.contiguous())\n"),
    "_commutation": (
        "def _commutation(m, n):\n    # K @ vec(X) == vec(X.T) for X of shape (m, n)\n"
        "    K = torch.zeros((m * n, m * n), dtype=torch.float64)\n"
        "    i, j = torch.meshgrid(torch.arange(m), torch.arange(n), indexing='ij')\n"
        "    K[(i * n + j).reshape(-1), (j * m + i).reshape(-1)] = 1.0\n    return K\n"),
    "_diag_embed": (
        "def _diag_embed(n):\n    E = torch.zeros((n * n, n), dtype=torch.float64)\n"
        "    E[torch.arange(n) * (n + 1), torch.arange(n)] = 1.0\n    return E\n"),
    "_diag_rows": (
        "def _diag_rows(d):\n    n = d.shape[0]\n"
        "    out = torch.zeros((n, n * n), dtype=d.dtype)\n"
        "    out[torch.arange(n), torch.arange(n) * (n + 1)] = d\n    return out\n"),
    "_reshape_f": (
        "def _reshape_f(a, shape):\n    # column-major (Fortran-order) reshape\n"
        "    a = _f64(a)\n    a = a.permute(*reversed(range(a.ndim))).reshape(shape[::-1])\n"
        "    return a.permute(*reversed(range(len(shape))))\n"),
    "_softmax": "def _softmax(z):\n    return torch.softmax(z, dim=0)\n",
    "_extremum_weights": (
        "def _extremum_weights(a, largest):\n"
        "    hit = (a == (torch.max(a) if largest else torch.min(a))).to(a.dtype)\n"
        "    return hit / torch.sum(hit)\n"),
    "_logsumexp": "def _logsumexp(z):\n    return torch.logsumexp(z.reshape(-1), dim=0)\n",
    "_softmax_axis": "def _softmax_axis(z, axis):\n    return torch.softmax(z, dim=axis)\n",
    "_logsumexp_axis": ("def _logsumexp_axis(z, axis):\n"
                        "    return torch.logsumexp(z, dim=axis)\n"),
    "_expm": "def _expm(a):\n    return torch.linalg.matrix_exp(a)\n",
    "_expm_frechet": (
        "def _expm_frechet(a, e):\n    # top-right block of expm([[a, e], [0, a]])\n"
        "    n = a.shape[0]\n    z = torch.zeros((n, n), dtype=a.dtype)\n"
        "    big = torch.cat([torch.cat([a, e], 1), torch.cat([z, a], 1)], 0)\n"
        "    return torch.linalg.matrix_exp(big)[:n, n:]\n"),
    "_dexpm": (
        "def _dexpm(a):\n    n = a.shape[0]\n    i = torch.eye(n * n, dtype=a.dtype)\n"
        "    z = torch.zeros((n * n, n * n), dtype=a.dtype)\n"
        "    e, at = torch.eye(n, dtype=a.dtype), a.T.contiguous()  # kron views its operands\n"
        "    top = torch.cat([torch.kron(e, a.contiguous()), i], 1)\n"
        "    bottom = torch.cat([z, torch.kron(at, e)], 1)\n"
        "    return torch.linalg.matrix_exp(torch.cat([top, bottom], 0))[:n * n, n * n:]\n"),
    "_adjugate": (
        "def _adjugate(a):\n    # adj(A) from the SVD A = U S V': exact at singular A\n"
        "    u, s, vt = torch.linalg.svd(_f64(a))\n    one = torch.ones(1, dtype=s.dtype)\n"
        "    left = torch.cat([one, torch.cumprod(s[:-1], 0)])\n"
        "    right = torch.cat([torch.cumprod(s.flip(0)[:-1], 0).flip(0), one])\n"
        "    sign = torch.linalg.det(u) * torch.linalg.det(vt)\n"
        "    return sign * (vt.T * (left * right)) @ u.T\n"),
    "_nonsingular": (
        "def _nonsingular(a, what):\n    c = float(torch.linalg.cond(a))\n"
        "    if not c * torch.finfo(torch.float64).eps <= 1e-6:\n"
        "        raise torch.linalg.LinAlgError(f'{what}: the matrix is numerically singular '\n"
        "                                       f'(condition number {c:.3g})')\n"
        "    return a\n"),
}

_JAX = {n: f"jnp.{n}" for n in _ELEMENTWISE + (
    "outer", "kron", "trace", "diag", "sum", "max", "min", "arange", "power", "maximum",
    "minimum", "logaddexp", "heaviside", "full", "eye", "zeros", "block", "meshgrid", "finfo")}
_JAX.update({f"linalg.{n}": f"jnp.linalg.{n}" for n in (
    "solve", "inv", "det", "slogdet", "norm", "matrix_power", "cond")})
_JAX["linalg.LinAlgError"] = "np.linalg.LinAlgError"

_JAX_HELPERS = {
    "_reshape_f": "def _reshape_f(a, shape):\n    return jnp.reshape(a, shape, order='F')\n",
    "_commutation": (
        "def _commutation(m, n):\n    # K @ vec(X) == vec(X.T) for X of shape (m, n)\n"
        "    K = np.zeros((m * n, m * n))\n"
        "    i, j = np.meshgrid(np.arange(m), np.arange(n), indexing='ij')\n"
        "    K[(i * n + j).ravel(), (j * m + i).ravel()] = 1.0\n    return jnp.asarray(K)\n"),
    "_diag_embed": (
        "def _diag_embed(n):\n    E = np.zeros((n * n, n))\n"
        "    E[np.arange(n) * (n + 1), np.arange(n)] = 1.0\n    return jnp.asarray(E)\n"),
    "_diag_rows": (
        "def _diag_rows(d):\n    n = d.shape[0]\n"
        "    return jnp.zeros((n, n * n)).at[jnp.arange(n), jnp.arange(n) * (n + 1)].set(d)\n"),
    "_adjugate": (
        "def _adjugate(a):\n    # adj(A) from the SVD A = U S V': exact at singular A\n"
        "    u, s, vt = jnp.linalg.svd(a)\n    one = jnp.ones(1, dtype=s.dtype)\n"
        "    left = jnp.concatenate([one, jnp.cumprod(s[:-1])])\n"
        "    right = jnp.concatenate([jnp.cumprod(s[::-1][:-1])[::-1], one])\n"
        "    sign = jnp.linalg.det(u) * jnp.linalg.det(vt)\n"
        "    return sign * (vt.T * (left * right)) @ u.T\n"),
    "_expm": "def _expm(a):\n    return jax.scipy.linalg.expm(a)\n",
    "_expm_frechet": ("def _expm_frechet(a, e):\n"
                      "    return jax.scipy.linalg.expm_frechet(a, e, compute_expm=False)\n"),
    "_dexpm": (
        "def _dexpm(a):\n    n = a.shape[0]\n    i, z = jnp.eye(n * n), jnp.zeros((n * n, n * n))\n"
        "    big = jnp.block([[jnp.kron(jnp.eye(n), a), i], [z, jnp.kron(a.T, jnp.eye(n))]])\n"
        "    return jax.scipy.linalg.expm(big)[:n * n, n * n:]\n"),
}

_NAME = re.compile(r"\bnp\.((?:linalg\.)?[A-Za-z_]+)")
_RESHAPE_F = re.compile(r"np\.asarray\(_deriv\)\.reshape\((.*)\, order='F'\)")
_HELPER_DEF = re.compile(r"^def (_[a-z_]+)\(", re.M)


def _rename(code: str, table: dict, target: str) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1)
        if name not in table:
            raise TypeError(f"no {target} translation for np.{name} in the generated source")
        return table[name]

    return _NAME.sub(sub, code)


def _split(source: str) -> tuple[list[str], str]:
    """(names of the helpers the source defines, the main function: the last top-level def)."""
    lines = source.split("\n")
    last = max(i for i, line in enumerate(lines) if line.startswith("def "))
    names = [n for n in _HELPER_DEF.findall("\n".join(lines[:last])) if n in HELPERS]
    return names, "\n".join(lines[last:])


def translate(source: str, target: str) -> str:
    """The NumPy ``source`` (from ``function_source``) for ``target`` ("numpy", "torch", "jax")."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    if target == "numpy":
        return source
    names, main = _split(source)
    main = _RESHAPE_F.sub(r"_reshape_f(_deriv, \1)", main)
    used = list(names) + (["_reshape_f"] if "_reshape_f(" in main else [])
    if target == "torch":
        main = main.replace("np.asarray(", "torch.as_tensor(").replace(
            "dtype=float)", "dtype=torch.float64)")
        main = re.sub(r"np\.eye\(([^()]*)\)", r"torch.eye(\1, dtype=torch.float64)", main)
        main = re.sub(r"np\.zeros\((\([^()]*\))\)", r"torch.zeros(\1, dtype=torch.float64)", main)
        main = re.sub(r"np\.full\((\([^()]*\)), ([^()]*)\)",
                      r"torch.full(\1, \2, dtype=torch.float64)", main)
        main = _rename(main, _TORCH, target)
        helpers, head = _TORCH_HELPERS, "import torch"
    else:
        main = main.replace("np.asarray(", "jnp.asarray(").replace(
            "dtype=float)", "dtype=jnp.result_type(float))")
        main = _rename(main, _JAX, target)
        helpers, head = _JAX_HELPERS, "import jax\nimport jax.numpy as jnp\nimport numpy as np"
    table = _TORCH if target == "torch" else _JAX
    parts = [helpers[n] if n in helpers else _rename(HELPERS[n], table, target) for n in used]
    if target == "torch":  # the shims the translated text calls, and their converter _f64
        text = main + "".join(parts)
        shims = [n for n in _SHIMS if f"{n}(" in text and _TORCH_HELPERS[n] not in parts]
        parts += [_TORCH_HELPERS[n] for n in shims]
        if any("_f64(" in p for p in parts):
            parts.insert(0, _TORCH_HELPERS["_f64"])
    return "\n\n".join([head + "\n"] + parts + [main])


def compile_target(source: str, name: str):
    """exec a translated source (ours) and return its function ``name``."""
    namespace: dict = {"__name__": "tensorcalc_generated"}
    exec(compile(source, f"<tensorcalc:{name}>", "exec"), namespace)  # noqa: S102 (our code)
    return namespace[name]
