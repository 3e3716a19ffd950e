"""Op records for ``tensorcalc.numpy.linalg`` (issue 3, part C): every primitive on single
matrices and stacks, checked to second order in forward and reverse mode.

Inputs are well conditioned: invertible matrices are ``randn + 3 I``; symmetric matrices have
well-separated eigenvalues; SVD inputs have well-separated singular values. Eigenvectors and
singular vectors are only defined up to sign (and completed bases up to a rotation), so those
rows use sign-fixed vectors (``v · sign(v[0])``) or gauge-invariant functions (projectors,
reconstructions). Every function returns one array so that the vmap tests can reuse the rows.
"""

from __future__ import annotations

import numpy as np

import tensorcalc.numpy as tnp

from . import OpRecord

LA = tnp.linalg


def _orth(rng, n, batch=()):
    q, r = np.linalg.qr(rng.standard_normal(batch + (n, n)))
    return q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]


def _inv(n, batch=()):
    return lambda rng: (rng.standard_normal(batch + (n, n)) + 3 * np.eye(n),)


def _spd(n, batch=(), junk=None):
    """SPD matrix; ``junk='upper'`` fills the triangle NumPy does not read with noise."""
    def make(rng):
        b = rng.standard_normal(batch + (n, n))
        a = b @ np.swapaxes(b, -1, -2) + n * np.eye(n)
        if junk == "upper":
            a = a + np.triu(rng.standard_normal(batch + (n, n)), 1)
        elif junk == "lower":
            a = a + np.tril(rng.standard_normal(batch + (n, n)), -1)
        return (a,)

    return make


def _sym(n, batch=(), junk=None):
    """Symmetric with eigenvalues about 1.5 apart (plus junk in the unread triangle)."""
    def make(rng):
        lam = 1.5 * np.arange(n) - 2.0 + 0.3 * rng.uniform(size=batch + (n,))
        v = _orth(rng, n, batch)
        a = (v * lam[..., None, :]) @ np.swapaxes(v, -1, -2)
        if junk == "upper":
            a = a + np.triu(rng.standard_normal(batch + (n, n)), 1)
        elif junk == "lower":
            a = a + np.tril(rng.standard_normal(batch + (n, n)), -1)
        return (a,)

    return make


def _sv(m, n, batch=()):
    """An ``m×n`` matrix with singular values about 1 apart (the smallest about 1)."""
    def make(rng):
        k = min(m, n)
        s = 1.0 + np.arange(k)[::-1] + 0.3 * rng.uniform(size=batch + (k,))
        u = _orth(rng, m, batch)[..., :k]
        v = _orth(rng, n, batch)[..., :k]
        return ((u * s[..., None, :]) @ np.swapaxes(v, -1, -2),)

    return make


def _n(*shapes):
    return lambda rng: tuple(rng.standard_normal(s) for s in shapes)


def _with(first, *shapes):
    return lambda rng: first(rng) + tuple(rng.standard_normal(s) for s in shapes)


def _signfix(v):
    """Columns of ``v`` with the sign that makes their first entry positive."""
    return v * tnp.sign(v[..., :1, :])


def _mT(x):  # noqa: N802
    return tnp.swapaxes(x, -1, -2)


RECORDS: list[OpRecord] = []

# --- inv, det, slogdet, solve ---------------------------------------------------------------

for batch in [(), (2,)]:
    tag = f"{batch}"
    RECORDS += [
        OpRecord(f"linalg.inv{tag}", LA.inv, _inv(3, batch), primitives=("inv",)),
        OpRecord(f"linalg.det{tag}", LA.det, _inv(3, batch), primitives=("det",)),
        OpRecord(f"linalg.slogdet{tag}", lambda a: LA.slogdet(a).logabsdet, _inv(3, batch),
                 primitives=("slogdet",)),
        OpRecord(f"linalg.slogdet_sign{tag}", lambda a: LA.slogdet(a).sign * LA.det(a),
                 _inv(3, batch), primitives=("slogdet", "det")),
    ]

for a_batch, b_shape in [((), (3,)), ((), (3, 2)), ((2,), (3,)), ((2,), (2, 3, 2)),
                         ((), (2, 3, 1)), ((2,), (3, 2)), ((2, 1), (3, 3, 2))]:
    RECORDS.append(OpRecord(
        f"linalg.solve{a_batch}x{b_shape}", LA.solve, _with(_inv(3, a_batch), b_shape),
        primitives=("solve",)))

# --- cholesky -------------------------------------------------------------------------------

