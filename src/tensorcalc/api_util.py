"""What every public transformation does around its interpreter: take the arguments apart and
put the results together, check what can be differentiated, and rerun with strong zeros when
a result holds a NaN.

**Arguments.** The arguments of ``grad``, ``jacobian``, ``vmap``… are pytrees (tuples, lists,
dicts, namedtuples) of arrays and numbers. A transformation flattens them to a list of leaves,
runs a function of that flat list (:func:`flat_fun`) and unflattens the outputs. ``argnums``
selects the differentiated positional arguments (:func:`partial_fun` closes over the others).

**Strong zeros.** Derivative rules multiply (co)tangents by factors with a strong zero,
``mul_sz(t, f) = 0`` wherever ``t == 0`` even if ``f`` is ±∞ or NaN (see
:mod:`tensorcalc.ops.strong_zero`): that is what keeps the branch a ``where`` did not take out
of a derivative. Checking every factor costs a reduction per operation, while a NaN made by
``0 · ∞`` always reaches the result; so a transformation runs with plain products, checks its
result, and only if that holds a NaN runs again with the checks on
(:func:`retry_with_strong_zeros`, the one place that does this). The first pass runs with
NumPy's *invalid-value* warning silenced: if it made a NaN that reached the result, the checked
rerun shows NumPy's warnings for whatever is really invalid; if no NaN reached the result, the
invalid operation was in a branch not taken and nothing was wrong (JAX does not warn there
either). Under ``np.seterr(invalid="raise")`` a first pass that raises ``FloatingPointError``
is rerun checked, which raises again only for an operation of the user's that is really invalid.

**Floating-point warnings** (:func:`report_fp_warnings`). NumPy warns from C, at the library
line that called the ufunc. While a transformation runs, the categories set to ``"warn"`` are
switched to ``"call"`` (``np.errstate`` is per thread and per context, so this is thread-safe)
and recorded. If every output is finite the warnings are dropped: whatever overflowed or
divided by zero was in a branch not taken or multiplied by a strong zero, and the result is
right. Otherwise each kind is warned once, at the user's line (the first frame outside
tensorcalc), as a ``RuntimeWarning``.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np

from .core import backend
from .core.context import strong_zero_checks, strong_zeros_enforced
from .core.errors import DifferentiationTypeError
from .core.primitive import Tracer, get_aval
from .core.shapes import PLAIN_VALUES, ShapedArray
from .core.tree import tree_flatten, tree_unflatten
from .core.zeros import instantiate
from .interpreters.forward import JVPTracer
from .interpreters.linearize import linearize_flat
from .jacobians.sweeps import Linearized
from .numpy import _methods  # noqa: F401  (the package gives tracers their array behaviour)


@functools.lru_cache(maxsize=512)
def issubdtype(dtype: Any, kind: Any) -> bool:
    """``np.issubdtype``, memoized: every call of a transformation asks it of its arguments
    and outputs, and NumPy's version walks the type hierarchy in Python each time. (A named
    function, not ``lru_cache(np.issubdtype)``: pickled by reference, dask's workers find it.)"""
    return np.issubdtype(dtype, kind)

# --- strong zeros: the one rerun ------------------------------------------------------------


def may_hold_nan(values: Any) -> bool:
    """Whether any array or number in ``values`` (a list, or one value) may hold a NaN: one
    reduction per array, no temporary. Real arrays take their maximum, which is NaN exactly
    when an entry is (NumPy's ``maximum`` propagates NaNs) and reads half as slowly as a sum;
    complex ones a sum, whose ``inf − inf`` is a false alarm that only costs the checked rerun
    (whose result is the same). This is the test that triggers that rerun."""
    for x in values if isinstance(values, (list, tuple)) else (values,):
        if isinstance(x, np.ndarray):
            kind = x.dtype.kind
            if kind == "f" and x.size:
                s = np.maximum.reduce(x, axis=None)
                if s != s:
                    return True
            elif kind == "c":
                s = np.add.reduce(x, axis=None)
                if s != s:
                    return True
        elif isinstance(x, (float, complex, np.inexact)) and x != x:
            return True
        elif backend.is_foreign(x) and foreign_may_hold_nan(x):
            return True
    return False


