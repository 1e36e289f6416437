"""The panel's Compare view in a real JupyterLab and a real browser (Debian's chromium, driven
by Playwright): two notebook kernels started by the lab each log a run — the same notebook but
for the learning rate, set in one cell — and Priya compares them from the sidebar. The view
says `lr 0.01 → 0.003` at a glance, highlights the changed param, shows the changed cell as a
diff, tells which run is better, draws both loss curves on one chart, lists unchanged fields on
request (one more request, only_changed=0) and comes back after a reload; compared with a run
still running, it refreshes by itself until that run finishes. Screenshots go to
tests/lab/artifacts/."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import lab_browser
import pytest
from lab_browser import shot
from test_run_view_browser import run_in_kernel  # the lab's kernels, one execution per cell

pytestmark = pytest.mark.slow
chromium = lab_browser.chromium  # the shared fixture

PANEL_TAB = '.lm-TabBar-tab[data-id="jp-mlp-sidebar"]'
ROWS = "#jp-mlp-sidebar .jp-mlp-Run"
VIEW = ".jp-mlp-DiffWidget:not(.lm-mod-hidden) .jp-mlp-DiffView"
COMPARE = "#jp-mlp-sidebar button.jp-mlp-CompareSelected"


def cells(lr: float) -> list[str]:
    """Priya's notebook: only the second cell differs between her two runs."""
    return [
        "import mlp",
        f"lr = {lr}",
        'with mlp.start_run(experiment="compare", name=f"lr-{lr}"):\n'
        '    mlp.log_params({"lr": lr, "epochs": 20})\n'
        "    for step in range(20):\n"
        '        mlp.log_metric("loss", 1 / (1 + step * lr * 10), step=step)',
    ]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = lab_browser.start_lab(tmp_path_factory.mktemp("compare"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def logged(lab) -> None:
    """Two runs, lr 0.01 then lr 0.003, each from a kernel of its own (so each captures its
    own three cells)."""
    run_in_kernel(lab, "lr-high.ipynb", cells(0.01))
    run_in_kernel(lab, "lr-low.ipynb", cells(0.003))


@pytest.fixture(scope="module")
def page(lab, chromium):
    yield from lab_browser.new_page(chromium, "console-compare.log", width=1500, height=1100)


def row(page, name: str):
    return page.locator(ROWS, has=page.locator(".jp-mlp-col-name", has_text=name))


def test_compare_needs_two_selected_runs(lab, logged, page):
    page.goto(f"{lab.url}/lab?reset&token={lab.token}")
    page.locator(PANEL_TAB).click()
    page.locator("#jp-mlp-sidebar .jp-mlp-Health.jp-mlp-mod-ok").wait_for()
    row(page, "lr-0.01").wait_for()
    row(page, "lr-0.01").click()
    assert page.locator(COMPARE).is_disabled()
    assert "two or more" in page.locator(COMPARE).get_attribute("title")
    row(page, "lr-0.003").click(modifiers=["Control"])
    assert page.locator(COMPARE).is_enabled()
    shot(page, "compare-01-selected")


def test_compare_shows_the_changed_param_and_the_changed_cell(lab, logged, page):
    page.locator(COMPARE).click()
    view = page.locator(VIEW)
    view.locator(".jp-mlp-DiffSummary").wait_for()
    assert "lr 0.01 → 0.003" in view.locator(".jp-mlp-DiffSummary").inner_text()

    lr = view.locator("section[data-section='params'] tr[data-key='lr']")
    assert lr.get_attribute("data-status") == "changed"
    assert "jp-mlp-mod-changed" in lr.get_attribute("class")
    assert lr.locator(".jp-mlp-DiffValue.jp-mlp-mod-before").inner_text() == "0.01"
    assert lr.locator(".jp-mlp-DiffValue.jp-mlp-mod-after").inner_text() == "0.003"
    # the same epochs are left out until asked for
    assert view.locator("section[data-section='params'] tr[data-key='epochs']").count() == 0

    code = view.locator("section[data-section='code']")
    changed = code.locator(".jp-mlp-DiffCell[data-op='changed']")
    assert changed.count() == 1
    assert changed.locator(".jp-mlp-DiffLine.jp-mlp-mod-del").inner_text() == "-lr = 0.01"
    assert changed.locator(".jp-mlp-DiffLine.jp-mlp-mod-add").inner_text() == "+lr = 0.003"
    assert code.locator(".jp-mlp-DiffCell[data-op='same']").count() >= 1  # folded, not listed

    # the higher learning rate brings the loss down faster: the baseline is better
    loss = view.locator("section[data-section='metrics'] tbody[data-metric='loss']")
    assert loss.locator(".jp-mlp-DiffBetter").inner_text() == "lr-0.01"
    assert loss.locator(".jp-mlp-DiffDelta.jp-mlp-mod-worse").count() >= 1
    curves = view.locator(".jp-mlp-DiffChart[data-mlp-metric='loss'] path.jp-mlp-DiffCurve-line")
    curves.first.wait_for()
    assert curves.count() == 2
    assert all(len(curves.nth(i).get_attribute("d") or "") > 20 for i in range(2))
    shot(page, "compare-02-diff")
    view.locator("section[data-section='code']").scroll_into_view_if_needed()
    shot(page, "compare-03-code")


def test_show_unchanged_asks_again_and_lists_what_is_the_same(lab, logged, page):
    view = page.locator(VIEW)
    with page.expect_response(lambda r: "/mlp/api/v1/diff?" in r.url and "only_changed=0" in r.url):
        view.locator(".jp-mlp-DiffShowUnchanged input").check()
    epochs = view.locator("section[data-section='params'] tr[data-key='epochs']")
    epochs.wait_for()
    assert epochs.get_attribute("data-status") == "same"
    shot(page, "compare-04-unchanged")


def test_the_time_axis_aligns_curves_by_time_since_start(lab, logged, page):
    view = page.locator(VIEW)
    view.locator(".jp-mlp-DiffCurves button[data-axis='time']").click()
    assert view.locator(".jp-mlp-DiffCurves button[data-axis='time']").get_attribute(
        "aria-pressed") == "true"
    assert view.locator(".jp-mlp-DiffChart[data-mlp-metric='loss'] path.jp-mlp-DiffCurve-line"
                        ).count() == 2


def test_the_comparison_comes_back_after_a_reload(lab, logged, page):
    time.sleep(1)  # the layout is saved asynchronously
    page.reload()
    view = page.locator(VIEW)
    view.locator(".jp-mlp-DiffSummary").wait_for()
    # with its toggles as they were
    assert view.locator(".jp-mlp-DiffShowUnchanged input").is_checked()
    assert view.locator(".jp-mlp-DiffCurves button[data-axis='time']").get_attribute(
        "aria-pressed") == "true"
    assert view.locator("section[data-section='params'] tr[data-key='lr'] .jp-mlp-mod-after"
                        ).inner_text() == "0.003"


def test_a_comparison_with_a_running_run_refreshes_until_it_finishes(lab, logged, page):
    code = textwrap.dedent("""
        import time, mlp
        with mlp.start_run(experiment="compare", name="live", capture=False):
            mlp.log_params({"lr": 0.1})
            for step in range(40):
                mlp.log_metric("loss", 1 / (step + 1), step=step)
                mlp.flush()
                time.sleep(0.25)
    """)
    env = {**os.environ, "MLP_SERVER_URL": lab.url, "MLP_TOKEN": lab.token,
           "MLP_SYSTEM_METRICS_INTERVAL": "0"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        page.goto(f"{lab.url}/lab?reset&token={lab.token}")
        page.locator(PANEL_TAB).click()
        row(page, "live").locator(".jp-mlp-StatusBadge", has_text="running").wait_for(
            timeout=20_000)
        row(page, "lr-0.01").click()
        row(page, "live").click(modifiers=["Control"])
        page.locator(COMPARE).click()
        view = page.locator(VIEW)
        view.locator(".jp-mlp-Badge.jp-mlp-mod-live").wait_for()
        # a run started from `python -c` has no code to show, and the view says so
        assert "live captured no code" in view.locator("section[data-section='code']").inner_text()
        curve = view.locator(".jp-mlp-DiffChart[data-mlp-metric='loss'] "
                             "path.jp-mlp-DiffCurve-line[data-run='1']")
        curve.wait_for()
        first = int(curve.get_attribute("data-points"))
        page.wait_for_function(f"el => Number(el.dataset.points) > {first}",
                               arg=curve.element_handle(), timeout=15_000)
        shot(page, "compare-05-live")
        assert proc.wait(timeout=60) == 0
        view.locator(".jp-mlp-Badge.jp-mlp-mod-live").wait_for(state="detached", timeout=15_000)
        assert int(curve.get_attribute("data-points")) == 40
    finally:
        proc.kill()
