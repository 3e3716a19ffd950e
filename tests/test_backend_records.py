"""The whole op-record table on every array backend (tests/backends.py): eager value, ``jvp``,
``vjp`` and ``grad`` of each record, on the backend's arrays, against the same computation on
NumPy float64, within a tolerance set by the result's dtype; and every result is an array of
the input's library on the input's device (array type in = array type out).

Rows a backend cannot run are listed, with the reason, in tests/backend_limits.py; each must
still fail (a strict xfail), so the list shrinks when a limit is lifted.

CI's budget decides the checks per backend (``PLAN``): the whole table in all four checks on
array_api_strict (the CPU stand-in for CuPy: it rejects any hidden NumPy call) and on torch
float64; ``grad`` on strict's second device; value and ``grad`` in torch float32; value and
``vjp`` on torch ``meta`` (shapes only); value and ``grad`` on a third of the rows on Dask
(each check computes a graph). The Dask third is chosen by a hash of the record's id, not by
its position, so adding a record elsewhere in the table never changes which rows Dask runs.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.core.backend import BackendError, numpy_only
from tensorcalc.core.ir import Program
from tensorcalc.core.primitive import Primitive
from tensorcalc.core.tree import tree_flatten, tree_map
from tensorcalc.lax.revolve import revolve_bwd_p, revolve_lin_p, revolve_scan_p
from tensorcalc.ops.special import erf_p, erfc_p, gammaln_p, polygamma_p
from tests.backend_limits import limit_of
from tests.backends import BACKENDS, backend_param
from tests.records import all_records, staged_programs

RECORDS = all_records()


# Primitives whose array-API implementation is scipy.special's own, which runs on other
# libraries only with SCIPY_ARRAY_API=1 (off in this suite): they raise BackendError too.
SCIPY_BACKED = frozenset((erf_p, erfc_p, polygamma_p, gammaln_p))
# revolve checkpointing stages its primitives only when a scan is traced; eager and
# forward-mode scans run their bodies step by step, so only reverse mode meets them
REVERSE_ONLY = frozenset((revolve_scan_p, revolve_lin_p, revolve_bwd_p))


def _numpy_only_primitives(rec):
    """Per check, the primitives of ``rec`` that have no array-API implementation (its
    function for ``eager``; with its linearization for ``jvp``; with its reverse pass for
    ``vjp``/``grad``). On another library such a check must raise BackendError naming one,
    never compute on a silent NumPy copy."""
    tagged = {Primitive.registry[n] for n in rec.primitives if n in Primitive.registry}
    found = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for make in staged_programs(rec, rec.args(np.random.default_rng(0))):
            prims = set(tagged)
            try:
                stack = [make()]
            except Exception:  # noqa: BLE001 (records that cannot be staged count by tag)
                stack = []
            while stack:
                prog = stack.pop()
                for eq in prog.equations:
                    prims.add(eq.primitive)
                    for v in eq.params.values():
                        subs = v if isinstance(v, (tuple, list)) else (v,)
                        stack.extend(x for x in subs if isinstance(x, Program))
            found.append({p for p in prims if numpy_only(p) or p in SCIPY_BACKED})
    fwd, lin, rev = found
    fwd, lin = fwd - REVERSE_ONLY, lin - REVERSE_ONLY
    names = {k: sorted(p.name for p in v)
             for k, v in (("eager", fwd), ("jvp", fwd | lin), ("vjp", fwd | lin | rev))}
    return {**names, "grad": names["vjp"]}


CHECKS = ("eager", "jvp", "vjp", "grad")
ALL = CHECKS
PLAN = {  # backend: (checks, one record in n, by a hash of its id)
    "strict": (ALL, 1), "strict-device1": (("grad",), 1), "torch-f64": (ALL, 1),
    "torch-f32": (("eager", "grad"), 1), "torch-meta": (("eager", "vjp"), 1),
    "dask": (("eager", "grad"), 3), "cupy": (ALL, 1),
}


def _sampled(rec, every: int) -> bool:
    """Whether ``rec`` is in the one-in-``every`` sample: CRC-32 of its id (stable across
    runs and machines, unlike ``hash``, and independent of the table's order)."""
    return zlib.crc32(rec.id.encode()) % every == 0


def _tol(b, dtype):
    if np.dtype(dtype) in (np.float32, np.complex64) or b.dtype == "float32":
        return {"rtol": 2e-3, "atol": 2e-3}
    return {"rtol": 1e-6, "atol": 1e-8}


def _cases():
    numpy_only_of: dict[str, dict[str, list[str]]] = {}
    for b in BACKENDS:
        if b.name not in PLAN:
            continue  # NumPy is the reference itself: tests/test_op_records.py
        checks, every = PLAN[b.name]
        p = backend_param(b)
        if p.marks:  # the library is absent: one skipped case per check says so
            for check in checks:
                yield pytest.param(b, RECORDS[0], check, marks=p.marks, id=f"{b.name}-{check}")
            continue
        for check in checks:
            for rec in (RECORDS if every == 1 else [r for r in RECORDS if _sampled(r, every)]):
                if check == "jvp" and "fwd" not in rec.modes:
                    continue
                if check in ("vjp", "grad") and "rev" not in rec.modes:
                    continue
                marks = list(p.marks)
                why = limit_of(b.name, rec.id, check)
                if rec.id not in numpy_only_of:
                    numpy_only_of[rec.id] = _numpy_only_primitives(rec)
                only = numpy_only_of[rec.id][check]
                if only and not why:
                    marks.append(pytest.mark.xfail(
                        strict=True, raises=BackendError,
                        reason=f"NumPy-only primitives (BackendError): {', '.join(only)}"))
                elif why:
                    marks.append(pytest.mark.xfail(strict=True, reason=why))
                yield pytest.param(b, rec, check, marks=marks, id=f"{b.name}-{check}-{rec.id}")


def _split(rec, args):
    """The differentiable positions of ``args`` and ``fn`` as a function of those alone."""
    diff = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]

    def of(all_args):
        def f(*d):
            full = list(all_args)
            for i, v in zip(diff, d, strict=True):
                full[i] = v
            return rec.fn(*full)
        return f

    return diff, of


