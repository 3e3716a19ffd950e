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
    for n in (10, 100):
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


# --- cond and switch ---------------------------------------------------------------------

def _branchy(x, a):
    return lax.cond(tnp.sum(x) > 0, lambda x, a: tnp.sin(x) * a, lambda x, a: W[:2, :2] @ x
                    + a ** 2, x, a)


def _branchy_py(x, a):
    return np.sin(x) * a if np.sum(x) > 0 else W[:2, :2] @ x + a ** 2


X2, A2 = np.array([0.3, 0.4]), np.array([1.2, -0.7])
# A staged program evaluates the cond primitive itself (eager calls go straight to a branch).
COND_PROG = tc.trace(_branchy, X2, A2)


def test_cond_eager_and_jit_match_python():
    for x in (X2, -X2):
        np.testing.assert_allclose(_branchy(x, A2), _branchy_py(x, A2))
        np.testing.assert_allclose(tc.jit(_branchy)(x, A2), _branchy_py(x, A2))
    src = tc.jit(_branchy).source(X2, A2)
    assert "if " in src and "else:" in src
    assert [eq.primitive.name for eq in COND_PROG.equations].count("cond") == 1


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_cond_primitive_check_grads(sign):
    check_grads(lambda x, a: COND_PROG(x, a)[0], (sign * X2, A2), order=2,
                modes=("fwd", "rev"))
    h = tc.hessian(lambda x: tnp.sum(COND_PROG(x, A2)[0] ** 2))(sign * X2)
    h_py = tc.hessian(lambda x: tnp.sum(_branchy(x, A2) ** 2))(sign * X2)
    np.testing.assert_allclose(h, h_py, atol=1e-12)


def test_cond_gradient_under_jit():
    g = tc.grad(lambda x, a: tnp.sum(_branchy(x, a) ** 2))
    for x in (X2, -X2):
        np.testing.assert_allclose(tc.jit(g)(x, A2), g(x, A2), atol=1e-12)


def test_vmap_of_cond_with_a_batched_predicate_selects_per_example():
    xs = np.stack([X2, -X2, 2 * X2])
    out = tc.vmap(_branchy, in_axes=(0, None))(xs, A2)
    np.testing.assert_allclose(out, np.stack([_branchy_py(x, A2) for x in xs]))
    # unbatched predicate, batched operand
    out = tc.vmap(lambda a: _branchy(X2, a))(np.stack([A2, 2 * A2]))
    np.testing.assert_allclose(out, np.stack([_branchy_py(X2, A2), _branchy_py(X2, 2 * A2)]))


def _sw(i, x):
    return lax.switch(i, [lambda x: x * 1.0, lambda x: tnp.sin(x), lambda x: x ** 2], x)


def test_switch_clamps_the_index_like_jax():
    for i in range(-1, 4):
        want = [X2, np.sin(X2), X2 ** 2][min(max(i, 0), 2)]
        np.testing.assert_allclose(_sw(i, X2), want)
        np.testing.assert_allclose(tc.jit(_sw)(i, X2), want)
    out = tc.vmap(_sw, in_axes=(0, None))(np.array([0, 1, 2, 5]), X2)
    np.testing.assert_allclose(out, np.stack([X2, np.sin(X2), X2 ** 2, X2 ** 2]))
    src = tc.jit(_sw).source(1, X2)
    assert "elif " in src
    prog = tc.trace(_sw, np.int64(1), X2)
    check_grads(lambda x: prog(np.int64(1), x)[0], (X2,), order=2)


def test_cond_errors_name_the_construct_and_the_shapes():
    with pytest.raises(lax.CondError, match=r"cond: output leaf 0 of branch 1 has shape \(3,\)"
                                            r".*branch 0 returns shape \(2,\)"):
        tc.jit(lambda x: lax.cond(x[0] > 0, lambda x: tnp.concatenate([x, x[:1]]),
                                  lambda x: x, x))(X2)
    with pytest.raises(lax.CondError, match="cond: the predicate must be a scalar"):
        lax.cond(np.array([True, False]), lambda: 1.0, lambda: 2.0)
    with pytest.raises(lax.CondError, match="switch: the index must be a scalar integer"):
        tc.jit(lambda x: lax.switch(x[0], [lambda: 1.0, lambda: 2.0]))(X2)
    with pytest.raises(lax.CondError, match="structure"):
        tc.jit(lambda x: lax.cond(x[0] > 0, lambda x: (x, x), lambda x: x, x))(X2)


# --- while_loop ----------------------------------------------------------------------------

def _wl(x):
    return lax.while_loop(lambda c: c[1] < 5, lambda c: (tnp.sin(c[0]) * 1.5, c[1] + 1),
                          (x, 0))[0]


def _wl_py(x):
    for _ in range(5):
        x = tnp.sin(x) * 1.5
    return x


def test_while_loop_eager_traced_and_jit_match_python():
    np.testing.assert_allclose(_wl(X2), _wl_py(X2))
    np.testing.assert_allclose(tc.jit(_wl)(X2), _wl_py(X2))
    src = tc.jit(_wl).source(X2)
    assert "while " in src
    prog = tc.trace(_wl, X2)
    assert [eq.primitive.name for eq in prog.equations] == ["while"]


