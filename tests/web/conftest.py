"""Fixtures for the web tests: a real server on an ephemeral loopback port, stopped afterwards."""

import pytest

from tensorcalc.web import ServerThread

from ._browser import browser_missing


def pytest_report_header(config):
    missing = browser_missing()
    return f"web browser tests: {'skipped, ' + missing if missing else 'headless Chromium'}"


def pytest_terminal_summary(terminalreporter):
    # -q hides the header, so say it again at the end, where a skipped browser run is noticed.
    missing = browser_missing()
    if missing:
        terminalreporter.write_line(f"web browser tests skipped: {missing}", yellow=True)


@pytest.fixture(scope="session")
def live_server():
    """One server (two worker processes) shared by the API and browser tests."""
    with ServerThread("127.0.0.1", 0, workers=2) as server:
        assert server.app.pool.warm_up(timeout=60), "worker processes did not start"
        yield server
