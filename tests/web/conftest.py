"""Fixtures for the web tests: a real server on an ephemeral loopback port, stopped afterwards."""

import pytest

from tensorcalc.web import ServerThread


@pytest.fixture(scope="session")
def live_server():
    """One server (two worker processes) shared by the API and browser tests."""
    with ServerThread("127.0.0.1", 0, workers=2) as server:
        assert server.app.pool.warm_up(timeout=60), "worker processes did not start"
        yield server
