"""``jupyter mlp``: the same extension on its own, as a team's shared server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Standalone:
    """``jupyter mlp`` in a child process (``jupyter-mlp``, the script jupyter dispatches to)."""

    def __init__(self, tmp_path, args=(), env=None, prefix="/") -> None:
        self.port, self.token = free_port(), uuid.uuid4().hex
        self.url = f"http://127.0.0.1:{self.port}{prefix.rstrip('/')}"
        self.log = tmp_path / "mlp.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [os.path.join(os.path.dirname(sys.executable), "jupyter"), "mlp",
                 "--ip=127.0.0.1", f"--port={self.port}", "--allow-root",
                 f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={tmp_path}",
                 *args],
                env={**os.environ, "MLP_HOME": str(tmp_path / "home"), **(env or {})},
                stdout=log, stderr=subprocess.STDOUT)

    def get(self, path: str, token: str | None = None) -> requests.Response:
        return requests.get(f"{self.url}/{path}", timeout=30, allow_redirects=False,
                            headers={"Authorization": f"token {token or self.token}"})

    def wait(self) -> Standalone:
        deadline = time.time() + 60
        while time.time() < deadline and self.proc.poll() is None:
            try:
                if self.get("mlp/api/v1/info").ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"jupyter mlp did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def test_jupyter_mlp_serves_the_api_alone_on_the_store_it_is_given(tmp_path):
    db = f"sqlite:///{tmp_path / 'team.db'}"
    server = Standalone(tmp_path, (f"--MLP.db_url={db}",),
                        env={"MLP_ARTIFACT_ROOT": str(tmp_path / "bucket")}).wait()
    try:
        info = server.get("mlp/api/v1/info").json()
        assert info["store"] == db and info["artifact_root"] == str(tmp_path / "bucket")
        assert "forwards_to" not in info
        assert server.get("lab").status_code == 404  # no JupyterLab, no other extension
        # Jupyter's own routes are closed: logging runs here gives no kernels, no files.
        for path in ("api/kernels", "api/sessions", "api/contents", "api/kernelspecs"):
            assert server.get(path).status_code == 403, path
        started = requests.post(f"{server.url}/api/kernels", json={}, timeout=30,
                                headers={"Authorization": f"token {server.token}"})
        assert started.status_code == 403
        assert server.get("api/terminals").status_code in (403, 404)
        assert server.get("").headers["Location"].split("?")[0] == "/mlp/api/v1/info"
        assert requests.get(f"{server.url}/mlp/api/v1/info", timeout=30).status_code == 403
        assert "mlp_server is running without loading other extensions" in \
            server.log.read_text()
    finally:
        server.stop()


def test_jupyter_mlp_refuses_a_shared_store_that_was_not_upgraded(db_url, tmp_path):
    # SQLite upgrades itself unless told not to; a shared database never does.
    env = {"MLP_AUTO_MIGRATE": "0"} if db_url.startswith("sqlite") else {}
    server = Standalone(tmp_path, (f"--MLP.db_url={db_url}",), env=env)
    try:
        assert server.proc.wait(120) == 2
    finally:
        server.stop()
    log = server.log.read_text()
    assert "jupyter mlp db upgrade --db-url" in log, log[-3000:]
    upgrade = subprocess.run([sys.executable, "-m", "mlp_server.cli", "db", "upgrade",
                              "--db-url", db_url], capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    server = Standalone(tmp_path, (f"--MLP.db_url={db_url}",), env=env).wait()
    server.stop()


@pytest.mark.parametrize(("argv", "text"), [
    (["serve-now"], "unknown command 'serve-now'"),
    (["db"], "the following arguments are required: action"),
])
def test_jupyter_mlp_explains_a_command_it_does_not_know(argv, text):
    out = subprocess.run([sys.executable, "-m", "mlp_server.cli", *argv], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and text in out.stderr


def test_jupyter_mlp_help_names_the_db_commands():
    out = subprocess.run([sys.executable, "-m", "mlp_server.cli", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "jupyter mlp db upgrade" in out.stdout
