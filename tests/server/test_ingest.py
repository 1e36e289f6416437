"""Metric points are stored by a child process of the server, which may die and come back."""

from __future__ import annotations

import os
import signal
import time

import psutil

import mlp
import mlp._client


def _ingest_children(server) -> list[psutil.Process]:
    return [p for p in psutil.Process(server.proc.pid).children(recursive=True)
            if "mlp_server.ingest" in " ".join(p.cmdline())]


def test_points_go_through_the_ingest_process_which_survives_being_killed(http_server,
                                                                          monkeypatch):
    monkeypatch.setenv("MLP_SERVER_URL", http_server.url)
    monkeypatch.setenv("MLP_TOKEN", http_server.token)
    monkeypatch.setenv("MLP_FLUSH_INTERVAL", "0.1")
    mlp._client._client = None
    try:
        run = mlp.start_run(experiment="ingest", name="r")
        for i in range(1000):
            mlp.log_metric("loss", i, step=i)
        mlp.flush()
        (child,) = _ingest_children(http_server)
        os.kill(child.pid, signal.SIGKILL)
        deadline = time.time() + 10  # the server reaps it when it next needs it
        while time.time() < deadline and child.is_running() and \
                child.status() != psutil.STATUS_ZOMBIE:
            time.sleep(0.05)
        for i in range(1000, 2000):
            mlp.log_metric("loss", i, step=i)
        deadline = time.time() + 60
        while time.time() < deadline:  # a batch lost with the child is sent again
            try:
                mlp.flush()
                break
            except ConnectionError:
                time.sleep(0.2)
        mlp.end_run()
        assert list(run.metric_history("loss")["step"]) == list(range(2000))
        (again,) = _ingest_children(http_server)
        assert again.pid != child.pid
    finally:
        mlp._client.reset()


def test_without_the_ingest_process_points_are_stored_in_the_servers_threads(tmp_path):
    import numpy as np
    import pytest
    from conftest import JupyterServer

    from mlp.errors import InvalidInput
    from mlp.transport import MetricBatch
    from mlp.transport.http import HttpTransport

    server = JupyterServer.start(tmp_path, f"sqlite:///{tmp_path / 'x.db'}",
                                 ("--MLPExtension.ingest_process=False",))
    try:
        assert not _ingest_children(server)
        t = HttpTransport(server.url, server.token)
        run = t.create_run("threads", "r")
        batch = [MetricBatch(run["id"], "loss", np.arange(3), np.full(3, 1e9), np.ones(3))]
        t.log_metrics(batch, batch_id="a" * 32)
        t.log_metrics(batch, batch_id="a" * 32)
        assert len(t.metric_history(run["id"], "loss")["step"]) == 3
        with pytest.raises(InvalidInput, match="malformed metrics body"):
            t._call("POST", "metrics", data=b"garbage", retry=False)
        t.close()
    finally:
        server.stop()
