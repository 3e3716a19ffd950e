"""einsum and the products built on it: values equal NumPy's for traced operands, contraction
paths come from opt_einsum ('dp' when a label is shared by 3+ tensors), reverse mode stays a
program of einsums, and subscript / shape mistakes raise errors naming the letter, the operand
and the sizes."""

import numpy as np
import opt_einsum
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tensorcalc as tc
import tensorcalc.numpy as tnp
from tensorcalc.ops.einsum import contraction_path
from tests.records import products as product_records

RECORDS = product_records.RECORDS


@pytest.mark.parametrize("rec", RECORDS, ids=[r.id for r in RECORDS])
def test_traced_value_equals_numpy(rec):
    args = rec.args(np.random.default_rng(1))
    want = rec.fn(*args)
    got = tc.jvp(rec.fn, args, tuple(np.zeros_like(a) for a in args))[0]
    assert np.shape(got) == np.shape(want)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    prog = tc.trace(rec.fn, *args)
    np.testing.assert_allclose(prog(*args)[0], want, rtol=1e-12, atol=1e-12)


def _einsum_eqs(prog):
    return [eq for eq in prog.equations if eq.primitive.name == "einsum"]


def test_one_equation_per_call_with_path():
    a, b, c = np.ones((3, 4)), np.ones((4, 5)), np.ones((5, 2))
    prog = tc.trace(lambda a, b, c: tnp.einsum("ij,jk,kl->il", a, b, c), a, b, c)
    (eq,) = _einsum_eqs(prog)
    assert eq.params["subscripts"] == "ij,jk,kl->il"
    want = opt_einsum.contract_path("ij,jk,kl->il", a, b, c, optimize="auto")[0]
    assert list(eq.params["path"]) == [tuple(p) for p in want]
    assert "einsum[subscripts='ij,jk,kl->il' path=" in str(prog)


def test_shared_index_uses_dp_path():
    # opt_einsum's 'optimal' returns 18,432 FLOPs here (dgasmith/opt_einsum#167); dp finds
    # 16,640 by applying the vector to the smaller matrix first.
    shapes = [(4, 64), (64,), (64, 32)]
    path = contraction_path("ij,j,jk->ik", shapes)
    info = opt_einsum.contract_path("ij,j,jk->ik", *shapes, shapes=True, optimize=list(path))[1]
    assert info.opt_cost == 16640


def test_reverse_mode_is_einsums():
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((3, 4)), rng.standard_normal((4, 5)), rng.standard_normal(5)

    def f(a, b, c):
        return tnp.sum(tnp.einsum("ij,jk,k->i", a, b, c) ** 2)

    prog = tc.trace(tc.grad(f, argnums=(0, 1, 2)), a, b, c)
    names = {eq.primitive.name for eq in prog.equations}
    assert "einsum" in names and "matmul" not in names
    got = prog(a, b, c)
    y = a @ b @ c
    np.testing.assert_allclose(got[0], 2 * np.outer(y, b @ c))
    np.testing.assert_allclose(got[2], 2 * (a @ b).T @ y)


def test_third_order_trilinear():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(3)
    t = rng.standard_normal((3, 3, 3))
    tc.check_grads(lambda x: tnp.einsum("ijk,i,j,k->", t, x, x, x), (x,), order=3)


def test_dtypes_follow_numpy():
    a32 = np.ones((2, 3), np.float32)
    b32 = np.ones((3,), np.float32)
    out = tc.jvp(lambda a: tnp.einsum("ij,j->i", a, b32), (a32,), (a32,))
    assert out[0].dtype == np.float32 and out[1].dtype == np.float32
    mixed = tc.jvp(lambda a: tnp.einsum("ij,j->i", a, np.ones(3)), (a32,), (a32,))
    assert mixed[0].dtype == np.float64
    g = tc.grad(lambda a: tnp.sum(tnp.einsum("ij,j->i", a, np.ones(3))))(a32)
    assert g.dtype == np.float32


def test_numpy_einsum_dispatches():
    a = np.random.default_rng(0).standard_normal((3, 3))
    g = tc.grad(lambda a: np.einsum("ii", a @ a))(a)
    np.testing.assert_allclose(g, 2 * a.T)


def test_symbolic_shapes_stage():
    prog = tc.trace(lambda a, b, c: tnp.einsum("ij,jk,kl->il", a, b, c),
                    tc.ShapeDtype(("n", "m")), tc.ShapeDtype(("m", "p")),
                    tc.ShapeDtype(("p", "n")))
    assert str(prog.out_avals[0].shape) == "(n, n)"
    rng = np.random.default_rng(0)
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    np.testing.assert_allclose(prog(a, b, c)[0], a @ b @ c)


# --- errors --------------------------------------------------------------------------------


def _grad_of(spec, *shapes):
    args = [np.ones(s) for s in shapes]
    return tc.grad(lambda a: tnp.sum(tnp.einsum(spec, a, *args[1:])))(args[0])


def test_error_size_mismatch_names_letter_operands_sizes():
    with pytest.raises(tc.ShapeError, match=r"subscript 'j' has size 3 in operand 0 \(shape "
                                            r"\(2, 3\)\) but size 4 in operand 1 \(shape "
                                            r"\(4, 5\)\)"):
        _grad_of("ij,jk->ik", (2, 3), (4, 5))


