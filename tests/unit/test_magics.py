"""%mlp magics driven through a real IPython InteractiveShell."""

from __future__ import annotations

import re
import sys

import pytest

import mlp


@pytest.fixture
def ip(client, tmp_path, monkeypatch):
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "mlp")
    yield shell
    InteractiveShell.clear_instance()


def test_track_runs_the_cell_as_a_finished_run_with_its_code(ip, capsys):
    ip.run_cell("%%mlp track --experiment demo --name baseline --tags team=ads lr=0.1\n"
                "import mlp\n"
                "for step in range(100):\n"
                "    mlp.log_metric('loss', 1 / (step + 1), step=step)\n", store_history=True)
    run = mlp.get_run("demo/baseline")
    assert run.status == "finished" and run.tags == {"team": "ads", "lr": "0.1"}
    assert len(run.metric_history("loss")) == 100
    assert "demo/baseline" in capsys.readouterr().out
    sources = [c["source"] for c in run.code["cells"]]
    assert any("mlp.log_metric('loss'" in s for s in sources)


def test_track_marks_a_failing_cell_failed_and_an_interrupted_one_killed(ip, capsys):
    from mlp.magics import TrackedCellError

    bad = ip.run_cell("%%mlp track --name bad\nraise ValueError('boom')")
    stopped = ip.run_cell("%%mlp track --name stopped\nraise KeyboardInterrupt")
    assert mlp.get_run("Default/bad").status == "failed"
    assert "ValueError: boom" in mlp.get_run("Default/bad").status_reason
    assert mlp.get_run("Default/stopped").status == "killed"
    assert mlp.active_run() is None
    # The cell fails as its body did (so Run All, nbclient and papermill stop there), and
    # an interrupt stays an interrupt...
    assert not bad.success and isinstance(bad.error_in_exec, TrackedCellError)
    assert isinstance(bad.error_in_exec.__cause__, ValueError)
    assert not stopped.success and isinstance(stopped.error_in_exec, KeyboardInterrupt)
    # ... with the body's traceback shown once.
    shown = capsys.readouterr()
    out = re.sub(r"\x1b\[[\d;]*m", "", shown.out + shown.err)  # no colours
    assert out.count("Traceback (most recent call last)") == 2
    assert out.count("\nValueError: boom") == 1 and out.count("\nKeyboardInterrupt: ") == 1
    assert "TrackedCell" not in out


def test_track_of_a_cell_that_does_not_compile_fails_it(ip, capsys):
    res = ip.run_cell("%%mlp track --name syntax\nfor x in\n")
    assert not res.success and mlp.get_run("Default/syntax").status == "failed"
    assert "SyntaxError" in mlp.get_run("Default/syntax").status_reason


def test_debug_after_a_failed_track_cell_reaches_the_cells_frames(ip, capsys):
    ip.run_cell("%%mlp track --name dbg\n"
                "def f():\n    secret = 42\n    raise ValueError(secret)\nf()")
    tb = sys.last_traceback
    while tb.tb_next is not None:
        tb = tb.tb_next
    assert tb.tb_frame.f_locals.get("secret") == 42


def test_run_end_takes_the_final_status(ip):
    ip.run_line_magic("mlp", "run start -e spans -n stopped")
    ip.run_line_magic("mlp", "run end --status killed")
    assert mlp.get_run("spans/stopped").status == "killed"


def test_run_start_and_end_span_cells(ip, capsys):
    ip.run_line_magic("mlp", "run start -e spans -n long")
    ip.run_line_magic("mlp", "log lr=0.01 optimizer=adam")
    ip.run_line_magic("mlp", "log --metrics --step 3 acc=0.9")
    ip.run_line_magic("mlp", "run end")
    run = mlp.get_run("spans/long")
    assert run.status == "finished"
    assert run.params == {"lr": "0.01", "optimizer": "adam"} and run.metrics == {"acc": 0.9}
    assert "started spans/long" in capsys.readouterr().out


def test_runs_returns_the_search_frame_and_show_displays_a_run(ip, capsys):
    for name, loss in (("a", 0.05), ("b", 0.5)):
        with mlp.start_run(experiment="q", name=name):
            mlp.log_metric("loss", loss)
    df = ip.run_line_magic("mlp", 'runs -e q --where "metrics.loss < 0.1"')
    assert list(df["name"]) == ["a"]
    ip.run_line_magic("mlp", "show @latest")
    assert "<Run q/b" in capsys.readouterr().out


