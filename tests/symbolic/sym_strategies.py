"""Hypothesis strategy for random well-typed expressions (shared by the property tests).

``expr(kind)`` draws the text of a scalar ("s"), vector ("v") or matrix ("m") expression over
x, y (vectors), A, B (square matrices; inv only of A, which the checks make well conditioned)
and a (scalar).
"""

from hypothesis import strategies as st

FUNCS = ["sin", "cos", "tanh", "sigmoid", "arctan", "sinh", "softplus", "arcsinh"]


def _leaf(kind):
    return {"s": st.sampled_from(["a", "2", "0.5"]), "v": st.sampled_from(["x", "y"]),
            "m": st.sampled_from(["A", "B", "inv(A)"])}[kind]


@st.composite
def expr(draw, kind, depth=3):
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(_leaf(kind))
    # every operand is parenthesised: "x .* (A * x)" must not read as "(x .* A) * x"
    s = lambda: f"({draw(expr('s', depth - 1))})"  # noqa: E731
    v = lambda: f"({draw(expr('v', depth - 1))})"  # noqa: E731
    m = lambda: f"({draw(expr('m', depth - 1))})"  # noqa: E731
    f = draw(st.sampled_from(FUNCS))
    options = {
        "s": [lambda: f"({s()} + {s()})", lambda: f"({s()} * {s()})", lambda: f"({v()})' * {v()}",
              lambda: f"sum({v()})", lambda: f"tr({m()})", lambda: f"{f}({s()})",
              lambda: f"({v()})' * {m()} * {v()}", lambda: f"logsumexp({v()})",
              lambda: f"norm2({v()})", lambda: f"({s()}) ^ 2", lambda: f"({v()})[1]",
              lambda: f"({m()})[0, 1]"],
        "v": [lambda: f"({v()} + {v()})", lambda: f"{m()} * {v()}", lambda: f"{s()} * {v()}",
              lambda: f"({v()} .* {v()})", lambda: f"{f}({v()})", lambda: f"softmax({v()})",
              lambda: f"({m()})' * {v()}", lambda: f"({v()} - {v()})",
              lambda: f"({v()}) .^ 2", lambda: f"{v()} ./ exp({v()})", lambda: f"({m()})[:, 0]",
              lambda: f"(({m()})[1, :])'"],
        "m": [lambda: f"({m()} + {m()})", lambda: f"{m()} * {m()}", lambda: f"({m()})'",
              lambda: f"{s()} * {m()}", lambda: f"{v()} * ({v()})'", lambda: f"diag({v()})",
              lambda: f"({m()} .* {m()})", lambda: f"{f}({m()})"],
    }[kind]
    return draw(st.sampled_from(options))()
