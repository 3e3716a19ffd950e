"""The JSON API over real HTTP on an ephemeral loopback port: routes, status codes, limits.

Servers are started by fixtures and always stopped; every socket has a timeout, so a hung server
fails a test instead of hanging the suite.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import sys
import threading
import time
from urllib.parse import urlsplit

import pytest

from tensorcalc.web import Limits, ServerThread, WebApp
from tensorcalc.web.app import TASKS
from tensorcalc.web.worker import WorkerPool


def call(server, method, path, body=None, *, headers=None, raw: bytes | None = None,
         timeout=30):
    """One request; returns (status, headers, decoded JSON or text)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    headers = dict(headers or {})
    data = raw
    if body is not None:
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        payload = response.read()
        ctype = response.getheader("Content-Type", "")
        decoded = json.loads(payload) if ctype.startswith("application/json") else payload
        return response.status, dict(response.getheaders()), decoded
    finally:
        conn.close()


def raw_exchange(server, request: bytes, timeout=20) -> tuple[int, dict]:
    """Send bytes as they are (to break HTTP on purpose); returns status and JSON body."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body.startswith(b"{") else {}


def engine_ready() -> bool:
    try:
        import tensorcalc.symbolic as ts

        return all(hasattr(ts, name) for name in ("parse", "derivative", "hessian"))
    except ImportError:
        return False


needs_engine = pytest.mark.skipif(not engine_ready(),
                                  reason="tensorcalc.symbolic (parse/derivative) not available")


# -- pages and routing ------------------------------------------------------------------------


def test_index_page_is_served_with_a_strict_policy(live_server):
    status, headers, body = call(live_server, "GET", "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b"tensorcalc" in body and b"/static/app.js" in body
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp


@pytest.mark.parametrize("name, ctype", [("app.js", "text/javascript"),
                                         ("style.css", "text/css"),
                                         ("favicon.svg", "image/svg+xml")])
def test_static_files(live_server, name, ctype):
    status, headers, body = call(live_server, "GET", f"/static/{name}")
    assert status == 200 and headers["Content-Type"].startswith(ctype) and body


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/..%2Fapp.py", "/static/nope.js",
                                  "/static/", "/static/.hidden", "/elsewhere", "/api/nope"])
def test_unknown_paths_are_404(live_server, path):
    status, _, _ = call(live_server, "GET", path)
    assert status == 404


def test_api_404_is_json(live_server):
    status, _, body = call(live_server, "GET", "/api/nope")
    assert status == 404 and body["error"]["code"] == "not_found"


@pytest.mark.parametrize("method, path, allow", [("GET", "/api/derive", "POST"),
                                                 ("PUT", "/api/plan", "POST"),
                                                 ("POST", "/api/health", "GET"),
                                                 ("POST", "/", "GET, HEAD")])
def test_wrong_method_is_405_with_allow(live_server, method, path, allow):
    status, headers, body = call(live_server, method, path, body={})
    assert status == 405
    assert headers["Allow"] == allow
    assert body["error"]["code"] == "method_not_allowed"


def test_health_and_examples(live_server):
    status, _, body = call(live_server, "GET", "/api/health")
    assert status == 200 and body["ok"] is True
    status, _, body = call(live_server, "GET", "/api/examples")
    labels = [e["label"] for e in body["examples"]]
    for label in ("xᵀAx", "tr(AXB)", "log det X", "logistic loss", "softmax cross-entropy"):
        assert label in labels


def test_foreign_host_header_is_refused(live_server):
    # DNS rebinding: a page on another name that resolves to 127.0.0.1 sends its own Host.
    status, _, body = call(live_server, "GET", "/api/health", headers={"Host": "evil.example"})
    assert status == 403 and body["error"]["code"] == "bad_host"
    status, _, _ = call(live_server, "GET", "/api/health", headers={"Host": "localhost:1234"})
    assert status == 200


# -- chain planning (10,6,8,2,1) ---------------------------------------------------------------


def test_plan_reproduces_seed_002(live_server):
    status, _, body = call(live_server, "POST", "/api/plan", {"widths": [10, 6, 8, 2, 1]})
    assert status == 200
    assert (body["forward"], body["reverse"], body["optimal"]) == (660, 124, 124)
    assert body["bracketing"] == "(((J4 J3) J2) J1)"
    assert sum(body["forward_terms"]) == 660 and sum(body["reverse_terms"]) == 124
    assert body["best_mode"] == "reverse"


def test_plan_accepts_the_text_the_page_sends(live_server):
    status, _, body = call(live_server, "POST", "/api/plan", {"widths": " 10, 6 8;2,1 "})
    assert status == 200 and body["widths"] == [10, 6, 8, 2, 1]


@pytest.mark.parametrize("widths, column", [("10,6,a,1", 6), ("10,6,x,1", 6), ([5], None),
                                            ([3, 0, 2], None), (list(range(1, 100)), None),
                                            ([1, True], None), ("10,-6", 4), (None, None)])
def test_plan_rejects_bad_widths(live_server, widths, column):
    status, _, body = call(live_server, "POST", "/api/plan", {"widths": widths})
    assert status == 400
    assert body["error"]["field"] == "widths"
    assert body["error"].get("column") == column


# -- malformed requests ------------------------------------------------------------------------


def test_malformed_json_is_400(live_server):
    status, _, body = call(live_server, "POST", "/api/derive", raw=b'{"expression": ',
                           headers={"Content-Type": "application/json"})
    assert status == 400 and body["error"]["code"] == "bad_json"
    status, _, body = call(live_server, "POST", "/api/derive", raw=b"\xff\xfe",
                           headers={"Content-Type": "application/json"})
    assert status == 400 and body["error"]["code"] == "bad_json"
    # Deeply nested JSON must not take the server down.
    status, _, body = call(live_server, "POST", "/api/plan", raw=b"[" * 60000,
                           headers={"Content-Type": "application/json"})
    assert status == 400


@pytest.mark.parametrize("payload", [[], "x'*A*x", 3, {"widths": "1,2"}])
def test_derive_body_must_be_an_object_with_expression(live_server, payload):
    status, _, body = call(live_server, "POST", "/api/derive", payload)
    assert status == 400 and body["error"]["code"] == "bad_request"


def test_wrong_content_type_is_415(live_server):
    status, _, body = call(live_server, "POST", "/api/plan", raw=b"widths=1,2",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"


def test_missing_content_length_is_411(live_server):
    status, body = raw_exchange(live_server, b"POST /api/plan HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                             b"Content-Type: application/json\r\n\r\n")
    assert status == 411 and body["error"]["code"] == "length_required"


def test_huge_body_is_refused_before_it_is_read(live_server):
    # The header promises 1 GB and nothing follows: the answer must come at once.
    started = time.monotonic()
    status, body = raw_exchange(live_server, b"POST /api/derive HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                             b"Content-Type: application/json\r\n"
                                             b"Content-Length: 1000000000\r\n\r\n{")
    assert status == 413 and body["error"]["code"] == "too_large"
    assert time.monotonic() - started < 5


def test_body_just_over_the_cap_is_413(live_server):
    blob = json.dumps({"expression": "x" * (64 * 1024)}).encode()
    status, _, body = call(live_server, "POST", "/api/derive", raw=blob,
                           headers={"Content-Type": "application/json"})
    assert status == 413


@pytest.mark.parametrize("field, value", [("layout", "sideways"), ("order", 3), ("order", "2"),
                                          ("wrt", "1x"), ("trials", 99), ("shapes", 5),
                                          ("shapes", "A n x n"), ("expression", 7)])
def test_derive_field_checks(live_server, field, value):
    status, _, body = call(live_server, "POST", "/api/derive",
                           {"expression": "x'*A*x", field: value})
    assert status == 400
    assert body["error"]["field"] == field


def test_expression_limits_point_at_the_column(live_server):
    status, _, body = call(live_server, "POST", "/api/derive", {"expression": "x" * 501})
    assert status == 400 and body["error"]["code"] == "too_long"
    assert body["error"]["column"] == 501
    deep = "(" * 40 + "x" + ")" * 40
    status, _, body = call(live_server, "POST", "/api/derive", {"expression": deep})
    assert status == 400 and body["error"]["code"] == "too_deep"
    assert body["error"]["column"] == 33
    status, _, body = call(live_server, "POST", "/api/derive", {"expression": "   "})
    assert status == 400 and body["error"]["column"] == 1


def test_server_survives_garbage(live_server):
    for junk in (b"\x00\x01\x02\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"X" * 70000 + b"\r\n\r\n"):
        try:
            raw_exchange(live_server, junk, timeout=5)
        except (ValueError, IndexError, OSError):
            pass  # any answer, or none, is fine; the server must simply stay up
    status, _, _ = call(live_server, "GET", "/api/health")
    assert status == 200


# -- the WSGI app called directly -------------------------------------------------------------


def wsgi(app, method, path, body: bytes = b"", **environ):
    seen = {}

    def start_response(status, headers):
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(headers)

    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "HTTP_HOST": "127.0.0.1:8000",
           "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)),
           "wsgi.input": io.BytesIO(body), **environ}
    out = b"".join(app(env, start_response))
    return seen["status"], seen["headers"], out


def test_wsgi_app_without_a_server():
    app = WebApp()  # no worker pool is started for requests refused up front
    try:
        status, headers, out = wsgi(app, "POST", "/api/derive", CONTENT_LENGTH="999999")
        assert status == 413 and int(headers["Content-Length"]) == len(out)
        status, _, _ = wsgi(app, "POST", "/api/derive", CONTENT_LENGTH="abc")
        assert status == 400
        status, _, out = wsgi(app, "GET", "/")
        assert status == 200 and b"<!doctype html>" in out
        status, _, out = wsgi(app, "HEAD", "/")
        assert status == 200 and out == b""
        assert app._pool is None
    finally:
        app.close()


# -- time limits and failing workers ----------------------------------------------------------


@pytest.fixture(scope="module")
def slow_server():
    """Derivations replaced by a task that sleeps; 1 s limit; one worker."""
    tasks = {**TASKS, "derive": "tests.web.slow_tasks:sleepy",
             "check": "tests.web.slow_tasks:crash", "boom": "tests.web.slow_tasks:boom"}
    pool = WorkerPool(tasks, size=1, queue_timeout=0.3)
    app = WebApp(pool=pool, limits=Limits(time_limit=1.0, read_timeout=1.0))
    with ServerThread("127.0.0.1", 0, app=app, limits=app.limits) as server:
        assert pool.warm_up(timeout=60)
        yield server


def wait_for_worker(server, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, _ = call(server, "POST", "/api/plan", {"widths": [3, 2, 1]})
        if status == 200:
            return
        time.sleep(0.2)
    raise AssertionError("no worker came back")


def test_timeout_is_504_and_the_server_stays_responsive(slow_server):
    answers = {}

    def slow():
        answers["slow"] = call(slow_server, "POST", "/api/derive", {"expression": "x'*x"})

    started = time.monotonic()
    thread = threading.Thread(target=slow)
    thread.start()
    time.sleep(0.1)
    # While the derivation runs, the server itself keeps answering.
    status, _, _ = call(slow_server, "GET", "/api/health", timeout=5)
    assert status == 200
    thread.join(timeout=20)
    status, _, body = answers["slow"]
    assert status == 504
    assert body["error"]["code"] == "timeout" and body["error"]["time_limit"] == 1.0
    assert time.monotonic() - started < 5
    wait_for_worker(slow_server)  # the killed worker is replaced


def test_all_workers_busy_is_503(slow_server):
    wait_for_worker(slow_server)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        call(slow_server, "POST", "/api/derive", {"expression": "x'*x"}))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    statuses = sorted(r[0] for r in results)
    assert statuses == [503, 504]
    busy = next(r for r in results if r[0] == 503)
    assert busy[1]["Retry-After"] == "1"
    wait_for_worker(slow_server)


def test_worker_crash_is_500_and_recovers(slow_server):
    wait_for_worker(slow_server)
    status, _, body = call(slow_server, "POST", "/api/check", {"expression": "x'*x"})
    assert status == 500 and body["error"]["code"] == "worker_crashed"
    wait_for_worker(slow_server)


def test_task_exception_is_reported_as_text():
    from tensorcalc.web.worker import TaskError

    with WorkerPool({"boom": "tests.web.slow_tasks:boom"}, size=1) as pool:
        with pytest.raises(TaskError, match="deliberate failure") as info:
            pool.run("boom", {}, timeout=30)
        assert info.value.kind == "RuntimeError"
        with pytest.raises(KeyError):
            pool.run("not-a-task", {}, timeout=1)


def test_slow_client_gets_408(slow_server):
    # Content-Length says 100 bytes, 10 arrive, then the client stalls past the read timeout.
    status, body = raw_exchange(slow_server, b"POST /api/plan HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                             b"Content-Type: application/json\r\n"
                                             b"Content-Length: 100\r\n\r\n{\"widths\":")
    assert status == 408 and body["error"]["code"] == "read_timeout"


# -- derivations with the real engine ---------------------------------------------------------


@needs_engine
def test_derive_quadratic_form(live_server):
    status, _, body = call(live_server, "POST", "/api/derive", {"expression": "x'*A*x"})
    assert status == 200, body
    assert body["wrt"] == "x"
    assert [v["name"] for v in body["variables"]] == ["A", "x"]
    result = body["result"]
    assert result["mathml"].startswith("<math")
    assert result["layout"] == "numerator"
    assert result["latex"] and result["steps"] and "def " in result["numpy"]
    assert len(result["shape"]["dims"]) == 1


@needs_engine
def test_derive_layouts_and_hessian(live_server):
    shapes = {}
    for layout in ("numerator", "denominator", "gradient"):
        status, _, body = call(live_server, "POST", "/api/derive",
                               {"expression": "tr(A*X*B)", "wrt": "X", "layout": layout})
        assert status == 200, body
        assert body["result"]["layout"] == layout
        shapes[layout] = body["result"]["shape"]["dims"]
    assert len(shapes["gradient"]) == 2
    status, _, body = call(live_server, "POST", "/api/derive",
                           {"expression": "x'*A*x", "wrt": "x", "order": 2})
    assert status == 200, body
    assert body["order"] == 2 and len(body["result"]["shape"]["dims"]) == 2


@needs_engine
def test_parse_error_carries_the_column(live_server):
    status, _, body = call(live_server, "POST", "/api/derive", {"expression": "x'*A*"})
    assert status == 400
    assert body["error"]["code"] == "parse_error" and body["error"]["column"] == 6
    status, _, body = call(live_server, "POST", "/api/derive", {"expression": "x'*A*x",
                                                                "wrt": "y"})
    assert status == 400 and body["error"]["code"] == "unknown_variable"
    assert [v["name"] for v in body["error"]["variables"]] == ["A", "x"]


@needs_engine
def test_declared_shapes_are_used(live_server):
    status, _, body = call(live_server, "POST", "/api/derive",
                           {"expression": "x'*A*x", "shapes": "A: 3 x 3; x: 3"})
    assert status == 200, body
    assert body["result"]["shape"]["dims"] == [3]


@needs_engine
def test_check_numerically(live_server):
    status, _, body = call(live_server, "POST", "/api/check",
                           {"expression": "log(det(X))", "wrt": "X"})
    assert status == 200, body
    assert body["ok"] is True
    assert body["max_error"] is not None and body["max_error"] < 1e-4


@needs_engine
@pytest.mark.parametrize("index", range(6))
def test_examples_derive(live_server, index):
    from tensorcalc.web import EXAMPLES

    example = EXAMPLES[index]
    status, _, body = call(live_server, "POST", "/api/derive",
                           {"expression": example["expression"], "wrt": example["wrt"]})
    assert status == 200, (example, body)


# -- no input makes a 500 ---------------------------------------------------------------------


def test_a_json_integer_over_python_s_digit_limit_is_400():
    app = WebApp()
    try:
        body = b'{"expression": "x\'*x", "trials": ' + b"9" * 4301 + b"}"
        status, _, out = wsgi(app, "POST", "/api/derive", body)
        error = json.loads(out)["error"]
        assert status == 400 and error["code"] == "bad_json" and "too long" in error["message"]
        assert "set_int_max_str_digits" not in error["message"]  # no advice for the server
    finally:
        app.close()


@pytest.mark.parametrize("path", ["/static/" + "a" * 300, "/static/" + "a" * 300 + ".js",
                                  "/static/a%00b"])
def test_static_names_the_file_system_refuses_are_404(path):
    app = WebApp()
    try:
        status, _, out = wsgi(app, "GET", path.replace("%00", "\0"))
        assert status == 404 and json.loads(out)["error"]["code"] == "not_found"
    finally:
        app.close()


@needs_engine
@pytest.mark.parametrize("route, expression, code, words", [
    ("/api/derive", "1e999 * x", "parse_error", "too large"),
    ("/api/check", "1e999 * x", "parse_error", "too large"),
    ("/api/check", "7 ./ 0", "no_variable", "no variables"),
    ("/api/check", "x'*x * (7 ./ 0)", "bad_request", "finite"),
    ("/api/check", "x' * self", "parse_error", "reserved"),
    ("/api/derive", "x * " + "1" * 400, "parse_error", "number too long"),
])
def test_inputs_that_used_to_crash_are_4xx_with_a_message(live_server, route, expression,
                                                          code, words):
    status, _, body = call(live_server, "POST", route, {"expression": expression})
    assert 400 <= status < 500, body
    assert body["error"]["code"] == code and words in body["error"]["message"]


# -- memory -----------------------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/limits")
def test_the_app_starts_its_workers_under_the_memory_cap():
    app = WebApp(workers=1, limits=Limits(memory_limit=900 * 2**20))
    try:
        assert app.pool.warm_up(timeout=60)
        (worker,) = app.pool._all
        limits = open(f"/proc/{worker.process.pid}/limits").read()
        line = next(x for x in limits.splitlines() if x.startswith("Max address space"))
        assert line.split()[3] == str(900 * 2**20)
    finally:
        app.close()


def test_a_worker_out_of_memory_is_413_and_the_worker_serves_again():
    pool = WorkerPool({**TASKS, "derive": "tests.web.slow_tasks:hog"}, size=1,
                      memory_limit=700 * 2**20)
    app = WebApp(pool=pool, limits=Limits(memory_limit=700 * 2**20))
    try:
        status, _, out = wsgi(app, "POST", "/api/derive", b'{"expression": "x\'*x"}')
        error = json.loads(out)["error"]
        assert status == 413 and error["code"] == "too_large" and "700 MiB" in error["message"]
        status, _, _ = wsgi(app, "POST", "/api/plan", b'{"widths": [3, 2, 1]}')
        assert status == 200
    finally:
        app.close()


@pytest.mark.parametrize("shapes, words", [
    ("A: 20000 x 2", "dimension of 20,000"),
    ("A: 2000 x 2000", "4,000,000 entries"),
    ({"A": [5000, 5000]}, "25,000,000 entries"),
])
def test_declared_sizes_are_capped_before_any_work(shapes, words):
    app = WebApp()
    try:
        body = json.dumps({"expression": "tr(A)", "wrt": "A", "shapes": shapes}).encode()
        status, _, out = wsgi(app, "POST", "/api/check", body)
        error = json.loads(out)["error"]
        assert status == 400 and error["code"] == "too_large" and words in error["message"]
        assert app._pool is None  # refused in the server, no worker involved
    finally:
        app.close()


@needs_engine
def test_a_check_whose_jacobian_is_too_large_is_400_but_the_derivative_is_not(live_server):
    body = {"expression": "A*X*B", "wrt": "X",
            "shapes": "A: 100 x 100; X: 100 x 100; B: 100 x 100"}
    started = time.monotonic()
    status, _, answer = call(live_server, "POST", "/api/check", body)
    assert status == 400 and answer["error"]["code"] == "too_large"
    assert "100,000,000 entries" in answer["error"]["message"]
    assert time.monotonic() - started < 5  # refused before the check allocates anything
    status, _, answer = call(live_server, "POST", "/api/derive", body)
    assert status == 200 and answer["result"]["shape"]["dims"] == [100, 100, 100, 100]


# -- a pool that recovers ---------------------------------------------------------------------


def test_the_pool_refills_after_replacements_die_while_starting(tmp_path, monkeypatch):
    marker = tmp_path / "fail-start"
    monkeypatch.setenv("TENSORCALC_TEST_FAIL_START", str(marker))
    tasks = {**TASKS, "ok": "tests.web.flaky_start:ok", "check": "tests.web.slow_tasks:crash"}
    pool = WorkerPool(tasks, size=1, queue_timeout=0.3)
    app = WebApp(pool=pool)
    try:
        assert pool.warm_up(timeout=60)
        status, _, out = wsgi(app, "GET", "/api/health")
        assert status == 200 and json.loads(out)["workers"] == {"ready": 1, "size": 1}
        marker.write_text("")
        status, _, _ = wsgi(app, "POST", "/api/check", b'{"expression": "x\'*x"}')
        assert status == 500  # the worker died; its replacements now die while starting
        time.sleep(1.5)  # several start-up deaths
        status, _, out = wsgi(app, "GET", "/api/health")
        assert status == 503 and json.loads(out)["workers"]["ready"] == 0
        marker.unlink()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and pool.ready_count() == 0:
            time.sleep(0.1)
        assert pool.run("ok", {}, timeout=10) == {"ok": True}
        status, _, _ = wsgi(app, "GET", "/api/health")
        assert status == 200
    finally:
        app.close()


def test_a_worker_that_died_while_idle_is_never_sent_a_request():
    with WorkerPool({"ok": "tests.web.flaky_start:ok"}, size=2) as pool:
        assert pool.warm_up(timeout=60)
        victim = next(iter(pool._all))
        victim.process.kill()
        victim.process.wait(timeout=5)
        # Both idle workers are taken in turn; the dead one is replaced, not used.
        assert [pool.run("ok", {}, timeout=10) for _ in range(3)] == [{"ok": True}] * 3


@needs_engine
@pytest.mark.parametrize("shapes, words", [
    ("A: symetric", "misspelt 'symmetric'"),
    ("A: n x", "a dimension is missing"),
    ("B: n x n", "B declared but not in the expression"),
])
def test_shape_declarations_are_validated_like_the_library(live_server, shapes, words):
    status, _, body = call(live_server, "POST", "/api/derive",
                           {"expression": "x'*A*x", "wrt": "x", "shapes": shapes})
    assert status == 400 and words in body["error"]["message"]


# -- answer budgets ---------------------------------------------------------------------------


def _derive_in_process(limits: Limits, body: dict) -> dict:
    from tensorcalc.web import tasks
    from tensorcalc.web.validate import derive_request

    return tasks.derive(derive_request(body, limits))


@needs_engine
def test_a_derivation_over_the_node_budget_is_a_clear_400():
    body = {"expression": "sum(log(vector(1) + exp(-y .* (X*w))))", "wrt": "w", "order": 2}
    answer = _derive_in_process(Limits(max_nodes=100), body)
    assert answer["status"] == 400 and answer["error"]["code"] == "too_large"
    assert "result too large" in answer["error"]["message"]
    assert "result" in _derive_in_process(Limits(), body)  # the default budget is ample


@needs_engine
def test_an_answer_over_the_size_cap_is_a_clear_400():
    answer = _derive_in_process(Limits(max_answer=500), {"expression": "x'*A*x", "wrt": "x"})
    assert answer["status"] == 400 and answer["error"]["code"] == "too_large"
    assert "characters, over the limit of 500" in answer["error"]["message"]


# -- HTTP hygiene -----------------------------------------------------------------------------


@pytest.mark.parametrize("hosts", [[b"127.0.0.1", b"evil.example"], [b"127.0.0.1", b"127.0.0.1"],
                                   [b"127.0.0.1/x"], [b"user@127.0.0.1"], [b"127.0.0.1:80:80"]])
def test_malformed_or_repeated_host_is_400(live_server, hosts):
    head = b"".join(b"Host: " + h + b"\r\n" for h in hosts)
    status, body = raw_exchange(live_server, b"GET /api/examples HTTP/1.1\r\n" + head +
                                b"Connection: close\r\n\r\n")
    assert status == 400 and body["error"]["code"] == "bad_host"


def test_bracketed_ipv6_loopback_host_is_accepted(live_server):
    status, _ = raw_exchange(live_server, b"GET /api/examples HTTP/1.1\r\nHost: [::1]:8000\r\n"
                                          b"Connection: close\r\n\r\n")
    assert status == 200


def test_a_body_trickling_in_is_cut_off_at_the_total_deadline(slow_server):
    # One byte every 0.3 s never trips the 1 s socket timeout; only a total deadline does.
    parts = urlsplit(slow_server.url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(b"POST /api/plan HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     b"application/json\r\nContent-Length: 100\r\n\r\n")
        reply = b""
        for _ in range(30):  # at most 9 s, then the test fails instead of hanging
            try:
                sock.sendall(b" ")
            except OSError:
                break
            sock.settimeout(0.3)
            try:
                reply = sock.recv(65536)
            except TimeoutError:
                continue
            break
    assert reply.split(b" ", 2)[1] == b"408", reply[:100]
    assert time.monotonic() - started < 4


def test_the_access_log_escapes_control_characters(capsys):
    from tensorcalc.web.server import _Handler

    handler = object.__new__(_Handler)
    handler.client_address = ("127.0.0.1", 5555)
    handler.log_message('"%s" %s %s', "GET /\x1b[31mred\r\n127.0.0.1 fake line HTTP/1.1",
                        "404", "-")
    logged = capsys.readouterr().err
    assert logged.count("\n") == 1 and "\x1b" not in logged and "\r" not in logged
    assert "\\x1b[31mred\\x0d\\x0a127.0.0.1 fake line" in logged
