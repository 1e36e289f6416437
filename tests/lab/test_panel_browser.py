"""The ML Platform sidebar in a real JupyterLab and a real browser (Debian's chromium, driven
by Playwright): runs logged with the SDK over HTTP show up, live; a query filters them, a bad
one is explained inline; headers sort; the filter survives a reload. Screenshots go to
tests/lab/artifacts/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import lab_browser
import pytest
from conftest import JupyterServer
from lab_browser import shot

PANEL_TAB = '.lm-TabBar-tab[data-id="jp-mlp-sidebar"]'
ROWS = "#jp-mlp-sidebar .jp-mlp-Run"

pytestmark = pytest.mark.slow
chromium = lab_browser.chromium  # the shared fixture


def log_runs(server: JupyterServer, runs: list[dict]) -> None:
    """Log runs the way a user's script would: the SDK over HTTP, with the lab's URL and token."""
    code = textwrap.dedent(f"""
        import json, mlp
        for r in json.loads({json.dumps(json.dumps(runs))}):
            with mlp.start_run(experiment=r["experiment"], name=r["name"], capture=False):
                mlp.log_params(r["params"])
                for k, v in r["metrics"].items():
                    mlp.log_metric(k, v)
        assert mlp.status()["transport"] == "http", mlp.status()
    """)
    env = {**os.environ, "MLP_SERVER_URL": server.url, "MLP_TOKEN": server.token,
           "MLP_SYSTEM_METRICS_INTERVAL": "0"}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)


def run(name: str, acc: float, lr: float, experiment: str = "panel-demo") -> dict:
    return {"experiment": experiment, "name": name, "params": {"lr": lr},
            "metrics": {"acc": acc, "loss": 1 - acc}}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = lab_browser.start_lab(tmp_path_factory.mktemp("lab"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def page(lab, chromium):
    yield from lab_browser.new_page(chromium, "console.log")


def names(page) -> list[str]:
    return page.locator(f"{ROWS} .jp-mlp-col-name").all_inner_texts()


def wait_for_names(page, expected: list[str], timeout: float = 15) -> list[str]:
    deadline = time.time() + timeout
    seen = names(page)
    while time.time() < deadline and seen != expected:
        time.sleep(0.2)
        seen = names(page)
    return seen


def open_panel(page, lab) -> None:
    page.goto(f"{lab.url}/lab?token={lab.token}")
    page.locator(PANEL_TAB).click()
    page.locator("#jp-mlp-sidebar .jp-mlp-Health.jp-mlp-mod-ok").wait_for()


def test_panel_lists_the_runs_logged_with_the_sdk(lab, page):
    log_runs(lab, [run("lr-0.1", 0.81, 0.1), run("lr-0.03", 0.88, 0.03), run("lr-0.01", 0.93, 0.01)])
    t0 = time.perf_counter()
    open_panel(page, lab)
    # newest first, the default order
    assert wait_for_names(page, ["lr-0.01", "lr-0.03", "lr-0.1"]) == ["lr-0.01", "lr-0.03", "lr-0.1"]
    print(f"\n[panel] first render with runs: {time.perf_counter() - t0:.2f} s (page load included)")
    panel = page.locator("#jp-mlp-sidebar")
    assert panel.locator(".jp-mlp-StatusBadge").first.inner_text() == "finished"
    headers = panel.locator("th").all_inner_texts()
    assert {"Status", "Name", "Start", "Duration", "acc", "loss", "lr"} <= {h.strip() for h in headers}
    assert "panel-demo" in panel.locator(".jp-mlp-Experiments").inner_text()
    assert "jupyter-mlp" in panel.locator(".jp-mlp-Health").inner_text()
    shot(page, "01-runs")


def test_a_run_logged_while_the_panel_is_open_shows_up_by_itself(lab, page):
    log_runs(lab, [run("live", 0.5, 0.3)])
    seen = wait_for_names(page, ["live", "lr-0.01", "lr-0.03", "lr-0.1"], timeout=15)
    assert seen[0] == "live"
    shot(page, "02-live")


def test_a_query_filters_the_runs_on_the_server(lab, page):
    box = page.locator("#jp-mlp-sidebar .jp-mlp-Filter-input")
    box.fill("metrics.acc > 0.85 and params.lr < 0.05")
    box.press("Enter")
    assert wait_for_names(page, ["lr-0.01", "lr-0.03"]) == ["lr-0.01", "lr-0.03"]
    shot(page, "03-filtered")


def test_a_bad_query_is_explained_inline_where_it_fails(lab, page):
    box = page.locator("#jp-mlp-sidebar .jp-mlp-Filter-input")
    box.fill("metrics.acc > ")
    box.press("Enter")
    error = page.locator("#jp-mlp-sidebar .jp-mlp-QueryError")
    error.wait_for()
    assert "position 13" in error.inner_text()  # of the query as sent: trimmed
    assert box.get_attribute("aria-invalid") == "true"
    assert names(page) == ["lr-0.01", "lr-0.03"]  # the last good answer stays
    shot(page, "04-query-error")
    box.fill("")
    box.press("Enter")
    error.wait_for(state="detached")
    assert wait_for_names(page, ["live", "lr-0.01", "lr-0.03", "lr-0.1"])[0] == "live"


def test_headers_sort_on_the_server(lab, page):
    header = page.locator("#jp-mlp-sidebar th.jp-mlp-col-metric", has_text="acc")
    header.locator("button").click()
    assert wait_for_names(page, ["lr-0.01", "lr-0.03", "lr-0.1", "live"]) == \
        ["lr-0.01", "lr-0.03", "lr-0.1", "live"]
    assert header.get_attribute("aria-sort") == "descending"
    header.locator("button").click()
    assert wait_for_names(page, ["live", "lr-0.1", "lr-0.03", "lr-0.01"]) == \
        ["live", "lr-0.1", "lr-0.03", "lr-0.01"]
    assert header.get_attribute("aria-sort") == "ascending"
    shot(page, "05-sorted")


def test_rows_select_with_click_ctrl_and_shift(lab, page):
    rows = page.locator(ROWS)
    rows.nth(0).click()
    rows.nth(2).click(modifiers=["Shift"])
    rows.nth(1).click(modifiers=["Control"])
    selected = page.locator(f"{ROWS}[aria-selected='true'] .jp-mlp-col-name").all_inner_texts()
    assert selected == ["live", "lr-0.03"]
    assert "2 runs selected" in page.locator("#jp-mlp-sidebar .jp-mlp-Selection").inner_text()
    shot(page, "06-selected")


def test_query_and_order_survive_a_reload(lab, page):
    box = page.locator("#jp-mlp-sidebar .jp-mlp-Filter-input")
    box.fill("params.lr <= 0.1")
    box.press("Enter")
    assert wait_for_names(page, ["lr-0.1", "lr-0.03", "lr-0.01"]) == ["lr-0.1", "lr-0.03", "lr-0.01"]
    time.sleep(1)  # the state database saves asynchronously
    page.reload()
    page.locator(f"{PANEL_TAB}.lm-mod-current, {PANEL_TAB}").first.wait_for()
    if not page.locator("#jp-mlp-sidebar").is_visible():
        page.locator(PANEL_TAB).click()
    assert wait_for_names(page, ["lr-0.1", "lr-0.03", "lr-0.01"]) == ["lr-0.1", "lr-0.03", "lr-0.01"]
    assert page.locator("#jp-mlp-sidebar .jp-mlp-Filter-input").input_value() == "params.lr <= 0.1"
    shot(page, "07-restored")


def test_a_running_run_ticks_along_and_finishes(lab, page):
    code = textwrap.dedent("""
        import time, mlp
        with mlp.start_run(experiment="panel-demo", name="ticking", capture=False):
            mlp.log_params({"lr": 0.05})
            for step in range(40):
                mlp.log_metric("acc", step / 100, step=step)
                mlp.flush()
                time.sleep(0.25)
    """)
    env = {**os.environ, "MLP_SERVER_URL": lab.url, "MLP_TOKEN": lab.token,
           "MLP_SYSTEM_METRICS_INTERVAL": "0"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        row = page.locator(ROWS, has_text="ticking")  # the filter params.lr <= 0.1 is still on
        row.locator(".jp-mlp-StatusBadge", has_text="running").wait_for(timeout=15_000)
        acc = row.locator(".jp-mlp-col-metric").first
        first = acc.inner_text()
        shot(page, "08-running")
        deadline = time.time() + 10
        while acc.inner_text() == first and time.time() < deadline:
            time.sleep(0.2)
        assert acc.inner_text() != first, "the running run's metric did not change on screen"
        assert proc.wait(timeout=60) == 0
        row.locator(".jp-mlp-StatusBadge", has_text="finished").wait_for(timeout=15_000)
        assert acc.inner_text() == "0.39"
    finally:
        proc.kill()
