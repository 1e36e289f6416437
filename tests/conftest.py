"""Shared fixtures: an isolated MLP_HOME per test, and stores on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MLP_TEST_PG_URL")


@pytest.fixture(autouse=True)
def mlp_home(tmp_path, monkeypatch):
    """Every test gets its own MLP_HOME and a fresh SDK client."""
    import mlp._client

    home = tmp_path / "mlp-home"
    monkeypatch.setenv("MLP_HOME", str(home))
    for var in ("MLP_DB_URL", "MLP_ARTIFACT_ROOT", "MLP_SERVER_URL", "MLP_TOKEN",
                "MLP_EXPERIMENT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MLP_SYSTEM_METRICS_INTERVAL", "0")
    monkeypatch.setenv("MLP_CACHE_DIR", str(tmp_path / "mlp-cache"))
    yield home
    if mlp._client._client is not None:
        mlp._client._client.close()
        mlp._client._client = None


def _pg_database():
    """A fresh, empty PostgreSQL database; dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"mlp_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    return admin, name, url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A store URL on each backend: a SQLite file, and a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("MLP_TEST_PG_URL is not set in CI: .ci/run must start PostgreSQL")
        pytest.skip("MLP_TEST_PG_URL is not set: run the suite with `make test`")
    from sqlalchemy import text

    admin, name, url = _pg_database()
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _service(url, tmp_path):
    from mlp_server.store import Store
    from mlp_server.tracking import TrackingService
    from mlp_server.tracking.artifacts import ArtifactStore

    return TrackingService(Store(url, auto_migrate=True),
                           ArtifactStore(str(tmp_path / "artifacts")))


@pytest.fixture
def service(db_url, tmp_path):
    """The tracking service on each store backend."""
    svc = _service(db_url, tmp_path)
    yield svc
    svc.store.dispose()


@pytest.fixture(params=["local", "http"])
def transport(request, db_url, tmp_path, tmp_path_factory):
    """Each transport the SDK can use, over each store backend (the contract suite's subject).

    ``http`` talks to a real Jupyter server running the extension (one per backend and
    session, its store emptied before each test).
    """
    if request.param == "local":
        from mlp.transport.local import LocalTransport

        svc = _service(db_url, tmp_path)
        yield LocalTransport(svc)
        svc.store.dispose()
        return
    from mlp.transport.http import HttpTransport

    backend = "postgres" if db_url.startswith("postgresql") else "sqlite"
    server = _servers.get(backend)
    if server is None:
        server = _servers[backend] = JupyterServer.start(tmp_path_factory.mktemp(backend),
                                                         db_url)
    server.empty_store()
    t = HttpTransport(server.url, server.token)
    yield t
    t.close()


_servers: dict[str, JupyterServer] = {}


@pytest.fixture
def http_server(tmp_path_factory):
    """A real Jupyter server with the extension on a SQLite store, emptied for this test."""
    server = _servers.get("sqlite")
    if server is None:
        root = tmp_path_factory.mktemp("sqlite")
        server = _servers["sqlite"] = JupyterServer.start(root, f"sqlite:///{root / 's.db'}")
    server.empty_store()
    return server


@pytest.fixture(scope="session", autouse=True)
def _stop_servers():
    yield
    for server in _servers.values():
        server.stop()
    _servers.clear()


class JupyterServer:
    """A real ``jupyter server`` with the extension, in a child process."""

    def __init__(self, proc, url: str, token: str, db_url: str, root) -> None:
        self.proc, self.url, self.token, self.db_url, self.root = proc, url, token, db_url, root

    @classmethod
    def start(cls, root, db_url: str, extra: tuple[str, ...] = (), port: int = 0,
              token: str | None = None) -> JupyterServer:
        import socket
        import subprocess
        import sys
        import time

        import requests

        if not port:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
        token = token or uuid.uuid4().hex
        if db_url.startswith("postgresql"):  # the server's own database, migrated here
            _, _, db_url = _pg_database()
        from mlp_server.store import Store

        Store(db_url, auto_migrate=True).dispose()
        env = {**os.environ, "MLP_HOME": str(root / "home"), "MLP_DB_URL": db_url,
               "MLP_AUTO_MIGRATE": "1", "MLP_ARTIFACT_ROOT": str(root / "artifacts")}
        with open(root / "server.log", "wb") as log:  # the child keeps its own handle
            proc = subprocess.Popen(
                [sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1",
                 f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                 f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
                 f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True",
                 "--ServerApp.jpserver_extensions={'mlp_server': True}", *extra],
                env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(f"{url}/mlp/api/v1/info",
                                headers={"Authorization": f"token {token}"}, timeout=2).ok:
                    return cls(proc, url, token, db_url, root)
            except requests.RequestException:
                pass
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        proc.kill()
        raise RuntimeError("the Jupyter server did not start:\n"
                           + (root / "server.log").read_text()[-3000:])

    def empty_store(self) -> None:
        """Delete every row, so each test starts from an empty store (the schema stays)."""
        from sqlalchemy import create_engine, text

        from mlp_server.store.schema import AUDIT_APPEND_ONLY, metadata

        engine = create_engine(self.db_url)
        create, drop = AUDIT_APPEND_ONLY[engine.dialect.name]
        with engine.begin() as conn:
            for stmt in drop:  # the audit log refuses deletes: lift that for the reset
                conn.execute(text(stmt))
            for table in reversed(metadata.sorted_tables):
                conn.execute(table.delete())
            for stmt in create:
                conn.execute(text(stmt))
        engine.dispose()
        online = self.root / "home" / "online.db"  # the feature store's online values
        if online.exists():
            import sqlite3

            with sqlite3.connect(online) as con:
                for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = "
                                            "'table' AND name LIKE 'mlp_online_%'").fetchall():
                    con.execute(f"DELETE FROM {table}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except Exception:
            self.proc.kill()


@pytest.fixture
def client(tmp_path):
    """The SDK, in-process on a SQLite store of its own (the contract suite covers the rest)."""
    import mlp._client
    from mlp.transport.local import LocalTransport

    return mlp._client.reset(LocalTransport(_service(f"sqlite:///{tmp_path / 'sdk.db'}",
                                                     tmp_path)))
