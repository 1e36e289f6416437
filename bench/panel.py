"""JupyterLab panel benchmarks (issue #4): the ML Platform sidebar on a 100,000-run store in
Debian's chromium, and the run view's downsampled series. One JSON line per figure.

    .venv/bin/python bench/panel.py                         # SQLite only
    .venv/bin/python bench/panel.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/db
    .venv/bin/python bench/panel.py --only sidebar --quick  # 10,000 runs, 1 repetition

For each backend: a fresh store (as in bench/tracking.py) bulk-loaded with 100,000 runs
(`_build_search_store`) plus one run with 5 metrics of 1,000,000 points each; JupyterLab on it
(`python -m jupyterlab`, the panel's live refresh off so that no poll lands in a measurement);
then, in chromium driven by Playwright:

- first render: from the pointer going down on the ML Platform icon, the app being ready, to
  the first rows of the runs table painted; once with every /mlp/api request of the page held
  until the click (cold: the store is asked after the click), once as the panel is (warm: it
  loads the page it restores when the app starts);
- a filter (Enter in the filter box) and a sort (a click on a header) until the table shows
  the new rows, over all 100,000 runs;
- the number of table rows in the DOM after each of them (bounded by the page size);
- the series of the 5x1M run as the run view asks for them (GET /mlp/api/v1/runs/{id}/series,
  5 keys, max_points=1000), timed from Python; the run view's drawing in the browser is
  reported as pending while the extension has no run view (no `mlp:open-run` command).

Lines go to stdout and bench/results/panel.jsonl (``--out``), with the load average, since a
shared 2-core machine moves the figures. Exit code as bench/tracking.py: 0 when every
benchmark ran, 1 when one crashed (``--strict``: also on a missed target). See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "lab"))

from tracking import (  # noqa: E402
    QUERIES,
    Fresh,
    Runner,
    _build_search_store,
    _context,
    free_port,
    line,
    loadavg,
    log,
    pct,
)

DEFAULT_OUT = HERE / "results" / "panel.jsonl"
RUNS = 100_000
DF_RUNS = 5_000
POINTS = 1_000_000
RUNVIEW_KEYS = ["loss", "val_loss", "acc", "lr", "grad_norm"]
MAX_POINTS = 1000
PAGE_SIZE = 50  # the panel's default, set explicitly
REPS = 3
SERIES_REPS = 5

PANEL_TAB = '.lm-TabBar-tab[data-id="jp-mlp-sidebar"]'
SIDEBAR = "#jp-mlp-sidebar"
FILTER = f"{SIDEBAR} .jp-mlp-Filter-input"
# the filters: bench/tracking.py's search queries, here over every experiment
FILTERS = [(name, where) for name, where, _ in QUERIES if where]
# header clicks: (label for the line, header selector); the first metric and param columns
# are the first keys of the page, whatever they are
SORTS = [("metric", f"{SIDEBAR} th.jp-mlp-col-metric"),
         ("metric_again", f"{SIDEBAR} th.jp-mlp-col-metric"),
         ("param", f"{SIDEBAR} th.jp-mlp-col-param"),
         ("name", f"{SIDEBAR} th.jp-mlp-col-name"),
         ("duration", f"{SIDEBAR} th.jp-mlp-col-duration")]

# Timing in the page, so that no Playwright round trip is counted: `arm` listens (capture) for
# the user's event, takes its time, then watches the sidebar until `done` holds and the frame
# after it is painted (a requestAnimationFrame, then a task).
BENCH_JS = """
() => {
  const table = () => document.querySelector('#jp-mlp-sidebar table.jp-mlp-Table');
  const rows = () => Array.from(document.querySelectorAll(
      '#jp-mlp-sidebar table.jp-mlp-Table tbody tr'));
  const sig = () => rows().map(r => r.getAttribute('data-run-id') || r.textContent).join('|');
  const loading = () => !!document.querySelector('#jp-mlp-sidebar .jp-mod-loading');
  const visible = () => { const t = table(); return !!t && t.getClientRects().length > 0; };
  const afterPaint = () => new Promise(ok => requestAnimationFrame(() => {
    const ch = new MessageChannel(); ch.port1.onmessage = () => ok(performance.now());
    ch.port2.postMessage(null); }));
  window.__mlpBench = {
    sig, rows,
    arm(selector, type, kind, timeoutMs) {
      const before = sig();
      let t0 = null, seenLoading = false;
      const p = new Promise((resolve) => {
        const sidebar = () => document.querySelector('#jp-mlp-sidebar') || document.body;
        let obs = null, timer = null;
        const finish = async (outcome) => {
          if (obs) { obs.disconnect(); }
          clearTimeout(timer);
          const t1 = performance.now();
          const painted = await afterPaint();
          const reqs = performance.getEntriesByType('resource')
            .filter(e => e.name.includes('/mlp/api/v1/runs/search') && e.responseEnd >= t0)
            .map(e => ({start_ms: e.startTime - t0, end_ms: e.responseEnd - t0,
                        ms: e.responseEnd - e.startTime, bytes: e.encodedBodySize}));
          resolve({outcome, ms: painted - t0, dom_ms: t1 - t0, rows: rows().length,
                   tr: document.querySelectorAll('#jp-mlp-sidebar table tr').length,
                   sidebar_nodes: sidebar().getElementsByTagName('*').length,
                   changed: sig() !== before, seen_loading: seenLoading, requests: reqs,
                   query_error: (document.querySelector('#jp-mlp-sidebar .jp-mlp-QueryError')
                                 || {}).textContent || null});
        };
        const check = () => {
          if (loading()) { seenLoading = true; return; }
          if (document.querySelector('#jp-mlp-sidebar .jp-mlp-QueryError')) {
            finish('query_error'); return; }
          if (!visible() || rows().length === 0) { return; }
          if (kind === 'first' || sig() !== before || seenLoading) { finish('ok'); }
        };
        const start = (ev) => {
          if (t0 !== null || !ev.target.closest || !ev.target.closest(selector)) { return; }
          if (type === 'keydown' && ev.key !== 'Enter') { return; }
          t0 = performance.now();
          document.removeEventListener(type, start, true);
          obs = new MutationObserver(check);
          obs.observe(document.body, {subtree: true, childList: true, attributes: true,
                                      characterData: true});
          timer = setTimeout(() => finish('timeout'), timeoutMs);
          check();
        };
        document.addEventListener(type, start, true);
      });
      window.__mlpBench.pending = p;
    }
  };
}
"""


# =====================================================================================
# the store: 100k runs and one run with 5 metrics of 1M points (a child process)
# =====================================================================================


def child_build(args) -> None:
    import numpy as np

    from mlp_server.store import Store
    from mlp_server.tracking import Series, TrackingService
    from mlp_server.tracking.artifacts import ArtifactStore

    n_df = max(1, DF_RUNS * args.runs // RUNS)
    built = _build_search_store(args.db_url, args.runs, n_df)
    svc = TrackingService(Store(args.db_url, auto_migrate=False),
                          ArtifactStore(os.path.join(args.home, "artifacts")))
    t = time.perf_counter()
    run_id = svc.create_run("runview", "5-metrics-1M-points")["id"]
    n = args.points
    steps = np.arange(n, dtype=np.int64)
    times = time.time() - 3600 + np.arange(n) * 3.6e-3
    rng = np.random.default_rng(1)
    curve = 1.0 / np.sqrt(1 + steps / 1000)
    values = {"loss": curve + rng.normal(0, .02, n), "val_loss": curve * 1.1 + rng.normal(0, .03, n),
              "acc": 1 - curve / 2 + rng.normal(0, .01, n), "lr": 1e-3 * np.cos(steps / n * np.pi / 2),
              "grad_norm": np.abs(rng.normal(1, .5, n))}
    stored = svc.log_metrics([Series(run_id, k, steps, times, values[k]) for k in RUNVIEW_KEYS])
    svc.end_run(run_id, "finished")
    svc.store.dispose()
    print(json.dumps({"built": built, "runview_run": run_id, "runview_points": stored,
                      "runview_log_s": time.perf_counter() - t}), flush=True)


# =====================================================================================
# JupyterLab on the store
# =====================================================================================


class Lab:
    def __init__(self, fresh: Fresh, root: Path) -> None:
        self.port, self.token = free_port(), uuid.uuid4().hex
        self.url = f"http://127.0.0.1:{self.port}"
        settings = root / "settings"
        for rel, body in (
                ("@jupyterlab/apputils-extension/notification.jupyterlab-settings",
                 {"fetchNews": "false"}),
                ("jupyter-mlp-labextension/plugin.jupyterlab-settings",
                 {"pollInterval": 0, "pageSize": PAGE_SIZE})):
            (settings / rel).parent.mkdir(parents=True, exist_ok=True)
            (settings / rel).write_text(json.dumps(body))
        env = fresh.env()
        env.update({"MLP_DB_URL": fresh.url, "MLP_ARTIFACT_ROOT": str(root / "artifacts")})
        self.log_path = root / "lab.log"
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1",
                 f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                 f"--IdentityProvider.token={self.token}", "--ServerApp.open_browser=False",
                 f"--ServerApp.root_dir={root}", "--allow-root", "--LabApp.news_url=None",
                 "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                 "--LabApp.expose_app_in_browser=True",
                 f"--LabApp.user_settings_dir={settings}",
                 f"--LabApp.workspaces_dir={root / 'workspaces'}"],
                env=env, stdout=out, stderr=subprocess.STDOUT, cwd=str(root))
        import requests

        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {self.token}"
        deadline = time.time() + 180
        while time.time() < deadline and self.proc.poll() is None:
            with contextlib.suppress(requests.RequestException):
                if self.http.get(f"{self.url}/mlp/api/v1/info", timeout=5).ok:
                    return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("JupyterLab did not start:\n" + self.log_path.read_text()[-3000:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# =====================================================================================
# the run view's series, server side
# =====================================================================================


def bench_series(r: Runner, backend: str, lab: Lab, run_id: str, points: int) -> None:
    url = f"{lab.url}/mlp/api/v1/runs/{run_id}/series"
    params = [("key", k) for k in RUNVIEW_KEYS] + [("max_points", str(MAX_POINTS))]
    load0 = loadavg()
    times, sizes = [], []
    body: dict = {}
    for _ in range(1 + SERIES_REPS):
        t = time.perf_counter()
        resp = lab.http.get(url, params=params, timeout=120)
        resp.raise_for_status()
        body = resp.json()
        times.append((time.perf_counter() - t) * 1e3)
        sizes.append(len(resp.content))
    drawn = {s["key"]: len(s["x"]) for s in body["series"]}
    assert all(s["count"] == points for s in body["series"]), body["series"][0]["count"]
    zoom_params = params + [("start", str(points // 3)), ("end", str(points // 3 + points // 50))]
    zt = []
    for _ in range(SERIES_REPS):
        t = time.perf_counter()
        lab.http.get(url, params=zoom_params, timeout=120).raise_for_status()
        zt.append((time.perf_counter() - t) * 1e3)
    r.record(line("runview_series_ms", backend, statistics.median(times[1:]), "ms", "<= 1000",
                  keys=len(RUNVIEW_KEYS), points_per_key=points, max_points=MAX_POINTS,
                  first_ms=times[0], calls_ms=times[1:], response_bytes=sizes[-1],
                  points_returned=drawn, zoom_p50_ms=statistics.median(zt),
                  load_avg=load0, load_avg_end=loadavg(),
                  note=f"GET /runs/{{id}}/series with {len(RUNVIEW_KEYS)} keys of {points} points,"
                       f" max_points={MAX_POINTS}, through JupyterLab's server; median of "
                       f"{SERIES_REPS} after a first call; the server's part of the run view's "
                       "1 s budget (zoom_p50_ms: a 2 % window of the steps)"))


# =====================================================================================
# the sidebar in chromium
# =====================================================================================


class Browser:
    def __init__(self) -> None:
        from lab_browser import CHROMIUM, CHROMIUM_FLAGS
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        self.context = self.browser.new_context(viewport={"width": 1400, "height": 900})

    def close(self) -> None:
        self.context.close()
        self.browser.close()
        self._pw.stop()


def open_lab(browser: Browser, lab: Lab, workspace: str, hold: bool):
    """A page of the app in a fresh workspace (sidebar closed), ready; with ``hold`` every
    /mlp/api request is held until ``release()``."""
    page = browser.context.new_page()
    page.set_default_timeout(120_000)
    held: list = []
    state = {"hold": hold}
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    def route(rt):
        if state["hold"]:
            held.append(rt)
        else:
            rt.continue_()

    if hold:
        page.route("**/mlp/api/**", route)

    def release():
        state["hold"] = False
        for rt in held:
            rt.continue_()
        held.clear()

    t = time.perf_counter()
    page.goto(f"{lab.url}/lab/workspaces/{workspace}?reset&token={lab.token}")
    page.wait_for_function("() => window.jupyterapp !== undefined")
    page.evaluate("() => window.jupyterapp.restored")
    page.locator(PANEL_TAB).wait_for()
    ready_s = time.perf_counter() - t
    page.evaluate(BENCH_JS)
    return page, release, ready_s, errors


def measure(page, selector: str, event: str, kind: str, action, timeout_ms: int = 60_000) -> dict:
    page.evaluate("([s, e, k, t]) => window.__mlpBench.arm(s, e, k, t)",
                  [selector, event, kind, timeout_ms])
    action()
    return page.evaluate("() => window.__mlpBench.pending")


def _request_ms(res: dict) -> float | None:
    """How long the search request the action caused took in the browser (Resource Timing):
    the server's share of the figure, with the network (local here)."""
    mine = [q for q in res["requests"] if q["start_ms"] >= -1]
    return mine[-1]["ms"] if mine else None


