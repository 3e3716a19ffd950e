"""Which kind every public NumPy callable is in ``tensorcalc.numpy`` — data, in one place.

Every public callable of ``numpy``, ``numpy.linalg`` and ``numpy.fft`` (functions and classes;
submodule names are written ``linalg.inv``, ``fft.rfft``) is in exactly one of three lists:

``DIFFERENTIABLE``
    a tensorcalc implementation that records or differentiates the operation (an op record in
    tests/records/ checks it to second order in both modes);
``CONSTANT``
    works on traced values and returns a constant: comparisons, predicates, index-producing and
    counting functions, dtype utilities and types, ``*_like`` creation, printing and I/O. The
    names in ``AVALS_ONLY`` read only shapes and dtypes, so they work under ``jit``/``vmap``;
    the others read the values (the primal of an eager ``grad``/``jvp``) and raise
    ConcretizationError inside ``jit``/``vmap`` unless written as zero-derivative primitives;
``PASS_THROUGH``
    NumPy's own function for plain input; a traced argument raises NotDifferentiableError
    naming the function, the argument and the alternative (``HINTS``).

tests/test_numpy_coverage.py walks NumPy's namespace and fails on a name in none (or two) of the
lists, and docs/conventions.md's table is generated from them (``tools/numpy_coverage_doc.py``).
"""

from __future__ import annotations


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


DIFFERENTIABLE = _names("""
    abs absolute acos acosh add amax amin append apply_along_axis apply_over_axes arccos
    arccosh arcsin arcsinh arctan arctan2 arctanh around array array_split asanyarray asarray
    asarray_chkfinite ascontiguousarray asfortranarray asin asinh astype atan atan2 atanh
    atleast_1d atleast_2d atleast_3d average bincount block broadcast_arrays broadcast_to cbrt
    ceil choose clip column_stack compress concat concatenate convolve copy copysign corrcoef
    correlate cos cosh cov cross cumprod cumsum cumulative_prod cumulative_sum deg2rad degrees
    delete diag diagflat diagonal diff divide divmod dot dsplit dstack ediff1d einsum exp exp2
    expand_dims expm1 extract fabs fill_diagonal fix flip fliplr flipud float_power floor fmax
    fmin fmod fromfunction full geomspace gradient heaviside hsplit hstack hypot i0 inner insert
    interp kron ldexp linspace log log10 log1p log2 logaddexp logaddexp2 logspace matmul
    matrix_transpose matvec max maximum mean median meshgrid min minimum mod modf moveaxis
    multiply nan_to_num nancumprod nancumsum nanmax nanmean nanmedian nanmin nanpercentile
    nanprod nanquantile nanstd nansum nanvar negative outer pad partition percentile
    permute_dims piecewise place poly polyadd polyder polydiv polyfit polyint polymul polysub
    polyval positive pow power prod ptp put put_along_axis quantile rad2deg radians ravel
    reciprocal remainder repeat require reshape resize rint roll rollaxis rot90 round
    row_stack select sign sin sinc sinh sort split sqrt square squeeze stack std subtract sum
    swapaxes take take_along_axis tan tanh tensordot tile trace transpose trapezoid tril
    trim_zeros triu true_divide trunc unstack unwrap vander var vdot vecdot vecmat vectorize
    frompyfunc vsplit vstack where
    linalg.cholesky linalg.cond linalg.cross linalg.det linalg.diagonal linalg.eigh
    linalg.eigvalsh linalg.inv linalg.lstsq linalg.matmul linalg.matrix_norm
    linalg.matrix_power linalg.matrix_transpose linalg.multi_dot linalg.norm linalg.outer
    linalg.pinv linalg.qr linalg.slogdet linalg.solve linalg.svd linalg.svdvals
    linalg.tensordot linalg.trace linalg.vecdot linalg.vector_norm
    fft.fft fft.ifft fft.rfft fft.irfft fft.fftn fft.ifftn fft.fft2 fft.ifft2 fft.rfftn
    fft.irfftn fft.rfft2 fft.irfft2 fft.hfft fft.ihfft fft.fftshift fft.ifftshift
    real imag conj conjugate angle
    linalg.eig linalg.eigvals linalg.tensorinv linalg.tensorsolve
""")