RECORDS += [
    OpRecord("linalg.cholesky", LA.cholesky, _spd(3), primitives=("cholesky",)),
    OpRecord("linalg.cholesky(2,)", LA.cholesky, _spd(3, (2,)), primitives=("cholesky",)),
    OpRecord("linalg.cholesky_reads_lower",
             lambda a: LA.cholesky(a, symmetrize_input=False), _spd(3, junk="upper"),
             primitives=("cholesky",)),
    OpRecord("linalg.cholesky_upper",
             lambda a: LA.cholesky(a, upper=True, symmetrize_input=False),
             _spd(3, junk="lower"), primitives=("cholesky",)),
    OpRecord("linalg.cholesky_solve", lambda a, b: LA.solve(_mT(LA.cholesky(a)),
                                                            LA.solve(LA.cholesky(a), b)),
             _with(_spd(3), (3,)), primitives=("cholesky", "solve")),
]

# The default symmetrizes the input: it must agree with central differences even when the
# matrix is not symmetric (the function is then f((A + Aᵀ)/2)).
RECORDS += [
    OpRecord("linalg.cholesky_symmetrized_junk", LA.cholesky, _spd(3, junk="upper"),
             primitives=("cholesky",)),
    OpRecord("linalg.eigvalsh_symmetrized_junk", LA.eigvalsh, _sym(3, junk="lower"),
             primitives=("eigh",)),
]


# --- eigh, eigvalsh -------------------------------------------------------------------------

RECORDS += [
    OpRecord("linalg.eigvalsh", LA.eigvalsh, _sym(4), primitives=("eigh",)),
    OpRecord("linalg.eigvalsh(2,)", LA.eigvalsh, _sym(3, (2,)), primitives=("eigh",)),
    OpRecord("linalg.eigvalsh_L_junk", lambda a: LA.eigvalsh(a, symmetrize_input=False),
             _sym(3, junk="upper"),
             primitives=("eigh",)),
    OpRecord("linalg.eigvalsh_U_junk", lambda a: LA.eigvalsh(a, UPLO="U", symmetrize_input=False),
             _sym(3, junk="lower"), primitives=("eigh",)),
    OpRecord("linalg.eigh_values", lambda a: LA.eigh(a).eigenvalues, _sym(4),
             primitives=("eigh",)),
    OpRecord("linalg.eigh_vectors_signfixed", lambda a: _signfix(LA.eigh(a).eigenvectors),
             _sym(4), primitives=("eigh",)),
    OpRecord("linalg.eigh_vectors_U(2,)",
             lambda a: _signfix(LA.eigh(a, UPLO="U", symmetrize_input=False).eigenvectors),
             _sym(3, (2,), junk="lower"), primitives=("eigh",)),
    OpRecord("linalg.eigh_projector", lambda a: (lambda v: v @ _mT(v))(
        LA.eigh(a, symmetrize_input=False).eigenvectors[..., :, :2]), _sym(4, junk="upper"),
        primitives=("eigh",)),
    OpRecord("linalg.eigh_expm", lambda a: (lambda w, v: (v * tnp.exp(w)[..., None, :])
                                            @ _mT(v))(*LA.eigh(a)),
             _sym(3), primitives=("eigh",)),
]

# --- qr -------------------------------------------------------------------------------------

for m, n in [(4, 3), (3, 3), (3, 5)]:
    tag = f"({m},{n})"
    RECORDS += [
        OpRecord(f"linalg.qr_Q{tag}", lambda a: LA.qr(a).Q, _n((m, n)), primitives=("qr",)),
        OpRecord(f"linalg.qr_R{tag}", lambda a: LA.qr(a).R, _n((m, n)), primitives=("qr",)),
        OpRecord(f"linalg.qr_r{tag}", lambda a: LA.qr(a, mode="r"), _n((m, n)),
                 primitives=("qr",)),
        OpRecord(f"linalg.qr_complete_R{tag}", lambda a: LA.qr(a, mode="complete").R,
                 _n((m, n)), primitives=("qr",)),
    ]
RECORDS += [
    OpRecord("linalg.qr_Q(2,4,3)", lambda a: LA.qr(a).Q, _n((2, 4, 3)), primitives=("qr",)),
    OpRecord("linalg.qr_complete_Q(4,3)", lambda a: _signfix(LA.qr(a, mode="complete").Q),
             _n((4, 3)), primitives=("qr",)),
    OpRecord("linalg.qr_complete_projector(5,2)", lambda a: (lambda q: q @ _mT(q))(
        LA.qr(a, mode="complete").Q[..., :, 2:]), _n((5, 2)), primitives=("qr",)),
    OpRecord("linalg.qr_complete_Q(3,5)", lambda a: LA.qr(a, mode="complete").Q, _n((3, 5)),
             primitives=("qr",)),
]

# --- svd ------------------------------------------------------------------------------------