def bench_sidebar(r: Runner, backend: str, lab: Lab, reps: int, n_runs: int) -> None:
    browser = Browser()
    cold, warm, ready = [], [], []
    filters: dict[str, list[float]] = {n: [] for n, _ in FILTERS}
    sorts: dict[str, list[float]] = {n: [] for n, _ in SORTS}
    dom: list[dict] = []
    problems: list[str] = []
    cold_ctx: list[dict] = []
    requests_ms: dict[str, list] = {}
    load0 = loadavg()
    try:
        for rep in range(reps):
            # cold: the runs, experiments and info requests wait for the click
            page, release, ready_s, errors = open_lab(browser, lab, f"cold-{rep}", hold=True)
            ready.append(ready_s)
            res = measure(page, PANEL_TAB, "pointerdown", "first",
                          lambda p=page, rel=release: (p.locator(PANEL_TAB).click(), rel()))
            if res["outcome"] != "ok":
                problems.append(f"cold first render {rep}: {res['outcome']}")
            cold.append(res["ms"])
            cold_ctx.append({"dom_ms": res["dom_ms"], "runs_requests": res["requests"]})
            dom.append({"after": "first render (cold)", "rows": res["rows"], "tr": res["tr"]})
            problems += [f"console: {e}" for e in errors]
            page.close()

            # warm: as the panel is; the page it restores was loaded when the app started
            page, _, ready_s, errors = open_lab(browser, lab, f"warm-{rep}", hold=False)
            ready.append(ready_s)
            with contextlib.suppress(Exception):  # the startup load, if it is still running
                page.wait_for_function(
                    "() => performance.getEntriesByType('resource')"
                    ".some(e => e.name.includes('/mlp/api/v1/runs/search') && e.responseEnd > 0)",
                    timeout=30_000)
            res = measure(page, PANEL_TAB, "pointerdown", "first",
                          lambda p=page: p.locator(PANEL_TAB).click())
            if res["outcome"] != "ok":
                problems.append(f"warm first render {rep}: {res['outcome']}")
            warm.append(res["ms"])
            dom.append({"after": "first render (warm)", "rows": res["rows"], "tr": res["tr"],
                        "sidebar_nodes": res["sidebar_nodes"]})

            box = page.locator(FILTER)
            for name, where in [*FILTERS, ("clear", "")]:
                box.fill(where)
                res = measure(page, FILTER, "keydown", "update", lambda b=box: b.press("Enter"))
                if res["outcome"] != "ok" or not res["changed"]:
                    problems.append(f"filter {name}: {res['outcome']}, changed={res['changed']}"
                                    f" {res['query_error'] or ''}".strip())
                filters.setdefault(name, []).append(res["ms"])
                requests_ms.setdefault(f"filter {name}", []).append(_request_ms(res))
                dom.append({"after": f"filter {name}", "rows": res["rows"], "tr": res["tr"]})
            for name, sel in SORTS:
                button = page.locator(sel).first.locator("button")
                res = measure(page, sel, "pointerdown", "update", lambda b=button: b.click())
                if res["outcome"] != "ok":
                    problems.append(f"sort {name}: {res['outcome']}")
                sorts[name].append(res["ms"])
                requests_ms.setdefault(f"sort {name}", []).append(_request_ms(res))
                dom.append({"after": f"sort {name}", "rows": res["rows"], "tr": res["tr"]})
            problems += [f"console: {e}" for e in errors]
            if rep == 0:
                shots = HERE / "results"
                page.screenshot(path=str(shots / f"panel-{backend}.png"))
            page.close()
    finally:
        browser.close()

    common = {"runs": n_runs, "page_size": PAGE_SIZE, "reps": reps, "load_avg": load0,
              "load_avg_end": loadavg()}
    r.record(line("panel_first_render_ms", backend, statistics.median(cold), "ms", "<= 1000",
                  samples_ms=cold, max_ms=max(cold), detail=cold_ctx,
                  app_ready_s_p50=statistics.median(ready), **common,
                  note="pointerdown on the ML Platform icon to the first rows painted; every "
                       "/mlp/api request of the page held until the click (cold); median over "
                       "fresh page loads"))
    r.record(line("panel_first_render_warm_ms", backend, statistics.median(warm), "ms", "<= 1000",
                  samples_ms=warm, max_ms=max(warm), **common,
                  note="the same with the page the panel loads at startup already answered"))
    pooled = [x for v in filters.values() for x in v]
    for name, samples in filters.items():
        r.record(line("panel_filter_ms", backend, max(samples), "ms", "<= 500", query=name,
                      where=dict(FILTERS).get(name, ""), samples_ms=samples,
                      request_ms=requests_ms[f"filter {name}"], **common))
    r.record(line("panel_filter_ms", backend, pct(pooled, 95), "ms", "<= 500", query="overall",
                  p50_ms=statistics.median(pooled), max_ms=max(pooled), samples=len(pooled),
                  **common, note="Enter in the filter box to the new rows painted (all "
                                 "experiments); p95 of the pooled samples"))
    pooled = [x for v in sorts.values() for x in v]
    for name, samples in sorts.items():
        r.record(line("panel_sort_ms", backend, max(samples), "ms", "<= 500", column=name,
                      samples_ms=samples, request_ms=requests_ms[f"sort {name}"], **common))
    r.record(line("panel_sort_ms", backend, pct(pooled, 95), "ms", "<= 500", column="overall",
                  p50_ms=statistics.median(pooled), max_ms=max(pooled), samples=len(pooled),
                  **common, note="pointerdown on a header to the reordered rows painted; p95 "
                                 "of the pooled samples"))
    r.record(line("panel_dom_rows", backend, max(d["rows"] for d in dom), "rows",
                  f"<= {PAGE_SIZE}", max_tr=max(d["tr"] for d in dom),
                  sidebar_nodes=max(d.get("sidebar_nodes", 0) for d in dom),
                  states=len(dom), **common,
                  note="run rows (tbody tr) in the table after each render, filter and sort; "
                       "max_tr counts the header row too"))
    if problems:
        r.errors.append(f"sidebar/{backend}: " + "; ".join(problems[:10]))