CONSTANT = _names("""
    all allclose any arange argmax argmin argpartition argsort argwhere array2string array_equal
    array_equiv array_repr array_str bartlett binary_repr bitwise_and bitwise_count
    bitwise_invert bitwise_left_shift bitwise_not bitwise_or bitwise_right_shift bitwise_xor
    blackman broadcast_shapes can_cast common_type count_nonzero diag_indices
    diag_indices_from digitize einsum_path empty empty_like equal eye flatnonzero floor_divide
    frexp from_dlpack frombuffer fromfile fromiter fromstring full_like gcd get_printoptions
    greater greater_equal hamming hanning histogram histogram2d histogram_bin_edges histogramdd
    identity indices intersect1d invert isclose iscomplex iscomplexobj isdtype isfinite isin
    isinf isnan isneginf isposinf isreal isrealobj isscalar issubdtype iterable ix_ kaiser lcm
    left_shift less less_equal lexsort load logical_and logical_not logical_or logical_xor
    mask_indices min_scalar_type mintypecode nanargmax nanargmin ndim nextafter nonzero
    not_equal ones ones_like packbits printoptions promote_types ravel_multi_index result_type
    right_shift save savez searchsorted set_printoptions setdiff1d setxor1d shape signbit size
    spacing tri tril_indices tril_indices_from triu_indices triu_indices_from union1d unique
    unique_all unique_counts unique_inverse unique_values unpackbits unravel_index zeros
    zeros_like
    bool bool_ byte bytes_ cdouble character clongdouble complex128 complex256 complex64
    complexfloating csingle datetime64 double dtype errstate finfo flexible float128 float16
    float32 float64 floating generic half iinfo inexact int16 int32 int64 int8 int_ intc
    integer intp long longdouble longlong ndarray number object_ short signedinteger single
    str_ timedelta64 ubyte ufunc uint uint16 uint32 uint64 uint8 uintc uintp ulong ulonglong
    unsignedinteger ushort void
    linalg.matrix_rank
    fft.fftfreq fft.rfftfreq
""")

# Constant names whose NumPy function reads only the shapes and dtypes of its arguments.
AVALS_ONLY = frozenset(_names("""
    broadcast_shapes can_cast common_type diag_indices_from einsum_path iscomplexobj isdtype
    isrealobj isscalar issubdtype iterable mask_indices min_scalar_type mintypecode
    promote_types result_type tril_indices_from triu_indices_from
"""))

# Constant names that are NumPy's own functions: their arguments are sizes and shapes, and a
# traced size is read through ``__index__`` (its value, in eager transformations).
NUMPYS_OWN = frozenset(_names("arange empty eye identity ones tri zeros"))

PASS_THROUGH = _names("""
    asmatrix base_repr bmat busday_count busday_offset copyto datetime_as_string datetime_data
    format_float_positional format_float_scientific fromregex genfromtxt get_include getbufsize
    geterr geterrcall info is_busday isfortran isnat loadtxt may_share_memory nested_iters
    putmask real_if_close savetxt savez_compressed setbufsize seterr seterrcall
    shares_memory show_config show_runtime test typename
    broadcast busdaycalendar flatiter matrix memmap ndenumerate ndindex nditer poly1d recarray
    record
    sort_complex roots
    linalg.test
    fft.test
""")

# Complex-valued helpers with no derivative rule yet (sorting and root-finding of complex
# values); pass-through, with the hint below.
COMPLEX_PENDING = frozenset(_names("""
    sort_complex roots real_if_close
"""))

_COMPLEX_HINT = ("the roots and sorting of complex values have no derivative rule; compute them "
                 "outside the transformed function")

