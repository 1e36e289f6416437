"""The feature store service (no tornado, no Jupyter): versioned definitions in the platform's
store, materialization into the online store, online lookups and freshness.

Training frames are not computed here: the SDK computes them where it runs, with DuckDB over
the sources (``mlp.features._engine``), so no frame crosses the server. Materialization runs
here, in a background thread per request, reading the sources with the same engine.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from mlp.errors import AccessDenied, InvalidInput, NotFound
from mlp.features import _spec as spec
from mlp.features._engine import Engine

from ..store.schema import feature_entities, feature_materializations, feature_views
from .online import OnlineStore, key_string

_KEY_TYPE = re.compile(r"^[A-Z][A-Z0-9_]*(\(\d+(, ?\d+)?\))?( WITH TIME ZONE)?$")
_OPTION = re.compile(r"^[a-z_]{1,40}$")


class FeatureService:
    """Entities, feature views (versioned), materializations, online lookups, freshness."""

    def __init__(self, tracking: Any, online: OnlineStore, *, memory_limit: str | None = None,
                 temp_dir: str | None = None, allowed_sources: Sequence[str] | None = None,
                 clock: Callable[[], float] = time.time, workers: int = 2) -> None:
        self.tracking = tracking
        self.store = tracking.store
        self.artifacts = tracking.artifacts
        self.online = online
        self.memory_limit = memory_limit
        self.temp_dir = temp_dir
        #: None: any source; else URI prefixes (and SQL URLs) this server may read.
        self.allowed_sources = None if allowed_sources is None else list(allowed_sources)
        self.clock = clock
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="mlp-materialize")
        self._progress: dict[int, float] = {}
        self._meta: dict[str, tuple[float, dict | None]] = {}
        self._plans: dict[tuple, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.online.close()

    def engine(self) -> Engine:
        return Engine(self.blob_uri, memory_limit=self.memory_limit, temp_dir=self.temp_dir)

    # -- entities ------------------------------------------------------------------------

    def define_entity(self, name: str, join_keys: Sequence[str], *, user: str | None,
                      description: str | None = None, owner: str | None = None) -> dict:
        """Define an entity, or a new version of it when its join keys change."""
        spec.check_name("entity", name)
        if isinstance(join_keys, str):
            join_keys = [join_keys]
        keys = list(join_keys or [])
        if not keys or len(set(keys)) != len(keys) or not all(
                isinstance(k, str) and k.strip() for k in keys):
            raise InvalidInput(f"entity {name!r} needs one or more distinct join key columns, "
                               f"got {join_keys!r}", field="join_keys")
        e = feature_entities
        with self.store.write() as conn:
            cur = conn.execute(select(e).where(e.c.name == name).order_by(e.c.version.desc())
                               .limit(1)).first()
            if cur is not None and json.loads(cur.join_keys) == keys:
                conn.execute(update(e).where(e.c.name == name, e.c.version == cur.version)
                             .values(description=description if description is not None
                                     else cur.description,
                                     owner=owner if owner is not None else cur.owner))
                version = cur.version
            else:
                version = 1 if cur is None else cur.version + 1
                conn.execute(insert(e).values(name=name, version=version,
                                              join_keys=json.dumps(keys),
                                              description=description, owner=owner or user,
                                              created_at=self.clock(), created_by=user))
        return self.get_entity(name)

    def get_entity(self, name: str, version: int | None = None) -> dict:
        e = feature_entities
        q = select(e).where(e.c.name == name)
        q = q.where(e.c.version == version) if version else q.order_by(e.c.version.desc())
        with self.store.read() as conn:
            row = conn.execute(q.limit(1)).first()
        if row is None:
            raise NotFound(f"no entity named {name!r}: define it with "
                           f"mlp.features.entity({name!r}, join_keys=[...])", field="entities")
        return _entity(row)

    def list_entities(self) -> list[dict]:
        e = feature_entities
        latest = select(e.c.name, func.max(e.c.version).label("v")).group_by(e.c.name).subquery()
        with self.store.read() as conn:
            rows = conn.execute(select(e).join(latest, (e.c.name == latest.c.name) &
                                               (e.c.version == latest.c.v)).order_by(e.c.name))
            return [_entity(r) for r in rows]

    # -- views ---------------------------------------------------------------------------

    def define_view(self, definition: Mapping[str, Any], *, user: str | None) -> dict:
        """Store a feature view. The same schema again changes nothing (a changed
        description, owner, SLO or tags updates the current version); a changed schema —
        entities, source, columns, TTL or features — is version N+1."""
        d = self._normalize(definition)
        schema = {k: d[k] for k in ("join_keys", "key_types", "source", "event_time",
                                     "created_time", "ttl", "features")}
        digest = hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()
        v = feature_views
        now = self.clock()
        meta = {"description": d["description"], "owner": d["owner"],
                "freshness_slo": d["freshness_slo"],
                "tags": json.dumps(d["tags"]) if d["tags"] else None}
        with self.store.write() as conn:
            cur = conn.execute(select(v).where(v.c.name == d["name"])
                               .order_by(v.c.version.desc()).limit(1)).first()
            if cur is None or cur.schema_hash != digest:
                # a new version keeps what was not said again: owner, description, SLO, tags
                meta = {k: val if val is not None else (getattr(cur, k) if cur else None)
                        for k, val in meta.items()}
                meta["owner"] = meta["owner"] or user
            if cur is not None and cur.schema_hash == digest:
                changed = {k: val for k, val in meta.items()
                           if val is not None and val != getattr(cur, k)}
                if changed:
                    conn.execute(update(v).where(v.c.name == d["name"],
                                                 v.c.version == cur.version)
                                 .values(**changed, updated_at=now))
                version, created = cur.version, False
            else:
                version, created = (1 if cur is None else cur.version + 1), True
                stored = {k: d[k] for k in ("entities", *schema)}
                conn.execute(insert(v).values(name=d["name"], version=version,
                                              definition=json.dumps(stored),
                                              schema_hash=digest, created_at=now,
                                              created_by=user, updated_at=now, **meta))
        out = self.get_view(d["name"], version)
        out["created"] = created
        return out

    def _normalize(self, d: Mapping[str, Any]) -> dict:
        name = spec.check_name("feature view", d.get("name"))
        ents = d.get("entities") or []
        if isinstance(ents, str):
            ents = [ents]
        entities, join_keys = [], []
        for ent in ents:
            got = self.get_entity(ent["name"] if isinstance(ent, dict) else ent)
            entities.append({"name": got["name"], "version": got["version"]})
            join_keys += [k for k in got["join_keys"] if k not in join_keys]
        key_types = dict(d.get("key_types") or {})
        for k, t in key_types.items():
            if k not in join_keys or not isinstance(t, str) or not _KEY_TYPE.match(t):
                raise InvalidInput(f"key type {k}: {t!r} is not a SQL type of a join key",
                                   field="key_types")
        source = spec.source_spec(d.get("source"))
        self._check_source(source)
        event_time = d.get("event_time")
        if not isinstance(event_time, str) or not event_time.strip():
            raise InvalidInput(f"feature view {name!r} needs event_time=, the column holding "
                               "when each row's values became true", field="event_time")
        created_time = d.get("created_time") or None
        if created_time is not None and not isinstance(created_time, str):
            raise InvalidInput("created_time must be a column name", field="created_time")
        feats = d.get("features")
        if not feats:
            raise InvalidInput(f"feature view {name!r} has no features", field="features")
        if isinstance(feats, Mapping):
            feats = [{"name": k, "dtype": t} for k, t in feats.items()]
        features, seen = [], set()
        reserved = {*join_keys, event_time, created_time}
        for f in feats:
            fname = spec.check_name("feature", f.get("name") if isinstance(f, Mapping) else f)
            if fname in seen:
                raise InvalidInput(f"feature {fname!r} is listed twice", field="features")
            if fname in reserved:
                raise InvalidInput(f"{fname!r} is a join key or time column, not a feature",
                                   field="features")
            seen.add(fname)
            features.append({"name": fname, "dtype": spec.dtype(
                f.get("dtype", "float") if isinstance(f, Mapping) else "float",
                f"features.{fname}")})
        tags = d.get("tags") or {}
        if not isinstance(tags, Mapping):
            raise InvalidInput("tags must be a dict", field="tags")
        for field in ("description", "owner"):
            if d.get(field) is not None and not isinstance(d[field], str):
                raise InvalidInput(f"{field} must be a string", field=field)
        return {"name": name, "entities": entities, "join_keys": join_keys,
                "key_types": key_types, "source": source, "event_time": event_time,
                "created_time": created_time, "ttl": spec.duration(d.get("ttl"), "ttl"),
                "features": features, "description": d.get("description"),
                "owner": d.get("owner"),
                "freshness_slo": spec.duration(d.get("freshness_slo"), "freshness_slo"),
                "tags": {str(k): str(v) for k, v in tags.items()}}

    def _check_source(self, source: dict) -> None:
        for k in (source.get("options") or {}):
            if not _OPTION.match(str(k)):
                raise InvalidInput(f"source option {k!r} is not a reader option name",
                                   field="source")
        if self.allowed_sources is None or source["kind"] == "dataframe":
            return
        where = source.get("uri") or source.get("url") or ""
        if not any(where.startswith(p) for p in self.allowed_sources):
            raise AccessDenied(
                f"this shared server reads feature sources only under "
                f"{', '.join(self.allowed_sources) or '(none configured)'}; {where!r} is not: "
                "use a DataFrame source, or ask the admin to add its prefix to "
                "c.MLPFeatures.allowed_sources", field="source")

    def get_view(self, name: str, version: int | None = None) -> dict:
        """A view (its current version unless ``version``), with its versions listed."""
        v = feature_views
        with self.store.read() as conn:
            rows = conn.execute(select(v.c.version, v.c.created_at, v.c.created_by)
                                .where(v.c.name == name).order_by(v.c.version)).all()
            if not rows:
                raise NotFound(f"no feature view named {name!r}: mlp.features.views() lists "
                               "them", field="view")
            want = version or rows[-1].version
            row = conn.execute(select(v).where(v.c.name == name, v.c.version == want)).first()
        if row is None:
            raise NotFound(f"feature view {name!r} has no version {version} (it has "
                           f"{', '.join(str(r.version) for r in rows)})", field="version")
        out = _view(row)
        out["latest_version"] = rows[-1].version
        out["versions"] = [{"version": r.version, "created_at": r.created_at,
                            "created_by": r.created_by} for r in rows]
        return out

    def list_views(self) -> list[dict]:
        """The current version of every view, with its freshness."""
        v = feature_views
        latest = select(v.c.name, func.max(v.c.version).label("n")).group_by(v.c.name).subquery()
        with self.store.read() as conn:
            rows = conn.execute(select(v).join(latest, (v.c.name == latest.c.name) &
                                               (v.c.version == latest.c.n)).order_by(v.c.name))
            views = [_view(r) for r in rows]
        fresh = {f["view"]: f for f in self.freshness()}
        for view in views:
            view["freshness"] = fresh.get(view["name"])
        return views

    # -- DataFrame sources ----------------------------------------------------------------

    def put_data(self, local_path: str) -> dict:
        """Store a Parquet file (a DataFrame source) by content; returns its digest."""
        import pyarrow.parquet as pq

        try:
            meta = pq.read_metadata(local_path)
        except Exception as e:
            raise InvalidInput(f"the data is not a Parquet file: {e}", field="body") from None
        digest, size = self.artifacts.put_file(local_path)
        return {"digest": digest, "size": size, "rows": meta.num_rows}

    def blob_uri(self, digest: str) -> str:
        path = self.artifacts.object_path(digest)
        if not self.artifacts.fs.exists(path):
            raise NotFound(f"the stored data {digest[:12]} is missing from the artifact store",
                           field="source")
        protocol = self.artifacts.fs.protocol
        protocol = protocol[0] if isinstance(protocol, (tuple, list)) else protocol
        return path if protocol in ("file", "local") else f"{protocol}://{path}"

    def open_data(self, digest: str):
        return self.artifacts.fs.open(self.artifacts.object_path(digest), "rb")

    # -- browsing --------------------------------------------------------------------------

    def sample(self, name: str, n: int = 10, version: int | None = None) -> dict:
        """The newest ``n`` rows of the view's source, as columns of JSON-able values."""
        if not 0 < n <= 1000:
            raise InvalidInput(f"n must be between 1 and 1000, got {n}", field="n")
        view = self.get_view(name, version)
        eng = self.engine()
        try:
            df = eng.sample(view, n)
        finally:
            eng.close()
        return {"columns": [str(c) for c in df.columns],
                "rows": [[_plain(x) for x in row] for row in df.itertuples(index=False)]}

    def stats(self, name: str, version: int | None = None) -> dict:
        view = self.get_view(name, version)
        eng = self.engine()
        try:
            return eng.stats(view)
        finally:
            eng.close()

    # -- materialization -----------------------------------------------------------------

    def materialize(self, name: str, start: Any = None, end: Any = None, *,
                    incremental: bool = False, user: str | None = None,
                    wait: bool = False) -> dict:
        """Write the latest row per key with an event time in ``[start, end]`` to the online
        store (``incremental``: from where the last run of this version stopped, and late
        rows created since then). Runs in the background; returns its record at once
        (``wait=True``: when done). Online values never move backwards in event time."""
        view = self.get_view(name)
        now = self.clock()
        end_s = spec.instant(end, "end")
        end_s = now if end_s is None else end_s
        start_s = spec.instant(start, "start")
        created_since = None
        if incremental:
            if start is not None:
                raise InvalidInput("an incremental materialization starts where the last one "
                                   "ended: leave start out", field="start")
            last = self._last_materialization(name, view["version"])
            if last is not None:
                start_s, created_since = last["end"], last["cutoff"]
        if start_s is not None and start_s > end_s:
            raise InvalidInput(f"start {spec.iso(start_s)} is after end {spec.iso(end_s)}",
                               field="start")
        m = feature_materializations
        with self.store.write() as conn:
            mid = conn.execute(insert(m).values(
                view=name, version=view["version"], start=start_s, end=end_s, cutoff=now,
                incremental=int(incremental), status="running", progress=0.0, started_at=now,
                started_by=user).returning(m.c.id)).scalar_one()
        self._progress[mid] = 0.0
        fut = self._pool.submit(self._materialize, mid, view, start_s, end_s, now,
                                created_since)
        if wait:
            fut.result()
        return self.get_materialization(mid)

    def _last_materialization(self, name: str, version: int) -> dict | None:
        m = feature_materializations
        with self.store.read() as conn:
            row = conn.execute(select(m).where(m.c.view == name, m.c.version == version,
                                               m.c.status == "finished")
                               .order_by(m.c.end.desc()).limit(1)).first()
        return None if row is None else _materialization(row)

    def _materialize(self, mid: int, view: dict, start: float | None, end: float,
                     cutoff: float, created_since: float | None) -> None:
        m = feature_materializations
        eng = self.engine()
        try:
            def scan(p: float) -> None:  # the query is the first half of the work
                if p >= 0:
                    self._progress[mid] = min(p, 100.0) / 200

            reader, total = eng._run(lambda: eng.latest_rows(view, start, end, cutoff,
                                                             created_since), scan)
            keys = view["join_keys"]
            dtypes = [f["dtype"] for f in view["features"]]
            single_int = _int_keyed(view)
            done = written = 0
            newest = None
            for batch in reader:
                cols = batch.to_pydict()
                if not keys:
                    ks = ["[]"] * batch.num_rows
                elif single_int:
                    ks = cols[keys[0]]
                else:
                    ks = [key_string(t) for t in zip(*(cols[k] for k in keys), strict=True)]
                evs = cols["__ev"]
                rows = zip(ks, evs, cols["__cr"], *(cols[f"__f{i}"] for i in range(len(dtypes))),
                           strict=True)
                written += self.online.write(view["name"], view["version"], dtypes, rows,
                                             single_int)
                top = max(evs) if evs else None
                if top is not None and (newest is None or top > newest):
                    newest = top
                done += batch.num_rows
                self._progress[mid] = 0.5 + 0.5 * done / max(total, 1)
            with self.store.write() as conn:
                conn.execute(update(m).where(m.c.id == mid).values(
                    status="finished", keys=total, written=written, progress=1.0,
                    newest_event_time=None if newest is None else newest / 1e6,
                    finished_at=self.clock()))
        except Exception as e:
            msg = str(e) if isinstance(e, InvalidInput) or hasattr(e, "to_dict") else \
                f"{type(e).__name__}: {e}"
            with self.store.write() as conn:
                conn.execute(update(m).where(m.c.id == mid).values(
                    status="failed", error=msg[:2000], finished_at=self.clock()))
        finally:
            eng.close()
            self._progress.pop(mid, None)
            with self._lock:
                self._meta.pop(view["name"], None)
                self._plans.clear()

    def interrupted(self) -> int:
        """Mark materializations left ``running`` by a server that stopped as ``failed`` (a
        server calls this as it starts: none of them is running any more)."""
        m = feature_materializations
        with self.store.write() as conn:
            return conn.execute(update(m).where(m.c.status == "running").values(
                status="failed", error="interrupted: the server stopped while it ran; "
                                       "materialize again", finished_at=self.clock())).rowcount

    def get_materialization(self, id: int) -> dict:  # noqa: A002 - the REST field's name
        mid = int(id)
        m = feature_materializations
        with self.store.read() as conn:
            row = conn.execute(select(m).where(m.c.id == int(mid))).first()
        if row is None:
            raise NotFound(f"no materialization {mid}", field="id")
        out = _materialization(row)
        if out["status"] == "running" and mid in self._progress:
            out["progress"] = self._progress[mid]
        return out

    def materializations(self, name: str | None = None, limit: int = 50) -> list[dict]:
        m = feature_materializations
        q = select(m).order_by(m.c.id.desc()).limit(limit)
        if name:
            q = q.where(m.c.view == name)
        with self.store.read() as conn:
            return [_materialization(r) for r in conn.execute(q)]

    # -- online ----------------------------------------------------------------------------

    def _online_view(self, name: str) -> dict:
        """The view version the online store serves (that of its latest finished
        materialization), cached for a second."""
        now = time.monotonic()
        hit = self._meta.get(name)
        if hit is not None and hit[0] > now:
            if hit[1] is None:
                raise NotFound(f"feature view {name!r} has not been materialized: run "
                               f"mlp.features.materialize({name!r}) first", field="features")
            return hit[1]
        m = feature_materializations
        with self.store.read() as conn:
            row = conn.execute(select(m.c.version).where(m.c.view == name,
                                                         m.c.status == "finished")
                               .order_by(m.c.finished_at.desc()).limit(1)).first()
        view = None
        if row is not None:
            view = self.get_view(name, row.version)
            view["_index"] = {f["name"]: i for i, f in enumerate(view["features"])}
            view["_int_key"] = _int_keyed(view)
        elif not self._exists(name):
            raise NotFound(f"no feature view named {name!r}", field="features")
        with self._lock:
            self._meta[name] = (now + 1.0, view)
        return self._online_view(name)

    def _exists(self, name: str) -> bool:
        with self.store.read() as conn:
            return conn.execute(select(feature_views.c.name)
                                .where(feature_views.c.name == name).limit(1)).first() is not None

    def get_online(self, entities: Any, features: Sequence[str]) -> dict:
        """The online values of ``features`` for each entity, in request order: per value its
        status (``present``, ``not_found``, ``outside_ttl``: older than the view's TTL, so
        null as offline) and its event time (seconds since the epoch).

        ``entities``: ``{"customer_id": [1, 2]}`` or ``[{"customer_id": 1}, ...]``.
        Returns ``{"features": [names], "dtypes": [...], "entities": [{key: value}],
        "values": [[...]], "status": [[...]], "event_time": [[...]]}``, in request order."""
        rows = _entity_rows(entities)
        plan, names, dtypes_out = self._online_plan(
            (features,) if isinstance(features, str) else tuple(features))
        now_us = int(self.clock() * 1_000_000)
        n = len(rows)
        values: list[list] = [[] for _ in range(n)]
        status: list[list] = [[] for _ in range(n)]
        times: list[list] = [[] for _ in range(n)]
        for view, idx, dtypes, all_dtypes, convert, width in plan:
            keys = _lookup_keys(rows, view)
            found = self.online.read(view["name"], view["version"], all_dtypes,
                                     keys if n == 1 else list(dict.fromkeys(keys)), idx,
                                     view["_int_key"])
            ttl = view["ttl"]
            oldest = None if not ttl else now_us - int(ttl * 1_000_000)
            absent, old = [None] * width, ["outside_ttl"] * width
            present = ["present"] * width
            for j, k in enumerate(keys):
                hit = found.get(k)
                if hit is None:
                    values[j] += absent
                    status[j] += ["not_found"] * width
                    times[j] += absent
                    continue
                ev = hit[0]
                times[j] += [ev / 1e6] * width
                if oldest is not None and ev < oldest:
                    values[j] += absent
                    status[j] += old
                    continue
                if convert:
                    values[j] += [_loaded(x, d) for x, d in zip(hit[1:], dtypes, strict=True)]
                else:
                    values[j] += hit[1:]
                status[j] += present
        return {"features": names, "dtypes": dtypes_out, "entities": rows, "values": values,
                "status": status, "event_time": times}

    def answers_at_once(self, entities: Any, features: Any) -> bool:
        """Whether a lookup is a few primary-key reads of a local SQLite online store with
        its plan in memory — tens of microseconds, less than a hop to a worker thread costs —
        so the server may answer it on its event loop."""
        if self.online.engine is not None or not isinstance(features, list):
            return False
        hit = self._plans.get(tuple(features))
        if hit is None or hit[0] <= time.monotonic():
            return False
        if isinstance(entities, dict):
            return all(not isinstance(v, list) or len(v) <= 100 for v in entities.values())
        return isinstance(entities, list) and len(entities) <= 100

    def _online_plan(self, features: tuple) -> tuple[list[tuple], list[str], list[str]]:
        """What a list of feature references reads: per view, its online version, the
        positions of the features in its stored values and their dtypes. Cached for a second
        (and dropped when a materialization ends), so a lookup parses nothing."""
        now = time.monotonic()
        hit = self._plans.get(features)
        if hit is not None and hit[0] > now:
            return hit[1]
        if not features:
            raise InvalidInput("name one or more features, e.g. ['customer_stats:avg_spend']",
                               field="features")
        by_view: dict[str, tuple[dict, list[int]]] = {}
        names: list[str] = []
        dtypes_out: list[str] = []
        for ref in features:
            vname, version, feat = spec.parse_ref(ref)
            view = self._online_view(vname)
            if version is not None and version != view["version"]:
                raise InvalidInput(f"the online store serves version {view['version']} of "
                                   f"{vname!r}, not {version}", field="features")
            idx = by_view.setdefault(vname, (view, []))[1]
            for f in (list(view["_index"]) if feat == "*" else [feat]):
                if f not in view["_index"]:
                    raise InvalidInput(f"feature view {vname!r} (version {view['version']}, "
                                       f"online) has no feature {f!r}; it has "
                                       f"{', '.join(view['_index'])}", field="features")
                idx.append(view["_index"][f])
                names.append(f)
                dtypes_out.append(view["features"][view["_index"][f]]["dtype"])
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise InvalidInput(f"feature {dup!r} is asked twice (from two views?): ask for one "
                               "per name", field="features")
        plan = []
        for view, idx in by_view.values():
            dtypes = [view["features"][i]["dtype"] for i in idx]
            plan.append((view, idx, dtypes, [f["dtype"] for f in view["features"]],
                         "timestamp" in dtypes or "bool" in dtypes, len(idx)))
        out = (plan, names, dtypes_out)
        with self._lock:
            if len(self._plans) > 1000:
                self._plans.clear()
            self._plans[features] = (now + 1.0, out)
        return out

    # -- freshness ---------------------------------------------------------------------------

    def freshness(self, name: str | None = None) -> list[dict]:
        """Per view: the newest event time materialized and the last materialization (of the
        version the online store serves), the age of the data against the view's SLO."""
        v, m = feature_views, feature_materializations
        now = self.clock()
        with self.store.read() as conn:
            q = select(v.c.name, func.max(v.c.version)).group_by(v.c.name)
            if name:
                q = q.where(v.c.name == name)
            latest = dict(conn.execute(q).all())
            if name and not latest:
                raise NotFound(f"no feature view named {name!r}", field="view")
            slo = {r.name: r.freshness_slo for r in conn.execute(
                select(v.c.name, v.c.version, v.c.freshness_slo)) if latest.get(r.name) ==
                r.version}
            mq = select(m.c.view, m.c.version, func.max(m.c.newest_event_time),
                        func.max(m.c.finished_at), func.count()).where(
                m.c.status == "finished").group_by(m.c.view, m.c.version)
            if name:
                mq = mq.where(m.c.view == name)
            done: dict[str, tuple] = {}
            for r in conn.execute(mq):
                if r[0] not in done or r[3] > done[r[0]][2]:
                    done[r[0]] = (r[1], r[2], r[3], r[4])
            running = dict(conn.execute(select(m.c.view, func.count()).where(
                m.c.status == "running").group_by(m.c.view)).all())
        out = []
        for view in sorted(latest):
            version, newest, last, count = done.get(view, (None, None, None, 0))
            age = None if newest is None else max(0.0, now - newest)
            s = slo.get(view)
            if last is None:
                state = "never"
            elif s is None:
                state = "unmonitored"
            else:
                state = "fresh" if age is not None and age <= s else "stale"
            out.append({"view": view, "version": latest[view], "online_version": version,
                        "newest_event_time": newest, "last_materialized": last,
                        "age": age, "slo": s, "status": state, "materializations": count,
                        "running": running.get(view, 0)})
        return out


