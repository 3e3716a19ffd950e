"""Parser for the matrixcalculus.org expression language (grammar in ``grammar.lark``).

The text is parsed with lark's LALR parser; an inline transformer builds expression nodes while
parsing, so no recursion over the parse tree happens and nothing is ever ``eval``-ed. Types come
from the first letter of a name (a–g scalar, h–z vector, A–Z matrix) unless declared through
``shapes``. Dimensions start unknown and are inferred by unification (``shapes.unifying``), then
named n, m, k, p, ... in order of appearance.

Limits: ``MAX_LENGTH`` characters and expression depth ``MAX_DEPTH``; both raise ``ParseError``.
"""

from __future__ import annotations

import contextvars
import difflib
import re
from importlib import resources

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from . import language_calls
from .errors import ParseError, ShapeError, UnsupportedSyntax
from .expr import (
    ELEMENTWISE,
    UNARY_BY_NAME,
    Add,
    Const,
    Expr,
    Fill,
    Func,
    Identity,
    Inv,
    MatPow,
    Mul,
    Pow,
    Var,
    add,
    hadamard,
    mul,
    neg,
    number,
    transpose,
)
from .shapes import Hole, describe, dim_mul, is_matrix, is_scalar, resolve, same_dim, unifying

MAX_LENGTH = 2000
MAX_DEPTH = 64
DIM_NAMES = ("n", "m", "k", "p", "q", "r", "s", "t", "u", "v", "w", "l")
FUNCTIONS = tuple(sorted(set(ELEMENTWISE) | set(UNARY_BY_NAME) | {"vector", "matrix"}
                         | set(language_calls.CALLS)))
STRUCTURE_WORDS = ("symmetric", "diagonal")
# Names the numeric evaluator cannot take as variables: its values are keyword arguments of a
# method (``self``) next to the ``dim_<n>`` sizes of dimensions no variable carries.
RESERVED_NAMES = ("self",)
RESERVED_PREFIX = "dim_"
# The grammar's NUMBER caps (30 digits per part, 3 in the exponent): longer runs are reported as
# "number too long" instead of a confusing "unexpected '1111…'" at the 31st digit.
_LONG_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])[0-9]{31,}|(?<![A-Za-z0-9_])[0-9.]*[0-9][eE][+-]?"
                          r"[0-9]{4,}|\.[0-9]{31,}")

_TOKEN_WORDS = {
    "PLUS": "'+'", "MINUS": "'-'", "STAR": "'*'", "SLASH": "'/'", "DOTSTAR": "'.*'",
    "DOTSLASH": "'./'", "CARET": "'^'", "DOTCARET": "'.^'", "QUOTE": "\"'\" (transpose)",
    "LPAR": "'('", "RPAR": "')'", "NUMBER": "a number", "NAME": "a name", "$END": "end of input",
    "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "COLON": "':'",
}


class _State:
    """Per-parse state: declared shapes, the variables seen so far, the source text."""

    def __init__(self, text: str, shapes: dict | None):
        self.text = text
        self.shapes = dict(shapes or {})
        self.vars: dict[str, Var] = {}
        self.first: dict[str, int] = {}  # where each variable first occurs (a column offset)


_state: contextvars.ContextVar[_State] = contextvars.ContextVar("tensorcalc_symbolic_parse")


def _col(tok: object) -> int | None:
    return getattr(tok, "column", None)


def _fail(message: str, tok: object = None, cls: type = ParseError) -> ParseError:
    return cls(message, _state.get().text, _col(tok))


def const_value(e: Expr) -> object | None:
    """The number a constant-only expression denotes (``-1``, ``1/2``), else None."""
    if isinstance(e, Const):
        return e.value
    if isinstance(e, Mul | Add):
        vals = [const_value(a) for a in e.args]
        if any(v is None for v in vals):
            return None
        out = vals[0]
        for v in vals[1:]:
            out = out * v if isinstance(e, Mul) else out + v  # type: ignore[operator]
        return number(out)
    if isinstance(e, Pow):
        b = const_value(e.args[0])
        if b is None or (b == 0 and e.exponent < 0):
            return None
        if isinstance(e.exponent, int) and abs(e.exponent) <= 16 and abs(b) < 10**6:
            return number(b**e.exponent)
    return None


def _checked(e: Expr, tok: object) -> Expr:
    if e.depth > MAX_DEPTH:
        raise _fail(f"expression nested deeper than {MAX_DEPTH} levels", tok)
    return e


