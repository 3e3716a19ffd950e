"""Fused kernels that call NumPy's own loops for some operations, in blocks.

A fused group (:mod:`tensorcalc.compile.fusion`) is one loop that keeps each element's
intermediates in registers: ``for i: t₁ = …; t₂ = …; out[i] = t_k``. When an operation of the
group must give NumPy's bits and Numba's version does not (``tanh`` in float64 on AVX2: NumPy's
SIMD code and the C library differ in the last bit for a fifth of the inputs), the kernel
calls NumPy's own inner loop for it (:mod:`tensorcalc.compile.ufunc_loops`). That loop runs
over memory, not over one register, so the kernel goes block by block along the last axis
(``B`` ≤ 256 elements, a few KiB that stay in L1):

    for each block [s, s + m):
        for j < m: t₁ = …; t₂ = …; w[0, j] = t₂          (the operand of tanh)
        NumPy's tanh loop: w[0, :m] → w[1, :m]
        for j < m: t₃ = w[1, j]; t₄ = …; out[s + j] = t₄

Every value that one stretch computes and a later one reads gets a row of the block buffer
``w``; everything else stays in registers as before. Each element meets exactly the operations
of the unfused program, in the same order, so the results are its bits (tiering still probes
that). The other axes are looped over outside the blocks, indexing the operands where they lie.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core.ir import Equation, Literal, Program, Var
from ..core.shapes import ShapedArray

#: Elements per block: the rows of ``w`` stay in L1, and a NumPy loop call (≈ 20 ns) is paid
#: once per block and operation.
BLOCK = 256


def blocked_kernel(prog: Program, group: list[int], readers: dict[int, list[int]],
                   returned: set[int], key: tuple, foreign: dict[int, np.ufunc],
                   kernels: dict[Any, str], literal: Any) -> tuple[str, tuple, tuple]:
    """Source, inputs and outputs of the fused kernel of ``group`` (equation indices of
    ``prog``), where the equations in ``foreign`` run NumPy's loop of that ufunc."""
    shape, dtype = key
    ctype = "np.float32" if dtype == np.float32 else "np.float64"
    members = set(group)
    # Stretches: runs of inline equations, and each foreign equation on its own.
    stretch: dict[int, int] = {}  # id(value) → stretch that defines it
    defined_by: dict[int, int] = {}  # id(value) → index of its equation (its name t<k>)
    stretches: list[list[int]] = []
    for k in group:
        if k in foreign or not stretches or stretches[-1][0] in foreign:
            stretches.append([])
        stretches[-1].append(k)
        stretch[id(prog.equations[k].outputs[0])] = len(stretches) - 1
        defined_by[id(prog.equations[k].outputs[0])] = k
    rows: dict[int, int] = {}  # id(value) → its row of the block buffer

    def row(a: Any) -> int:
        return rows.setdefault(id(a), len(rows))

    for s, ks in enumerate(stretches):
        for k in ks:
            for a in prog.equations[k].inputs:
                if isinstance(a, Var) and (k in foreign or stretch.get(id(a), s) < s):
                    row(a)
            if k in foreign:
                row(prog.equations[k].outputs[0])
    outs = [prog.equations[k].outputs[0] for k in group
            if id(prog.equations[k].outputs[0]) in returned
            or any(r not in members for r in readers.get(id(prog.equations[k].outputs[0]), ()))]
    out_index = {id(v): j for j, v in enumerate(outs)}
    ins: list[Var] = []
    in_index: dict[int, int] = {}
    consts: list[str] = []
    last = len(shape) - 1
    idx = ", ".join(f"i{d}" for d in range(len(shape)))
    block = min(BLOCK, shape[last]) or 1
    code = [f"    w = np.empty(({max(len(rows), 1)}, {block}), {ctype})",
            "    pa = np.empty(2, np.intp)", "    dm = np.empty(1, np.intp)",
            "    st = np.empty(2, np.intp)", f"    st[0] = {np.dtype(dtype).itemsize}",
            f"    st[1] = {np.dtype(dtype).itemsize}", "    wp = w.ctypes.data"]
    pad = "    "
    for d in range(last):
        code.append(f"{pad}for i{d} in range({shape[d]}):")
        pad += "    "
    code += [f"{pad}for s in range(0, {shape[last]}, {block}):",
             f"{pad}    m = min({block}, {shape[last]} - s)"]
    pad += "    "
    inner = pad + "    "
    ufuncs: list[np.ufunc] = []

    def element_loop() -> None:
        code.extend([f"{pad}for j in range(m):", f"{inner}i{last} = s + j"])

    def outside(a: Any) -> str:
        return _read_outside(a, ins, in_index, shape, consts, ctype, literal)

    def read(a: Any, names: dict[int, str]) -> str:
        """``a``'s name in the current stretch, loaded from its row or operand at first use."""
        if id(a) in names:
            return names[id(a)]
        if isinstance(a, Var) and id(a) in stretch:  # from an earlier stretch: its row
            name = f"t{defined_by[id(a)]}"
            code.append(f"{inner}{name} = w[{rows[id(a)]}, j]")
        else:
            name = outside(a)
        if isinstance(a, Var):
            names[id(a)] = name
        return name

    for ks in stretches:
        if ks[0] in foreign:
            k = ks[0]
            eq = prog.equations[k]
            (a,), v = eq.inputs, eq.outputs[0]
            if not isinstance(a, Var) or stretch.get(id(a)) is None:
                # An operand from outside the group: copied into its row first.
                element_loop()
                code.append(f"{inner}w[{row(a)}, j] = {outside(a)}")
            t = len(ufuncs)
            ufuncs.append(foreign[k])
            code += [f"{pad}pa[0] = wp + {row(a) * block * np.dtype(dtype).itemsize}",
                     f"{pad}pa[1] = wp + {row(v) * block * np.dtype(dtype).itemsize}",
                     f"{pad}dm[0] = m",
                     f"{pad}call_loop(fp[{2 * t}], fp[{2 * t + 1}], pa.ctypes.data, "
                     "dm.ctypes.data, st.ctypes.data)"]
            if id(v) in out_index:
                element_loop()
                code.append(f"{inner}o{out_index[id(v)]}[{idx}] = w[{row(v)}, j]")
            continue
        element_loop()
        names: dict[int, str] = {}
        for k in ks:
            eq = prog.equations[k]
            args = [read(a, names) for a in eq.inputs]
            v = eq.outputs[0]
            names[id(v)] = f"t{k}"
            code.append(f"{inner}t{k} = {kernels[eq.primitive].format(*args, z='z')}")
            if id(v) in rows:
                code.append(f"{inner}w[{rows[id(v)]}, j] = t{k}")
            if id(v) in out_index:
                code.append(f"{inner}o{out_index[id(v)]}[{idx}] = t{k}")
    a_args = ", ".join(f"a{j}" for j in range(len(ins)))
    o_args = ", ".join(f"o{j}" for j in range(len(outs)))
    loop_args = ", ".join(filter(None, [a_args, o_args, "fp"]))
    table = ", ".join(f"np.{u.__name__}" for u in ufuncs)
    loop = [f"def _loop({loop_args}):", *consts, f"    z = {ctype}(0.0)", *code]
    whole = in_place_operands(ins, outs, shape)
    src = "\n".join([
        "import math", "import numpy as np", "from numba import njit",
        "from tensorcalc.compile.ufunc_loops import call_loop, loop_table", "",
        f"_FP = loop_table([{table}], {ctype})", "",
        "@njit(cache=True, error_model='numpy')", *loop, *in_place_loops(loop, whole), "",
        *kernel_head(a_args, len(outs), shape, ctype, whole,
                     ", ".join(filter(None, [a_args, "_FP"]))),
        f"    _loop({loop_args.replace('fp', '_FP')})",
        f"    return ({o_args},)", ""])
    return src, tuple(ins), tuple(outs)


