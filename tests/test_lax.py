"""``tensorcalc.lax`` loops: ``scan``, ``fori_loop`` and ``map`` against plain Python/NumPy
loops, derivatives against central differences (``check_grads``, order 2, both modes),
``vmap``, ``jit`` (a real ``for`` loop whose size does not depend on the trip count) and
printing."""

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.lax as lax
import tensorcalc.numpy as tnp
from tensorcalc.testing import check_grads

RNG = np.random.default_rng(0)
W = RNG.standard_normal((3, 3)) * 0.5
U = RNG.standard_normal((3, 2)) * 0.5
H0 = RNG.standard_normal(3)
XS = RNG.standard_normal((5, 2))


def rnn(W, U, h0, xs):
    def step(h, x):
        h = tnp.tanh(W @ h + U @ x)
        return h, tnp.sum(h * h)

    h, ys = lax.scan(step, h0, xs)
    return tnp.sum(h) + tnp.sum(ys * tnp.arange(1.0, 6.0))


def rnn_python(W, U, h0, xs):
    h, total = h0, 0.0
    for t, x in enumerate(xs):
        h = tnp.tanh(W @ h + U @ x)
        total = total + tnp.sum(h * h) * (t + 1.0)
    return tnp.sum(h) + total


def test_scan_matches_a_python_loop_eager_and_traced():
    assert np.allclose(rnn(W, U, H0, XS), rnn_python(W, U, H0, XS))
    assert np.allclose(tc.jit(rnn)(W, U, H0, XS), rnn_python(W, U, H0, XS))
    # under a transformation the loop is one scan equation
    prog = tc.trace(rnn, W, U, H0, XS)
    assert [eq.primitive.name for eq in prog.equations].count("scan") == 1


def test_rnn_scan_check_grads():
    check_grads(rnn, (W, U, H0, XS), order=2, modes=("fwd", "rev"))


