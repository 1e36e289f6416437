"""The store: migrations, schema checks, the upgrade command, SQLite set-up."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from mlp.errors import SchemaMismatch
from mlp_server import cli
from mlp_server.store import SCHEMA_REVISION, Store
from mlp_server.store.engine import alembic_config


def test_code_revision_is_the_migrations_head():
    from alembic.script import ScriptDirectory

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_REVISION


def test_migrated_schema_matches_the_table_definitions(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from mlp_server.store.schema import metadata

    store = Store(db_url, auto_migrate=True)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    store.dispose()
    assert diff == []


def test_shared_database_without_schema_is_refused_with_the_command_to_run(db_url, capsys):
    with pytest.raises(SchemaMismatch, match="jupyter mlp db upgrade --db-url"):
        Store(db_url, auto_migrate=False)
    assert cli.main(["db", "current", "--db-url", db_url]) == 0
    assert f"schema empty (needs {SCHEMA_REVISION})" in capsys.readouterr().out
    assert cli.main(["db", "upgrade", "--db-url", db_url]) == 0
    assert f"-> {SCHEMA_REVISION}" in capsys.readouterr().out
    store = Store(db_url, auto_migrate=False)
    assert store.revision() == SCHEMA_REVISION
    store.dispose()
    assert cli.main(["db", "current", "--db-url", db_url]) == 0
    assert "(up to date)" in capsys.readouterr().out


def test_a_schema_from_a_newer_version_is_refused_even_with_auto_migrate(db_url):
    store = Store(db_url, auto_migrate=True)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.dispose()
    with pytest.raises(SchemaMismatch, match="does not know: it was upgraded by a newer version"):
        Store(db_url, auto_migrate=True)


def test_upgrade_keeps_existing_data(db_url):
    from mlp_server.tracking import TrackingService
    from mlp_server.tracking.artifacts import ArtifactStore

    store = Store(db_url, auto_migrate=True)
    svc = TrackingService(store, ArtifactStore("memory://mlp-test"))
    run = svc.create_run("keep", "me")
    assert cli.main(["db", "upgrade", "--db-url", db_url]) == 0
    assert svc.get_run(run["id"])["name"] == "me"
    store.dispose()


def test_a_store_at_the_first_revision_upgrades_with_its_runs_and_metrics(db_url):
    from alembic import command
    from sqlalchemy import text

    from mlp_server.store.engine import alembic_config

    store = Store(db_url, auto_migrate=False, check=False)
    with store.engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.execute(text("INSERT INTO experiments (name, created_at) VALUES ('old', 1)"))
    assert store.revision() == "0001"
    assert cli.main(["db", "upgrade", "--db-url", db_url]) == 0
    assert store.revision() == SCHEMA_REVISION
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM experiments")).scalar() == "old"
        assert conn.execute(text("SELECT count(*) FROM metric_batches")).scalar() == 0
    store.dispose()


def test_embedded_sqlite_uses_wal_and_creates_its_folder(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'deep' / 'er' / 'mlp.db'}", auto_migrate=True)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.dispose()


def test_urls_shown_in_messages_hide_the_password():
    store = Store("postgresql+psycopg://ana:hunter2@127.0.0.1:1/mlp", auto_migrate=False,
                  check=False)
    assert "hunter2" not in store.display_url and "ana" in store.display_url
    store.dispose()


def test_one_run_with_a_garbage_pid_does_not_stop_crash_detection(service):
    import socket

    from sqlalchemy import update

    from mlp_server.store.schema import runs

    bad = service.create_run("reap", "bad", host=socket.gethostname(), pid=1)
    gone = service.create_run("reap", "gone", host="elsewhere", pid=123)
    with service.store.write() as conn:  # as an older version might have stored it
        conn.execute(update(runs).where(runs.c.id == bad["id"]).values(pid=-5))
        conn.execute(update(runs).where(runs.c.id == gone["id"]).values(heartbeat_at=1.0))
    crashed = service.reap(force=True)
    assert gone["id"] in crashed
    assert service.get_run(bad["id"])["status"] == "running"
