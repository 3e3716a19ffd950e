"""Where the browser tests find Chromium, and why they cannot run when they cannot."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CHROMIUM = os.environ.get("TENSORCALC_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("TENSORCALC_CHROMEDRIVER", "/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1200,1400", "--force-device-scale-factor=1",
)


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    for path, what in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (os.path.exists(path) or shutil.which(path)):
            return f"{what} not found at {path}; run scripts/install-browser.sh"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed; run scripts/install-browser.sh"
    return None
