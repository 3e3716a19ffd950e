"""The page's items from issue 21 and the rest of item 6: the check names its reference, the
stylesheet names a math font, workers are warm before the first request, and a quick request
never waits behind slow checks (a bounded loopback load test)."""

from __future__ import annotations

import threading
import time

import pytest

from tensorcalc.web import Limits, ServerThread, WebApp
from tensorcalc.web.app import SLOW_TASKS, TASKS
from tensorcalc.web.worker import WorkerPool

from .test_web_api import call, needs_engine


@needs_engine
def test_check_says_which_reference_it_compared_with(live_server):
    status, _, body = call(live_server, "POST", "/api/check", {"expression": "x'*A*x"})
    assert status == 200, body
    assert body["method"] in ("engine", "central-difference")
    assert body["method"] in body["report"]  # the same reference the report names
    # x'Ax is within the autodiff engine's reach: the page must not say "finite differences".
    assert body["method"] == "engine"
    assert "autodiff" in body["reference"] and "finite" not in body["reference"]


def test_page_labels_the_check_with_the_reference_the_server_names(live_server):
    _, _, script = call(live_server, "GET", "/static/app.js")
    script = script.decode()
    assert "agrees with finite differences" not in script
    assert "data.reference" in script


def test_stylesheet_names_a_math_font(live_server):
    _, _, css = call(live_server, "GET", "/static/style.css")
    css = css.decode()
    assert "math { font-family: var(--math); }" in css
    assert '"STIX Two Math"' in css and '"Latin Modern Math"' in css


@needs_engine
def test_workers_are_warm_before_the_first_request():
    with ServerThread("127.0.0.1", 0, workers=1) as server:
        # The pool starts with the server, not on the first request.
        assert server.app._pool is not None
        deadline = time.monotonic() + 60
        ready = 0
        while time.monotonic() < deadline and not ready:
            status, _, health = call(server, "GET", "/api/health")
            ready = health["workers"]["ready"]
            time.sleep(0.05)
        assert ready == 1 and status == 200
        # Not the warm-up's own expression: the warm-up must warm the engine, not one cache.
        times = []
        for expression in ("tr(A*X*B)", "log(det(X))"):
            status, _, body = call(server, "POST", "/api/derive", {"expression": expression})
            assert status == 200, body
            times.append(body["elapsed_ms"])
        # Cold, the first derivation took ~20x the second (220 ms vs 12 ms).
        assert times[0] <= max(4 * times[1], 60.0), times


def test_the_app_reserves_a_worker_for_quick_tasks():
    assert SLOW_TASKS == {"check"}
    app = WebApp(workers=2)
    try:
        assert app.pool.slow == SLOW_TASKS and app.pool.reserved == 1
    finally:
        app.close()


def test_quick_requests_do_not_wait_behind_slow_checks():
    """Two clients start 3 s checks, then four clients derive: with one worker reserved for
    quick tasks none of the four waits for a check (they waited 5.5 s behind two 5 s checks)."""
    tasks = {**TASKS, "check": "tests.web.slow_tasks:slow_check",
             "derive": "tests.web.slow_tasks:quick"}
    pool = WorkerPool(tasks, size=2, queue_timeout=10.0, slow=SLOW_TASKS, reserved=1)
    app = WebApp(pool=pool, limits=Limits(time_limit=8.0))
    results: dict[str, tuple[int, float]] = {}

    def client(name: str, path: str) -> None:
        started = time.monotonic()
        status, _, _ = call(server, "POST", path, {"expression": "x'*x"}, timeout=20)
        results[name] = (status, time.monotonic() - started)

    with ServerThread("127.0.0.1", 0, app=app, limits=app.limits) as server:
        assert pool.warm_up(timeout=60)
        checks = [threading.Thread(target=client, args=(f"check{i}", "/api/check"))
                  for i in range(2)]
        for t in checks:
            t.start()
        time.sleep(0.5)  # both checks are queued or running
        derives = [threading.Thread(target=client, args=(f"derive{i}", "/api/derive"))
                   for i in range(4)]
        for t in derives:
            t.start()
        for t in derives + checks:
            t.join(timeout=30)
    assert len(results) == 6, results
    assert all(status == 200 for status, _ in results.values()), results
    slowest_derive = max(results[f"derive{i}"][1] for i in range(4))
    assert slowest_derive < 1.5, results
    # The checks still both ran, one after the other on the one worker they may use.
    assert max(results[f"check{i}"][1] for i in range(2)) >= 5.5, results


def test_a_one_worker_pool_still_runs_slow_tasks():
    tasks = {**TASKS, "check": "tests.web.slow_tasks:quick"}
    with WorkerPool(tasks, size=1, slow=SLOW_TASKS, reserved=1) as pool:
        assert pool.reserved == 0
        assert pool.run("check", {}, timeout=30) == {"ok": True, "quick": True}


def test_a_slow_task_over_its_share_is_busy_not_stuck():
    tasks = {**TASKS, "check": "tests.web.slow_tasks:slow_check"}
    with WorkerPool(tasks, size=2, queue_timeout=0.5, slow=SLOW_TASKS, reserved=1) as pool:
        assert pool.warm_up(timeout=60)
        first = threading.Thread(target=pool.run, args=("check", {}, 10.0))
        first.start()
        time.sleep(0.3)
        from tensorcalc.web.worker import PoolBusy

        with pytest.raises(PoolBusy, match="at once"):
            pool.run("check", {}, timeout=10.0)
        first.join(timeout=10)