def foreign_may_hold_nan(x: Any) -> bool:
    """The strong-zero policy on arrays of other libraries (docs/backends.md):

    * lazy arrays (Dask): reading a value would compute the graph, so the answer is always
      "maybe", and the transformation returns its strong-zero rerun, which is one more graph
      built (``where`` masks instead of plain products) and still nothing computed;
    * arrays without data (torch ``meta``): no, nothing can be read;
    * eager arrays on any device (torch, CuPy, array_api_strict): one sum and one
      device-to-host read of a boolean per result array of the transformation."""
    if backend.numpy_dtype(x.dtype).kind not in "fc":
        return False
    if type(x).__module__.startswith("dask"):
        return True
    if str(backend.device(x)) == "meta":
        return False
    xp = backend.namespace(x)
    s = xp.sum(x)  # as for NumPy: one sum, no boolean temporary (inf − inf: a false alarm)
    return bool(s != s)


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_fp = threading.local()     # .user: the user's np.geterr() while report_fp_warnings records


def _user_mode(kind: str) -> str:
    user = getattr(_fp, "user", None)
    return user[kind] if user is not None else np.geterr()[kind]


def _quiet_invalid() -> Any:
    """Silence NumPy's invalid-value warning for the unchecked pass, unless the user asked for
    something other than the default warning (``raise``, ``ignore``, ``call``…)."""
    if _user_mode("invalid") == "warn":
        return np.errstate(invalid="ignore")
    return nullcontext()


def _all_finite(leaves: list[Any]) -> bool:
    for x in leaves:
        if isinstance(x, Tracer):
            return False            # not known yet: an outer transformation will decide
        if isinstance(x, (np.ndarray, np.generic, float, complex)):
            a = np.asarray(x)
            if a.dtype.kind in "fc" and not np.isfinite(a).all():
                return False
    return True


def _warn_at_user_frame(message: str) -> None:
    """``warnings.warn`` with the stacklevel of the first frame outside tensorcalc."""
    frame, level = sys._getframe(1), 2
    # Generated code (tc.jit's "<tensorcalc.jit …>", symbolic's "<tensorcalc:…>") is ours too.
    while frame is not None and frame.f_code.co_filename.startswith((_PACKAGE_DIR,
                                                                     "<tensorcalc")):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, RuntimeWarning, stacklevel=level)


def report_fp_warnings(compute: Callable[[], Any]) -> Any:
    """Run ``compute()`` recording NumPy's floating-point warnings; warn them at the user's
    line only if the result holds an inf or NaN (module doc). Nested calls run as they are."""
    if getattr(_fp, "user", None) is not None:
        return compute()
    user = np.geterr()
    calls = {k: "call" for k, v in user.items() if v == "warn"}
    if not calls:
        return compute()
    seen: list[str] = []

    def record(kind: str, flag: int) -> None:
        if kind not in seen:
            seen.append(kind)

    _fp.user = user
    try:
        with np.errstate(call=record, **calls):
            out = compute()
    finally:
        _fp.user = None
    if seen and not _all_finite(tree_flatten(out)[0]):
        for kind in seen:
            _warn_at_user_frame(f"{kind} encountered in a NumPy operation of this "
                                "tensorcalc computation (its result holds inf or NaN)")
    return out


class StrongZeroNaN(Exception):  # noqa: N818  (a signal, not an error users see)
    """Raised by a compiled fast pass whose own strong-zero products made a NaN: the signal to
    run the checked variant (:func:`retry_with_strong_zeros` catches it)."""


def retry_with_strong_zeros(compute: Callable[[], Any],
                            checked: Callable[[], Any] | None = None,
                            check_result: bool = True) -> Any:
    """Run ``compute()``; if its result (a pytree) holds a NaN, run ``checked()`` (by default
    ``compute`` again) with strong zeros enforced and return that instead.

    ``checked`` is for results that close over a first pass (a pullback, a linear map, a
    compiled function's fast variant): the rerun must redo that first pass with checks on.
    NumPy's floating-point warnings are reported at the user's line (:func:`report_fp_warnings`).
    With ``check_result=False`` the result is not scanned: ``compute`` checks the outputs of
    its own strong-zero products and raises :class:`StrongZeroNaN` when one holds a NaN (the
    checked run differs from the plain one only where such a product made a NaN, so this is
    the same test, done on arrays that may be far smaller than the result).
    """
    return report_fp_warnings(lambda: _retry(compute, checked, check_result))


