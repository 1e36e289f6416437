"""The SDK as a user calls it: module functions and Run objects, in-process."""

from __future__ import annotations

import math
import os
import threading
import time

import pandas as pd
import pytest

import mlp
from mlp.errors import Conflict, InvalidInput, NotFound
from mlp_server.store.engine import SCHEMA_REVISION


def test_issue_example_runs_end_to_end(client, tmp_path):
    plot = tmp_path / "plot.png"
    plot.write_bytes(b"\x89PNG fake")
    with mlp.start_run(experiment="demo", name="baseline") as run:
        mlp.log_params({"lr": 0.1, "depth": 6, "optimizer": {"name": "adam", "beta1": 0.9}})
        for step in range(100_000):
            mlp.log_metric("loss", 1 / (step + 1), step=step)
        mlp.log_artifact(plot)
    df = mlp.runs(experiment="demo",
                  where="metrics.loss < 0.5 and (params.depth = 6 or tags.team = 'ads')",
                  order_by="-start_time")
    assert isinstance(df, pd.DataFrame) and list(df["run_id"]) == [run.id]
    assert df.loc[0, "params.optimizer.name"] == "adam" and df.loc[0, "params.depth"] == 6
    assert df.loc[0, "metrics.loss"] == pytest.approx(1e-5)
    assert df.loc[0, "status"] == "finished"
    hist = mlp.get_run(run.id).metric_history("loss")
    assert list(hist.columns) == ["step", "time", "value"] and len(hist) == 100_000
    assert hist["value"].iloc[-1] == pytest.approx(1e-5)
    assert str(hist["time"].dt.tz) == "UTC"
    assert [a["path"] for a in mlp.get_run(run.id).artifacts] == ["plot.png"]


def test_run_ends_failed_on_exception_and_killed_on_interrupt(client):
    with pytest.raises(ZeroDivisionError), mlp.start_run(name="bad") as bad:
        1 / 0  # noqa: B018
    with pytest.raises(KeyboardInterrupt), mlp.start_run(name="stopped") as stopped:
        raise KeyboardInterrupt
    assert mlp.get_run(bad.id).status == "failed"
    assert "ZeroDivisionError" in mlp.get_run(bad.id).status_reason
    assert mlp.get_run(stopped.id).status == "killed"
    assert mlp.active_run() is None


def test_default_steps_count_up_per_metric(client):
    with mlp.start_run() as run:
        for v in (3.0, 2.0, 1.0):
            mlp.log_metric("loss", v)
        mlp.log_metric("acc", 0.5, step=10)
        mlp.log_metric("acc", 0.6)
    assert list(run.metric_history("loss")["step"]) == [0, 1, 2]
    assert list(run.metric_history("acc")["step"]) == [10, 11]


def test_log_metric_accepts_numpy_scalars_and_rejects_text(client):
    np = pytest.importorskip("numpy")
    with mlp.start_run() as run:
        mlp.log_metric("a", np.float32(0.5))
        mlp.log_metric("b", np.int64(3), step=np.int64(4))
        with pytest.raises(InvalidInput, match="metric 'c' must be a number, got 'high'"):
            mlp.log_metric("c", "high")
        with pytest.raises(InvalidInput, match="step of metric 'd' must be a whole number"):
            mlp.log_metric("d", 1.0, step=1.5)
        with pytest.raises(InvalidInput, match="metric name"):
            mlp.log_metric("", 1.0)
    assert run.metrics == {"a": 0.5, "b": 3.0}


def test_active_run_metrics_and_params_read_back_while_running(client):
    with mlp.start_run() as run:
        mlp.log_metric("loss", 0.25)
        mlp.log_param("lr", 0.01)
        assert run.metrics == {"loss": 0.25}
        assert run.params == {"lr": "0.01"}
        assert run.status == "running"
    assert run.status == "finished"


def test_param_conflict_is_reported_at_the_call(client):
    with mlp.start_run():
        mlp.log_params({"lr": 0.1})
        with pytest.raises(Conflict, match="param 'lr' is already '0.1'"):
            mlp.log_param("lr", 0.2)


def test_logging_without_an_active_run_says_how_to_start_one(client):
    with pytest.raises(InvalidInput, match="no active run: start one with"):
        mlp.log_metric("loss", 1.0)
    with pytest.raises(InvalidInput, match="no active run"):
        mlp.log_params({"a": 1})