class _Builder(Transformer):
    """Inline transformer: each method builds one node, reporting errors at its operator."""

    def _op(self, fn, tok: Token, *args: Expr) -> Expr:
        try:
            return _checked(fn(*args), tok)
        except ShapeError as err:
            msg = err.message
            if "?" in msg:  # a product of dimensions not known yet (kron, vec)
                msg = re.sub(r"[?][0-9]+(·[?][0-9]+)*", "?", msg) + (
                    "; declare the operands' shapes, e.g. shapes={'A': ('n', 'n')}")
            raise _fail(msg, tok, ShapeError) from None

    def add(self, c):
        return self._op(add, c[1], c[0], c[2])

    def sub(self, c):
        return self._op(lambda a, b: add(a, neg(b)), c[1], c[0], c[2])

    def mul(self, c):
        return self._op(mul, c[1], c[0], c[2])

    def div(self, c):
        a, tok, b = c
        if not is_scalar(b.shape):
            raise _fail(
                f"/ divides by a scalar, got {describe(b.shape)}: use ./ for elementwise "
                "division or inv(B) for a matrix inverse", tok, UnsupportedSyntax)
        return self._op(lambda x, y: mul(x, Pow(y, -1)), tok, a, b)

    def hadamard(self, c):
        return self._op(hadamard, c[1], c[0], c[2])

    def ediv(self, c):
        return self._op(lambda a, b: hadamard(a, Pow(b, -1)), c[1], c[0], c[2])

    def neg(self, c):
        return self._op(neg, c[0], c[1])

    def pos(self, c):
        return c[1]

    def pow(self, c):
        base, tok, ex = c
        p = const_value(ex)
        if p is None:
            integer = not is_scalar(base.shape)
            ex = language_calls.exponent(ex, _retyped(ex, tok, integer), integer, _fail, tok)
            return self._op(language_calls.symbolic_power, tok, base, ex)
        if is_scalar(base.shape):
            return self._op(Pow, tok, base, p)
        if not is_matrix(base.shape):
            raise _fail(f"^: {describe(base.shape)} has no power; use .^ for elementwise", tok,
                        ShapeError)
        if p != int(p) or abs(p) > 64:  # type: ignore[arg-type]
            raise _fail("^: a matrix power needs an integer exponent (|k| ≤ 64)", tok,
                        UnsupportedSyntax)
        k = int(p)  # type: ignore[arg-type]

        def matpow(x: Expr) -> Expr:
            same_dim(x.shape[0], x.shape[1], "matrix power")
            if k == 0:
                return Identity(x.shape[0])
            m = x if abs(k) == 1 else MatPow(x, abs(k))
            return Inv(m) if k < 0 else m

        return self._op(matpow, tok, base)

    def epow(self, c):
        base, tok, ex = c
        p = const_value(ex)
        if p is None:
            ex = language_calls.exponent(ex, _retyped(ex, tok, False), False, _fail, tok)
            return self._op(language_calls.elementwise_power, tok, base, ex)
        return self._op(Pow, tok, base, p)

    def index(self, c):
        base, tok, items, _ = c
        specs = [spec for spec, _sym in items]
        symbols = [sym for _spec, sym in items if sym is not None]
        return self._op(language_calls.index, tok, base, specs, symbols)

    def index_list(self, c):
        return [item for item in c if not (isinstance(item, Token) and item.type == "COMMA")]

    def at_number(self, c):
        return (("at", _index_number(c[0])), None)

    def at_name(self, c):
        return (("sym", None), _index_symbol(str(c[0]), c[0]))

    def every(self, c):
        return (language_calls.ALL, None)

    def span(self, c):
        return (("span", _index_number(c[0]), _index_number(c[2])), None)

    def arguments(self, c):
        return [a for a in c if not (isinstance(a, Token) and a.type == "COMMA")]

    def transpose(self, c):
        return self._op(transpose, c[1], c[0])

    def number(self, c):
        try:
            return Const(number(str(c[0]).lower().replace("e+", "e")))
        except OverflowError:  # 1e999: exact, but beyond a float
            raise _fail(f"the number {c[0]} is too large (the largest is about 1.8e308)",
                        c[0]) from None

    def group(self, c):
        return c[1]

    def name(self, c):
        tok = c[0]
        word = str(tok)
        if word == "eye":
            return Identity(Hole())
        if word in FUNCTIONS:
            raise _fail(f"{word} is a function: write {word}(...)", tok)
        return _variable(word, tok)

    def call(self, c):
        tok, _, args, _ = c
        word = str(tok)
        if word in language_calls.CALLS and (len(args) > 1 or word not in UNARY_BY_NAME):
            try:
                return self._op(lambda *a: language_calls.call(word, list(a)), tok, *args)
            except language_calls.CallError as err:
                raise _fail(str(err), tok, UnsupportedSyntax) from None
        if len(args) != 1:
            raise _fail(f"{word} takes one argument, got {len(args)}", tok, UnsupportedSyntax)
        arg = args[0]
        if word in ("vector", "matrix"):
            shape = (Hole(),) if word == "vector" else (Hole(), Hole())
            if not is_scalar(arg.shape):
                raise _fail(f"{word}(c) takes a scalar, got {describe(arg.shape)}", tok, ShapeError)
            v = const_value(arg)
            if v is not None:
                return Fill(v, shape)
            return self._op(mul, tok, arg, Fill(1, shape))
        if word in ELEMENTWISE:
            return self._op(lambda a: Func(word, a), tok, arg)
        cls = UNARY_BY_NAME.get(word)
        if cls is None:
            raise _fail(f"unknown function {word!r}; known: {', '.join(FUNCTIONS)}", tok)
        return self._op(cls, tok, arg)