def _retry(compute: Callable[[], Any], checked: Callable[[], Any] | None,
           check_result: bool = True) -> Any:
    if strong_zeros_enforced():
        return (checked or compute)() if not check_result else compute()
    try:
        with _quiet_invalid():
            out = compute()
    except (FloatingPointError, StrongZeroNaN):
        # np.seterr(invalid="raise"): the plain 0 · ∞ of a strong-zero product raised. The
        # checked rerun raises again only for an operation that is really invalid.
        out = None
    else:
        if not check_result or not may_hold_nan(tree_flatten(out)[0]):
            return out
    with strong_zero_checks():
        return (checked or compute)()


# --- arguments --------------------------------------------------------------------------------


def normalize_argnums(argnums: int | Sequence[int], nargs: int, fname: str) -> tuple[int, ...]:
    """``argnums`` as a tuple of non-negative positions, checked against the call."""
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not isinstance(n, int) or not -nargs <= n < nargs:
            raise TypeError(
                f"{fname}: argnums={argnums!r} is out of range for a call with {nargs} "
                "positional argument(s)")
    out = tuple(n % nargs for n in nums)
    if len(set(out)) != len(out):
        # Two copies of one argument would each get half a gradient or, the way the cotangents
        # are split, a zero for the first copy: never a useful answer, so refuse it.
        dup = sorted({n for n in out if out.count(n) > 1})
        raise ValueError(
            f"{fname}: argnums={argnums!r} names positional argument(s) {dup} more than once "
            f"for a call with {nargs} argument(s); list each argument once")
    return out


def dtype_of(x: Any) -> np.dtype:
    return get_aval(x).dtype


def check_differentiable(leaves: list[Any], fname: str, argnums: tuple[int, ...],
                         holomorphic: bool, allow_complex: bool = False) -> None:
    """Raise unless every leaf is floating point (or complex, with ``holomorphic=True``, or
    with ``allow_complex``: reverse mode of a real-valued function, whose gradient in a
    complex ``z`` is ``∂f/∂x − i ∂f/∂y`` as in JAX; docs/conventions.md)."""
    for leaf in leaves:
        dt = dtype_of(leaf)
        if issubdtype(dt, np.complexfloating):
            if not holomorphic and not allow_complex:
                raise DifferentiationTypeError(
                    f"{fname}: an argument in argnums={argnums} has complex dtype {dt}; "
                    f"{fname} needs real inputs unless holomorphic=True (pass it if the "
                    "function is complex-analytic). For a real-valued function of complex "
                    "inputs use tc.grad or tc.jacrev (reverse mode), or tc.jvp directly.")
        elif holomorphic:
            # As JAX: holomorphic=True promises a complex-analytic function of complex inputs;
            # a real input cannot be checked against that promise, so it is refused.
            raise DifferentiationTypeError(
                f"{fname}: holomorphic=True needs complex inputs, but an argument in "
                f"argnums={argnums} has dtype {dt}. Convert it with .astype(complex), or drop "
                "holomorphic=True for a real function.")
        elif not issubdtype(dt, np.floating):
            raise DifferentiationTypeError(
                f"{fname}: an argument in argnums={argnums} has dtype {dt}; derivatives are "
                "taken with respect to floating-point values. Convert it with "
                ".astype(float), or leave it out of argnums to treat it as a constant.")


def masked_array_error(x: Any, what: str) -> TypeError:
    """The error for a ``numpy.ma`` array reaching a transformation: its mask would be dropped
    (the derivative would include the masked entries), so it is refused."""
    return TypeError(
        f"{what} is a numpy.ma.MaskedArray of shape {np.shape(x)}; tensorcalc transformations "
        "ignore masks, so masked entries would silently count. Pass x.filled(value) with a "
        "neutral value, or the data and the mask separately (tnp.where(mask, 0.0, x)).")


