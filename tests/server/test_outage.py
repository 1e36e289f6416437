"""A server that goes away loses no points: the SDK retries, spools to disk, syncs later."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from urllib.parse import urlparse

import pytest
from conftest import JupyterServer

import mlp
import mlp._client


def _restart(server: JupyterServer, tmp_path) -> JupyterServer:
    return JupyterServer.start(tmp_path, server.db_url, port=urlparse(server.url).port,
                               token=server.token)


def test_a_ten_second_outage_mid_loop_loses_nothing_and_never_blocks(tmp_path, monkeypatch):
    server = JupyterServer.start(tmp_path, f"sqlite:///{tmp_path / 'down.db'}")
    monkeypatch.setenv("MLP_SERVER_URL", server.url)
    monkeypatch.setenv("MLP_TOKEN", server.token)
    monkeypatch.setenv("MLP_FLUSH_INTERVAL", "0.2")
    # Small (2 s of this loop), so the outage outgrows memory many times over.
    monkeypatch.setenv("MLP_BUFFER_POINTS", "20000")
    monkeypatch.setenv("MLP_SPOOL_AFTER", "1")
    mlp._client._client = None
    run = mlp.start_run(experiment="outage", name="ten-seconds")
    stop = threading.Event()
    logged = [0]
    slowest = [0.0]
    slowest_at = [0.0]

    def train():
        i = 0
        while not stop.is_set():
            t0 = time.perf_counter()
            mlp.log_metric("loss", 1 / (i + 1), step=i)
            took = time.perf_counter() - t0
            if took > slowest[0]:
                slowest[0], slowest_at[0] = took, time.time()
            i += 1
            if i % 50 == 0:
                time.sleep(0.005)
        logged[0] = i

    loop = threading.Thread(target=train, daemon=True)
    loop.start()
    try:
        time.sleep(1.5)
        server.stop()
        down_at = time.time()
        time.sleep(10)
        spool = mlp._client.get_client().flusher.spool
        assert spool is not None and spool.files(), "nothing was kept on disk during the outage"
        status = mlp.status()  # says at once what is wrong and what waits
        assert status["error"].startswith("unreachable") and "points" in status["spooled"]
        server = _restart(server, tmp_path)
        print(f"server down for {time.time() - down_at:.1f} s")
        time.sleep(1.0)
        stop.set()
        loop.join(30)
        mlp.end_run()
        steps = run.metric_history("loss")["step"]
        assert len(steps) == logged[0] > 20_000
        assert list(steps) == list(range(logged[0]))
        assert not spool.files()
        assert run.status == "finished"
        # Never made to wait for room: the outage went to disk, not into the loop.
        assert mlp._client.get_client().buffer.waits == 0, (
            f"log_metric waited for the store (slowest call {slowest[0]:.2f} s, "
            f"{slowest_at[0] - down_at:.1f} s after the server went down)")
    finally:
        mlp._client.reset()
        server.stop()


_KILLED = textwrap.dedent("""
    import os, signal, sys, time
    import mlp, mlp._client
    run = mlp.start_run(experiment="outage", name="killed")
    for i in range(100):
        mlp.log_metric("loss", i, step=i)
    mlp.flush()
    print(run.id, flush=True)
    sys.stdin.readline()  # the server is down now
    for i in range(100, 600):
        mlp.log_metric("loss", i, step=i)
    spool = mlp._client.get_client().flusher.spool
    deadline = time.time() + 30
    while not spool.files() and time.time() < deadline:
        time.sleep(0.05)
    print("spooled" if spool.files() else "not spooled", flush=True)
    if sys.argv[1] == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    run.end()  # the store is still away: the end waits on disk too
""")


@pytest.mark.parametrize("how", ["killed", "exited"])
def test_what_a_process_left_on_disk_is_sent_by_the_next_one(tmp_path, how):
    server = JupyterServer.start(tmp_path, f"sqlite:///{tmp_path / 'killed.db'}")
    env = {**os.environ, "MLP_SERVER_URL": server.url, "MLP_TOKEN": server.token,
           "MLP_HOME": str(tmp_path / "client-home"), "MLP_FLUSH_INTERVAL": "0.1",
           "MLP_SPOOL_AFTER": "0", "MLP_RETRY_SECONDS": "0"}
    try:
        proc = subprocess.Popen([sys.executable, "-c", _KILLED, how], env=env, text=True,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert proc.stdout is not None and proc.stdin is not None
        run_id = proc.stdout.readline().strip()
        assert len(run_id) == 32, run_id
        server.stop()
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "spooled"
        assert proc.wait(30) == (-9 if how == "killed" else 0)
        server = _restart(server, tmp_path)
        # Any later process that logs to the same server sends what the dead one left.
        out = subprocess.run(
            [sys.executable, "-c", "import mlp; mlp.flush(); print(mlp.status()['spooled'])"],
            env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "nothing"
        assert "left in" in out.stderr
        from mlp.transport.http import HttpTransport

        t = HttpTransport(server.url, server.token)
        assert list(t.metric_history(run_id, "loss")["step"]) == list(range(600))
        if how == "exited":
            assert t.get_run(run_id)["status"] == "finished"
        t.close()
    finally:
        server.stop()
