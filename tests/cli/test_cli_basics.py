"""The command line: help, version, usage errors, plan and explain (the lessons' 660/124,
ŷ − y)."""

import pytest

from tests.cli._run import run_cli


def test_help_lists_commands():
    res = run_cli("--help")
    assert res.returncode == 0
    for cmd in ("derive", "plan", "train", "explain", "demo"):
        assert cmd in res.stdout


@pytest.mark.parametrize("cmd", ["derive", "plan", "train", "explain", "demo"])
def test_subcommand_help(cmd):
    res = run_cli(cmd, "--help")
    assert res.returncode == 0
    assert "usage: tensorcalc" in res.stdout


def test_version():
    res = run_cli("--version")
    assert res.returncode == 0 and res.stdout.startswith("tensorcalc ")


def test_no_command_is_usage_error():
    res = run_cli()
    assert res.returncode == 2
    assert "usage: tensorcalc" in res.stderr


def test_unknown_command():
    res = run_cli("integrate")
    assert res.returncode == 2
    assert "invalid choice" in res.stderr


def test_plan_chain_10_6_8_2_1():
    res = run_cli("plan", "--chain", "10,6,8,2,1")
    assert res.returncode == 0, res.stderr
    lines = {line.split()[0]: line.split() for line in res.stdout.splitlines()
             if line.strip().startswith(("forward", "reverse", "optimal"))}
    assert lines["forward"][1] == "660"
    assert lines["reverse"][1] == "124"
    assert lines["optimal"][1] == "124"
    assert "(((J4 J3) J2) J1)" in res.stdout
    assert "10*6*8 + 10*8*2 + 10*2*1" in res.stdout


def test_plan_chain_where_optimal_beats_both():
    res = run_cli("plan", "--chain", "5,100,1,100,5")
    assert res.returncode == 0
    assert "best order: optimal" in res.stdout


@pytest.mark.parametrize("args, message", [
    (["plan"], "needs --chain"),
    (["plan", "--chain", "10,x"], "comma-separated integers"),
    (["plan", "--chain", "10,0,3"], "positive integers"),
    (["plan", "--chain", "7"], "at least two widths"),
    (["plan", "nofile.py:f", "--shape", "3"], "no such file"),
    (["plan", "justtext", "--shape", "3"], "module.py:function"),
])
def test_plan_usage_errors(args, message):
    res = run_cli(*args)
    assert res.returncode == 2
    assert message in res.stderr


def test_plan_function(tmp_path):
    mod = tmp_path / "model.py"
    mod.write_text("import tensorcalc.numpy as tnp\n\n"
                   "def f(x):\n    return tnp.sum(tnp.tanh(x) ** 2)\n")
    res = run_cli("plan", f"{mod}:f", "--shape", "16")
    import tensorcalc as tc

    try:
        from tensorcalc.transforms import jacobian_plan  # noqa: F401
    except ImportError:
        if not hasattr(tc, "jacobian_plan"):
            assert res.returncode == 1
            assert "jacobian_plan" in res.stderr
            return
    assert res.returncode == 0, res.stderr
    assert "Jacobian plan for" in res.stdout
    assert "1 outputs x 16 inputs" in res.stdout
    assert "reverse sweeps" in res.stdout


def test_plan_function_needs_shapes(tmp_path):
    mod = tmp_path / "model.py"
    mod.write_text("def f(x, y):\n    return x * y\n")
    res = run_cli("plan", f"{mod}:f")
    assert res.returncode == 2
    assert "2 argument(s) with --shape" in res.stderr


def test_plan_function_import_failure(tmp_path):
    mod = tmp_path / "broken.py"
    mod.write_text("raise RuntimeError('boom')\n")
    res = run_cli("plan", f"{mod}:f", "--shape", "3")
    assert res.returncode == 1
    assert "RuntimeError: boom" in res.stderr


def test_plan_function_missing_name(tmp_path):
    mod = tmp_path / "m.py"
    mod.write_text("def g(x):\n    return x\n")
    res = run_cli("plan", f"{mod}:f", "--shape", "3")
    assert res.returncode == 2
    assert "no function named 'f'" in res.stderr


def test_explain_002_numbers():
    res = run_cli("explain", "002")
    assert res.returncode == 0, res.stderr
    assert "660" in res.stdout and "124" in res.stdout
    assert "best order: reverse" in res.stdout


def test_explain_003_seven_results():
    res = run_cli("explain", "003")
    assert res.returncode == 0, res.stderr
    assert "y_hat - y" in res.stdout
    assert "7/7 results agree" in res.stdout
    assert res.stdout.count(" ok\n") == 7


def test_explain_000_and_001():
    res = run_cli("explain", "000")
    assert res.returncode == 0
    assert "(4, 3, 2, 3)" in res.stdout
    res = run_cli("explain", "001")
    assert res.returncode == 0
    assert "(A + A')x" in res.stdout


def test_explain_by_subject_name_prints_the_lesson_title():
    res = run_cli("explain", "accumulation")
    assert res.returncode == 0, res.stderr
    assert "Forward versus reverse accumulation" in res.stdout and "660" in res.stdout
    res = run_cli("explain", "--list")
    for name in ("jacobians", "differentials", "accumulation", "networks"):
        assert name in res.stdout and f"docs/lessons/{name}.md" in res.stdout
    assert "The gradients of a network, through softmax cross-entropy" in res.stdout


def test_explain_list_and_bad_lesson():
    res = run_cli("explain", "--list")
    assert res.returncode == 0 and "003" in res.stdout
    res = run_cli("explain")
    assert res.returncode == 2 and "name a lesson" in res.stderr
    res = run_cli("explain", "004")
    assert res.returncode == 2
    assert "invalid choice" in res.stderr


def test_demo_subcommand_quick():
    res = run_cli("demo", "--quick")
    assert res.returncode == 0, res.stderr
    assert "The gradients of a network" in res.stdout
    assert "7/7 results agree" in res.stdout


@pytest.mark.parametrize("shapes, words", [
    (["--shape", "3"], "takes 2 argument(s) (x, y) but 1 --shape was given"),
    (["--shape", "3", "--shape", "3", "--shape", "3"], "but 3 --shape were given"),
    (["--shape", "3", "--shape", "4"], "ShapeError: mul: shapes (3,), (4,)"),
    (["--shape", "2", "--shape", "2"], "calling"),  # the function itself raises
])
def test_plan_function_errors_are_one_line_with_status_2(tmp_path, shapes, words):
    mod = tmp_path / "m.py"
    mod.write_text("import tensorcalc.numpy as tnp\n\n"
                   "def g(x, y):\n    if x.shape == (2,):\n        raise KeyError('two')\n"
                   "    return tnp.sum(x * y)\n")
    res = run_cli("plan", f"{mod}:g", *shapes)
    assert res.returncode == 2, res.stderr
    assert words in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.stderr


def test_plan_function_says_which_argument_it_differentiates(tmp_path):
    mod = tmp_path / "m.py"
    mod.write_text("import tensorcalc.numpy as tnp\n\n"
                   "def g(weights, data):\n    return tnp.sum(weights * data)\n")
    res = run_cli("plan", f"{mod}:g", "--shape", "3", "--shape", "3")
    assert res.returncode == 0, res.stderr
    assert "with respect to its first argument, weights (shape 3)" in res.stdout
