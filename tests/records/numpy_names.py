"""Op records for the NumPy names added by issue 17 (compositions of existing primitives, the
``fft`` and ``bessel_i`` primitives): order statistics and NaN reductions, covariance,
differences and integrals, polynomials, joining and index updates, array construction from
lists, ``r_``/``c_``/``block``, FFTs and ``.at[]`` updates; with broadcasting, empty and 0-d
inputs where the function allows them."""

from __future__ import annotations

import numpy as np

import tensorcalc.numpy as tnp

from . import OpRecord


def _n(*shapes):
    return lambda rng: tuple(rng.standard_normal(s) for s in shapes)


def _distinct(*shapes):
    # well-separated entries: sort-based functions are smooth there
    def make(rng):
        out = []
        for s in shapes:
            k = int(np.prod(s))
            out.append((rng.permutation(k) + 0.3 * rng.random(k)).reshape(s))
        return tuple(out)

    return make


def _pos(*shapes):
    return lambda rng: tuple(rng.uniform(0.5, 2.0, s) for s in shapes)


RECORDS: list[OpRecord] = []


def _add(id_, fn, args, prims=(), **kw):
    RECORDS.append(OpRecord(f"np_{id_}", fn, args, primitives=tuple(prims), **kw))


# --- order statistics ----------------------------------------------------------------------

_add("median_odd", lambda x: tnp.median(x), _distinct((5,)))
_add("median_axis_keepdims", lambda x: tnp.median(x, axis=1, keepdims=True) * x,
     _distinct((3, 4)))
_add("percentile_vector_q", lambda x: tnp.percentile(x, [10.0, 50.0, 95.0], axis=0),
     _distinct((6, 2)))
_add("quantile_traced_q", lambda x, q: tnp.quantile(x, q), lambda rng: (
    _distinct((7,))(rng)[0], np.array([0.33, 0.71])))
for _m in ("lower", "higher", "nearest", "midpoint"):
    _add(f"quantile_{_m}", lambda x, m=_m: tnp.quantile(x, 0.4, method=m, axis=-1),
         _distinct((2, 6)))
_add("quantile_multi_axis", lambda x: tnp.quantile(x, 0.3, axis=(0, 2)), _distinct((2, 3, 4)))
_add("median_0d_scalar_q", lambda x: tnp.median(x * 2.0), _distinct(()))


def _with_nan(shape, where):
    def make(rng):
        (x,) = _distinct(shape)(rng)
        x[where] = np.nan
        return (x,)

    return make


_add("nanmedian", lambda x: tnp.nanmedian(x, axis=1), _with_nan((2, 5), (0, 1)))
_add("nanpercentile", lambda x: tnp.nanpercentile(x, 30.0), _with_nan((6,), 2))
_add("nanquantile", lambda x: tnp.nanquantile(x, [0.2, 0.9], axis=0), _with_nan((5, 2), (1, 1)))
_add("nanmax_nanmin", lambda x: tnp.nanmax(x, axis=0) * tnp.nanmin(x),
     _with_nan((3, 2), (1, 0)))
_add("nanprod", lambda x: tnp.nanprod(x, axis=1), _with_nan((2, 3), (0, 2)))
_add("nancumsum_nancumprod", lambda x: tnp.nancumsum(x) + tnp.nancumprod(x),
     _with_nan((4,), 1))
_add("nanvar_nanstd", lambda x: tnp.nanvar(x, axis=0, ddof=1) + tnp.nanstd(x),
     _with_nan((4, 2), (2, 1)))
_add("partition", lambda x: tnp.partition(x, 2)[2] * x, _distinct((5,)))

# --- covariance ------------------------------------------------------------------------------

_add("cov", lambda x: tnp.cov(x), _n((3, 5)))
_add("cov_rowvar_false_y", lambda x, y: tnp.cov(x, y, rowvar=False), _n((5, 2), (5,)))
_add("cov_weights_bias", lambda x: tnp.cov(x, aweights=[1.0, 2.0, 0.5, 1.0],
                                           fweights=[1, 2, 1, 3], bias=True), _n((2, 4)))
_add("corrcoef", lambda x: tnp.corrcoef(x)[0, 1] + tnp.corrcoef(x)[1, 2], _n((3, 6)))

# --- differences, integrals, interpolation ---------------------------------------------------

