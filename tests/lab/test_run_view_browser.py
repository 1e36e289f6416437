"""The run view in a real JupyterLab and a real browser (Debian's chromium, driven by
Playwright). A notebook kernel started by the lab logs a run with params, a 250,000-point
metric, an image and a CSV, and a child run; the run opens from the sidebar with its header,
params and charts (downsampled by the server, zoomed by dragging), artifact previews, the
notebook's cells and the environment; it comes back after a reload; `%mlp show` links to it.
The time from the double-click to every chart drawn is printed as a JSON line (bench figure),
as is the draw of 5 metrics of 1,000,000 points each. Screenshots go to tests/lab/artifacts/."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import lab_browser
import nbformat
import pytest
import requests
from lab_browser import shot

pytestmark = pytest.mark.slow
chromium = lab_browser.chromium  # the shared fixture

PANEL_TAB = '.lm-TabBar-tab[data-id="jp-mlp-sidebar"]'
ROWS = "#jp-mlp-sidebar .jp-mlp-Run"
VIEW = ".jp-mlp-RunWidget:not(.lm-mod-hidden) .jp-mlp-RunView"
KERNELSPEC = {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}

CELLS = [
    "import math, mlp",
    'run = mlp.start_run(experiment="run-view", name="big-run")\n'
    'mlp.log_params({"lr": 0.003, "depth": 6, "optimizer": "adam"})\n'
    'mlp.set_tags({"team": "ads"})',
    "for step in range(250_000):\n"
    '    mlp.log_metric("loss", 1 / (1 + step / 1000) + 0.01 * math.sin(step / 50), step=step)\n'
    "for step in range(1_000):\n"
    '    mlp.log_metric("acc", step / 1000, step=step * 250)',
    'mlp.log_artifact("roc.png", "plots/roc.png")\n'
    'mlp.log_artifact("preds.csv")\n'
    'with mlp.start_run(name="child-1", nested=True):\n'
    '    mlp.log_metric("x", 1.0)\n'
    "mlp.end_run()\n"
    "print(run.id)",
]

# Draws the view opened by a double-click on the run's row; resolves with the milliseconds
# from the click until every chart has its line and nothing is loading.
DRAW_TIME_JS = """async (name) => {
  const row = [...document.querySelectorAll('#jp-mlp-sidebar .jp-mlp-Run')]
    .find(r => r.querySelector('.jp-mlp-col-name')?.textContent === name);
  const id = 'jp-mlp-run-' + row.dataset.runId;
  const t0 = performance.now();
  row.dispatchEvent(new MouseEvent('dblclick', { bubbles: true }));
  return await new Promise((resolve, reject) => {
    const check = () => {
      const view = document.getElementById(id);
      const charts = view ? [...view.querySelectorAll('.jp-mlp-Chart')] : [];
      const drawn = charts.length > 0 && charts.every(c =>
        c.getAttribute('aria-busy') === 'false' &&
        (c.querySelector('path.jp-mlp-Chart-line')?.getAttribute('d') || '').length > 0);
      if (drawn) resolve({ ms: performance.now() - t0, charts: charts.length });
      else if (performance.now() - t0 > 60000) reject(new Error('the charts were not drawn'));
      else requestAnimationFrame(check);
    };
    check();
  });
}"""


def png(width: int = 96, height: int = 64) -> bytes:
    """A small RGB gradient as a PNG, written by hand (no imaging library needed)."""
    rows = b"".join(b"\x00" + bytes(
        v for x in range(width) for v in (x * 255 // width, y * 255 // height, 160))
        for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2,
                                                              0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def rest(lab, method: str, path: str, **kw):
    r = requests.request(method, f"{lab.url}/{path}", timeout=60,
                         headers={"Authorization": f"token {lab.token}"}, **kw)
    r.raise_for_status()
    return r.json() if r.content else None


def run_in_kernel(lab, notebook: str, cells: list[str]) -> str:
    """Run cells, one execution each, in a kernel the lab starts for `notebook` (so the run
    knows its notebook and captures the cells); returns what they printed."""
    from jupyter_client import BlockingKernelClient
    from jupyter_core.paths import jupyter_runtime_dir

    session = rest(lab, "POST", "api/sessions", json={
        "path": notebook, "name": notebook, "type": "notebook", "kernel": {"name": "python3"}})
    kernel = session["kernel"]["id"]
    conn = Path(jupyter_runtime_dir()) / f"kernel-{kernel}.json"
    # the client's heartbeat counts a kernel that has not answered yet as dead: wait for idle
    deadline = time.time() + 90
    while time.time() < deadline and not (
            conn.exists() and rest(lab, "GET", f"api/kernels/{kernel}")["execution_state"] == "idle"):
        time.sleep(0.3)
    kc = BlockingKernelClient(connection_file=str(conn))
    kc.load_connection_file()
    kc.start_channels()
    out: list[str] = []
    try:
        kc.wait_for_ready(timeout=60)
        for code in cells:
            reply = kc.execute_interactive(code, timeout=300, output_hook=lambda m: out.append(
                m["content"].get("text", "") if m["msg_type"] == "stream" else
                m["content"].get("evalue", "") if m["msg_type"] == "error" else ""))
            assert reply["content"]["status"] == "ok", "".join(out)
    finally:
        kc.stop_channels()
        rest(lab, "DELETE", f"api/sessions/{session['id']}")
    return "".join(out)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("runview")
    (root / "roc.png").write_bytes(png())
    (root / "preds.csv").write_text("epoch,loss,acc\n" + "".join(
        f"{i},{1 / (i + 1):.4f},{i / 50:.2f}\n" for i in range(50)))
    nb = nbformat.v4.new_notebook(metadata=KERNELSPEC)
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    nbformat.write(nb, root / "train.ipynb")
    server = lab_browser.start_lab(root)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def logged(lab) -> str:
    """The id of the run the notebook logged."""
    return run_in_kernel(lab, "train.ipynb", CELLS).strip().splitlines()[-1]


@pytest.fixture(scope="module")
def page(lab, chromium):
    yield from lab_browser.new_page(chromium, "console-run-view.log", width=1500, height=1000)


def open_lab(page, lab) -> None:
    """JupyterLab on its default layout (no run views), with the sidebar shown."""
    page.goto(f"{lab.url}/lab?reset&token={lab.token}")
    page.locator(PANEL_TAB).click()
    page.locator("#jp-mlp-sidebar .jp-mlp-Health.jp-mlp-mod-ok").wait_for()


def bench(name: str, value: float, **extra) -> None:
    print("\n" + json.dumps({"bench": name, "value": round(value, 1), "unit": "ms", **extra}))


def chart(page, key: str):
    return page.locator(f"{VIEW} .jp-mlp-Chart[data-mlp-metric='{key}']")


def test_a_run_opens_from_the_sidebar_with_header_params_and_charts(lab, logged, page):
    open_lab(page, lab)
    page.locator(ROWS, has_text="big-run").wait_for()
    drawn = page.evaluate(DRAW_TIME_JS, "big-run")
    bench("run_view_draw", drawn["ms"], charts=drawn["charts"], points=251_000)
    assert drawn["charts"] == 2  # acc and loss; the child's metric and system ones are not charted

    view = page.locator(VIEW)
    header = view.locator(".jp-mlp-RunHeader")
    assert header.locator(".jp-mlp-RunHeader-name").inner_text() == "big-run"
    assert header.locator(".jp-mlp-StatusBadge").inner_text() == "finished"
    text = header.inner_text()
    assert "run-view" in text and logged in text
    # the notebook, by its path under the server's root, opens from the header
    assert header.locator("button.jp-mlp-RunHeader-source").inner_text() == "train.ipynb"
    assert "team" in header.locator(".jp-mlp-Tags").inner_text()
    assert header.locator(".jp-mlp-RunLink", has_text="child-1").count() == 1
    params = {r.get_attribute("data-param"): r.locator("td").inner_text()
              for r in view.locator(".jp-mlp-Params tr").all()}
    assert params == {"depth": "6", "lr": "0.003", "optimizer": "adam"}

    loss = chart(page, "loss")
    points = loss.locator(".jp-mlp-Chart-points")
    assert "of 250,000 points (downsampled)" in points.inner_text()
    assert int(points.get_attribute("data-shown")) <= 4 * 1000  # what a chart can show
    assert len(loss.locator("path.jp-mlp-Chart-line").get_attribute("d")) > 1000
    assert "1,000 points" in chart(page, "acc").locator(".jp-mlp-Chart-points").inner_text()
    # the hover readout names the step and the value
    box = loss.locator(".jp-mlp-Chart-overlay").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    assert "step" in loss.locator(".jp-mlp-Chart-readout").text_content()
    shot(page, "run-01-overview")


def test_dragging_across_a_chart_zooms_with_the_servers_detail_and_double_click_resets(
        lab, logged, page):
    loss = chart(page, "loss")
    points = loss.locator(".jp-mlp-Chart-points")
    box = loss.locator(".jp-mlp-Chart-overlay").bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] * 0.40, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.42, y, steps=4)
    page.mouse.up()
    loss.locator(".jp-mlp-Chart-zoom").wait_for()
    page.wait_for_function(
        "el => el.getAttribute('aria-busy') === 'false'", arg=loss.element_handle())
    count = int(points.get_attribute("data-count"))
    assert 1_000 < count < 15_000, count  # about 2% of the steps, asked of the server
    shot(page, "run-02-zoomed")
    # narrower still: every point there, no downsampling
    page.mouse.move(box["x"] + box["width"] * 0.50, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.51, y, steps=4)
    page.mouse.up()
    page.wait_for_function(
        "el => el.getAttribute('aria-busy') === 'false' && !el.textContent.includes('downsampled')",
        arg=loss.element_handle())
    assert int(points.get_attribute("data-count")) == int(points.get_attribute("data-shown"))
    loss.locator(".jp-mlp-Chart-overlay").dblclick()
    page.wait_for_function("el => el.textContent.includes('of 250,000 points')",
                           arg=points.element_handle())
    assert loss.locator(".jp-mlp-Chart-zoom").count() == 0


def test_time_axis_and_log_scale_redraw_the_charts(lab, logged, page):
    view = page.locator(VIEW)
    view.locator(".jp-mlp-Segmented-button", has_text="Time").click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-mlp-RunWidget:not(.lm-mod-hidden) "
        ".jp-mlp-Chart')].every(c => c.getAttribute('aria-busy') === 'false')")
    ticks = chart(page, "loss").locator(".jp-mlp-Chart-tick").all_text_contents()
    assert any(":" in t for t in ticks), ticks  # times of day on the x axis
    view.locator(".jp-mlp-Check", has_text="Log scale").locator("input").check()
    assert len(chart(page, "loss").locator("path.jp-mlp-Chart-line").get_attribute("d")) > 100
    shot(page, "run-03-time-log")
    view.locator(".jp-mlp-Check", has_text="Log scale").locator("input").uncheck()
    view.locator(".jp-mlp-Segmented-button", has_text="Step").click()


def test_artifacts_preview_an_image_and_a_csv_as_a_table(lab, logged, page):
    view = page.locator(VIEW)
    view.locator(".jp-mlp-Tab[data-tab='artifacts']").click()
    view.locator(".jp-mlp-Artifact[data-path='preds.csv']").click()
    table = view.locator(".jp-mlp-Preview .jp-mlp-DataTable")
    table.wait_for()
    assert table.locator("th").all_inner_texts() == ["epoch", "loss", "acc"]
    assert table.locator("tbody tr").count() == 50
    assert view.locator(".jp-mlp-Preview a[download]").get_attribute("href").count("path=") == 1
    shot(page, "run-04-artifact-csv")
    view.locator(".jp-mlp-Artifact[data-path='plots']").click()
    view.locator(".jp-mlp-Artifact[data-path='plots/roc.png']").click()
    img = view.locator(".jp-mlp-Preview-image img")
    img.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth === 96", arg=img.element_handle())
    shot(page, "run-05-artifact-image")


def test_code_tab_shows_the_notebook_cells_in_order(lab, logged, page):
    view = page.locator(VIEW)
    view.locator(".jp-mlp-Tab[data-tab='code']").click()
    cells = view.locator(".jp-mlp-Cell")
    cells.first.wait_for()
    sources = [c.locator(".jp-mlp-Code").inner_text() for c in cells.all()]
    assert len(sources) >= 4, sources
    assert sources[0].strip() == CELLS[0]
    assert "mlp.start_run" in sources[1] and "log_artifact" in sources[3]
    prompts = cells.locator(".jp-mlp-Cell-prompt").all_inner_texts()
    assert prompts == sorted(prompts, key=lambda p: int(p.strip("[]:")))
    shot(page, "run-06-code")


def test_environment_tab_lists_python_and_packages(lab, logged, page):
    view = page.locator(VIEW)
    view.locator(".jp-mlp-Tab[data-tab='environment']").click()
    python = view.locator("tr[data-fact='python'] td")
    python.wait_for()
    assert python.inner_text() == ".".join(map(str, sys.version_info[:3]))
    view.locator(".jp-mlp-EnvironmentTab .jp-mlp-TableFilter").fill("numpy")
    assert view.locator(".jp-mlp-Packages tr[data-package='numpy']").count() == 1
    shot(page, "run-07-environment")


def test_the_open_run_view_comes_back_after_a_reload(lab, logged, page):
    time.sleep(1)  # the layout is saved asynchronously
    page.reload()
    tab = page.locator(f"{VIEW} .jp-mlp-Tab[aria-selected='true']")
    tab.wait_for()
    assert tab.get_attribute("data-tab") == "environment"
    assert page.locator(f"{VIEW} .jp-mlp-RunHeader-name").inner_text() == "big-run"


def test_a_child_opens_from_the_header_and_the_parent_from_it(lab, logged, page):
    page.locator(f"{VIEW} .jp-mlp-RunLink", has_text="child-1").click()
    page.locator(f"{VIEW} .jp-mlp-RunHeader-name", has_text="child-1").wait_for()
    page.locator(f"{VIEW} .jp-mlp-RunLink", has_text="big-run").wait_for()
    shot(page, "run-08-child")


def test_mlp_show_output_links_to_the_run_view(lab, logged, page):
    nb = nbformat.v4.new_notebook(metadata=KERNELSPEC)
    nb.cells = [nbformat.v4.new_code_cell(f"%load_ext mlp\n%mlp show {logged}")]
    nbformat.write(nb, lab.root / "show.ipynb")
    # ?reset: a layout without run views, so the link must open one
    page.goto(f"{lab.url}/lab/tree/show.ipynb?token={lab.token}&reset")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.locator(".jp-NotebookPanel .jp-Spinner").wait_for(state="detached", timeout=60_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=60_000)
    link = page.locator(".jp-OutputArea a.jp-mlp-open-run")
    for attempt in range(3):  # a kernel still starting on a busy machine may miss the first
        page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").first.click()
        page.keyboard.press("Shift+Enter")
        try:
            link.wait_for(timeout=40_000)
            break
        except Exception:
            shot(page, f"run-09-show-attempt-{attempt}")
    link.click()
    page.locator(f"{VIEW} .jp-mlp-RunHeader-name", has_text="big-run").wait_for()
    shot(page, "run-09-from-mlp-show")
    # and the run's notebook opens from its header
    page.locator(f"{VIEW} button.jp-mlp-RunHeader-source").click()
    page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="train.ipynb").wait_for()


def test_a_running_runs_view_grows_its_charts_and_then_says_finished(lab, page):
    code = textwrap.dedent("""
        import time, mlp
        with mlp.start_run(experiment="run-view", name="growing", capture=False):
            for step in range(60):
                mlp.log_metric("loss", 1 / (step + 1), step=step)
                mlp.flush()
                time.sleep(0.25)
    """)
    env = {**os.environ, "MLP_SERVER_URL": lab.url, "MLP_TOKEN": lab.token,
           "MLP_SYSTEM_METRICS_INTERVAL": "0"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    try:
        open_lab(page, lab)
        row = page.locator(ROWS, has_text="growing")
        row.locator(".jp-mlp-StatusBadge", has_text="running").wait_for(timeout=20_000)
        row.dblclick()
        points = chart(page, "loss").locator(".jp-mlp-Chart-points")
        points.wait_for()
        first = int(points.get_attribute("data-count"))
        page.wait_for_function(f"el => Number(el.dataset.count) > {first}",
                               arg=points.element_handle(), timeout=15_000)
        assert page.locator(f"{VIEW} .jp-mlp-RunHeader .jp-mlp-StatusBadge").inner_text() \
            == "running"
        shot(page, "run-10-running")
        assert proc.wait(timeout=60) == 0
        page.locator(f"{VIEW} .jp-mlp-RunHeader .jp-mlp-StatusBadge",
                     has_text="finished").wait_for(timeout=15_000)
        page.wait_for_function("el => el.dataset.count === '60'", arg=points.element_handle())
    finally:
        proc.kill()


def test_a_run_view_with_5_metrics_of_a_million_points_draws_within_a_second(lab, page):
    if os.environ.get("MLP_BENCH_SKIP_BIG"):
        pytest.skip("MLP_BENCH_SKIP_BIG is set")
    code = textwrap.dedent("""
        import mlp
        import numpy as np
        keys = [f"m{i}" for i in range(5)]
        with mlp.start_run(experiment="run-view", name="million", capture=False):
            y = np.cumsum(np.random.default_rng(0).normal(size=1_000_000))
            for step in range(1_000_000):
                v = float(y[step])
                mlp.log_metrics({k: v + i for i, k in enumerate(keys)}, step=step)
    """)
    env = {**os.environ, "MLP_SERVER_URL": lab.url, "MLP_TOKEN": lab.token,
           "MLP_SYSTEM_METRICS_INTERVAL": "0"}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=900)
    logged_s = time.perf_counter() - t0
    open_lab(page, lab)
    page.locator(ROWS, has_text="million").wait_for()
    # opened three times (closed in between): the first is cold; on a shared machine the
    # median says more than any one
    times = []
    for attempt in range(3):
        if attempt:
            page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current "
                         ".lm-TabBar-tabCloseIcon").click()
            page.locator(VIEW).wait_for(state="detached")
        drawn = page.evaluate(DRAW_TIME_JS, "million")
        assert drawn["charts"] == 5
        times.append(drawn["ms"])
    median = sorted(times)[1]
    bench("run_view_draw_5x1M", median, first=round(times[0], 1), best=round(min(times), 1),
          charts=5, points=5_000_000, target_ms=1000, logging_s=round(logged_s, 1))
    for i in range(5):
        assert "of 1,000,000 points (downsampled)" in chart(page, f"m{i}").locator(
            ".jp-mlp-Chart-points").inner_text()
    shot(page, "run-11-five-million")
    assert median <= 1000, times
