"""NumPy's own inner loops, called from a fused Numba kernel, so that a fused ``tanh`` gives
NumPy's bits.

A fused kernel that writes ``math.tanh(t)`` calls the C library's ``tanh``; NumPy's ``np.tanh``
may run its own SIMD code for the CPU and dtype (float64 ``tanh`` on AVX2, every float32
transcendental function), which differs from the C library's in the last bit or two for a
fifth of the inputs. Tiered fusion (:mod:`tensorcalc.compile.tiering`) keeps every bit of the
unfused program, so it used to leave such operations as NumPy calls, splitting the chain around
them into separate kernels and paying a call per piece.

A ufunc keeps, for each of its type signatures, a pointer to the C function that runs it over
arrays: ``loop(char **args, npy_intp const *dimensions, npy_intp const *steps, void *data)``,
where ``args`` holds the address of each operand's first element, ``dimensions[0]`` the length
and ``steps`` each operand's stride in bytes. Those pointers live in the ``PyUFuncObject``
struct of NumPy's public C API (``functions`` and ``data``, one entry per signature of
``types``). :func:`loop_address` reads them; :func:`call_loop` is a Numba intrinsic that calls
one from compiled code. The kernel then evaluates its chain in blocks along the last axis:
the operands of the NumPy call go into a small block buffer, NumPy's loop runs over it, and
the chain goes on from its result (:mod:`tensorcalc.compile.fusion_blocks`).

**Safety.** :func:`loop_address` checks every field it reads against what Python reports of
the same ufunc (``nin``, ``nout``, ``nargs``, ``ntypes``, the name and the type string) before
following a pointer, and raises :class:`LookupError` when anything disagrees (another struct
layout, a ufunc without that signature). Tiering then probes the fused kernels against
``np.tanh`` itself and uses only those that agree bit for bit, so a NumPy whose ufuncs stop
running through these pointers costs speed, never a bit.
"""

from __future__ import annotations

import ctypes
from typing import Any

import numpy as np

_PTR = ctypes.sizeof(ctypes.c_void_p)
_INT = ctypes.sizeof(ctypes.c_int)
#: Byte offsets of the fields read, after ``PyObject_HEAD`` (``object.__basicsize__``): four
#: ints (nin, nout, nargs, identity), then functions, data, ntypes (+ an int), name, types.
_HEAD = object.__basicsize__
_NIN, _NOUT, _NARGS = _HEAD, _HEAD + _INT, _HEAD + 2 * _INT
_FUNCTIONS = _HEAD + 4 * _INT
_DATA = _FUNCTIONS + _PTR
_NTYPES = _DATA + _PTR
_NAME = _NTYPES + 2 * _INT
_TYPES = _NAME + _PTR

_cache: dict[tuple[np.ufunc, str], tuple[int, int]] = {}


def loop_address(ufunc: np.ufunc, dtype: Any) -> tuple[int, int]:
    """``(function, data)`` addresses of ``ufunc``'s inner loop for one-dtype operands
    ``dtype → dtype`` (module docstring); :class:`LookupError` when they cannot be read."""
    dtype = np.dtype(dtype)
    key = (ufunc, dtype.char)  # the object: two ufuncs may share a name
    hit = _cache.get(key)
    if hit is not None:
        return hit
    if not isinstance(ufunc, np.ufunc) or type(ufunc).__basicsize__ < _TYPES + _PTR:
        raise LookupError(f"loop_address: {ufunc!r} is not a ufunc with the expected layout")
    base = id(ufunc)

    def int_at(offset: int) -> int:
        return ctypes.c_int.from_address(base + offset).value

    def ptr_at(address: int) -> int:
        return ctypes.c_void_p.from_address(address).value or 0

    fields = (int_at(_NIN), int_at(_NOUT), int_at(_NARGS), int_at(_NTYPES))
    said = (ufunc.nin, ufunc.nout, ufunc.nargs, ufunc.ntypes)
    if fields != said:
        raise LookupError(f"loop_address: np.{ufunc.__name__}'s struct fields read {fields}, "
                          f"Python says {said}: another NumPy struct layout")
    name_ptr, types_ptr = ptr_at(base + _NAME), ptr_at(base + _TYPES)
    if not name_ptr or not types_ptr or ctypes.string_at(name_ptr) != ufunc.__name__.encode():
        raise LookupError(f"loop_address: np.{ufunc.__name__}'s struct name does not match")
    nargs = ufunc.nargs
    codes = ctypes.string_at(types_ptr, ufunc.ntypes * nargs)
    for i, sig in enumerate(ufunc.types):
        row = list(codes[i * nargs:(i + 1) * nargs])
        if row != [np.dtype(c).num for c in sig.replace("->", "")]:
            raise LookupError(f"loop_address: np.{ufunc.__name__}'s type table does not match")
    want = [dtype.num] * nargs
    for i in range(ufunc.ntypes):
        if list(codes[i * nargs:(i + 1) * nargs]) == want:
            fn = ptr_at(ptr_at(base + _FUNCTIONS) + i * _PTR)
            data = ptr_at(ptr_at(base + _DATA) + i * _PTR) if ptr_at(base + _DATA) else 0
            if not fn:
                break
            _cache[key] = (fn, data)
            return fn, data
    raise LookupError(f"loop_address: np.{ufunc.__name__} has no {dtype} loop")


def loop_table(ufuncs: list[np.ufunc], dtype: Any) -> np.ndarray:
    """The addresses a blocked kernel calls: ``[fn₀, data₀, fn₁, data₁, …]`` as ``intp``."""
    return np.array([a for u in ufuncs for a in loop_address(u, dtype)], dtype=np.intp)


def _make_intrinsic() -> Any:
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic

    @intrinsic
    def call_loop(typingctx: Any, fn: Any, data: Any, args: Any, dims: Any, steps: Any) -> Any:
        """``fn(args, dims, steps, data)``: one NumPy inner loop (all arguments addresses)."""
        sig = types.void(types.intp, types.intp, types.intp, types.intp, types.intp)

        def codegen(context: Any, builder: Any, signature: Any, llargs: Any) -> Any:
            fn_v, data_v, args_v, dims_v, steps_v = llargs
            byte_ptr = ir.IntType(8).as_pointer()
            size_ptr = context.get_value_type(types.intp).as_pointer()
            fnty = ir.FunctionType(ir.VoidType(),
                                   [byte_ptr.as_pointer(), size_ptr, size_ptr, byte_ptr])
            callee = builder.inttoptr(fn_v, fnty.as_pointer())
            builder.call(callee, [builder.inttoptr(args_v, byte_ptr.as_pointer()),
                                  builder.inttoptr(dims_v, size_ptr),
                                  builder.inttoptr(steps_v, size_ptr),
                                  builder.inttoptr(data_v, byte_ptr)])
            return context.get_dummy_value()

        return sig, codegen

    return call_loop


def __getattr__(name: str) -> Any:
    # The intrinsic imports numba: made on first use, by a kernel module (which needs numba).
    if name == "call_loop":
        globals()["call_loop"] = value = _make_intrinsic()
        return value
    raise AttributeError(name)
