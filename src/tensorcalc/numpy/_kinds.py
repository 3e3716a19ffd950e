"""The three kinds of NumPy name in ``tensorcalc.numpy``, as wrapper factories.

``_coverage.py`` lists every public NumPy callable under one kind; this module builds the
functions for the two kinds that need no hand-written code:

* **constant on tracers** — the result carries no derivative (a boolean, an index, a count, a
  dtype, a string). :func:`on_primal` runs NumPy on the values traced arguments stand for (the
  primal of an eager ``grad``/``jvp``); :func:`on_avals` runs NumPy on zero-filled stand-ins of
  the traced arguments' shapes and dtypes, for functions that look at nothing else, so it also
  works under ``jit`` and ``vmap``.
* **pass-through** — :func:`pass_through` is NumPy's function for plain input and raises
  :class:`~tensorcalc.core.errors.NotDifferentiableError` naming the function, the argument and
  what to do when a traced value reaches it.

Arguments are searched for tracers through nested lists, tuples and dicts (``np.mean([a, b])``
style), so a traced value inside a list is not mistaken for a constant.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..core.backend import BackendError, is_foreign
from ..core.errors import ConcretizationError, NotDifferentiableError
from ..core.primitive import Tracer


def _leaves(x: Any) -> Iterator[Any]:
    """The values inside ``x``, looking through (nested) lists, tuples and dicts."""
    stack = [x]
    while stack:
        v = stack.pop()
        if isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.values())
        else:
            yield v


def has_tracer(x: Any) -> bool:
    """Whether ``x`` is a tracer or a (nested) list/tuple/dict holding one; an array of
    another library counts too (it must not reach NumPy, which would copy it silently)."""
    return any(isinstance(v, Tracer) or (type(v) is not np.ndarray and is_foreign(v))
               for v in _leaves(x))


def on_foreign(x: Any) -> bool:
    """Whether ``x`` holds an array of another library, directly or as the value a tracer of
    an eager transformation stands for (compositions then keep their index arithmetic in that
    library instead of reading values on the host)."""
    for v in _leaves(x):
        while isinstance(v, Tracer):
            try:
                v = v.concrete_value()
            except ConcretizationError:
                break
        if type(v) is not np.ndarray and not isinstance(v, Tracer) and is_foreign(v):
            return True
    return False


def traced_argument(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """A description of the first argument holding a traced value (``"argument 1"``,
    ``"keyword weights"``), or None when there is none."""
    for i, a in enumerate(args):
        if has_tracer(a):
            return f"argument {i}"
    for k, a in kwargs.items():
        if has_tracer(a):
            return f"keyword {k}"
    return None


def refuse_foreign(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Raise BackendError when an argument is an array of another library: ``tnp.<name>``
    computes with NumPy, and tensorcalc never copies an array to NumPy silently."""
    for v in _leaves((args, kwargs)):
        if type(v) is not np.ndarray and not isinstance(v, Tracer) and is_foreign(v):
            raise BackendError(
                f"tensorcalc.numpy.{name} runs on NumPy arrays only (NumPy computes it); it "
                f"got {type(v).__module__.partition('.')[0]} arrays. Convert the input to "
                "NumPy explicitly if a host copy is what you want (tensorcalc never transfers "
                "data silently).")


def _replace(x: Any, leaf: Callable[[Tracer], Any]) -> Any:
    """``x`` with every tracer (also inside lists, tuples and dicts) replaced by ``leaf(t)``."""
    if isinstance(x, Tracer):
        return leaf(x)
    if isinstance(x, (list, tuple)) and has_tracer(x):
        items = [_replace(v, leaf) for v in x]
        return items if isinstance(x, list) else type(x)(items) if not hasattr(x, "_fields") \
            else type(x)(*items)
    if isinstance(x, dict) and has_tracer(x):
        return {k: _replace(v, leaf) for k, v in x.items()}
    return x


def primal_of(x: Any, name: str) -> Any:
    """The value(s) ``x`` stands for, for ``tnp.<name>``; a clear error where there is none."""
    refuse_foreign(name, (x,), {})

    def concrete(t: Tracer) -> Any:
        try:
            value = t.concrete_value()
        except ConcretizationError as err:
            raise ConcretizationError(
                f"tensorcalc.numpy.{name} needs the values of its traced argument (its result "
                "is a constant computed from them, and its shape may depend on them), but "
                f"inside this transformation there are none: {err}") from None
        # the value of a tracer over another library's array: reading it here would copy it
        # to the host (or fail on a device); raise instead
        refuse_foreign(name, (value,), {})
        return np.asarray(value)

    return _replace(x, concrete)


def _stand_in(t: Tracer) -> Any:
    return np.zeros(tuple(int(d) for d in t.shape), t.dtype)