# -- helpers ---------------------------------------------------------------------------------


def _entity(row: Any) -> dict:
    return {"name": row.name, "version": row.version, "join_keys": json.loads(row.join_keys),
            "description": row.description, "owner": row.owner, "created_at": row.created_at,
            "created_by": row.created_by}


def _view(row: Any) -> dict:
    d = json.loads(row.definition)
    return {"name": row.name, "version": row.version, **d, "description": row.description,
            "owner": row.owner, "freshness_slo": row.freshness_slo,
            "tags": json.loads(row.tags) if row.tags else {}, "created_at": row.created_at,
            "created_by": row.created_by, "updated_at": row.updated_at}


def _materialization(row: Any) -> dict:
    return {"id": row.id, "view": row.view, "version": row.version, "start": row.start,
            "end": row.end, "cutoff": row.cutoff, "incremental": bool(row.incremental),
            "status": row.status, "keys": row.keys, "written": row.written,
            "progress": row.progress, "newest_event_time": row.newest_event_time,
            "error": row.error, "started_at": row.started_at, "finished_at": row.finished_at,
            "started_by": row.started_by}


def _loaded(value: Any, dtype: str) -> Any:
    """A stored online value as Python: timestamps (microseconds) as naive UTC datetimes,
    booleans (SQLite keeps 0/1) as bools."""
    if value is None:
        return None
    if dtype == "timestamp":
        return datetime(1970, 1, 1) + _delta(value)
    if dtype == "bool":
        return bool(value)
    return value


