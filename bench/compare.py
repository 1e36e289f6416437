"""Run comparison benchmarks (issue #5): the diff engine's data and the panel's diff view.
One JSON line per figure.

    .venv/bin/python bench/compare.py                    # SQLite only
    .venv/bin/python bench/compare.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/db
    .venv/bin/python bench/compare.py --quick            # a tenth of the points, 1 repetition

For each backend, a fresh store with:

- two runs with 5 metrics of 100,000 points each and 500 params (a tenth of them differ);
- a sweep of 50 runs across 3 experiments, each with 5 metrics of 10,000 points and 100
  params (lr, depth and a few others vary);

then:

- ``compare_diff_two_ms``: ``TrackingService.diff`` of the two runs — the data ``mlp.diff``
  returns in-process and the REST route sends — median of 5 after a first call (target
  ≤ 200 ms);
- ``compare_diff_two_http_ms``: the same through ``GET /mlp/api/v1/diff`` of a real
  JupyterLab server, response parsed (what the panel and a remote ``mlp.diff`` wait for);
- ``compare_diff_fifty_ms``: the diff of the 50 runs (target ≤ 1 s);
- ``compare_panel_first_draw_ms``: in Debian's chromium, from running the panel's
  ``mlp:compare`` command on the two runs to the diff view's sections painted (target
  ≤ 1 s); reported as pending when the installed panel has no such command.

Lines go to stdout and bench/results/compare.jsonl (``--out``), with the load average.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "lab"))

from panel import PANEL_TAB, Browser, Lab, open_lab  # noqa: E402
from tracking import (  # noqa: E402
    Fresh,
    Runner,
    line,
    loadavg,
    log,
    run_script,
    script_parser,
)

DEFAULT_OUT = HERE / "results" / "compare.jsonl"
POINTS, PARAMS, KEYS = 100_000, 500, ["loss", "val_loss", "acc", "lr", "grad_norm"]
SWEEP, SWEEP_POINTS, SWEEP_PARAMS = 50, 10_000, 100

# Timing in the page: from the command to the diff view's summary and a drawn curve painted.
DRAW_JS = """
async ([ids, timeout]) => {
  const t0 = performance.now();
  const app = window.jupyterapp;
  const run = app.commands.execute('mlp:compare', { runs: ids });
  const done = () => {
    const view = document.querySelector('.jp-mlp-DiffView');
    if (!view) return false;
    if (view.querySelector('.jp-mlp-State.jp-mlp-mod-error')) return 'error';
    const summary = view.querySelector('.jp-mlp-DiffSummary-lines li');
    const curve = view.querySelector('.jp-mlp-DiffCurve-line');
    return summary && curve ? 'ok' : false;
  };
  const outcome = await new Promise((resolve) => {
    const tick = () => {
      const d = done();
      if (d) { requestAnimationFrame(() => setTimeout(() => resolve(d), 0)); return; }
      if (performance.now() - t0 > timeout) { resolve('timeout'); return; }
      requestAnimationFrame(tick);
    };
    tick();
  });
  await run;
  const reqs = performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/mlp/api/v1/diff'))
    .map((e) => ({ ms: Math.round(e.duration * 10) / 10, bytes: e.transferSize }));
  return { outcome, ms: Math.round((performance.now() - t0) * 10) / 10, requests: reqs };
}
"""


def build(url: str, home: str, points: int, sweep_points: int) -> dict:
    import numpy as np

    from mlp_server.store import Store
    from mlp_server.tracking import Series, TrackingService
    from mlp_server.tracking.artifacts import ArtifactStore

    svc = TrackingService(Store(url, auto_migrate=True), ArtifactStore(os.path.join(home, "a")))
    rng = np.random.default_rng(5)
    t = time.perf_counter()

    def run(exp: str, name: str, params: dict, n: int, scale: float) -> str:
        rid = svc.create_run(exp, name)["id"]
        svc.log_params(rid, params)
        steps = np.arange(n, dtype=np.int64)
        times = time.time() - 3600 + steps * (3600 / n)
        curve = 1.0 / np.sqrt(1 + steps / (n / 100)) * scale
        svc.log_metrics([Series(rid, k, steps, times, curve * (1 + i / 10)
                                + rng.normal(0, .01, n)) for i, k in enumerate(KEYS)])
        svc.end_run(rid, "finished")
        return rid

    two = [run("compare", f"run-{j}", {f"p{i:03d}": (i * (j + 1) if i % 10 == 0 else i)
                                       for i in range(PARAMS)}, points, 1 + j / 10)
           for j in range(2)]
    sweep = [run(f"sweep-{j % 3}", f"trial-{j}",
                 {"lr": 10 ** -(1 + j % 4), "depth": 3 + j % 5, "model": "xgb" if j % 2 else "mlp",
                  **{f"q{i:02d}": i for i in range(SWEEP_PARAMS - 3)}},
                 sweep_points, 1 + j / 100) for j in range(SWEEP)]
    svc.store.dispose()
    return {"two": two, "sweep": sweep, "build_s": time.perf_counter() - t}


def timed(fn, reps: int) -> tuple[list[float], Any]:
    out = None
    times = []
    for _ in range(1 + reps):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1e3)
    return times, out


def bench_engine(r: Runner, backend: str, fresh: Fresh, built: dict, reps: int,
                 points: int) -> None:
    from mlp_server.store import Store
    from mlp_server.tracking import TrackingService
    from mlp_server.tracking.artifacts import ArtifactStore

    svc = TrackingService(Store(fresh.url, auto_migrate=False),
                          ArtifactStore(os.path.join(fresh.home, "a")))
    load0 = loadavg()
    times, doc = timed(lambda: svc.diff(built["two"]), reps)
    r.record(line("compare_diff_two_ms", backend, statistics.median(times[1:]), "ms", "<= 200",
                  first_ms=times[0], calls_ms=times[1:], metrics=len(KEYS),
                  points_per_metric=points, params=PARAMS,
                  params_changed=doc["counts"]["params"]["changed"],
                  json_bytes=len(json.dumps(doc, default=str)), load_avg=load0,
                  load_avg_end=loadavg(),
                  note="TrackingService.diff of two runs (what mlp.diff returns in-process and "
                       "the REST route sends): histories read, best/at-step values, curves "
                       f"downsampled; median of {reps} after a first call"))
    load0 = loadavg()
    times, doc = timed(lambda: svc.diff(built["sweep"]), reps)
    r.record(line("compare_diff_fifty_ms", backend, statistics.median(times[1:]), "ms", "<= 1000",
                  first_ms=times[0], calls_ms=times[1:], runs=len(built["sweep"]),
                  experiments=3, metrics=len(KEYS), points_per_metric=SWEEP_POINTS // (
                      POINTS // points), params=SWEEP_PARAMS, varying=len(doc["varying"]),
                  load_avg=load0, load_avg_end=loadavg(),
                  note=f"TrackingService.diff of {SWEEP} runs across 3 experiments; median of "
                       f"{reps} after a first call"))
    svc.store.dispose()


def bench_http(r: Runner, backend: str, lab: Lab, built: dict, reps: int) -> None:
    url = f"{lab.url}/mlp/api/v1/diff"
    params = [("run", rid) for rid in built["two"]]
    load0 = loadavg()
    sizes = []

    def call():
        resp = lab.http.get(url, params=params, timeout=120)
        resp.raise_for_status()
        sizes.append(len(resp.content))
        return resp.json()

    times, _ = timed(call, reps)
    r.record(line("compare_diff_two_http_ms", backend, statistics.median(times[1:]), "ms",
                  "<= 200", first_ms=times[0], calls_ms=times[1:], response_bytes=sizes[-1],
                  load_avg=load0, load_avg_end=loadavg(),
                  note="GET /mlp/api/v1/diff of the two runs through JupyterLab's server, "
                       f"response parsed; median of {reps} after a first call"))


def bench_panel(r: Runner, backend: str, lab: Lab, built: dict, reps: int) -> None:
    browser = Browser()
    samples, details, problems = [], [], []
    load0 = loadavg()
    try:
        for rep in range(reps):
            page, _, _, errors = open_lab(browser, lab, f"compare-{rep}", hold=False)
            if not page.evaluate("() => window.jupyterapp.commands.hasCommand('mlp:compare')"):
                page.close()
                r.record({"bench": "compare_panel_first_draw_ms", "backend": backend,
                          "value": None, "unit": "ms", "target": "<= 1000", "ok": None,
                          "pending": True, "load_avg": loadavg(),
                          "note": "the installed panel has no mlp:compare command"})
                return
            page.locator(PANEL_TAB).click()
            res = page.evaluate(DRAW_JS, [built["two"], 60_000])
            if res["outcome"] != "ok":
                problems.append(f"diff view {rep}: {res['outcome']}")
            samples.append(res["ms"])
            details.append(res["requests"])
            problems += [f"console: {e}" for e in errors]
            if rep == 0:
                page.screenshot(path=str(HERE / "results" / f"compare-{backend}.png"))
            page.close()
    finally:
        browser.close()
    r.record(line("compare_panel_first_draw_ms", backend, statistics.median(samples), "ms",
                  "<= 1000", samples_ms=samples, max_ms=max(samples), requests=details,
                  reps=reps, load_avg=load0, load_avg_end=loadavg(),
                  note="the panel's mlp:compare command on the two runs to the diff view's "
                       "summary and first overlaid curve painted; median over fresh page "
                       "loads"))
    if problems:
        r.errors.append(f"panel/{backend}: " + "; ".join(problems[:10]))


def run_backend(r: Runner, backend: str, args, only: set[str]) -> None:
    with Fresh(backend, args.pg_url) as fresh, tempfile.TemporaryDirectory(
            prefix="mlp-bench-compare-") as tmp:
        log(f"{backend}: building 2 runs of {len(KEYS)}x{args.points} points and a sweep of "
            f"{SWEEP} runs ...")
        built = build(fresh.url, fresh.home, args.points, args.sweep_points)
        log(f"{backend}: built in {built['build_s']:.1f}s")
        if "engine" in only:
            bench_engine(r, backend, fresh, built, args.reps, args.points)
        if only & {"http", "panel"}:
            lab = Lab(fresh, Path(tmp))
            try:
                if "http" in only:
                    bench_http(r, backend, lab, built, args.reps)
                if "panel" in only:
                    log(f"{backend}: diff view in chromium ...")
                    bench_panel(r, backend, lab, built, min(args.reps, 3))
            finally:
                lab.stop()


def main(argv: list[str] | None = None) -> int:
    p = script_parser(__doc__, DEFAULT_OUT, only="engine,http,panel")
    args = p.parse_args(argv)
    args.points, args.sweep_points = POINTS, SWEEP_POINTS
    if args.quick:
        args.points, args.sweep_points, args.reps = POINTS // 10, SWEEP_POINTS // 10, 1
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - {"engine", "http", "panel"}
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}")
    return run_script(args, lambda r, backend: run_backend(r, backend, args, only))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
