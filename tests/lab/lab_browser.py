"""Browser tests share this: Debian's chromium driven by Playwright, or a skip outside CI
when either is missing (in CI a missing browser fails: scripts/bootstrap.sh installs it);
JupyterLab with the extension on a store of its own; a page that keeps its console log."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

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


def start_lab(root: Path, extra: tuple[str, ...] = ()):
    """JupyterLab with the extension on a temporary store, settings and workspaces, without
    the news toast over the screenshots; ``extra`` server arguments go last (such as
    ``--MLP.ray_address=...``). Stop it with ``.stop()``."""
    from conftest import JupyterServer

    notification = root / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    return JupyterServer.start(root, f"sqlite:///{root / 'mlp.db'}", extra=(
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={root / 'settings'}",
        f"--LabApp.workspaces_dir={root / 'workspaces'}",
        *extra,
    ))


def new_page(browser, console_log: str, width: int = 1400, height: int = 900):
    """A page of its own context; yields it and writes its console to artifacts/console_log."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(30_000)
    messages: list[str] = []
    page.on("console", lambda m: messages.append(f"{m.type}: {m.text}"))
    try:
        yield page
    finally:
        (ARTIFACTS / console_log).write_text("\n".join(messages))
        context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
