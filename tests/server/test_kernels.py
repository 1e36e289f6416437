"""A kernel launched by the server logs to that server, as a notebook user's would."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
import requests


def rest(server, method, path, **kw):
    return requests.request(method, f"{server.url}/{path}", timeout=60,
                            headers={"Authorization": f"token {server.token}"}, **kw)


def execute(connection_file: Path, code: str) -> str:
    from jupyter_client import BlockingKernelClient

    kc = BlockingKernelClient(connection_file=str(connection_file))
    kc.load_connection_file()
    kc.start_channels(hb=False)  # a missed heartbeat under load is not a dead kernel
    try:
        kc.wait_for_ready(timeout=60)
        out: list[str] = []
        reply = kc.execute_interactive(code, timeout=120, output_hook=lambda m: out.append(
            m["content"].get("text", "") if m["msg_type"] == "stream" else
            m["content"].get("evalue", "") if m["msg_type"] == "error" else ""))
        assert reply["content"]["status"] == "ok", "".join(out)
        return "".join(out)
    finally:
        kc.stop_channels()


def start_kernel(server, path: str) -> tuple[dict, Path]:
    """A notebook session through the server's REST API: its model and connection file."""
    from jupyter_core.paths import jupyter_runtime_dir

    session = rest(server, "POST", "api/sessions", json={
        "path": path, "name": Path(path).name, "type": "notebook",
        "kernel": {"name": "python3"}}).json()
    conn = Path(jupyter_runtime_dir()) / f"kernel-{session['kernel']['id']}.json"
    deadline = time.time() + 60
    while not conn.exists() and time.time() < deadline:
        time.sleep(0.2)
    return session, conn


def test_a_kernel_started_through_the_server_tracks_into_the_servers_store(http_server):
    (Path(http_server.root) / "work").mkdir(exist_ok=True)
    session, conn = start_kernel(http_server, "work/demo.ipynb")
    try:
        out = execute(conn, (
            "import mlp, os\n"
            "with mlp.start_run(experiment='kern', name='k1'):\n"
            "    for s in range(100):\n"
            "        mlp.log_metric('loss', 1 / (s + 1), step=s)\n"
            "print(mlp.status()['transport'], os.environ['MLP_TOKEN'] != '" + http_server.token
            + "')\n"))
        assert "http True" in out  # over HTTP, with a token that is not the login token
        page = requests.post(f"{http_server.url}/mlp/api/v1/runs/search", timeout=30,
                             headers={"Authorization": f"token {http_server.token}"},
                             json={"experiment": "kern"}).json()
        (run,) = page["runs"]
        assert run["status"] == "finished" and run["metrics"] == {"loss": 0.01}
        assert run["source_name"].endswith("work/demo.ipynb")
        env = rest(http_server, "GET", f"mlp/api/v1/runs/{run['id']}/captures/environment"
                   ).json()["capture"]
        assert env["env"]["MLP_TOKEN"] == "<redacted>"
        assert http_server.token not in json.dumps(env)
    finally:
        rest(http_server, "DELETE", f"api/sessions/{session['id']}")


def test_the_kernel_token_opens_only_the_mlp_api(http_server):
    # The kernel token is in the kernels' environment only; read it from one.
    session, conn = start_kernel(http_server, "tok.ipynb")
    try:
        token = execute(conn, "import os; print(os.environ['MLP_TOKEN'])").strip()
    finally:
        rest(http_server, "DELETE", f"api/sessions/{session['id']}")
    ok = requests.get(f"{http_server.url}/mlp/api/v1/experiments", timeout=30,
                      headers={"Authorization": f"token {token}"})
    assert ok.status_code == 200
    refused = requests.get(f"{http_server.url}/api/contents", timeout=30,
                           headers={"Authorization": f"token {token}"})
    assert refused.status_code == 403


@pytest.mark.parametrize("how", ["shutdown", "restart", "kill"])
def test_a_run_whose_kernel_goes_away_is_marked_crashed(http_server, how):
    import os
    import signal

    session, conn = start_kernel(http_server, f"{how}.ipynb")
    kernel_id = session["kernel"]["id"]
    out = execute(conn, (
        "import os, mlp\n"
        f"run = mlp.start_run(experiment='life', name='{how}')\n"
        "mlp.log_metric('x', 1.0)\n"
        "mlp.flush()\n"
        "print('pid', os.getpid())\n"))
    pid = int(re.search(r"pid (\d+)", out).group(1))
    try:
        if how == "shutdown":
            rest(http_server, "DELETE", f"api/sessions/{session['id']}")
        elif how == "restart":
            assert rest(http_server, "POST", f"api/kernels/{kernel_id}/restart").ok
        else:
            os.kill(pid, signal.SIGKILL)
        deadline = time.time() + 30
        run = None
        while time.time() < deadline:
            run = search(http_server, "life")[0]
            if run["status"] != "running":
                break
            time.sleep(0.5)
        assert run is not None and run["status"] == "crashed", run
        assert run["metrics"] == {"x": 1.0}
    finally:
        rest(http_server, "DELETE", f"api/sessions/{session['id']}")