def _complement_projector(a):
    """Projector onto the completed part of the full SVD basis (``U₂U₂ᵀ`` or ``V₂V₂ᵀ``): it
    does not depend on the rotation LAPACK picks within the complement."""
    u, s, vh = LA.svd(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    if m >= n:
        return u[..., :, k:] @ _mT(u[..., :, k:])
    return _mT(vh[..., k:, :]) @ vh[..., k:, :]


for m, n, batch in [(4, 3, ()), (3, 3, ()), (3, 5, ()), (4, 2, (2,))]:
    tag = f"{batch}({m},{n})"
    RECORDS += [
        OpRecord(f"linalg.svdvals{tag}", lambda a: LA.svd(a, compute_uv=False),
                 _sv(m, n, batch), primitives=("svd",)),
        OpRecord(f"linalg.svd_S{tag}", lambda a: LA.svd(a).S, _sv(m, n, batch),
                 primitives=("svd",)),
        OpRecord(f"linalg.svd_U{tag}", lambda a: _signfix(LA.svd(a, full_matrices=False).U),
                 _sv(m, n, batch), primitives=("svd",)),
        OpRecord(f"linalg.svd_V{tag}", lambda a: (lambda u, s, vh: _mT(vh) * tnp.sign(
            u[..., :1, :]))(*LA.svd(a, full_matrices=False)), _sv(m, n, batch),
            primitives=("svd",)),
        OpRecord(f"linalg.svd_full_complement{tag}", _complement_projector, _sv(m, n, batch),
                 primitives=("svd",)),
        OpRecord(f"linalg.svd_reconstruct{tag}", lambda a: (lambda u, s, vh: (
            u[..., :, :2] * s[..., None, :2]) @ vh[..., :2, :])(*LA.svd(a)),
            _sv(m, n, batch), primitives=("svd",)),
    ]
RECORDS += [
    OpRecord("linalg.svd_full_U_extra_col(4,3)", lambda a: _signfix(LA.svd(a).U),
             _sv(4, 3), primitives=("svd",)),
    OpRecord("linalg.svd_full_Vh_extra_row(2,3)", lambda a: _signfix(_mT(LA.svd(a).Vh)),
             _sv(2, 3), primitives=("svd",)),
    OpRecord("linalg.svd_full_complement(5,2)", lambda a: (lambda u: u @ _mT(u))(
        LA.svd(a).U[..., :, 2:]), _sv(5, 2), primitives=("svd",)),
    OpRecord("linalg.svd_hermitian_values", lambda a: LA.svd(a, compute_uv=False,
                                                             hermitian=True),
             _sym(3, junk="upper"), primitives=("svd",)),
    OpRecord("linalg.svdvals_fn", LA.svdvals, _sv(3, 4), primitives=("svd",)),
]

# --- pinv, lstsq ----------------------------------------------------------------------------

RECORDS += [
    OpRecord("linalg.pinv(4,3)", LA.pinv, _sv(4, 3), primitives=("pinv",)),
    OpRecord("linalg.pinv(2,5)", LA.pinv, _sv(2, 5), primitives=("pinv",)),
    OpRecord("linalg.pinv(2,3,3)", LA.pinv, _sv(3, 3, (2,)), primitives=("pinv",)),
    OpRecord("linalg.pinv_hermitian", lambda a: LA.pinv(a, hermitian=True),
             _sym(3, junk="upper"), primitives=("pinv",)),
    OpRecord("linalg.lstsq_x(5,3)x(5,)", lambda a, b: LA.lstsq(a, b)[0],
             _with(_sv(5, 3), (5,)), primitives=("lstsq", "pinv")),
    OpRecord("linalg.lstsq_x(5,3)x(5,2)", lambda a, b: LA.lstsq(a, b)[0],
             _with(_sv(5, 3), (5, 2)), primitives=("lstsq", "pinv")),
    OpRecord("linalg.lstsq_x(2,4)x(2,)", lambda a, b: LA.lstsq(a, b)[0],
             _with(_sv(2, 4), (2,)), primitives=("lstsq", "pinv")),
    OpRecord("linalg.lstsq_residuals", lambda a, b: LA.lstsq(a, b)[1],
             _with(_sv(5, 3), (5, 2)), primitives=("lstsq",)),
    OpRecord("linalg.lstsq_s", lambda a, b: LA.lstsq(a, b)[3], _with(_sv(5, 3), (5,)),
             primitives=("svd",)),
]

# --- matrix_power, multi_dot ----------------------------------------------------------------

for p in [0, 1, 2, 3, 5, -1, -2]:
    RECORDS.append(OpRecord(f"linalg.matrix_power({p})", lambda a, p=p: LA.matrix_power(a, p),
                            lambda rng: (0.5 * rng.standard_normal((3, 3)) + np.eye(3),),
                            primitives=("matmul", "inv")))
RECORDS += [
    OpRecord("linalg.matrix_power(2,)(3)", lambda a: LA.matrix_power(a, 3),
             lambda rng: (0.5 * rng.standard_normal((2, 3, 3)),), primitives=("matmul",)),
    OpRecord("linalg.multi_dot3", lambda a, b, c: LA.multi_dot([a, b, c]),
             _n((2, 5), (5, 3), (3, 4)), primitives=("matmul",)),
    OpRecord("linalg.multi_dot4_vectors", lambda a, b, c, d: LA.multi_dot([a, b, c, d]),
             _n((4,), (4, 6), (6, 2), (2,)), primitives=("matmul",)),
    OpRecord("linalg.multi_dot_row", lambda a, b: LA.multi_dot([a, b]), _n((3,), (3, 2)),
             primitives=("matmul",)),
]

# --- norm -----------------------------------------------------------------------------------


def _away_from_zero(*shape):
    return lambda rng: (rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape),)


