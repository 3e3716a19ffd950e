"""A task module whose import kills the worker while a marker file exists (start-up deaths)."""

import os

if os.path.exists(os.environ.get("TENSORCALC_TEST_FAIL_START", "/nonexistent")):
    os._exit(4)  # the worker dies before it says "ready", as on a failed import


def ok(request: dict) -> dict:
    return {"ok": True}
