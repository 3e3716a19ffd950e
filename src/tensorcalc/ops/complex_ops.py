"""Complex numbers: the real and imaginary parts, the conjugate, the modulus and the argument.

**Convention (JAX's).** A tangent ``ż`` of a complex value is a complex number and a jvp rule is
the ℝ-linear map ``ż ↦ ∂f/∂z ż + ∂f/∂z̄ conj(ż)``. Reverse mode transposes that map for the real
pairing ``⟨a, b⟩ = Re Σ aᵢ bᵢ`` (no conjugation), so for a real loss ``f(z)``
``grad(f)(z) = ∂f/∂x − i ∂f/∂y = 2 ∂f/∂z``: for ``|z|²`` at ``1 + 1j`` it is ``2 − 2j`` (the
conjugate of the steepest-ascent direction; descend with ``z − η conj(g)``). For a holomorphic
``f`` (``∂f/∂z̄ = 0``) the same machinery gives ``f′(z)``.

With that pairing the transposes are:

=========  ==================  ================================  ==============================
primitive  value               jvp                               transpose (ȳ ↦ x̄)
=========  ==================  ================================  ==============================
real       Re z                Re ż                              ȳ + 0i
imag       Im z                Im ż                              −i ȳ
conj       z̄                   conj(ż)                           conj(ȳ)
abs_c      |z|                 Re(conj(s) ż),  s = z/|z|         (derived: Re, conj, product)
=========  ==================  ================================  ==============================

``abs_c`` is ``abs`` of a complex value (``|z|′`` is 0 at ``z = 0``, as ``abs′(0) = 0`` for
real ``x``); ``angle(z) = arctan2(Im z, Re z)`` is a composite. For real input ``real`` and
``conj`` are the identity and ``imag`` is a constant zero, as in NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.backend import defxp
from ..core.primitive import Primitive, bind
from ..core.shapes import ShapedArray
from ..interpreters.batch import defvectorized
from ..interpreters.forward import defjvp
from ..interpreters.transpose import deflinear
from ._base import dtype_of, needs_bind
from .binary import arctan2
from .elementwise import absolute, divide, equal, multiply, where
from .structural import convert


def _real_dtype(dt: np.dtype) -> np.dtype:
    return np.dtype(np.finfo(dt).dtype) if dt.kind == "c" else dt


def _part_abstract(name: str) -> Any:
    def abstract_eval(x: ShapedArray) -> ShapedArray:
        return ShapedArray(x.shape, _real_dtype(x.dtype), x.weak_type)

    abstract_eval.__name__ = f"{name}_abstract_eval"
    return abstract_eval


def _is_complex(x: Any) -> bool:
    return dtype_of(x).kind == "c"


# --- real -----------------------------------------------------------------------------------

real_p = Primitive("real", np.real, _part_abstract("real"))


def _real_transpose(ct: Any, x: Any) -> tuple[Any]:
    return (convert(ct, x.aval.dtype),)


deflinear(real_p, _real_transpose)
defvectorized(real_p)
defxp(real_p, lambda xp, x: xp.real(x))


def real(val: Any) -> Any:
    """``numpy.real``: the real part (the identity for real input)."""
    if not needs_bind(val):
        return np.real(val)
    return bind(real_p, val) if _is_complex(val) else val


# --- imag -----------------------------------------------------------------------------------

imag_p = Primitive("imag", np.imag, _part_abstract("imag"))


def _imag_transpose(ct: Any, x: Any) -> tuple[Any]:
    # ⟨ȳ, Im ż⟩ = Re(ȳ · (−i) · ż): the cotangent is −i ȳ.
    return (multiply(convert(ct, x.aval.dtype), -1j),)


deflinear(imag_p, _imag_transpose)
defvectorized(imag_p)
defxp(imag_p, lambda xp, x: xp.imag(x))


def imag(val: Any) -> Any:
    """``numpy.imag``: the imaginary part (a constant zero for real input)."""
    if not needs_bind(val):
        return np.imag(val)
    if _is_complex(val):
        return bind(imag_p, val)
    return multiply(val, 0.0)  # zeros of val's shape and dtype with a zero derivative


# --- conj -----------------------------------------------------------------------------------

conj_p = Primitive("conj", np.conjugate, lambda x: ShapedArray(x.shape, x.dtype, x.weak_type))


def _conj_transpose(ct: Any, x: Any) -> tuple[Any]:
    return (conj(ct),)


deflinear(conj_p, _conj_transpose)
defvectorized(conj_p)
defxp(conj_p, lambda xp, x: xp.conj(x))


def conj(x: Any, out: Any = None) -> Any:
    """``numpy.conj``/``conjugate``: the complex conjugate (the identity for real input)."""
    if not needs_bind(x):
        return np.conjugate(x, out=out)
    if out is not None:
        raise TypeError("conj: out= is not supported for values being differentiated")
    return bind(conj_p, x) if _is_complex(x) else x


conjugate = conj

# --- abs of a complex value -------------------------------------------------------------------

abs_c_p = Primitive("abs_c", np.abs, _part_abstract("abs_c"))


def _abs_c_jvp(t: Any, ans: Any, z: Any) -> Any:
    # d|z| = Re(conj(z) ż) / |z|; the unit s = z/|z| is taken as 0 at z = 0 (|z|′(0) = 0).
    zero = equal(ans, 0.0)
    unit = divide(z, where(zero, 1.0, ans))
    return real(multiply(conj(unit), t))


defjvp(abs_c_p, _abs_c_jvp)
defvectorized(abs_c_p)
defxp(abs_c_p, lambda xp, x: xp.abs(x))


def abs_complex(z: Any) -> Any:
    """``|z|`` of a complex traced value (``numpy.abs`` of complex input)."""
    return bind(abs_c_p, z)


# --- angle ------------------------------------------------------------------------------------


def angle(z: Any, deg: bool = False) -> Any:
    """``numpy.angle``: ``arctan2(Im z, Re z)`` in radians (degrees with ``deg=True``)."""
    if not needs_bind(z):
        return np.angle(z, deg=deg)
    if _is_complex(z):
        a = arctan2(imag(z), real(z))
    else:
        x = z if dtype_of(z).kind in "fc" else convert(z, np.float64)
        # 0 or π with a zero derivative; +0 (not x · 0, which is −0 for x < 0) as NumPy's
        # arctan2(0, x) gives π for negative x.
        a = arctan2(multiply(absolute(x), 0.0), x)
    return multiply(a, 180.0 / np.pi) if deg else a
