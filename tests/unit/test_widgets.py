"""Widgets: the bounded downsampler, the live chart fed by a real run, the runs table paging
through the store, and their static HTML fallbacks."""

from __future__ import annotations

import contextvars
import json
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import mlp

pytest.importorskip("anywidget")

from mlp.widgets import chart as chart_module  # noqa: E402
from mlp.widgets._downsample import Downsampler  # noqa: E402


def _wait_for(predicate, timeout: float) -> float:
    """Seconds until ``predicate()`` held; fails after ``timeout``."""
    t0 = time.monotonic()
    while not predicate():
        assert time.monotonic() - t0 < timeout, f"not within {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - t0


# -- the downsampler ---------------------------------------------------------------------


def test_downsampler_keeps_first_last_and_extremes_of_a_million_points_in_bounds():
    rng = np.random.default_rng(0)
    n = 1_000_000
    steps = np.arange(n, dtype=np.int64)
    values = np.cumsum(rng.normal(size=n))
    values[123_457], values[876_543] = 1e6, -1e6
    d = Downsampler(max_points=1000)
    for i in range(0, n, 65_536):  # in flush-sized batches
        d.add(steps[i:i + 65_536], values[i:i + 65_536])
    xs, ys = d.series()
    assert len(xs) <= 1000 and d.count == n
    assert (xs[0], ys[0]) == (0, values[0]) and (xs[-1], ys[-1]) == (n - 1, values[-1])
    assert 123_457 in xs and 876_543 in xs and ys.max() == 1e6 and ys.min() == -1e6
    assert np.all(np.diff(xs) >= 0)
    assert np.array_equal(values[xs], ys)  # every kept point is a logged one


def test_downsampler_result_does_not_depend_on_order_or_repeats():
    rng = np.random.default_rng(1)
    steps = rng.permutation(50_000)
    values = rng.normal(size=50_000)
    a, b = Downsampler(400), Downsampler(400)
    a.add(np.sort(steps), values[np.argsort(steps)])
    for part in np.array_split(np.arange(50_000), 7):
        b.add(steps[part], values[part])
    b.add(steps[:1000], values[:1000])  # a history read racing the live points
    for x, y in zip(a.series(), b.series(), strict=True):
        assert np.array_equal(x, y)


def test_downsampler_counts_nonfinite_values_without_drawing_them_and_takes_any_step():
    d = Downsampler(100)
    d.add([0, 1, 2, 3], [1.0, np.nan, np.inf, 2.0])
    d.add([-(2**63), 2**63 - 1], [5.0, 6.0])  # the whole int64 range
    xs, ys = d.series()
    assert d.count == 6 and d.nonfinite == 2
    assert list(xs[[0, -1]]) == [-(2**63), 2**63 - 1] and np.isfinite(ys).all()
    assert len(xs) <= 100


def test_downsampler_of_the_fewest_points_ends_with_steps_on_both_sides_of_zero():
    # Halving bucket indices floors them to -1 and 0, never into one bucket: at one bucket
    # (max_points 4 to 7) the widening never ended. Two buckets hold any steps.
    with pytest.raises(ValueError, match="at least 8"):
        Downsampler(7)
    for steps in ([-1, 0], [-(2**63), 2**63 - 1], [-5, 3, 1_000_000]):
        d = Downsampler(8)
        d.add(steps, np.arange(len(steps), dtype=float))
        xs, _ = d.series()
        assert len(xs) <= 8 and xs[0] == steps[0] and xs[-1] == steps[-1]


def test_downsampler_buckets_huge_steps_exactly():
    # Steps as nanoseconds: bucket edges computed in floats merged steps 256 apart.
    steps = np.arange(10_000, dtype=np.int64) + 1_700_000_000_000_000_000
    d = Downsampler(2000)
    d.add(steps, np.arange(10_000.0))
    xs, _ = d.series()
    assert d.width == 32 and len(xs) == 2 * 313  # each bucket: its first and last step


