"""A user's Jupyter server with ``c.MLP.server_url`` forwards /mlp/api to a shared server."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import requests
from conftest import JupyterServer
from test_kernels import execute, rest, start_kernel
from token_users import api, start_named


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    root = tmp_path_factory.mktemp("shared")
    server = start_named(root, f"sqlite:///{root / 'shared.db'}", token="admin-token")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def user_server(shared, tmp_path_factory):
    """alice's own server: its store is the shared one, reached with alice's credential."""
    root = tmp_path_factory.mktemp("alice")
    server = JupyterServer.start(root, f"sqlite:///{root / 'unused.db'}", (
        f"--MLP.server_url={shared.url}", "--MLP.server_token=alice-token"))
    yield server
    server.stop()


def test_info_says_the_server_forwards_and_to_where(shared, user_server):
    info = api(user_server, "GET", "info").json()
    assert info["forwards_to"] == shared.url
    assert info["store"] == api(shared, "GET", "info").json()["store"]


def test_a_kernel_of_a_forwarding_server_logs_to_the_shared_store_as_the_user(
        shared, user_server, tmp_path):
    (Path(user_server.root) / "work").mkdir(exist_ok=True)
    session, conn = start_kernel(user_server, "work/fw.ipynb")
    payload = os.urandom(3 << 20)  # streams through the forwarder both ways
    (tmp_path / "blob.bin").write_bytes(payload)
    try:
        out = execute(conn, (
            "import mlp, os\n"
            "with mlp.start_run(experiment='forwarded', name='k1') as run:\n"
            "    for s in range(500):\n"
            "        mlp.log_metric('loss', 1 / (s + 1), step=s)\n"
            f"    mlp.log_artifact({str(tmp_path / 'blob.bin')!r})\n"
            "print('RESULT', mlp.status()['transport'], 'alice-token' in repr(dict(os.environ)),\n"
            "      len(run.metric_history('loss')), run.user)\n"))
    finally:
        rest(user_server, "DELETE", f"api/sessions/{session['id']}")
    # Over HTTP to its own server, which never handed the kernel the shared credential.
    assert "RESULT http False 500 alice" in out, out
    (run,) = api(shared, "POST", "runs/search", json={"experiment": "forwarded"}).json()["runs"]
    assert run["user"] == "alice" and run["status"] == "finished"
    assert run["metrics"] == {"loss": 1 / 500}
    assert run["source_name"] == str(Path(user_server.root) / "work" / "fw.ipynb")
    got = api(user_server, "GET", f"runs/{run['id']}/artifact", params={"path": "blob.bin"})
    assert got.status_code == 200 and got.content == payload


@pytest.mark.parametrize(("method", "path", "kw"), [
    ("POST", "runs/search", {"json": {"where": "metrics.loss <"}}),
    ("GET", f"runs/{'0' * 32}", {}),
    ("POST", "metrics", {"data": b"garbage"}),
    ("POST", "runs", {"data": b"{not json"}),
    ("POST", "runs", {"json": {"experiment": "a/b"}}),
    ("POST", "runs", {"json": ["not", "an", "object"]}),
    ("GET", "runs/resolve", {"params": {"ref": "no-such-run"}}),
])
def test_the_shared_servers_errors_reach_the_client_unchanged(shared, user_server, method,
                                                             path, kw):
    direct = api(shared, method, path, token="alice-token", **kw)
    forwarded = api(user_server, method, path, **kw)
    assert direct.status_code >= 400
    assert (forwarded.status_code, forwarded.json()) == (direct.status_code, direct.json())
    assert forwarded.headers["Content-Type"] == direct.headers["Content-Type"]


def test_a_forwarding_server_refuses_anonymous_requests(shared, user_server):
    doc = api(shared, "GET", "openapi.json").json()
    for path, methods in doc["paths"].items():
        concrete = path.replace("{run_id}", "0" * 32).replace("{kind}", "code") \
            .replace("{key}", "x")
        for method in methods:
            resp = requests.request(method.upper(), user_server.url + concrete, timeout=30,
                                    data=b"{}")
            assert resp.status_code in (401, 403), (method, path, resp.status_code)
            assert "alice" not in resp.text


def test_the_credential_for_the_shared_server_is_its_own(shared, user_server):
    # alice's login token for her server means nothing to the shared server.
    assert api(shared, "GET", "experiments", token=user_server.token).status_code == 403


def test_a_shared_server_away_or_refusing_is_named_with_the_fix(tmp_path):
    from urllib.parse import urlparse

    (tmp_path / "team").mkdir()
    db = f"sqlite:///{tmp_path / 'team.db'}"
    team = JupyterServer.start(tmp_path / "team", db)
    user = JupyterServer.start(tmp_path, f"sqlite:///{tmp_path / 'u.db'}", (
        f"--MLP.server_url={team.url}", f"--MLP.server_token={team.token}"))
    calls = (("GET", "info"), ("POST", "runs"), ("POST", "metrics"), ("GET", "experiments"))
    try:
        team.stop()
        for method, path in calls:
            resp = api(user, method, path, data=b"{}" if method == "POST" else None)
            assert resp.status_code == 502, (path, resp.status_code, resp.text)
            assert team.url in resp.json()["message"] and "unreachable" in resp.json()["message"]
        # Back with another token: it refuses this server's credential, not the client's.
        team = JupyterServer.start(tmp_path / "team", db, port=urlparse(team.url).port)
        for method, path in calls:
            resp = api(user, method, path, data=b"{}" if method == "POST" else None)
            assert resp.status_code == 403, (path, resp.status_code, resp.text)
            message = resp.json()["message"]
            assert "refused this server's credential" in message and team.url in message
            assert "check c.MLP.server_token" in message
    finally:
        user.stop()
        team.stop()


def test_a_bad_server_url_stops_the_extension_with_its_name(tmp_path):
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "mlp_server.cli", "--ServerApp.port=0",
         "--MLP.server_url=hub.example.org/services/mlp", f"--ServerApp.root_dir={tmp_path}",
         "--ServerApp.allow_root=True", f"--IdentityProvider.token={uuid.uuid4().hex}"],
        capture_output=True, text=True, timeout=120, env={**os.environ,
                                                           "MLP_HOME": str(tmp_path)})
    assert out.returncode == 2, out.stderr[-2000:]
    assert "c.MLP.server_url='hub.example.org/services/mlp' must be the http(s) URL" in \
        out.stderr


def test_names_with_reserved_characters_survive_forwarding(shared, user_server):
    import numpy as np

    from mlp.transport import MetricBatch
    from mlp.transport.http import HttpTransport

    t = HttpTransport(user_server.url, user_server.token)
    run = t.create_run("reserved", "r", tags={"a?b": "1", "a": "2", "team/owner": "x"})
    for key in ("acc?top1", "a%41", "val loss", "loss #2"):
        t.log_metrics([MetricBatch(run["id"], key, np.arange(2), np.full(2, 1e9),
                                   np.array([0.5, 0.25]))])
        assert list(t.metric_history(run["id"], key)["value"]) == [0.5, 0.25], key
    t.delete_tag(run["id"], "a?b")
    t.delete_tag(run["id"], "team/owner")
    assert t.get_run(run["id"])["tags"] == {"a": "2"}
    t.close()
    # Dot segments never reach the shared server's host, encoded or not.
    for path in ("..%2f..%2fapi%2fstatus", "runs/..%2F..%2F..%2Fhub", "%2e%2e/%2e%2e/api"):
        resp = api(user_server, "GET", path)
        assert resp.status_code == 400 and "segments" in resp.text, (path, resp.status_code)


def test_a_token_in_the_query_string_is_not_sent_on(shared, user_server):
    resp = requests.get(f"{user_server.url}/mlp/api/v1/experiments",
                        params={"token": user_server.token}, timeout=30)
    assert resp.status_code == 200, resp.text
