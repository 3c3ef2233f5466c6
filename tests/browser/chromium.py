"""Debian's Chromium for browser tests (tests/browser, tests/e2e), driven by Playwright, which never downloads a
browser here: it is told where Chromium is."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright

__all__ = ["CHROMIUM", "launch"]

CHROMIUM = Path("/usr/bin/chromium")  # the package `chromium`; .ci/run installs it when missing


def launch(playwright: Playwright) -> Browser:
    """Headless Chromium; the test fails, saying how to install it, when it is missing."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `apt-get install chromium` (.ci/run installs it)", pytrace=False)
    # chromium_sandbox=False (Playwright's default, stated here on purpose) launches with --no-sandbox: Chromium
    # refuses to start its sandbox as root, and these tests run as root in CI and in the sandboxed workplace. The
    # pages are our own, on loopback, not the open web.
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, chromium_sandbox=False)
