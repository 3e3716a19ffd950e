"""Checking API requests before any work is queued.

Everything here is cheap and runs in the server process: type checks, the length and nesting
caps, and the shape-declaration mini language of the page (``A: n x n; x: n; S: symmetric``).
A failure raises :class:`BadRequest`, which the app turns into a 400 with the field and, where it
helps, the 1-based column the message refers to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["BadRequest", "Limits", "derive_request", "plan_request", "parse_shapes"]

LAYOUTS = ("numerator", "denominator", "gradient")
STRUCTURE_WORDS = ("symmetric", "diagonal")
KIND_WORDS = ("scalar", "vector", "matrix")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}\Z")


class BadRequest(ValueError):
    """A request the API refuses; ``field`` and ``column`` locate the problem for the page."""

    def __init__(self, message: str, *, code: str = "bad_request", field: str | None = None,
                 column: int | None = None, status: int = 400):
        super().__init__(message)
        self.code = code
        self.field = field
        self.column = column
        self.status = status

    def to_json(self) -> dict:
        body = {"code": self.code, "message": str(self)}
        if self.field is not None:
            body["field"] = self.field
        if self.column is not None:
            body["column"] = self.column
        return body


@dataclass(frozen=True)
class Limits:
    """Caps that keep one request from monopolising the machine; see docs/web.md."""

    max_body: int = 64 * 1024          # bytes of JSON per request
    max_expression: int = 500          # characters; matrixcalculus.org examples are < 100
    max_depth: int = 32                # nesting of parentheses
    max_shapes: int = 26               # shape declarations per request
    max_widths: int = 64               # layer widths in a chain (the DP is O(q³))
    max_width: int = 100_000           # one layer width
    time_limit: float = 5.0            # seconds for one derivation or check
    read_timeout: float = 15.0         # seconds a client may take to send its request
    # Declared sizes are the only way a 100-byte request can ask for gigabytes: A*X*B with
    # 100×100 matrices has a 10⁸-entry Jacobian, which the numerical check materialises.
    max_dim: int = 10_000              # one declared dimension
    max_variable: int = 1_000_000      # entries of one declared variable
    max_jacobian: int = 1_000_000      # entries of the Jacobian a check evaluates numerically
    memory_limit: int = 1024 * 2**20   # bytes of address space per worker process
    max_nodes: int = 200_000           # expression nodes built for one answer (examples: < 700)
    max_answer: int = 1_000_000        # characters of one answer's renderings together


def _field(body: dict, name: str, kind: type | tuple, default: object = None) -> object:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) and kind is not bool:
        raise BadRequest(f"{name!r} must be {_kind_name(kind)}, got a boolean", field=name)
    if not isinstance(value, kind):
        raise BadRequest(f"{name!r} must be {_kind_name(kind)}, got {type(value).__name__}",
                         field=name)
    return value


def _kind_name(kind: type | tuple) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    words = {str: "a string", int: "an integer", list: "a list", dict: "an object"}
    return " or ".join(words.get(k, k.__name__) for k in kinds)


def check_expression(text: str, limits: Limits) -> str:
    """Length and nesting caps, with the column where the limit is crossed."""
    if not text.strip():
        raise BadRequest("enter an expression, e.g. x'*A*x", code="parse_error",
                         field="expression", column=1)
    if len(text) > limits.max_expression:
        raise BadRequest(f"the expression is longer than {limits.max_expression} characters",
                         code="too_long", field="expression", column=limits.max_expression + 1)
    depth = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
            if depth > limits.max_depth:
                raise BadRequest(f"parentheses nested deeper than {limits.max_depth}",
                                 code="too_deep", field="expression", column=i + 1)
        elif ch == ")":
            depth -= 1
    # Unary operators and transposes nest without parentheses ("------x", "x''''''"); a long run
    # of them is never meaningful and would only deepen the tree the engine walks.
    n = limits.max_depth
    run = re.search(rf"(?:[-+]\s*){{{n},}}|'{{{n},}}", text)
    if run:
        raise BadRequest(f"more than {limits.max_depth} operators in a row", code="too_deep",
                         field="expression", column=run.start() + 1)
    return text


def _shape_value(words: list[tuple[str, int]], name: str, text: str) -> object:
    """``[("n", col), ("x", col), ("n", col)]`` → ``("n", "n")``; kind and structure words."""
    if len(words) == 1 and words[0][0] in KIND_WORDS + STRUCTURE_WORDS:
        return words[0][0]
    dims: list[object] = []
    for i, (word, col) in enumerate(words):
        if word in STRUCTURE_WORDS and i == len(words) - 1 and i > 0:
            dims.append(word)
        elif word.isdigit():
            dims.append(int(word))
        elif word.isidentifier() and word not in KIND_WORDS + STRUCTURE_WORDS:
            dims.append(word)
        else:
            raise BadRequest(f"{name}: {word!r} is not a dimension (use a name like n or a "
                             "number)", code="shape_error", field="shapes", column=col)
    if not dims:
        raise BadRequest(f"{name}: give the shape after the colon, e.g. {name}: n x n",
                         code="shape_error", field="shapes", column=len(text) + 1)
    return tuple(dims)


# Declarations end at ";" or a newline, or at a comma followed by the next "name:" / "name=".
_DECLARATION_END = re.compile(r";|\n|,(?=\s*[A-Za-z][A-Za-z0-9_]*\s*[:=])")


def _declarations(text: str) -> list[tuple[int, str]]:
    """``(offset, chunk)`` for each declaration in ``text``."""
    spans, start = [], 0
    for m in _DECLARATION_END.finditer(text):
        spans.append((start, text[start:m.start()]))
        start = m.end()
    spans.append((start, text[start:]))
    return [(offset, chunk) for offset, chunk in spans if chunk.strip()]


def parse_shapes(text: str, limits: Limits) -> dict:
    """The page's declarations ``"A: n x n; x: n; S: symmetric"`` → ``parse``'s ``shapes``.

    Also accepts the command line's ``"A=n,n;x=n"``. A declaration is ``name: shape`` or
    ``name=shape``; declarations are separated by ``;``, newlines or commas; dimensions by
    spaces, ``x``, ``×``, ``*`` or commas. Kind words (scalar, vector, matrix) and structures
    (symmetric, diagonal) pass through for the parser to interpret.
    """
    shapes: dict[str, object] = {}
    for offset, chunk in _declarations(text):
        m = re.match(r"(\s*)([^:=]*?)\s*([:=])", chunk)
        col = offset + len(chunk) - len(chunk.lstrip()) + 1
        if not m or not _NAME.match(m.group(2)):
            raise BadRequest(f"write a declaration as name: shape (e.g. A: n x n), got "
                             f"{chunk.strip()!r}", code="shape_error", field="shapes",
                             column=col)
        name = m.group(2)
        if name in shapes:
            raise BadRequest(f"{name} is declared twice", code="shape_error", field="shapes",
                             column=col)
        base = offset + m.end()
        rest = chunk[m.end():].rstrip()
        dangling = (re.search(r"(?:(?<=\s)|^)[xX]$|[×*,]$", rest)
                    or re.match(r"\s*(?:[xX](?=\s)|[×*,])", rest))
        if dangling:  # "A: n x" would otherwise declare the vector A: n
            sep = dangling.group(0).strip()
            col = base + dangling.start() + len(dangling.group(0)) - len(sep) + 1
            raise BadRequest(f"{name}: a dimension is missing next to {sep!r} (write e.g. "
                             f"{name}: n x n)", code="shape_error", field="shapes", column=col)
        # "3x3" is two sizes; elsewhere x, ×, * and commas only separate ("n x n", "m×n").
        spaced = re.sub(r"(?<=\d)[xX](?=\d)", " ", chunk[m.end():])
        words = [(w.group(0), base + w.start() + 1)
                 for w in re.finditer(r"\d+|[A-Za-z_][A-Za-z0-9_]*|[^\s×*,]", spaced)
                 if w.group(0) not in ("x", "X")]
        shapes[name] = _shape_value(words, name, text)
        if len(shapes) > limits.max_shapes:
            raise BadRequest(f"more than {limits.max_shapes} shape declarations",
                             code="too_long", field="shapes", column=col)
    return shapes


def _shapes_from_json(value: object, limits: Limits) -> dict:
    if isinstance(value, str):
        return parse_shapes(value, limits)
    if not isinstance(value, dict):
        raise BadRequest("'shapes' must be a string like \"A: n x n\" or an object "
                         "{\"A\": [\"n\", \"n\"]}", field="shapes")
    if len(value) > limits.max_shapes:
        raise BadRequest(f"more than {limits.max_shapes} shape declarations", field="shapes")
    shapes: dict[str, object] = {}
    for name, spec in value.items():
        if not _NAME.match(name):
            raise BadRequest(f"{name!r} is not a variable name", field="shapes")
        if isinstance(spec, list):
            if len(spec) > 3 or not all(
                isinstance(d, str) and len(d) <= 32 or isinstance(d, int) and not
                isinstance(d, bool) and 0 <= d <= 10**6 for d in spec
            ):
                raise BadRequest(f"shapes[{name!r}] must be a list of at most 3 dimension "
                                 "names or sizes", field="shapes")
            spec = tuple(spec)
        elif not (isinstance(spec, str) and len(spec) <= 32
                  or isinstance(spec, int) and not isinstance(spec, bool)):
            raise BadRequest(f"shapes[{name!r}] must be a list, a size or a word such as "
                             "'symmetric'", field="shapes")
        shapes[name] = spec
    return shapes


def check_sizes(shapes: dict, limits: Limits) -> dict:
    """Refuse declared sizes beyond ``max_dim`` per axis or ``max_variable`` per variable."""
    for name, spec in shapes.items():
        dims = spec if isinstance(spec, tuple) else (spec,)
        sizes = [d for d in dims if isinstance(d, int) and not isinstance(d, bool)]
        for d in sizes:
            if d > limits.max_dim:
                raise BadRequest(f"{name}: a dimension of {d:,} is over the limit of "
                                 f"{limits.max_dim:,}; use a name such as n for a size that "
                                 "does not matter", code="too_large", field="shapes")
        total = 1
        for d in sizes:
            total *= d
        if total > limits.max_variable:
            raise BadRequest(f"{name} would have {total:,} entries, over the limit of "
                             f"{limits.max_variable:,}; declare smaller sizes or names",
                             code="too_large", field="shapes")
    return shapes


def derive_request(body: object, limits: Limits) -> dict:
    """Validate a ``/api/derive`` or ``/api/check`` body; returns the task's request."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    expression = _field(body, "expression", str)
    if expression is None:
        raise BadRequest("'expression' is required", field="expression")
    wrt = _field(body, "wrt", str) or None
    if wrt is not None and not _NAME.match(wrt):
        raise BadRequest(f"'wrt' must be a variable name, got {wrt!r}", field="wrt")
    layout = _field(body, "layout", str, "numerator")
    if layout not in LAYOUTS:
        raise BadRequest(f"'layout' must be one of {', '.join(LAYOUTS)}", field="layout")
    order = _field(body, "order", int, 1)
    if order not in (1, 2):
        raise BadRequest("'order' must be 1 (derivative) or 2 (Hessian)", field="order")
    trials = _field(body, "trials", int, 3)
    if not 1 <= trials <= 10:
        raise BadRequest("'trials' must be between 1 and 10", field="trials")
    shapes = body.get("shapes")
    return {
        "expression": check_expression(expression, limits),
        "wrt": wrt,
        "layout": layout,
        "order": order,
        "trials": trials,
        "shapes": check_sizes(_shapes_from_json(shapes, limits), limits)
        if shapes not in (None, "") else {},
        "max_jacobian": limits.max_jacobian,
        "max_nodes": limits.max_nodes,
        "max_answer": limits.max_answer,
    }


def plan_request(body: object, limits: Limits) -> dict:
    """Validate a ``/api/plan`` body: ``{"widths": [10, 6, 8, 2, 1]}`` or ``"10,6,8,2,1"``."""
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    widths = body.get("widths")
    if isinstance(widths, str):
        parts = [p for p in re.split(r"[\s,;]+", widths.strip()) if p]
        for p in parts:
            if not p.isdigit():
                col = widths.find(p) + 1
                raise BadRequest(f"{p!r} is not a layer width (a positive integer)",
                                 field="widths", column=col)
        widths = [int(p) for p in parts]
    if not isinstance(widths, list) or not all(
        isinstance(w, int) and not isinstance(w, bool) for w in widths
    ):
        raise BadRequest("'widths' must be a list of integers such as [10, 6, 8, 2, 1]",
                         field="widths")
    if len(widths) < 2:
        raise BadRequest("give at least two widths: the input width, then each layer's output",
                         field="widths")
    if len(widths) > limits.max_widths:
        raise BadRequest(f"at most {limits.max_widths} widths", code="too_long", field="widths")
    for w in widths:
        if not 1 <= w <= limits.max_width:
            raise BadRequest(f"width {w} is outside 1..{limits.max_width:,}", field="widths")
    return {"widths": widths}