def test_status_says_where_runs_go(ip, capsys):
    ip.run_line_magic("mlp", "status")
    out = capsys.readouterr().out
    assert "transport      in-process" in out and "active run     -" in out


@pytest.mark.parametrize(("line", "expected"), [
    ("bogus", "invalid choice: 'bogus'"),
    ("runs --limit abc", "invalid int value: 'abc'"),
    ("runs --where 'metrics.loss <'", "expected a value"),
    ("show nope", "no run matches 'nope'"),
    ("log lr", "'lr' is not KEY=VALUE"),
    ("run end", "no active run to end"),
    ("track", "%%mlp track goes on the first line of a cell"),
    ('runs --where "unclosed', "check the quotes"),
])
def test_bad_input_prints_a_message_never_a_traceback(ip, capsys, line, expected):
    assert ip.run_line_magic("mlp", line) is None
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err


def test_help_lists_commands_and_each_command_has_its_own(ip, capsys):
    ip.run_line_magic("mlp", "--help")
    out = capsys.readouterr().out
    for cmd in ("status", "run", "track", "log", "runs", "show"):
        assert cmd in out
    ip.run_line_magic("mlp", "runs --help")
    assert "--where" in capsys.readouterr().out


# -- widgets (as in a kernel that can show them) --------------------------------------------


@pytest.fixture
def shown(ip, monkeypatch):
    """Widgets on, as in a Jupyter kernel; returns what the cells display."""
    pytest.importorskip("anywidget")
    from IPython.core.displaypub import CapturingDisplayPublisher

    from mlp import widgets

    monkeypatch.setattr(widgets, "available", lambda: True)
    pub = CapturingDisplayPublisher()
    monkeypatch.setattr(ip, "display_pub", pub)
    return pub.outputs


def _chart_outputs(outputs):
    """(first display, final update) of the live chart, which share a display id."""
    first, final = outputs
    assert first["transient"]["display_id"] == final["transient"]["display_id"]
    assert not first["update"] and final["update"]
    assert "application/vnd.jupyter.widget-view+json" in final["data"]
    return first["data"], final["data"]


def test_track_shows_a_live_chart_that_ends_with_the_final_curve(ip, shown):
    ip.run_cell("%%mlp track -e demo -n charted\n"
                "import mlp\n"
                "for step in range(500):\n"
                "    mlp.log_metric('loss', 1 / (step + 1), step=step)\n")
    first, final = _chart_outputs(shown)
    assert "no points yet" in first["text/html"]
    assert "<polyline" in final["text/html"] and "500 points" in final["text/html"]
    assert "finished" in final["text/plain"]


def test_a_failing_track_cell_still_ends_its_chart(ip, shown):
    res = ip.run_cell("%%mlp track -e demo -n crashed\n"
                      "import mlp\n"
                      "mlp.log_metric('loss', 1.0, step=0)\n"
                      "raise ValueError('diverged')\n")
    assert not res.success
    _, final = _chart_outputs(shown)
    assert "1 points" in final["text/html"] and "failed" in final["text/plain"]


def test_run_start_shows_a_chart_that_follows_the_run_across_cells(ip, shown, capsys):
    ip.run_cell("%mlp run start -e spans -n charted")
    ip.run_cell("import mlp\nfor s in range(50):\n    mlp.log_metric('acc', s / 50, step=s)")
    assert len(shown) == 1  # updated only once the run has ended
    ip.run_cell("%mlp run end")
    _, final = _chart_outputs(shown)
    assert "50 points" in final["text/html"] and "finished" in final["text/plain"]


def test_no_chart_shows_none(ip, shown):
    ip.run_cell("%%mlp track --no-chart\nimport mlp\nmlp.log_metric('loss', 1.0)\n")
    ip.run_cell("%mlp run start --no-chart")
    ip.run_cell("%mlp run end")
    assert shown == [] and mlp.get_run("@latest").status == "finished"


def test_runs_shows_the_table_in_a_kernel_and_the_frame_when_asked(ip, shown):
    from mlp.widgets.table import RunsTable

    for name in ("a", "b", "c"):
        with mlp.start_run(experiment="q", name=name, capture=False):
            mlp.log_metric("loss", 0.1)
    table = ip.run_line_magic("mlp", "runs -e q --order-by name --limit 2")
    assert isinstance(table, RunsTable)
    assert [r["cells"]["name"] for r in table.rows] == ["a", "b"] and table.has_next
    df = ip.run_line_magic("mlp", "runs -e q --frame")
    assert sorted(df["name"]) == ["a", "b", "c"]
