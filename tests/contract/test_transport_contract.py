"""The transport contract: what every transport must do, on every store backend.

The ``transport`` fixture yields each transport over SQLite and PostgreSQL;
the HTTP transport joins it in the Jupyter-faces issue.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
import uuid

import numpy as np
import pytest

from mlp.errors import Conflict, InvalidInput, NotFound, QueryError
from mlp.transport import MetricBatch
from mlp_server.store.engine import SCHEMA_REVISION


def batch(run_id, key, values, steps=None, times=None):
    values = np.asarray(values, dtype=float)
    steps = np.arange(len(values)) if steps is None else np.asarray(steps)
    times = np.full(len(values), time.time()) if times is None else np.asarray(times, float)
    return MetricBatch(run_id, key, steps, times, values)


def new_run(t, experiment="exp", name=None, **kw):
    return t.create_run(experiment, name, **kw)


# -- runs -------------------------------------------------------------------------


def test_create_run_with_the_same_id_twice_returns_the_same_run(transport):
    rid = uuid.uuid4().hex
    a = new_run(transport, run_id=rid, name="once")
    b = new_run(transport, run_id=rid, name="once")
    assert a["id"] == b["id"] == rid
    assert len(transport.search_runs("exp")["runs"]) == 1


def test_runs_get_default_names_and_start_running(transport):
    a, b = new_run(transport), new_run(transport)
    assert (a["name"], b["name"]) == ("run-1", "run-2")
    assert a["status"] == "running" and a["experiment"] == "exp"


def test_end_run_sets_a_final_status_and_rejects_unknown_ones(transport):
    r = new_run(transport)
    with pytest.raises(InvalidInput, match="'done' is not a final status"):
        transport.end_run(r["id"], "done")
    ended = transport.end_run(r["id"], "failed", reason="boom")
    assert ended["status"] == "failed" and ended["end_time"] >= ended["start_time"]
    assert transport.get_run(r["id"])["status_reason"] == "boom"


def test_child_runs_link_to_their_parent(transport):
    parent = new_run(transport, name="sweep")
    kids = [new_run(transport, name=f"trial-{i}", parent_id=parent["id"]) for i in range(3)]
    got = transport.get_run(parent["id"])
    assert got["children"] == [k["id"] for k in kids]
    assert transport.get_run(kids[0]["id"])["parent_id"] == parent["id"]
    with pytest.raises(NotFound, match="parent run"):
        new_run(transport, parent_id="f" * 32)


def test_deleted_runs_leave_searches_until_restored(transport):
    r = new_run(transport, name="gone")
    transport.delete_run(r["id"])
    assert transport.search_runs("exp")["runs"] == []
    assert [x["id"] for x in transport.search_runs("exp", deleted_only=True)["runs"]] == [r["id"]]
    with pytest.raises(InvalidInput, match="deleted"):
        transport.log_params(r["id"], {"a": 1})
    transport.restore_run(r["id"])
    assert [x["id"] for x in transport.search_runs("exp")["runs"]] == [r["id"]]


def test_a_deleted_run_is_found_by_name_only_when_asked_for(transport):
    r = new_run(transport, name="gone")
    transport.delete_run(r["id"])
    assert transport.resolve_run("exp/gone", include_deleted=True) == r["id"]
    with pytest.raises(NotFound):
        transport.resolve_run("exp/gone")
    transport.restore_run("exp/gone")  # by name, as mlp.restore_run("exp/gone") does
    assert transport.resolve_run("exp/gone") == r["id"]


def test_run_references_resolve_by_id_prefix_name_and_latest(transport):
    a = new_run(transport, "churn", "baseline")
    time.sleep(0.01)
    b = new_run(transport, "churn", "tuned")
    assert transport.resolve_run(a["id"]) == a["id"]
    assert transport.resolve_run(a["id"][:10]) == a["id"]
    assert transport.resolve_run("churn/baseline") == a["id"]
    assert transport.resolve_run("@latest") == b["id"]
    assert transport.resolve_run("@latest~1") == a["id"]
    with pytest.raises(NotFound, match="no run named 'nope' in experiment 'churn'"):
        transport.resolve_run("churn/nope")
    with pytest.raises(NotFound):
        transport.resolve_run("@latest~5")


def test_a_run_whose_process_is_gone_is_marked_crashed(transport):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    import socket

    r = new_run(transport, host=socket.gethostname(), pid=proc.pid, pid_started=time.time() - 5)
    got = transport.get_run(r["id"])
    assert got["status"] == "crashed"
    assert f"process {proc.pid}" in got["status_reason"]


# -- params and tags --------------------------------------------------------------


def test_nested_params_flatten_to_dotted_keys(transport):
    r = new_run(transport)
    transport.log_params(r["id"], {"lr": 0.1, "depth": 6,
                                   "optimizer": {"name": "adam", "beta1": 0.9}})
    assert transport.get_run(r["id"])["params"] == {
        "lr": "0.1", "depth": "6", "optimizer.name": "adam", "optimizer.beta1": "0.9"}


def test_relogging_a_param_with_another_value_is_an_error_naming_it(transport):
    r = new_run(transport)
    transport.log_params(r["id"], {"lr": 0.1, "opt": {"name": "adam"}})
    transport.log_params(r["id"], {"lr": 0.1})  # the same value again is fine
    with pytest.raises(Conflict, match="'opt.name' is already 'adam'.*'sgd'") as e:
        transport.log_params(r["id"], {"batch": 32, "opt": {"name": "sgd"}})
    assert e.value.field == "opt.name"
    # Nothing of the refused call was stored, nothing before it was lost.
    assert transport.get_run(r["id"])["params"] == {"lr": "0.1", "opt.name": "adam"}


def test_tags_can_change_and_be_deleted(transport):
    r = new_run(transport, tags={"team": "ads"})
    transport.set_tags(r["id"], {"team": "search", "stage": "dev"})
    assert transport.get_run(r["id"])["tags"] == {"team": "search", "stage": "dev"}
    transport.delete_tag(r["id"], "stage")
    assert transport.get_run(r["id"])["tags"] == {"team": "search"}


def test_logging_to_an_unknown_run_is_not_found(transport):
    with pytest.raises(NotFound):
        transport.log_params("0" * 32, {"a": 1})
    with pytest.raises(NotFound):
        transport.log_metrics([batch("0" * 32, "loss", [1.0])])


# -- metrics --------------------------------------------------------------------


def test_nan_and_infinities_round_trip_exactly(transport):
    r = new_run(transport)
    vals = [1.0, math.nan, math.inf, -math.inf, -0.0, 5e-324]
    transport.log_metrics([batch(r["id"], "weird", vals)])
    got = transport.metric_history(r["id"], "weird")["value"]
    assert got.tobytes() == np.array(vals).tobytes()
    m = transport.get_run(r["id"])["metrics"]["weird"]
    assert m["min"] == -math.inf and m["max"] == math.inf and m["count"] == 6
    assert m["last"] == 5e-324


def test_a_nan_last_value_reads_back_as_nan(transport):
    r = new_run(transport)
    transport.log_metrics([batch(r["id"], "loss", [0.5, math.nan])])
    assert math.isnan(transport.get_run(r["id"])["metrics"]["loss"]["last"])
    assert math.isnan(transport.search_runs("exp")["runs"][0]["metrics"]["loss"])


def test_many_small_batches_and_a_large_one_read_back_in_step_order(transport):
    r = new_run(transport)
    for i in range(50):  # 50 flushes of 7 points
        transport.log_metrics([batch(r["id"], "loss", np.arange(7) + 7 * i,
                                     steps=np.arange(7) + 7 * i)])
    transport.log_metrics([batch(r["id"], "loss", np.arange(350, 20_350),
                                 steps=np.arange(350, 20_350))])
    h = transport.metric_history(r["id"], "loss")
    assert len(h["step"]) == 20_350
    assert (h["step"] == np.arange(20_350)).all() and (h["value"] == np.arange(20_350)).all()


def test_points_logged_out_of_order_come_back_sorted_by_step(transport):
    r = new_run(transport)
    transport.log_metrics([batch(r["id"], "acc", [0.3, 0.1, 0.2], steps=[3, 1, 2])])
    h = transport.metric_history(r["id"], "acc")
    assert list(h["step"]) == [1, 2, 3] and list(h["value"]) == [0.1, 0.2, 0.3]
    assert transport.get_run(r["id"])["metrics"]["acc"]["last"] == 0.3


def test_last_value_is_the_one_at_the_highest_step(transport):
    r = new_run(transport)
    transport.log_metrics([batch(r["id"], "acc", [0.9], steps=[10])])
    transport.log_metrics([batch(r["id"], "acc", [0.1], steps=[5])])
    m = transport.get_run(r["id"])["metrics"]["acc"]
    assert (m["last"], m["step"], m["min"], m["max"], m["count"]) == (0.9, 10, 0.1, 0.9, 2)


def test_a_batch_sent_twice_is_stored_once(transport):
    """A retry whose first reply was lost, or a spool replayed after a crash, adds nothing."""
    r = new_run(transport)
    first = [batch(r["id"], "loss", [1.0, 2.0], steps=[0, 1])]
    transport.log_metrics(first, batch_id="b" * 32)
    transport.log_metrics(first, batch_id="b" * 32)
    transport.log_metrics([batch(r["id"], "loss", [3.0], steps=[2])], batch_id="c" * 32)
    transport.log_metrics([batch(r["id"], "loss", [4.0], steps=[3])])  # no id: always stored
    assert list(transport.metric_history(r["id"], "loss")["value"]) == [1.0, 2.0, 3.0, 4.0]
    assert transport.get_run(r["id"])["metrics"]["loss"]["count"] == 4
    with pytest.raises(InvalidInput, match="batch id"):
        transport.log_metrics(first, batch_id="x" * 65)


def test_a_metric_name_that_is_not_text_is_refused_not_a_server_error(transport):
    r = new_run(transport)
    with pytest.raises(InvalidInput, match="not valid text"):
        transport.log_metrics([batch(r["id"], "bad\ud800", [1.0])])


def test_series_are_downsampled_keeping_extremes_ends_and_counting_nonfinite(transport):
    r = new_run(transport)
    n = 100_000
    vals = np.sin(np.arange(n) / 1000.0)
    vals[31_337], vals[77_777] = 40.0, -40.0
    vals[5], vals[6] = math.nan, math.inf
    transport.log_metrics([batch(r["id"], "loss", vals, steps=np.arange(n),
                                 times=1e9 + np.arange(n) / 10)])
    transport.log_metrics([batch(r["id"], "acc", [0.5, 0.7], steps=[0, 1])])
    out = transport.metric_series(r["id"], ["loss", "acc"], max_points=400)
    loss, acc = out["series"]
    assert out["x"] == "step" and loss["key"] == "loss" and acc["key"] == "acc"
    assert len(loss["x"]) <= 400 and loss["downsampled"] and loss["count"] == n
    assert loss["nonfinite"] == 2 and loss["max"] == 40.0 and loss["min"] == -40.0
    assert 40.0 in loss["y"] and -40.0 in loss["y"]
    assert loss["x"][0] == 0 and loss["x"][-1] == n - 1 and loss["x"] == sorted(loss["x"])
    assert (acc["x"], acc["y"], acc["downsampled"]) == ([0, 1], [0.5, 0.7], False)
    # A zoomed range comes back in full detail once it is small enough.
    zoom = transport.metric_series(r["id"], ["loss"], max_points=400, start=31_300,
                                   end=31_399)["series"][0]
    assert zoom["count"] == 100 and zoom["x"] == list(range(31_300, 31_400))
    by_time = transport.metric_series(r["id"], ["loss"], x="time", max_points=400)
    assert by_time["x"] == "time" and by_time["series"][0]["x"][0] == 1e9


def test_series_refuse_bad_arguments_by_name(transport):
    r = new_run(transport)
    transport.log_metrics([batch(r["id"], "loss", [1.0])])
    with pytest.raises(InvalidInput, match="x must be"):
        transport.metric_series(r["id"], ["loss"], x="epoch")
    with pytest.raises(InvalidInput, match="max_points"):
        transport.metric_series(r["id"], ["loss"], max_points=3)
    with pytest.raises(NotFound, match="no metric 'acc'"):
        transport.metric_series(r["id"], ["acc"])


def test_keys_in_use_per_experiment(transport):
    a = new_run(transport, "ka", params={"lr": 0.1}, tags={"team": "ads"})
    b = new_run(transport, "kb", params={"depth": 3})
    transport.log_metrics([batch(a["id"], "loss", [1.0]), batch(b["id"], "acc", [1.0])])
    assert transport.keys("ka") == {"metrics": ["loss"], "params": ["lr"], "tags": ["team"]}
    both = transport.keys()
    assert both["metrics"] == ["acc", "loss"] and both["params"] == ["depth", "lr"]
    transport.delete_run(b["id"])
    assert transport.keys(["ka", "kb"])["metrics"] == ["loss"]


def test_history_of_an_unknown_metric_names_the_known_ones(transport):
    r = new_run(transport)
    transport.log_metrics([batch(r["id"], "loss", [1.0])])
    with pytest.raises(NotFound, match="no metric 'acc'; it has loss"):
        transport.metric_history(r["id"], "acc")


# -- artifacts ------------------------------------------------------------------


def test_artifacts_files_and_folders_are_stored_by_content(transport, tmp_path):
    r1, r2 = new_run(transport), new_run(transport)
    f = tmp_path / "model.bin"
    f.write_bytes(b"weights" * 1000)
    d = tmp_path / "plots"
    (d / "sub").mkdir(parents=True)
    (d / "roc.png").write_bytes(b"png")
    (d / "sub" / "pr.png").write_bytes(b"png2")
    a1 = transport.log_artifact(r1["id"], f)
    a2 = transport.log_artifact(r2["id"], f, "checkpoints/model.bin")
    assert a1[0]["digest"] == a2[0]["digest"] and a1[0]["size"] == 7000
    transport.log_artifact(r1["id"], d)
    paths = [a["path"] for a in transport.list_artifacts(r1["id"])]
    assert paths == ["model.bin", "plots/roc.png", "plots/sub/pr.png"]
    out = transport.download_artifacts(r1["id"], "plots", tmp_path / "dl")
    assert (out / "sub" / "pr.png").read_bytes() == b"png2"
    one = transport.download_artifacts(r2["id"], "checkpoints/model.bin", tmp_path / "dl2")
    assert one.read_bytes() == f.read_bytes()


@pytest.mark.parametrize("bad", ["../escape.txt", "a/../../b", "/etc/passwd", "..", ""])
def test_artifact_paths_that_escape_the_run_are_refused(transport, tmp_path, bad):
    r = new_run(transport)
    f = tmp_path / "x.txt"
    f.write_text("x")
    with pytest.raises(InvalidInput, match="artifact path"):
        transport.log_artifact(r["id"], f, bad)
    assert transport.list_artifacts(r["id"]) == []


def test_missing_artifact_source_is_a_clear_error(transport, tmp_path):
    r = new_run(transport)
    with pytest.raises(InvalidInput, match="does not exist"):
        transport.log_artifact(r["id"], tmp_path / "nope.png")


# -- captures -------------------------------------------------------------------


def test_captures_round_trip_and_replace(transport):
    r = new_run(transport)
    transport.put_capture(r["id"], "code", {"type": "script", "source": "print(1)"})
    transport.put_capture(r["id"], "code", {"type": "script", "source": "print(2)"})
    assert transport.get_capture(r["id"], "code")["source"] == "print(2)"
    assert transport.get_capture(r["id"], "git") is None
    with pytest.raises(InvalidInput, match="capture kind"):
        transport.put_capture(r["id"], "secrets", {})


# -- search ---------------------------------------------------------------------


@pytest.fixture
def grid(transport):
    """Nine runs in two experiments with params, metrics and tags to search."""
    ids = {}
    for i in range(9):
        exp = "demo" if i < 6 else "other"
        r = transport.create_run(exp, f"r{i}", tags={"team": "ads" if i % 3 == 0 else "search"},
                                 start_time=1_700_000_000 + i)
        transport.log_params(r["id"], {"depth": i % 4 + 3, "model": "xgb" if i % 2 else "lgbm",
                                       "lr": 0.1 / (i + 1)})
        if i != 4:
            transport.log_metrics([batch(r["id"], "loss", [1.0, 1.0 / (i + 1)])])
        ids[f"r{i}"] = r["id"]
    return ids


def names(page):
    return [r["name"] for r in page["runs"]]


@pytest.mark.parametrize(("where", "expected"), [
    ("metrics.loss < 0.2", ["r8", "r7", "r6", "r5"]),
    ("metrics.loss <= 0.2", ["r8", "r7", "r6", "r5"]),
    ("metrics.loss >= 0.5", ["r1", "r0"]),
    ("metrics.loss = 1", ["r0"]),
    ("metrics.loss != 1", ["r8", "r7", "r6", "r5", "r3", "r2", "r1"]),
    ("params.depth = 6", ["r7", "r3"]),
    ("params.depth > 4", ["r7", "r6", "r3", "r2"]),
    ("params.model = 'xgb'", ["r7", "r5", "r3", "r1"]),
    ("params.model like 'XG%'", ["r7", "r5", "r3", "r1"]),
    ("params.model not like 'xg%'", ["r8", "r6", "r4", "r2", "r0"]),
    ("tags.team = 'ads'", ["r6", "r3", "r0"]),
    ("tags.team in ('ads', 'nobody')", ["r6", "r3", "r0"]),
    ("name in ('r1', 'r2')", ["r2", "r1"]),
    ("metrics.loss is null", ["r4"]),
    ("not metrics.loss < 0.5", ["r4", "r1", "r0"]),
    ("metrics.loss < 0.5 and (params.depth = 6 or tags.team = 'ads')", ["r7", "r6", "r3"]),
    ("experiment = 'other' or name = 'r0'", ["r8", "r7", "r6", "r0"]),
    ("start_time >= 1700000007", ["r8", "r7"]),
    ("start_time < '2023-11-14T22:13:22Z'", ["r1", "r0"]),
    ("status = 'running' and params.lr < 0.03", ["r8", "r7", "r6", "r5", "r4", "r3"]),
])
def test_query_language_operators(transport, grid, where, expected):
    assert names(transport.search_runs(None, where, limit=None)) == expected


def test_search_within_experiments_and_order_by_metrics_with_missing_last(transport, grid):
    page = transport.search_runs("demo", order_by="-metrics.loss", limit=None)
    assert names(page) == ["r0", "r1", "r2", "r3", "r5", "r4"]
    page = transport.search_runs(["demo", "other"], order_by=["params.depth", "name"],
                                 limit=None)
    assert names(page)[:3] == ["r0", "r4", "r8"]
    with pytest.raises(NotFound, match="no experiment named 'nope'"):
        transport.search_runs("nope")


def test_search_pages_with_a_cursor(transport, grid):
    first = transport.search_runs(None, order_by="name", limit=4)
    assert names(first) == ["r0", "r1", "r2", "r3"] and first["next_cursor"]
    second = transport.search_runs(None, order_by="name", limit=4, cursor=first["next_cursor"])
    third = transport.search_runs(None, order_by="name", limit=4, cursor=second["next_cursor"])
    assert names(second) == ["r4", "r5", "r6", "r7"] and names(third) == ["r8"]
    assert third["next_cursor"] is None
    with pytest.raises(InvalidInput, match="another query"):
        transport.search_runs(None, order_by="-name", limit=4, cursor=first["next_cursor"])


def test_search_rows_carry_params_metrics_and_tags(transport, grid):
    row = transport.search_runs(None, "name = 'r3'")["runs"][0]
    assert row["params"] == {"depth": "6", "model": "xgb", "lr": "0.025"}
    assert row["metrics"] == {"loss": 0.25} and row["tags"] == {"team": "ads"}
    assert row["experiment"] == "demo" and row["status"] == "running"


def test_a_malformed_query_points_at_the_problem(transport, grid):
    with pytest.raises(QueryError) as e:
        transport.search_runs(None, "metrics.loss < 0.5 and (params.depth = ")
    assert e.value.position == 39
    assert "metrics.loss < 0.5 and (params.depth = \n" in str(e.value)
    with pytest.raises(QueryError, match="unknown field 'colour'"):
        transport.search_runs(None, "colour = 'red'")
    with pytest.raises(QueryError, match="order_by|expected"):
        transport.search_runs(None, order_by="metrics.loss sideways")


def test_experiments_list_counts_runs(transport, grid):
    exps = {e["name"]: e["runs"] for e in transport.list_experiments()}
    assert exps == {"demo": 6, "other": 3}


def test_info_names_the_transport_and_store(transport):
    info = transport.info()
    assert info["transport"] and info["version"] and info["schema"] == SCHEMA_REVISION
    assert "password" not in info["store"]
    assert os.sep in info["artifact_root"] or "://" in info["artifact_root"]


def test_concurrent_first_runs_of_a_new_experiment_all_succeed(transport):
    import threading

    errors: list[BaseException] = []

    def start():
        try:
            transport.create_run("brand-new")
        except BaseException as e:  # noqa: BLE001 - the test reports any failure
            errors.append(e)

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(transport.search_runs("brand-new", limit=None)["runs"]) == 8


def test_boolean_params_match_bare_true_and_false(transport):
    on, off = new_run(transport, name="on"), new_run(transport, name="off")
    transport.log_params(on["id"], {"augment": True})
    transport.log_params(off["id"], {"augment": False})
    assert names(transport.search_runs(None, "params.augment = true")) == ["on"]
    assert names(transport.search_runs(None, "params.augment != true")) == ["off"]


def test_not_on_an_attribute_keeps_runs_where_it_is_missing(transport):
    parent = new_run(transport, name="parent")
    new_run(transport, name="child", parent_id=parent["id"])
    assert names(transport.search_runs(None, f"not parent_id = '{parent['id']}'")) == ["parent"]


def all_pages(transport, **kw):
    out, cursor = [], None
    while True:
        page = transport.search_runs(cursor=cursor, **kw)
        out += names(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return out


@pytest.mark.parametrize("limit", [1, 2, 3, 50])
def test_pages_by_metric_cover_every_run_once_with_missing_values_last(transport, limit):
    values = {"a": 0.5, "b": 0.9, "c": math.nan, "d": 0.1, "e": None, "f": 0.9, "g": None}
    for i, (name, v) in enumerate(values.items()):
        r = transport.create_run("m", name, start_time=1_700_000_000 + i)
        if v is not None:
            transport.log_metrics([batch(r["id"], "acc", [v])])
    got = all_pages(transport, experiment="m", order_by="-metrics.acc", limit=limit)
    assert got[:4] in (["b", "f", "a", "d"], ["f", "b", "a", "d"])
    assert got[4:] == ["g", "e", "c"]  # no value (or NaN): newest first
    asc = all_pages(transport, experiment="m", order_by="metrics.acc", limit=limit)
    assert asc[:2] == ["d", "a"] and sorted(asc[2:4]) == ["b", "f"]


def test_a_run_started_between_pages_is_not_repeated_or_skipped(transport):
    for i in range(5):
        transport.create_run("k", f"r{i}", start_time=1_700_000_000 + i)
    first = transport.search_runs("k", limit=2)
    assert names(first) == ["r4", "r3"]
    transport.create_run("k", "late", start_time=1_800_000_000)
    second = transport.search_runs("k", limit=2, cursor=first["next_cursor"])
    third = transport.search_runs("k", limit=2, cursor=second["next_cursor"])
    assert names(second) + names(third) == ["r2", "r1", "r0"]


def test_pages_by_param_and_filtered_metric_order(transport, grid):
    by_depth = all_pages(transport, order_by=["params.depth", "name"], limit=2)
    assert by_depth == names(transport.search_runs(order_by=["params.depth", "name"], limit=None))
    assert sorted(by_depth) == sorted(grid)
    filtered = all_pages(transport, where="params.model = 'xgb'", order_by="metrics.loss",
                         limit=1)
    assert filtered == ["r7", "r5", "r3", "r1"]


def test_text_attributes_compare_with_text_only(transport):
    with pytest.raises(QueryError, match="name is text"):
        transport.search_runs(None, "name = 5")
    with pytest.raises(QueryError, match="status is text"):
        transport.search_runs(None, "status in ('running', 1)")


@pytest.mark.parametrize(("kw", "field"), [({"where": 123}, "where"),
                                           ({"experiment": 5}, "experiment"),
                                           ({"order_by": 7}, "order_by"),
                                           ({"limit": 0}, "limit"),
                                           ({"cursor": "garbage!"}, "cursor")])
def test_bad_search_arguments_name_the_argument(transport, kw, field):
    with pytest.raises(InvalidInput) as e:
        transport.search_runs(**kw)
    assert e.value.field == field


def test_params_given_at_creation_are_all_or_nothing(transport):
    with pytest.raises(InvalidInput, match="param 'blob' is 7000 characters"):
        new_run(transport, name="refused", params={"lr": 0.1, "blob": "x" * 7000})
    assert transport.search_runs(None, limit=None)["runs"] == []
    r = new_run(transport, name="ok", params={"lr": 0.1, "opt": {"name": "adam"}})
    assert transport.get_run(r["id"])["params"] == {"lr": "0.1", "opt.name": "adam"}


def test_a_refused_metric_batch_stores_nothing(transport):
    r = new_run(transport)
    bad_time = batch(r["id"], "late", [1.0], times=[math.nan])
    with pytest.raises(InvalidInput, match="'late' has a time"):
        transport.log_metrics([batch(r["id"], "loss", [1.0, 2.0]), bad_time])
    with pytest.raises(InvalidInput, match="metric name"):
        transport.log_metrics([batch(r["id"], "x" * 300, [1.0])])
    assert transport.get_run(r["id"])["metrics"] == {}


def test_concurrent_writers_to_one_metric_lose_nothing(transport):
    import threading

    r = new_run(transport)

    def write(k):
        for i in range(50):
            transport.log_metrics([batch(r["id"], "loss", [k * 1000 + i],
                                         steps=[k * 1000 + i])])

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    h = transport.metric_history(r["id"], "loss")
    assert len(h["step"]) == 200 and len(set(h["step"].tolist())) == 200
    assert transport.get_run(r["id"])["metrics"]["loss"]["count"] == 200


def test_ending_a_run_again_with_another_status_is_a_conflict(transport):
    r = new_run(transport)
    transport.end_run(r["id"], "finished")
    transport.end_run(r["id"], "finished")
    with pytest.raises(Conflict, match="already ended finished"):
        transport.end_run(r["id"], "failed")


def test_a_run_crashed_for_missing_heartbeats_revives_when_they_resume(transport):
    service = getattr(transport, "service", None)
    if service is None:
        pytest.skip("shortens the heartbeat timeout of a service in this process")
    r = new_run(transport, host="elsewhere", pid=1)
    service.heartbeat_timeout = 0.0
    time.sleep(0.01)
    service.reap(force=True)
    got = transport.get_run(r["id"])
    assert got["status"] == "crashed" and got["status_reason"].startswith("no heartbeat")
    service.heartbeat_timeout = 60.0
    transport.heartbeat([r["id"]])
    got = transport.get_run(r["id"])
    assert got["status"] == "running" and got["end_time"] is None


def test_numpy_scalars_log_as_plain_numbers(transport):
    r = new_run(transport)
    transport.log_params(r["id"], {"x": np.float64(1.5), "n": np.int64(3)})
    assert transport.get_run(r["id"])["params"] == {"x": "1.5", "n": "3"}
    assert names(transport.search_runs(None, "params.x > 1")) == ["run-1"]


def test_artifacts_on_an_fsspec_url_round_trip(db_url, tmp_path):
    from mlp.transport.local import LocalTransport
    from mlp_server.store import Store
    from mlp_server.tracking import TrackingService
    from mlp_server.tracking.artifacts import ArtifactStore

    t = LocalTransport(TrackingService(Store(db_url, auto_migrate=True),
                                       ArtifactStore(f"memory://mlp-{uuid.uuid4().hex}")))
    r = new_run(t)
    d = tmp_path / "out"
    d.mkdir()
    (d / "a.txt").write_text("alpha")
    (d / "b.txt").write_text("beta")
    stored = t.log_artifact(r["id"], d, contents=True)
    assert [a["path"] for a in stored] == ["a.txt", "b.txt"]
    got = t.download_artifacts(r["id"], "b.txt", tmp_path / "dl")
    assert got.read_text() == "beta"
    t.close()


def test_long_artifact_paths_are_refused_before_upload(transport, tmp_path):
    r = new_run(transport)
    f = tmp_path / "x.txt"
    f.write_text("x")
    with pytest.raises(InvalidInput, match="longer than 1024"):
        transport.log_artifact(r["id"], f, "d/" * 600 + "x.txt")
    with pytest.raises(InvalidInput, match="names the run's folder itself"):
        transport.log_artifact(r["id"], f, "a/..")


@pytest.mark.parametrize("where", ["metrics.loss < 0.2", "not metrics.loss < 0.5",
                                   "metrics.loss >= 0.5 or tags.team = 'ads'",
                                   "metrics.loss != 1 and params.depth > 3"])
def test_metric_conditions_match_the_same_runs_as_a_set_or_a_probe(transport, grid,
                                                                   monkeypatch, where):
    from mlp_server.tracking import service as svc

    as_set = names(transport.search_runs(None, where, limit=None))
    monkeypatch.setattr(svc, "FEW_RUNS", 0)  # as when many runs match: probed per run
    assert names(transport.search_runs(None, where, limit=None)) == as_set


def test_code_captured_at_creation_is_stored_with_the_run(transport):
    r = new_run(transport, captures={"code": {"type": "script", "source": "print(1)"}})
    assert transport.get_capture(r["id"], "code")["source"] == "print(1)"
    with pytest.raises(InvalidInput, match="capture kind 'secrets'"):
        new_run(transport, name="bad", captures={"secrets": {}})
    assert [x["name"] for x in transport.search_runs(None, limit=None)["runs"]] == ["run-1"]


def test_a_reused_process_id_does_not_keep_a_dead_run_alive(transport):
    import socket

    # This process's id, but started long before this process: the run's own process is gone.
    r = new_run(transport, host=socket.gethostname(), pid=os.getpid(),
                pid_started=time.time() - 10 * 86400)
    assert transport.get_run(r["id"])["status"] == "crashed"
    alive = new_run(transport, host=socket.gethostname(), pid=os.getpid(),
                    pid_started=__import__("psutil").Process().create_time())
    assert transport.get_run(alive["id"])["status"] == "running"


@pytest.mark.parametrize(("few", "walk"), [(2000, None), (0, None), (3, 1), (1, 2)])
@pytest.mark.parametrize("where", [None, "params.model = 'xgb'", "params.depth > 3"])
def test_metric_order_pages_alike_whether_filtered_runs_are_few_or_many(transport, grid,
                                                                        monkeypatch, few,
                                                                        walk, where):
    """Ordering by a metric sorts the matching runs in one query when the experiment has few
    runs; else it walks the metric's index in batches, and after `walk` entries it counts
    the runs that match and, when they are few, finishes with one query from where the walk
    stopped. Every way gives the same order and the same pages."""
    from mlp_server.tracking import service as svc

    expected = {o: names(transport.search_runs("demo", where, order_by=o, limit=None))
                for o in ("metrics.loss", "-metrics.loss")}
    monkeypatch.setattr(svc, "FEW_RUNS", few)  # 0: walk the metric's index in batches
    if walk is not None:
        monkeypatch.setattr(svc, "WALK_FIRST", walk)
        monkeypatch.setattr(svc, "WALK_BATCH", 1)
    for order, whole in expected.items():
        assert names(transport.search_runs("demo", where, order_by=order, limit=None)) == whole
        for limit in (1, 2, 4):
            assert all_pages(transport, experiment="demo", where=where, order_by=order,
                             limit=limit) == whole
        if where is None:  # r4 has no loss: last either way
            assert len(whole) == 6 and whole[-1] == "r4"
    assert expected["metrics.loss"] == {
        None: ["r5", "r3", "r2", "r1", "r0", "r4"], "params.model = 'xgb'": ["r5", "r3", "r1"],
        "params.depth > 3": ["r5", "r3", "r2", "r1"]}[where]


@pytest.fixture
def mixed_params(transport):
    """Runs whose param `v` is a number (with ties, and "1" beside 1.0), a text, or missing."""
    values = [3, 1, "b", 1.0, "1", None, "a", 2.5, 1, "b", None, -4, "1.0", 3, "a10", 2.5, 1]
    expected = []
    for i, v in enumerate(values):
        r = transport.create_run("mix", f"m{i}", start_time=1_700_000_000 + (i * 7) % 11)
        if v is not None:
            transport.log_params(r["id"], {"v": v})
        if i % 3 != 1:
            transport.set_tags(r["id"], {"keep": "yes"})
        expected.append((r, v))
    return expected


@pytest.mark.parametrize("few", [2000, 0])
@pytest.mark.parametrize("order", ["params.v", "-params.v"])
def test_param_order_pages_alike_whether_runs_are_few_or_many(transport, mixed_params,
                                                              monkeypatch, few, order):
    """Sorting many runs by a param walks its values in ranges (here of 2 rows, so the
    ranges end inside tie groups): the pages must give exactly the order of one query."""
    from mlp_server.tracking import service as svc
    from mlp_server.tracking.service import param_text

    monkeypatch.setattr(svc, "FEW_RUNS", few)
    monkeypatch.setattr(svc, "PARAM_RANGE", 2)
    desc = order.startswith("-")

    def rank(item):  # numbers, then texts, then missing; ties newest first, then by id
        r, v = item
        text, num = (None, None) if v is None else param_text(v)
        group = 0 if num is not None else 1 if text is not None else 2
        first = (num if num is not None else text) if group < 2 else 0
        return (group, _Desc(first) if desc else first, _Desc(text) if desc else text or "",
                -r["start_time"], r["id"])

    expected = [r["name"] for r, _ in sorted(mixed_params, key=rank)]
    assert names(transport.search_runs("mix", order_by=order, limit=None)) == expected
    for limit in (1, 2, 3, 5):
        got = all_pages(transport, experiment="mix", order_by=order, limit=limit)
        assert got == expected, f"{limit} {got} {expected}"
    kept = [n for n in expected if int(n[1:]) % 3 != 1]
    assert all_pages(transport, experiment="mix", where="tags.keep = 'yes'", order_by=order,
                     limit=2) == kept


class _Desc:
    """Reverses the order of a sort key."""

    def __init__(self, v):
        self.v = v

    def __lt__(self, other):
        return other.v < self.v

    def __eq__(self, other):
        return self.v == other.v


@pytest.mark.parametrize("values", [{"p": "x", "v": []}, {"v": [1, "a"]},
                                    {"p": "a", "v": [{"x": 1}, "id"]},
                                    {"p": "a", "v": [10**30, "id"]},
                                    {"p": "o", "v": ["not-a-time", "id"]}])
def test_tampered_cursors_are_refused_cleanly(transport, grid, values):
    import base64
    import json

    first = transport.search_runs(None, order_by="-metrics.loss", limit=2)["next_cursor"]
    state = json.loads(base64.urlsafe_b64decode(first + "=" * (-len(first) % 4)))
    forged = base64.urlsafe_b64encode(json.dumps({"f": state["f"], **values}).encode()).decode()
    for order in ("-metrics.loss", None):
        # Refused naming the cursor (any other error fails the test), or, for a cursor of
        # the right shape, answered with a page: never a server error.
        try:
            page = transport.search_runs(None, order_by=order, limit=2, cursor=forged)
        except InvalidInput as e:
            assert e.field == "cursor"
        else:
            assert order == "-metrics.loss" and isinstance(page["runs"], list)


def test_equal_step_and_time_keep_the_last_logged_value(transport):
    r = new_run(transport)
    transport.log_metrics([batch(r["id"], "acc", [0.5, 0.9], steps=[10, 10], times=[1e9, 1e9])])
    assert transport.get_run(r["id"])["metrics"]["acc"]["last"] == 0.9