_add("diff_n2", lambda x: tnp.diff(x, n=2, axis=0), _n((5, 2)))
_add("diff_prepend_append", lambda x: tnp.diff(x, prepend=0.5, append=x[:1]), _n((4,)))
_add("ediff1d", lambda x: tnp.ediff1d(x, to_begin=[1.0, 2.0], to_end=x[0]), _n((2, 3)))
_add("gradient_uniform", lambda x: tnp.gradient(x, 0.5)[1], _n((3, 4)))
_add("gradient_edge2_axis", lambda x: tnp.gradient(x, axis=0, edge_order=2), _n((5, 2)))
_add("gradient_coords", lambda f, x: tnp.gradient(f, tnp.cumsum(x * x + 1.0), edge_order=2),
     _n((5,), (5,)))
_add("trapezoid_x", lambda y, x: tnp.trapezoid(y, tnp.cumsum(x * x)), _n((2, 5), (5,)))
_add("trapezoid_dx", lambda y: tnp.trapezoid(y, dx=0.1, axis=0), _n((4, 3)))
_add("interp", lambda x, fp: tnp.interp(x, np.array([-1.0, 0.0, 0.7, 2.0]), fp),
     lambda rng: (rng.uniform(-1.5, 2.5, 6), rng.standard_normal(4)))
_add("interp_xp", lambda xp: tnp.interp(np.array([0.2, 1.1, 2.9]), tnp.cumsum(xp * xp + 0.5),
                                        tnp.sin(xp)), _n((4,)))
_add("unwrap", lambda p: tnp.unwrap(p * 4.0), _n((6,)))
_add("cumulative_sum_prod", lambda x: tnp.cumulative_sum(x, axis=1, include_initial=True)
     + tnp.cumulative_prod(x, axis=1, include_initial=True), _n((2, 3)))
_add("nan_to_num", lambda x: tnp.nan_to_num(tnp.log(x), neginf=-5.0),
     lambda rng: (np.array([0.5, 2.0, 3.0]),))
_add("heaviside", lambda x, h: tnp.heaviside(np.array([-1.0, 0.0, 2.0]), h) * h
     + tnp.heaviside(x, 0.5) * x, _n((3,), (3,)))
_add("ldexp_modf_fix", lambda x: tnp.ldexp(x, 3) + tnp.modf(x * 3.0)[0] + tnp.fix(x),
     lambda rng: (np.array([0.3, -1.2, 2.45]),))
_add("divmod", lambda x, y: tnp.divmod(x, y)[1] * x, lambda rng: (
    np.array([3.3, -2.2, 5.1]), np.array([1.3, 1.7, -2.4])))
_add("vecdot_broadcast", lambda a, b: tnp.vecdot(a, b), _n((2, 3), (3,)))
_add("matvec_vecmat", lambda A, v: tnp.matvec(A, v) + tnp.vecmat(v, A), _n((2, 3, 3), (3,)))
for _mode in ("full", "same", "valid"):
    _add(f"convolve_{_mode}", lambda a, v, m=_mode: tnp.convolve(a, v, m), _n((5,), (3,)))
_add("correlate", lambda a, v: tnp.correlate(a, v, "full") + tnp.correlate(a, v).sum(),
     _n((4,), (4,)))
_add("i0", lambda x: tnp.i0(x) * tnp.i0(x * 0.5), _n((4,)), ["bessel_i"])

# --- polynomials -----------------------------------------------------------------------------

_add("polyval", lambda p, x: tnp.polyval(p, x), _n((4,), (2, 3)))
_add("polyadd_sub_mul", lambda a, b: tnp.polyadd(a, b) * 2.0 + tnp.polysub(b, a)
     + tnp.polymul(a, b)[:4], _n((3,), (4,)))
_add("polyder_polyint", lambda p: tnp.polyder(p, 2) + tnp.polyint(p, 1, k=p[0])[:-3],
     _n((5,)))
_add("polydiv", lambda u, v: tnp.polydiv(u, v)[0] + tnp.polydiv(u, v)[1][-1:],
     lambda rng: (rng.standard_normal(5), rng.standard_normal(3) + np.array([3.0, 0, 0])))
_add("poly_roots", lambda r: tnp.poly(r), _n((3,)))
_add("vander", lambda x: tnp.vander(x, 4) + tnp.vander(x, 4, increasing=True), _n((3,)))
_add("polyfit", lambda x, y: tnp.polyfit(x, y, 2),
     lambda rng: (np.linspace(-1, 1, 6) + 0.05 * rng.random(6), rng.standard_normal(6)))

# --- joining, reordering, updates ------------------------------------------------------------

_add("append_insert_delete", lambda a, v: tnp.insert(
    tnp.delete(tnp.append(a, v, axis=0), 1, axis=0), 0, v, axis=0).sum(axis=1)
    + tnp.append(a, v)[:4], _n((3, 2), (1, 2)))
