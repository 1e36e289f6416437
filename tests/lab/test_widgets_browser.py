"""The widgets in a real browser: JupyterLab in headless Chromium draws the live chart while a
``%%mlp track`` cell is still running (from the changed keys the kernel sends), smooths a
constant metric without hanging, says from which step a metric is NaN, and the runs table
answers a bad query in place, however often it is asked.

Debian's chromium (scripts/bootstrap.sh installs it), driven by Playwright (the [test] extra;
it downloads no browser here). Without them the test is skipped, except in CI, where it fails.
"""

from __future__ import annotations

import re
import time

import lab_browser
import pytest

pytest.importorskip("anywidget")
pytestmark = pytest.mark.slow

NOTEBOOK_CELLS = [
    "%load_ext mlp",
    "%%mlp track -e ui -n browser\n"
    "import time, mlp\n"
    "for step in range(80):\n"
    "    for i in range(500):\n"
    "        n = step * 500 + i\n"
    "        mlp.log_metric('loss', 1 / (n + 1), step=n)\n"
    "        mlp.log_metric('acc', n / 40_000, step=n)\n"
    "    mlp.log_metric('lr', 0.001, step=step * 500)\n"
    "    mlp.log_metric('gnorm', float('nan') if step >= 40 else 1.0, step=step * 500)\n"
    "    time.sleep(0.1)\n",
    "%mlp runs -e ui",
]


chromium = lab_browser.chromium  # the shared fixture


@pytest.fixture
def lab(tmp_path):
    """JupyterLab (the server with the mlp extension) serving a notebook of NOTEBOOK_CELLS."""
    import nbformat
    from conftest import JupyterServer

    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                  "display_name": "Python 3"}})
    nb.cells = [v4.new_code_cell(src) for src in NOTEBOOK_CELLS]
    nbformat.write(nb, tmp_path / "live.ipynb")
    # jupyterlab is enabled by its installed config, beside the mlp extension.
    server = JupyterServer.start(tmp_path, f"sqlite:///{tmp_path / 'lab.db'}", (
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"))
    yield server
    server.stop()


def _notes(page) -> list[str]:
    return page.eval_on_selector_all(".jp-mlp-chart-note", "els => els.map(e => e.textContent)")


def _prompt_of_track_cell(page) -> str:
    return page.locator(".jp-CodeCell .jp-InputArea-prompt").nth(1).inner_text()


def test_live_chart_draws_while_the_cell_runs_and_the_table_shows_query_errors(chromium, lab):
    page = chromium.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{lab.url}/lab/tree/live.ipynb?token={lab.token}")
    page.wait_for_function("() => window.jupyterapp?.shell?.currentWidget?.sessionContext"
                           "?.session?.kernel?.status === 'idle'", timeout=90_000)
    # Not awaited: the command's promise settles only when every cell has run.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")

    # Points appear, and keep coming, while the cell is still running the loop.
    page.wait_for_selector(".jp-mlp-chart path.jp-mlp-chart-line", timeout=30_000)
    counts = []
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and len(set(counts)) < 2:
        note = _notes(page)[0]
        if note.startswith("running"):
            counts.append(int(re.search(r"([\d,]+) points", note)[1].replace(",", "")))
        time.sleep(0.25)
    assert "[*]" in _prompt_of_track_cell(page), "the loop ended before the chart was checked"
    assert len(set(counts)) >= 2 and counts == sorted(counts), counts
    assert page.locator(".jp-mlp-chart-key").all_inner_texts()[0].startswith("acc")

    # The hover readout and a legend toggle work in the browser alone.
    box = page.locator(".jp-mlp-chart svg").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert re.search(r"loss \S+ @ \d+", page.locator(".jp-mlp-chart-tip").inner_text())
    page.wait_for_function("() => document.querySelectorAll("
                           "'.jp-mlp-chart path.jp-mlp-chart-line').length === 4")
    page.locator(".jp-mlp-chart-key", has_text="acc").click()
    page.wait_for_function("() => document.querySelectorAll("
                           "'.jp-mlp-chart path.jp-mlp-chart-line').length === 3")

    # At the end: every point counted, the status final.
    page.wait_for_function("() => [...document.querySelectorAll('.jp-mlp-chart-note')]"
                           ".some(e => e.textContent.startsWith('finished · 80,160 points'))",
                           timeout=60_000)
    gnorm = page.locator(".jp-mlp-chart-key", has_text="gnorm")
    assert "NaN since step 20000" in gnorm.inner_text()

    # The constant learning rate alone, smoothed: its values differ by rounding errors only,
    # and the axis ticks must still end (they once looped for ever and froze the tab).
    for key in ("gnorm", "loss"):
        page.locator(".jp-mlp-chart-key", has_text=key).click()
    page.eval_on_selector(".jp-mlp-chart-tools input[type=range]",
                          "e => { e.value = 0.6; e.dispatchEvent(new Event('input')); }")
    page.wait_for_function("() => document.querySelectorAll('.jp-mlp-chart path').length === 2"
                           " && document.querySelectorAll('.jp-mlp-chart-axes text').length > 3",
                           timeout=10_000)
    labels = page.eval_on_selector_all(".jp-mlp-chart-axes text",
                                       "els => els.map(e => e.textContent)")
    assert "0.001" in labels, labels

    # The runs table below: a bad query shows the store's message and its position.
    page.wait_for_selector(".jp-mlp-runs-table tbody tr", timeout=30_000)
    assert "browser" in page.locator(".jp-mlp-runs-table tbody").inner_text()
    page.fill(".jp-mlp-runs-where", "metrics.loss < and name = 'x'")
    page.press(".jp-mlp-runs-where", "Enter")
    error = page.locator(".jp-mlp-runs-error")
    error.wait_for(state="visible", timeout=30_000)
    assert "expected a value" in error.inner_text() and "position 15" in error.inner_text()
    # Asked again, the same query changes nothing: the table is answered all the same.
    page.press(".jp-mlp-runs-where", "Enter")
    page.wait_for_selector(".jp-mlp-runs.jp-mlp-busy", state="detached", timeout=30_000)
    page.click(".jp-mlp-runs-bar button[title='query again']")
    page.wait_for_selector(".jp-mlp-runs.jp-mlp-busy", state="detached", timeout=30_000)
    page.fill(".jp-mlp-runs-where", "metrics.loss < 0.001")
    page.press(".jp-mlp-runs-where", "Enter")
    error.wait_for(state="hidden", timeout=30_000)
    assert "browser" in page.locator(".jp-mlp-runs-table tbody").inner_text()
    page.close()