def test_downsampler_keeps_the_mean_of_each_bucket():
    rng = np.random.default_rng(1)
    n = 1_000_000
    steps = np.arange(n)
    values = 0.5 + rng.exponential(0.1, n)  # a noisy loss, mean 0.6, with spikes
    d = Downsampler(2000)
    for i in range(0, n, 65_536):
        d.add(steps[i:i + 65_536], values[i:i + 65_536])
    centers, means = d.means()
    width = int(d.width)
    edges = np.arange(0, n, width)
    assert np.allclose(means, np.add.reduceat(values, edges) / np.diff(np.r_[edges, n]))
    assert np.array_equal(centers, (edges + np.minimum(edges + width, n) - 1) / 2)
    # The kept points are each bucket's extremes: their average is no estimate of the mean.
    assert abs(means[centers > 0.9 * n].mean() - 0.6) < 0.002
    assert d.series()[1][d.series()[0] > 0.9 * n].mean() > 0.7


def test_downsampler_says_from_which_step_on_values_are_not_finite():
    d = Downsampler(100)
    d.add([0, 1, 2], [1.0, 2.0, 3.0])
    assert d.first_nonfinite is None
    d.add([9, 7, 8], [np.inf, 4.0, np.nan])
    d.add([5, 12], [-np.inf, np.nan])  # an earlier step arrives later
    assert d.nonfinite == 4 and d.first_nonfinite == (5, -np.inf)
    assert list(d.means()[1]) == [1.0, 2.0, 3.0, 4.0]


# -- the live chart ----------------------------------------------------------------------


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setattr(chart_module, "PUSH_INTERVAL", 0.1)


def test_live_chart_shows_points_of_the_running_loop_within_two_seconds(client):
    with mlp.start_run(experiment="live", name="a", capture=False):
        chart = mlp.live_chart(max_points=200)
        assert chart.live and chart.series == {}
        t0 = time.monotonic()
        for step in range(5000):
            mlp.log_metric("loss", 1 / (step + 1), step=step)
            mlp.log_metric("system/cpu_percent", 3.0)  # hidden unless asked for
        # The flusher sends every MLP_FLUSH_INTERVAL (1 s) and the chart pushes every 0.5 s,
        # while this thread stays busy, as a training loop would keep the kernel.
        _wait_for(lambda: chart.series.get("loss", {}).get("n") == 5000, 2.0 - (
            time.monotonic() - t0))
        loss = chart.series["loss"]
        assert len(loss["x"]) <= 200 and loss["x"][0] == 0 and loss["x"][-1] == 4999
        assert set(chart.series) == {"loss"}
        html = chart._repr_mimebundle_()[0]["text/html"]
        assert "<svg" in html and "<polyline" in html and "5,000 points" in html


def test_live_chart_stops_when_the_run_ends_and_keeps_the_final_curve(client, fast):
    with mlp.start_run(experiment="live", name="b", capture=False) as run:
        for step in range(100):  # before the chart: read from the store
            run.log_metric("acc", step / 100, step=step)
        chart = mlp.live_chart(keys=["acc"])
        assert chart.series["acc"]["n"] == 100
        for step in range(100, 300):  # after it: through the tap
            run.log_metric("acc", step / 300, step=step)
    _wait_for(lambda: not chart.live, 2.0)
    assert chart.status == "finished" and chart.run.id == run.id
    assert chart.series["acc"]["n"] == 300  # every point exactly once
    assert chart.series["acc"]["x"][-1] == 299
    assert client.flusher.taps == []
    assert chart not in chart_module._pusher._charts


def test_pushes_from_the_thread_run_in_the_creating_cells_context(client, fast, monkeypatch):
    # ipykernel keeps the parent message (the cell) in context variables: a push made in the
    # creating cell's context is routed to that cell, whichever cell runs meanwhile.
    cell = contextvars.ContextVar("cell")
    seen = []
    with mlp.start_run(experiment="live", name="ctx", capture=False):
        token = cell.set("the creating cell")
        chart = mlp.live_chart()
        cell.reset(token)
        push = chart._push

        def spy(final=False):
            seen.append((threading.current_thread().name, cell.get(None)))
            push(final)

        monkeypatch.setattr(chart, "_push", spy)
        mlp.log_metric("loss", 1.0)
        _wait_for(lambda: seen, 2.0)
    assert seen[0] == ("mlp-live-charts", "the creating cell")


def _record_messages(chart) -> list[dict]:
    """What the chart sends to the front end from now on: ``{"method": "update", "state"}``
    and ``{"method": "custom", "content"}``."""
    sent: list[dict] = []
    send = chart.comm.publish_msg

    def publish(msg_type, data=None, metadata=None, buffers=None, **keys):
        sent.append(data)
        send(msg_type, data, metadata, buffers, **keys)

    chart.comm.publish_msg = publish
    return sent


