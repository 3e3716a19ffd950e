"""The ``tensorcalc`` command line (also ``python -m tensorcalc``).

Subcommands:

* ``derive EXPR --wrt x`` — symbolic derivative in matrixcalculus.org syntax, in numerator,
  denominator or gradient layout (numerator: ``out.shape + in.shape``), or the Hessian; printed
  as text, LaTeX, MathML or NumPy source, optionally with the derivation steps and a numeric
  check against the autodiff engine;
* ``plan --chain d0,d1,...,dq`` — forward / reverse / optimal multiplication counts of the
  Jacobian chain ``J_q ··· J_1`` (``10,6,8,2,1`` costs 660 / 124 / 124), or
  ``plan file.py:function --shape N`` — the accumulation plan of a Python function's Jacobian;
* ``train digits`` — an MLP on scikit-learn's digits with a progress bar;
* ``explain jacobians|differentials|accumulation|networks`` (or ``000``…``003``) — the lessons
  of docs/lessons/ reproduced and checked with the library;
* ``demo`` — the tour of ``python -m tensorcalc.demo``.

Exit status: 0 on success, 1 when a computed result fails its check or a dependency is missing,
2 for usage errors (bad arguments, an expression that does not parse, unknown variables).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class CLIError(Exception):
    """A failure reported as one line on stderr, with its exit status."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


# --- argument parsing helpers ----------------------------------------------------------------


