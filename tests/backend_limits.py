"""Which op records a backend cannot run, and why: data for tests/test_backend_records.py.

Each entry is a known limit of the backend (or of the record's own code on raw arrays, which
tensorcalc does not see), never a wrong result: every listed case must still raise (a strict
xfail), so an entry that starts to pass fails the test until it is removed here."""

from __future__ import annotations

from tests.backend_port_pending import PORT_PENDING

REASONS = {
    'port_pending': (
        'code added in this release still assumes NumPy here (a dtype query, a NumPy-only '
        'step inside a composition, or a Dask/strict limit); it raises, never a silent result'),
    'scipy': (
        'scipy.special (erf, erfc, gammaln, polygamma) runs on NumPy only unless '
        'SCIPY_ARRAY_API=1'),
    'dask_fancy': "the record's own nd fancy indexing of a raw Dask array",
    'dask_mask': 'boolean-mask indexing gives a Dask array of unknown size',
    'dask_empty': (
        "Dask cannot reshape a 0-size block of an empty stack ('cannot reshape array of size "
        "0'); it raises, NumPy returns the empty result"),
    'strict_operator': (
        "array_api_strict's operators refuse a traced operand (the record writes x * t on"
        ' raw arrays); tnp functions work'),
    'strict_method': (
        'array_api_strict arrays have no .sum(), .real, .reshape or .transpose methods (the '
        "record's own code calls them on a raw array)"),
    'torch_method': (
        "the record calls NumPy's x.transpose(0, 2, 1) on a raw tensor; torch's transpose "
        'swaps two axes'),
    'record_numpy_const': (
        'the record combines a raw backend array with a NumPy array itself (3.0 * np.eye(n), '
        'a * np.array([...]), x[np_index]): array_api_strict refuses it, torch meta tensors '
        'cannot take host data'),
    'value_shape': (
        "the result's shape depends on the input's values (extract, trim_zeros, polydiv's "
        'trimmed remainder): computed on the host for NumPy arrays, BackendError for other '
        'libraries rather than a silent copy to the host'),
    'strict_index': (
        'the record indexes a raw array_api_strict array itself (strict refuses lists, '
        'NumPy index arrays, partial indices)'),
    'strict_promote': 'array_api_strict refuses mixing integer and float arrays (NumPy promotes)',
    'matrix_power0': (
        'matrix_power(a, 0) of a traced value returns a NumPy identity (not yet on the '
        'backend)'),
    'torch_negstep': (
        'the record slices a raw torch tensor with a negative step, which torch does not '
        'take'),
    'promotion': (
        "the staged loop body follows NumPy's promotion (int64 x float32 -> float64), "
        "torch's gives float32"),
    'torch_only': (
        'expm, expm_frechet, lu_factor and lu_solve run on NumPy and torch only (the array-API '
        'standard has no matrix exponential or LU); other libraries get BackendError'),
    'meta_values': (
        "torch meta tensors have no values (array_api_compat's sign, boolean masks, cond,"
        ' lstsq rank, a vectorized Python function read them)'),
}