_KINDS = ("scalar", "vector", "matrix")


def _misspelt(word: str) -> str | None:
    """The kind or structure word ``word`` is a typo of (``symetric``), if any.

    Such a word would otherwise be taken for a dimension name and silently change the answer
    (``A=symetric`` declared a vector); the CLI and the page send declarations through here.
    """
    if len(word) < 4 or word in _KINDS + STRUCTURE_WORDS:
        return None
    close = difflib.get_close_matches(word.lower(), _KINDS + STRUCTURE_WORDS, n=1, cutoff=0.75)
    return close[0] if close else None


def _declared(name: str, spec: object, tok: object) -> tuple[tuple, str | None]:
    """Shape and structure from a ``shapes={name: spec}`` entry."""
    if spec == "integer":
        return (), "integer"
    if isinstance(spec, str):
        if spec in STRUCTURE_WORDS:
            d = Hole()
            return (d, d), spec
        kinds = {"scalar": (), "vector": (Hole(),), "matrix": (Hole(), Hole())}
        if spec not in kinds:
            typo = _misspelt(spec)
            hint = f"did you mean {typo!r}? Otherwise " if typo else ""
            raise _fail(f"shapes[{name!r}] = {spec!r}: {hint}use a tuple of dimensions or one "
                        f"of {', '.join(list(kinds) + list(STRUCTURE_WORDS))}", tok)
        return kinds[spec], None
    if isinstance(spec, int) and not isinstance(spec, bool):
        spec = (spec,)
    if not isinstance(spec, tuple | list) or len(spec) > 3:
        raise _fail(f"shapes[{name!r}] = {spec!r}: expected a tuple of dimensions", tok)
    dims = list(spec)
    for d in dims:
        typo = _misspelt(d) if isinstance(d, str) else None
        if typo:
            raise _fail(f"shapes[{name!r}]: {d!r} looks like a misspelt {typo!r}; write "
                        f"{typo!r}, or rename the dimension if {d!r} is meant", tok)
    structure = None
    if dims and dims[-1] in STRUCTURE_WORDS:
        structure = dims.pop()
    if len(dims) > 2:
        raise _fail(f"shapes[{name!r}]: at most two dimensions (scalar, vector, matrix)", tok)
    for d in dims:
        ok = (isinstance(d, int) and not isinstance(d, bool) and d >= 2) or (
            isinstance(d, str) and d.isidentifier())
        if not ok:
            raise _fail(f"shapes[{name!r}]: dimension {d!r} must be a name or an int >= 2 "
                        "(a length-1 axis is a vector or scalar)", tok)
    return tuple(dims), structure


def _variable(word: str, tok: object) -> Var:
    st = _state.get()
    if word in st.vars:
        return st.vars[word]
    if word in RESERVED_NAMES or word.startswith(RESERVED_PREFIX):
        other = f"{word}1" if word in RESERVED_NAMES else word.replace("_", "", 1)
        raise _fail(f"{word!r} is reserved for the numeric evaluator (self and dim_...); "
                    f"rename the variable, e.g. {other}", tok)
    exponent = _exponent_kind(st.text, getattr(tok, "start_pos", 0))
    if word in st.shapes:
        shape, structure = _declared(word, st.shapes[word], tok)
    elif exponent is not None:  # first written in an exponent: X^(k - 1), x .^ (p + 1)
        shape, structure = (), exponent
    else:
        first = word[0]
        shape = () if "a" <= first <= "g" else (Hole(),) if first.islower() else (Hole(), Hole())
        structure = None
    try:
        v = Var(word, shape, structure or None)
    except ShapeError as err:
        raise _fail(err.message, tok, ShapeError) from None
    st.vars[word] = v
    st.first[word] = getattr(tok, "start_pos", -1)
    return v


