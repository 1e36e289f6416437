"""The online store: the latest row per key of each materialized feature view version, in its
own database (SQLite by default, any SQLAlchemy URL).

One table per view version, ``mlp_online_<hash of view and version>``: ``key`` (the join key
values as a JSON list) is the primary key, then ``event_time`` and ``created_time``
(microseconds since the epoch, UTC) and one typed column per feature (``c0``, ``c1``, ... in
the view's feature order; timestamps as microseconds), so a lookup decodes nothing. A write
never moves a value backwards: it replaces the stored row only when its (event time, created
time) is at least as new, so re-materializing an old window leaves newer values in place.

SQLite is read through the standard library's ``sqlite3`` (one connection per thread,
memory-mapped): a lookup is one primary-key read, with no ORM in the way.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Sequence
from typing import Any

_SQL_TYPES = {"int": "BIGINT", "float": "DOUBLE PRECISION", "string": "TEXT",
              "bool": "BOOLEAN", "timestamp": "BIGINT"}


_MARKS = ["", *(",".join("?" * n) for n in range(1, 501))]


def key_string(values: Sequence[Any]) -> str:
    """The stored form of one entity's join key values."""
    return json.dumps(list(values), separators=(",", ":"), default=str)


def table_name(view: str, version: int) -> str:
    return "mlp_online_" + hashlib.sha1(f"{view}\0{version}".encode()).hexdigest()[:20]


class OnlineStore:
    """Upserts that never go backwards, and primary-key lookups."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._local = threading.local()
        self._ready: set[str] = set()
        self._selects: dict[tuple, tuple[str, str, str]] = {}
        self._lock = threading.Lock()
        if url.startswith("sqlite:///"):
            import os

            self.path = url[len("sqlite:///"):]
            if self.path not in ("", ":memory:"):
                os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self.engine = None
            self._sqlite()
        else:
            from sqlalchemy import create_engine

            self.path = None
            self.engine = create_engine(url, pool_pre_ping=True)

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
                                   isolation_level=None, cached_statements=512)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA mmap_size=1073741824")
            conn.execute("PRAGMA cache_size=-65536")
            self._local.conn = conn
        return conn

    def _exec_ddl(self, sql: str) -> None:
        if self.engine is None:
            self._sqlite().execute(sql)
            return
        from sqlalchemy import text

        with self.engine.begin() as conn:
            conn.execute(text(sql))

    def ensure(self, view: str, version: int, dtypes: Sequence[str],
               int_key: bool = False) -> str:
        """The table of a view version (created on first use). A view keyed by one integer
        column keeps it as an integer primary key (SQLite's rowid: the fastest lookup);
        others key by the JSON of their key values."""
        table = table_name(view, version)
        if table in self._ready:
            return table
        with self._lock:
            if table not in self._ready:
                cols = "".join(f", c{i} {_SQL_TYPES[d]}" for i, d in enumerate(dtypes))
                if int_key:
                    key = "INTEGER" if self.engine is None else "BIGINT"
                    rowid = ""
                else:
                    key, rowid = "VARCHAR(1024)", " WITHOUT ROWID" if self.engine is None else ""
                self._exec_ddl(f"CREATE TABLE IF NOT EXISTS {table} (key {key} NOT NULL "
                               f"PRIMARY KEY, event_time BIGINT NOT NULL, created_time BIGINT "
                               f"NOT NULL{cols}){rowid}")
                self._ready.add(table)
        return table

    def write(self, view: str, version: int, dtypes: Sequence[str],
              rows: Iterable[Sequence[Any]], int_key: bool = False) -> int:
        """Upsert ``(key, event_time_us, created_time_us, *values)`` rows in one transaction;
        returns how many were new or newer than what was stored."""
        batch = list(rows)
        if not batch:
            return 0
        t = self.ensure(view, version, dtypes, int_key)
        names = ["key", "event_time", "created_time", *(f"c{i}" for i in range(len(dtypes)))]
        sets = ", ".join(f"{n} = excluded.{n}" for n in names[1:])
        guard = (f"excluded.event_time > {t}.event_time OR (excluded.event_time = "
                 f"{t}.event_time AND excluded.created_time >= {t}.created_time)")
        if self.engine is None:
            sql = (f"INSERT INTO {t} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
                   f"ON CONFLICT (key) DO UPDATE SET {sets} WHERE {guard}")
            conn = self._sqlite()
            before = conn.total_changes
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(sql, batch)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            return conn.total_changes - before
        from sqlalchemy import text

        sql = (f"INSERT INTO {t} ({', '.join(names)}) VALUES "
               f"({', '.join(':' + n for n in names)}) ON CONFLICT (key) DO UPDATE SET {sets} "
               f"WHERE {guard}")
        with self.engine.begin() as conn:
            res = conn.execute(text(sql), [dict(zip(names, r, strict=True)) for r in batch])
            return res.rowcount if res.rowcount is not None and res.rowcount >= 0 else len(batch)

    def read(self, view: str, version: int, dtypes: Sequence[str], keys: Sequence[Any],
             cols: Sequence[int] | None = None, int_key: bool = False) -> dict[Any, tuple]:
        """``{key: (event_time_us, value, ...)}`` of the keys that are stored (``cols``: which
        features, by position; default all)."""
        sig = (view, version, None if cols is None else tuple(cols))
        got = self._selects.get(sig)
        if got is None:
            t = self.ensure(view, version, dtypes, int_key)
            picked = range(len(dtypes)) if cols is None else cols
            select = "key, event_time" + "".join(f", c{i}" for i in picked)
            got = self._selects[sig] = (t, select, f"SELECT {select} FROM {t} WHERE key = ?")
        t, select, one = got
        if self.engine is None:
            conn = self._sqlite()
            if len(keys) == 1:
                row = conn.execute(one, (keys[0],)).fetchone()
                return {} if row is None else {row[0]: row[1:]}
            out: dict[Any, tuple] = {}
            for i in range(0, len(keys), 500):
                part = keys[i:i + 500]
                rows = conn.execute(f"{one[:-4]} IN ({_MARKS[len(part)]})", part).fetchall()
                out.update({r[0]: r[1:] for r in rows})
            return out
        from sqlalchemy import bindparam, text

        stmt = text(f"SELECT {select} FROM {t} WHERE key IN :keys").bindparams(
            bindparam("keys", expanding=True))
        with self.engine.connect() as conn:
            return {r[0]: tuple(r[1:]) for r in conn.execute(stmt, {"keys": list(keys)})}

    def count(self, view: str, version: int, dtypes: Sequence[str],
              int_key: bool = False) -> int:
        t = self.ensure(view, version, dtypes, int_key)
        if self.engine is None:
            return self._sqlite().execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self.engine is not None:
            self.engine.dispose()
