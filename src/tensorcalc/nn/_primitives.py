"""The primitives of ``tensorcalc.nn``: relu, softplus and the fused softmax cross-entropy.

The logistic function ``σ(x) = 1 / (1 + e^{−x})`` is :func:`tensorcalc.ops.special.expit`, and
the softmax and log-softmax in the cross-entropy's rule are those of ``ops/special.py``.

* ``relu(x) = x`` where ``x > 0``, else ``0`` (NaN gives 0, as the ``where`` it replaces), with
  ``relu′(x) = [x > 0]`` (``relu′(0) = 0``), applied by the linear map
  ``relu_mask(ẋ, m) = m ? ẋ : 0`` with ``m = [x > 0]`` (its own transpose): a select, so an
  infinite tangent on an inactive unit gives 0, not 0 · ∞, computed as the product ``ẋ · m``
  (3–5x faster than ``np.where``) unless that product holds a NaN.
  Evaluated as ``fmax(x, 0)``, which is exactly that map (``fmax`` drops a NaN operand, and
  gives ``+0`` for ``−0``) and 6–10x faster than ``np.where`` on the activations of a CNN.
* ``softplus(x) = log(1 + e^{x})`` with ``softplus′ = σ``; evaluated as ``logaddexp(x, 0)``.
* ``ce(θ, y) = −Σ_k y_k log softmax(θ)_k = lse(θ)·Σ_k y_k − Σ_k y_k θ_k`` over the last axis,
  one value per row, with ``lse(θ) = m + log Σ_k e^{θ_k − m}`` and ``m = max_k θ_k`` (no
  overflow). Its tangent is ``⟨softmax(θ)·Σy − y, θ̇⟩ − ⟨log softmax(θ), ẏ⟩`` per row; for
  one-hot or probability labels ``Σy = 1`` and the logits part is ``⟨ŷ − y, θ̇⟩``
  (docs/lessons/networks.md). Reverse mode transposes that linear map, so the logits cotangent is
  exactly ``c·(ŷ − y)`` for a row cotangent ``c``: the hand-derived gradient, with no softmax
  Jacobian formed.

Each jvp rule is written with ``tensorcalc.numpy`` operations on the primal values, so every
rule can itself be differentiated (the Hessian of ``ce`` is ``diag(ŷ) − ŷŷᵀ``). Primitive names
carry an ``nn.`` prefix so they never collide with the core op families.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..compile.fusion import deffusible
from ..core.backend import defxp
from ..core.errors import ShapeError
from ..core.primitive import Primitive, bind
from ..core.shapes import ShapedArray, shape_str
from ..core.zeros import Zero
from ..interpreters.batch import (
    bdim_to_front,
    common_size,
    defbatch,
    defbroadcasting,
    defvectorized,
)
from ..interpreters.forward import add_tangents, defjvp, defjvp_rule
from ..interpreters.sparsity import defsparsity_elementwise
from ..interpreters.transpose import deftranspose
from ..ops import elementwise as ew
from ..ops import reductions as red
from ..ops import special
from ..ops._base import needs_bind, probe_dtype
from ..ops.special import expit


def _float_dtype(dtype: np.dtype) -> np.dtype:
    return dtype if np.issubdtype(dtype, np.inexact) else np.dtype(np.float64)


def _unary_abstract(impl: Any) -> Any:
    def abstract_eval(x: ShapedArray) -> ShapedArray:
        return ShapedArray(x.shape, _float_dtype(probe_dtype(impl, (x,))))

    return abstract_eval


# --- relu ------------------------------------------------------------------------------------


def _relu_impl(x: Any) -> Any:
    x = np.asarray(x)
    if np.iscomplexobj(x):  # ordered as NumPy orders complex numbers (lexicographically)
        return np.where(x > 0, x, 0.0)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    return np.asarray(np.fmax(x, np.zeros((), x.dtype)))


def _relu_jvp(t: Any, ans: Any, x: Any) -> Any:
    return bind(relu_mask_p, t, ew.greater(x, 0))


def _relu_mask_impl(t: Any, m: Any) -> Any:
    t, m = np.asarray(t), np.asarray(m)
    with np.errstate(invalid="ignore"):  # 0 · ∞ is replaced below, it is no user's NaN
        out = np.multiply(t, m)
    # A NaN in the product means 0 · ∞ or 0 · NaN off the mask (or a NaN on it): then the
    # select, which keeps the branch not taken out. Summing finds one without a temporary.
    if np.isnan(np.sum(out)):
        return np.where(m, t, np.zeros((), out.dtype))
    return out


def _relu_mask_abstract(t: ShapedArray, m: ShapedArray) -> ShapedArray:
    if t.shape != m.shape:
        raise ShapeError(f"relu_mask: tangent {shape_str(t.shape)} and mask "
                         f"{shape_str(m.shape)} must have the same shape")
    return ShapedArray(t.shape, t.dtype)


def _relu_mask_jvp(tdot: Any, ans: Any, t: Any, m: Any) -> Any:
    return bind(relu_mask_p, tdot, m)


def _relu_mask_transpose(ct: Any, t: Any, m: Any) -> tuple[Any, None]:
    return bind(relu_mask_p, ct, m), None


relu_p = Primitive("nn.relu", _relu_impl, _unary_abstract(_relu_impl))
relu_mask_p = Primitive("nn.relu_mask", _relu_mask_impl, _relu_mask_abstract)
# fmax, multiply and where allocate their results
relu_p.fresh_result = relu_mask_p.fresh_result = True
defxp(relu_p, lambda xp, x: xp.where(x > 0, x, xp.zeros_like(x)))
defxp(relu_mask_p, lambda xp, t, m: xp.where(m, t, xp.zeros_like(t)))
defjvp(relu_p, _relu_jvp)
defjvp(relu_mask_p, _relu_mask_jvp, None)
deftranspose(relu_mask_p, _relu_mask_transpose)
defvectorized(relu_p)
# fmax(x, 0): NaN → 0, as the impl. (NumPy's fmax turns -0 into 0 in its SIMD body but keeps
# -0 in its scalar tail; this loop gives 0, and tiering's probe, which sees both, keeps relu out
# of tiered fusion.) relu_mask is not fused: its impl picks t·m or a select by scanning the
# whole product, which no elementwise loop can do.
deffusible(relu_p, "({0} if {0} > {z} else {z})")
defbroadcasting(relu_mask_p)
defsparsity_elementwise(relu_p)
defsparsity_elementwise(relu_mask_p)


def relu(x: Any) -> Any:
    """``max(x, 0)`` with ``relu′(0) = 0``."""
    if needs_bind(x):
        return bind(relu_p, x)
    return _relu_impl(x)


# --- softplus --------------------------------------------------------------------------------


def _softplus_impl(x: Any) -> Any:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.inexact):
        x = x.astype(np.float64)
    return np.logaddexp(x, np.zeros((), x.dtype))


softplus_p = Primitive("nn.softplus", _softplus_impl, _unary_abstract(_softplus_impl))
defxp(softplus_p, lambda xp, x: xp.logaddexp(x, xp.zeros_like(x)))
defjvp(softplus_p, lambda t, ans, x: ew.multiply(t, expit(x)))
defvectorized(softplus_p)


def softplus(x: Any) -> Any:
    """``log(1 + e^{x})``, stable for large ``|x|``; its derivative is ``sigmoid(x)``."""
    if needs_bind(x):
        return bind(softplus_p, x)
    return _softplus_impl(x)


# --- fused softmax cross-entropy over the last axis ------------------------------------------


def _xent_impl(logits: Any, labels: Any) -> Any:
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    m = np.max(logits, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)  # rows of all −inf: keep the shift finite
    # Masked entries may compute 0·∞ or ∞ − ∞ before np.where discards them: no warnings.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        lse = m + np.log(np.sum(np.exp(logits - m), axis=-1, keepdims=True))
        # Labels of 0 contribute nothing even where a logit is −inf (0 · ∞ would be NaN).
        terms = np.where(labels != 0, labels * (lse - logits), 0.0)
    return np.sum(terms, axis=-1).astype(np.result_type(logits, labels))


def _xent_abstract(logits: ShapedArray, labels: ShapedArray) -> ShapedArray:
    if logits.shape != labels.shape:
        raise ShapeError(
            f"softmax_cross_entropy: labels of shape {shape_str(labels.shape)} do not match "
            f"logits of shape {shape_str(logits.shape)}")
    if logits.ndim == 0:
        raise ShapeError("softmax_cross_entropy: logits must have a class axis (ndim >= 1)")
    dtype = np.result_type(logits.dtype, labels.dtype)
    return ShapedArray(logits.shape[:-1], _float_dtype(dtype))


softmax_xent_p = Primitive("nn.softmax_cross_entropy", _xent_impl, _xent_abstract)


@defxp(softmax_xent_p)
def _xent_xp(xp: Any, logits: Any, labels: Any) -> Any:
    m = xp.max(logits, axis=-1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    lse = m + xp.log(xp.sum(xp.exp(logits - m), axis=-1, keepdims=True))
    terms = labels * (lse - logits)
    return xp.sum(xp.where(labels != 0, terms, xp.zeros_like(terms)), axis=-1)


def _xent_jvp(primals: list[Any], tangents: list[Any]) -> tuple[Any, Any]:
    logits, labels = primals
    t_logits, t_labels = tangents
    ans = bind(softmax_xent_p, logits, labels)
    out: Any = Zero(None)
    if type(t_logits) is not Zero:
        y_hat = special.softmax(logits, axis=-1)
        mass = red.sum(labels, axis=-1, keepdims=True)
        # ŷ·Σy − y; for one-hot rows Σy is exactly 1, so this is exactly ŷ − y.
        g = ew.subtract(y_hat if _is_one(mass) else ew.multiply(y_hat, mass), labels)
        out = add_tangents(out, red.sum(ew.multiply(t_logits, g), axis=-1))
    if type(t_labels) is not Zero:
        log_p = special.log_softmax(logits, axis=-1)
        out = add_tangents(out, ew.negative(red.sum(ew.multiply(t_labels, log_p), axis=-1)))
    return ans, out


def _is_one(mass: Any) -> bool:
    """Whether every row's label mass is known to be exactly 1 (concrete one-hot labels)."""
    return not needs_bind(mass) and bool(np.all(np.asarray(mass) == 1))


defjvp_rule(softmax_xent_p, _xent_jvp)


def _xent_batch(args: Any, dims: Any) -> tuple[Any, int]:
    size = common_size(args, dims, softmax_xent_p.name)
    moved = [bdim_to_front(a, d, size) for a, d in zip(args, dims, strict=True)]
    return bind(softmax_xent_p, *moved), 0


defbatch(softmax_xent_p, _xent_batch)


def softmax_xent(logits: Any, labels: Any) -> Any:
    """Per-row ``−Σ_k y_k log softmax(θ)_k`` over the last axis (labels shaped like logits)."""
    if needs_bind(logits) or needs_bind(labels):
        return bind(softmax_xent_p, logits, labels)
    return _xent_impl(logits, labels)
