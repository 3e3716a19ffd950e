#!/usr/bin/env bash
# Install what the end-to-end web tests (tests/web/test_web_browser.py) need:
#   * Debian's chromium and chromium-driver (system packages, via apt-get), and
#   * Selenium into the active Python environment (the venv if one is active, else $PY).
# Playwright is optional (`--playwright`); its own browser download cannot work offline, so the
# tests drive /usr/bin/chromium through Selenium either way.
#
# Usage: scripts/install-browser.sh [--playwright] [--system-only]   (root or sudo, for apt-get)
set -euo pipefail

PY="${PY:-python3}"
if [[ -n "${VIRTUAL_ENV:-}" ]]; then
    PY="$VIRTUAL_ENV/bin/python"
elif [[ -x .venv/bin/python ]]; then
    PY=.venv/bin/python
fi

want_playwright=0
system_only=0
for arg in "$@"; do
    case "$arg" in
        --playwright) want_playwright=1 ;;
        --system-only) system_only=1 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "install-browser.sh: unknown option $arg" >&2; exit 2 ;;
    esac
done

if [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; then
    echo "chromium and chromedriver already installed"
else
    SUDO=""
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null || { echo "need root or sudo for apt-get" >&2; exit 1; }
        SUDO=sudo
    fi
    command -v apt-get >/dev/null || {
        echo "apt-get not found: install Chromium and its chromedriver by hand, then set" \
             "TENSORCALC_CHROMIUM and TENSORCALC_CHROMEDRIVER to their paths" >&2
        exit 1
    }
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends \
        chromium chromium-driver
fi

/usr/bin/chromium --version 2>/dev/null || true
if [[ "$system_only" == 1 ]]; then
    exit 0  # Python packages come from the project's test extra
fi
"$PY" -m pip install --quiet "selenium>=4.10"
if [[ "$want_playwright" == 1 ]]; then
    "$PY" -m pip install --quiet playwright
fi

/usr/bin/chromium --version 2>/dev/null  # Debian's wrapper script is noisy on stderr
/usr/bin/chromedriver --version
"$PY" -c "import selenium; print('selenium', selenium.__version__, 'for', __import__('sys').executable)"
