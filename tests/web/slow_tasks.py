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


def hog(request: dict) -> dict:
    blocks = [bytearray(64 * 2**20) for _ in range(64)]  # 4 GiB, far over any test's cap
    return {"allocated": len(blocks)}


def sleepy_pid(request: dict) -> dict:
    """Write this worker's pid where the test can find it, then sleep past any test."""
    with open(os.environ["TENSORCALC_TEST_PIDFILE"], "w") as f:
        f.write(str(os.getpid()))
    time.sleep(60)
    return {"slept": True}


def slow_check(request: dict) -> dict:
    """A numerical check that takes 3 s, for the fairness load test."""
    time.sleep(3.0)
    return {"ok": True, "slow": True}


def quick(request: dict) -> dict:
    return {"ok": True, "quick": True}