for ord_ in [None, 1, 2, np.inf, -np.inf, 3, 0.5, -1.5, 0]:
    RECORDS.append(OpRecord(f"linalg.norm_vec_ord{ord_}", lambda x, o=ord_: LA.norm(x, o),
                            _away_from_zero(5), primitives=("abs", "pow", "sqrt")))
for ord_ in [None, "fro", "nuc", 2, -2, 1, -1, np.inf, -np.inf]:
    RECORDS.append(OpRecord(f"linalg.norm_mat_ord{ord_}", lambda x, o=ord_: LA.norm(x, o),
                            _sv(3, 4), primitives=("svd", "abs", "sqrt")))
RECORDS += [
    OpRecord("linalg.norm_all_3d", LA.norm, _n((2, 3, 2)), primitives=("sqrt",)),
    OpRecord("linalg.norm_axis1_keepdims", lambda x: LA.norm(x, axis=1, keepdims=True),
             _n((3, 4)), primitives=("sqrt",)),
    OpRecord("linalg.norm_axis0_ord1", lambda x: LA.norm(x, ord=1, axis=0),
             _away_from_zero(3, 4), primitives=("abs",)),
    OpRecord("linalg.norm_matrix_axes(2,0)_nuc", lambda x: LA.norm(x, "nuc", axis=(2, 0)),
             _n((3, 2, 4)), primitives=("svd",)),
    OpRecord("linalg.norm_matrix_axes(0,2)_inf_keepdims",
             lambda x: LA.norm(x, np.inf, axis=(0, 2), keepdims=True), _n((3, 2, 4)),
             primitives=("abs",)),
    OpRecord("linalg.norm_matrix_axes(-1,-2)_1", lambda x: LA.norm(x, 1, axis=(-1, -2)),
             _n((2, 3, 4)), primitives=("abs",)),
    OpRecord("linalg.vector_norm", lambda x: LA.vector_norm(x, axis=(0, 2)), _n((3, 2, 4)),
             primitives=("sqrt",)),
    OpRecord("linalg.matrix_norm_2", lambda x: LA.matrix_norm(x, ord=2), _sv(3, 4, (2,)),
             primitives=("svd",)),
]

# --- NumPy 2 array-API functions ------------------------------------------------------------

RECORDS += [
    OpRecord("linalg.cond", LA.cond, _sv(3, 3, (2,)), primitives=("svd",)),
    OpRecord("linalg.cond_tall_-2", lambda a: LA.cond(a, -2), _sv(4, 3), primitives=("svd",)),
    OpRecord("linalg.cond_fro", lambda a: LA.cond(a, "fro"), _inv(3), primitives=("inv",)),
    OpRecord("linalg.cond_1", lambda a: LA.cond(a, 1), _inv(3), primitives=("inv", "abs")),
    OpRecord("linalg.trace", lambda a: LA.trace(a, offset=1), _n((2, 3, 4)), primitives=()),
    OpRecord("linalg.diagonal", LA.diagonal, _n((2, 3, 4)), primitives=()),
    OpRecord("linalg.matrix_transpose", LA.matrix_transpose, _n((2, 3, 4)),
             primitives=("transpose",)),
    OpRecord("linalg.vecdot", lambda a, b: LA.vecdot(a, b, axis=0), _n((3, 2), (3, 1)),
             primitives=("mul",)),
    OpRecord("linalg.outer", LA.outer, _n((3,), (4,)), primitives=("mul",)),
    OpRecord("linalg.cross", LA.cross, _n((2, 3), (3,)), primitives=()),
    OpRecord("linalg.tensordot", lambda a, b: LA.tensordot(a, b, axes=1), _n((2, 3), (3, 4)),
             primitives=("matmul",)),
]
