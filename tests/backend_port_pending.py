"""Op-record rows still to be ported to the array API (data for tests/backend_limits.py)."""

from __future__ import annotations

# Rows that raise on a backend because code added in this release still assumes NumPy
# (dtype queries, NumPy-only steps inside compositions, Dask/strict specifics). Each raises;
# none returns a wrong or NumPy-typed result (the test would fail with an AssertionError).
# Generated from a run of tests/test_backend_records.py; shrink it as the code is ported.
PORT_PENDING: dict[str, dict[str, str]] = {}