def _delta(us: int):
    from datetime import timedelta

    return timedelta(microseconds=us)


def _plain(x: Any) -> Any:
    if x is None:
        return None
    if hasattr(x, "isoformat"):
        try:
            if x != x:  # NaT
                return None
        except TypeError:
            pass
        return x.isoformat()
    if isinstance(x, float) and math.isnan(x):
        return None
    if hasattr(x, "item"):
        return x.item()
    return x


def _entity_rows(entities: Any) -> list[dict]:
    if type(entities) is dict and len(entities) == 1:  # the common case, {"id": [1, 2]}
        ((k, v),) = entities.items()
        if type(v) is list:
            return [{k: x} for x in v]
    if hasattr(entities, "to_dict") and hasattr(entities, "columns"):  # a DataFrame
        entities = entities.to_dict("records")
    if isinstance(entities, Mapping):
        cols = {k: (list(v) if isinstance(v, Iterable) and not isinstance(v, (str, bytes))
                    else [v]) for k, v in entities.items()}
        lengths = {len(v) for v in cols.values()}
        if len(lengths) > 1:
            raise InvalidInput(f"entity columns have different lengths: "
                               f"{ {k: len(v) for k, v in cols.items()} }", field="entities")
        n = lengths.pop() if lengths else 0
        return [{k: v[i] for k, v in cols.items()} for i in range(n)]
    if isinstance(entities, (list, tuple)) and all(isinstance(r, Mapping) for r in entities):
        return [dict(r) for r in entities]
    raise InvalidInput("entities must be {'customer_id': [1, 2]}, a list of "
                       "{'customer_id': 1} rows, or a DataFrame", field="entities")