HINTS: dict[str, str] = {
    **dict.fromkeys(COMPLEX_PENDING, _COMPLEX_HINT),
    "copyto": "use the functional update `dst = dst.at[...].set(src)` or tnp.where(mask, src, "
              "dst)",
    "putmask": "use tnp.where(mask, values, a)",
    "asmatrix": "use 2-d arrays with `@` (numpy.matrix is not supported on traced values)",
    "bmat": "use tnp.block",
    "matrix": "use 2-d arrays with `@` (numpy.matrix is not supported on traced values)",
    "poly1d": "use tnp.polyval(p, x) with the coefficient array p",
    "nditer": "iterate over the traced array itself (`for row in x`) or use tnp functions",
    "ndenumerate": "iterate with numpy.ndindex(x.shape) and index the traced array",
    "savetxt": "save the result after the transformation has finished",
    "savez_compressed": "save the result after the transformation has finished",
}


def kind_of(name: str) -> str:
    """``"differentiable"``, ``"constant"`` or ``"pass-through"`` for a listed name."""
    if name in _DIFF_SET:
        return "differentiable"
    if name in _CONST_SET:
        return "constant"
    if name in _PASS_SET:
        return "pass-through"
    raise KeyError(name)


_DIFF_SET = frozenset(DIFFERENTIABLE)
_CONST_SET = frozenset(CONSTANT)
_PASS_SET = frozenset(PASS_THROUGH)


# --- measuring and documenting the coverage (tests/test_numpy_coverage.py, tools/) -------------


def numpy_public_callables() -> list[str]:
    """The public callables (functions and classes, not exceptions) of ``numpy``,
    ``numpy.linalg`` and ``numpy.fft`` in the running NumPy, submodule names prefixed."""
    import numpy as np

    out = []
    for prefix, mod in (("", np), ("linalg.", np.linalg), ("fft.", np.fft)):
        for name in dir(mod):
            if name.startswith("_"):
                continue
            obj = getattr(mod, name)
            if not callable(obj) or (isinstance(obj, type) and issubclass(obj, BaseException)):
                continue
            out.append(prefix + name)
    return sorted(out)


def coverage_counts() -> dict[str, int]:
    """How many of :func:`numpy_public_callables` are of each kind."""
    names = numpy_public_callables()
    counts = {"differentiable": 0, "constant": 0, "pass-through": 0, "total": len(names)}
    for n in names:
        counts[kind_of(n)] += 1
    return counts


def coverage_sentence() -> str:
    """The figure README.md states (kept in sync by the coverage test)."""
    import numpy as np

    c = coverage_counts()
    return (f"all {c['total']} public callables of NumPy {np.__version__} (`numpy`, "
            f"`numpy.linalg`, `numpy.fft`): {c['differentiable']} differentiable, "
            f"{c['constant']} constant on traced values, {c['pass-through']} pass-through")


BEGIN = "<!-- numpy-coverage:begin (generated by tools/numpy_coverage_doc.py) -->"
END = "<!-- numpy-coverage:end -->"


def _wrap(names: list[str], width: int = 96) -> list[str]:
    lines, line = [], ""
    for n in names:
        item = f"`{n}`"
        if line and len(line) + 2 + len(item) > width:
            lines.append(line + ",")
            line = item
        else:
            line = f"{line}, {item}" if line else item
    if line:
        lines.append(line)
    return lines


def render_markdown() -> str:
    """The generated section of docs/conventions.md: every NumPy name, by kind."""
    names = numpy_public_callables()
    c = coverage_counts()
    parts = [BEGIN, "", f"NumPy {__import__('numpy').__version__}: {c['total']} public "
             f"callables; {c['differentiable']} differentiable, {c['constant']} constant on "
             f"traced values, {c['pass-through']} pass-through.", ""]
    titles = (("differentiable", "Differentiable"), ("constant", "Constant on traced values"),
              ("pass-through", "Pass-through (a traced argument raises NotDifferentiableError)"))
    for kind, title in titles:
        group = [n for n in names if kind_of(n) == kind]
        parts += [f"**{title}** ({len(group)}):", ""] + _wrap(group) + [""]
    pending = sorted(n for n in names if n in COMPLEX_PENDING)
    parts += ["Pass-through for now, to become differentiable with complex support:", ""]
    parts += _wrap(pending) + ["", END]
    return "\n".join(parts)