def _exponent_kind(text: str, pos: int) -> str | None:
    """"integer" after ``^`` or ``^(``, "" (a real scalar) after ``.^``; else None."""
    j = pos - 1
    while j >= 0 and text[j] in " \t(":
        j -= 1
    if j < 0 or text[j] != "^":
        return None
    return "" if j and text[j - 1] == "." else "integer"


def _index_number(tok: Token) -> int:
    text = str(tok)
    if not text.isdigit():
        raise _fail(f"[]: the index {text} must be a non-negative integer (indices are 0-based)",
                    tok, UnsupportedSyntax)
    return int(text)


def _index_symbol(word: str, tok: Token) -> Var:
    """The integer index symbol ``word`` (a name inside brackets)."""
    st = _state.get()
    v = st.vars.get(word)
    if v is None:
        if word in st.shapes and _declared(word, st.shapes[word], tok) != ((), "integer"):
            raise _fail(f"[]: {word} is declared {st.shapes[word]!r} but used as an index; "
                        "declare it 'integer'", tok, ShapeError)
        v = language_calls.integer_symbol(word)
        st.vars[word] = v
        st.first[word] = tok.start_pos
    elif v.structure != "integer":
        raise _fail(f"[]: {word} is a {describe(v.shape)} variable, not an integer index; "
                    "use another name for the index", tok, ShapeError)
    return v


def _retyped(ex: Expr, caret: Token, integer: bool) -> Expr:
    """A name first written in this exponent is a scalar (an integer for a matrix power),
    whatever its first letter says: ``X^k``, ``x .^ p``."""
    st = _state.get()
    if not isinstance(ex, Var) or ex.name in st.shapes:
        return ex
    if st.first.get(ex.name, -1) <= caret.start_pos or ex.structure == "integer":
        return ex
    v = language_calls.integer_symbol(ex.name) if integer else Var(ex.name, ())
    st.vars[ex.name] = v
    return v


_PARSER: Lark | None = None


def _lark() -> Lark:
    global _PARSER
    if _PARSER is None:
        grammar = resources.files(__package__).joinpath("grammar.lark").read_text("utf-8")
        _PARSER = Lark(grammar, parser="lalr", transformer=_Builder(), maybe_placeholders=False)
    return _PARSER


def _syntax_error(err: UnexpectedInput, text: str) -> ParseError:
    if isinstance(err, UnexpectedToken):
        got = "end of input" if err.token.type == "$END" else repr(str(err.token))
        col = len(text) + 1 if err.token.type == "$END" else err.column
        expected = sorted(_TOKEN_WORDS.get(t, t) for t in err.expected)
        return ParseError(f"unexpected {got}; expected {', '.join(expected)}", text, col)
    if isinstance(err, UnexpectedCharacters):
        return ParseError(f"unexpected character {text[err.pos_in_stream]!r}", text, err.column)
    if isinstance(err, UnexpectedEOF):
        return ParseError("unexpected end of input", text, len(text) + 1)
    return ParseError(str(err), text, getattr(err, "column", None))