def _custom(sent) -> list[dict]:
    return [m["content"] for m in sent if m.get("method") == "custom"]


def test_a_push_sends_only_the_keys_that_changed_and_the_end_sends_all(client, fast):
    client.flusher.interval = 0.05
    with mlp.start_run(experiment="live", name="delta", capture=False) as run:
        for step in range(10):
            run.log_metrics({"a": step, "b": -step}, step=step)
        chart = mlp.live_chart()
        sent = _record_messages(chart)
        for step in range(10, 20):
            run.log_metrics({"a": step, "b": -step}, step=step)
        _wait_for(lambda: chart.series["b"]["n"] == 20, 2.0)
        for step in range(20, 30):
            run.log_metric("a", step, step=step)
        _wait_for(lambda: chart.series["a"]["n"] == 30, 2.0)
        time.sleep(0.3)
        running = list(sent)
    _wait_for(lambda: not chart.live, 2.0)
    changes = _custom(running)
    assert changes and all(m["type"] == "series" for m in changes)
    assert changes[-1]["changed"].keys() == {"a"} and changes[-1]["changed"]["a"]["n"] == 30
    assert not [m for m in running if m.get("method") == "update"]  # nothing whole meanwhile
    (final,) = [m for m in sent if m.get("method") == "update"]
    assert final["state"]["status"] == "finished"
    assert final["state"]["series"] == chart.series and chart.series["b"]["n"] == 20


def test_a_finished_chart_lets_go_of_its_samplers_and_keeps_its_series(client, fast):
    import gc
    import weakref

    with mlp.start_run(experiment="live", name="done2", capture=False) as run:
        chart = mlp.live_chart()
        for step in range(100):
            run.log_metric("loss", 1 / (step + 1), step=step)
        _wait_for(lambda: chart._samplers, 2.0)
        sampler = weakref.ref(chart._samplers["loss"])
    _wait_for(lambda: not chart.live, 2.0)
    _wait_for(lambda: not chart._samplers, 2.0)
    gc.collect()
    assert sampler() is None
    assert chart.series["loss"]["n"] == 100 and chart.status == "finished"
    assert "100 points" in chart.to_html()
    ended = mlp.live_chart("live/done2")  # of an ended run: done at once
    assert ended._samplers == {} and ended.series == chart.series


def test_live_chart_of_an_ended_run_shows_its_history(client):
    with mlp.start_run(experiment="live", name="done", capture=False):
        mlp.log_metrics({"loss": 0.5, "acc": 0.7}, step=1)
    chart = mlp.live_chart("live/done")
    assert not chart.live and chart.status == "finished"
    assert chart.series == {"acc": {"x": [1], "y": [0.7], "n": 1, "mx": [1.0], "my": [0.7]},
                            "loss": {"x": [1], "y": [0.5], "n": 1, "mx": [1.0], "my": [0.5]}}
    assert client.flusher.taps == []


@pytest.fixture
def refused_elsewhere(client):
    """Points of another run that the store will refuse (that run is deleted), buffered."""
    other = mlp.start_run(experiment="live", name="other", capture=False)
    other.log_metric("x", 1.0)
    mlp.flush()
    mlp.delete_run(other)
    other.log_metric("x", 2.0)
    return other


def test_a_refusal_of_another_runs_points_neither_stops_a_chart_nor_is_taken(refused_elsewhere):
    with mlp.start_run(experiment="live", name="mine", nested=True, capture=False) as run:
        run.log_metric("loss", 0.5, step=1)
        chart = mlp.live_chart()
        assert chart.series["loss"]["n"] == 1
        # Still there for the code that logged those points.
        with pytest.raises(mlp.errors.InvalidInput, match="is deleted"):
            mlp.flush()


def test_a_refusal_of_another_runs_points_is_not_swallowed_by_a_runs_table(refused_elsewhere):
    table = mlp.runs_table("live")
    table.refresh()
    assert table.error == {}
    with pytest.raises(mlp.errors.InvalidInput, match="is deleted"):
        mlp.flush()