# From the double-click on the run's row to its view in the main area with a drawn line in
# each of the metrics' charts, painted.
RUNVIEW_JS = """
([runId, keys, timeoutMs]) => new Promise((resolve) => {
  const afterPaint = () => new Promise(ok => requestAnimationFrame(() => {
    const ch = new MessageChannel(); ch.port1.onmessage = () => ok(performance.now());
    ch.port2.postMessage(null); }));
  const charts = () => {
    const view = document.getElementById('jp-mlp-run-' + runId);
    return view ? keys.map(k => view.querySelector(
      'figure.jp-mlp-Chart[data-mlp-metric="' + CSS.escape(k) + '"]')) : [];
  };
  const drawn = () => {
    const figs = charts();
    return figs.length === keys.length && figs.every(f => f && f.getAttribute('aria-busy') !== 'true'
      && ((f.querySelector('path.jp-mlp-Chart-line') || {getAttribute: () => ''})
          .getAttribute('d') || '').length > 100);
  };
  let t0 = null, obs = null, timer = null;
  const finish = async (outcome) => {
    obs.disconnect(); clearTimeout(timer);
    const t1 = performance.now();
    const painted = await afterPaint();
    const reqs = performance.getEntriesByType('resource')
      .filter(e => e.name.includes('/series') && e.responseEnd >= t0)
      .map(e => ({start_ms: e.startTime - t0, ms: e.responseEnd - e.startTime,
                  bytes: e.encodedBodySize}));
    resolve({outcome, ms: painted - t0, dom_ms: t1 - t0, series_requests: reqs,
             path_chars: charts().map(f => f ? (f.querySelector('path.jp-mlp-Chart-line')
               || {getAttribute: () => ''}).getAttribute('d').length : null)});
  };
  const start = (ev) => {
    if (!ev.target.closest || !ev.target.closest('tr[data-run-id="' + runId + '"]')) { return; }
    document.removeEventListener('dblclick', start, true);
    t0 = performance.now();
    obs = new MutationObserver(() => { if (drawn()) { finish('ok'); } });
    obs.observe(document.body, {subtree: true, childList: true, attributes: true});
    timer = setTimeout(() => finish('timeout'), timeoutMs);
  };
  document.addEventListener('dblclick', start, true);
})
"""


