"""Notebook display through IPython's display formatter: symbolic expressions, derivatives and
their steps, Programs and Jacobian plans."""

import numpy as np
import pytest

import tensorcalc as tc
import tensorcalc.numpy as tnp
import tensorcalc.symbolic as ts

formatters = pytest.importorskip("IPython.core.formatters",
                                 reason="IPython is needed for the display tests (test extra)")


def shown(obj) -> dict:
    data, _ = formatters.DisplayFormatter().format(obj)
    return data


def test_expression_shows_text_latex_and_mathml():
    data = shown(ts.parse("x' * A * x"))
    assert data["text/plain"] == "x' * A * x"
    assert data["text/latex"] == r"$\displaystyle x^{\top} A x$"
    assert data["application/mathml+xml"].startswith('<math display="block">')
    assert data["text/html"] == data["application/mathml+xml"]


def test_derivative_shows_its_result():
    d = ts.derivative("x' * A * x", "x")
    data = shown(d)
    assert data["text/plain"] == "(A + A') * x"
    assert data["text/latex"] == r"$\displaystyle \left(A + A^{\top}\right) x$"
    assert "<msup><mi>A</mi>" in data["text/html"]
    # an index-notation result shows its index notation
    idx = ts.derivative("diag(exp(x))", "x")
    assert idx.form == "index"
    assert shown(idx)["text/plain"] == str(idx) and "delta" in shown(idx)["text/latex"]


def test_include_and_exclude_select_formats():
    e = ts.parse("tr(X)")
    assert set(e._repr_mimebundle_(include=["text/latex"])) == {"text/latex"}
    assert "text/html" not in e._repr_mimebundle_(exclude=["text/html"])


def test_steps_show_as_latex_and_stay_a_string():
    d = ts.derivative("tr(A * X)", "X")
    steps = d.steps()
    assert isinstance(steps, str) and steps == str(steps) and "Trace trick" in steps
    data = shown(steps)
    assert data["text/plain"] == str(steps)
    assert data["text/latex"].startswith("\\begin{align*}") and data["text/latex"] == d.steps(
        "latex")


def test_program_shows_equations_in_latex_mathml_and_html():
    prog = tc.trace(lambda x: tnp.sum(tnp.sin(x) * x), np.ones(3))
    data = shown(prog)
    assert data["text/plain"] == str(prog)
    assert data["text/latex"] == (
        "$\\begin{array}{l}\n"
        "\\textbf{program}\\left(\\texttt{a:f64[3]}\\right) \\\\\n"
        "\\quad \\texttt{b:f64[3]} = \\operatorname{sin}\\left(\\texttt{a}\\right) \\\\\n"
        "\\quad \\texttt{c:f64[3]} = \\operatorname{mul}\\left(\\texttt{b, a}\\right) \\\\\n"
        "\\quad \\texttt{d:f64[]} = \\operatorname{reduce\\_sum}_{\\texttt{axes=(0,)}}"
        "\\left(\\texttt{c}\\right) \\\\\n"
        "\\quad \\textbf{return}\\ \\texttt{d}\n"
        "\\end{array}$")
    assert data["text/html"] == "<pre>" + str(prog).replace("<", "&lt;") + "</pre>"
    mathml = data["application/mathml+xml"]
    assert mathml.count("<mtr>") == 5 and "<mi>reduce_sum</mi>" in mathml


def test_program_with_a_loop_body_shows_it_elided():
    def f(x):
        return tc.lax.fori_loop(0, 3, lambda i, c: c * 2.0, x)

    prog = tc.trace(f, np.ones(2))
    latex = shown(prog)["text/latex"]
    assert "…" in latex and "body" in str(prog)


def test_jacobian_plan_shows_an_html_table():
    plan = tc.jacobian_plan(lambda x: tnp.tanh(x) * 2.0, np.ones(3))
    data = shown(plan)
    assert data["text/plain"] == str(plan)
    html = data["text/html"]
    assert html.startswith("<table><caption>Jacobian plan: 3 outputs &times; 3 inputs")
    for name, c in {**plan.sweep_costs}.items():
        assert f"<td>{name} sweeps</td><td style='text-align:right'>{c:,}</td>" in html
    chosen = plan.order_name
    assert (f"<tr style='font-weight:bold'><td>{chosen} elimination</td>"
            f"<td style='text-align:right'>{plan.elimination_costs[chosen]:,}</td></tr>") in html
    assert html.count("<tr style='font-weight:bold'>") == 1
    assert "<code>b:f64[3] = " in html and "diagonal 3x3" in html


@pytest.mark.parametrize("text", [
    "X[i, :]", "eye[:, i]' * x", "max(x, y)", "min(X)", "softmax(X, 1)", "logsumexp(X, 0)",
    "x .^ a", "X ^ k", "expm(A)", "expm_frechet(A, B)", "kron(A, B)", "maxweights(x)",
    "dexpm(A)", "arcsin(x) .* softplus(x)",
])
def test_mathml_of_the_new_forms_is_well_formed(text):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(ts.parse(text).mathml())
    assert root.tag == "math"
    assert all(el.get("mathvariant") in (None, "normal") for el in root.iter())  # MathML Core


def test_mathml_of_steps_program_and_derivatives_is_well_formed():
    import xml.etree.ElementTree as ET

    for d in (ts.derivative("tr(X ^ k)", "X"), ts.derivative("tr(B * expm(A))", "A"),
              ts.derivative("x' * vec(X)", "X")):
        ET.fromstring(d.mathml())
        ET.fromstring(d.differential.mathml())
    prog = tc.trace(lambda x: tnp.sum(tnp.sin(x) * x), np.ones(3))
    root = ET.fromstring(shown(prog)["application/mathml+xml"])
    assert all(el.get("mathvariant") in (None, "normal") for el in root.iter())
