"""The work behind the JSON API; these functions run inside the worker processes.

Each task takes an already validated request (plain dicts, see ``validate``) and returns a plain
dict: either a result, or ``{"error": {...}, "status": <HTTP status>}``. Errors are turned into
data here, in the worker, because only here do we still hold the exception objects with their
columns (``ParseError.column``); pickling them back would lose those fields.

The symbolic engine is imported lazily so that the page, the chain planner and the tests of the
server itself work while ``tensorcalc.symbolic`` is being built or if it fails to import.
"""

from __future__ import annotations

import contextlib
import json
import time

from tensorcalc.accumulate.chain import chain_cost

__all__ = ["derive", "check", "plan", "warm_up", "variables_of"]

# Which variable the page differentiates by when the user has not chosen one: the usual
# unknowns of the seeds and of matrixcalculus.org's examples, in this order.
PREFERRED_WRT = ("x", "w", "theta", "z", "X", "W", "u", "v")


try:  # import at worker start, so that the first request does not pay for it
    import tensorcalc.symbolic  # noqa: F401
    import tensorcalc.symbolic.numeric  # noqa: F401  (check; the package imports it lazily)
except Exception:  # noqa: BLE001 - reported per request by _prepare, with the reason
    pass
with contextlib.suppress(Exception):  # the engine behind check (tensorcalc.symbolic does not)
    import tensorcalc.numpy  # noqa: F401


def _error(status: int, code: str, message: str, **extra: object) -> dict:
    return {"status": status, "error": {"code": code, "message": message, **extra}}


def _dim_text(d: object) -> str:
    return str(d)


def shape_json(shape: tuple) -> dict:
    """``{"dims": [...], "text": "n × n", "kind": "matrix"}``; int dims stay ints."""
    dims = [d if isinstance(d, int) else _dim_text(d) for d in shape]
    kind = {0: "scalar", 1: "vector", 2: "matrix"}.get(len(dims), f"order-{len(dims)} tensor")
    text = " × ".join(str(d) for d in dims) if dims else "scalar"
    return {"dims": dims, "text": text, "kind": kind}


def variables_of(expr: object) -> list[dict]:
    """The free variables of a parsed expression, sorted by name."""
    found = getattr(expr, "free_vars", None) or ()
    names = found() if callable(found) else found  # a property today; tolerate a method
    out = []
    for v in sorted(names, key=lambda v: v.name):
        entry = {"name": v.name, "shape": shape_json(tuple(v.shape))}
        structure = getattr(v, "structure", None)
        if structure:
            entry["structure"] = structure
        out.append(entry)
    return out


def _default_wrt(variables: list[dict]) -> str | None:
    names = [v["name"] for v in variables]
    for name in PREFERRED_WRT:
        if name in names:
            return name
    # Otherwise the first non-scalar (a constant scalar is rarely the unknown), then anything.
    for v in variables:
        if v["shape"]["dims"]:
            return v["name"]
    return names[0] if names else None


def _symbolic():
    import tensorcalc.symbolic as ts

    return ts


def _parse_error(err: Exception, field: str = "expression") -> dict:
    column = getattr(err, "column", None)
    message = getattr(err, "message", None) or str(err).split("\n", 1)[0]
    return _error(400, "parse_error", message, column=column, field=field)


def _prepare(request: dict):
    """Parse and pick ``wrt``; returns ``(ts, expr, variables, wrt)`` or an error dict."""
    try:
        ts = _symbolic()
    except ImportError as err:
        return _error(503, "engine_unavailable", f"the symbolic engine failed to import: {err}")
    try:
        expr = ts.parse(request["expression"], shapes=request.get("shapes") or None,
                        strict_shapes=True)
    except ts.ParseError as err:
        return _parse_error(err)
    except RecursionError:
        return _error(400, "too_deep", "the expression is nested too deeply")
    variables = variables_of(expr)
    wrt = request.get("wrt") or _default_wrt(variables)
    if wrt is None:
        return _error(400, "no_variable", "the expression has no variables to differentiate by",
                      variables=variables)
    if wrt not in {v["name"] for v in variables}:
        names = ", ".join(v["name"] for v in variables)
        return _error(400, "unknown_variable",
                      f"{wrt!r} does not occur in the expression (variables: {names})",
                      field="wrt", variables=variables)
    return ts, expr, variables, wrt


def _budget(request: dict):
    """The request's node budget (``Limits.max_nodes``), or no limit when it has none."""
    limit = request.get("max_nodes")
    if not limit:
        return contextlib.nullcontext()
    from tensorcalc.symbolic.expr import node_budget

    return node_budget(limit)


def _differentiate(ts, expr, wrt: str, layout: str, order: int):
    if order == 2:
        return ts.hessian(expr, wrt)
    return ts.derivative(expr, wrt, layout=layout)


def _unsupported(ts, err: Exception) -> dict | None:
    from tensorcalc.symbolic.errors import ResultTooLarge

    if isinstance(err, ResultTooLarge):
        return _error(400, "too_large", str(err))
    if isinstance(err, ts.UnsupportedExpression):
        return _error(400, "unsupported", str(err))
    if isinstance(err, ts.ParseError):  # shape errors found while differentiating
        return _parse_error(err)
    if isinstance(err, RecursionError):
        return _error(400, "too_deep", "the expression is nested too deeply")
    if isinstance(err, ArithmeticError):  # overflow or a division by zero in the constants
        return _error(400, "numeric_error", f"arithmetic on the constants failed "
                                            f"({type(err).__name__}: {err}); use smaller or "
                                            "non-zero numbers")
    if isinstance(err, ValueError):  # e.g. a layout the result cannot take
        return _error(400, "bad_request", str(err))
    return None