def test_error_wrong_number_of_subscripts():
    with pytest.raises(tc.ShapeError, match=r"operand 1 has shape \(3, 4\) \(2 axes\) but its "
                                            r"subscripts 'jkl' name 3"):
        _grad_of("ij,jkl", (2, 3), (3, 4))


def test_error_operand_count():
    with pytest.raises(ValueError, match=r"name 2 operand\(s\) but 1 were given"):
        _grad_of("ij,jk", (2, 3))


def test_error_output_letter_not_in_inputs():
    with pytest.raises(ValueError, match=r"output subscript 'z' does not appear"):
        _grad_of("ij->iz", (2, 3))


def test_error_repeated_output_letter():
    with pytest.raises(ValueError, match=r"output subscript 'i' appears more than once"):
        _grad_of("ij->ii", (2, 3))


def test_error_repeated_subscript_unequal_axes():
    with pytest.raises(tc.ShapeError, match=r"subscript 'i' is repeated in operand 0 \('ii'\) "
                                            r"over axes of sizes 2 and 3"):
        _grad_of("ii->i", (2, 3))


def test_error_ellipsis_missing_from_output():
    with pytest.raises(tc.ShapeError, match=r"add '\.\.\.' to the output"):
        _grad_of("...i->i", (2, 3))


def test_error_bad_character():
    with pytest.raises(ValueError, match="invalid subscript term"):
        _grad_of("i1->i", (2, 3))


def test_tensordot_axes_mismatch():
    a, b = np.ones((2, 3)), np.ones((4, 5))
    with pytest.raises(tc.ShapeError, match=r"tensordot: axis 1 of the first operand \(shape "
                                            r"\(2, 3\)\) has size 3 but the paired axis 0 of the "
                                            r"second \(shape \(4, 5\)\) has size 4"):
        tc.grad(lambda a: tnp.sum(tnp.tensordot(a, b, 1)))(a)
    with pytest.raises(tc.ShapeError, match="same length"):
        tc.grad(lambda a: tnp.sum(tnp.tensordot(a, b, ([0, 1], [0]))))(a)


def test_dot_nd_mismatch():
    with pytest.raises(tc.ShapeError, match=r"dot: shapes \(2, 3, 4\) and \(2, 5, 3\) are not "
                                            r"aligned"):
        tc.grad(lambda a: tnp.sum(tnp.dot(a, np.ones((2, 5, 3)))))(np.ones((2, 3, 4)))


def test_cross_bad_dimension():
    with pytest.raises(tc.ShapeError, match="dimension must be 2 or 3"):
        tc.grad(lambda a: tnp.sum(tnp.cross(a, np.ones(4))))(np.ones(4))


# --- random subscripts (hypothesis) --------------------------------------------------------

SIZES = {"a": 2, "b": 3, "c": 1, "d": 2, "e": 3}


@st.composite
def einsum_problems(draw):
    n = draw(st.integers(1, 3))
    terms = [draw(st.lists(st.sampled_from("abcde"), min_size=0, max_size=3)) for _ in range(n)]
    used = sorted({c for t in terms for c in t})
    out = draw(st.permutations(used).flatmap(
        lambda p: st.integers(0, len(p)).map(lambda k: p[:k])))
    implicit = draw(st.booleans())
    spec = ",".join("".join(t) for t in terms) + ("" if implicit else "->" + "".join(out))
    # Size-1 axes of an operand broadcast against the label's size elsewhere (NumPy's rule);
    # a label repeated within one operand (a diagonal) keeps its full size on both axes.
    shapes = [tuple(SIZES[c] if t.count(c) > 1 or draw(st.integers(0, 4)) else 1 for c in t)
              for t in terms]
    seed = draw(st.integers(0, 2**16))
    return spec, shapes, seed


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(einsum_problems())
def test_random_einsum_matches_numpy_and_differentiates(problem):
    spec, shapes, seed = problem
    rng = np.random.default_rng(seed)
    args = tuple(rng.standard_normal(s) for s in shapes)

    def f(*ops):
        return tnp.einsum(spec, *ops)

    want = np.einsum(spec, *args)
    got = tc.jvp(f, args, args)[0]
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    tc.check_grads(f, args, order=2)


@pytest.mark.parametrize("name", ["chain3", "shared3_dp", "diag_inner", "summed_alone",
                                  "broadcast_unit_contract", "four_operands"])
def test_vmap_of_pullback_matches_loop(name):
    from tensorcalc.transforms import vmap

    (rec,) = [r for r in RECORDS if r.id == f"einsum_{name}"]
    rng = np.random.default_rng(3)
    args = rec.args(rng)
    out, pullback = tc.vjp(rec.fn, *args)
    cts = rng.standard_normal((3,) + np.shape(out))
    expect = [pullback(c) for c in cts]
    got = vmap(pullback)(cts)
    for i in range(len(args)):
        np.testing.assert_allclose(got[i], np.stack([e[i] for e in expect]), rtol=1e-12,
                                   atol=1e-12)
