"""Debian's Chromium driven by Playwright (never a downloaded browser), and screenshots.

``CHROMIUM`` is ``/usr/bin/chromium`` (``apt-get install chromium``; ``.ci/run`` installs
it). Without it the browser tests are skipped with the reason, except under ``CI=true``,
where they fail: CI must run them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("REELFLOW_TEST_CHROMIUM", "/usr/bin/chromium"))
# Flags that work as root in a container, with no network chatter of the browser's own.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "console"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


def require_chromium() -> None:
    """Skip (or under CI fail) when Chromium or Playwright is missing."""
    problem = ""
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "playwright is not installed (pip install -e '.[dev]')"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{problem}; CI=true: the browser tests must run")
        pytest.skip(problem)


def screenshot_path(name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / f"{name}.png"