def derive(request: dict) -> dict:
    """Derivative (order 1) or Hessian (order 2) with every rendering the page shows."""
    started = time.perf_counter()
    prepared = _prepare(request)
    if isinstance(prepared, dict):
        return prepared
    ts, expr, variables, wrt = prepared
    try:
        with _budget(request):  # rendering simplifies too, so it stays inside the budget
            result = _rendered(ts, expr, wrt, request)
    except Exception as err:  # noqa: BLE001 - known failures become 400s, the rest re-raise
        known = _unsupported(ts, err)
        if known is None:
            raise
        known["variables"] = variables
        known["wrt"] = wrt
        return known
    size = len(json.dumps(result))
    limit = request.get("max_answer")
    if limit and size > limit:
        return _error(400, "too_large", f"result too large: the answer would be {size:,} "
                                        f"characters, over the limit of {limit:,}; try a "
                                        "smaller expression or a first derivative",
                      variables=variables, wrt=wrt)
    return {
        "expression": request["expression"],
        "parsed": str(expr),
        "parsed_mathml": expr.mathml() if hasattr(expr, "mathml") else None,
        "variables": variables,
        "wrt": wrt,
        "order": request["order"],
        "result": result,
        "elapsed_ms": round(1000 * (time.perf_counter() - started), 1),
    }


def _rendered(ts, expr, wrt: str, request: dict) -> dict:
    d = _differentiate(ts, expr, wrt, request["layout"], request["order"])
    return {
        "text": str(d),
        "latex": d.latex(),
        "mathml": d.mathml(),
        "shape": shape_json(tuple(d.shape)),
        "layout": str(getattr(d, "layout", request["layout"])),
        # "matrix", or "vec" for 3rd/4th-order results given as d vec F = J d vec X
        "form": str(getattr(d, "form", "matrix")),
        "steps": d.steps(),
        "steps_latex": d.steps(format="latex"),
        "numpy": d.numpy_source(),
    }


def _jacobian_too_large(d, limit: int | None) -> dict | None:
    """A 400 when the check would build a Jacobian of more than ``limit`` entries.

    Named dimensions get the checker's small sizes; only declared numbers make it large.
    """
    if not limit:
        return None
    from tensorcalc.symbolic.numeric import bind_dims

    sizes = bind_dims(d.base.free_vars, extra=d.base)
    entries = 1
    for dim in d.shape:
        for part in str(dim).split("·"):  # vec-form dimensions are products like "n·m"
            entries *= int(part) if part.isdigit() else sizes.get(part, 1)
    if entries <= limit:
        return None
    return _error(400, "too_large", f"the numerical check would build a Jacobian of "
                                    f"{entries:,} entries, over the limit of {limit:,}; "
                                    "declare smaller sizes or use names such as n",
                  field="shapes")


#: How the page names each reference ``Derivative.check`` can compare with.
REFERENCES = {
    "engine": "tensorcalc's autodiff engine",
    "central-difference": "central finite differences",
}


def check(request: dict) -> dict:
    """Compare the symbolic derivative with a numerical reference on random data: the autodiff
    engine's Jacobian where it applies, central finite differences otherwise."""
    started = time.perf_counter()
    prepared = _prepare(request)
    if isinstance(prepared, dict):
        return prepared
    ts, expr, _variables, wrt = prepared
    try:
        with _budget(request):
            d = _differentiate(ts, expr, wrt, request["layout"], request["order"])
        too_large = _jacobian_too_large(d, request.get("max_jacobian"))
        if too_large:
            return too_large
        report = d.check(trials=request.get("trials", 3))
        passed = True
    except Exception as err:  # noqa: BLE001
        report = getattr(err, "report", None)
        if report is None:
            known = _unsupported(ts, err)
            if known is None:
                raise
            return known
        passed = False  # DerivativeMismatch carries the report of the failed comparison
    max_error = getattr(report, "max_error", None)
    method = str(getattr(report, "method", "central-difference"))
    return {
        "wrt": wrt,
        "ok": bool(getattr(report, "ok", passed)) and passed,
        "max_error": float(max_error) if max_error is not None else None,
        # Which reference the symbolic result was compared with: the page must not say
        # "finite differences" when the autodiff engine answered.
        "method": method,
        "reference": REFERENCES.get(method, method),
        "note": str(getattr(report, "note", "") or ""),
        "report": str(report),
        "elapsed_ms": round(1000 * (time.perf_counter() - started), 1),
    }


def warm_up(request: dict) -> dict:
    """Run once in each worker before it reports ready: the engine's first derivation pays for
    lazy imports and first-call caches (about 200 ms, against about 10 ms warm)."""
    return derive(request)


def plan(request: dict) -> dict:
    """Forward, reverse and optimal accumulation costs of a Jacobian chain
    (docs/lessons/accumulation.md)."""
    widths = request["widths"]
    c = chain_cost(widths)
    q = len(widths) - 1
    # Products are m·n·p of neighbouring widths; listing them lets the page explain the totals.
    forward_terms = [widths[i] * widths[i - 1] * widths[0] for i in range(2, q + 1)]
    reverse_terms = [widths[q] * widths[i] * widths[i - 1] for i in range(1, q)]
    return {
        "widths": list(c.dims),
        "factors": [f"J{i}: {widths[i]}×{widths[i - 1]}" for i in range(1, q + 1)],
        "forward": c.forward,
        "reverse": c.reverse,
        "optimal": c.optimal,
        "forward_terms": forward_terms,
        "reverse_terms": reverse_terms,
        "bracketing": str(c.bracketing),
        "forward_bracketing": str(c.forward_bracketing),
        "reverse_bracketing": str(c.reverse_bracketing),
        "best_mode": c.best_mode,
        "table": c.table(),
    }