def test_while_loop_forward_mode_to_second_order():
    prog = tc.trace(_wl, X2)
    run = lambda x: prog(x)[0]  # noqa: E731  (binds the while primitive)
    check_grads(run, (X2,), order=2, modes=("fwd",))
    np.testing.assert_allclose(tc.jacfwd(run)(X2), tc.jacfwd(_wl_py)(X2), atol=1e-12)
    np.testing.assert_allclose(tc.jacfwd(tc.jacfwd(lambda x: tnp.sum(run(x))))(X2),
                               tc.jacfwd(tc.jacfwd(lambda x: tnp.sum(_wl_py(x))))(X2),
                               atol=1e-10)


def test_while_loop_reverse_mode_points_to_scan():
    prog = tc.trace(_wl, X2)
    with pytest.raises(lax.WhileLoopReverseModeError, match="scan or lax.fori_loop"):
        tc.grad(lambda x: tnp.sum(prog(x)[0]))(X2)


def test_vmap_of_while_loop_with_different_trip_counts():
    g = lambda x, n: lax.while_loop(lambda c: c[1] < n, lambda c: (c[0] * 2.0, c[1] + 1),  # noqa: E731
                                    (x, 0))[0]
    np.testing.assert_allclose(tc.vmap(g)(np.ones(3), np.array([1, 2, 3])), [2.0, 4.0, 8.0])


def test_fori_loop_with_traced_bounds_is_a_while_loop():
    h = lambda x, n: lax.fori_loop(0, n, lambda i, v: v * 2.0 + i, x)  # noqa: E731
    np.testing.assert_allclose(tc.jit(h)(1.0, 3), 12.0)
    assert "while " in tc.jit(h).source(1.0, 3)
    assert [eq.primitive.name for eq in tc.trace(h, 1.0, 3).equations] == ["while"]


def test_while_loop_errors():
    with pytest.raises(lax.ScanError, match="while_loop: carry leaf 0"):
        tc.jit(lambda x: lax.while_loop(lambda c: tnp.sum(c) < 3.0,
                                        lambda c: tnp.concatenate([c, c]), x))(X2)
    with pytest.raises(lax.ScanError, match="while_loop: cond_fun must return a scalar boolean"):
        tc.jit(lambda x: lax.while_loop(lambda c: c, lambda c: c, x))(X2)


# --- composition ---------------------------------------------------------------------------

def _nested(w, xs):
    def outer(c, row):
        inner, ys = lax.scan(lambda h, x: (tnp.sin(w * h + x), h * x), c, row)
        return inner * 0.9, tnp.sum(ys)

    c, ys = lax.scan(outer, 0.3, xs)
    return c + tnp.sum(ys)


def _nested_py(w, xs):
    c, total = 0.3, 0.0
    for row in xs:
        h = c
        for x in row:
            total = total + h * x
            h = tnp.sin(w * h + x)
        c = h * 0.9
    return c + total


def test_scan_inside_scan():
    xs = RNG.standard_normal((3, 4))
    np.testing.assert_allclose(tc.jit(_nested)(0.7, xs), _nested_py(0.7, xs))
    check_grads(_nested, (0.7, xs), order=2, modes=("fwd", "rev"))
    np.testing.assert_allclose(tc.jit(tc.grad(_nested))(0.7, xs), tc.grad(_nested_py)(0.7, xs),
                               atol=1e-12)


def test_vmap_of_grad_of_scan():
    loss = lambda h0, xs: lax.scan(lambda h, x: (tnp.tanh(h * x), h), h0, xs)[0]  # noqa: E731
    xs = np.array([1.0, 2.0, 0.5])
    got = tc.vmap(tc.grad(loss), in_axes=(0, None))(np.array([0.1, 0.2]), xs)
    want = [tc.grad(lambda h: tnp.tanh(tnp.tanh(tnp.tanh(h) * 2.0) * 0.5))(h) for h in (0.1, 0.2)]
    np.testing.assert_allclose(got, want)


def test_scan_inside_cond():
    def k(x):
        return lax.cond(tnp.sum(x) > 0, lambda x: lax.scan(lambda c, y: (c * y, c), 1.0, x)[0],
                        lambda x: tnp.sum(x), x)

    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(tc.jit(tc.grad(k))(x), [6.0, 3.0, 2.0])
    prog = tc.trace(k, x)
    check_grads(lambda x: prog(x)[0], (x,), order=2)


def test_jit_reruns_with_strong_zeros_when_a_loop_body_makes_the_nan():
    # sqrt′(0) = ∞ in the branch not taken, inside a scan body: the compiled fast path makes
    # 0 · ∞ = NaN there, and the checked rerun must happen although the top-level program
    # holds no strong-zero product.
    def f(x):
        def body(c, xi):
            return c + tnp.where(xi > 0, tnp.sqrt(tnp.abs(xi)), 0.0) * xi, None

        return lax.scan(body, 0.0, x)[0]

    x = np.array([0.0, 1.0, -2.0, 0.0])
    want = np.array([0.0, 1.5, 0.0, 0.0])
    np.testing.assert_array_equal(tc.grad(f)(x), want)
    np.testing.assert_array_equal(tc.jit(tc.grad(f))(x), want)
