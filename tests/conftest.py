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


@pytest.fixture
def transport(service):
    """Each transport the SDK can use, over each store backend (the contract suite's subject)."""
    from mlp.transport.local import LocalTransport

    return LocalTransport(service)


@pytest.fixture
def client(tmp_path):
    """The SDK, in-process on a SQLite store of its own (the contract suite covers the rest)."""
    import mlp._client
    from mlp.transport.local import LocalTransport

    return mlp._client.reset(LocalTransport(_service(f"sqlite:///{tmp_path / 'sdk.db'}",
                                                     tmp_path)))
