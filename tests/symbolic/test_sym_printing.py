"""Text, LaTeX and MathML printers."""

import xml.etree.ElementTree as ET

import pytest

import tensorcalc.symbolic as ts


def test_brief_example_outputs():
    d = ts.derivative(ts.parse("x' * A * x"), "x")
    assert str(d) == "(A + A') * x"
    assert d.latex() == r"\left(A + A^{\top}\right) x"
    assert d.shape == ("n",)
    assert d.layout == "numerator"


@pytest.mark.parametrize("text, latex", [
    ("inv(X)'", r"X^{-\top}"),
    ("inv(X)", r"X^{-1}"),
    ("x .* y", r"x \odot y"),
    ("x ./ y", r"x \oslash y"),
    ("x .^ 2", r"x^{\circ 2}"),
    ("a ^ 2", r"a^{2}"),
    ("X ^ 3", r"X^{3}"),
    ("(A*B)'", r"\left(A B\right)^{\top}"),
    ("tr(X)", r"\operatorname{tr}\left(X\right)"),
    ("det(X)", r"\det\left(X\right)"),
    ("logdet(X)", r"\log\det\left(X\right)"),
    ("norm2(x)", r"\left\|x\right\|_2"),
    ("norm2(X)", r"\left\|X\right\|_F"),
    ("norm1(x)", r"\left\|x\right\|_1"),
    ("x / norm2(x)", r"\frac{x}{\left\|x\right\|_2}"),
    ("0.5 * X", r"\frac{1}{2} X"),
    ("vector(1) - x", r"\mathbf{1} - x"),
    ("sigmoid(x)", r"\sigma\left(x\right)"),
    ("sqrt(x)", r"\sqrt{x}"),
    ("abs(x)", r"\left|x\right|"),
    ("alpha * x1", r"\alpha x_{1}"),
    ("diag(x) * A", r"\operatorname{diag}\left(x\right) A"),
    ("(x').^2", r"\left(x^{\top}\right)^{\circ 2}"),
    ("A * (x .* y)", r"A \left(x \odot y\right)"),
])
def test_latex(text, latex):
    assert ts.parse(text, shapes={"alpha": "scalar"}).latex() == latex


def test_latex_kronecker_and_vec_forms():
    assert ts.derivative("A*X*B", "X").latex() == r"B^{\top} \otimes A"
    assert ts.derivative("X'", "X").latex() == "K_{n,m}"


@pytest.mark.parametrize("text", [
    "x' * A * x", "inv(X)' * a", "x / norm2(x - a)", "tr(A * X) ^ 2", "softmax(x) .* y",
    "(x .* y)' * z", "kron_free + 1", "-2 * exp(X)", "x .^ -1", "sqrt(x) ./ (x + y)",
])
def test_mathml_is_well_formed(text):
    e = ts.parse(text, shapes={"kron_free": "scalar", "a": "vector"})
    ml = e.mathml()
    root = ET.fromstring(ml)
    assert root.tag == "math" and root.get("display") == "block"
    assert "<script" not in ml


def test_mathml_structure():
    ml = ts.derivative("x' * A * x", "x").mathml()
    assert ml.startswith('<math display="block">') and ml.endswith("</math>")
    assert '<msup><mi>A</mi><mo lspace="0" rspace="0">&#x22A4;</mo></msup>' in ml
    assert "<mo>&#x2062;</mo>" in ml  # invisible times between juxtaposed factors
    ml = ts.parse("inv(X)'").mathml(display="inline")
    assert 'display="inline"' in ml and ">&#x2212;</mo>" in ml


def test_text_uses_input_syntax():
    d = ts.derivative("a'*inv(X)*b", "X", shapes={"a": "vector", "b": "vector"})
    assert str(d) == "-inv(X)' * a * b' * inv(X)'"
    assert str(ts.parse("x ./ y")) == "x ./ y"
    assert str(ts.parse("0.25 * x")) == "x / 4"
    assert str(ts.parse("x / 3")) == "x / 3"


def test_repr_states_shape():
    assert repr(ts.parse("A * x")) == "<Mul A * x : vector (n)>"
    assert "layout=numerator" in repr(ts.derivative("A*x", "x"))
