"""Array behaviour for tracers: operators, ``.T``, ``.sum()``, indexing, ``.at[...]``.

Installed on :class:`~tensorcalc.core.primitive.Tracer` when ``tensorcalc.numpy`` is imported,
so the core stays free of op imports. NumPy functions applied to a tracer (``np.sin(x)``,
``np.sum(x)``) are routed to the ``tensorcalc.numpy`` function of the same name through NumPy's
``__array_ufunc__`` / ``__array_function__`` protocols; a NumPy function tensorcalc does not
provide raises :class:`~tensorcalc.core.errors.NotDifferentiableError` instead of silently
treating the value as a constant.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import ConcretizationError, NotDifferentiableError
from ..core.primitive import Tracer
from ..ops import binary, products, reductions, structural, unary
from ..ops import elementwise as ew
from ._at import AtIndexer


def _swap(f: Any) -> Any:
    def reflected(self: Any, other: Any) -> Any:
        return f(other, self)

    reflected.__name__ = f"r{f.__name__}"
    return reflected


def _reshape_method(self: Any, *shape: Any, order: str = "C") -> Any:
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        shape = tuple(shape[0])
    return structural.reshape(self, shape, order=order)


def _transpose_method(self: Any, *axes: Any) -> Any:
    if len(axes) == 1 and not isinstance(axes[0], (int, np.integer)):
        axes = tuple(axes[0]) if axes[0] is not None else ()
    return structural.transpose(self, axes or None)


def _len(self: Any) -> int:
    if not self.shape:
        raise TypeError("len() of a 0-d array")
    return int(self.shape[0])


def _iter(self: Any) -> Any:
    for i in range(_len(self)):
        yield structural.getitem(self, i)


def _lookup(name: str, module: str) -> Any:
    import tensorcalc.numpy as tnp

    ns: Any = tnp
    if module.endswith("linalg"):
        ns = getattr(tnp, "linalg", None)
    elif module.endswith("fft"):
        ns = getattr(tnp, "fft", None)
    fn = getattr(ns, name, None) if ns is not None else None
    if fn is None or getattr(fn, "__module__", "").startswith("numpy"):
        raise NotDifferentiableError(
            f"numpy.{name} was applied to a value being differentiated, and tensorcalc.numpy "
            f"does not provide a differentiable {name}. Use an equivalent from "
            "tensorcalc.numpy, or compute it outside the transformed function.")
    return fn


def _array_ufunc(self: Any, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
    if method != "__call__" or kwargs.get("out") is not None:
        raise NotDifferentiableError(
            f"numpy.{ufunc.__name__}.{method} (or out=) on a value being differentiated is not "
            "supported; call tensorcalc.numpy functions instead")
    kwargs.pop("out", None)
    return _lookup(ufunc.__name__, "numpy")(*inputs, **kwargs)


def _array_function(self: Any, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
    return _lookup(func.__name__, getattr(func, "__module__", "numpy") or "numpy")(*args,
                                                                                 **kwargs)


def install() -> None:
    T = Tracer
    T.__add__, T.__radd__ = ew.add, _swap(ew.add)
    T.__sub__, T.__rsub__ = ew.subtract, _swap(ew.subtract)
    T.__mul__, T.__rmul__ = ew.multiply, _swap(ew.multiply)
    T.__truediv__, T.__rtruediv__ = ew.divide, _swap(ew.divide)
    T.__pow__, T.__rpow__ = ew.power, _swap(ew.power)
    T.__matmul__, T.__rmatmul__ = products.matmul, _swap(products.matmul)
    T.__neg__, T.__abs__ = ew.negative, ew.absolute
    T.__pos__ = lambda self: self
    T.__lt__, T.__le__, T.__gt__, T.__ge__ = ew.less, ew.less_equal, ew.greater, ew.greater_equal
    T.__eq__, T.__ne__ = ew.equal, ew.not_equal  # type: ignore[assignment]
    T.__hash__ = None  # type: ignore[assignment]  (== is elementwise, as for ndarray)
    T.__getitem__ = structural.getitem
    T.__len__ = _len
    T.__iter__ = _iter
    T.__array_ufunc__ = _array_ufunc
    T.__array_function__ = _array_function
    T.T = property(lambda self: structural.transpose(self))
    T.mT = property(lambda self: structural.swapaxes(self, -1, -2))
    T.at = property(AtIndexer)
    T.sum = reductions.sum
    T.mean = reductions.mean
    T.max = reductions.max
    T.min = reductions.min
    T.reshape = _reshape_method
    T.transpose = _transpose_method
    T.astype = structural.convert
    T.dot = products.dot
    T.ravel = T.flatten = lambda self: structural.reshape(self, (-1,))
    T.squeeze = lambda self, axis=None: _squeeze(self, axis)
    T.copy = lambda self: self
    T.__mod__, T.__rmod__ = binary.mod, _swap(binary.mod)
    T.__floordiv__, T.__rfloordiv__ = unary.floor_divide, _swap(unary.floor_divide)
    T.__divmod__, T.__rdivmod__ = _divmod, _swap(_divmod)
    _install_bitwise(T)
    _install_concretization(T)


def _divmod(x: Any, y: Any) -> tuple[Any, Any]:
    return unary.floor_divide(x, y), binary.mod(x, y)


def _install_bitwise(T: Any) -> None:
    from . import _logic

    for name, fn in (("and", _logic.bitwise_and), ("or", _logic.bitwise_or),
                     ("xor", _logic.bitwise_xor)):
        setattr(T, f"__{name}__", fn)
        setattr(T, f"__r{name}__", _swap(fn))
    T.__invert__ = _logic.invert

    def shift(name: str) -> Any:
        def op(self: Any, other: Any) -> Any:
            from ._kinds import primal_of

            return getattr(np, name)(primal_of(self, name), primal_of(other, name))

        op.__name__ = name
        return op

    T.__lshift__, T.__rlshift__ = shift("left_shift"), _swap(shift("left_shift"))
    T.__rshift__, T.__rrshift__ = shift("right_shift"), _swap(shift("right_shift"))


# What each conversion is, in the words of the error message.
_CONVERSIONS = {
    "__int__": "int() of a traced value",
    "__float__": "float() of a traced value (also writing it into a NumPy array element)",
    "__complex__": "complex() of a traced value",
    "item": "x.item() of a traced value",
    "tolist": "x.tolist() of a traced value",
}


def _conversion_error(what: str) -> ConcretizationError:
    return ConcretizationError(
        f"{what} would silently drop its derivative (or, inside tc.jit / tc.vmap, needs a "
        "value that does not exist yet). Keep it as an array and use tensorcalc.numpy "
        "operations; convert the result outside the transformed function; write into "
        "arrays with x.at[idx].set(v) instead of assignment into a NumPy array.")


def _install_concretization(T: Any) -> None:
    for attr, what in _CONVERSIONS.items():
        def raise_it(self: Any, *args: Any, _what: str = what) -> Any:
            raise _conversion_error(_what)

        raise_it.__name__ = attr
        setattr(T, attr, raise_it)
    T.__bool__ = _bool
    T.__index__ = _index


def _bool(self: Any) -> bool:
    try:
        return bool(self.concrete_value())
    except ConcretizationError as err:
        raise ConcretizationError(
            f"bool() of a traced value (Python `if`, `while`, `and`, `or`, `not` or `assert` "
            f"on it): {err}") from None


def _index(self: Any) -> int:
    if self.dtype.kind not in "iu":
        raise TypeError(f"only integer values can be used as an index or size, got a traced "
                        f"{self.dtype} value")
    try:
        return int(self.concrete_value())
    except ConcretizationError as err:
        raise ConcretizationError(
            f"a traced integer was used as an index or a size (x[i], range(i), "
            f"numpy.zeros(i), operator.index): {err}") from None


# ndarray methods that are the tnp function of the same name with the array first; bound
# after the whole namespace is imported (install_namespace_methods).
_NAMESPACE_METHODS = ("dot", "diagonal", "trace", "take", "repeat", "argsort", "argmax",
                      "argmin", "swapaxes", "clip", "prod", "std", "var", "cumsum", "cumprod",
                      "round", "conj", "conjugate", "sort", "nonzero", "ptp")


def install_namespace_methods(namespace: dict[str, Any]) -> None:
    for name in _NAMESPACE_METHODS:
        fn = namespace.get(name)
        if fn is not None and not getattr(fn, "__module__", "").startswith("numpy"):
            setattr(Tracer, name, fn)


def _squeeze(x: Any, axis: Any = None) -> Any:
    from . import squeeze

    return squeeze(x, axis)
