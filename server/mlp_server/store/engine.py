"""Opening the store: engine set-up per dialect, schema check and migrations."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url

from mlp.errors import SchemaMismatch

from .. import __version__

#: The Alembic revision this code needs; tests check it is the migrations' head.
SCHEMA_REVISION = "0005"

MIGRATIONS = Path(__file__).parent / "migrations"


class Store:
    """An engine bound to a migrated schema, with read and write transactions.

    SQLite writers take the write lock when their transaction begins
    (``BEGIN IMMEDIATE``), so concurrent processes queue on the busy timeout
    instead of failing with "database is locked" when a read lock cannot be
    upgraded.
    """

    def __init__(self, url: str, *, auto_migrate: bool, busy_timeout_ms: int = 60_000,
                 check: bool = True) -> None:
        self.url = make_url(url)
        self.dialect = self.url.get_backend_name()
        self.engine = _make_engine(url, busy_timeout_ms)
        self._writer = self.engine
        if self.dialect == "sqlite":
            self._writer = self.engine.execution_options(mlp_begin="BEGIN IMMEDIATE")
        if check:
            self._check_schema(auto_migrate)

    @property
    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def _upgrade_command(self) -> str:
        cmd = f"jupyter mlp db upgrade --db-url '{self.display_url}'"
        return cmd + " (with the password in place of ***)" if self.url.password else cmd

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        with self._writer.connect() as conn, conn.begin():
            yield conn

    def revision(self) -> str | None:
        """The schema revision stored in the database, None when it has none."""
        with self.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return None
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()

    def upgrade(self) -> str:
        """Bring the schema to this version's revision; returns the revision."""
        from alembic import command

        with self._migration_lock(), self.engine.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return SCHEMA_REVISION

    def dispose(self) -> None:
        self.engine.dispose()

    def _check_schema(self, auto_migrate: bool) -> None:
        current = self.revision()
        if current == SCHEMA_REVISION:
            return
        if auto_migrate and (current is None or current in known_revisions()):
            self.upgrade()
            return
        if current is None:
            raise SchemaMismatch(
                f"the database at {self.display_url} has no jupyter-mlp schema yet. "
                f"Create it with: {self._upgrade_command}"
            )
        if current in known_revisions():
            raise SchemaMismatch(
                f"the database at {self.display_url} is at schema revision {current}; "
                f"jupyter-mlp {__version__} needs {SCHEMA_REVISION}. Upgrade it with: "
                f"{self._upgrade_command}"
            )
        raise SchemaMismatch(
            f"the database at {self.display_url} is at schema revision {current}, which "
            f"jupyter-mlp {__version__} does not know: it was upgraded by a newer version. "
            "Upgrade jupyter-mlp (pip install -U jupyter-mlp)."
        )

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        # Several processes may open a fresh embedded store at once; only one migrates.
        db = self.url.database
        if self.dialect != "sqlite" or not db or db == ":memory:":
            yield
            return
        with open(f"{db}.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def alembic_config():  # -> alembic.config.Config, imported lazily
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}


def _make_engine(url: str, busy_timeout_ms: int) -> Engine:
    u = make_url(url)
    if u.get_backend_name() == "postgresql":
        pg = create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)

        @event.listens_for(pg, "connect")
        def _pg_session(dbapi_conn, _record) -> None:
            # JIT costs ~30 ms per search and never pays off for these short queries; nor
            # do parallel workers. Set per session, so the URL's own options still apply.
            cur = dbapi_conn.cursor()
            cur.execute("SET jit = off")
            cur.execute("SET max_parallel_workers_per_gather = 0")
            cur.close()
            dbapi_conn.commit()

        return pg
    if u.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=8, max_overflow=8)
    if u.database and u.database != ":memory:":
        Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, so writers can ask for IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # The default 2 MB page cache halves search speed on a 100k-run store.
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA mmap_size=268435456")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(conn.get_execution_options().get("mlp_begin", "BEGIN"))

    return engine


def open_store(config=None) -> Store:
    """Open the store described by an ``MLP`` config (default: from the environment)."""
    from ..config import MLP

    cfg = config or MLP()
    if cfg.db_url.startswith("sqlite"):
        os.makedirs(cfg.home, exist_ok=True)
    return Store(cfg.db_url, auto_migrate=cfg.auto_migrate, busy_timeout_ms=cfg.sqlite_busy_timeout)


#: PostgreSQL error classes that pass: connection, shutdown, too many connections,
#: serialization and deadlock (SQLSTATE prefixes).
_PG_TRANSIENT = ("08", "57P01", "57P02", "57P03", "53300", "40001", "40P01")


def store_unavailable(e: BaseException) -> bool:
    """Whether the store is briefly away (so a client should retry), not broken."""
    from sqlalchemy import exc

    if isinstance(e, exc.TimeoutError):  # no connection free in the pool
        return True
    if not isinstance(e, exc.DBAPIError):
        return False
    if e.connection_invalidated:
        return True
    code = getattr(e.orig, "sqlstate", None) or getattr(e.orig, "pgcode", None)
    if code:
        return str(code).startswith(_PG_TRANSIENT)
    text = str(e.orig).lower()
    if isinstance(e, exc.OperationalError):
        # SQLite: another writer holds the lock; psycopg without a code: cannot connect.
        return any(w in text for w in ("database is locked", "database is busy",
                                       "connection", "could not connect", "server closed"))
    return isinstance(e, exc.InterfaceError)