def parse(text: str | Expr, shapes: dict | None = None, *, strict_shapes: bool = False
          ) -> Expr:
    """Parse matrixcalculus.org syntax into an expression.

    ``shapes`` declares names: ``{"X": ("m", "n"), "S": "symmetric", "x": 5, "c": ()}``.
    ``strict_shapes`` also refuses declarations of names the text does not use (the CLI and
    the page set it: there a declared name that does not occur is a typo, while library code
    may pass one table of declarations to many expressions).
    Raises ``ParseError`` (a ``ValueError``) with a caret under the offending column.
    """
    if isinstance(text, Expr):
        return text
    if hasattr(text, "expr") and isinstance(text.expr, Expr):  # a Derivative result
        return text.expr
    if not isinstance(text, str):
        raise TypeError(f"parse expects a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"expression longer than {MAX_LENGTH} characters", None, None)
    if not text.strip():
        raise ParseError("empty expression", text, 1)
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if depth > MAX_DEPTH:
            raise ParseError(f"parentheses nested deeper than {MAX_DEPTH}", text, i + 1)
    long_number = _LONG_NUMBER.search(text)
    if long_number:
        raise ParseError("number too long: write at most 30 digits before and after the point "
                         "and 3 in the exponent", text, long_number.start() + 1)
    state = _State(text, shapes)
    token = _state.set(state)
    try:
        with unifying():
            try:
                raw = _lark().parse(text)
            except UnexpectedInput as err:
                raise _syntax_error(err, text) from None
            if strict_shapes:
                _no_unused(state)
            final = _resolved_dims(raw, _name_dims(raw, state))
        out = _rebuild_resolved(raw, final)
    finally:
        _state.reset(token)
    if "expect" in text:  # E[f(x)], x ~ N(m, S): closed forms (gaussian.py)
        from .gaussian import expand_expectations

        out = expand_expectations(out)
    return out


def _no_unused(state: _State) -> None:
    unused = sorted(set(state.shapes) - set(state.vars))
    if unused:
        used = ", ".join(sorted(state.vars)) or "none"
        for name in unused:  # a declared shape is still checked, so a typo in it is reported
            _declared(name, state.shapes[name], None)
        raise ParseError(f"shapes: {', '.join(unused)} declared but not in the expression "
                         f"(its variables: {used}); remove the declaration or fix the name",
                         state.text, None)


def _walk(e: Expr):
    """Iterative pre-order traversal (inputs are bounded, but stay iterative anyway)."""
    stack = [e]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(reversed(node.args))


def _name_dims(e: Expr, state: _State) -> dict:
    """Map each unresolved dimension to a fresh name, in order of appearance."""
    used = {d for v in state.vars.values() for d in v.shape if isinstance(d, str)}
    for spec in state.shapes.values():
        if isinstance(spec, tuple | list):
            used |= {d for d in spec if isinstance(d, str)}
    pool = [n for n in DIM_NAMES if n not in used]
    pool += [f"n{i}" for i in range(1, 1000) if f"n{i}" not in used]
    names: dict = {}
    order = sorted(state.vars.values(), key=lambda v: state.text.find(v.name))
    leaves = list(order) + [n for n in _walk(e) if not n.args]
    for leaf in leaves:
        for d in _leaf_dims(leaf):
            r = resolve(d)
            if isinstance(r, Hole) and r not in names:
                names[r] = pool[len(names)]
    return {"resolve": resolve, "names": names}


def _leaf_dims(leaf: Expr) -> tuple:
    if isinstance(leaf, Var | Fill):
        return leaf.shape
    if isinstance(leaf, Identity):
        return (leaf.n,)
    return ()


def _resolved_dims(e: Expr, ctx: dict) -> dict:
    """Final value of every dimension object in the tree (call while still unifying)."""
    names = ctx["names"]
    final: dict = {}
    holes: dict[str, Hole] = {}
    for node in _walk(e):
        for d in _leaf_dims(node):
            r = ctx["resolve"](d) if isinstance(d, Hole) else d
            final[d] = names.get(r, r)
            if isinstance(d, Hole):
                holes[repr(d)] = d
    for d, r in final.items():  # x' * vec(X): x's length is the product of X's dimensions
        if isinstance(r, str) and "?" in r:
            out: object = 1
            for part in r.split("·"):
                got = final.get(holes[part], part) if part in holes else part
                out = dim_mul(out, int(got) if isinstance(got, str) and got.isdigit() else got)
            final[d] = out
    return final


def _rebuild_resolved(e: Expr, final: dict) -> Expr:
    """Rebuild the tree with every dimension resolved (shape checks run again, now exact)."""
    memo: dict[int, Expr] = {}
    stack: list[tuple[Expr, bool]] = [(e, False)]
    while stack:  # iterative post-order: children are rebuilt before their parents
        node, ready = stack.pop()
        if id(node) in memo:
            continue
        if not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if id(a) not in memo)
            continue
        if isinstance(node, Var):
            new: Expr = Var(node.name, tuple(final.get(d, d) for d in node.shape), node.structure)
        elif isinstance(node, Fill):
            new = Fill(node.value, tuple(final.get(d, d) for d in node.shape))
        elif isinstance(node, Identity):
            new = Identity(final.get(node.n, node.n))
        elif node.args:
            new = node.rebuild(tuple(memo[id(a)] for a in node.args))
        else:
            new = node
        memo[id(node)] = new
    return memo[id(e)]
