"""The compare widget: it shows what ``mlp.diff`` returns, follows a live run until none is,
keeps static HTML of the diff for saved notebooks; ``%mlp compare`` makes it; compare.js's
pure functions (run by node)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time

import pytest
import test_magics
from compare_fixture import three_runs, two_runs

import mlp
from mlp.errors import InvalidInput, NotFound

pytest.importorskip("anywidget")

from mlp.widgets import comparison as compare_module  # noqa: E402
from mlp.widgets.comparison import CompareWidget  # noqa: E402


class _Diff:
    def __init__(self, data: dict) -> None:
        self.data = data


class FakeDiff:
    """``mlp.diff`` answering from a list of diffs (the last one again and again), recording
    each call; an exception in the list is raised instead."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[tuple, dict]] = []
        self.lock = threading.Lock()

    def __call__(self, *refs, **kw):
        with self.lock:
            self.calls.append((refs, kw))
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return _Diff(answer)


@pytest.fixture
def fake(monkeypatch):
    """Install a FakeDiff as ``mlp.diff``: ``fake(*answers)``."""
    def install(*answers):
        f = FakeDiff(*answers)
        monkeypatch.setattr(mlp, "diff", f, raising=False)
        return f

    return install


@pytest.fixture
def fast(monkeypatch):
    monkeypatch.setattr(compare_module, "REFRESH_INTERVAL", 0.05)


def _wait_for(predicate, timeout: float) -> None:
    t0 = time.monotonic()
    while not predicate():
        assert time.monotonic() - t0 < timeout, f"not within {timeout} s"
        time.sleep(0.01)


# -- the widget ----------------------------------------------------------------------------


def test_the_widgets_traits_hold_the_diff_it_was_given(fake):
    f = fake(two_runs())
    w = mlp.widgets.compare("demo/baseline", "@latest")
    assert w.data == two_runs() and w.error == "" and not w.live
    assert f.calls == [(("demo/baseline", "@latest"),
                        {"only_changed": True, "at": "last", "max_points": 500})]
    assert [p["key"] for p in w.data["params"]] == ["lr", "optimizer.beta1"]
    assert w._thread is None  # nothing live: nothing to follow
    w.close()


def test_only_changed_and_at_are_passed_through_to_mlp_diff(fake):
    f = fake(three_runs())
    w = mlp.widgets.compare("a", "b", "c", only_changed=False, at="best:val_loss",
                            max_points=100)
    assert f.calls[0] == (("a", "b", "c"), {"only_changed": False, "at": "best:val_loss",
                                            "max_points": 100})
    assert (w.only_changed, w.at) == (False, "best:val_loss")
    w.close()


def test_the_view_asking_for_unchanged_rows_or_another_step_fetches_again(fake):
    f = fake(two_runs(), two_runs(only_changed=False))
    w = mlp.widgets.compare("a", "b")
    w.only_changed = False  # as the view's "show unchanged" box sets it
    assert f.calls[-1][1]["only_changed"] is False
    assert "batch_size" in [p["key"] for p in w.data["params"]]
    w.at = "300"
    assert f.calls[-1][1] == {"only_changed": False, "at": "300", "max_points": 500}
    w.close()


def test_a_live_diff_is_fetched_again_until_no_run_is_live(fake, fast):
    f = fake(two_runs(live=True), two_runs(live=True), two_runs(live=True), two_runs())
    w = mlp.widgets.compare("a", "@latest")
    assert w.live and w.data["runs"][1]["status"] == "running"
    _wait_for(lambda: not w.live, 2.0)
    assert w.data["runs"][1]["status"] == "finished"
    w._thread.join(1.0)
    assert not w._thread.is_alive()
    calls = len(f.calls)
    time.sleep(0.3)
    assert len(f.calls) == calls == 4  # stopped once no run was live
    w.close()


def test_the_refetching_is_throttled(fake, monkeypatch):
    monkeypatch.setattr(compare_module, "REFRESH_INTERVAL", 0.2)
    f = fake(two_runs(live=True))
    w = mlp.widgets.compare("a", "b")
    time.sleep(0.9)
    w.close()
    assert 3 <= len(f.calls) <= 6  # the first fetch, then one per interval


def test_a_slow_diff_is_asked_for_less_often(fake, fast, monkeypatch):
    f = fake(two_runs(live=True))
    slow = f.__call__

    def answer(*refs, **kw):
        time.sleep(0.1)  # twice the interval
        return slow(*refs, **kw)

    monkeypatch.setattr(mlp, "diff", answer)
    w = mlp.widgets.compare("a", "b")
    time.sleep(1.6)
    w.close()
    # The first fetch, then one per 0.1 s fetch and 0.4 s wait: 3 or 4, not 10 or more.
    assert 3 <= len(f.calls) <= 5, len(f.calls)