def test_a_second_run_needs_nested_or_an_end(client):
    outer = mlp.start_run(name="outer")
    with pytest.raises(InvalidInput, match="is still active.*nested=True"):
        mlp.start_run(name="second")
    with mlp.start_run(name="child", nested=True) as child:
        assert mlp.active_run() is child
    assert mlp.active_run() is outer
    mlp.end_run()
    assert child.parent_id == outer.id
    assert [c.id for c in mlp.get_run(outer.id).children] == [child.id]


def test_get_run_by_reference_and_errors(client):
    with mlp.start_run(experiment="churn", name="baseline") as a:
        pass
    with mlp.start_run(experiment="churn", name="tuned") as b:
        pass
    assert mlp.get_run("churn/baseline").id == a.id
    assert mlp.get_run("@latest").id == b.id
    assert mlp.get_run("@latest~1").id == a.id
    assert mlp.get_run(a.id[:8]).id == a.id
    with pytest.raises(NotFound, match="no run matches 'zzz'"):
        mlp.get_run("zzz")


def test_runs_frame_has_stable_columns_even_when_empty(client):
    df = mlp.runs()
    assert list(df.columns)[:4] == ["run_id", "experiment", "name", "status"] and df.empty


def test_runs_pages_with_limit_and_cursor(client):
    for i in range(5):
        with mlp.start_run(experiment="p", name=f"r{i}"):
            pass
    first = mlp.runs(experiment="p", order_by="name", limit=2)
    assert list(first["name"]) == ["r0", "r1"]
    rest = mlp.runs(experiment="p", order_by="name", cursor=first.attrs["next_cursor"])
    assert list(rest["name"]) == ["r2", "r3", "r4"] and rest.attrs["next_cursor"] is None


def test_delete_and_restore_from_the_sdk(client):
    with mlp.start_run(experiment="d", name="x") as r:
        pass
    mlp.delete_run(r.id)
    assert mlp.runs(experiment="d").empty
    assert list(mlp.runs(experiment="d", deleted_only=True)["run_id"]) == [r.id]
    mlp.restore_run("d/x")
    assert list(mlp.runs(experiment="d")["run_id"]) == [r.id]


def test_run_prints_well(client):
    with mlp.start_run(experiment="demo", name="baseline") as run:
        mlp.log_params({"lr": 0.1})
        mlp.log_metric("loss", math.nan)
    r = mlp.get_run(run.id)
    assert repr(r).startswith(f"<Run demo/baseline {run.id[:8]} finished")
    html = r._repr_html_()
    assert "Run demo/baseline" in html and "<td>lr</td><td>0.1</td>" in html and "nan" in html


def test_full_buffer_makes_logging_wait_instead_of_dropping(client):
    client.buffer.capacity = 1000
    with mlp.start_run() as run:
        for i in range(10_000):
            mlp.log_metric("x", i, step=i)
        assert len(client.buffer) < 1000
    assert len(run.metric_history("x")) == 10_000


def test_metrics_logged_from_threads_all_arrive(client):
    with mlp.start_run() as run:
        def work(k):
            for i in range(2000):
                run.log_metric(f"t{k}", i, step=i)
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert all(len(run.metric_history(f"t{k}")) == 2000 for k in range(4))


def test_background_flush_stores_points_without_an_explicit_flush(client):
    client.flusher.interval = 0.05
    run = mlp.start_run()
    mlp.log_metric("loss", 0.5)
    deadline = time.time() + 5
    while time.time() < deadline:
        h = client.transport.search_runs(None, "metrics.loss = 0.5")["runs"]
        if h:
            break
        time.sleep(0.05)
    assert h and h[0]["id"] == run.id
    mlp.end_run()


def test_status_reports_the_in_process_store(client):
    info = mlp.status()
    assert info["transport"] == "in-process" and info["schema"] == SCHEMA_REVISION


def test_experiments_frame_counts_runs(client):
    for name in ("a", "b"):
        with mlp.start_run(experiment="exp1", name=name):
            pass
    df = mlp.experiments()
    assert df.set_index("name").loc["exp1", "runs"] == 2