def test_live_chart_without_a_run_says_what_to_do(client):
    with pytest.raises(mlp.errors.InvalidInput, match="no active run to chart"):
        mlp.live_chart()


@pytest.mark.parametrize("max_points", [2, 15, 0, -1, 100.0, "2000", True])
def test_live_chart_refuses_too_few_max_points_naming_the_parameter(client, max_points):
    with (mlp.start_run(experiment="live", name="few", capture=False),
          pytest.raises(mlp.errors.InvalidInput, match="max_points must be an integer of at "
                        "least 16") as e):
        mlp.live_chart(max_points=max_points)
    assert e.value.field == "max_points" and client.flusher.taps == []


def test_chart_fallback_is_a_static_svg_of_the_series(client):
    with mlp.start_run(experiment="live", name="svg", capture=False):
        for step in range(10):
            mlp.log_metrics({"loss": 1 / (step + 1), "acc": step / 10}, step=step)
    bundle = mlp.live_chart("live/svg")._repr_mimebundle_()[0]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert html.count("<polyline") == 2 and "acc" in html and "loss" in html
    assert "last 0.1 at step 9" in html and "live/svg" in html


# -- the runs table ----------------------------------------------------------------------


@pytest.fixture
def twelve_runs(client):
    for i in range(12):
        with mlp.start_run(experiment="tbl", name=f"r{i:02d}", params={"depth": i % 3},
                           capture=False):
            mlp.log_metric("loss", (i * 7) % 12 / 10)


def _names(table) -> list[str]:
    return [r["cells"]["name"] for r in table.rows]


def test_runs_table_pages_forward_and_back_with_the_store_cursor(twelve_runs):
    table = mlp.runs_table("tbl", order_by="name", page_size=5)
    assert _names(table) == ["r00", "r01", "r02", "r03", "r04"] and table.page == 1
    assert table.has_next
    table.next_page()
    assert _names(table) == ["r05", "r06", "r07", "r08", "r09"] and table.page == 2
    table.next_page()
    assert _names(table) == ["r10", "r11"] and not table.has_next
    table.next_page()  # nothing beyond the last page
    assert table.page == 3
    table.previous_page()
    assert _names(table) == ["r05", "r06", "r07", "r08", "r09"]
    table.previous_page()
    table.previous_page()
    assert table.page == 1 and _names(table)[0] == "r00"
    assert "runs 1–5" in table.caption


def test_runs_table_sorts_by_a_clicked_column_through_the_store(twelve_runs):
    table = mlp.runs_table("tbl", page_size=5)
    fields = [c["field"] for c in table.columns]
    assert fields == ["name", "experiment", "status", "user", "start_time", "duration",
                      "params.depth", "metrics.loss"]
    table._on_msg(table, {"type": "sort", "field": "metrics.loss"}, [])
    assert table.order_by == "metrics.loss"
    assert [r["cells"]["metrics.loss"] for r in table.rows] == ["0", "0.1", "0.2", "0.3", "0.4"]
    table.next_page()
    table._on_msg(table, {"type": "sort", "field": "metrics.loss"}, [])  # again: descending
    assert table.order_by == "-metrics.loss" and table.page == 1
    assert table.rows[0]["cells"]["metrics.loss"] == "1.1"


def test_runs_table_filters_and_shows_a_bad_query_with_its_position(twelve_runs):
    table = mlp.runs_table("tbl", order_by="name", page_size=5)
    table._on_msg(table, {"type": "filter", "where": "params.depth = 2"}, [])
    assert _names(table) == ["r02", "r05", "r08", "r11"] and table.error == {}
    table.filter("params.depth = and name = 'x'")
    err = table.error
    assert err["position"] == 15 and err["query"] == "params.depth = and name = 'x'"
    assert "expected a value" in err["message"] and table.rows == []
    html = table._repr_mimebundle_()[0]["text/html"]
    assert "expected a value" in html and "^" in html and "Traceback" not in html
    table.filter("")
    assert table.error == {} and len(table.rows) == 5