def bench_runview_draw(r: Runner, backend: str, lab: Lab, run_id: str, reps: int,
                       points: int) -> None:
    browser = Browser()
    samples, details, problems = [], [], []
    load0 = loadavg()
    try:
        for rep in range(reps):
            page, _, _, errors = open_lab(browser, lab, f"runview-{rep}", hold=False)
            if not page.evaluate("() => window.jupyterapp.commands.hasCommand('mlp:open-run')"):
                page.close()
                r.record({"bench": "runview_draw_ms", "backend": backend, "value": None,
                          "unit": "ms", "target": "<= 1000", "ok": None, "pending": True,
                          "load_avg": loadavg(),
                          "note": "the installed panel has no run view (no mlp:open-run "
                                  "command): runview_series_ms is the server's part"})
                return
            page.locator(PANEL_TAB).click()
            row = page.locator(f'{SIDEBAR} tr[data-run-id="{run_id}"]')
            row.wait_for()
            page.evaluate("(a) => { window.__mlpRunview = (" + RUNVIEW_JS.strip() + ")(a); }",
                          [run_id, RUNVIEW_KEYS, 60_000])
            row.dblclick()
            res = page.evaluate("() => window.__mlpRunview")
            if res["outcome"] != "ok":
                problems.append(f"run view {rep}: {res['outcome']}")
            samples.append(res["ms"])
            details.append({k: res[k] for k in ("dom_ms", "series_requests", "path_chars")})
            problems += [f"console: {e}" for e in errors]
            if rep == 0:
                page.screenshot(path=str(HERE / "results" / f"runview-{backend}.png"))
            page.close()
    finally:
        browser.close()
    r.record(line("runview_draw_ms", backend, statistics.median(samples), "ms", "<= 1000",
                  samples_ms=samples, max_ms=max(samples), detail=details,
                  keys=len(RUNVIEW_KEYS), points_per_key=points, reps=reps, load_avg=load0,
                  load_avg_end=loadavg(),
                  note="double-click on the run's row to its view in the main area with the "
                       f"{len(RUNVIEW_KEYS)} metrics' lines drawn and painted; median over fresh "
                       "page loads"))
    if problems:
        r.errors.append(f"runview/{backend}: " + "; ".join(problems[:10]))