def _compare(b, got, want, what):
    g_leaves, g_tree = tree_flatten(got)
    w_leaves, w_tree = tree_flatten(want)
    assert g_tree == w_tree, f"{what}: structure {g_tree} != {w_tree}"
    for g, w in zip(g_leaves, w_leaves, strict=True):
        if w is None:
            assert g is None
            continue
        w = np.asarray(w)
        if np.ndim(w) > 0 or not isinstance(g, (int, float, bool, np.generic)):
            assert b.is_mine(g), f"{what}: got a {type(g).__name__}, not a {b.name} array"
        assert tuple(np.shape(g) if isinstance(g, (int, float, bool, np.generic))
                     else g.shape) == w.shape, f"{what}: shape"
        if b.has_values:
            v = b.get(g) if not isinstance(g, (int, float, bool, np.generic)) else np.asarray(g)
            if w.dtype.kind in "fc":
                np.testing.assert_allclose(v, w, err_msg=what, **_tol(b, w.dtype))
            else:
                np.testing.assert_array_equal(v, w, err_msg=what)


@pytest.mark.parametrize(("b", "rec", "check"), list(_cases()))
def test_record_on_backend(b, rec, check):
    rng = np.random.default_rng(zlib.crc32(rec.id.encode()))
    args = rec.args(rng)
    bargs = b.put(list(args))
    if check == "eager":
        _compare(b, rec.fn(*bargs), rec.fn(*args), "value")
        return
    diff, of = _split(rec, args)
    if not diff:
        pytest.skip("no floating-point argument")
    primals = [args[i] for i in diff]
    bprimals = [bargs[i] for i in diff]
    if check == "jvp":
        tangents = [np.cos(np.arange(np.size(p))).reshape(np.shape(p)) for p in primals]
        want = tc.jvp(of(args), primals, tangents)
        got = tc.jvp(of(bargs), bprimals, b.put(tangents))
        _compare(b, got, want, "jvp")
    elif check == "vjp":
        out, pull = tc.vjp(of(args), *primals)
        ct = tree_map(lambda o: 0.5 + np.sin(np.arange(np.size(o))).reshape(np.shape(o)), out)
        _, bpull = tc.vjp(of(bargs), *bprimals)
        _compare(b, bpull(b.put(ct)), pull(ct), "vjp")
    else:
        def loss(f):
            # the real part: a complex output (eig, the complex records) still gives a real loss
            return lambda *d: tnp.sum(tnp.sin(tnp.real(tree_flatten(f(*d))[0][0])))

        argnums = tuple(range(len(diff)))
        want = tc.grad(loss(of(args)), argnums=argnums)(*primals)
        got = tc.grad(loss(of(bargs)), argnums=argnums)(*bprimals)
        _compare(b, got, want, "grad")