_add("insert_flat_scalar", lambda a: tnp.insert(a, [1, 3], a[0, 0]), _n((2, 2)))
_add("resize_compress_extract", lambda a: tnp.resize(a, (3, 3))
     + tnp.compress([True, False, True], a, axis=1).sum() + tnp.extract(a > 0, a).sum(),
     lambda rng: (np.array([[1.0, -2.0, 3.0], [0.5, 2.5, -1.0]]),))
_add("trim_zeros", lambda a: tnp.trim_zeros(a * np.array([0.0, 0.0, 1.0, 1.0, 0.0])) ** 2,
     _n((5,)))
_add("choose", lambda a, b: tnp.choose(np.array([[0, 1], [1, 0]]), [a, b]), _n((2, 2), (2,)))
_add("rollaxis_permute_mT", lambda x: tnp.rollaxis(x, 2) + tnp.permute_dims(x, (2, 0, 1))
     + tnp.matrix_transpose(tnp.moveaxis(x, 2, 0)).transpose(0, 2, 1), _n((2, 3, 4)))
_add("row_stack_concat_unstack", lambda a, b: tnp.row_stack([a, b])
     + tnp.concat([b, a], axis=0).reshape(2, 3) + tnp.stack(tnp.unstack(tnp.stack([a, b]))),
     _n((3,), (3,)))
_add("broadcast_arrays_0d", lambda a, b: tnp.broadcast_arrays(a, b)[0] * b, _n((), (2, 3)))
_add("meshgrid", lambda x, y: tnp.meshgrid(x, y)[0] * tnp.meshgrid(x, y, indexing="ij")[1].T,
     _n((3,), (2,)))
_add("diagflat", lambda v: tnp.diagflat(v, 1), _n((2, 2)))
_add("bincount_weights", lambda w: tnp.bincount(np.array([0, 2, 2, 4]), w, minlength=6),
     _n((4,)))
_add("place_put_fill_diag", lambda a, v: tnp.fill_diagonal(
    tnp.put(tnp.place(a, a > 0, v, inplace=False), [0, 5], v[:1], inplace=False),
    v[1], inplace=False), _n((3, 3), (2,)))
_add("put_along_axis", lambda a, v: tnp.put_along_axis(a, np.array([[1], [0]]), v, axis=1,
                                                       inplace=False), _n((2, 3), (2, 1)))
_add("apply_along_axis", lambda a: tnp.apply_along_axis(lambda r: r * r.sum(), 1, a),
     _n((3, 2)))
_add("apply_over_axes", lambda a: tnp.apply_over_axes(tnp.sum, a * a, [0, 2]), _n((2, 3, 2)))
_add("piecewise", lambda x: tnp.piecewise(x, [x < 0, x > 1], [lambda v: v * v, tnp.sqrt,
                                                               lambda v: 2.0 * v]),
     lambda rng: (np.array([-1.5, 0.3, 0.8, 2.0, 3.1]),))
_add("vectorize", lambda x, y: tnp.vectorize(lambda a, b: a * b if a > 0 else a - b)(x, y),
     lambda rng: (np.array([[1.0, -2.0], [0.5, -0.3]]), np.array([2.0, 3.0])))
_add("vectorize_signature", lambda x: tnp.vectorize(lambda r: r @ r, signature="(n)->()")(x),
     _n((3, 2)))
_add("frompyfunc_fromfunction", lambda x: tnp.frompyfunc(lambda a: a * a, 1, 1)(x)
     + tnp.fromfunction(lambda i, j: x[i] * j, (3, 3), dtype=int).sum(axis=1), _n((3,)))

# --- construction from lists, grids, r_ / c_ / block ----------------------------------------

_add("array_of_list", lambda x: tnp.array([x[0], 1.0, x[1] * x[2]]), _n((3,)))
_add("asarray_nested_mixed", lambda x: tnp.asarray([[x[0], 2], x[1:3], np.array([1.0, 4.0]),
                                                    [3.0, x[0]]]), _n((3,)))
_add("array_ndmin_float32", lambda x: tnp.array([x, x * 2.0], ndmin=3), _n((2,)))
_add("full_full_like", lambda v: tnp.full((2, 3), v) + tnp.full_like(np.ones(3), v[0]),
     _n((3,)))
_add("linspace_logspace_geomspace", lambda a, b: tnp.linspace(a, b, 5) + tnp.logspace(a, b, 5)
     + tnp.geomspace(tnp.exp(a), tnp.exp(b), 5), _n((), ()))