def int_list(text: str) -> list[int]:
    """``"256,256"`` → ``[256, 256]``; argparse turns the ValueError into a usage error."""
    try:
        values = [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 10,6,8,2,1, got {text!r}") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values


def parse_shapes(specs: Sequence[str] | None) -> dict[str, Any]:
    """``["A=n,n", "x=n;B=3,4"]`` → ``{"A": ("n", "n"), "x": ("n",), "B": (3, 4)}``.

    A single word other than a dimension name (``symmetric``, ``matrix``, ``scalar``) is passed
    through as the shape description the symbolic parser understands.
    """
    shapes: dict[str, Any] = {}
    for spec in specs or []:
        for item in spec.split(";"):
            item = item.strip()
            if not item:
                continue
            name, sep, dims = item.partition("=")
            name, dims = name.strip(), dims.strip()
            if not sep or not name.isidentifier() or not dims:
                raise CLIError(f"--shapes: expected NAME=DIMS such as A=n,n or x=n, got {item!r}")
            parts = [d.strip() for d in dims.split(",")]
            if not all(parts):  # "A=n," would silently declare a vector
                raise CLIError(f"--shapes: an empty dimension in {item!r}; write NAME=DIMS "
                               "such as A=n,n")
            values: list[Any] = [int(d) if d.isdigit() else d for d in parts]
            words = {"scalar", "vector", "matrix", "symmetric", "diagonal"}
            shapes[name] = values[0] if len(values) == 1 and values[0] in words else tuple(values)
    return shapes


# --- derive ----------------------------------------------------------------------------------


def _symbolic() -> Any:
    # Imported when a command needs it, so `tensorcalc --help` does not pay for the engine.
    import tensorcalc.symbolic as ts

    return ts


def cmd_derive(args: argparse.Namespace) -> int:
    ts = _symbolic()
    shapes = parse_shapes(args.shapes)
    usage_errors = (ts.ParseError, ts.ShapeError, ts.UnsupportedSyntax, ValueError)
    unsupported = ts.UnsupportedExpression
    if args.hessian and args.layout not in (None, "numerator"):
        raise CLIError("--layout does not apply to --hessian (the Hessian is symmetric); "
                       "leave it out")
    try:
        # Parsed here with strict declarations, the page's and the library's validator: a
        # misspelt word or a name that does not occur is an error, not a silent other answer.
        expr = ts.parse(args.expression, shapes or None, strict_shapes=True)
        if args.hessian:
            d = ts.hessian(expr, args.wrt)
        else:
            d = ts.derivative(expr, args.wrt, layout=args.layout or "numerator")
    except unsupported as exc:
        raise CLIError(f"cannot differentiate {args.expression!r}: {_one_line(exc)}",
                       EXIT_FAILED) from exc
    except usage_errors as exc:
        raise CLIError(_one_line(exc)) from exc
    out = sys.stdout
    fmt = args.format
    if fmt == "text":
        what = "Hessian" if args.hessian else "derivative"
        vec = getattr(d, "form", "matrix") == "vec"
        # The page writes such results as ∂ vec f/∂ vec X; say so here too, or a Kronecker
        # matrix reads as if it had the 4-axis shape printed under it.
        form = (f" in vec form (d vec f = J d vec {args.wrt}, J a Kronecker-product matrix)"
                if vec else "")
        out.write(f"{what} of {args.expression} with respect to {args.wrt}{form}:\n  {d}\n")
        out.write(f"  layout: {getattr(d, 'layout', 'numerator')}, shape: "
                  f"{_shape_text(getattr(d, 'shape', None))}"
                  f"{' (as a tensor; J is its matricization)' if vec else ''}\n")
    elif fmt == "latex":
        out.write(d.latex() + "\n")
    elif fmt == "mathml":
        out.write(d.mathml() + "\n")
    else:  # numpy, torch or jax: the generated function
        out.write(d.numpy_source() if fmt == "numpy" else d.source(fmt))
    if args.steps:
        _write_steps(d, fmt)
    if args.check:
        report = d.check()
        passed = bool(getattr(report, "passed", report))
        stream = sys.stdout if fmt == "text" else sys.stderr
        stream.write(f"check: {report}\n")
        if not passed:
            return EXIT_FAILED
    return EXIT_OK


def _one_line(exc: BaseException) -> str:
    """A parse error's message with its column, without the caret picture under the text."""
    message = getattr(exc, "message", None) or str(exc).split("\n", 1)[0]
    column = getattr(exc, "column", None)
    return f"{message} (column {column})" if column else message


def _shape_text(shape: Any) -> str:
    if shape is None:
        return "?"
    if shape == ():
        return "scalar"
    inner = ", ".join(str(s) for s in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _write_steps(d: Any, fmt: str) -> None:
    steps = d.steps(format="latex") if fmt == "latex" else d.steps()
    stream = sys.stdout if fmt in ("text", "latex") else sys.stderr
    stream.write("steps:\n" if fmt == "text" else "")
    text = steps if isinstance(steps, str) else "\n".join(str(s) for s in steps)
    for line in text.splitlines():
        stream.write(f"  {line}\n" if fmt == "text" else f"{line}\n")


# --- plan ------------------------------------------------------------------------------------


def cmd_plan(args: argparse.Namespace) -> int:
    if args.chain is None and args.target is None:
        raise CLIError("plan needs --chain d0,d1,...,dq or a target path/to/module.py:function")
    if args.chain is not None and args.target is not None:
        raise CLIError("give either --chain or a function target, not both")
    if args.chain is not None:
        return _plan_chain(args.chain)
    return _plan_function(args.target, args.shape or [], args.seed)


def _plan_chain(dims: list[int]) -> int:
    if len(dims) < 2:
        raise CLIError(f"--chain needs at least two widths d0,d1 (input and output), got {dims}")
    from .accumulate import chain_cost
    from .explain.accumulation import write_chain_table

    cost = chain_cost(dims)
    out = sys.stdout
    out.write(f"Jacobian chain J{len(dims) - 1} ... J1 with J_i of shape d_i x d_(i-1); "
              "cost = scalar multiplications\n")
    write_chain_table(out, cost)
    return EXIT_OK


def load_function(target: str) -> Any:
    """``path/to/module.py:function`` → the function object (the file is imported)."""
    import importlib.util
    from pathlib import Path

    path_text, sep, name = target.rpartition(":")
    if not sep or not path_text or not name:
        raise CLIError(f"expected path/to/module.py:function, got {target!r}")
    path = Path(path_text)
    if not path.is_file():
        raise CLIError(f"no such file: {path_text}")
    spec = importlib.util.spec_from_file_location(f"_tensorcalc_plan_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise CLIError(f"cannot import {path_text} as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the user's module failed to import: report it, do not trace
        raise CLIError(f"importing {path_text} failed: {type(exc).__name__}: {exc}",
                       EXIT_FAILED) from exc
    fn = getattr(module, name, None)
    if not callable(fn):
        raise CLIError(f"{path_text} has no function named {name!r}")
    return fn


def _plan_function(target: str, shapes: list[list[int]], seed: int) -> int:
    import inspect

    import numpy as np

    import tensorcalc as tc

    fn = load_function(target)
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: let the call decide
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not shapes:
        raise CLIError(f"give the shape of each of the {len(names)} argument(s) with --shape, "
                       "e.g. --shape 512 or --shape 3,4")
    if params:
        try:
            inspect.signature(fn).bind(*shapes)
        except TypeError:
            listed = ", ".join(names) or "none"
            were = "was" if len(shapes) == 1 else "were"
            raise CLIError(f"{target} takes {len(names)} argument(s) ({listed}) but "
                           f"{len(shapes)} --shape {were} given; give one --shape per "
                           "argument, in order") from None
    rng = np.random.default_rng(seed)
    args = [rng.standard_normal(tuple(s)) for s in shapes]
    try:
        plan = tc.jacobian_plan(fn, *args)
    except tc.TensorcalcError as exc:
        raise CLIError(f"{type(exc).__name__}: {_one_line(exc)}") from exc
    except Exception as exc:  # the user's function failed on these arguments
        raise CLIError(f"calling {target} failed: {type(exc).__name__}: {_one_line(exc)}"
                       ) from exc
    shape_text = ", ".join("x".join(str(d) for d in s) for s in shapes)
    first = names[0] if names else "the first argument"
    sys.stdout.write(f"Jacobian plan for {target} with respect to its first argument, {first} "
                     f"(shape {shape_text.split(', ')[0]}), at random arguments of shape "
                     f"{shape_text}\n")
    sys.stdout.write(f"{plan}\n")
    return EXIT_OK


# --- train -----------------------------------------------------------------------------------


def cmd_train(args: argparse.Namespace) -> int:
    from .nn.digits import train_digits
    from .nn.io import save
    if args.epochs < 1:
        raise CLIError(f"--epochs must be >= 1, got {args.epochs}")
    if args.lr <= 0:
        raise CLIError(f"--lr must be > 0, got {args.lr}")
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.patience < 0:
        raise CLIError(f"--patience must be >= 0 (0 turns early stopping off), got "
                       f"{args.patience}")
    import os
    import tempfile

    def writable(option: str, path: str) -> None:
        # Checked before training: failing after minutes of training would lose the parameters.
        if os.path.isdir(path):
            raise CLIError(f"{option} {path}: is a directory; name a file in it")
        directory = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(directory):
            raise CLIError(f"{option} {path}: directory {directory} does not exist; create it "
                           "first")
        try:  # os.access is not enough: it ignores read-only mounts and says yes to root.
            fd, probe = tempfile.mkstemp(dir=directory, prefix=".tensorcalc-write-check-")
        except OSError as exc:
            raise CLIError(f"{option} {path}: cannot write to {directory} "
                           f"({exc.strerror or exc})") from None
        os.close(fd)
        os.unlink(probe)

    if args.save:
        writable("--save", args.save if args.save.endswith(".npz") else args.save + ".npz")
    if args.plot:
        writable("--plot", args.plot)
    out = sys.stdout
    try:
        report = train_digits(hidden=tuple(args.hidden), epochs=args.epochs, seed=args.seed,
                              lr=args.lr, batch_size=args.batch_size,
                              patience=args.patience or None, progress=not args.no_progress,
                              out=out, plot=args.plot)
    except ImportError as exc:
        raise CLIError(str(exc), EXIT_FAILED) from exc
    out.write(f"test accuracy: {report.test_accuracy:.2%}  (train {report.train_accuracy:.2%}, "
              f"{report.epochs_run} epochs, {report.seconds:.1f} s)\n")
    if args.save:
        save(args.save, report.params)
        out.write(f"parameters saved to {args.save}\n")
    return EXIT_OK


# --- explain, demo ---------------------------------------------------------------------------


def cmd_explain(args: argparse.Namespace) -> int:
    from .explain import LESSONS, lesson_title, run_lesson

    if args.list or args.lesson is None:
        for name, (number, summary) in LESSONS.items():
            sys.stdout.write(f"  {number}  {name:13} {lesson_title(name)}\n"
                             f"       {'':13} {summary}; docs/lessons/{name}.md\n")
        if args.list:
            return EXIT_OK
        raise CLIError("name a lesson: " + ", ".join(LESSONS) + " (or 000-003), or all")
    names = list(LESSONS) if args.lesson == "all" else [args.lesson]
    ok = True
    for name in names:
        ok = run_lesson(name, sys.stdout) and ok
    if not ok:
        sys.stderr.write("explain: a computed result did not match its check\n")
    return EXIT_OK if ok else EXIT_FAILED


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import main as demo_main

    return demo_main(["--quick"] if args.quick else [])


def cmd_info(args: argparse.Namespace) -> int:
    from .environment import print_environment_info

    print_environment_info(sys.stdout)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from .web import serve_from_args

    return serve_from_args(args)


# --- the parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tensorcalc",
        description="Matrix and tensor calculus for NumPy: symbolic derivatives, Jacobian "
                    "plans, a small network trainer, and four lessons.",
        epilog="Exit status: 0 ok, 1 a check failed or a dependency is missing, 2 usage error.")
    parser.add_argument("--version", action="version", version=f"tensorcalc {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("derive", help="symbolic derivative of a matrix expression",
                       description="Differentiate EXPR (matrixcalculus.org syntax: x' is the "
                                   "transpose, * the matrix product, .* the entrywise product).",
                       epilog="example: tensorcalc derive \"x' * A * x\" --wrt x --steps")
    p.add_argument("expression", metavar="EXPR", help="the expression, e.g. \"x' * A * x\"")
    p.add_argument("--wrt", required=True, metavar="VAR", help="the variable to differentiate by")
    p.add_argument("--layout", choices=("numerator", "denominator", "gradient"), default=None,
                   help="numerator: out.shape + in.shape (default); denominator: in.shape + "
                        "out.shape; gradient: shaped like VAR (scalar EXPR)")
    p.add_argument("--hessian", action="store_true", help="second derivative of a scalar EXPR")
    p.add_argument("--format", choices=("text", "latex", "mathml", "numpy", "torch", "jax"),
                   default="text", help="output format (default text); numpy, torch and jax "
                                        "print a standalone function")
    p.add_argument("--steps", action="store_true", help="print the derivation steps")
    p.add_argument("--check", action="store_true",
                   help="check the result numerically (exit 1 if it disagrees)")
    p.add_argument("--shapes", action="append", metavar="NAME=DIMS",
                   help="declare shapes, e.g. \"A=n,n\" or \"A=n,n;x=n\" (repeatable)")
    p.set_defaults(handler=cmd_derive)

    p = sub.add_parser("plan", help="cost of forward / reverse / optimal Jacobian accumulation",
                       description="Plan a Jacobian: a chain of widths (--chain) or a function "
                                   "in a Python file (path/to/module.py:function).",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples: tensorcalc plan --chain 10,6,8,2,1\n"
                              "          tensorcalc plan model.py:loss --shape 512")
    p.add_argument("target", nargs="?", metavar="FILE.py:FUNCTION",
                   help="a function to plan (its arguments are random arrays of --shape)")
    p.add_argument("--chain", type=int_list, metavar="D0,D1,...,DQ",
                   help="widths from the input d0 to the output dq")
    p.add_argument("--shape", type=int_list, action="append", metavar="N[,M...]",
                   help="shape of the next argument of FUNCTION (repeat per argument)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random arguments")
    p.set_defaults(handler=cmd_plan)

    p = sub.add_parser("train", help="train an MLP on a bundled data set",
                       description="Train an MLP (relu, Adam, softmax cross-entropy) with a "
                                   "progress bar and report the test accuracy.")
    p.add_argument("dataset", choices=("digits",), help="digits: scikit-learn's 8x8 digits")
    p.add_argument("--hidden", type=int_list, default=[256, 256], metavar="H1,H2,...",
                   help="hidden layer widths (default 256,256)")
    p.add_argument("--epochs", type=int, default=30, help="maximum epochs (default 30)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    p.add_argument("--batch-size", type=int, default=32, help="minibatch size (default 32)")
    p.add_argument("--patience", type=int, default=8,
                   help="early-stopping patience in epochs, 0 to disable (default 8)")
    p.add_argument("--seed", type=int, default=0, help="seed for the split, init and shuffling")
    p.add_argument("--plot", metavar="FILE.png", help="save the loss curves (matplotlib)")
    p.add_argument("--save", metavar="FILE.npz", help="save the trained parameters")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_train)

    p = sub.add_parser("explain", help="run a lesson (docs/lessons/) with the library",
                       description="Run a lesson of docs/lessons/: every result is computed by "
                                   "tensorcalc and checked.")
    p.add_argument("lesson", nargs="?",
                   choices=("jacobians", "differentials", "accumulation", "networks",
                            "000", "001", "002", "003", "all"),
                   help="jacobians (000), differentials (001), accumulation (002), networks "
                        "(003), or all")
    p.add_argument("--list", action="store_true", help="list the lessons")
    p.set_defaults(handler=cmd_explain)

    p = sub.add_parser("demo", help="the two-minute tour (same as python -m tensorcalc.demo)")
    p.add_argument("--quick", action="store_true", help="leave out the training run")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("info", help="versions, CPU, NumPy's BLAS kernels and what jit chose",
                       description="Print what tensorcalc runs on (as jax.print_environment_info"
                                   "() does), with a warning where NumPy's BLAS runs slower "
                                   "kernels than the CPU has.")
    p.set_defaults(handler=cmd_info)

    from .web.options import add_serve_arguments  # not .server: no sockets for --version

    p = sub.add_parser("serve", help="the local matrix calculus web page (127.0.0.1:8000)",
                       description="Serve the matrix calculus page on this machine only.")
    add_serve_arguments(p)
    p.set_defaults(handler=cmd_serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (usage errors exit 2 via argparse)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return args.handler(args)
    except CLIError as exc:
        sys.stderr.write(f"tensorcalc {args.command}: error: {exc}\n")
        return exc.code
    except (ValueError, TypeError, ArithmeticError) as exc:
        # Whatever a command did not foresee about its input is still one line, never a
        # traceback: the user can act on the message, not on our stack.
        sys.stderr.write(f"tensorcalc {args.command}: error: {type(exc).__name__}: "
                         f"{_one_line(exc)}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