def test_scan_gradient_equals_the_unrolled_loop():
    g = tc.grad(rnn, argnums=(0, 1, 2, 3))(W, U, H0, XS)
    g_py = tc.grad(rnn_python, argnums=(0, 1, 2, 3))(W, U, H0, XS)
    for a, b in zip(g, g_py, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_reverse_scan_check_grads_and_values():
    def f(h0, xs):
        return lax.scan(lambda h, x: (tnp.sin(h) * x, h * x), h0, xs, reverse=True)

    xs = RNG.standard_normal((4, 3))
    h, ys = f(H0, xs)
    hp, yp = H0, [None] * 4
    for t in reversed(range(4)):
        yp[t] = hp * xs[t]
        hp = np.sin(hp) * xs[t]
    np.testing.assert_allclose(h, hp)
    np.testing.assert_allclose(ys, np.stack(yp))
    check_grads(lambda h0, xs: tnp.sum(f(h0, xs)[1]) + tnp.sum(f(h0, xs)[0] ** 2),
                (H0, xs), order=2)


def test_fori_loop_check_grads_and_values():
    def f(x, a):
        return lax.fori_loop(0, 4, lambda i, v: tnp.cos(v) * a + i, x)

    def f_py(x, a):
        for i in range(4):
            x = np.cos(x) * a + i
        return x

    x, a = RNG.standard_normal(3), RNG.standard_normal(3)
    np.testing.assert_allclose(f(x, a), f_py(x, a))
    np.testing.assert_allclose(tc.jit(f)(x, a), f_py(x, a))
    check_grads(f, (x, a), order=2, modes=("fwd", "rev"))


def test_pytrees_in_carry_and_xs():
    def f(p, xs):
        def step(c, x):
            a, b = c["a"], c["b"]
            return {"a": a * x["u"] + b, "b": tnp.tanh(b + x["v"])}, (a, b * 2.0)

        c, (ya, yb) = lax.scan(step, p, xs)
        return tnp.sum(c["a"]) + tnp.sum(c["b"] ** 2) + tnp.sum(ya * yb)

    p = {"a": RNG.standard_normal(2), "b": RNG.standard_normal(2)}
    xs = {"u": RNG.standard_normal((3, 2)), "v": RNG.standard_normal((3, 2))}
    check_grads(f, (p, xs), order=2, modes=("fwd", "rev"))


def test_jacobian_and_hessian_through_scan():
    def f(h0):
        return lax.scan(lambda h, x: (tnp.tanh(W @ h + U @ x), h), h0, XS)[0]

    def f_py(h0):
        h = h0
        for x in XS:
            h = tnp.tanh(W @ h + U @ x)
        return h

    np.testing.assert_allclose(tc.jacobian(f)(H0), tc.jacobian(f_py)(H0), atol=1e-12)
    s = lambda h: tnp.sum(f(h) ** 2)  # noqa: E731
    s_py = lambda h: tnp.sum(f_py(h) ** 2)  # noqa: E731
    np.testing.assert_allclose(tc.hessian(s)(H0), tc.hessian(s_py)(H0), atol=1e-10)


def test_grad_of_a_function_with_scan_inside_grad():
    def inner(w, h0):
        return tnp.sum(lax.scan(lambda h, x: (tnp.sin(w * h + x), None), h0, XS[:, 0])[0])

    def outer(w):
        return tc.grad(inner, argnums=1)(w, H0[0]) * w

    def outer_py(w):
        def inner_py(w, h):
            for x in XS[:, 0]:
                h = tnp.sin(w * h + x)
            return h
        return tc.grad(inner_py, argnums=1)(w, H0[0]) * w

    np.testing.assert_allclose(tc.grad(outer)(0.7), tc.grad(outer_py)(0.7), atol=1e-12)


def _loop(h0, xs):
    return lax.scan(lambda h, x: (tnp.tanh(W @ h + x), h * 2.0), h0, xs)


def _loop_py(h0, xs):
    h, ys = h0, []
    for x in xs:
        ys.append(h * 2.0)
        h = np.tanh(W @ h + x)
    return h, np.stack(ys)


def test_vmap_of_scan_with_batched_xs():
    xs = RNG.standard_normal((4, 5, 3))
    h, ys = tc.vmap(_loop, in_axes=(None, 0))(H0, xs)
    for b in range(4):
        hp, yp = _loop_py(H0, xs[b])
        np.testing.assert_allclose(h[b], hp, atol=1e-14)
        np.testing.assert_allclose(ys[b], yp, atol=1e-14)


def test_vmap_of_scan_with_batched_init_only():
    h0 = RNG.standard_normal((4, 3))
    xs = RNG.standard_normal((5, 3))
    h, ys = tc.vmap(_loop, in_axes=(0, None))(h0, xs)
    for b in range(4):
        hp, yp = _loop_py(h0[b], xs)
        np.testing.assert_allclose(h[b], hp, atol=1e-14)
        np.testing.assert_allclose(ys[b], yp, atol=1e-14)


def test_vmap_makes_an_unbatched_carry_batched():
    # the carry starts shared but picks up the batch from xs after one step (JAX's fixpoint)
    xs = RNG.standard_normal((4, 5, 3))
    h, _ = tc.vmap(_loop, in_axes=(None, 0))(H0, xs)
    assert h.shape == (4, 3)


def test_jit_of_scan_is_a_for_loop_independent_of_the_trip_count():
    sizes = []
    for n in (10, 1000):
        xs = RNG.standard_normal((n, 3))
        j = tc.jit(_loop)
        h, ys = j(H0, xs)
        hp, yp = _loop_py(H0, xs)
        np.testing.assert_allclose(h, hp, atol=1e-14)
        np.testing.assert_allclose(ys, yp, atol=1e-14)
        src = j.source()
        assert "for " in src
        sizes.append(len(src.splitlines()))
    assert sizes[0] == sizes[1]


def test_jit_of_grad_fori_loop_and_map():
    g = tc.grad(lambda h, xs: tnp.sum(_loop(h, xs)[1]))
    xs = RNG.standard_normal((6, 3))
    np.testing.assert_allclose(tc.jit(g)(H0, xs), g(H0, xs), atol=1e-12)
    assert "for " in tc.jit(g).source(H0, xs)
    f = lambda x: lax.fori_loop(1, 5, lambda i, v: v * tnp.cos(v) + i, x)  # noqa: E731
    np.testing.assert_allclose(tc.jit(f)(H0), f(H0))
    m = lambda xs: lax.map(lambda x: tnp.sum(tnp.sin(x)), xs)  # noqa: E731
    np.testing.assert_allclose(tc.jit(m)(xs), np.sin(xs).sum(axis=1))


def test_map_values_and_gradient():
    xs = RNG.standard_normal((4, 3))
    np.testing.assert_allclose(lax.map(lambda x: x @ W, xs), xs @ W)
    check_grads(lambda xs: lax.map(lambda x: tnp.sin(x) * x[0], xs), (xs,), order=2)


def test_scan_without_xs_uses_length():
    c, ys = lax.scan(lambda c, _: (c * 2.0, c), 1.0, None, length=4)
    assert c == 16.0
    np.testing.assert_allclose(ys, [1.0, 2.0, 4.0, 8.0])
    with pytest.raises(lax.ScanError, match="length"):
        lax.scan(lambda c, _: (c, c), 1.0, None)


def test_printed_program_shows_one_scan_with_an_indented_body():
    text = str(tc.trace(_loop, H0, RNG.standard_normal((5, 3))))
    lines = text.splitlines()
    scan_lines = [ln for ln in lines if "= scan[" in ln]
    assert len(scan_lines) == 1 and "body=…" in scan_lines[0]
    k = lines.index(scan_lines[0])
    assert lines[k + 1].startswith("    body: program(")
    assert any(ln.startswith("      ") and "tanh" in ln for ln in lines[k + 2:])


@pytest.mark.parametrize("traced", [False, True])
def test_a_carry_that_changes_shape_or_dtype_is_an_error(traced):
    def grow(c, x):
        return tnp.concatenate([c, x[None]]), x

    run = (lambda f: tc.jit(f)) if traced else (lambda f: f)
    with pytest.raises(lax.ScanError, match=r"scan: carry leaf 0 .*shape \(4,\).*shape \(3,\)"):
        run(lambda h: lax.scan(grow, h, np.ones(2))[0])(H0)
    with pytest.raises(lax.ScanError, match="scan: carry leaf 0 .*float64.*int64"):
        run(lambda h: lax.scan(lambda c, x: (c * 1.5, x), np.int64(2), h)[0])(H0)


def test_docs_control_flow_runs_as_written():
    """Every python block of docs/control_flow.md runs; a plain block right after one is its
    exact output."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "control_flow.md").read_text()
    blocks = re.findall(r"```(python)?\n(.*?)```", text, re.S)
    env: dict = {}
    k = 0
    while k < len(blocks):
        kind, code = blocks[k]
        if kind == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(code, env)  # noqa: S102  (the repository's own documentation)
            if k + 1 < len(blocks) and blocks[k + 1][0] == "":
                assert out.getvalue() == blocks[k + 1][1], f"block {k} of docs/control_flow.md"
                k += 1
        k += 1