def in_place_operands(ins: Sequence[Var], outs: Sequence[Var], shape: tuple) -> list[int]:
    """The operands a one-output kernel may be asked to write into (those of the output's
    shape); none when the kernel has several outputs (it makes fresh arrays)."""
    if len(outs) != 1:
        return []
    return [j for j, a in enumerate(ins) if tuple(a.aval.shape) == tuple(shape)]


def in_place_loops(loop: list[str], positions: list[int]) -> list[str]:
    """For a one-output kernel's loop (``loop``: its ``def _loop(…, o0, …):`` line, then its
    body), one copy per operand ``k`` of ``positions`` (those of the output's shape),
    ``_loop_in{k}``, that writes the output into operand ``k`` itself.

    Why: jit's buffer plan hands a kernel a dying operand as ``out``. With ``o0`` and ``a{k}``
    two arguments on the same memory, the check LLVM inserts before its vector loop (do the
    two overlap?) fails at run time and the scalar loop runs, 1.7× slower on W1's 1797×256
    backward kernel (``python -m bench.fused_in_place``). With one array, each element's
    loads and its store meet at one index and the vector loop runs. Numba compiles a copy
    only when a call first takes it. The bits are the same: the same operations, element by
    element."""
    out: list[str] = []
    for k in positions:
        out += ["", "@njit(cache=True, error_model='numpy')",
                loop[0].replace("def _loop(", f"def _loop_in{k}(").replace(", o0", "")]
        out += [line.replace("o0[", f"a{k}[") for line in loop[1:]]
    return out