def test_runs_table_answers_every_request_even_one_that_changes_nothing(twelve_runs, client,
                                                                        monkeypatch):
    # The view shows itself busy until its request is answered: a request that changes no
    # synced trait (the same page again, the same bad query, the store away) must still be.
    table = mlp.runs_table("tbl", page_size=5)
    sent = _record_messages(table)

    def ask(content):
        before = len(sent)
        table._on_msg(table, content, [])
        return sent[before:]

    assert _custom(ask({"type": "refresh", "id": "v-1"})) == [{"type": "done", "id": "v-1"}]
    ask({"type": "filter", "where": "metrics.loss <", "id": "v-2"})
    again = ask({"type": "filter", "where": "metrics.loss <", "id": "v-3"})
    assert _custom(again) == [{"type": "done", "id": "v-3"}]
    assert "expected a value" in table.error["message"]

    def away(*args, **kwargs):
        raise ConnectionError("server away")

    search = client.transport.search_runs
    monkeypatch.setattr(client.transport, "search_runs", away)
    table.filter("")
    assert table.error["message"] == "could not query the runs: ConnectionError: server away"
    out = ask({"type": "refresh", "id": "v-4"})  # raises nothing, answers
    assert _custom(out) == [{"type": "done", "id": "v-4"}]
    assert "ConnectionError: server away" in table.to_html() and table.rows == []
    monkeypatch.setattr(client.transport, "search_runs", search)
    ask({"type": "refresh"})
    assert table.error == {} and len(table.rows) == 5


def test_runs_table_fallback_is_the_current_page_as_html(twelve_runs):
    table = mlp.runs_table(["tbl"], where="metrics.loss >= 1", order_by=["-name"])
    bundle = table._repr_mimebundle_()[0]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert html.count("<tr>") == 1 + 2  # the header, r05 (1.1) and r10 (1.0)
    assert html.index("r10") < html.index("r05")
    assert "where metrics.loss &gt;= 1" in html and "<th style='text-align:left'>loss</th>" in html


def test_widgets_are_only_offered_inside_a_kernel():
    from mlp import widgets

    assert widgets.available() is False  # pytest is no Jupyter kernel


# -- the chart's drawing logic (chart.js, run by node) -----------------------------------

CHART_JS = Path(chart_module.__file__).parent / "static" / "chart.js"


def _node(tmp_path, body: str, timeout: float = 20):
    """Run ``body`` (an ES module that imports chart.js's exports as ``c`` and prints JSON)
    with node; its output, parsed. A loop that never ends fails by the timeout."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("the chart.js tests need node")
        pytest.skip("the chart.js tests need node")
    (tmp_path / "chart.mjs").write_text(CHART_JS.read_text())
    (tmp_path / "test.mjs").write_text('import * as c from "./chart.mjs";\n' + body)
    try:
        proc = subprocess.run([node, str(tmp_path / "test.mjs")], capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"chart.js did not return within {timeout} s")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_chart_ticks_end_for_any_range_a_few_rounding_errors_wide(tmp_path):
    out = _node(tmp_path, """
const cases = [[0.3, 0.1 + 0.2], [0.001 - 1e-19, 0.001 + 3e-19], [0, 1], [-5, 1e6],
  [1.7e18, 1.7e18 + 4096], [1, 1], [2, 1], [NaN, 1], [-Infinity, Infinity], [0, 5e-324]];
for (let i = 0; i < 2000; i++) {  // a few ulps either side of values of every magnitude
  const v = (Math.random() - 0.5) * 10 ** (Math.random() * 40 - 20);
  cases.push([v, v + Math.abs(v) * 2 ** -52 * Math.floor(Math.random() * 8)]);
}
const out = {};
for (const n of [2, 5, 14]) {
  out[n] = cases.map(([lo, hi]) => c.ticks(lo, hi, n)).map((t) => [t.length,
    t.every((v, i) => i === 0 || v > t[i - 1])]);
}
out.unit = c.ticks(0, 1, 5);
console.log(JSON.stringify(out));
""")
    assert out["unit"] == [0, 0.2, 0.4, 0.6, 0.8, 1]
    for n in (2, 5, 14):
        assert all(1 <= length <= 2 * n + 2 and ascending for length, ascending in out[str(n)])


def test_chart_range_of_a_constant_metric_is_padded_whatever_the_smoothing(tmp_path):
    out = _node(tmp_path, """
