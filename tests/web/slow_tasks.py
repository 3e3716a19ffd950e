"""Stand-in worker tasks for the timeout tests: one that never finishes in time, one that dies."""

import os
import time


def sleepy(request: dict) -> dict:
    time.sleep(float(request.get("seconds", 30)))
    return {"slept": True}


def crash(request: dict) -> dict:
    os._exit(3)  # the worker vanishes mid-task, as after a segfault or the OOM killer


def boom(request: dict) -> dict:
    raise RuntimeError("deliberate failure")