def test_closing_a_live_widget_stops_the_refetching(fake, fast):
    f = fake(two_runs(live=True))
    w = mlp.widgets.compare("a", "b")
    _wait_for(lambda: len(f.calls) >= 3, 2.0)
    w.close()
    w._thread.join(1.0)
    assert not w._thread.is_alive()
    calls = len(f.calls)
    time.sleep(0.2)
    assert len(f.calls) == calls


def test_a_failing_refetch_is_shown_and_the_widget_gives_up_after_a_few(fake, fast):
    f = fake(two_runs(live=True), mlp.errors.StoreUnavailable("the store is away"))
    w = mlp.widgets.compare("a", "b")
    _wait_for(lambda: not w._thread.is_alive(), 2.0)
    assert len(f.calls) == 1 + compare_module.MAX_FAILURES
    assert w.error.startswith("stopped updating after 5 failed attempts: the store is away")
    assert w.data == two_runs(live=True)  # the last diff stays
    assert "the store is away" in w.to_html()
    w.close()


def test_a_refused_first_fetch_raises_and_leaves_no_widget_open(fake):
    fake(NotFound("no run matches 'nope'"))
    with pytest.raises(NotFound, match="no run matches 'nope'"):
        mlp.widgets.compare("a", "nope")


def test_a_diff_of_another_schema_says_to_update(fake):
    fake({**two_runs(), "schema": "mlp.diff/2"})
    with pytest.raises(mlp.errors.MLPError, match="schema mlp.diff/1, got 'mlp.diff/2'"):
        mlp.widgets.compare("a", "b")


# -- the static fallback -------------------------------------------------------------------


def test_static_html_shows_the_summary_the_changed_param_and_the_code_diff(fake):
    fake(two_runs())
    bundle, _ = mlp.widgets.compare("a", "b")._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert "lr 0.01 → 0.003" in html and "1 cell changed, 1 moved, 1 added" in html
    assert "<td style='padding:2px 8px;text-align:left;vertical-align:top'>lr</td>" in html
    assert "0.01" in html and "0.003" in html
    assert ">-lr = 0.01</div>" in html and ">+lr = 0.003</div>" in html
    assert "cell 3 [4] moved to cell 2 [3]" in html and ">+evaluate(model)</div>" in html
    assert "numpy" in html and "2.0.1" in html and "removed" in html
    assert html.count("<polyline") == 4  # two metrics, two runs
    assert "&lt;lower lr&gt;" in html and "<lower lr>" not in html  # values are escaped
    assert "<script" not in html
    assert bundle["text/plain"].startswith("<Compare baseline ↔ lr-003: lr 0.01 → 0.003;")


def test_static_html_of_three_runs_shows_values_side_by_side_and_what_varies(fake):
    fake(three_runs())
    html = mlp.widgets.compare("a", "b", "c").to_html()
    assert "what varies" in html and "lr-001" in html
    assert html.index(">what varies</h4>") < html.index(">params <span")
    assert "+lr = 0.001" in html  # the script diff of run 2
    assert "Δ" not in html  # no deltas between three runs
    assert html.count("<polyline") == 2  # the run without points draws none


def test_static_curves_are_few_and_thinned_however_many_points(fake, monkeypatch):
    d = two_runs()
    n = 500
    curve = {"step": list(range(n)), "time": [s / 10 for s in range(n)],
             "value": [1 / (s + 1) for s in range(n)]}
    d["curves"]["series"] = {f"m{i}": [curve, curve] for i in range(6)}
    d["metrics"] = [{**d["metrics"][0], "key": f"m{i}", "score": i / 10} for i in range(6)]
    fake(d)
    html = mlp.widgets.compare("a", "b").to_html()
    assert html.count("<svg") == compare_module.STATIC_CURVES
    assert "2 more metric curves in the live widget" in html
    assert "<title>m5</title>" not in html and ">m5</b>" in html  # highest score first
    polyline = html[html.index("points='"):]
    assert polyline[:polyline.index("'>")].count(",") <= compare_module.STATIC_POINTS


# -- with the real engine ------------------------------------------------------------------


def test_compare_of_two_real_runs_shows_the_changed_param(client):
    for name, lr in (("a", 0.01), ("b", 0.003)):
        with mlp.start_run(experiment="cmp", name=name, params={"lr": lr, "depth": 3},
                           capture=False):
            for step in range(20):
                mlp.log_metric("loss", lr / (step + 1), step=step)
    w = mlp.widgets.compare("cmp/a", "cmp/b")
    assert [r["label"] for r in w.data["runs"]] == ["a", "b"] and not w.live
    (lr,) = [p for p in w.data["params"] if p["key"] == "lr"]
    assert lr["status"] == "changed" and "depth" not in [p["key"] for p in w.data["params"]]
    assert len(w.data["curves"]["series"]["loss"][0]["step"]) == 20
    assert "lr" in w.to_html()
    w.close()


