"""The widgets in a real browser: JupyterLab in headless Chromium draws the live chart while a
``%%mlp track`` cell is still running (from the changed keys the kernel sends), smooths a
constant metric without hanging, says from which step a metric is NaN, and the runs table
answers a bad query in place, however often it is asked; the compare widget shows what
changed, draws and realigns curves in the browser, and follows a running run to its end.

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


def _serve_notebook(tmp_path, cells: list[str]):
    """JupyterLab (the server with the mlp extension) serving live.ipynb, a notebook of
    ``cells``. Stop it with ``.stop()``."""
    import nbformat
    from conftest import JupyterServer

    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                  "display_name": "Python 3"}})
    nb.cells = [v4.new_code_cell(src) for src in cells]
    nbformat.write(nb, tmp_path / "live.ipynb")
    # jupyterlab is enabled by its installed config, beside the mlp extension.
    return JupyterServer.start(tmp_path, f"sqlite:///{tmp_path / 'lab.db'}", (
        "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"))


@pytest.fixture
def lab(tmp_path):
    """JupyterLab serving a notebook of NOTEBOOK_CELLS."""
    server = _serve_notebook(tmp_path, NOTEBOOK_CELLS)
    yield server
    server.stop()


def _open_and_run_all(chromium, lab):
    """A page on the lab's notebook, its cells all asked to run (not awaited: the command's
    promise settles only when every cell has run)."""
    page = chromium.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{lab.url}/lab/tree/live.ipynb?token={lab.token}")
    page.wait_for_function("() => window.jupyterapp?.shell?.currentWidget?.sessionContext"
                           "?.session?.kernel?.status === 'idle'", timeout=90_000)
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    return page


def _notes(page) -> list[str]:
    return page.eval_on_selector_all(".jp-mlp-chart-note", "els => els.map(e => e.textContent)")


def _prompt_of_track_cell(page) -> str:
    return page.locator(".jp-CodeCell .jp-InputArea-prompt").nth(1).inner_text()


def test_live_chart_draws_while_the_cell_runs_and_the_table_shows_query_errors(chromium, lab):
    page = _open_and_run_all(chromium, lab)

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


COMPARE_CELLS = [
    "%load_ext mlp",
    *(f"%%mlp track -e cmp -n {name} --no-chart\n"
      "import mlp\n"
      f"lr = {lr}\n"
      "mlp.log_param('lr', lr)\n"
      "for step in range(200):\n"
      "    mlp.log_metric('val_loss', lr * 50 / (step + 1) + 0.3, step=step)\n"
      for name, lr in (("a", 0.01), ("b", 0.003))),
    "%mlp compare cmp/a cmp/b",
    "%mlp run start -e cmp -n c --no-chart",
    "%mlp compare cmp/b cmp/c",
    "import time\nfor step in range(40):\n"
    "    mlp.log_metric('val_loss', 1 / (step + 1), step=step)\n    time.sleep(0.1)",
    "%mlp run end",
]


@pytest.fixture
def compare_lab(tmp_path):
    """JupyterLab serving a notebook of COMPARE_CELLS."""
    server = _serve_notebook(tmp_path, COMPARE_CELLS)
    yield server
    server.stop()


def test_compare_shows_what_changed_draws_curves_and_follows_a_running_run(chromium,
                                                                             compare_lab):
    page = _open_and_run_all(chromium, compare_lab)
    first = page.locator(".jp-mlp-compare").first
    first.locator(".jp-mlp-compare-summary").wait_for(timeout=60_000)
    assert "lr 0.01 → 0.003" in first.locator(".jp-mlp-compare-summary").inner_text()
    # b's code has one more cell (the notebook's cells run so far): its lines marked added.
    code = first.locator("details[data-section=code]")
    assert code.get_attribute("open") is not None
    assert "+lr = 0.003" in code.locator(".jp-mlp-compare-line-add").all_inner_texts()
    # Each widget's own alignment radios (radio groups are the page's).
    assert first.locator(".jp-mlp-compare-curves input[value=step]").is_checked()
    assert page.locator(".jp-mlp-compare-curves input[value=step]:checked").count() == \
        page.locator(".jp-mlp-compare-curves").count()
    # One curve per run; aligned by time and smoothed in the browser.
    curves = first.locator(".jp-mlp-compare-curves")
    assert curves.locator("path.jp-mlp-chart-line").count() == 2
    curves.locator("input[type=radio][value=time]").check()
    page.wait_for_function("() => [...document.querySelector('.jp-mlp-compare-curves')"
                           ".querySelectorAll('.jp-mlp-chart-axes text')]"
                           ".some(e => e.textContent.endsWith('s'))")
    curves.locator("input[type=range]").evaluate(
        "e => { e.value = 0.8; e.dispatchEvent(new Event('input')); }")
    page.wait_for_function("() => document.querySelector('.jp-mlp-compare-curves')"
                           ".querySelectorAll('path.jp-mlp-chart-raw').length === 2")
    # Unchanged rows on demand: the kernel is asked again.
    params = first.locator("details[data-section=params] tbody tr")
    assert params.count() == 1
    first.locator(".jp-mlp-compare-all").check()
    page.wait_for_function("() => document.querySelector('.jp-mlp-compare details"
                           "[data-section=attributes]').querySelectorAll('tbody tr').length"
                           " >= 4", timeout=30_000)

    # The second compares with a running run, which had no points yet: live, then finished
    # with the points logged meanwhile.
    second = page.locator(".jp-mlp-compare").nth(1)
    second.locator(".jp-mlp-compare-live").wait_for(timeout=60_000)
    assert "running" in second.locator(".jp-mlp-compare-run").nth(1).inner_text()
    second.locator(".jp-mlp-compare-live").wait_for(state="detached", timeout=60_000)
    assert "finished" in second.locator(".jp-mlp-compare-run").nth(1).inner_text()
    assert "0.025 @39" in second.locator("details[data-section=metrics]").inner_text()
    page.close()