#: backend -> reason -> record id -> the checks that fail ("all": eager, jvp, vjp, grad)
LIMITS: dict[str, dict[str, dict[str, str]]] = {
    'dask': {
        # every row, not only the third-row sample: a record added elsewhere shifts it
        'torch_only': {
            'expm': 'eager,grad',
            'expm_1x1': 'eager,grad',
            'expm_frechet': 'eager,grad',
            'expm_frechet_stack_a': 'eager,grad',
            'expm_stack': 'eager,grad',
            'lu_factor': 'eager,grad',
            'lu_factor_stack': 'eager,grad',
            'lu_solve': 'eager,grad',
            'lu_solve_T': 'eager,grad',
            'lu_solve_T_matrix': 'eager,grad',
            'lu_solve_matrix': 'eager,grad',
            'lu_solve_stack_lu': 'eager,grad',
        },
        'dask_fancy': {
            'getitem_fancy_2d': 'eager',
            'getitem_mixed_separated': 'eager',
            'np_frompyfunc_fromfunction': 'eager',  # x[i] with fromfunction's 2-D index grid
        },
        'dask_mask': {
            'getitem_mask_2d': 'eager',
        },
        'dask_empty': {
            'np_empty_vecdot_matvec': 'grad',
        },
        'value_shape': {
            'np_trim_zeros': 'eager,grad',
        },
        'scipy': {
            'digamma(2, 3)': 'eager,grad',
            'erf(2, 3)': 'eager,grad',
            'erfc(2, 3)': 'eager,grad',
            'gammaln(2, 3)': 'eager,grad',
            'polygamma1(2, 3)': 'eager,grad',
            'polygamma3(2, 3)': 'eager,grad',
            'psi(2, 3)': 'eager,grad',
        },
    },
    'strict': {
        'torch_only': {
            'expm': 'all',
            'expm_1x1': 'all',
            'expm_frechet': 'all',
            'expm_frechet_stack_a': 'all',
            'expm_stack': 'all',
            'lu_factor': 'all',
            'lu_factor_stack': 'all',
            'lu_solve': 'all',
            'lu_solve_T': 'all',
            'lu_solve_T_matrix': 'all',
            'lu_solve_matrix': 'all',
            'lu_solve_stack_lu': 'all',
        },
        'matrix_power0': {
            'linalg.matrix_power(0)': 'jvp',
        },
        'record_numpy_const': {
            'c_cholesky': 'eager',
            'c_cholesky_upper': 'eager',
            'c_eigh_absv': 'eager',
            'c_eigh_projector': 'eager',
            'c_eigvalsh': 'eager',
            'np_fft_ifft': 'eager',
            'np_hfft_ihfft': 'eager',
            'np_rfft_irfft': 'eager',
            'np_rfft_odd_irfft_n': 'eager',
            'np_rfftn_forward': 'eager',
            'np_trim_zeros': 'eager',
        },
        'scipy': {
            'digamma()': 'all',
            'digamma(2, 3)': 'all',
            'digamma(4,)': 'all',
            'erf()': 'all',
            'erf(2, 3)': 'all',
            'erf(4,)': 'all',
            'erfc()': 'all',
            'erfc(2, 3)': 'all',
            'erfc(4,)': 'all',
            'gammaln()': 'all',
            'gammaln(2, 3)': 'all',
            'gammaln(4,)': 'all',
            'nn.gelu_erf': 'all',
            'polygamma1()': 'all',
            'polygamma1(2, 3)': 'all',
            'polygamma1(4,)': 'all',
            'polygamma3()': 'all',
            'polygamma3(2, 3)': 'all',
            'polygamma3(4,)': 'all',
            'psi()': 'all',
            'psi(2, 3)': 'all',
            'psi(4,)': 'all',
        },
        'strict_index': {
            'concatenate_ax0': 'eager',
            'getitem_fancy_2d': 'eager',
            'getitem_fancy_negative': 'eager',
            'getitem_fancy_repeat': 'eager',
            'getitem_int': 'eager',
            'getitem_mask': 'eager',
            'getitem_mask_2d': 'eager',
            'getitem_mask_axis1': 'eager',
            'getitem_mixed_adjacent': 'eager',
            'getitem_mixed_separated': 'eager',
            'getitem_newaxis_fancy': 'eager',
            'np_ediff1d': 'eager',
            'np_empty_vecdot_matvec': 'eager',
            'np_frompyfunc_fromfunction': 'eager',
            'take_scalar': 'eager',
        },
        'strict_method': {
            'attrs()': 'eager',
            'attrs(0,)': 'eager',
            'attrs(2, 3)': 'eager',
            'attrs(3,)': 'eager',
            'composite_sum_pytree': 'eager',
            'einsum_nonlinear_mix': 'eager',
            'np_append_insert_delete': 'eager',
            'np_apply_along_axis': 'eager',
            'np_at_modes': 'eager',
            'np_correlate': 'eager',
            'np_empty_append_insert': 'eager',
            'np_empty_diff_cumulative': 'eager',
            'np_r_c_': 'eager',
            'np_resize_compress_extract': 'eager',
            'np_rollaxis_permute_mT': 'eager',
            'np_row_stack_concat_unstack': 'eager',
            'softmax_cross_entropy': 'eager',
        },
        'strict_operator': {
            'ceil(2, 3)': 'grad,jvp,vjp',
            'ceil(4,)': 'grad,jvp,vjp',
            'custom_jvp scalar': 'grad,vjp',
            'custom_jvp sinh': 'grad,vjp',
            'custom_linear_solve symmetric': 'eager',
            'custom_linear_solve transpose_solve': 'eager',
            'floor(2, 3)': 'grad,jvp,vjp',
            'floor(4,)': 'grad,jvp,vjp',
            'floor_divide(2, 3)x(3,)': 'grad,jvp,vjp',
            'floor_divide(3,)x(3,)': 'grad,jvp,vjp',
            'linalg.slogdet_sign()': 'grad,jvp,vjp',
            'linalg.slogdet_sign(2,)': 'grad,jvp,vjp',
            'logical_and_or()x(2, 2)': 'grad,jvp,vjp',
            'np_heaviside': 'grad,jvp,vjp',
            'rint(2, 3)': 'grad,jvp,vjp',
            'rint(4,)': 'grad,jvp,vjp',
            'round(2, 3)': 'grad,jvp,vjp',
            'round(4,)': 'grad,jvp,vjp',
            'sign()': 'grad,jvp,vjp',
            'sign(2, 3)': 'grad,jvp,vjp',
            'sign(2, 3, 2)': 'grad,jvp,vjp',
            'sign(4,)': 'grad,jvp,vjp',
            'trunc(2, 3)': 'grad,jvp,vjp',
            'trunc(4,)': 'grad,jvp,vjp',
        },
        'strict_promote': {
            'argmax_argmin': 'all',
            'argmax_keepdims': 'all',
            'fori_loop': 'grad,jvp,vjp',
            'np_frompyfunc_fromfunction': 'grad,jvp,vjp',
        },
        'value_shape': {
            'np_polydiv': 'eager,grad,jvp,vjp',
            'np_resize_compress_extract': 'grad,jvp,vjp',
            'np_trim_zeros': 'grad,jvp,vjp',
        },
    },
    'strict-device1': {
        'torch_only': {
            'expm': 'grad',
            'expm_1x1': 'grad',
            'expm_frechet': 'grad',
            'expm_frechet_stack_a': 'grad',
            'expm_stack': 'grad',
            'lu_factor': 'grad',
            'lu_factor_stack': 'grad',
            'lu_solve': 'grad',
            'lu_solve_T': 'grad',
            'lu_solve_T_matrix': 'grad',
            'lu_solve_matrix': 'grad',
            'lu_solve_stack_lu': 'grad',
        },
        'scipy': {
            'digamma()': 'grad',
            'digamma(2, 3)': 'grad',
            'digamma(4,)': 'grad',
            'erf()': 'grad',
            'erf(2, 3)': 'grad',
            'erf(4,)': 'grad',
            'erfc()': 'grad',
            'erfc(2, 3)': 'grad',
            'erfc(4,)': 'grad',
            'gammaln()': 'grad',
            'gammaln(2, 3)': 'grad',
            'gammaln(4,)': 'grad',
            'nn.gelu_erf': 'grad',
            'polygamma1()': 'grad',
            'polygamma1(2, 3)': 'grad',
            'polygamma1(4,)': 'grad',
            'polygamma3()': 'grad',
            'polygamma3(2, 3)': 'grad',
            'polygamma3(4,)': 'grad',
            'psi()': 'grad',
            'psi(2, 3)': 'grad',
            'psi(4,)': 'grad',
        },
        'strict_operator': {
            'ceil(2, 3)': 'grad',
            'ceil(4,)': 'grad',
            'custom_jvp scalar': 'grad',
            'custom_jvp sinh': 'grad',
            'floor(2, 3)': 'grad',
            'floor(4,)': 'grad',
            'floor_divide(2, 3)x(3,)': 'grad',
            'floor_divide(3,)x(3,)': 'grad',
            'linalg.slogdet_sign()': 'grad',
            'linalg.slogdet_sign(2,)': 'grad',
            'logical_and_or()x(2, 2)': 'grad',
            'np_heaviside': 'grad',
            'rint(2, 3)': 'grad',
            'rint(4,)': 'grad',
            'round(2, 3)': 'grad',
            'round(4,)': 'grad',
            'sign()': 'grad',
            'sign(2, 3)': 'grad',
            'sign(2, 3, 2)': 'grad',
            'sign(4,)': 'grad',
            'trunc(2, 3)': 'grad',
            'trunc(4,)': 'grad',
        },
        'strict_promote': {
            'argmax_argmin': 'grad',
            'argmax_keepdims': 'grad',
            'fori_loop': 'grad',
            'np_frompyfunc_fromfunction': 'grad',
        },
        'value_shape': {
            'np_polydiv': 'grad',
            'np_resize_compress_extract': 'grad',
            'np_trim_zeros': 'grad',
        },
    },
    'torch-f32': {
        'promotion': {
            'fori_loop': 'grad',
        },
        'scipy': {
            'digamma()': 'eager,grad',
            'digamma(2, 3)': 'eager,grad',
            'digamma(4,)': 'eager,grad',
            'erf()': 'eager,grad',
            'erf(2, 3)': 'eager,grad',
            'erf(4,)': 'eager,grad',
            'erfc()': 'eager,grad',
            'erfc(2, 3)': 'eager,grad',
            'erfc(4,)': 'eager,grad',
            'gammaln()': 'eager,grad',
            'gammaln(2, 3)': 'eager,grad',
            'gammaln(4,)': 'eager,grad',
            'nn.gelu_erf': 'eager,grad',
            'polygamma1()': 'eager,grad',
            'polygamma1(2, 3)': 'eager,grad',
            'polygamma1(4,)': 'eager,grad',
            'polygamma3()': 'eager,grad',
            'polygamma3(2, 3)': 'eager,grad',
            'polygamma3(4,)': 'eager,grad',
            'psi()': 'eager,grad',
            'psi(2, 3)': 'eager,grad',
            'psi(4,)': 'eager,grad',
        },
        'torch_method': {
            'np_rollaxis_permute_mT': 'eager',
        },
        'torch_negstep': {
            'getitem_step_negative': 'eager',
        },
        'value_shape': {
            'np_polydiv': 'eager,grad',
            'np_resize_compress_extract': 'eager,grad',
            'np_trim_zeros': 'eager,grad',
        },
    },
    'torch-f64': {
        'matrix_power0': {
            'linalg.matrix_power(0)': 'jvp',
        },
        'scipy': {
            'digamma()': 'all',
            'digamma(2, 3)': 'all',
            'digamma(4,)': 'all',
            'erf()': 'all',
            'erf(2, 3)': 'all',
            'erf(4,)': 'all',
            'erfc()': 'all',
            'erfc(2, 3)': 'all',
            'erfc(4,)': 'all',
            'gammaln()': 'all',
            'gammaln(2, 3)': 'all',
            'gammaln(4,)': 'all',
            'nn.gelu_erf': 'all',
            'polygamma1()': 'all',
            'polygamma1(2, 3)': 'all',
            'polygamma1(4,)': 'all',
            'polygamma3()': 'all',
            'polygamma3(2, 3)': 'all',
            'polygamma3(4,)': 'all',
            'psi()': 'all',
            'psi(2, 3)': 'all',
            'psi(4,)': 'all',
        },
        'torch_method': {
            'np_rollaxis_permute_mT': 'eager',
        },
        'torch_negstep': {
            'getitem_step_negative': 'eager',
        },
        'value_shape': {
            'np_polydiv': 'eager,grad,jvp,vjp',
            'np_resize_compress_extract': 'eager,grad,jvp,vjp',
            'np_trim_zeros': 'eager,grad,jvp,vjp',
        },
    },
    'torch-meta': {
        'meta_values': {
            'abs()': 'vjp',
            'abs_neg()': 'vjp',
            'at_add_mask': 'vjp',
            'cbrt()': 'eager',
            'cond': 'eager,vjp',
            'cond false': 'eager,vjp',
            'getitem_mask': 'eager,vjp',
            'getitem_mask_2d': 'eager,vjp',
            'getitem_mask_axis1': 'eager,vjp',
            'linalg.lstsq_residuals': 'eager,vjp',
            'linalg.lstsq_s': 'eager,vjp',
            'linalg.lstsq_x(2,4)x(2,)': 'eager,vjp',
            'linalg.lstsq_x(5,3)x(5,)': 'eager,vjp',
            'linalg.lstsq_x(5,3)x(5,2)': 'eager,vjp',
            'logsumexp_b()_axNone_kFalse': 'vjp',
            'np_polyfit': 'eager,vjp',
            'np_vectorize': 'eager,vjp',
            'sign()': 'eager,vjp',
        },
        'record_numpy_const': {
            'c_cholesky': 'eager',
            'c_cholesky_upper': 'eager',
            'c_eigh_absv': 'eager',
            'c_eigh_projector': 'eager',
            'c_eigvalsh': 'eager',
            'np_fft_ifft': 'eager',
            'np_frompyfunc_fromfunction': 'eager',
            'np_hfft_ihfft': 'eager',
            'np_rfft_irfft': 'eager',
            'np_rfft_odd_irfft_n': 'eager',
            'np_rfftn_forward': 'eager',
            'np_trim_zeros': 'eager',
        },
        'scipy': {
            'digamma()': 'eager,vjp',
            'digamma(2, 3)': 'eager,vjp',
            'digamma(4,)': 'eager,vjp',
            'erf()': 'eager,vjp',
            'erf(2, 3)': 'eager,vjp',
            'erf(4,)': 'eager,vjp',
            'erfc()': 'eager,vjp',
            'erfc(2, 3)': 'eager,vjp',
            'erfc(4,)': 'eager,vjp',
            'gammaln()': 'eager,vjp',
            'gammaln(2, 3)': 'eager,vjp',
            'gammaln(4,)': 'eager,vjp',
            'nn.gelu_erf': 'eager,vjp',
            'polygamma1()': 'eager,vjp',
            'polygamma1(2, 3)': 'eager,vjp',
            'polygamma1(4,)': 'eager,vjp',
            'polygamma3()': 'eager,vjp',
            'polygamma3(2, 3)': 'eager,vjp',
            'polygamma3(4,)': 'eager,vjp',
            'psi()': 'eager,vjp',
            'psi(2, 3)': 'eager,vjp',
            'psi(4,)': 'eager,vjp',
        },
        'torch_method': {
            'np_rollaxis_permute_mT': 'eager',
        },
        'torch_negstep': {
            'getitem_step_negative': 'eager',
        },
        'value_shape': {
            'np_polydiv': 'eager,vjp',
            'np_resize_compress_extract': 'eager,vjp',
            'np_trim_zeros': 'vjp',
        },
    },
}



def limit_of(backend: str, rec_id: str, check: str) -> str | None:
    """The reason ``rec_id`` cannot run ``check`` on ``backend``, or None."""
    for key, records in LIMITS.get(backend, {}).items():
        checks = records.get(rec_id)
        if checks is not None and (checks == "all" or check in checks.split(",")):
            return REASONS[key]
    checks = PORT_PENDING.get(backend, {}).get(rec_id)
    if checks is not None and check in checks.split(","):
        return REASONS["port_pending"]
    return None