# =====================================================================================
# parent
# =====================================================================================


def run_backend(r: Runner, backend: str, args, only: set[str]) -> None:
    with Fresh(backend, args.pg_url) as fresh, tempfile.TemporaryDirectory(
            prefix="mlp-bench-lab-") as tmp:
        log(f"{backend}: bulk-loading {args.runs} runs and a run of "
            f"{len(RUNVIEW_KEYS)}x{args.points} points ...")
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", "build", "--db-url",
             fresh.url, "--home", fresh.home, "--runs", str(args.runs), "--points",
             str(args.points)], env=fresh.env(), cwd=str(ROOT), capture_output=True, text=True,
            timeout=1800)
        if out.returncode != 0:
            raise RuntimeError(f"store build failed: {out.stderr[-3000:]}")
        built = json.loads(out.stdout.strip().splitlines()[-1])
        log(f"{backend}: store built in {built['built']['build_s']:.1f}s, the 5-metric run "
            f"logged in {built['runview_log_s']:.1f}s")
        lab = Lab(fresh, Path(tmp))
        try:
            if "runview" in only:
                log(f"{backend}: run view series ...")
                bench_series(r, backend, lab, built["runview_run"], args.points)
                log(f"{backend}: run view in chromium ({args.reps} repetitions) ...")
                bench_runview_draw(r, backend, lab, built["runview_run"], args.reps, args.points)
            if "sidebar" in only:
                log(f"{backend}: sidebar in chromium ({args.reps} repetitions) ...")
                bench_sidebar(r, backend, lab, args.reps, built["built"]["runs"] + 1)
        finally:
            lab.stop()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pg-url", default=os.environ.get("MLP_BENCH_PG_URL"),
                   help="SQLAlchemy URL of a PostgreSQL server whose user may CREATE DATABASE "
                        "(default $MLP_BENCH_PG_URL; without it only SQLite runs)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON lines file (overwritten)")
    p.add_argument("--only", default="sidebar,runview", help="comma list of: sidebar, runview")
    p.add_argument("--quick", action="store_true",
                   help="a tenth of the runs and points, one repetition: a smoke test")
    p.add_argument("--reps", type=int, default=REPS, help="page loads per figure (default 3)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--child", choices=["build"], help=argparse.SUPPRESS)
    p.add_argument("--db-url", help=argparse.SUPPRESS)
    p.add_argument("--home", help=argparse.SUPPRESS)
    p.add_argument("--runs", type=int, default=RUNS, help=argparse.SUPPRESS)
    p.add_argument("--points", type=int, default=POINTS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        child_build(args)
        return 0
    if args.quick:
        args.runs, args.points, args.reps = RUNS // 10, POINTS // 10, 1
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - {"sidebar", "runview"}
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}")
    backends = ["sqlite"] + (["postgres"] if args.pg_url else [])
    if not args.pg_url:
        log("no --pg-url (or MLP_BENCH_PG_URL): PostgreSQL figures are skipped")

    t0 = time.perf_counter()
    r = Runner(args.out)
    if args.quick:  # every line says so
        record = r.record
        r.record = lambda rec: record({**rec, "quick": True})  # type: ignore[method-assign]
    ctx: dict[str, Any] = _context(args.pg_url)
    with contextlib.suppress(Exception):
        from importlib.metadata import version

        ctx["jupyterlab"] = version("jupyterlab")
        ctx["chromium"] = subprocess.run(
            [os.environ.get("MLP_TEST_CHROMIUM", "/usr/bin/chromium"), "--version"],
            capture_output=True, text=True, timeout=30).stdout.strip()
    log(f"context: {json.dumps(ctx)}")
    for backend in backends:
        t = time.perf_counter()
        try:
            run_backend(r, backend, args, only)
        except Exception as e:  # a broken backend must not hide the other
            r.errors.append(f"{backend}: {type(e).__name__}: {e}")
            log(f"{backend} FAILED: {type(e).__name__}: {e}")
        log(f"{backend} done in {time.perf_counter() - t:.1f}s")

    failing = [f"{x['bench']}[{x['backend']}"
               f"{'/' + str(x.get('query') or x.get('column')) if x.get('query') or x.get('column') else ''}]"
               f"={x['value']} (target {x['target']})"
               for x in r.results if x.get("ok") is False]
    pending = [f"{x['bench']}[{x['backend']}]" for x in r.results if x.get("pending")]
    r.record({"bench": "summary", "backend": None, "ok": not failing and not r.errors,
              "failing": failing, "pending": pending, "errors": r.errors,
              "figures": len(r.results), "elapsed_s": round(time.perf_counter() - t0, 1),
              "backends": backends, "quick": args.quick, "runs": args.runs,
              "points": args.points, **ctx})
    if r.errors:
        return 1
    return 1 if args.strict and failing else 0


if __name__ == "__main__":
    sys.exit(main())