def test_code_and_environment_are_captured_with_secrets_redacted(client, monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "s3cr3t-value-123")
    with mlp.start_run() as run:
        pass
    deadline = time.time() + 10
    while run.environment is None and time.time() < deadline:
        time.sleep(0.05)
    env = run.environment
    assert env["python"] and "pytest" in env["packages"]
    assert env["env"]["MY_SERVICE_TOKEN"] == "<redacted>"
    assert "s3cr3t-value-123" not in str(env)
    assert run.code is not None


def test_capture_can_be_turned_off(client):
    with mlp.start_run(capture=False) as run:
        pass
    time.sleep(0.2)
    assert run.code is None and run.environment is None


def test_system_metrics_are_sampled_while_a_run_is_active(client):
    client.system_interval = 0.05
    client.flusher.interval = 0.05
    with mlp.start_run() as run:
        time.sleep(0.6)
    metrics = run.metrics
    assert {"system/cpu_percent", "system/memory_used_gb", "system/process_rss_gb"} <= set(metrics)
    assert 0 <= metrics["system/cpu_percent"] <= 100 * os.cpu_count()
    assert len(run.metric_history("system/memory_used_gb")) >= 2


def test_points_are_checked_when_logged(client):
    with mlp.start_run():
        with pytest.raises(InvalidInput, match="metric name must be"):
            mlp.log_metric("x" * 300, 1.0)
        with pytest.raises(InvalidInput, match="timestamp of metric 'lr'"):
            mlp.log_metric("lr", 0.1, timestamp=math.nan)
        with pytest.raises(InvalidInput, match="whole number"):
            mlp.log_metric("s", 1.0, step=2**64)
        with pytest.raises(InvalidInput, match="must be a number"):
            mlp.log_metric("big", 10**400)
        mlp.log_metric("ok", 1.0)
    assert mlp.get_run("@latest").metrics == {"ok": 1.0}


def test_a_refused_series_loses_nothing_else(client):
    with mlp.start_run(name="parent") as parent:
        child = mlp.start_run(name="child", nested=True)
        for i in range(100):
            parent.log_metric("loss", i, step=i)
            child.log_metric("loss", i, step=i)
        mlp.delete_run(child.id)
        with pytest.raises(InvalidInput, match="is deleted"):
            mlp.flush()
        mlp.flush()  # the refusal was reported once
        assert len(parent.metric_history("loss")) == 100
        child.end()


def test_system_samples_never_deadlock_a_full_buffer(client):
    client.buffer.capacity = 200
    client.system_interval = 0.001
    client.flusher.interval = 0.001
    done = threading.Event()

    def train():
        with mlp.start_run() as run:
            for i in range(20_000):
                run.log_metric("x", i, step=i)
        done.set()

    threading.Thread(target=train, daemon=True).start()
    assert done.wait(60), "logging with a full buffer and system sampling hung"


def _failing_store(client):
    real_send = client.flusher.send
    failing = threading.Event()
    failing.set()

    def send(batch, batch_id=None):
        if failing.is_set():
            raise ConnectionError("store away")
        real_send(batch, batch_id)

    client.flusher.send = send
    client.buffer.capacity = 1000
    client.flusher.interval = 0.01
    return failing


def test_without_a_spool_the_buffer_stays_bounded_while_the_store_is_unavailable(client):
    failing = _failing_store(client)
    client.flusher.spool = None  # e.g. no writable disk: memory stays bounded, the loop waits
    run = mlp.start_run()
    finished = threading.Event()

    def train():
        for i in range(5000):
            run.log_metric("x", i, step=i)
        finished.set()

    threading.Thread(target=train, daemon=True).start()
    assert not finished.wait(1.0), "the loop ran on while nothing could be stored"
    assert len(client.buffer) <= 1000
    failing.clear()
    assert finished.wait(30)
    mlp.end_run()
    assert len(run.metric_history("x")) == 5000


def test_points_go_to_disk_while_the_store_is_away_and_the_loop_never_waits(client):
    failing = _failing_store(client)
    client.flusher.spool_after = 0.05
    run = mlp.start_run()
    finished = threading.Event()
    most = [0]

    def train():
        for i in range(50_000):
            run.log_metric("x", i, step=i)
            most[0] = max(most[0], len(client.buffer))
        finished.set()

    threading.Thread(target=train, daemon=True).start()
    assert finished.wait(30), "the training loop waited on the unavailable store"
    assert most[0] <= 1000, "memory grew while the store was away"
    spool = client.flusher.spool
    assert spool is not None and spool.files() and spool.points > 0
    mlp.log_metric("x", -1.0, step=50_000)
    failing.clear()
    mlp.end_run()
    hist = run.metric_history("x")
    assert list(hist["step"]) == list(range(50_001))
    assert not spool.files() and not list(spool.dir.glob("*.mlpm"))
    assert run.status == "finished"