def test_compare_follows_a_real_running_run_until_it_ends(client, fast):
    with mlp.start_run(experiment="cmp", name="done", params={"lr": 0.1}, capture=False):
        mlp.log_metric("loss", 1.0, step=0)
    run = mlp.start_run(experiment="cmp", name="going", params={"lr": 0.2}, capture=False)
    run.log_metric("loss", 0.5, step=0)
    mlp.flush()
    w = mlp.widgets.compare("cmp/done", "cmp/going")
    assert w.live and w.data["runs"][1]["status"] == "running"
    for step in range(1, 5):
        run.log_metric("loss", 0.5 / (step + 1), step=step)
    mlp.flush()
    _wait_for(lambda: w.data["metrics"][0]["runs"][1]["count"] == 5, 2.0)
    run.end()
    _wait_for(lambda: not w.live, 2.0)
    assert w.data["runs"][1]["status"] == "finished"
    w._thread.join(1.0)
    assert not w._thread.is_alive() and w.error == ""
    w.close()


# -- %mlp compare --------------------------------------------------------------------------


ip = test_magics.ip  # the shell with %load_ext mlp, as test_magics drives it


@pytest.fixture
def kernel(monkeypatch):
    """Widgets on, as in a Jupyter kernel."""
    from mlp import widgets

    monkeypatch.setattr(widgets, "available", lambda: True)


def test_magic_compare_makes_the_widget_with_its_options(ip, kernel, fake):
    f = fake(two_runs())
    w = ip.run_line_magic("mlp", "compare @latest~1 @latest")
    assert isinstance(w, CompareWidget) and w.data == two_runs()
    assert f.calls[-1] == (("@latest~1", "@latest"),
                           {"only_changed": True, "at": "last", "max_points": 500})
    w = ip.run_line_magic("mlp", "compare demo/a demo/b demo/c --all --at best:val_loss")
    assert f.calls[-1] == (("demo/a", "demo/b", "demo/c"),
                           {"only_changed": False, "at": "best:val_loss", "max_points": 500})
    ip.run_line_magic("mlp", "compare a b --at 300")
    assert f.calls[-1][1]["at"] == "300"


def test_once_no_run_is_live_the_shown_html_becomes_the_final_diffs(ip, kernel, fake, fast,
                                                                     monkeypatch):
    from IPython.core.displaypub import CapturingDisplayPublisher

    pub = CapturingDisplayPublisher()
    monkeypatch.setattr(ip, "display_pub", pub)
    fake(two_runs(live=True), two_runs(live=True), two_runs())
    ip.run_cell("%mlp compare a b")
    w = ip.user_ns["_"]
    assert isinstance(w, CompareWidget) and " · live" in pub.outputs[0]["data"]["text/html"]
    _wait_for(lambda: not w.live, 2.0)
    ip.run_cell("1 + 1")  # the update comes after a cell, in the kernel's thread
    first, final = pub.outputs
    assert final["update"] and first["transient"] == final["transient"]
    assert " · live" not in final["data"]["text/html"]
    assert "lr-003</b> <span style='color:var(--jp-ui-font-color2, #666)'>(finished)" in \
        final["data"]["text/html"]
    ip.run_cell("2 + 2")
    assert len(pub.outputs) == 2  # once


def test_magic_compare_outside_a_kernel_returns_the_diff(ip, fake):
    f = fake(two_runs())
    d = ip.run_line_magic("mlp", "compare a b --all")
    assert d.data == two_runs() and f.calls[-1][1]["only_changed"] is False


@pytest.mark.parametrize(("line", "expected"), [
    ("compare", "the following arguments are required: RUN, RUN"),
    ("compare onlyone", "the following arguments are required: RUN"),
    ("compare a b --at", "argument --at: expected one argument"),
    ("compare a b --bogus", "unrecognized arguments: --bogus"),
])
def test_magic_compare_bad_arguments_print_the_usage_never_a_traceback(ip, kernel, capsys, line,
                                                                       expected):
    assert ip.run_line_magic("mlp", line) is None
    err = capsys.readouterr().err
    assert expected in err and "usage: %mlp" in err and "Traceback" not in err


@pytest.mark.parametrize(("answer", "expected"), [
    (NotFound("no run matches 'nope'"), "mlp: no run matches 'nope'"),
    (InvalidInput("at must be 'last', 'best:METRIC' (e.g. best:val_loss) or a step number, "
                  "got 'worst'", field="at"), "mlp: at must be 'last'"),
])
def test_magic_compare_refusals_are_one_line(ip, kernel, fake, capsys, answer, expected):
    fake(answer)
    assert ip.run_line_magic("mlp", "compare a nope --at worst") is None
    err = capsys.readouterr().err
    assert err.startswith(expected) and err.count("\n") == 1


