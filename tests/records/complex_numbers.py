"""Op records for complex numbers (issue 17, item 4): ``real``, ``imag``, ``conj``, ``abs`` and
``angle`` of complex values, the complex linear algebra (``inv``, ``solve``, ``det``,
``slogdet``, ``cholesky``, ``eigh``, ``qr``, ``svd`` of complex matrices) and ``eig``/``eigvals``
of real and complex matrices, plus ``tensorinv``/``tensorsolve``.

``check_grads`` moves complex inputs in complex directions and pairs cotangents with
``Re Σ a b``, so these rows check the ℝ-linear derivative of non-holomorphic functions too.
Eigenvector and singular-vector rows use phase-invariant functions (``|V|``, ``V f(Λ) V⁻¹``,
``U f(S) Vᴴ``): each vector's phase is free (ops/linalg/decompositions.py, eig.py).
"""

from __future__ import annotations

import numpy as np

import tensorcalc.numpy as tnp

from . import OpRecord

LA = tnp.linalg
SHAPES = [(), (3,), (2, 3), (0,)]


def _c(shape):
    return lambda rng: (rng.standard_normal(shape) + 1j * rng.standard_normal(shape),)


def _cmat(n, batch=(), m=None, shift=3.0):
    def make(rng):
        s = batch + (n, m or n)
        a = rng.standard_normal(s) + 1j * rng.standard_normal(s)
        if m is None:
            a = a + shift * np.eye(n)
        return (a,)

    return make


def _herm(a):
    return a @ tnp.conj(tnp.swapaxes(a, -1, -2)) + 3.0 * np.eye(a.shape[-1])


RECORDS: list[OpRecord] = []
for shape in SHAPES:
    RECORDS += [
        OpRecord(f"real{shape}", lambda z: tnp.real(z) * tnp.imag(z), _c(shape),
                 primitives=("real", "imag")),
        OpRecord(f"conj{shape}", lambda z: tnp.conj(z) * tnp.sin(z), _c(shape),
                 primitives=("conj",)),
        OpRecord(f"abs_c{shape}", lambda z: tnp.abs(z), _c(shape), primitives=("abs_c",)),
        OpRecord(f"angle{shape}", lambda z: tnp.angle(z), _c(shape)),
        OpRecord(f"attrs{shape}", lambda z: z.real ** 2 + z.imag * z.conj().real, _c(shape)),
    ]

RECORDS += [
    OpRecord("real_to_complex", lambda x: tnp.abs(x * (1 + 2j) + x * x) ** 2,
             lambda rng: (rng.standard_normal(3),)),
    OpRecord("angle_real", lambda x: tnp.angle(x) + x, lambda rng: (rng.standard_normal(3),)),
    OpRecord("vdot_complex", lambda a, b: tnp.vdot(a, b),
             lambda rng: _c(4)(rng) + _c(4)(rng)),
    OpRecord("c_inv", LA.inv, _cmat(3)),
    OpRecord("c_inv_stack", LA.inv, _cmat(2, (2,))),
    OpRecord("c_solve", LA.solve, lambda rng: _cmat(3)(rng) + _c(3)(rng)),
    OpRecord("c_det", LA.det, _cmat(3)),
    OpRecord("c_slogdet", lambda a: LA.slogdet(a), _cmat(3, (2,))),
    OpRecord("c_cholesky", lambda a: LA.cholesky(_herm(a)), _cmat(3, m=3)),
    OpRecord("c_cholesky_upper", lambda a: LA.cholesky(_herm(a), upper=True), _cmat(3, m=3)),
    OpRecord("c_eigvalsh", lambda a: LA.eigvalsh(_herm(a)), _cmat(3, m=3)),
    OpRecord("c_eigh_projector",
             lambda a: (lambda w, v: v @ (tnp.sin(w)[..., None] * tnp.conj(v).T))(
                 *LA.eigh(_herm(a))), _cmat(3, m=3)),
    OpRecord("c_eigh_absv", lambda a: tnp.abs(LA.eigh(_herm(a))[1]), _cmat(3, m=3)),
    OpRecord("c_qr", lambda a: LA.qr(a), _cmat(4, m=3)),
    OpRecord("c_qr_wide", lambda a: LA.qr(a), _cmat(3, m=4)),
    OpRecord("c_qr_complete_r", lambda a: LA.qr(a, mode="complete")[1], _cmat(4, m=3)),
    OpRecord("c_svdvals", lambda a: LA.svd(a, compute_uv=False), _cmat(3, m=4)),
    OpRecord("c_svd_usv",
             lambda a: (lambda u, s, vh: u @ (tnp.sin(s)[:, None] * vh))(
                 *LA.svd(a, full_matrices=False)), _cmat(4, m=3)),
    OpRecord("c_svd_absu", lambda a: tnp.abs(LA.svd(a, full_matrices=False)[0]),
             _cmat(3, m=4)),
    OpRecord("eigvals_real", LA.eigvals, lambda rng: (rng.standard_normal((4, 4)),),
             primitives=("eig",)),
    OpRecord("eigvals_complex", LA.eigvals, _cmat(3, shift=0.0)),
    OpRecord("eigvals_stack", LA.eigvals, lambda rng: (rng.standard_normal((2, 3, 3)),)),
    OpRecord("eig_absv_real", lambda a: tnp.abs(LA.eig(a).eigenvectors),
             lambda rng: (rng.standard_normal((4, 4)),)),
    OpRecord("eig_absv_complex", lambda a: tnp.abs(LA.eig(a)[1]), _cmat(3, shift=0.0)),
    OpRecord("eig_function",
             lambda a: (lambda w, v: v @ (tnp.exp(w)[:, None] * LA.inv(v)))(*LA.eig(a)),
             lambda rng: (rng.standard_normal((3, 3)),)),
    OpRecord("eig_1x1", LA.eigvals, lambda rng: (rng.standard_normal((1, 1)),)),
    OpRecord("tensorinv", lambda a: LA.tensorinv(a, ind=2),
             lambda rng: ((rng.standard_normal((6, 6)) + 3 * np.eye(6)).reshape(2, 3, 6),)),
    OpRecord("tensorsolve", LA.tensorsolve,
             lambda rng: ((rng.standard_normal((6, 6)) + 3 * np.eye(6)).reshape(2, 3, 2, 3),
                          rng.standard_normal((2, 3)))),
    OpRecord("tensorsolve_axes", lambda a, b: LA.tensorsolve(a, b, axes=(0,)),
             lambda rng: (np.moveaxis((rng.standard_normal((6, 6)) + 3 * np.eye(6))
                                      .reshape(2, 3, 2, 3), 3, 0),
                          rng.standard_normal((2, 3)))),
]
