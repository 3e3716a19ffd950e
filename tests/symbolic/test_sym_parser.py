"""Parser: the matrixcalculus.org language, typing, errors with carets, limits, fuzzing."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tensorcalc.symbolic as ts
from tensorcalc.symbolic.expr import Fill, Hadamard, Identity, Inv, MatPow, Mul, Pow, Transpose


def test_types_from_first_letter():
    e = ts.parse("a * x + B * y")
    assert e.shape == ("n",)
    assert {v.name: v.shape for v in e.free_vars} == {
        "a": (), "x": ("n",), "B": ("n", "m"), "y": ("m",)}


def test_dimensions_are_unified_and_named_in_order():
    e = ts.parse("x' * A * x")
    assert e.shape == () and {v.shape for v in e.free_vars} == {("n",), ("n", "n")}
    e = ts.parse("X * w", shapes={"X": ("m", "n")})
    assert e.shape == ("m",)
    assert ts.parse("X * w", shapes={"X": (20, 5)}).shape == (20,)


def test_declarations():
    e = ts.parse("S * x", shapes={"S": "symmetric", "x": 4})
    s = next(v for v in e.free_vars if v.name == "S")
    assert s.structure == "symmetric" and s.shape == (4, 4)
    assert ts.parse("alpha * x", shapes={"alpha": "scalar"}).shape == ("n",)
    with pytest.raises(ts.ParseError, match="dimension"):
        ts.parse("x", shapes={"x": (1,)})


@pytest.mark.parametrize("text, cls", [
    ("x .* y", Hadamard), ("x ./ y", Hadamard), ("x .^ 2", Pow), ("X ^ 3", MatPow),
    ("X ^ -1", Inv), ("A'", Transpose), ("2 * x", Mul), ("vector(1)", Fill), ("eye", Identity),
])
def test_operators(text, cls):
    assert isinstance(ts.parse(text), cls)


def test_precedence_and_associativity():
    assert str(ts.parse("-c^2 + a")) == "-c ^ 2 + a"  # unary minus binds looser than ^
    assert str(ts.parse("a ^ 2 ^ 3")) == "a ^ 8"  # right associative, exponent folded
    assert str(ts.parse("A * B'")) == "A * B'"
    assert str(ts.parse("(A * B)'")) == "(A * B)'"
    assert str(ts.parse("a - b - c")) == "a - b - c"
    assert str(ts.parse("2.*x")) == "2 * x"


def test_scalar_vector_product_keeps_scalar_chains():
    e = ts.parse("x' * y * z")
    assert e.shape == ("m",)  # z has its own dimension
    assert str(e) == "(x' * y) * z"


def test_round_trip_of_printed_derivatives():
    for f, x in [("x'*A*x", "x"), ("logdet(X)", "X"), ("sum(log(exp(-y .* (X*w)) + vector(1)))",
                                                          "w"), ("tr(A*X*B)", "X")]:
        d = ts.derivative(f, x)
        again = ts.parse(str(d))
        assert str(again) == str(d)


@pytest.mark.parametrize("text, column, words", [
    ("x * y", 3, "cannot multiply vector by vector (transpose the first vector"),
    ("A + + b", 3, "cannot combine"),
    ("x + 1", 3, "vector(c)"),
    ("A*(", 4, "expected"),
    ("a $ b", 3, "unexpected character"),
    ("foo(x)", 1, "unknown function 'foo'"),
    ("x ^ 2", 3, "use .^"),
    ("X ^ 0.5", 3, "integer exponent"),
    ("x / y", 3, "./"),
    ("tr(x)", 1, "square matrix"),
    ("sum", 1, "sum(...)"),
    ("", 1, "empty"),
])
def test_errors_point_at_the_column(text, column, words):
    with pytest.raises(ts.ParseError) as info:
        ts.parse(text)
    err = info.value
    assert err.column == column
    assert words in str(err)
    lines = str(err).splitlines()
    assert lines[-1].index("^") == lines[-2].index(text) + column - 1 if text else True


def test_expected_tokens_are_named():
    with pytest.raises(ts.ParseError, match=r"expected .*'\('.*a name.*a number"):
        ts.parse("x +")


def test_length_and_depth_limits():
    with pytest.raises(ts.ParseError, match="longer than"):
        ts.parse("x" + " + x" * 1000)
    with pytest.raises(ts.ParseError, match="nested deeper"):
        ts.parse("(" * 80 + "x" + ")" * 80)
    with pytest.raises(ts.ParseError, match="nested deeper"):
        ts.parse("exp(" * 70 + "x" + ")" * 70)
    deep = "exp(" * 40 + "x" + ")" * 40
    d = ts.derivative(deep, "x")  # within limits: works
    assert d.shape == ("n", "n")


def test_long_flat_sum_is_fine():
    e = ts.parse(" + ".join(["x"] * 400))
    assert str(ts.simplify(e)) == "400 * x"


def test_shape_errors_are_tensorcalc_shape_errors():
    import tensorcalc as tc

    with pytest.raises(tc.ShapeError) as info:  # except tc.ShapeError catches both engines'
        ts.derivative("A * x'", "x")
    err = info.value
    assert isinstance(err, ts.ShapeError) and isinstance(err, ts.ParseError)
    assert err.column == 3 and "cannot multiply matrix by row vector" in str(err)


def test_unsupported_syntax_is_both_error_kinds():
    with pytest.raises(ts.UnsupportedExpression):
        ts.parse("x / y")
    with pytest.raises(ts.ParseError):
        ts.parse("x / y")


def test_expr_all_names_every_node_class():
    import inspect

    from tensorcalc.symbolic import expr

    nodes = {n for n, o in vars(expr).items()
             if inspect.isclass(o) and issubclass(o, expr.Expr) and o.__module__ == expr.__name__}
    assert len(nodes) == 30 and nodes <= set(expr.__all__)
    assert all(hasattr(expr, n) for n in expr.__all__)


def test_never_eval():
    with pytest.raises(ts.ParseError):
        ts.parse("__import__('os').system('true')")


ALPHABET = "xyzAXBab123.*+-/^'() ,eyvtrsumlogdinpq_\n$;"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=60))
def test_fuzz_language_alphabet(text):
    try:
        e = ts.parse(text)
    except ts.ParseError:
        return
    assert isinstance(e, ts.Expr)
    str(e)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_arbitrary_unicode(text):
    try:
        ts.parse(text)
    except ts.ParseError:
        pass


TOKENS = ["x", "y", "A", "B", "a", "2", "0.5", "+", "-", "*", ".*", "./", "/", "^", ".^", "'",
          "(", ")", "tr(", "exp(", "inv(", "sum(", "vector(", "eye", "norm2(", "softmax("]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_fuzz_token_soup(tokens):
    text = " ".join(tokens)
    try:
        e = ts.parse(text)
    except ts.ParseError:
        return
    ts.simplify(e)


@pytest.mark.parametrize("text, column, words", [
    ("1e999", 1, "too large"),                   # an exact literal that no float can hold
    ("x * " + "1" * 500, 5, "number too long"),  # not "unexpected '111…'" at digit 31
    ("x * 1e9999", 5, "number too long"),
    ("self * x", 1, "'self' is reserved"),       # the evaluator's own keyword argument
    ("x * dim_n", 5, "'dim_n' is reserved"),
])
def test_literals_and_names_the_engine_cannot_take_are_parse_errors(text, column, words):
    with pytest.raises(ts.ParseError) as info:
        ts.parse(text)
    assert info.value.column == column and words in str(info.value)


def test_the_transpose_token_is_named_in_expected_lists():
    with pytest.raises(ts.ParseError) as info:
        ts.parse("x y")
    assert "\"'\" (transpose)" in info.value.message
    assert ", ', " not in info.value.message


@pytest.mark.parametrize("shapes, words", [
    ({"A": "symetric"}, "did you mean 'symmetric'"),
    ({"A": ("symetric",)}, "misspelt 'symmetric'"),   # was a vector with a dimension 'symetric'
    ({"A": ("n", "n", "diagnal")}, "misspelt 'diagonal'"),
    ({"A": ("n", "matrx")}, "misspelt 'matrix'"),
])
def test_misspelt_shape_words_are_refused(shapes, words):
    with pytest.raises(ts.ParseError, match=words):
        ts.parse("x' * A * x", shapes)


def test_strict_shapes_refuse_names_the_expression_does_not_use():
    with pytest.raises(ts.ParseError, match="B declared but not in the expression"):
        ts.parse("x' * A * x", {"B": ("n", "n")}, strict_shapes=True)
    # Library code may share one table of declarations between expressions.
    assert str(ts.parse("x' * A * x", {"B": ("n", "n")})) == "x' * A * x"


def test_a_node_budget_stops_differentiation_with_a_clear_error():
    from tensorcalc.symbolic.errors import ResultTooLarge
    from tensorcalc.symbolic.expr import node_budget

    with node_budget(30), pytest.raises(ResultTooLarge, match="result too large"):
        ts.hessian("sum(log(vector(1) + exp(-y .* (X*w))))", "w")
    assert isinstance(ResultTooLarge("x"), ts.UnsupportedExpression)  # callers' handlers apply
    assert str(ts.derivative("x'*A*x", "x")) == "(A + A') * x"  # no budget outside the block