def kernel_head(a_args: str, n_out: int, shape: tuple, np_dtype: str,
                positions: Sequence[int] = (), in_place_args: str = "") -> list[str]:
    """The generated ``kernel``'s signature and output arrays (``out=`` for one output).
    A call whose ``out`` is operand ``k`` of ``positions`` runs that operand's
    :func:`in_place_loops` copy instead, with ``in_place_args``, and returns there."""
    if n_out == 1:
        head = [f"def kernel({a_args}, out=None):"]
        for k in positions:
            head += [f"    if out is a{k}:", f"        _loop_in{k}({in_place_args})",
                     f"        return (a{k},)"]
        return head + [f"    o0 = np.empty({shape!r}, {np_dtype}) if out is None else out"]
    return [f"def kernel({a_args}):",
            *[f"    o{j} = np.empty({shape!r}, {np_dtype})" for j in range(n_out)]]


def operand_index(shape: tuple, out_shape: tuple) -> str:
    """The index of an operand of ``shape`` inside the loops over ``out_shape`` (``i0, i1,
    …``), by NumPy's broadcasting: axes align at the right, and an axis of size 1 against a
    longer one reads its element 0 (a bias ``b`` of shape ``(n,)`` in ``(m, n)``: ``b[i1]``)."""
    lead = len(out_shape) - len(shape)
    return ", ".join("0" if n == 1 and out_shape[lead + d] != 1 else f"i{lead + d}"
                     for d, n in enumerate(shape))


def _read_outside(a: Any, ins: list[Var], in_index: dict[int, int], shape: tuple,
                  consts: list[str], ctype: str, literal: Any) -> str:
    """The kernel's name for an operand from outside the group: a constant or an input."""
    if isinstance(a, Literal):
        name = f"c{len(consts)}"
        consts.append(f"    {name} = {ctype}({literal(a.value)})")
        return name
    if id(a) not in in_index:
        in_index[id(a)] = len(ins)
        ins.append(a)
    return f"a{in_index[id(a)]}[{operand_index(tuple(a.aval.shape), shape)}]"


def probe_program(prims: list[Any], shape: tuple[int, ...], dtype: np.dtype) -> Program:
    """``x ↦ (p(x) for p in prims)``: the program tiering's probe fuses as one kernel."""
    aval = ShapedArray(tuple(shape), np.dtype(dtype))
    x = Var(aval)
    eqs = [Equation(p, (x,), (Var(aval),), {}) for p in prims]
    return Program([x], eqs, [eq.outputs[0] for eq in eqs])
