"""The feature store: ``mlp.features``.

    fs = mlp.features
    fs.entity("customer", join_keys=["customer_id"])
    fs.feature_view("customer_stats", entities=["customer"], source="data/customer_stats/",
                    event_time="event_timestamp", created_time="created", ttl="30d")
    frame = fs.get_training_frame(labels, ["customer_stats:avg_spend"], run=run)
    fs.materialize("customer_stats")
    fs.get_online({"customer_id": [1, 2]}, ["customer_stats:avg_spend"])

Definitions are stored (and versioned) by the platform; training frames are computed here,
in this process, with DuckDB over the sources; materialization and online lookups go to the
server (or, in-process, to the online store under ``MLP_HOME``).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput
from . import _spec

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["FeatureView", "OnlineResult", "csv", "entities", "entity", "feature_view",
           "freshness", "get_online", "get_training_frame", "get_view", "materialize",
           "materialize_incremental", "materializations", "parquet", "sample", "sql", "stats",
           "views"]


def _fs(action: str, **kw: Any) -> Any:
    get_client = _GET_CLIENT or _get_client()
    return get_client().transport.features(action, **kw)


_GET_CLIENT = None


def _get_client():
    global _GET_CLIENT
    from .._client import get_client

    _GET_CLIENT = get_client
    return get_client


def _transport():
    from .._client import get_client

    return get_client().transport


# -- sources ---------------------------------------------------------------------------------


def parquet(uri: str, **options: Any) -> dict:
    """A Parquet source: a file, a (hive-partitioned) folder or a glob, local or any fsspec
    URL (``s3://bucket/stats/``)."""
    return _spec.source_spec({"kind": "parquet", "uri": str(uri), "options": options})


def csv(uri: str, **options: Any) -> dict:
    """A CSV source (a file, folder or glob; ``options`` go to DuckDB's ``read_csv``, e.g.
    ``delim=";"``)."""
    return _spec.source_spec({"kind": "csv", "uri": str(uri), "options": options})


def sql(query: str, url: str) -> dict:
    """A SQL source: a query (or a table name) run through SQLAlchemy at ``url`` (no password
    in the URL: it is stored with the view; use the driver's own places for it)."""
    if isinstance(query, str) and _spec.NAME.match(query.strip()):
        query = f"SELECT * FROM {query.strip()}"
    return _spec.source_spec({"kind": "sql", "query": query, "url": url})


# -- definitions -----------------------------------------------------------------------------


class FeatureView(dict):
    """A stored feature view version (a dict with attribute access)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        feats = ", ".join(f"{f['name']}:{f['dtype']}" for f in self["features"])
        ttl = _human(self.get("ttl")) or "none"
        return (f"<FeatureView {self['name']} v{self['version']} keys={self['join_keys']} "
                f"ttl={ttl} features=[{feats}]>")

    def _repr_html_(self) -> str:
        from html import escape

        rows = "".join(f"<tr><td><code>{escape(f['name'])}</code></td><td>{f['dtype']}</td></tr>"
                       for f in self["features"])
        src = self["source"]
        where = src.get("uri") or src.get("query") or f"DataFrame ({src.get('rows')} rows)"
        return (f"<div><b>{escape(self['name'])}</b> version {self['version']} "
                f"(of {self.get('latest_version', self['version'])})<br>"
                f"keys: <code>{escape(', '.join(self['join_keys']) or '(global)')}</code> · "
                f"event time <code>{escape(self['event_time'])}</code> · TTL "
                f"{_human(self.get('ttl')) or 'none'} · SLO "
                f"{_human(self.get('freshness_slo')) or 'none'} · owner "
                f"{escape(str(self.get('owner') or ''))}<br>source: <code>"
                f"{escape(str(where))}</code><table><tr><th>feature</th><th>dtype</th></tr>"
                f"{rows}</table></div>")


def entity(name: str, join_keys: str | Sequence[str], *, description: str | None = None,
           owner: str | None = None) -> dict:
    """Define an entity: what features are about, and the columns that identify it.
    Redefining it with other join keys is a new version."""
    return _fs("define_entity", name=name, join_keys=[join_keys] if isinstance(
        join_keys, str) else list(join_keys), description=description, owner=owner)


def feature_view(name: str, *, source: Any, event_time: str,
                 entities: str | Sequence[str] = (), created_time: str | None = None,
                 ttl: Any = None, features: Mapping[str, str] | Sequence[str] | None = None,
                 description: str | None = None, owner: str | None = None,
                 freshness_slo: Any = None, tags: Mapping[str, str] | None = None
                 ) -> FeatureView:
    """Define (or redefine) a feature view and return the stored version.

    * ``source``: a Parquet or CSV path or URL (file, partitioned folder, glob), a pandas
      DataFrame (stored by content in the artifact store), or ``mlp.features.sql(...)``.
    * ``entities``: entity names (none: a global view, one row for everyone).
    * ``event_time``: when each row's values became true; ``created_time``: when the row
      arrived (ties on event time go to the latest; ``as_of=`` needs it).
    * ``ttl``: how old a value may be ('30d', seconds, a timedelta); none: no limit.
    * ``features``: ``{"name": "float"|"int"|"string"|"bool"|"timestamp"}`` or names;
      default: every other column the source has.

    The same definition again is a no-op; a changed schema (source, keys, columns, TTL,
    features) is version N+1; a changed description, owner or SLO updates the current one.
    """
    spec = _source(source)
    eng = _make_engine()
    try:
        cols = dict(eng.describe(spec))
    finally:
        eng.close()
    ents = [entities] if isinstance(entities, str) else list(entities or [])
    join_keys: list[str] = []
    for e in ents:
        got = _fs("get_entity", name=e)
        join_keys += [k for k in got["join_keys"] if k not in join_keys]
    where = _spec_where(spec)
    for col, role in [*((k, "join key") for k in join_keys), (event_time, "event_time"),
                      *([(created_time, "created_time")] if created_time else [])]:
        if col not in cols:
            raise InvalidInput(f"the source {where} has no column {col!r} (the {role}); it has "
                               f"{', '.join(cols)}", field=role.replace(" ", "_"))
    for col in [event_time, *([created_time] if created_time else [])]:
        if _spec.dtype_of_duckdb(cols[col]) not in ("timestamp", "string"):
            raise InvalidInput(f"column {col!r} of {where} is {cols[col]}, not a time",
                               field="event_time")
    taken = {*join_keys, event_time, created_time}
    if features is None:
        feats = [{"name": c, "dtype": _spec.dtype_of_duckdb(t)} for c, t in cols.items()
                 if c not in taken and _spec.dtype_of_duckdb(t) and _spec.NAME.match(c)]
    else:
        items = features.items() if isinstance(features, Mapping) else \
            [(f, None) for f in ([features] if isinstance(features, str) else features)]
        feats = []
        for f, t in items:
            if f not in cols:
                raise InvalidInput(f"the source {where} has no column {f!r} (a feature); it "
                                   f"has {', '.join(cols)}", field="features")
            got = _spec.dtype_of_duckdb(cols[f])
            want = _spec.dtype(t, f"features.{f}") if t is not None else got
            if want is None:
                raise InvalidInput(f"column {f!r} of {where} is {cols[f]}: declare its dtype "
                                   f"as one of {', '.join(_spec.DTYPES)}", field="features")
            feats.append({"name": f, "dtype": want})
    key_types = {k: cols[k] for k in join_keys}
    view = _fs("define_view", definition={
        "name": name, "entities": ents, "source": spec, "event_time": event_time,
        "created_time": created_time, "ttl": _spec.duration(ttl, "ttl"), "features": feats,
        "key_types": key_types, "description": description, "owner": owner,
        "freshness_slo": _spec.duration(freshness_slo, "freshness_slo"), "tags": tags})
    return FeatureView(view)


def _source(source: Any) -> dict:
    mod = type(source).__module__.split(".")[0]
    if mod == "pandas" and hasattr(source, "to_parquet"):
        with tempfile.TemporaryDirectory(prefix="mlp-view-") as tmp:
            path = os.path.join(tmp, "data.parquet")
            source.to_parquet(path, index=False)
            stored = _transport().put_feature_data(path)
        return {"kind": "dataframe", "digest": stored["digest"], "rows": stored["rows"]}
    return _spec.source_spec(source)


def _spec_where(spec: dict) -> str:
    if spec["kind"] == "dataframe":
        return "DataFrame"
    return repr(spec.get("uri") or spec.get("query"))


def _make_engine(memory_limit: str | None = None):
    from ._engine import Engine

    return Engine(_transport().feature_data_uri, memory_limit=memory_limit)


def views() -> pd.DataFrame:
    """Every feature view's current version: keys, features, TTL, owner, freshness."""
    import pandas as pd

    rows = []
    for v in _fs("list_views"):
        f = v.get("freshness") or {}
        rows.append({"view": v["name"], "version": v["version"],
                     "entities": ", ".join(e["name"] for e in v["entities"]),
                     "join_keys": ", ".join(v["join_keys"]),
                     "features": len(v["features"]), "ttl": _human(v.get("ttl")),
                     "owner": v.get("owner"), "freshness": f.get("status"),
                     "age": _human(f.get("age")), "slo": _human(v.get("freshness_slo")),
                     "description": v.get("description")})
    return pd.DataFrame(rows, columns=["view", "version", "entities", "join_keys", "features",
                                       "ttl", "owner", "freshness", "age", "slo",
                                       "description"])


def entities() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame([{**e, "join_keys": ", ".join(e["join_keys"])}
                         for e in _fs("list_entities")],
                        columns=["name", "version", "join_keys", "description", "owner",
                                 "created_by"])


def get_view(name: str, version: int | None = None) -> FeatureView:
    """A view (its current version unless ``version``), with ``versions`` listed."""
    return FeatureView(_fs("get_view", name=name, version=version))


def sample(view: str, n: int = 10) -> pd.DataFrame:
    """The newest ``n`` rows of a view's source."""
    import pandas as pd

    got = _fs("sample", name=view, n=n)
    return pd.DataFrame(got["rows"], columns=got["columns"])


def stats(view: str) -> dict:
    """Rows, keys, event-time range and per-feature nulls, min, max and mean of a view."""
    return _fs("stats", name=view)


# -- training frames ---------------------------------------------------------------------------


def get_training_frame(entity_df: Any, features: Sequence[str], *, timestamp: str | None = None,
                       full_names: bool = False, as_of: Any = None, explain: bool = False,
                       run: Any = None, name: str = "training_frame", output: str | None = None,
                       memory_limit: str | None = None, progress: bool | None = None
                       ) -> pd.DataFrame:
    """Point-in-time correct features for each row of ``entity_df``.

    For a row at time ``t`` (its ``timestamp`` column; naive times are UTC, aware ones are
    compared as instants) and a view with TTL ``d``, the candidates are the view's rows with
    the row's join keys and an event time in ``[t - d, t]`` (no TTL: no lower bound). The
    latest event time wins, then the latest created time; rows equal in both are decided by
    the largest DuckDB ``hash()`` of their feature values (fixed by the data, whatever order
    or files they are stored in). The winner is returned whole: a null stays null. Without a
    candidate the features are null and the row is kept.

    The result has one row per input row, in input order, with the input's index and every
    input column. Features are named ``feature``, or ``view__feature`` with
    ``full_names=True`` (two views with the same feature name need it).

    * ``features``: ``["view:feature", "view:*", "view@2:feature"]`` (a version pins it).
    * ``as_of``: leave out rows created after this time, so a frame built later is the same
      as it was then (the views need a ``created_time``).
    * ``explain``: add ``<feature>__why`` columns saying why a value is null:
      ``no_rows_for_key``, ``only_future_rows``, ``outside_ttl``, ``created_after_as_of``,
      ``null_value`` (the chosen row holds a null) or ``no_timestamp``.
    * ``run``: record the frame on a run (``True``: the active run) — views and versions,
      ``as_of``, rows and a content hash, under inputs[``name``], which ``mlp.diff`` compares.
    * ``entity_df`` may be a Parquet path and ``output`` a Parquet path to write: then
      nothing is held in memory here, and DuckDB spills to disk past ``memory_limit``.
    """
    import pandas as pd

    is_frame = isinstance(entity_df, pd.DataFrame)
    if not is_frame and not isinstance(entity_df, (str, os.PathLike)):
        raise InvalidInput("entity_df must be a pandas DataFrame or the path of a Parquet "
                           "file", field="entity_df")
    if not is_frame and output is None:
        raise InvalidInput("an entity_df given as a Parquet path needs output= (a Parquet "
                           "path to write the frame to)", field="output")
    columns = list(entity_df.columns) if is_frame else _parquet_columns(os.fspath(entity_df))
    ts = _timestamp_column(entity_df if is_frame else None, columns, timestamp)
    if isinstance(features, str):
        features = [features]
    if not features:
        raise InvalidInput("name the features to join, e.g. ['customer_stats:avg_spend']",
                           field="features")
    as_of_s = _spec.instant(as_of, "as_of")
    plan, lineage = _plan(features, full_names, as_of_s, columns)
    for p in plan:
        missing = [k for k in p["view"]["join_keys"] if k not in columns]
        if missing:
            raise InvalidInput(f"entity_df lacks {', '.join(map(repr, missing))}, the join "
                               f"key(s) of view {p['view']['name']!r}; it has "
                               f"{', '.join(map(str, columns))}", field="entity_df")
    from ._progress import Progress

    bar = Progress("training frame", progress)
    eng = _make_engine(memory_limit)
    try:
        res = eng.training_frame(entity_df if is_frame else os.fspath(entity_df), plan, ts,
                                 as_of=as_of_s, explain=explain,
                                 output=None if output is None or is_frame else
                                 os.fspath(output),
                                 progress=lambda p: bar.update(p / 100))
    except BaseException:
        bar.failed()
        raise
    finally:
        eng.close()
    outs = [o for p in plan for _, o in p["features"]]
    if explain:
        outs += [o + "__why" for p in plan for _, o in p["features"]]
    if not is_frame:
        bar.done(f"training frame: {res:,} rows written to {output}")
        info = {"kind": "training_frame", "rows": int(res), "path": os.fspath(output)}
        if run is not None:
            from .._inputs import describe

            info.update(describe(os.fspath(output)))
            _record(run, name, {**info, "kind": "training_frame", **lineage})
        return info  # type: ignore[return-value]
    frame = entity_df.copy()
    for c in outs:
        frame[c] = res[c].to_numpy()
    if explain:
        frame.attrs["explain"] = _explain_summary(frame, plan)
    bar.done(f"training frame: {len(frame):,} rows, {len(outs)} feature columns")
    if output is not None:
        frame.to_parquet(os.fspath(output))
    if run is not None:
        from .._inputs import describe

        entry = describe(frame)
        _record(run, name, {**entry, "kind": "training_frame", **lineage})
    if explain:
        _print_summary(frame.attrs["explain"], len(frame))
    return frame


def _parquet_columns(path: str) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception as e:
        raise InvalidInput(f"entity_df {path!r} is not a readable Parquet file: {e}",
                           field="entity_df") from None


def _timestamp_column(df: Any, columns: list, timestamp: str | None) -> str:
    if timestamp is not None:
        if timestamp not in columns:
            raise InvalidInput(f"entity_df has no column {timestamp!r} (timestamp=); it has "
                               f"{', '.join(map(str, columns))}", field="timestamp")
        return timestamp
    if "event_timestamp" in columns:
        return "event_timestamp"
    if df is not None:
        import pandas as pd

        times = [c for c in columns if pd.api.types.is_datetime64_any_dtype(df[c])]
        if len(times) == 1:
            return times[0]
        raise InvalidInput(
            "say which column holds each row's time with timestamp=" + (
                f" (entity_df has several: {', '.join(map(str, times))})" if times else
                " (entity_df has no datetime column)"), field="timestamp")
    raise InvalidInput("say which column holds each row's time with timestamp=",
                       field="timestamp")


def _plan(features: Sequence[str], full_names: bool, as_of: float | None,
          columns: list) -> tuple[list[dict], dict]:
    by_view: dict[tuple[str, int | None], dict] = {}
    order: list[dict] = []
    for ref in features:
        vname, version, feat = _spec.parse_ref(ref)
        key = (vname, version)
        if key not in by_view:
            view = _fs("get_view", name=vname, version=version)
            if as_of is not None and not view.get("created_time"):
                raise InvalidInput(
                    f"view {vname!r} has no created_time column, so as_of cannot tell which "
                    f"of its rows arrived after it: define it with created_time=...",
                    field="as_of")
            by_view[key] = {"view": view, "features": []}
            order.append(by_view[key])
        p = by_view[key]
        names = [f["name"] for f in p["view"]["features"]]
        picked = names if feat == "*" else [feat]
        for f in picked:
            if f not in names:
                raise InvalidInput(f"view {vname!r} (version {p['view']['version']}) has no "
                                   f"feature {f!r}; it has {', '.join(names)}",
                                   field="features")
            out = f"{vname}__{f}" if full_names else f
            if (f, out) not in p["features"]:
                p["features"].append((f, out))
    seen: dict[str, str] = {}
    for p in order:
        vname = p["view"]["name"]
        for _f, out in p["features"]:
            if out in seen and seen[out] != vname:
                raise InvalidInput(f"feature {out!r} comes from both {seen[out]!r} and "
                                   f"{vname!r}: pass full_names=True to get "
                                   f"{seen[out]}__{out} and {vname}__{out}", field="features")
            if out in seen:
                raise InvalidInput(f"feature {out!r} of {vname!r} is asked from two versions: "
                                   "ask for one, or pass full_names=True", field="features")
            if out in columns:
                raise InvalidInput(f"feature {out!r} of {vname!r} has the name of an "
                                   "entity_df column: rename that column or pass "
                                   "full_names=True", field="features")
            seen[out] = vname
    lineage = {"views": {p["view"]["name"]: p["view"]["version"] for p in order},
               "features": [f"{p['view']['name']}@{p['view']['version']}:{f}"
                            for p in order for f, _ in p["features"]],
               "as_of": _spec.iso(as_of)}
    return order, lineage


def _record(run: Any, name: str, entry: dict) -> None:
    from .._api import active_run
    from .._client import get_client

    if run is True:
        run = active_run()
        if run is None:
            raise InvalidInput("run=True records the frame on the active run, and none is "
                               "active: start one, or pass the run", field="run")
    rid = getattr(run, "id", run)
    transport = get_client().transport
    rid = transport.resolve_run(str(rid))
    inputs = dict(transport.get_capture(rid, "inputs") or {})
    inputs[name] = entry
    transport.put_capture(rid, "inputs", inputs)


def _explain_summary(frame: Any, plan: list[dict]) -> dict:
    out: dict[str, dict[str, int]] = {}
    for p in plan:
        counts: dict[str, int] = {}
        for _f, o in p["features"]:
            for reason, n in frame[o + "__why"].value_counts().items():
                counts[reason] = max(counts.get(reason, 0), int(n))
        out[p["view"]["name"]] = counts
    return out


def _print_summary(summary: dict, rows: int) -> None:
    from .._shell import ipython_shell

    if ipython_shell() is None or not rows:
        return
    for view, counts in summary.items():
        if counts:
            parts = ", ".join(f"{n / rows:.1%} {r.replace('_', ' ')}" for r, n in
                              sorted(counts.items(), key=lambda x: -x[1]))
            print(f"{view}: null because {parts}")


# -- materialization -------------------------------------------------------------------------


def materialize(view: str, start: Any = None, end: Any = None, *, wait: bool = True,
                progress: bool | None = None) -> dict:
    """Write the latest row per key with an event time in ``[start, end]`` (default: all of
    it, up to now) to the online store. Newer values already online stay: a value never moves
    back in event time. Returns the materialization's record (``wait=False``: at once)."""
    rec = _fs("materialize", name=view, start=_spec.iso(_spec.instant(start, "start")),
              end=_spec.iso(_spec.instant(end, "end")), incremental=False)
    return _follow(rec, wait, progress)


def materialize_incremental(view: str, end: Any = None, *, wait: bool = True,
                            progress: bool | None = None) -> dict:
    """Materialize from where the last materialization of the view ended up to ``end`` (now),
    plus rows created since then with older event times (late data)."""
    rec = _fs("materialize", name=view, start=None,
              end=_spec.iso(_spec.instant(end, "end")), incremental=True)
    return _follow(rec, wait, progress)


def _follow(rec: dict, wait: bool, progress: bool | None) -> dict:
    from ..errors import MLPError
    from ._progress import Progress

    if not wait:
        return rec
    bar = Progress(f"materialize {rec['view']}", progress)
    pause = 0.05
    while rec["status"] == "running":
        time.sleep(pause)
        pause = min(pause * 1.5, 0.5)
        rec = _fs("get_materialization", id=rec["id"])
        bar.update(rec.get("progress") or 0.0)
    if rec["status"] == "failed":
        bar.failed()
        raise MLPError(f"materializing {rec['view']!r} failed: {rec['error']}")
    bar.done(f"materialized {rec['view']} v{rec['version']}: {rec['keys']:,} keys, "
             f"{rec['written']:,} newer values written")
    return rec


def materializations(view: str | None = None) -> pd.DataFrame:
    import pandas as pd

    cols = ["id", "view", "version", "status", "start", "end", "keys", "written",
            "newest_event_time", "started_at", "finished_at", "started_by", "error"]
    rows = _fs("materializations", name=view)
    df = pd.DataFrame(rows, columns=cols)
    for c in ("start", "end", "newest_event_time", "started_at", "finished_at"):
        df[c] = pd.to_datetime(df[c], unit="s", utc=True)
    return df


def freshness(view: str | None = None) -> pd.DataFrame:
    """Per view: newest event time online, last materialization, age, SLO and status
    (``fresh``, ``stale``, ``never`` materialized, ``unmonitored``: no SLO)."""
    import pandas as pd

    rows = _fs("freshness", name=view)
    df = pd.DataFrame(rows, columns=["view", "version", "online_version", "status", "age",
                                     "slo", "newest_event_time", "last_materialized",
                                     "materializations", "running"])
    for c in ("newest_event_time", "last_materialized"):
        df[c] = pd.to_datetime(df[c], unit="s", utc=True)
    return df


# -- online ------------------------------------------------------------------------------------


class OnlineResult:
    """Online values in request order: ``values``, ``status`` (``present``, ``not_found``,
    ``outside_ttl``) and ``event_time`` per entity and feature; ``to_dict()`` and
    ``to_frame()`` give them whole."""

    __slots__ = ("features", "entities", "values", "status", "event_time")

    def __init__(self, raw: dict) -> None:
        self.features: list[str] = raw["features"]
        self.entities: list[dict] = raw["entities"]
        self.values: list[list] = raw["values"]
        self.status: list[list] = raw["status"]
        self.event_time: list[list] = raw["event_time"]

    def __len__(self) -> int:
        return len(self.entities)

    def __getitem__(self, i: int) -> dict:
        """One entity: its keys and ``{feature: value}``."""
        return {**self.entities[i], **dict(zip(self.features, self.values[i], strict=True))}

    def to_dict(self) -> dict[str, list]:
        """``{key: [...], feature: [...]}`` columns, in request order."""
        out: dict[str, list] = {}
        for k in (self.entities[0] if self.entities else {}):
            out[k] = [e.get(k) for e in self.entities]
        for j, f in enumerate(self.features):
            out[f] = [v[j] for v in self.values]
        return out

    def to_frame(self, status: bool = True) -> pd.DataFrame:
        """The keys and values; with ``status``, ``<feature>__status`` and
        ``<feature>__event_time`` columns too."""
        import pandas as pd

        df = pd.DataFrame(self.to_dict())
        if status:
            for j, f in enumerate(self.features):
                df[f + "__status"] = [s[j] for s in self.status]
                df[f + "__event_time"] = pd.to_datetime(
                    [t[j] for t in self.event_time], unit="s", utc=True)
        return df

    def __repr__(self) -> str:
        return f"<OnlineResult {len(self)} entities × {len(self.features)} features>"

    def _repr_html_(self) -> str:
        return self.to_frame()._repr_html_()


def get_online(entities: Any, features: Sequence[str]) -> OnlineResult:
    """The online values of ``features`` (``"view:feature"`` or ``"view:*"``) for
    ``entities`` (``{"customer_id": [1, 2]}``, a list of dicts, or a DataFrame), in request
    order. Each value comes with a status — ``present``, ``not_found``, or ``outside_ttl``
    (older than the view's TTL: null, as a training frame would have it) — and its event time.
    """
    if hasattr(entities, "to_dict") and hasattr(entities, "columns"):
        entities = entities.to_dict("records")
    return OnlineResult(_fs("get_online", entities=entities, features=list(features)))


def _human(seconds: float | None) -> str | None:
    """30d, 1.5h, 45min, 12s."""
    if seconds is None:
        return None
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size or unit == "s":
            value = seconds / size
            text = f"{value:.0f}" if value >= 10 else f"{value:.1f}".removesuffix(".0")
            return f"{text}{unit}"
    return None