_INT = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
        "UINTEGER", "UBIGINT")


def _int_keyed(view: dict) -> bool:
    """Whether the view is keyed by one integer column (stored as an integer key online)."""
    keys = view["join_keys"]
    return len(keys) == 1 and (view.get("key_types") or {}).get(keys[0]) in _INT


def _lookup_keys(rows: list[dict], view: dict) -> list[Any]:
    """The stored key of each entity row: the integer, or the JSON ``key_string`` writes."""
    keys = view["join_keys"]
    if not keys:
        return ["[]"] * len(rows)
    if view["_int_key"]:
        k = keys[0]
        try:
            return [_int_key(r[k]) for r in rows]
        except (KeyError, TypeError, ValueError):
            # the slow path names the problem
            return [json.loads(_lookup_key(r, view))[0] for r in rows]
    return [_lookup_key(r, view) for r in rows]


def _int_key(v: Any) -> int:
    if type(v) is int:
        return v
    if isinstance(v, bool) or isinstance(v, float) and not v.is_integer():
        raise ValueError(v)
    return int(v)


def _lookup_key(row: Mapping[str, Any], view: dict) -> str:
    keys = view["join_keys"]
    if not keys:
        return "[]"
    out = []
    types = view.get("key_types") or {}
    for k in keys:
        if k not in row:
            raise InvalidInput(f"the entities lack {k!r}, a join key of view {view['name']!r}",
                               field="entities")
        v = row[k]
        t = types.get(k, "")
        if hasattr(v, "item"):
            v = v.item()
        try:
            if t in _INT:
                if isinstance(v, float) and not v.is_integer():
                    raise ValueError
                v = int(v)
            elif t.startswith("VARCHAR"):
                v = str(v)
            elif t in ("DOUBLE", "FLOAT"):
                v = float(v)
        except (TypeError, ValueError):
            raise InvalidInput(f"{k}={row[k]!r} is not a {t} key of view {view['name']!r}",
                               field="entities") from None
        out.append(v)
    return key_string(out)