def search(server, experiment):
    return requests.post(f"{server.url}/mlp/api/v1/runs/search", timeout=30,
                         headers={"Authorization": f"token {server.token}"},
                         json={"experiment": experiment}).json()["runs"]


def test_points_logged_while_the_server_is_down_arrive_when_it_is_back(tmp_path, monkeypatch):
    import threading
    from urllib.parse import urlparse

    from conftest import JupyterServer

    import mlp._client

    db = f"sqlite:///{tmp_path / 'down.db'}"
    server = JupyterServer.start(tmp_path, db)
    monkeypatch.setenv("MLP_SERVER_URL", server.url)
    monkeypatch.setenv("MLP_TOKEN", server.token)
    monkeypatch.setenv("MLP_FLUSH_INTERVAL", "0.2")
    mlp._client._client = None
    run = mlp.start_run(experiment="outage", name="r")
    done = threading.Event()

    def train():  # never blocked by the outage: the buffer holds the points
        for i in range(3000):
            mlp.log_metric("loss", i, step=i)
            time.sleep(0.002)
        done.set()

    threading.Thread(target=train, daemon=True).start()
    time.sleep(1.0)
    server.stop()  # down for a while, mid-loop
    assert done.wait(60), "the training loop blocked while the server was down"
    time.sleep(1.0)
    server = JupyterServer.start(tmp_path, db, port=urlparse(server.url).port, token=server.token)
    try:
        mlp.end_run()
        assert len(run.metric_history("loss")) == 3000
        assert run.status == "finished"
    finally:
        mlp._client.reset()
        server.stop()


def test_the_server_records_the_notebooks_current_path_from_the_kernel_id(http_server):
    root = Path(http_server.root)
    (root / "work").mkdir(exist_ok=True)
    session, conn = start_kernel(http_server, "work/draft.ipynb")
    try:
        # Renamed after the kernel started: the kernel's own view ($JPY_SESSION_NAME) is stale.
        assert rest(http_server, "PATCH", f"api/sessions/{session['id']}",
                    json={"path": "work/final.ipynb", "name": "final.ipynb"}).ok
        execute(conn, (
            "import mlp, os\n"
            "mlp.start_run(experiment='paths', name='stale').end()\n"
            "del os.environ['JPY_SESSION_NAME'], __session__\n"  # the kernel knows no path
            "mlp.start_run(experiment='paths', name='none').end()\n"))
    finally:
        rest(http_server, "DELETE", f"api/sessions/{session['id']}")
    runs = {r["name"]: r for r in search(http_server, "paths")}
    final = str(root / "work" / "final.ipynb")
    assert runs["stale"]["source_name"] == runs["none"]["source_name"] == final
    assert runs["none"]["source_type"] == "notebook"
    code = rest(http_server, "GET", f"mlp/api/v1/runs/{runs['stale']['id']}/captures/code"
                ).json()["capture"]
    assert code["path"] == str(root / "work" / "draft.ipynb")  # what the kernel captured
    code = rest(http_server, "GET", f"mlp/api/v1/runs/{runs['none']['id']}/captures/code"
                ).json()["capture"]
    assert code["path"] == final  # the capture had none: the server's fills it


@pytest.mark.parametrize(("kernel_id", "status"), [("0f" * 16, 201), ("", 400), (7, 400)])
def test_a_kernel_id_the_server_does_not_know_keeps_what_the_client_sent(http_server, kernel_id,
                                                                        status):
    resp = rest(http_server, "POST", "mlp/api/v1/runs", json={
        "experiment": "ids", "source_type": "script", "source_name": "/src/train.py",
        "kernel_id": kernel_id})
    assert resp.status_code == status, resp.text
    if status == 201:
        assert resp.json()["source_name"] == "/src/train.py"
    else:
        assert resp.json()["field"] == "kernel_id" and "Jupyter kernel id" in resp.json()[
            "message"]