def test_a_run_ended_while_the_store_is_away_ends_when_it_is_back(client):
    failing = _failing_store(client)
    real_end = client.transport.end_run
    calls = []

    def end_run(*a, **k):
        calls.append(a)
        return real_end(*a, **k)

    client.transport.end_run = end_run
    with mlp.start_run(name="offline") as run:
        for i in range(100):
            mlp.log_metric("x", i)
        started = time.time()
    # The end waits on disk behind the run's points; the caller was not held up.
    assert time.time() - started < 5 and calls == []
    assert run.status == "finished"
    assert mlp.get_run(run.id).status == "running"
    failing.clear()
    mlp.flush()
    stored = mlp.get_run(run.id)
    assert stored.status == "finished" and len(stored.metric_history("x")) == 100
    assert abs(stored.end_time.timestamp() - run.end_time.timestamp()) < 1e-3


def test_refused_params_at_start_leave_no_run_behind(client):
    with pytest.raises(InvalidInput, match="param 'blob'"):
        mlp.start_run(name="bad", params={"blob": "x" * 7000})
    assert mlp.active_run() is None and mlp.runs().empty
    with mlp.start_run(name="good", params={"lr": 0.1}) as run:
        pass
    assert run.params == {"lr": "0.1"}


def test_sys_exit_zero_inside_a_run_ends_it_finished(client):
    with pytest.raises(SystemExit), mlp.start_run() as run:
        raise SystemExit(0)
    assert run.status == "finished"


def test_log_artifacts_stores_a_folder_in_one_step(client, tmp_path):
    d = tmp_path / "reports"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("a")
    (d / "sub" / "b.txt").write_text("b")
    with mlp.start_run() as run:
        mlp.log_artifacts(d)
        mlp.log_artifacts(d, "copy")
        with pytest.raises(InvalidInput, match="is not a folder"):
            mlp.log_artifacts(d / "a.txt")
    assert [a["path"] for a in run.artifacts] == ["a.txt", "copy/a.txt", "copy/sub/b.txt",
                                                  "sub/b.txt"]
    out = run.download_artifacts("copy", tmp_path / "dl")
    assert (out / "sub" / "b.txt").read_text() == "b"


def test_forked_workers_log_to_the_parents_run(client):
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    with mlp.start_run() as run:
        procs = [ctx.Process(target=_worker, args=(k,)) for k in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0, 0]
        assert mlp.get_run(run.id).status == "running"
    assert len(run.metric_history("w0")) == 100 and len(run.metric_history("w1")) == 100
    assert run.status == "finished"


def _worker(k):
    for i in range(100):
        mlp.log_metric(f"w{k}", i, step=i)


def test_mlp_server_url_sends_runs_to_that_server(monkeypatch, http_server):
    import mlp._client

    monkeypatch.setenv("MLP_SERVER_URL", http_server.url)
    monkeypatch.setenv("MLP_TOKEN", http_server.token)
    mlp._client._client = None
    with mlp.start_run(experiment="remote", name="over-http", params={"lr": 0.1}) as run:
        for i in range(1000):
            mlp.log_metric("loss", 1 / (i + 1), step=i)
    assert mlp.status()["transport"] == "http"
    got = mlp.get_run("remote/over-http")
    assert got.id == run.id and got.params == {"lr": "0.1"} and got.status == "finished"
    assert len(got.metric_history("loss")) == 1000
    # ... and it is in the server's store, not in this process's MLP_HOME
    assert not (mlp_home_path() / "mlp.db").exists()


def mlp_home_path():
    import os
    from pathlib import Path

    return Path(os.environ["MLP_HOME"])


def test_a_wrong_token_is_a_clear_error(monkeypatch, http_server):
    import mlp._client

    monkeypatch.setenv("MLP_SERVER_URL", http_server.url)
    monkeypatch.setenv("MLP_TOKEN", "not-the-token")
    mlp._client._client = None
    with pytest.raises(mlp.errors.MLPError, match="check MLP_TOKEN"):
        mlp.start_run()


