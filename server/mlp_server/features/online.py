"""The online store: the latest row per key of each materialized feature view version, in its
own database (SQLite by default, any SQLAlchemy URL).

One table, ``mlp_online``, keyed by (view, version, key): ``key`` is the join key values as a
JSON list, ``vals`` the feature values as a JSON list in the view's feature order, and times
are microseconds since the epoch (UTC). A write never moves a value backwards: it replaces the
stored row only when its (event time, created time) is at least as new, so re-materializing an
old window leaves newer values in place.

SQLite is read through the standard library's ``sqlite3`` (one connection per thread): a
lookup is one primary-key read, with no ORM in the way.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from typing import Any

_DDL = ("CREATE TABLE IF NOT EXISTS mlp_online (view VARCHAR(128) NOT NULL, "
        "version INTEGER NOT NULL, key VARCHAR(1024) NOT NULL, event_time BIGINT NOT NULL, "
        "created_time BIGINT NOT NULL, vals TEXT NOT NULL, "
        "PRIMARY KEY (view, version, key))")
_UPSERT = ("INSERT INTO mlp_online (view, version, key, event_time, created_time, vals) "
           "VALUES ({p}) ON CONFLICT (view, version, key) DO UPDATE SET "
           "event_time = excluded.event_time, created_time = excluded.created_time, "
           "vals = excluded.vals WHERE excluded.event_time > mlp_online.event_time OR "
           "(excluded.event_time = mlp_online.event_time AND "
           "excluded.created_time >= mlp_online.created_time)")


def key_string(values: Sequence[Any]) -> str:
    """The stored form of one entity's join key values."""
    return json.dumps(list(values), separators=(",", ":"), default=str)


class OnlineStore:
    """Upserts that never go backwards, and primary-key lookups."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        if url.startswith("sqlite:///"):
            import os

            self.path = url[len("sqlite:///"):]
            if self.path not in ("", ":memory:"):
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self.engine = None
            conn = self._sqlite()
            conn.execute(_DDL + " WITHOUT ROWID")
            conn.commit()
        else:
            from sqlalchemy import create_engine, text

            self.path = None
            self.engine = create_engine(url, pool_pre_ping=True)
            with self.engine.begin() as conn:
                conn.execute(text(_DDL))

    @property
    def display_url(self) -> str:
        if self.engine is not None:
            return self.engine.url.render_as_string(hide_password=True)
        return self.url

    def _sqlite(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            import sqlite3

            conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False,
                                   isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def write(self, view: str, version: int, rows: Iterable[tuple[str, int, int, str]]) -> int:
        """Upsert ``(key, event_time_us, created_time_us, vals_json)`` rows in one transaction;
        returns how many were new or newer than what was stored."""
        batch = [(view, version, *r) for r in rows]
        if not batch:
            return 0
        if self.engine is None:
            conn = self._sqlite()
            before = conn.total_changes
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_UPSERT.format(p="?, ?, ?, ?, ?, ?"), batch)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return conn.total_changes - before
        from sqlalchemy import text

        names = ("view", "version", "key", "ev", "cr", "vals")
        stmt = text(_UPSERT.format(p=", ".join(f":{n}" for n in names)))
        with self.engine.begin() as conn:
            res = conn.execute(stmt, [dict(zip(names, r, strict=True)) for r in batch])
            return res.rowcount if res.rowcount is not None and res.rowcount >= 0 else len(batch)

    def read(self, view: str, version: int, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
        """``{key: (event_time_us, vals_json)}`` of the keys that are stored."""
        if self.engine is None:
            conn = self._sqlite()
            if len(keys) == 1:
                row = conn.execute("SELECT key, event_time, vals FROM mlp_online WHERE view = ? "
                                   "AND version = ? AND key = ?", (view, version, keys[0])
                                   ).fetchone()
                return {} if row is None else {row[0]: (row[1], row[2])}
            out: dict[str, tuple[int, str]] = {}
            for i in range(0, len(keys), 500):
                part = list(keys[i:i + 500])
                marks = ",".join("?" * len(part))
                for k, ev, vals in conn.execute(
                        f"SELECT key, event_time, vals FROM mlp_online WHERE view = ? AND "
                        f"version = ? AND key IN ({marks})", (view, version, *part)):
                    out[k] = (ev, vals)
            return out
        from sqlalchemy import bindparam, text

        stmt = text("SELECT key, event_time, vals FROM mlp_online WHERE view = :view AND "
                    "version = :version AND key IN :keys").bindparams(
            bindparam("keys", expanding=True))
        with self.engine.connect() as conn:
            return {r[0]: (r[1], r[2]) for r in conn.execute(
                stmt, {"view": view, "version": version, "keys": list(keys)})}

    def count(self, view: str, version: int) -> int:
        if self.engine is None:
            return self._sqlite().execute("SELECT count(*) FROM mlp_online WHERE view = ? AND "
                                          "version = ?", (view, version)).fetchone()[0]
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM mlp_online WHERE view = :v AND "
                                     "version = :n"), {"v": view, "n": version}).scalar_one()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self.engine is not None:
            self.engine.dispose()
