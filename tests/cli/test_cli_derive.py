"""``tensorcalc derive``: formats, layouts, Hessian, steps, checks and bad input."""

import pytest

from tests.cli._run import run_cli


def test_derive_quadratic_form():
    res = run_cli("derive", "x' * A * x", "--wrt", "x")
    assert res.returncode == 0, res.stderr
    assert "(A + A') * x" in res.stdout
    assert "layout: numerator" in res.stdout


def test_derive_layouts():
    num = run_cli("derive", "A * x", "--wrt", "x", "--layout", "numerator")
    den = run_cli("derive", "A * x", "--wrt", "x", "--layout", "denominator")
    assert num.returncode == den.returncode == 0
    assert "\n  A\n" in num.stdout
    assert "\n  A'\n" in den.stdout


def test_derive_gradient_layout_needs_scalar():
    res = run_cli("derive", "A * x", "--wrt", "x", "--layout", "gradient")
    assert res.returncode == 2
    assert "scalar" in res.stderr


def test_derive_hessian():
    res = run_cli("derive", "x' * A * x", "--wrt", "x", "--hessian")
    assert res.returncode == 0
    assert "A + A'" in res.stdout
    res = run_cli("derive", "x' * A * x", "--wrt", "x", "--hessian", "--layout", "denominator")
    assert res.returncode == 2
    assert "--layout does not apply" in res.stderr


@pytest.mark.parametrize("fmt, needle", [
    ("latex", r"A^{\top}"),
    ("mathml", "<math"),
    ("numpy", "def "),
])
def test_derive_formats(fmt, needle):
    res = run_cli("derive", "x' * A * x", "--wrt", "x", "--format", fmt)
    assert res.returncode == 0, res.stderr
    assert needle in res.stdout


def test_derive_steps_and_check():
    res = run_cli("derive", "x' * A * x", "--wrt", "x", "--steps", "--check")
    assert res.returncode == 0, res.stderr
    assert "check: OK" in res.stdout
    assert "steps:" in res.stdout or "steps are not available" in res.stderr


def test_derive_with_shapes():
    res = run_cli("derive", "tr(A * X)", "--wrt", "X", "--shapes", "A=n,m;X=m,n")
    assert res.returncode == 0, res.stderr
    assert "A'" in res.stdout


@pytest.mark.parametrize("args, message", [
    (["derive", "x' * A * ", "--wrt", "x"], "unexpected end of input"),
    (["derive", "x' * A * x", "--wrt", "y"], "does not contain the variable 'y'"),
    (["derive", "x' * A * x", "--wrt", "x", "--shapes", "A"], "NAME=DIMS"),
    (["derive", "x' * A * x", "--wrt", "x", "--format", "pdf"], "invalid choice"),
    (["derive", "x' * A * x"], "--wrt"),
])
def test_derive_errors(args, message):
    res = run_cli(*args)
    assert res.returncode == 2
    assert message in res.stderr


def test_derive_parse_errors_are_one_line_with_the_column():
    res = run_cli("derive", "x' * A * ", "--wrt", "x")
    assert res.returncode == 2
    assert res.stderr.strip().splitlines() == [
        "tensorcalc derive: error: unexpected end of input; expected '(', '+', '-', a name, "
        "a number (column 10)"]


def test_vec_form_results_are_labelled():
    res = run_cli("derive", "A * X * B", "--wrt", "X")
    assert res.returncode == 0, res.stderr
    assert "in vec form (d vec f = J d vec X" in res.stdout and "kron(B', A)" in res.stdout
    plain = run_cli("derive", "x' * A * x", "--wrt", "x")
    assert "vec form" not in plain.stdout


@pytest.mark.parametrize("shapes, message", [
    ("A=symetric", "misspelt 'symmetric'"),
    ("A=n,", "empty dimension"),
    ("B=n,n", "B declared but not in the expression"),
])
def test_derive_shape_declarations_are_validated_like_the_library(shapes, message):
    res = run_cli("derive", "x' * A * x", "--wrt", "x", "--shapes", shapes)
    assert res.returncode == 2
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
