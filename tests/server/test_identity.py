"""The user a run records is the one the server authenticated, never a name the client sends."""

from __future__ import annotations

import getpass

from test_kernels import execute, rest, start_kernel
from token_users import api, start_named


def start_run(server, token=None, **body):
    resp = api(server, "POST", "runs", token=token,
               json={"experiment": "who", "user": "mallory", **body})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_a_personal_servers_runs_are_its_owners_whatever_the_client_claims(http_server):
    # Jupyter's token login proves the owner's secret, not a name: the owner it is.
    assert start_run(http_server)["user"] == getpass.getuser()


def test_a_hub_single_user_servers_runs_are_its_hub_users(tmp_path, monkeypatch):
    from conftest import JupyterServer

    monkeypatch.setenv("JUPYTERHUB_USER", "ada")
    server = JupyterServer.start(tmp_path, f"sqlite:///{tmp_path / 'hub-user.db'}")
    try:
        assert start_run(server)["user"] == "ada"
        session, conn = start_kernel(server, "k.ipynb")  # the kernel's own token
        try:
            out = execute(conn, "import mlp\nprint('RESULT', mlp.start_run(experiment='who').user)\n")
        finally:
            rest(server, "DELETE", f"api/sessions/{session['id']}")
        assert "RESULT ada" in out, out
    finally:
        server.stop()


def test_a_login_that_names_users_records_each_user(tmp_path):
    server = start_named(tmp_path, f"sqlite:///{tmp_path / 'named.db'}", token="admin-token")
    try:
        assert start_run(server, token="alice-token")["user"] == "alice"
        assert start_run(server, token="bob-token")["user"] == "bob"
        assert api(server, "POST", "runs", token="nobody", json={}).status_code == 403
    finally:
        server.stop()