_add("linspace_arrays_retstep", lambda a, b: tnp.linspace(a, b, 4, axis=-1, endpoint=False)
     * tnp.linspace(a, b, 4, retstep=True)[1][..., None], _n((2,), (2,)))
_add("r_c_", lambda a, b: tnp.r_[a, 1.0, b, 0:2] + tnp.c_[a, a][:, 1].sum()
     + tnp.r_["0,2", b, b].sum(), _n((2,), (3,)))
_add("block", lambda A, b: tnp.block([[A, b[:, None]], [b[None, :], np.ones((1, 1))]]),
     _n((2, 2), (2,)))

# --- FFT -------------------------------------------------------------------------------------

_w = np.array([1.0 + 0.5j, -0.3 + 2.0j, 0.7 - 1.0j, 2.0 + 0.1j])
_add("rfft_irfft", lambda x: tnp.fft.irfft(tnp.fft.rfft(x) * _w[:4], 6), _n((6,)), ["fft"])
_add("rfft_odd_irfft_n", lambda x: tnp.fft.irfft(tnp.fft.rfft(x, n=7) * _w, n=7) ** 2,
     _n((2, 5)), ["fft"])
_add("fft_ifft", lambda x: tnp.fft.irfft(tnp.fft.fft(x)[:4] * _w + tnp.fft.ifft(x)[:4]),
     _n((6,)), ["fft"])
_add("fftn_ifftn_ortho", lambda x: tnp.fft.irfftn(tnp.fft.fftn(x, norm="ortho")[:, :3]
                                                  * tnp.fft.ifft2(x)[:, :3], s=(3, 4)),
     _n((3, 4)), ["fft"])
_add("rfftn_forward", lambda x: tnp.fft.irfft2(tnp.fft.rfftn(x, norm="forward") * _w[:3],
                                               norm="forward"), _n((2, 4)), ["fft"])
_add("hfft_ihfft", lambda x: tnp.fft.hfft(tnp.fft.ihfft(x) * _w[:3]), _n((4,)), ["fft"])
_add("fftshift", lambda x: tnp.fft.fftshift(x) * tnp.fft.ifftshift(x, axes=0), _n((3, 4)))

# --- .at[] updates -------------------------------------------------------------------------------

_add("at_multiply_repeated", lambda x, v: tnp.at(x)[np.array([0, 2, 0])].multiply(v),
     _n((4,), (3,)))
_add("at_divide_power", lambda x, v: tnp.at(tnp.at(x)[1:].divide(v))[0].power(3.0),
     lambda rng: (rng.uniform(0.5, 2.0, 3), rng.uniform(0.5, 2.0, 2)))
_add("at_min_max", lambda x, v: tnp.at(tnp.at(x)[:, 0].min(v))[0, :].max(v[0]),
     lambda rng: (np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.25, 1.5])))
_add("at_apply", lambda x: tnp.at(x)[np.array([0, 0, 2])].apply(tnp.sin), _n((3,)))
_add("at_modes", lambda x, v: tnp.at(x)[np.array([1, 5, -1])].set(v, mode="drop")
     + tnp.at(x)[np.array([7, 0])].get(mode="clip").sum()
     + tnp.at(x)[np.array([0, 9])].get(mode="fill", fill_value=0.0).sum(), _n((3,), (3,)))
_add("at_add_clip", lambda x, v: tnp.at(x)[np.array([4, -5, 1])].add(v, mode="clip"),
     _n((3,), (3,)))

# --- empty and 0-d operands --------------------------------------------------------------------

_add("empty_append_insert", lambda e, x: tnp.append(e, x) * tnp.insert(e, 0, x[0]).sum(),
     _n((0,), (2,)))
_add("empty_diff_cumulative", lambda x, e: tnp.diff(x).sum() + tnp.cumulative_sum(e).sum()
     + tnp.ediff1d(x[:1]).sum() + x[0], _n((1,), (0,)))
_add("empty_vecdot_matvec", lambda a, b: tnp.vecdot(a, b) + tnp.matvec(
    tnp.ones((2, 0)), b[0]), _n((2, 0), (2, 0)))
_add("empty_block_r_", lambda e, x: tnp.r_[e, x] * tnp.block([e, x]), _n((0,), (3,)))
_add("scalar_polyval_interp", lambda p, x: tnp.polyval(p, x) + tnp.interp(
    x, np.array([-3.0, 3.0]), p[:2]), lambda rng: (rng.standard_normal(3), np.array(0.4)))
_add("scalar_quantile_of_0d_q", lambda x, q: tnp.quantile(x, q), lambda rng: (
    _distinct((4,))(rng)[0], np.array(0.6)))