def test_a_fork_worker_s_own_run_is_ended_and_kept(client):
    import multiprocessing

    proc = multiprocessing.get_context("fork").Process(target=_own_run_worker)
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    run = mlp.get_run("worker/own")
    assert run.status == "finished" and len(run.metric_history("x")) == 100


def _own_run_worker():
    mlp.start_run(experiment="worker", name="own")  # never ended by the worker's code
    for i in range(100):
        mlp.log_metric("x", i, step=i)


def test_environment_is_waited_for_per_run_while_other_runs_start(client):
    errors = []

    def starter():
        try:
            for _ in range(30):
                with mlp.start_run(experiment="busy", nested=False):
                    pass
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    t = threading.Thread(target=starter)
    t.start()
    while t.is_alive():
        client.wait_for_captures()
    t.join()
    assert errors == []
    assert all(r.environment for r in (mlp.get_run(i) for i in mlp.runs("busy")["run_id"]))


def test_tap_sees_points_as_they_leave_the_buffer():
    """Live views get each batch once, before it is sent; removing the tap stops it."""
    import mlp
    from mlp._client import get_client

    seen: list[tuple[str, list[int], list[float]]] = []
    remove = get_client().tap(lambda batch: seen.extend(
        (k[1], list(s[0]), list(s[2])) for k, s in batch.items()))
    with mlp.start_run(experiment="tap", capture=False):
        mlp.log_metric("loss", 0.5, step=3)
        mlp.flush()
        remove()
        mlp.log_metric("loss", 0.25, step=4)
        mlp.flush()
    assert seen == [("loss", [3], [0.5])]


def test_a_batch_whose_reply_was_lost_is_not_stored_twice(client):
    """The store took the batch but the answer never came: the retry adds nothing."""
    real_send = client.flusher.send
    lost = [True]

    def send(batch, batch_id=None):
        real_send(batch, batch_id)
        if lost[0]:
            lost[0] = False
            raise ConnectionError("connection reset before the reply")

    client.flusher.send = send
    with mlp.start_run() as run:
        for i in range(10):
            mlp.log_metric("x", i, step=i)
        with pytest.raises(ConnectionError):
            mlp.flush()
        mlp.flush()
    assert list(run.metric_history("x")["step"]) == list(range(10))


def test_a_spool_file_replayed_twice_is_stored_once(client):
    """A process that died after storing a spooled file but before deleting it."""
    import shutil

    failing = _failing_store(client)
    client.flusher.spool_after = 0.0
    run = mlp.start_run()
    for i in range(100):
        mlp.log_metric("x", i, step=i)
    with pytest.raises(ConnectionError):
        mlp.flush()
    spool = client.flusher.spool
    (path,) = spool.files()
    copy = path.with_name(path.name.replace(".mlpm", "")[:-6] + "999999.mlpm")
    shutil.copy(path, copy)
    spool.files().append(copy)
    failing.clear()
    mlp.end_run()
    assert list(run.metric_history("x")["step"]) == list(range(100))
    assert not spool.files()


# -- what the review of the spool found ---------------------------------------------------


def test_a_full_disk_during_an_outage_loses_nothing_and_frees_the_buffer(client, monkeypatch):
    from mlp._spool import Spool

    failing = _failing_store(client)
    client.flusher.spool_after = 0.0
    real_write = Spool._write

    def full(self, kind, data, path=None):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Spool, "_write", full)
    run = mlp.start_run(capture=False)
    done = threading.Event()

    def train():
        for i in range(3000):
            run.log_metric("x", i, step=i)
        done.set()

    threading.Thread(target=train, daemon=True).start()
    time.sleep(0.5)  # memory is all there is: the loop waits, nothing is dropped
    monkeypatch.setattr(Spool, "_write", real_write)
    failing.clear()
    assert done.wait(30)
    mlp.end_run()
    assert list(run.metric_history("x")["step"]) == list(range(3000))
    assert len(client.buffer) == 0