def on_primal(name: str, np_fn: Callable[..., Any]) -> Callable[..., Any]:
    """Constant on tracers: ``np_fn`` applied to the values the traced arguments stand for."""

    @functools.wraps(np_fn)
    def constant(*args: Any, **kwargs: Any) -> Any:
        if traced_argument(args, kwargs) is None:
            return np_fn(*args, **kwargs)
        refuse_foreign(name, args, kwargs)
        return np_fn(*primal_of(args, name), **primal_of(kwargs, name))

    constant.__module__ = __name__
    constant.__doc__ = (f"``numpy.{name}``; on traced values it is computed from their values "
                        "and returns a constant (no derivative flows through it).")
    return constant


def on_avals(name: str, np_fn: Callable[..., Any]) -> Callable[..., Any]:
    """Constant on tracers that reads only shapes and dtypes (works under jit and vmap)."""

    @functools.wraps(np_fn)
    def constant(*args: Any, **kwargs: Any) -> Any:
        if traced_argument(args, kwargs) is None:
            return np_fn(*args, **kwargs)
        refuse_foreign(name, args, kwargs)
        return np_fn(*_replace(args, _stand_in), **_replace(kwargs, _stand_in))

    constant.__module__ = __name__
    constant.__doc__ = (f"``numpy.{name}``; it reads only the shapes and dtypes of traced "
                        "values, so it works under every transformation.")
    return constant


DEFAULT_HINT = ("call it outside the function being transformed and pass the result in, or "
                "build the computation from tensorcalc.numpy functions")


def pass_through(name: str, np_fn: Callable[..., Any], hint: str = "") -> Callable[..., Any]:
    """NumPy's ``np_fn`` for plain input; a traced argument raises NotDifferentiableError."""

    @functools.wraps(np_fn)
    def passed(*args: Any, **kwargs: Any) -> Any:
        where = traced_argument(args, kwargs)
        if where is None:
            return np_fn(*args, **kwargs)
        refuse_foreign(name, args, kwargs)
        raise NotDifferentiableError(
            f"numpy.{name} is not differentiable in tensorcalc, and its {where} is a value "
            f"being differentiated. Instead, {hint or DEFAULT_HINT}.")

    passed.__module__ = __name__
    passed.__doc__ = (f"``numpy.{name}`` for values that are not being transformed; a traced "
                      "argument raises NotDifferentiableError.")
    return passed


def is_numpys_own(fn: Any) -> bool:
    """Whether ``fn`` is a NumPy object rather than one of tensorcalc's functions."""
    return (getattr(fn, "__module__", None) or "").split(".")[0] == "numpy"


# Functions whose list arguments are sequences of arrays (not one array to build): they are
# not wrapped by :func:`accepting_lists`.
SEQUENCE_ARGUMENTS = frozenset("""
    block broadcast_arrays c_ choose column_stack concat concatenate dstack einsum fromfunction
    hstack meshgrid piecewise r_ row_stack select stack vstack apply_along_axis
    apply_over_axes array asarray asanyarray ascontiguousarray asfortranarray require copy
    atleast_1d atleast_2d atleast_3d
""".split())


def accepting_lists(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn``, also for (nested) lists and tuples of traced values in place of arrays
    (``tnp.mean([a, b])``): when NumPy's fast path fails on such a list, the lists are stacked
    with ``tnp.asarray`` and ``fn`` is called again. Plain input pays one ``try``."""

    @functools.wraps(fn)
    def with_lists(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception:
            if not _lists_with_tracers(args, kwargs):
                raise
        from ._construct import asarray

        def fix(a: Any) -> Any:
            return asarray(a) if isinstance(a, (list, tuple)) and has_tracer(a) else a

        return fn(*[fix(a) for a in args], **{k: fix(v) for k, v in kwargs.items()})

    return with_lists


def _lists_with_tracers(args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    return any(isinstance(a, (list, tuple)) and has_tracer(a)
               for a in (*args, *kwargs.values()))


def complete_namespace(ns: dict[str, Any], linalg: Any, fft: Any) -> None:
    """Fill ``tensorcalc.numpy`` (and its ``linalg``/``fft``) with the names of
    ``_coverage.py`` that no module defines: constant-on-tracer wrappers, NumPy's own types,
    and pass-through wrappers; then let the array functions accept lists of traced values."""
    import types

    from . import _coverage as cov

    spaces = {"": (ns, np), "linalg": (vars(linalg), np.linalg), "fft": (vars(fft), np.fft)}

    def install(full: str, make: Callable[[str, Any], Any]) -> None:
        prefix, _, name = full.rpartition(".")
        table, np_mod = spaces[prefix]
        if name in table:
            return
        obj = getattr(np_mod, name)
        table[name] = obj if isinstance(obj, type) else make(full, obj)

    for full in cov.CONSTANT:
        install(full, lambda n, f: (on_avals if n in cov.AVALS_ONLY else on_primal)(n, f))
    for full in cov.PASS_THROUGH:
        install(full, lambda n, f: pass_through(n, f, cov.HINTS.get(n, "")))
    for full in cov.DIFFERENTIABLE + cov.CONSTANT:
        if "." in full or full in SEQUENCE_ARGUMENTS:
            continue
        fn = ns.get(full)
        if isinstance(fn, types.FunctionType) and not is_numpys_own(fn) \
                and not getattr(fn, "handles_lists", False):
            ns[full] = accepting_lists(fn)
