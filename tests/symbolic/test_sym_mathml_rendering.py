"""How the MathML printer's output reads on the page: superscripts with operators that carry no
spacing (X^{−⊤} once rendered as "X − ⊤", y^{∘2} as "y ° 2") and fences that do not stretch to
a superscript (parentheses drew much taller than the letters they enclose)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

ts = pytest.importorskip("tensorcalc.symbolic")


def tree(text: str, **shapes: str) -> ET.Element:
    return ET.fromstring(ts.parse(text, shapes=shapes or None).mathml())


def only_child(el: ET.Element) -> ET.Element:
    assert len(el) == 1, ET.tostring(el)
    return el[0]


def test_inverse_transpose_is_one_superscript_with_unspaced_prefix_minus():
    sup = only_child(tree("inv(X)'"))
    assert sup.tag == "msup"
    base, script = sup
    assert (base.tag, base.text) == ("mi", "X")
    assert script.tag == "mrow" and [c.tag for c in script] == ["mo", "mo"]
    minus, top = script
    assert minus.text == "\u2212" and minus.get("form") == "prefix"
    assert top.text == "\u22a4"
    for op in (minus, top):  # no infix/relation spacing inside the superscript
        assert (op.get("lspace"), op.get("rspace")) == ("0", "0")


def test_inverse_has_unspaced_minus_one():
    sup = only_child(tree("inv(X)"))
    minus, one = sup[1]
    assert minus.get("form") == "prefix" and minus.get("rspace") == "0"
    assert (one.tag, one.text) == ("mn", "1")


def test_hadamard_power_is_a_ring_superscript_not_a_spaced_operator():
    sup = only_child(tree("y .^ 2", y="vector"))
    assert sup.tag == "msup"
    base, script = sup
    assert (base.tag, base.text) == ("mi", "y")
    ring, two = script
    assert ring.tag == "mo" and ring.text == "\u2218"  # ∘ RING OPERATOR, not ° DEGREE SIGN
    assert (ring.get("lspace"), ring.get("rspace")) == ("0", "0")
    assert (two.tag, two.text) == ("mn", "2")


def test_scalar_power_has_no_ring():
    ml = ts.parse("t ^ 2", shapes={"t": "scalar"}).mathml()
    assert "\u2218" not in ml and "&#x2218;" not in ml


@pytest.mark.parametrize("text", ["(A*x)'", "A * (x .* y)", "exp(x)", "tr(A*X)", "norm2(x)",
                                  "abs(x)"])
def test_fences_do_not_stretch_to_superscripts(text):
    fences = [mo for mo in tree(text).iter("mo") if mo.text in ("(", ")", "|", "‖")]
    assert fences, text
    assert all(mo.get("stretchy") == "false" for mo in fences), text


def test_fences_still_grow_around_a_fraction():
    root = tree("exp(x / norm2(x))")
    fences = [mo for mo in root.iter("mo") if mo.text in ("(", ")")]
    outer = fences[0], fences[-1]
    assert all(mo.get("stretchy") == "true" for mo in outer)