def as_value(x: Any, op: str = "tensorcalc") -> Any:
    """Leaves of the argument pytrees: numbers and arrays stay, other array-likes convert.
    Give it all the arguments of one call at once (a tuple) so that arrays of two libraries
    among them are refused (``op`` names the caller in that error)."""
    leaves, tree = tree_flatten(x)
    foreign = False
    for v in leaves:
        if isinstance(v, np.ma.MaskedArray):
            raise masked_array_error(v, "an argument")
        if type(v) is not np.ndarray and backend.is_foreign(v):
            foreign = True
    if foreign:
        # Arrays of another library stay as they are (array type in = array type out); one
        # call takes one library on one device.
        backend.check_same_backend(leaves, op)
        return x
    ok = (Tracer, np.ndarray, np.generic, float, int, complex, bool, ShapedArray)
    return tree_unflatten(tree, [v if isinstance(v, ok) else np.asarray(v) for v in leaves])


def as_values_at(args: Sequence[Any], nums: Sequence[int], op: str) -> tuple[Any, ...]:
    """``as_value`` of ``args[i]`` for ``i`` in ``nums``, all at once (so two array libraries
    among them are refused); the other arguments reach the function untouched (a function, a
    string or None in a position that is not differentiated, as in JAX)."""
    for a in args:
        if type(a) not in PLAIN_VALUES:
            break
    else:  # NumPy arrays and numbers only (the common call): nothing to convert or compare
        return tuple(args)
    picked = as_value(tuple(args[i] for i in nums), op)
    rest = [a for i, a in enumerate(args) if i not in nums]
    if rest:  # one call takes one array library on one device, differentiated or not
        leaves = tree_flatten(tuple(args))[0]
        if any(type(v) is not np.ndarray and backend.is_foreign(v) for v in leaves):
            backend.check_same_backend(leaves, op)
    out = list(args)
    for i, v in zip(nums, picked, strict=True):
        out[i] = v
    return tuple(out)


def partial_fun(fun: Callable[..., Any], args: Sequence[Any], nums: Sequence[int],
                **kwargs: Any) -> Callable[..., Any]:
    """``fun`` as a function of ``args[nums]`` only, the other arguments fixed."""

    def partial(*dyn_args: Any) -> Any:
        full = list(args)
        for i, a in zip(nums, dyn_args, strict=True):
            full[i] = a
        return fun(*full, **kwargs)

    return partial


# --- outputs ----------------------------------------------------------------------------------


def check_array_outputs(leaves: list[Any], op: str = "",
                        what: str = "differentiable outputs") -> None:
    """Raise unless every output leaf is an array or a number (``op`` names the caller)."""
    for o in leaves:
        if not isinstance(o, (Tracer, np.ndarray, np.generic, float, int, complex)) \
                and not backend.is_foreign(o):
            raise TypeError(f"{op + ': ' if op else ''}the function returned a "
                            f"{type(o).__name__}, not an array; {what} must be arrays or "
                            "numbers (in tuples, lists, dicts)")


def flat_fun(fun: Callable[..., Any], in_tree: Any, has_aux: bool, store: dict[str, Any]
             ) -> Callable[[list[Any]], list[Any]]:
    """``fun`` as a function of a flat list of leaves returning a flat list; the output's tree
    goes to ``store["out_tree"]`` and, with ``has_aux``, the auxiliary data to
    ``store["aux"]``."""

    def flat(leaves: list[Any]) -> list[Any]:
        out = fun(*tree_unflatten(in_tree, leaves))
        if has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise TypeError("has_aux=True requires the function to return a pair "
                                "(output, auxiliary data)")
            out, store["aux"] = out
        out_leaves, store["out_tree"] = tree_flatten(out)
        check_array_outputs(out_leaves)
        return out_leaves

    return flat


