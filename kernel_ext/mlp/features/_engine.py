"""DuckDB over feature sources: point-in-time correct training frames, the rows
materialization writes online, samples and statistics. Runs where it is called: the SDK's
process for training frames (the data never crosses the server as JSON), the server for
materialization.

The rules (``get_training_frame``'s docstring states them for users):

* candidates for an entity row at ``t`` and a view with TTL ``d`` have the same keys and an
  event time in ``[t - d, t]``; without a TTL there is no lower bound;
* the latest event time wins, then the latest created time (a missing created time counts as
  the event time), then, for rows equal in both, the largest ``hash()`` of the feature values:
  arbitrary but fixed by the data, whatever order or files the rows are stored in;
* the winning row is returned whole (a null stays null); no candidate gives nulls;
* ``as_of`` leaves out rows created after it.

All of it is one ``ASOF LEFT JOIN`` per view on ``(event time, created time, hash)``, so a
tie costs nothing extra, and DuckDB spills to disk when the join outgrows its memory limit.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import InvalidInput, MLPError

#: The probe's upper bound on (created time, hash): every row with event time <= t qualifies.
_PROBE = "struct_pack(a := {t}, b := 'infinity'::TIMESTAMP, c := 18446744073709551615::UBIGINT)"


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + str(name).replace('"', '""') + '"'


def lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def utc(expr: str) -> str:
    """A timestamp expression as a naive UTC TIMESTAMP (the session's time zone is UTC: naive
    values are taken as UTC, aware ones compared as instants)."""
    return f"CAST(CAST({expr} AS TIMESTAMPTZ) AS TIMESTAMP)"


def ts_literal(seconds: float) -> str:
    return f"make_timestamp({int(round(seconds * 1_000_000))}::BIGINT)"


class Engine:
    """One DuckDB connection (UTC, bounded memory, spilling to ``temp_dir``)."""

    def __init__(self, blob_uri: Callable[[str], str] | None = None, *,
                 memory_limit: str | None = None, temp_dir: str | None = None,
                 threads: int | None = None) -> None:
        self.blob_uri = blob_uri
        self.memory_limit = memory_limit or os.environ.get("MLP_FEATURES_MEMORY_LIMIT") or "2GB"
        self.temp_dir = temp_dir
        self.threads = threads
        self._con: Any = None
        self._registered: dict[str, str] = {}
        self._fs: set[str] = set()

    @property
    def con(self):
        if self._con is None:
            try:
                import duckdb
            except ImportError:
                from ..errors import ServerDependencyMissing

                raise ServerDependencyMissing(
                    "training frames and materialization need DuckDB: "
                    "pip install 'jupyter-mlp[features]'") from None
            con = duckdb.connect()
            con.execute("SET TimeZone = 'UTC'")
            con.execute(f"SET memory_limit = {lit(self.memory_limit)}")
            tmp = self.temp_dir or os.path.join(tempfile.gettempdir(), "mlp-duckdb")
            os.makedirs(tmp, exist_ok=True)
            con.execute(f"SET temp_directory = {lit(tmp)}")
            con.execute("SET preserve_insertion_order = false")
            if self.threads:
                con.execute(f"SET threads = {int(self.threads)}")
            con.execute("SET enable_progress_bar = true")
            con.execute("SET enable_progress_bar_print = false")
            self._con = con
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
            self._registered.clear()

    # -- sources -------------------------------------------------------------------------

    def _filesystem(self, uri: str) -> None:
        """Let DuckDB read an fsspec URL (s3://, gs://, memory://, ...) through fsspec."""
        if "://" not in uri or uri.startswith("file://"):
            return
        protocol = uri.split("://", 1)[0]
        if protocol in self._fs:
            return
        import fsspec

        self.con.register_filesystem(fsspec.filesystem(protocol))
        self._fs.add(protocol)

    def source_sql(self, source: dict) -> str:
        """A FROM expression reading a source."""
        kind = source["kind"]
        if kind in ("parquet", "csv"):
            uri = source["uri"]
            if uri.startswith("file://"):
                uri = uri[len("file://"):]
            self._filesystem(uri)
            pattern = uri
            if self._is_folder(uri):
                ext = "parquet" if kind == "parquet" else "csv"
                pattern = uri.rstrip("/") + f"/**/*.{ext}"
            opts = dict(source.get("options") or {})
            if kind == "parquet":
                args = ", hive_partitioning = true, union_by_name = true"
                return f"read_parquet({lit(pattern)}{args})"
            extra = "".join(f", {k} = {_opt(v)}" for k, v in opts.items())
            return f"read_csv({lit(pattern)}, header = true, union_by_name = true{extra})"
        if kind == "dataframe":
            if self.blob_uri is None:
                raise MLPError("this engine cannot read stored DataFrame sources")
            uri = self.blob_uri(source["digest"])
            self._filesystem(uri)
            return f"read_parquet({lit(uri)})"
        if kind == "sql":
            key = f"{source['url']}\0{source['query']}"
            if key not in self._registered:
                name = f"__mlp_sql_{len(self._registered)}"
                self.con.register(name, _read_sql(source))
                self._registered[key] = name
            return self._registered[key]
        raise InvalidInput(f"unknown source kind {kind!r}", field="source")

    @staticmethod
    def _is_folder(uri: str) -> bool:
        if "*" in uri:
            return False
        if "://" not in uri:
            return os.path.isdir(uri)
        from fsspec.core import url_to_fs

        fs, path = url_to_fs(uri)
        try:
            return fs.isdir(path)
        except Exception:
            return False

    def column_types(self, source: dict) -> dict[str, str]:
        """The source's column types, read once per engine (they decide which casts the
        queries need: a cast on every one of millions of rows is not free)."""
        key = repr(sorted(source.items()))
        cache = self.__dict__.setdefault("_types", {})
        if key not in cache:
            cache[key] = dict(self.describe(source))
        return cache[key]

    def describe(self, source: dict) -> list[tuple[str, str]]:
        """The source's columns and DuckDB types (a clear error when it cannot be read)."""
        try:
            rows = self.con.sql(f"DESCRIBE SELECT * FROM {self.source_sql(source)}").fetchall()
        except MLPError:
            raise
        except Exception as e:
            raise InvalidInput(f"cannot read the source {_where(source)}: {_first_line(e)}",
                               field="source") from None
        return [(r[0], r[1]) for r in rows]

    def view_rows(self, view: dict, *, as_of: float | None = None, alias: str = "f") -> str:
        """The view's rows with internal columns: keys as is, ``__ev``/``__cr`` (UTC), the
        features as ``__f0..``, and ``__o``, the ordering struct the rules rank by."""
        types = self.column_types(view["source"])
        ev = _as_utc(view["event_time"], types)
        cr = _as_utc(view["created_time"], types) if view.get("created_time") else None
        created = f"coalesce({cr}, {ev})" if cr else ev
        cols = [q(k) for k in view["join_keys"]]
        cols += [f"{ev} AS __ev", f"{created} AS __cr"]
        cols += [f"{_typed(f['name'], f['dtype'], types)} AS __f{i}"
                 for i, f in enumerate(view["features"])]
        inner = f"SELECT {', '.join(cols)} FROM {self.source_sql(view['source'])}"
        where = "__ev IS NOT NULL"
        if as_of is not None:
            where += f" AND __cr <= {ts_literal(as_of)}"
        fs = ", ".join(f"__f{i}" for i in range(len(view["features"]))) or "NULL"
        return (f"SELECT *, struct_pack(a := __ev, b := __cr, c := hash({fs})) AS __o "
                f"FROM ({inner}) {alias}_raw WHERE {where}")

    # -- training frames -----------------------------------------------------------------

    def training_frame(self, entity: Any, plan: Sequence[dict], timestamp: str, *,
                       as_of: float | None = None, explain: bool = False,
                       output: str | None = None,
                       progress: Callable[[float], None] | None = None) -> Any:
        """The features of ``plan`` (``[{"view": def, "features": [(name, out_name)]}]``)
        for each row of ``entity`` (a DataFrame, or a Parquet path when ``output`` is a
        Parquet path to write). Returns the feature columns in input order (a DataFrame with
        a ``__row`` column), or, with ``output``, the number of rows written."""
        con = self.con
        keys: list[str] = []
        for p in plan:
            keys += [k for k in p["view"]["join_keys"] if k not in keys]
        e_sql, passthrough = self._entity(entity, keys, timestamp)
        views, joins, outs, whys = [], [], [], []
        for i, p in enumerate(plan):
            v = p["view"]
            ttl = v.get("ttl")
            views.append(f"f{i} AS ({self.view_rows(v, as_of=as_of, alias=f'f{i}')})")
            on = [f"{_cast_key(f'e.{q(k)}', v, k)} = f{i}.{q(k)}" for k in v["join_keys"]]
            on.append(f"e.__probe >= f{i}.__o")
            joins.append(f"ASOF LEFT JOIN f{i} ON {' AND '.join(on)}")
            live = f"f{i}.__ev IS NOT NULL" + (
                f" AND f{i}.__ev >= e.__t - to_microseconds({int(ttl * 1e6)}::BIGINT)"
                if ttl else "")
            idx = {f["name"]: j for j, f in enumerate(v["features"])}
            for name, out in p["features"]:
                outs.append(f"CASE WHEN {live} THEN f{i}.__f{idx[name]} END AS {q(out)}")
            if explain:
                views.append(f"k{i} AS (SELECT DISTINCT {self._key_cols(v)}, true AS __present "
                             f"FROM ({self.view_rows(v, alias=f'k{i}')}) k{i}_rows)")
                kon = [f"{_cast_key(f'e.{q(k)}', v, k)} = k{i}.{q(k)}" for k in v["join_keys"]]
                joins.append(f"LEFT JOIN k{i} ON {' AND '.join(kon) or 'true'}")
                if as_of is not None:
                    views.append(f"a{i} AS ({self.view_rows(v, alias=f'a{i}')})")
                    aon = [f"{_cast_key(f'e.{q(k)}', v, k)} = a{i}.{q(k)}"
                           for k in v["join_keys"]]
                    aon.append(f"e.__probe >= a{i}.__o")
                    joins.append(f"ASOF LEFT JOIN a{i} ON {' AND '.join(aon)}")
                    alive = f"a{i}.__ev IS NOT NULL" + (
                        f" AND a{i}.__ev >= e.__t - to_microseconds({int(ttl * 1e6)}::BIGINT)"
                        if ttl else "")
                    none_le_t = f"a{i}.__ev IS NULL"
                else:
                    alive, none_le_t = "false", f"f{i}.__ev IS NULL"
                for name, out in p["features"]:
                    whys.append(
                        f"CASE WHEN f{i}.__f{idx[name]} IS NOT NULL AND {live} THEN NULL "
                        f"WHEN e.__t IS NULL THEN 'no_timestamp' "
                        f"WHEN k{i}.__present IS NULL THEN 'no_rows_for_key' "
                        f"WHEN {live} THEN 'null_value' "
                        f"WHEN {alive} THEN 'created_after_as_of' "
                        f"WHEN {none_le_t} THEN 'only_future_rows' "
                        f"ELSE 'outside_ttl' END AS {q(out + '__why')}")
        select = ", ".join(["e.__row", *passthrough, *outs, *whys])
        sql = (f"WITH e AS ({e_sql}), {', '.join(views)} SELECT {select} FROM e "
               f"{' '.join(joins)} ORDER BY e.__row")
        try:
            if output is not None:
                cols = ", ".join(c for c in [*passthrough_names(passthrough), *(
                    q(o) for p in plan for _, o in p["features"]), *(
                    q(o + "__why") for p in plan for _, o in p["features"] if explain)])
                copy = (f"COPY (SELECT {cols} FROM ({sql}) ORDER BY __row) TO {lit(output)} "
                        "(FORMAT parquet)")
                self._run(lambda: con.execute(copy), progress)
                return con.sql(f"SELECT count(*) FROM read_parquet({lit(output)})").fetchall()[0][0]
            return self._run(lambda: con.sql(sql).df(), progress)
        except MLPError:
            raise
        except Exception as e:
            raise _engine_error(e) from None
        finally:
            with contextlib.suppress(Exception):
                con.unregister("__mlp_entity")

    def _entity(self, entity: Any, keys: list[str], timestamp: str) -> tuple[str, list[str]]:
        """The entity rows' SQL (``__row``, ``__t``, ``__probe`` and the keys) and, for a
        Parquet input, the columns passed through."""
        import numpy as np
        import pandas as pd

        if isinstance(entity, pd.DataFrame):
            cols = {"__row": np.arange(len(entity), dtype=np.int64),
                    "__t": _utc_naive(entity[timestamp], timestamp)}
            for k in keys:
                cols[k] = entity[k].to_numpy() if entity[k].dtype != object else entity[k]
            self.con.register("__mlp_entity", pd.DataFrame(cols, copy=False))
            probe = _PROBE.format(t="__t")
            return (f"SELECT __row, __t, {', '.join(q(k) for k in keys)}"
                    f"{',' if keys else ''} {probe} AS __probe FROM __mlp_entity", [])
        path = str(entity)
        self._filesystem(path)
        src = f"read_parquet({lit(path)}, file_row_number = true, filename = true)"
        names = [r[0] for r in self.con.sql(f"DESCRIBE SELECT * FROM {src}").fetchall()
                 if r[0] not in ("file_row_number", "filename")]
        t = utc(q(timestamp))
        inner = (f"SELECT *, row_number() OVER (ORDER BY filename, file_row_number) - 1 AS __row,"
                 f" {t} AS __t FROM {src}")
        probe = _PROBE.format(t="__t")
        return (f"SELECT *, {probe} AS __probe FROM ({inner})",
                [f"e.{q(n)}" for n in names])

    @staticmethod
    def _key_cols(view: dict) -> str:
        return ", ".join(q(k) for k in view["join_keys"]) or "NULL AS __nokey"

    def _run(self, fn: Callable[[], Any], progress: Callable[[float], None] | None) -> Any:
        """Run a query; while it runs, report DuckDB's progress (0-100) every 0.2 s."""
        if progress is None:
            return fn()
        con = self.con  # made here, once: the worker and this thread must share it
        box: dict[str, Any] = {}

        def work():
            try:
                box["out"] = fn()
            except BaseException as e:  # re-raised in the caller's thread
                box["err"] = e

        th = threading.Thread(target=work, name="mlp-duckdb", daemon=True)
        th.start()
        while th.is_alive():
            th.join(0.2)
            if th.is_alive():
                try:
                    p = con.query_progress()
                except Exception:
                    p = -1
                progress(float(p))
        if "err" in box:
            raise box["err"]
        progress(100.0)
        return box["out"]

    # -- materialization -----------------------------------------------------------------

    def latest_rows(self, view: dict, start: float | None, end: float, cutoff: float,
                    created_since: float | None = None):
        """Per key, the winning row among those with an event time in ``[start, end]`` that
        were created by ``cutoff`` (with ``created_since``: also older rows created since
        then, late data), as an Arrow record batch reader of keys, ``__ev``, ``__cr`` and the
        features (times as microseconds since the epoch); and the number of keys."""
        feats = ", ".join(f"epoch_us(__f{i}) AS __f{i}" if f["dtype"] == "timestamp" else
                          f"__f{i}" for i, f in enumerate(view["features"]))
        where = [f"__ev <= {ts_literal(end)}", f"__cr <= {ts_literal(cutoff)}",
                 *(f"{q(k)} IS NOT NULL" for k in view["join_keys"])]
        if start is not None:
            window = f"__ev >= {ts_literal(start)}"
            if created_since is not None and view.get("created_time"):
                window = f"({window} OR __cr > {ts_literal(created_since)})"
            where.append(window)
        keys = ", ".join(q(k) for k in view["join_keys"])
        part = f"PARTITION BY {keys} " if keys else ""
        sql = (f"SELECT {keys}{',' if keys else ''} epoch_us(__ev) AS __ev, "
               f"epoch_us(__cr) AS __cr, {feats} FROM "
               f"({self.view_rows(view)}) r WHERE {' AND '.join(where)} "
               f"QUALIFY row_number() OVER ({part}ORDER BY __o DESC) = 1")
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE __mlp_latest AS {sql}")
            n = self.con.sql("SELECT count(*) FROM __mlp_latest").fetchall()[0][0]
            return self.con.sql("SELECT * FROM __mlp_latest").to_arrow_reader(50_000), n
        except MLPError:
            raise
        except Exception as e:
            raise _engine_error(e, view) from None

    # -- browsing ------------------------------------------------------------------------

    def sample(self, view: dict, n: int = 10) -> Any:
        cols = [*view["join_keys"], view["event_time"]]
        if view.get("created_time"):
            cols.append(view["created_time"])
        cols += [f["name"] for f in view["features"]]
        sql = (f"SELECT {', '.join(q(c) for c in cols)} FROM {self.source_sql(view['source'])} "
               f"ORDER BY {q(view['event_time'])} DESC NULLS LAST LIMIT {int(n)}")
        try:
            return self.con.sql(sql).df()
        except Exception as e:
            raise _engine_error(e, view) from None

    def stats(self, view: dict) -> dict:
        """Rows, keys, event-time range, and per feature nulls, min, max, mean."""
        src = self.source_sql(view["source"])
        ev = utc(q(view["event_time"]))
        keys = ", ".join(q(k) for k in view["join_keys"])
        parts = ["count(*)", f"min({ev})", f"max({ev})",
                 f"count(DISTINCT ({keys}))" if keys else "1"]
        for f in view["features"]:
            c = q(f["name"])
            parts.append(f"count(*) - count({c})")
            if f["dtype"] in ("int", "float"):
                parts += [f"min({c})::DOUBLE", f"max({c})::DOUBLE", f"avg({c})::DOUBLE"]
            else:
                parts += ["NULL", "NULL", "NULL"]
        try:
            row = self.con.sql(f"SELECT {', '.join(parts)} FROM {src}").fetchall()[0]
        except Exception as e:
            raise _engine_error(e, view) from None
        out = {"rows": row[0], "keys": row[3],
               "event_time_min": _seconds(row[1]), "event_time_max": _seconds(row[2]),
               "features": {}}
        for i, f in enumerate(view["features"]):
            nulls, lo, hi, mean = row[4 + 4 * i: 8 + 4 * i]
            out["features"][f["name"]] = {"nulls": nulls, "min": lo, "max": hi, "mean": mean}
        return out


def passthrough_names(cols: list[str]) -> list[str]:
    return [c.split(".", 1)[1] for c in cols]


_DUCK = {"int": "BIGINT", "float": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN"}


def _as_utc(col: str, types: dict[str, str]) -> str:
    """A time column as a naive UTC TIMESTAMP, with no more casting than its type needs."""
    t = (types.get(col) or "").upper()
    if t == "TIMESTAMP":
        return q(col)
    if t.startswith("TIMESTAMP") or t == "DATE":  # aware (the session is UTC), or precision
        return f"CAST({q(col)} AS TIMESTAMP)"
    return utc(q(col))


def _typed(col: str, dtype: str, types: dict[str, str]) -> str:
    """A feature column as its declared dtype (timestamps as naive UTC)."""
    if dtype == "timestamp":
        return _as_utc(col, types)
    want = _DUCK[dtype]
    have = (types.get(col) or "").upper()
    return q(col) if have == want else f"CAST({q(col)} AS {want})"


def _cast_key(expr: str, view: dict, key: str) -> str:
    t = (view.get("key_types") or {}).get(key)
    return f"CAST({expr} AS {t})" if t else expr


def _utc_naive(col: Any, name: str) -> Any:
    import pandas as pd

    try:
        out = pd.to_datetime(col, utc=True)
    except (ValueError, TypeError) as e:
        raise InvalidInput(f"entity column {name!r} does not hold times: {e}",
                           field="timestamp") from None
    return out.dt.tz_localize(None).to_numpy(dtype="datetime64[us]")


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    from datetime import timezone

    if getattr(value, "tzinfo", None) is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def _opt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return lit(str(v))


def _read_sql(source: dict) -> Any:
    import pandas as pd

    try:
        from sqlalchemy import create_engine, text
    except ImportError:
        from ..errors import ServerDependencyMissing

        raise ServerDependencyMissing("SQL sources need SQLAlchemy: pip install sqlalchemy") \
            from None
    engine = create_engine(source["url"])
    try:
        with engine.connect() as conn:
            return pd.read_sql(text(source["query"]), conn)
    except Exception as e:
        raise InvalidInput(f"the SQL source failed ({source['query'][:80]!r}): "
                           f"{_first_line(e)}", field="source") from None
    finally:
        engine.dispose()


def _where(source: dict) -> str:
    if source["kind"] == "sql":
        return f"(SQL {source['query'][:60]!r})"
    if source["kind"] == "dataframe":
        return "(a stored DataFrame)"
    return repr(source.get("uri"))


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]


def _engine_error(e: BaseException, view: dict | None = None) -> MLPError:
    msg = _first_line(e)
    where = f" of view {view['name']!r} {_where(view['source'])}" if view else ""
    if "Conversion Error" in msg or "Could not convert" in msg or "Binder Error" in msg:
        return InvalidInput(f"the data{where} does not fit the definition: {msg}",
                            field="features")
    if "IO Error" in msg or "No files found" in msg:
        return InvalidInput(f"cannot read the source{where}: {msg}", field="source")
    if "Out of Memory" in msg:
        return MLPError(f"DuckDB ran out of memory{where}: {msg} — raise memory_limit= or "
                        "MLP_FEATURES_MEMORY_LIMIT, or free disk for spilling")
    return MLPError(f"the feature query failed{where}: {msg}")


__all__ = ["Engine", "lit", "q", "ts_literal", "utc"]
