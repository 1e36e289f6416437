"""The run diff (issue #5): one engine, reached the way users reach it — through the
in-process transport and through the REST route (``GET /mlp/api/v1/diff``), on SQLite and
PostgreSQL. The document is the one described in the README (schema mlp.diff/1)."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from mlp._diff import Diff
from mlp.errors import InvalidInput, NotFound
from mlp.transport import MetricBatch


def log(t, run_id, key, values, steps=None, start=1_700_000_000.0):
    values = np.asarray(values, dtype=float)
    steps = np.arange(len(values)) if steps is None else np.asarray(steps)
    t.log_metrics([MetricBatch(run_id, key, steps, start + np.arange(len(values)) * 0.5, values)])


def cells(*sources):
    return {"type": "notebook", "path": "train.ipynb", "truncated": False,
            "cells": [{"execution_count": i + 1, "source": s} for i, s in enumerate(sources)]}


def two_runs(t, exp_b="exp"):
    a = t.create_run("exp", "base", start_time=1_700_000_000)
    b = t.create_run(exp_b, "tuned", start_time=1_700_000_100)
    t.log_params(a["id"], {"lr": 0.01, "depth": 6, "optimizer": {"name": "adam", "beta1": 0.9},
                           "layers": [64, 32], "old": "x"})
    t.log_params(b["id"], {"lr": 0.003, "depth": 6, "optimizer": {"name": "adam", "beta1": 0.95},
                           "layers": [64, 32], "new": True})
    t.put_capture(a["id"], "code", cells("import numpy", "lr = 0.01", "train()", "plot()"))
    t.put_capture(b["id"], "code", cells("import numpy", "plot()", "lr = 0.003", "train()"))
    t.put_capture(a["id"], "environment", {"python": "3.11.7", "packages": {
        "numpy": "1.26.4", "pandas": "2.2.0", "torch": "2.1.0"}})
    t.put_capture(b["id"], "environment", {"python": "3.11.7", "packages": {
        "numpy": "2.0.1", "pandas": "2.2.0", "scikit-learn": "1.5.0"}})
    t.put_capture(a["id"], "git", {"commit": "a" * 40, "branch": "main", "dirty": False})
    t.put_capture(b["id"], "git", {"commit": "b" * 40, "branch": "main", "dirty": True})
    log(t, a["id"], "val_loss", [1.0, 0.6, 0.5, 0.55, 0.58])
    log(t, b["id"], "val_loss", [1.0, 0.5, 0.46, 0.44, 0.47, 0.49])
    log(t, a["id"], "acc", [0.5, 0.7, 0.8, 0.82, 0.81])
    log(t, b["id"], "acc", [0.5, 0.72, 0.84, 0.85, 0.86, math.nan])
    t.set_tags(a["id"], {"team": "ads"})
    t.set_tags(b["id"], {"team": "search"})
    t.end_run(a["id"], "finished")
    t.end_run(b["id"], "finished")
    return a, b


def test_params_show_changed_added_removed_and_nested_keys(transport):
    a, b = two_runs(transport)
    d = Diff(transport.diff([a["id"], b["id"]]))
    rows = {r["key"]: r for r in d.params}
    assert rows["lr"]["status"] == "changed" and rows["lr"]["values"] == ["0.01", "0.003"]
    assert rows["optimizer.beta1"]["values"] == ["0.9", "0.95"]
    assert rows["new"]["status"] == "added" and rows["old"]["status"] == "removed"
    assert "depth" not in rows and "optimizer.name" not in rows and "layers" not in rows
    assert d.data["counts"]["params"] == {"changed": 2, "added": 1, "removed": 1, "same": 3,
                                          "moved": 0}
    every = Diff(transport.diff([a["id"], b["id"]], only_changed=False))
    assert {r["key"]: r["status"] for r in every.params}["depth"] == "same"
    assert "lr 0.01 → 0.003" in d.summary


def test_metrics_at_last_best_and_a_step_with_deltas(transport):
    a, b = two_runs(transport)
    d = Diff(transport.diff([a["id"], b["id"]], at="best:val_loss"))
    vl = d.metric("val_loss")
    assert vl["direction"] == "min"
    assert [r["best"] for r in vl["runs"]] == [0.5, 0.44]
    assert [r["best_step"] for r in vl["runs"]] == [2, 3]
    assert d.data["at"]["steps"] == [2, 3]
    assert vl["delta"]["at"] == pytest.approx(-0.06) and vl["better"] == 1
    acc = d.metric("acc")  # read at each run's best val_loss step
    assert [r["at"] for r in acc["runs"]] == [0.8, 0.85]
    assert acc["direction"] == "max" and acc["runs"][1]["nonfinite"] == 1
    assert acc["runs"][1]["last"] != acc["runs"][1]["last"]  # NaN kept as the last value
    assert acc["runs"][1]["max"] == 0.86 and acc["runs"][1]["best"] == 0.86
    assert any("val_loss better by 0.06 at its best step" in s for s in d.summary)
    last = Diff(transport.diff([a["id"], b["id"]]))
    assert [r["at_step"] for r in last.metric("val_loss")["runs"]] == [4, 5]
    at2 = Diff(transport.diff([a["id"], b["id"]], at=2))
    assert [r["at"] for r in at2.metric("val_loss")["runs"]] == [0.5, 0.46]
    assert Diff(transport.diff([a["id"], b["id"]], at="10")).metric("val_loss")["runs"][0][
        "at_step"] == 4  # the last point at or before the step
    curve = d.curves["val_loss"]
    assert curve[1]["step"] == [0, 1, 2, 3, 4, 5] and curve[1]["time"][1] == pytest.approx(
        1_700_000_000.5 - 1_700_000_100)


def test_code_is_diffed_cell_by_cell_with_moves(transport):
    a, b = two_runs(transport)
    d = Diff(transport.diff([a["id"], b["id"]]))
    pair = d.code["pairs"][0]
    ops = [(op["op"], op["a"], op["b"]) for op in pair["ops"]]
    assert ("moved", 3, 1) in ops  # plot() moved up
    changed = [op for op in pair["ops"] if op["op"] == "changed"]
    assert len(changed) == 1 and changed[0]["diff"][-2:] == ["-lr = 0.01", "+lr = 0.003"]
    assert changed[0]["a_count"] == 2 and changed[0]["b_count"] == 3
    assert (pair["changed"], pair["moved"], pair["same"]) == (1, 1, 2)
    assert "1 cell changed, 1 cell moved" in d.summary
    assert "~ cell [3] changed" in d.code_text()


def test_scripts_are_diffed_line_by_line(transport):
    a = transport.create_run("exp", "s1")
    b = transport.create_run("exp", "s2")
    transport.put_capture(a["id"], "code", {"type": "script", "source": "x = 1\ny = 2\nprint(x)\n"})
    transport.put_capture(b["id"], "code", {"type": "script", "source": "x = 1\ny = 3\nprint(x)\n"})
    d = Diff(transport.diff([a["id"], b["id"]]))
    assert d.code["kinds"] == ["script", "script"]
    assert "-y = 2" in d.code["pairs"][0]["script_diff"]
    assert "+y = 3" in d.code_text()


def test_environment_and_artifacts(transport, tmp_path):
    a, b = two_runs(transport)
    for name, run, text in (("same.txt", a, "s"), ("same.txt", b, "s"), ("model.bin", a, "v1"),
                            ("model.bin", b, "v2"), ("only_a.txt", a, "a"),
                            ("only_b.txt", b, "b")):
        f = tmp_path / run["id"] / name
        f.parent.mkdir(exist_ok=True)
        f.write_text(text)
        transport.log_artifact(run["id"], f)
    d = Diff(transport.diff([a["id"], b["id"]]))
    pk = {r["key"]: (r["status"], r["values"]) for r in d.environment["packages"]}
    assert pk == {"numpy": ("changed", ["1.26.4", "2.0.1"]),
                  "scikit-learn": ("added", [None, "1.5.0"]),
                  "torch": ("removed", ["2.1.0", None])}
    git = {r["key"]: r["values"] for r in d.environment["git"]}
    assert git == {"commit": ["a" * 40, "b" * 40], "dirty": [False, True]}
    assert d.environment["python"]["status"] == "same"
    arts = {r["path"]: r["status"] for r in d.artifacts}
    assert arts == {"model.bin": "changed", "only_a.txt": "removed", "only_b.txt": "added"}
    assert "numpy 1.26.4 → 2.0.1" in d.summary


def test_no_common_metric_and_a_running_run(transport):
    a = transport.create_run("exp", "a")
    b = transport.create_run("other", "b")  # still running
    log(transport, a["id"], "loss", [0.5, 0.4])
    log(transport, b["id"], "acc", [0.9])
    transport.end_run(a["id"], "finished")
    d = Diff(transport.diff([a["id"], b["id"]]))
    assert d.live and d.runs[1]["status"] == "running"
    m = {r["key"]: r for r in d.metrics}
    assert m["loss"]["status"] == "removed" and m["loss"]["runs"][1] is None
    assert m["acc"]["status"] == "added" and m["acc"]["delta"]["at"] is None
    assert d.curves["loss"][1] is None
    assert {r["key"] for r in d.attributes} >= {"experiment", "status"}


def test_fifty_runs_across_experiments_rank_what_varies(transport):
    ids = []
    for i in range(50):
        r = transport.create_run(f"exp{i % 3}", f"r{i}", start_time=1_700_000_000 + i)
        transport.log_params(r["id"], {"lr": 0.1 / (i + 1), "depth": 6,
                                       "model": "xgb" if i % 2 else "lgbm"})
        log(transport, r["id"], "loss", [1.0, 0.5 + i / 1000])
        ids.append(r["id"])
    t = time.perf_counter()
    d = Diff(transport.diff(ids))
    assert time.perf_counter() - t < 30  # a sanity bound; bench/compare.py measures
    assert len(d.runs) == 50 and len(d.labels) == 50
    keys = [(v["section"], v["key"]) for v in d.varying]
    assert ("params", "lr") in keys and ("params", "depth") not in keys
    assert keys.index(("params", "lr")) < keys.index(("metrics", "loss"))
    assert len(d.code["pairs"]) == 49
    assert any(s.startswith("lr varies:") for s in d.summary)
    frame = d.to_frame()
    assert list(frame.columns[:2]) == ["r0", "r1"] and "delta" not in frame.columns
    assert frame.loc[("params", "lr"), "r0"] == "0.1"


def test_two_frame_has_delta_and_runs_as_columns(transport):
    a, b = two_runs(transport)
    f = Diff(transport.diff([a["id"], b["id"]])).to_frame()
    assert list(f.columns) == ["base", "tuned", "status", "score", "delta"]
    assert f.loc[("metrics", "val_loss"), "delta"] == pytest.approx(0.49 - 0.58)
    assert f.loc[("params", "lr"), "tuned"] == "0.003"


@pytest.mark.parametrize(("kwargs", "field", "match"), [
    ({"refs": ["only-one"]}, "run", "at least two runs"),
    ({"at": "best"}, "at", "best:METRIC"),
    ({"at": "best:nope"}, "at", "no run here has the metric 'nope'"),
    ({"at": "first"}, "at", "step number"),
    ({"max_points": 3}, "max_points", "16 to 10000"),
])
def test_bad_diff_arguments_name_what_to_fix(transport, kwargs, field, match):
    a, b = two_runs(transport)
    kwargs = dict(kwargs)  # the parametrized dict is shared by every transport
    refs = kwargs.pop("refs", [a["id"], b["id"]])
    with pytest.raises(InvalidInput, match=match) as e:
        transport.diff(refs, **kwargs)
    assert e.value.field == field


def test_the_same_run_twice_or_an_unknown_run_is_refused(transport):
    a, _ = two_runs(transport)
    with pytest.raises(InvalidInput, match="same run"):
        transport.diff([a["id"], "exp/base"])
    with pytest.raises(NotFound):
        transport.diff([a["id"], "f" * 32])


def test_a_run_without_captures_is_named_not_counted_as_removed(transport):
    a = transport.create_run("exp", "with")
    b = transport.create_run("exp", "without", captures=None)
    transport.put_capture(a["id"], "code", cells("import numpy", "train()"))
    transport.put_capture(a["id"], "environment", {"python": "3.11.7",
                                                   "packages": {"numpy": "2.0.1"}})
    d = Diff(transport.diff([a["id"], b["id"]]))
    pair = d.code["pairs"][0]
    assert pair["missing"] == [1] and pair["ops"] == [] and pair["removed"] == 0
    assert "without captured no code" in d.summary
    assert d.environment["missing"] == [1] and d.environment["packages"] == []
    assert not [s for s in d.summary if "numpy" in s or "python" in s]