def test_magic_compare_of_unknown_runs_with_the_real_engine_says_which(ip, kernel, capsys):
    with mlp.start_run(experiment="cmp", name="a", capture=False):
        pass
    assert ip.run_line_magic("mlp", "compare cmp/a cmp/nope") is None
    err = capsys.readouterr().err
    assert "nope" in err and "Traceback" not in err and err.count("\n") == 1


def test_magic_compare_has_help(ip, capsys):
    ip.run_line_magic("mlp", "compare --help")
    out = capsys.readouterr().out
    assert "--all" in out and "--at last|best:KEY|STEP" in out and "@latest~1 @latest" in out
    ip.run_line_magic("mlp", "--help")
    assert "compare" in capsys.readouterr().out


# -- compare.js's pure functions, run by node ------------------------------------------------


def _node(tmp_path, body: str, data: dict | None = None, timeout: float = 20):
    """Run ``body`` (an ES module importing the widget's joined module as ``c``, with the
    diff ``data`` as ``DATA``) with node; its output, parsed."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("the compare.js tests need node")
        pytest.skip("the compare.js tests need node")
    (tmp_path / "compare.mjs").write_text(compare_module._joined_esm())
    (tmp_path / "test.mjs").write_text(
        'import * as c from "./compare.mjs";\n'
        f"const DATA = {json.dumps(data or {})};\n" + body)
    proc = subprocess.run([node, str(tmp_path / "test.mjs")], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_curves_align_by_step_or_by_time_and_smooth_in_the_browser(tmp_path):
    out = _node(tmp_path, """
const byStep = c.curveLines(DATA, "val_loss", "step", 0);
const byTime = c.curveLines(DATA, "val_loss", "time", 0.9);
console.log(JSON.stringify({
  step: byStep.map((l) => l && [l.label, l.color, l.xs.slice(0, 3), l.sy]),
  time: byTime.map((l) => l && [l.xs.slice(0, 3), l.sy.length, l.sy[l.sy.length - 1]]),
  raw: byTime.map((l) => l && l.ys[l.ys.length - 1]),
  none: c.curveLines(DATA, "nope", "step", 0),
  first: c.defaultMetric(DATA),
}));
""", three_runs())
    assert out["step"][0] == ["baseline", "#1f77b4", [0, 10, 20], None]
    assert out["step"][1] is None and out["step"][2][1] == "#2ca02c"  # colours stay the run's
    assert out["time"][0][0] == [0, 2, 4] and out["time"][2][0] == [0, 3, 6]
    # Smoothed (debiased EMA) values of a decreasing curve stay above its last raw value.
    assert out["time"][0][1] == 20 and out["time"][0][2] > out["raw"][0]
    assert out["none"] == [None, None, None] and out["first"] == "val_loss"


def test_diff_lines_and_cells_are_classified_for_colouring(tmp_path):
    out = _node(tmp_path, """
const ops = DATA.code.pairs[0].ops;
console.log(JSON.stringify({
  kinds: ["+a", "-b", " c", "@@ -1 +1 @@", ""].map(c.lineKind),
  titles: ops.map(c.cellTitle),
  lines: ops.map(c.opLines),
  counts: c.countsText(DATA.counts.code),
  at: [c.atText(DATA.at), c.atText({ mode: "best", key: "val_loss" }),
    c.atText({ mode: "step", step: 300 })],
  choices: c.atChoices(DATA, "300"),
  values: [c.valueText(null), c.valueText(0.0030000001), c.valueText(95.5, "duration"),
    c.valueText(32), c.valueText({ a: 1 }), c.signed(-0.04), c.signed("NaN")],
  artifact: c.artifactText(DATA.artifacts[0].values[1]),
}));
""", two_runs())
    assert out["kinds"] == ["add", "del", "ctx", "hunk", "ctx"]
    assert out["titles"] == ["cell 0 [1] changed", "cell 1 [2] changed",
                             "cell 3 [4] moved to cell 2 [3]", "cell 3 [4] added"]
    assert out["lines"][1] == ["-lr = 0.01", "+lr = 0.003", " model = fit(lr)"]
    assert out["lines"][2] == [" plot(history)"] and out["lines"][3] == ["+evaluate(model)"]
    assert out["counts"] == "1 changed · 1 added · 1 moved"
    assert out["at"] == ["metrics at the last step", "metrics at each run's best val_loss",
                         "metrics at step 300"]
    assert out["choices"] == ["last", "best:acc", "best:val_loss", "300"]
    assert out["values"] == ["—", "0.003", "1m35s", "32", '{"a":1}', "-0.04", "NaN"]
    assert out["artifact"] == "2222222222 · 4,096 B"