const out = [];
for (const v of [0.001, 0.1, 3e-4, 0.5, 1, 64, 0, -2, 1e15]) {
  for (const w of [0, 0.3, 0.6, 0.9, 0.99]) {
    const ys = new Array(500).fill(v), all = ys.concat(c.smooth(ys, w));
    const [y0, y1] = c.yRange(Math.min(...all), Math.max(...all));
    out.push([v, y0, y1, c.ticks(y0, y1, 5).length]);
  }
}
console.log(JSON.stringify(out));
""")
    for v, y0, y1, n in out:
        pad = abs(v) * 0.05 or 1
        assert y0 < v < y1 and y1 - y0 >= 2 * pad and 2 <= n <= 12, (v, y0, y1, n)


def test_chart_zoom_keeps_a_drawable_width_however_often_repeated(tmp_path):
    out = _node(tmp_path, """
const out = [];
for (const [x0, x1] of [[0, 1000], [1.7e18, 1.7e18 + 1e6], [-50, 50]]) {
  let z = [x0, x1];
  for (let i = 0; i < 200; i++) {  // drag across the middle tenth, again and again
    const w = z[1] - z[0];
    z = c.atLeast(z[0] + 0.45 * w, z[0] + 0.55 * w, 2);
  }
  out.push([z[1] - z[0], c.ticks(z[0], z[1], 7).length]);
}
out.push(c.atLeast(5, 5, 2), c.atLeast(0, 100, 2));
console.log(JSON.stringify(out));
""")
    *zooms, one_step, wide = out
    for width, n in zooms:
        assert width >= 2 and 1 <= n <= 16
    assert one_step == [4, 6] and wide == [0, 100]


def test_chart_smooths_the_bucket_means_not_the_kept_extremes(client, tmp_path):
    # Each bucket keeps its first, last, lowest and highest point: smoothing those tracks
    # the middle of each bucket's range (0.745 here), not the mean of the values (0.600).
    rng = np.random.default_rng(1)
    values = 0.5 + rng.exponential(0.1, 100_000)  # a noisy loss with spikes, mean 0.6
    with mlp.start_run(experiment="live", name="noisy", capture=False):
        for step, v in enumerate(values.tolist()):
            mlp.log_metric("loss", v, step=step)
    chart = mlp.live_chart("live/noisy", max_points=400)
    (tmp_path / "series.json").write_text(json.dumps(chart.series["loss"]))
    out = _node(tmp_path, """
import { readFileSync } from "node:fs";
const s = JSON.parse(readFileSync(new URL("./series.json", import.meta.url)));
const out = {};
for (const w of [0.6, 0.9]) {
  const l = c.lineOf(s, w, (y) => y);
  const tail = l.sy.filter((_, i) => l.sx[i] > 90000);
  out[w] = [tail.reduce((a, b) => a + b) / tail.length, l.smooth.length, l.sx.length];
}
out.plain = c.lineOf(s, 0, (y) => y).smooth;
console.log(JSON.stringify(out));
""")
    truth = values[90_000:].mean()
    for w in ("0.6", "0.9"):
        mean, n_smooth, n_x = out[w]
        assert abs(mean - truth) < 0.005 and n_smooth == n_x <= 100
    assert out["plain"] is None  # no smoothing: the points alone


def test_chart_says_from_which_step_a_metric_is_nan(client, tmp_path):
    with mlp.start_run(experiment="live", name="nan", capture=False):
        for step in range(20):
            mlp.log_metrics({"loss": float("nan") if step >= 12 else 1 / (step + 1),
                             "grad": float("inf")}, step=step)
    chart = mlp.live_chart("live/nan")
    loss, grad = chart.series["loss"], chart.series["grad"]
    assert loss["nonfinite"] == {"count": 8, "step": 12, "value": "NaN"} and len(loss["x"]) == 12
    assert grad["nonfinite"] == {"count": 20, "step": 0, "value": "inf"} and grad["x"] == []
    html = chart.to_html()
    assert "NaN since step 12" in html and "inf since step 0" in html
    assert html.count("<polyline") == 1
    (tmp_path / "series.json").write_text(json.dumps(chart.series))
    out = _node(tmp_path, """
import { readFileSync } from "node:fs";
const s = JSON.parse(readFileSync(new URL("./series.json", import.meta.url)));
console.log(JSON.stringify([c.nonfiniteNote(s.loss), c.lineOf(s.grad, 0.5, (y) => y).note,
  c.nonfiniteNote({ x: [1], y: [1] })]));
""")
    assert out == ["NaN since step 12", "inf since step 0", ""]