def test_the_flusher_survives_an_unreadable_spool_folder(client, tmp_path, monkeypatch):
    from mlp._spool import Spool

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    client.flusher.spool = Spool(blocker, "store:x")
    with mlp.start_run(capture=False) as run:
        for i in range(400):
            mlp.log_metric("x", i, step=i)
        time.sleep(2.5 * client.flush_interval)
    assert client.flusher._thread is not None and client.flusher._thread.is_alive()
    assert len(run.metric_history("x")) == 400


def test_a_series_the_server_fails_on_is_set_aside_and_the_rest_flows(client):
    real_send = client.flusher.send

    def send(batch, batch_id=None):
        if any(k[1] == "poison" for k in batch):
            raise RuntimeError("a server bug")
        real_send(batch, batch_id)

    client.flusher.send = send
    run = mlp.start_run(capture=False)
    mlp.log_metric("poison", 1.0)
    mlp.log_metric("fine", 2.0)
    with pytest.raises(mlp.errors.ServerFault, match="could not be stored .* kept in"):
        mlp.flush()
    mlp.log_metric("fine", 3.0)
    mlp.end_run()
    assert list(run.metric_history("fine")["value"]) == [2.0, 3.0]
    (bad,) = client.flusher.spool.dir.glob("*.bad")
    from mlp.transport import wire

    (_, series) = wire.decode_batch(bad.read_bytes())
    assert [(s[1], list(s[4])) for s in series] == [("poison", [1.0])]


def test_a_metric_name_that_is_not_text_is_refused_at_the_call(client):
    with mlp.start_run(capture=False), pytest.raises(InvalidInput, match="not valid text"):
        mlp.log_metric("bad\ud800", 1.0)


def test_another_runs_refusal_never_hides_an_exception_or_ends_this_run_badly(client):
    failing = _failing_store(client)
    client.flusher.spool_after = 0.0
    a = mlp.start_run(name="a", capture=False)
    for i in range(10):
        a.log_metric("x", i, step=i)
    a.end()  # the store is away: its points and end wait on disk
    mlp.delete_run(a.id)
    with pytest.raises(ValueError, match="own error"), \
            mlp.start_run(name="b", capture=False) as b:
        b.log_metric("y", 1.0)
        failing.clear()
        raise ValueError("the user's own error")
    assert mlp.get_run(b.id).status == "failed"
    with mlp.start_run(name="c", capture=False):  # a's refusal is not c's to raise
        pass
    with pytest.raises(InvalidInput, match="deleted"):
        mlp.flush()  # but a flush a user asks for says what was given up


def test_points_a_forked_child_spooled_are_sent_by_the_parent(client):
    import multiprocessing as mp

    failing = threading.Event()
    failing.set()
    real = client._send

    def send(batch, batch_id=None):
        if failing.is_set():
            raise ConnectionError("store away")
        real(batch, batch_id)

    client._send = client.flusher.send = send  # the child's new flusher inherits it
    client.flusher.spool_after = 0.0
    client.flusher.interval = 0.02
    run = mlp.start_run(capture=False)
    for i in range(10):
        run.log_metric("parent", i, step=i)

    def child():
        for i in range(10):
            mlp.log_metric("child", i, step=i)

    p = mp.get_context("fork").Process(target=child)
    p.start()
    p.join(30)
    assert p.exitcode == 0
    failing.clear()
    mlp.end_run()
    assert len(run.metric_history("parent")) == 10
    assert len(run.metric_history("child")) == 10
    assert not list(client.flusher.spool.dir.glob("*.mlpm"))


def test_a_send_that_hangs_never_holds_up_the_loop(client):
    """A server gone mid-request keeps the flusher in its send up to the read timeout; the
    logging call puts the full buffer on disk itself and goes on."""
    real_send = client.flusher.send
    hanging = threading.Event()
    hanging.set()

    def send(batch, batch_id=None):
        while hanging.is_set():
            time.sleep(0.01)
        real_send(batch, batch_id)

    client.flusher.send = send
    client.buffer.capacity = 1000
    client.flusher.interval = 0.01
    run = mlp.start_run(capture=False)
    done = threading.Event()

    def train():
        for i in range(20_000):
            run.log_metric("x", i, step=i)
        done.set()

    threading.Thread(target=train, daemon=True).start()
    assert done.wait(30), "the loop waited on a send that does not come back"
    assert client.buffer.spills > 0 and len(client.buffer) <= 1000
    hanging.clear()
    mlp.end_run()
    assert list(run.metric_history("x")["step"]) == list(range(20_000))
