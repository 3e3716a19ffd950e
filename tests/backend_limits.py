"""Which op records a backend cannot run, and why (data for tests/test_backend_records.py)."""
LIMITS: dict = {}


def limit_of(backend: str, rec_id: str, check: str) -> str | None:
    return None