def lower_aux(aux: Any) -> Any:
    """Auxiliary outputs leave the transformation as plain values (their primal part)."""
    leaves, tree = tree_flatten(aux)
    return tree_unflatten(tree, [primal_of(x) for x in leaves])


def primal_of(x: Any) -> Any:
    while isinstance(x, JVPTracer):
        x = x.primal
    return x


def fit_cotangent(ct: Any, like: Any) -> Any:
    """A (co)tangent as an array with the primal's shape and dtype (zeros made concrete)."""
    ct = instantiate(ct, like)
    dt = dtype_of(like)
    if isinstance(ct, Tracer):
        return ct
    if backend.is_foreign(like):
        return _fit_foreign(ct, like, dt)
    ct = np.asarray(ct)
    if issubdtype(dt, np.inexact) and ct.dtype != dt:
        if ct.dtype.kind == "c" and dt.kind != "c":
            ct = ct.real  # a real primal's cotangent is the real part (the pairing Re Σ a b)
        ct = ct.astype(dt)
    elif not ct.flags.writeable:  # a broadcast view (e.g. the gradient of a sum): own it
        ct = ct.copy()
    return ct


def linearize_for(fun: Callable[..., Any], args: tuple[Any, ...], argnums: Any,
                   has_aux: bool, fname: str, holomorphic: bool = False,
                   mode: str = "auto") -> tuple[Linearized, Any, Any, Any]:
    """Evaluate and linearize ``fun`` w.r.t. ``args[argnums]``; check dtypes and outputs.

    Complex inputs need ``holomorphic=True`` (the Jacobian is then the complex matrix of the
    ℂ-linear map ``ż ↦ f′(z) ż``), except in reverse mode for real outputs: each row is then
    the gradient ``∂fᵢ/∂x − i ∂fᵢ/∂y`` of a real output (JAX's jacrev)."""
    nums = normalize_argnums(argnums, len(args), fname)
    args = as_values_at(args, nums, fname)
    dyn = tuple(args[i] for i in nums)
    dyn_leaves, dyn_tree = tree_flatten(dyn)
    check_differentiable(dyn_leaves, fname, nums, holomorphic,
                         allow_complex=mode in ("auto", "reverse"))

    store: dict[str, Any] = {}
    # The linear map is consumed inside the transformation (it returns arrays, not closures).
    outs, lmap = linearize_flat(flat_fun(partial_fun(fun, args, nums), dyn_tree, has_aux, store),
                                dyn_leaves, escapes=False)
    for o in outs:
        dt = get_aval(o).dtype
        if holomorphic != issubdtype(dt, np.complexfloating):
            raise DifferentiationTypeError(
                f"{fname}: the function returned an output of dtype {dt}; "
                + ("holomorphic=True needs complex outputs (a real-valued function of a "
                   "complex variable is not holomorphic: drop holomorphic=True and use "
                   "jacrev)" if holomorphic else
                   "a complex output needs holomorphic=True (if the function is "
                   "complex-analytic), or tc.vjp / tc.jvp directly"))
        if not issubdtype(dt, np.inexact):
            raise DifferentiationTypeError(
                f"{fname}: the function returned an output of dtype {dt} and shape "
                f"{get_aval(o).shape}; Jacobians are taken of floating-point outputs. Convert "
                "it with .astype(float), or return it as auxiliary data (has_aux=True).")
    lin = Linearized(lmap.program, lmap.in_avals, lmap.out_avals, outs)
    aux = lower_aux(store["aux"]) if has_aux else None
    return lin, dyn_tree, store["out_tree"], aux


def _fit_foreign(ct: Any, like: Any, dt: np.dtype) -> Any:
    """A cotangent on the primal's library and device (a zero made by NumPy moves there)."""
    xp = backend.namespace(like)
    if not backend.is_foreign(ct):
        ct = xp.asarray(ct, device=backend.device(like))
        if tuple(ct.shape) != tuple(like.shape):
            ct = xp.broadcast_to(ct, tuple(like.shape))
    if issubdtype(dt, np.inexact) and backend.numpy_dtype(ct.dtype) != dt:
        ct = xp.astype(ct, backend.xp_dtype(xp, dt))
    return ct
