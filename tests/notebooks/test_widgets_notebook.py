"""Widgets and magics in a notebook executed by nbclient (as papermill and nbconvert do): the
saved notebook shows the final chart as static HTML, and its size does not grow with the
points; a failing ``%%mlp track`` cell stops the run."""

from __future__ import annotations

import json
import re

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("anywidget")

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _execute(tmp_path, monkeypatch, points: int):
    """Run ``%%mlp track`` logging ``points`` points of two metrics; (notebook, bytes on disk)."""
    tmp_path.mkdir()
    monkeypatch.setenv("MLP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                  "display_name": "Python 3"}})
    nb.cells = [
        v4.new_code_cell("%load_ext mlp"),
        v4.new_code_cell(f"%%mlp track -e nb -n p{points}\n"
                         "import mlp\n"
                         f"for step in range({points}):\n"
                         "    mlp.log_metric('loss', 1 / (step + 1), step=step)\n"
                         f"    mlp.log_metric('acc', step / {points}, step=step)\n"),
        v4.new_code_cell("%mlp runs -e nb"),
    ]
    nbclient.NotebookClient(nb, kernel_name="python3", timeout=180,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = tmp_path / f"p{points}.ipynb"
    nbformat.write(nb, path)
    return nb, path.stat().st_size


def _displays(cell) -> list[dict]:
    return [o["data"] for o in cell.outputs if o.output_type in ("display_data",
                                                                 "execute_result")]


@pytest.mark.slow
def test_executed_notebook_keeps_the_final_chart_and_a_bounded_size(tmp_path, monkeypatch):
    small, small_size = _execute(tmp_path / "small", monkeypatch, 2_000)
    big, big_size = _execute(tmp_path / "big", monkeypatch, 200_000)

    (chart,) = [d for d in _displays(big.cells[1]) if WIDGET_VIEW in d]
    html = chart["text/html"]
    assert "<svg" in html and html.count("<polyline") == 2
    assert "finished" in html and "400,000 points" in html
    assert "finished" in chart["text/plain"]

    (table,) = [d for d in _displays(big.cells[2]) if WIDGET_VIEW in d]
    assert "p200000" in table["text/html"] and "<table>" in table["text/html"]

    # The widgets' saved state holds the downsampled series, not every point.
    states = big.metadata["widgets"][WIDGET_STATE]["state"]
    series = [s["state"]["series"] for s in states.values() if "series" in s["state"]]
    assert series and all(len(v["x"]) <= 2000 and v["n"] == 200_000 for v in series[-1].values())

    # 100 times the points, about the same notebook.
    assert big_size < small_size * 1.25 + 10_000, (small_size, big_size)
    assert big_size < 1_000_000
    assert len(json.dumps(big.cells[1].outputs)) < 200_000


def test_a_failing_track_cell_stops_the_notebook_and_shows_its_traceback_once(tmp_path,
                                                                             monkeypatch):
    import mlp
    import mlp._client

    monkeypatch.setenv("MLP_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    v4 = nbformat.v4
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "language": "python",
                                                  "display_name": "Python 3"}})
    nb.cells = [
        v4.new_code_cell("%load_ext mlp"),
        v4.new_code_cell("%%mlp track -e nb -n diverged\n"
                         "import mlp\n"
                         "mlp.log_metric('loss', 1.0, step=0)\n"
                         "raise ValueError('the loss diverged')\n"),
        v4.new_code_cell("print('after the failure')"),
    ]
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=120,
                                     resources={"metadata": {"path": str(tmp_path)}})
    with pytest.raises(nbclient.exceptions.CellExecutionError) as e:
        client.execute()
    assert e.value.ename == "TrackedCellError"
    assert "mlp: nb/diverged" in str(e.value) and "failed: ValueError: the loss diverged" in str(
        e.value)

    errors = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    tracebacks = re.sub(r"\x1b\[[\d;]*m", "", "\n".join("\n".join(o.traceback) for o in errors))
    assert tracebacks.count("ValueError: the loss diverged") == 1
    assert tracebacks.count("Traceback (most recent call last)") == 1
    assert [o.ename for o in errors] == ["ValueError", "TrackedCellError"]
    assert nb.cells[2].outputs == []  # not run

    mlp._client.reset()
    run = mlp.get_run("nb/diverged")
    assert run.status == "failed" and "ValueError: the loss diverged" in run.status_reason
