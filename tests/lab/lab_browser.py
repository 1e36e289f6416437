"""Browser tests share this: Debian's chromium driven by Playwright, or a skip outside CI
when either is missing (in CI a missing browser fails: scripts/bootstrap.sh installs it)."""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = os.environ.get("MLP_TEST_CHROMIUM", "/usr/bin/chromium")
# Headless as root, on a machine without a GPU or network: no sandbox, and none of the
# background connections Chromium would otherwise try (and be refused) at every start.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def chromium():
    """A Playwright Browser running Debian's chromium (no browser download). Per module: two
    of Playwright's sync drivers cannot run at once, and other modules may start their own."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = ("playwright (pip install -e '.[test]')" if sync_playwright is None else
               None if shutil.which(CHROMIUM) else f"{CHROMIUM} (apt-get install chromium)")
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need {missing}; scripts/bootstrap.sh installs it")
        pytest.skip(f"browser tests need {missing}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
