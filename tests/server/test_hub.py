"""``jupyter mlp`` as a JupyterHub service behind a real Hub (dummy logins, its proxy), and a
user's single-user server that forwards to it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from test_kernels import execute
from test_standalone import free_port

BIN = Path(sys.executable).parent
ADMIN = "mlp-test-admin-" + os.urandom(8).hex()


def _need(module: str) -> None:
    try:
        __import__(module)
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(f"{module} is missing in CI: install jupyter-mlp[hub,test]")
        pytest.skip(f"{module} is not installed: pip install 'jupyter-mlp[hub,test]'")


class Hub:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.public, proxy_api, hub_port, svc = (free_port() for _ in range(4))
        self.url = f"http://127.0.0.1:{self.public}"
        self.runtime = root / "runtime"
        chp = shutil.which("configurable-http-proxy", path=f"{BIN}{os.pathsep}"
                           f"{os.environ.get('PATH', '')}")
        assert chp, "configurable-http-proxy is not installed: pip install 'jupyter-mlp[test]'"
        config = f"""
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.public}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api}"
c.ConfigurableHTTPProxy.command = [{chp!r}]
c.JupyterHub.db_url = "sqlite:///{root / 'hub.sqlite'}"
c.JupyterHub.cookie_secret_file = "{root / 'cookie_secret'}"
c.JupyterHub.pid_file = "{root / 'hub.pid'}"
c.JupyterHub.cleanup_servers = True
c.JupyterHub.services = [
    {{"name": "mlp", "url": "http://127.0.0.1:{svc}", "oauth_no_confirm": True,
     "command": [{str(BIN / 'jupyter-mlp')!r}, "--allow-root",
                 "--MLP.db_url=sqlite:///{root / 'team.db'}",
                 "--MLP.artifact_root={root / 'bucket'}"],
     "environment": {{"MLP_HOME": "{root / 'svc-home'}"}}}},
    {{"name": "admin-svc", "api_token": {ADMIN!r}}},
]
c.JupyterHub.load_roles = [
    {{"name": "user", "scopes": ["self", "access:services!service=mlp"]}},
    {{"name": "test-admin", "services": ["admin-svc"],
     "scopes": ["admin:users", "admin:servers", "tokens", "access:servers"]}},
]
# Single-user servers: their Hub token may reach the mlp service, which they forward to.
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = "{root / 'homes' / '{username}'}"
c.Spawner.cmd = [{str(BIN / 'jupyterhub-singleuser')!r}]
c.Spawner.args = ["--allow-root"]
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",
                                 "access:services!service=mlp"]
c.Spawner.environment = {{"MLP_SHARED_SERVER_URL": "{self.url}/services/mlp",
                          "JUPYTER_RUNTIME_DIR": "{self.runtime}",
                          "MLP_SYSTEM_METRICS_INTERVAL": "0"}}
"""
        (root / "jupyterhub_config.py").write_text(config)
        self.log = root / "hub.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([str(BIN / "jupyterhub"), "-f",
                                          str(root / "jupyterhub_config.py")], cwd=root,
                                         stdout=log, stderr=subprocess.STDOUT)

    def api(self, method: str, path: str, token: str = ADMIN, **kw) -> requests.Response:
        return requests.request(method, f"{self.url}/hub/api/{path}", timeout=60,
                                headers={"Authorization": f"token {token}"}, **kw)

    def mlp(self, method: str, path: str, token: str | None, **kw) -> requests.Response:
        headers = {"Authorization": f"token {token}"} if token else {}
        return requests.request(method, f"{self.url}/services/mlp/mlp/api/v1/{path}",
                                timeout=60, headers=headers, **kw)

    def wait(self, what, check, timeout: float = 120) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if check():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{what} did not happen:\n{self.log.read_text()[-5000:]}")

    def user(self, name: str, **token_request) -> str:
        """A Hub user (created if new) and a fresh API token of theirs."""
        self.api("POST", f"users/{name}")
        resp = self.api("POST", f"users/{name}/tokens", json={"note": "test", **token_request})
        assert resp.status_code == 201, resp.text
        return resp.json()["token"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # the Hub stops its services, servers and proxy
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    _need("jupyterhub")
    hub = Hub(tmp_path_factory.mktemp("hub"))
    hub.wait("the Hub's start", lambda: hub.api("GET", "users").ok)
    token = hub.user("probe")
    hub.wait("the mlp service's start", lambda: hub.mlp("GET", "info", token).ok)
    yield hub
    hub.stop()


def test_a_hub_token_is_accepted_and_the_run_records_that_hub_user(hub):
    from mlp.transport.http import HttpTransport

    for name in ("alice", "bob"):
        t = HttpTransport(f"{hub.url}/services/mlp", hub.user(name))
        try:
            run = t.create_run("hub", "r", user="mallory")  # a claim, ignored
            assert run["user"] == name
        finally:
            t.close()


def test_the_service_refuses_anonymous_requests_and_tokens_without_its_scope(hub):
    assert hub.mlp("GET", "info", None).status_code in (401, 403)
    assert hub.mlp("POST", "runs", None, json={}).status_code in (401, 403)
    assert hub.mlp("GET", "info", "not-a-token").status_code in (401, 403)
    narrow = hub.user("carol", scopes=["read:users:name!user=carol"])
    assert hub.mlp("GET", "info", narrow).status_code == 403
    assert hub.mlp("GET", "info", hub.user("carol")).status_code == 200


def test_a_single_user_servers_kernel_logs_to_the_service_as_that_user(hub):
    token = hub.user("dora")
    assert hub.api("POST", "users/dora/server").status_code in (201, 202)
    hub.wait("dora's server", lambda: hub.api("GET", "users/dora").json()["servers"].get(
        "", {}).get("ready"))
    home = f"{hub.url}/user/dora"
    headers = {"Authorization": f"token {token}"}
    info = requests.get(f"{home}/mlp/api/v1/info", headers=headers, timeout=60).json()
    assert info["forwards_to"] == f"{hub.url}/services/mlp"
    Path(hub.root, "homes", "dora", "hub.ipynb").parent.mkdir(parents=True, exist_ok=True)
    session = requests.post(f"{home}/api/sessions", headers=headers, timeout=60, json={
        "path": "hub.ipynb", "name": "hub.ipynb", "type": "notebook",
        "kernel": {"name": "python3"}}).json()
    conn = hub.runtime / f"kernel-{session['kernel']['id']}.json"
    hub.wait("the kernel's start", conn.exists, 60)
    try:
        out = execute(conn, (
            "import mlp, os\n"
            "with mlp.start_run(experiment='hub-kernel') as run:\n"
            "    mlp.log_metric('acc', 0.9)\n"
            "print('RESULT', run.user, mlp.status()['transport'], os.environ['MLP_SERVER_URL'],\n"
            "      'MLP_SHARED_SERVER_TOKEN' in os.environ)\n"))
    finally:
        requests.delete(f"{home}/api/sessions/{session['id']}", headers=headers, timeout=60)
    (result,) = [line.split()[1:] for line in out.splitlines() if line.startswith("RESULT")]
    user, transport, url, leaked = result
    assert (user, transport, leaked) == ("dora", "http", "False")
    assert "/user/dora/" in url  # the kernel talks to its own server, which forwards
    (run,) = hub.mlp("POST", "runs/search", token, json={"experiment": "hub-kernel"}
                     ).json()["runs"]
    assert run["user"] == "dora" and run["metrics"] == {"acc": 0.9}
    assert run["source_name"].endswith("hub.ipynb")
    assert json.loads(hub.mlp("GET", "info", token).text)["store"].endswith("team.db")
