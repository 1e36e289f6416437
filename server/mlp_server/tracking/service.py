"""Experiment tracking: experiments, runs, params, metrics, tags, artifacts, captures.

A plain Python service over the store. It imports neither tornado nor
Jupyter; the in-process transport calls it directly and the server's REST
handlers call the same methods. Every method validates its input and raises
``mlp.errors`` exceptions that name the field and the fix.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    exists,
    func,
    insert,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, StatementError

from mlp._files import artifact_files
from mlp.errors import Conflict, InvalidInput, NotFound

from ..store import Store, schema
from ..store.schema import (
    artifacts,
    experiments,
    metric_batches,
    metric_chunks,
    metric_latest,
    model_versions,
    params,
    registered_models,
    runs,
    tags,
)
from ..store.schema import captures as captures_t
from . import search
from .artifacts import ArtifactStore, clean_artifact_path
from .metrics import CHUNK_POINTS, SMALL_CHUNK, Series, Summary, decode, downsample, encode
from .query import parse, parse_order_by

TERMINAL = ("finished", "failed", "killed", "crashed")
BATCH_ID_DAYS = 14
CAPTURE_KINDS = ("code", "git", "environment", "inputs")
MAX_KEY = 255
MAX_PARAM_VALUE = 6000
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_LATEST = re.compile(r"^@latest(?:~(\d+))?$")
_REAP_EVERY = 5.0
_NO_HEARTBEAT = "no heartbeat"

RUN_COLUMNS = (
    runs.c.id, runs.c.name, runs.c.status, runs.c.status_reason, runs.c.start_time,
    runs.c.end_time, runs.c.heartbeat_at, runs.c.user, runs.c.host, runs.c.pid,
    runs.c.parent_id, runs.c.source_type, runs.c.source_name, runs.c.deleted_at,
    experiments.c.name.label("experiment"),
)


def flatten_params(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"optimizer": {"name": "adam"}}`` → ``{"optimizer.name": "adam"}``."""
    out: dict[str, Any] = {}
    for k, v in values.items():
        if not isinstance(k, str):
            raise InvalidInput(f"param names must be strings, got {k!r}", field="params")
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and v:
            out.update(flatten_params(v, key + "."))
        else:
            out[key] = v
    return out


def series_batch_id(batch_id: str, run_id: str, key: str) -> str:
    """The id under which one series of a batch is remembered (at most 64 characters)."""
    digest = hashlib.sha256(f"{batch_id}\0{run_id}\0{key}".encode()).hexdigest()
    return digest[:64]


def check_key(key: Any, what: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InvalidInput(f"{what} name must be a non-empty string, got {key!r}", field=what)
    if len(key) > MAX_KEY:
        raise InvalidInput(f"{what} name {key[:40]!r}... is longer than {MAX_KEY} characters",
                           field=what)
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(f"{what} name {key!r} is not valid text (a lone surrogate): "
                           "decode it properly or use another name", field=what) from None
    return key


def param_text(value: Any) -> tuple[str, float | None]:
    """A param's stored text and, when it is a number, its numeric value."""
    if isinstance(value, (np.generic,)):
        value = value.item()  # numpy scalars log as the Python number they hold
    if isinstance(value, (list, tuple, dict)):
        text = json.dumps(value, default=str, sort_keys=True)
    else:
        text = str(value)
    num = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        num = float(value)
    else:
        try:
            num = float(text)
        except ValueError:
            num = None
    if num is not None and not math.isfinite(num):
        num = None
    return text, num


class TrackingService:
    """Experiments and runs over a ``Store`` and an ``ArtifactStore``."""

    def __init__(
        self,
        store: Store,
        artifacts: ArtifactStore,
        *,
        heartbeat_timeout: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.heartbeat_timeout = heartbeat_timeout
        self.clock = clock
        self.hostname = socket.gethostname()
        self._last_reap = 0.0
        self._last_prune = 0.0

    def info(self) -> dict:
        """Where this service keeps its data (passwords hidden)."""
        return {"store": self.store.display_url, "schema": self.store.revision(),
                "artifact_root": self.artifacts.root_url}

    # -- experiments ---------------------------------------------------------------

    def get_or_create_experiment(self, name: str) -> dict:
        name = _experiment_name(name)
        with self.store.read() as conn:
            row = conn.execute(select(experiments).where(experiments.c.name == name)).first()
        if row is not None:
            return dict(row._mapping)
        try:
            with self.store.write() as conn:
                conn.execute(insert(experiments).values(name=name, created_at=self.clock()))
        except IntegrityError:
            pass  # another process created it first: use theirs
        with self.store.read() as conn:
            return dict(conn.execute(select(experiments)
                                     .where(experiments.c.name == name)).one()._mapping)

    def list_experiments(self) -> list[dict]:
        counts = (
            select(runs.c.experiment_id, func.count().label("runs"),
                   func.max(runs.c.start_time).label("last_run"))
            .where(runs.c.deleted_at.is_(None))
            .group_by(runs.c.experiment_id)
            .subquery()
        )
        stmt = (
            select(experiments, func.coalesce(counts.c.runs, 0).label("runs"), counts.c.last_run)
            .outerjoin(counts, counts.c.experiment_id == experiments.c.id)
            .where(experiments.c.deleted_at.is_(None))
            .order_by(experiments.c.name)
        )
        with self.store.read() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    # -- runs ----------------------------------------------------------------------

    def create_run(
        self,
        experiment: str = "Default",
        name: str | None = None,
        *,
        run_id: str | None = None,
        parent_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        captures: Mapping[str, Mapping[str, Any]] | None = None,
        user: str | None = None,
        host: str | None = None,
        pid: int | None = None,
        pid_started: float | None = None,
        source_type: str | None = None,
        source_name: str | None = None,
        start_time: float | None = None,
    ) -> dict:
        """Start a run, with its first params and tags in the same transaction (a refused
        param leaves no run behind). Passing ``run_id`` makes the call idempotent."""
        if run_id is not None and (not isinstance(run_id, str) or not _RUN_ID.match(run_id)):
            raise InvalidInput(f"run id {run_id!r} must be 32 lowercase hex digits", field="run_id")
        if parent_id is not None and (not isinstance(parent_id, str) or
                                      not _RUN_ID.match(parent_id)):
            raise InvalidInput(f"parent id {parent_id!r} must be 32 lowercase hex digits",
                               field="parent_id")
        if name is not None:
            name = check_key(name, "run")
        pid = _opt_int(pid, "pid", 1, 2**31 - 1)
        pid_started = _opt_time(pid_started, "pid_started")
        start_time = _opt_time(start_time, "start_time")
        for value, field in ((host, "host"), (source_type, "source_type"),
                             (source_name, "source_name"), (user, "user")):
            _opt_text(value, field)
        for field, given in (("tags", tags), ("params", params), ("captures", captures)):
            if given is not None and not isinstance(given, Mapping):
                raise InvalidInput(f"{field} must be an object of names to values",
                                   field=field)
        param_rows = _param_rows(params or {})
        capture_rows = [_capture_row(kind, _with_path(kind, payload, source_name), self.clock())
                        for kind, payload in (captures or {}).items()]
        exp = self.get_or_create_experiment(experiment)
        now = self.clock()
        new_id = run_id or uuid.uuid4().hex
        with self.store.write() as conn:
            if run_id is not None and conn.execute(
                select(runs.c.id).where(runs.c.id == run_id)
            ).first():
                return self._run_row(conn, run_id)
            if parent_id is not None and not conn.execute(
                select(runs.c.id).where(runs.c.id == parent_id)
            ).first():
                raise NotFound(f"parent run {parent_id!r} does not exist", field="parent_id")
            if name is None:
                # The lock makes concurrent creators count in turn (SQLite already does).
                conn.execute(select(experiments.c.id).where(experiments.c.id == exp["id"])
                             .with_for_update())
                n = conn.execute(
                    select(func.count()).select_from(runs)
                    .where(runs.c.experiment_id == exp["id"])
                ).scalar_one()
                name = f"run-{n + 1}"
            conn.execute(insert(runs).values(
                id=new_id, experiment_id=exp["id"], name=name, status="running",
                start_time=start_time or now, heartbeat_at=now, user=user, host=host or None,
                pid=pid, pid_started=pid_started, parent_id=parent_id,
                source_type=source_type, source_name=source_name,
            ))
            if tags:
                self._upsert_tags(conn, new_id, tags)
            if param_rows:
                conn.execute(insert(schema.params),
                             [{"run_id": new_id, **r} for r in param_rows.values()])
            if capture_rows:
                conn.execute(insert(captures_t), [{"run_id": new_id, **r} for r in capture_rows])
            return self._run_row(conn, new_id)

    def end_run(self, run_id: str, status: str = "finished", *, reason: str | None = None,
                end_time: float | None = None) -> dict:
        """End a run with a terminal status; ending it again with the same status is a no-op."""
        if status not in TERMINAL:
            raise InvalidInput(
                f"status {status!r} is not a final status: use one of {', '.join(TERMINAL)}",
                field="status")
        end_time = _opt_time(end_time, "end_time", positive=True)
        with self.store.write() as conn:
            row = self._require_run(conn, run_id, allow_deleted=True)
            if row.status == "running" or (row.status == "crashed" and status != "crashed"):
                conn.execute(update(runs).where(runs.c.id == run_id).values(
                    status=status, status_reason=reason, end_time=end_time or self.clock()))
            elif row.status != status:
                raise Conflict(f"run {run_id[:8]} already ended {row.status}; it cannot become "
                               f"{status}", field="status")
            return self._run_row(conn, run_id)

    def heartbeat(self, run_ids: Iterable[str]) -> None:
        ids = list(run_ids)
        if not all(isinstance(i, str) and _RUN_ID.match(i) for i in ids):
            raise InvalidInput("run_ids must be a list of run ids (32 lowercase hex digits)",
                               field="run_ids")
        if not ids:
            return
        with self.store.write() as conn:
            conn.execute(update(runs).where(runs.c.id.in_(ids), runs.c.status == "running")
                         .values(heartbeat_at=self.clock()))
            # A run declared crashed only because its heartbeats stopped (a laptop asleep,
            # a network cut) is alive after all when they resume.
            conn.execute(update(runs).where(runs.c.id.in_(ids), runs.c.status == "crashed",
                                            runs.c.status_reason.like(f"{_NO_HEARTBEAT}%"))
                         .values(status="running", status_reason=None, end_time=None,
                                 heartbeat_at=self.clock()))

    def delete_run(self, run_id: str) -> None:
        with self.store.write() as conn:
            self._require_run(conn, run_id, allow_deleted=True)
            conn.execute(update(runs).where(runs.c.id == run_id).values(deleted_at=self.clock()))

    def restore_run(self, run_id: str) -> None:
        with self.store.write() as conn:
            self._require_run(conn, run_id, allow_deleted=True)
            conn.execute(update(runs).where(runs.c.id == run_id).values(deleted_at=None))

    def resolve_run(self, ref: str, include_deleted: bool = False) -> str:
        """A run id from a reference: an id, a unique id prefix, ``experiment/name``,
        a run name, ``@latest`` or ``@latest~N`` (N runs before the latest)."""
        if not isinstance(ref, str) or not ref.strip():
            raise InvalidInput(f"run reference must be a non-empty string, got {ref!r}",
                               field="run")
        ref = ref.strip()
        live = true() if include_deleted else runs.c.deleted_at.is_(None)
        with self.store.read() as conn:
            if _RUN_ID.match(ref):
                if conn.execute(select(runs.c.id).where(runs.c.id == ref)).first():
                    return ref
                raise NotFound(f"no run has id {ref}", field="run")
            m = _LATEST.match(ref)
            if m:
                back = int(m.group(1) or 0)
                rid = conn.execute(select(runs.c.id).where(live)
                                   .order_by(runs.c.start_time.desc(), runs.c.id)
                                   .offset(back).limit(1)).scalar()
                if rid is None:
                    raise NotFound(f"there is no run {ref}: only "
                                   f"{conn.execute(select(func.count()).where(live).select_from(runs)).scalar()}"
                                   " runs exist", field="run")
                return rid
            if "/" in ref:
                exp, _, name = ref.partition("/")
                rid = conn.execute(
                    select(runs.c.id).join(experiments)
                    .where(experiments.c.name == exp, runs.c.name == name, live)
                    .order_by(runs.c.start_time.desc()).limit(1)).scalar()
                if rid is None:
                    raise NotFound(f"no run named {name!r} in experiment {exp!r}", field="run")
                return rid
            cands = conn.execute(
                select(runs.c.id).where(live, or_(runs.c.name == ref, runs.c.id.like(f"{ref}%")))
                .limit(6)).scalars().all() if re.fullmatch(r"[0-9a-f]{4,31}", ref) else []
            if not cands:
                cands = conn.execute(select(runs.c.id).where(live, runs.c.name == ref)
                                     .order_by(runs.c.start_time.desc()).limit(6)).scalars().all()
        if len(cands) == 1:
            return cands[0]
        if not cands:
            raise NotFound(f"no run matches {ref!r}: use a run id, a unique id prefix, "
                           "'experiment/name' or '@latest'", field="run")
        raise InvalidInput(f"{ref!r} matches several runs ({', '.join(c[:8] for c in cands)}...): "
                           "use more of the id, or 'experiment/name'", field="run")

    def get_run(self, ref: str) -> dict:
        """The run with its params, tags, metric summaries, artifacts and children."""
        run_id = self.resolve_run(ref)
        self._reap_one(run_id)
        with self.store.read() as conn:
            run = self._run_row(conn, run_id)
            run["params"] = self._kv_of(conn, params, [run_id]).get(run_id, {})
            run["tags"] = self._kv_of(conn, tags, [run_id]).get(run_id, {})
            run["metrics"] = {
                r.key: {"last": Summary.from_row(r).last_value, "step": r.last_step,
                        "time": r.last_time, "min": r.min_value, "max": r.max_value,
                        "count": r.count}
                for r in conn.execute(select(metric_latest).where(metric_latest.c.run_id == run_id)
                                      .order_by(metric_latest.c.key))
            }
            run["artifacts"] = self._artifacts_of(conn, run_id)
            # The registry's side of the link: the model versions made from this run.
            run["models"] = [{"name": r.name, "version": r.version, "stage": r.stage}
                             for r in conn.execute(
                                 select(registered_models.c.name, model_versions.c.version,
                                        model_versions.c.stage)
                                 .select_from(model_versions.join(registered_models))
                                 .where(model_versions.c.run_id == run_id)
                                 .order_by(registered_models.c.name, model_versions.c.version))]
            run["children"] = list(conn.execute(
                select(runs.c.id).where(runs.c.parent_id == run_id, runs.c.deleted_at.is_(None))
                .order_by(runs.c.start_time)).scalars())
        return run

    # -- params and tags -----------------------------------------------------------

    def log_params(self, run_id: str, values: Mapping[str, Any]) -> None:
        """Log params (nested dicts flatten to dotted keys). A param is logged once: the same
        value again is fine, another value is a ``Conflict`` naming the param."""
        rows = {k: {"run_id": run_id, **r} for k, r in _param_rows(values).items()}
        if not rows:
            return
        with self.store.write() as conn:
            self._require_run(conn, run_id)
            existing = dict(conn.execute(
                select(params.c.key, params.c.value)
                .where(params.c.run_id == run_id, params.c.key.in_(list(rows)))).all())
            for k, old in existing.items():
                if old != rows[k]["value"]:
                    raise Conflict(
                        f"param {k!r} is already {old!r} on this run and cannot become "
                        f"{rows[k]['value']!r}: params are fixed once logged; start a new run, "
                        "or log the changing value as a metric or a tag", field=k)
            new = [r for k, r in rows.items() if k not in existing]
            if new:
                conn.execute(insert(params), new)

    def set_tags(self, run_id: str, values: Mapping[str, Any]) -> None:
        if not isinstance(values, Mapping):
            raise InvalidInput(f"tags must be a dict, got {type(values).__name__}", field="tags")
        with self.store.write() as conn:
            self._require_run(conn, run_id)
            self._upsert_tags(conn, run_id, values)

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.store.write() as conn:
            self._require_run(conn, run_id)
            conn.execute(delete(tags).where(tags.c.run_id == run_id, tags.c.key == key))

    def _upsert_tags(self, conn, run_id: str, values: Mapping[str, Any]) -> None:
        clean = {check_key(k, "tag"): str(v) for k, v in values.items()}
        if not clean:
            return
        conn.execute(delete(tags).where(tags.c.run_id == run_id, tags.c.key.in_(list(clean))))
        conn.execute(insert(tags), [{"run_id": run_id, "key": k, "value": v}
                                    for k, v in clean.items()])

    # -- metrics -------------------------------------------------------------------

    def log_metrics(self, batch: Iterable[Series], batch_id: str | None = None) -> int:
        """Store metric points in one transaction, appended as chunks; returns the count.

        Every series is checked before anything is written, so a refused batch stores
        nothing. Writers to the same run take turns (a row lock on PostgreSQL; SQLite
        writers are serialized already), so no chunk or summary update is lost.

        With a ``batch_id`` each series is stored once, however often the batch — whole or
        one series at a time — is sent again (a retry whose first reply was lost, a spool
        replayed after a crash); ids are kept ``BATCH_ID_DAYS`` days.
        """
        series = [s for s in batch if len(s)]
        if batch_id is not None and (not isinstance(batch_id, str) or not 0 < len(batch_id) <= 64):
            raise InvalidInput(f"batch id {batch_id!r} must be a string of 1 to 64 characters",
                               field="batch")
        if not series:
            return 0
        for s in series:
            check_key(s.key, "metric")
            if "\x00" in s.key:
                raise InvalidInput(f"metric name {s.key!r} contains a NUL character", field="key")
            if not np.isfinite(s.times).all():
                raise InvalidInput(f"metric {s.key!r} has a time that is not a finite number of "
                                   "seconds since the epoch", field=s.key)
        with self.store.write() as conn:
            for rid in sorted({s.run_id for s in series}):
                self._require_run(conn, rid, lock=True)
            todo = series
            if batch_id is not None:
                ids = {series_batch_id(batch_id, s.run_id, s.key): s for s in series}
                seen = set(conn.execute(select(metric_batches.c.id)
                                        .where(metric_batches.c.id.in_(list(ids)))).scalars())
                todo = [s for i, s in ids.items() if i not in seen]
                if todo:
                    now = self.clock()
                    conn.execute(insert(metric_batches), [
                        {"id": i, "stored_at": now} for i in ids if i not in seen])
            for s in todo:
                self._append(conn, s)
        return sum(len(s) for s in series)

    def log_metrics_body(self, body: bytes) -> int:
        """Store a metrics request body as it came over the wire (``mlp.transport.wire``)."""
        from mlp.transport import wire

        try:
            batch_id, decoded = wire.decode_batch(body)
            series = [Series(*s) for s in decoded]
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidInput(f"malformed metrics body: {e}", field="body") from None
        return self.log_metrics(series, batch_id=batch_id)

    def _append(self, conn, s: Series) -> None:
        where = and_(metric_latest.c.run_id == s.run_id, metric_latest.c.key == s.key)
        old = conn.execute(select(metric_latest).where(where)).first()
        steps, times, values = s.steps, s.times, s.values
        tail_id, tail_n = (old.tail_id, old.tail_n) if old is not None else (None, 0)
        if tail_id is not None and tail_n < SMALL_CHUNK:
            # Top up a small newest chunk so many small flushes don't leave many tiny rows.
            take = CHUNK_POINTS - tail_n
            tail = conn.execute(select(metric_chunks).where(metric_chunks.c.id == tail_id)).one()
            ps, pt, pv = decode(tail.steps, tail.times, tail.vals)
            merged = encode(np.concatenate([ps, steps[:take]]), np.concatenate([pt, times[:take]]),
                            np.concatenate([pv, values[:take]]))
            conn.execute(update(metric_chunks).where(metric_chunks.c.id == tail_id)
                         .values(**merged))
            tail_n = merged["n"]
            steps, times, values = steps[take:], times[take:], values[take:]
        for i in range(0, len(values), CHUNK_POINTS):
            row = encode(steps[i:i + CHUNK_POINTS], times[i:i + CHUNK_POINTS],
                         values[i:i + CHUNK_POINTS])
            tail_id = conn.execute(insert(metric_chunks).values(run_id=s.run_id, key=s.key, **row)
                                   ).inserted_primary_key[0]
            tail_n = row["n"]
        summary = Summary.of(s).merged(Summary.from_row(old) if old is not None else None)
        values_ = {**summary.row(), "tail_id": tail_id, "tail_n": tail_n}
        if old is None:
            conn.execute(insert(metric_latest).values(run_id=s.run_id, key=s.key, **values_))
        else:
            conn.execute(update(metric_latest).where(where).values(**values_))

    def metric_history(self, run_id: str, key: str) -> dict[str, np.ndarray]:
        """Every point of one metric, ordered by step (points of equal step keep log order)."""
        with self.store.read() as conn:
            self._require_run(conn, run_id, allow_deleted=True)
            rows = self._chunk_blobs(conn, run_id, key)
            if not rows:
                known = list(conn.execute(select(metric_latest.c.key)
                                          .where(metric_latest.c.run_id == run_id)).scalars())
                raise NotFound(f"run {run_id[:8]} has no metric {key!r}"
                               + (f"; it has {', '.join(sorted(known))}" if known else ""),
                               field="key")
        return _history(rows)

    def metric_series(self, run_id: str, keys: Sequence[str], max_points: int = 1000,
                      x: str = "step", start: float | None = None,
                      end: float | None = None) -> dict:
        """Metrics as a chart draws them: per key at most ``max_points`` points of the
        ``[start, end]`` range of ``x`` (``step`` or ``time``), each bucket of the range
        keeping its first, lowest, highest and last point. NaN and ±inf are counted
        (``nonfinite``), not drawn."""
        if x not in ("step", "time"):
            raise InvalidInput(f"x must be 'step' or 'time', got {x!r}", field="x")
        if not isinstance(max_points, int) or isinstance(max_points, bool) or \
                not 16 <= max_points <= 100_000:
            raise InvalidInput(f"max_points must be a whole number from 16 to 100000, got "
                               f"{max_points!r}", field="max_points")
        keys = list(dict.fromkeys(keys))
        if not keys or len(keys) > 50:
            raise InvalidInput("name 1 to 50 metrics with key=...", field="key")
        for bound, name in ((start, "start"), (end, "end")):
            if bound is not None and not math.isfinite(bound):
                raise InvalidInput(f"{name} must be a finite number", field=name)
        out = []
        for key in keys:
            h = self.metric_history(run_id, key)
            xs = h[x].astype(np.float64)
            ys = h["value"]
            if x == "time":
                order = np.argsort(xs, kind="stable")
                xs, ys = xs[order], ys[order]
            lo = 0 if start is None else int(np.searchsorted(xs, start, "left"))
            hi = len(xs) if end is None else int(np.searchsorted(xs, end, "right"))
            xs, ys = xs[lo:hi], ys[lo:hi]
            finite = np.isfinite(ys)
            nonfinite = int(len(ys) - finite.sum())
            if nonfinite:
                xs, ys = xs[finite], ys[finite]
            dx, dy = downsample(xs, ys, max_points)
            out.append({
                "key": key, "x": dx.tolist(), "y": dy.tolist(), "count": hi - lo,
                "downsampled": len(dx) < len(xs), "nonfinite": nonfinite,
                "min": float(ys.min()) if len(ys) else None,
                "max": float(ys.max()) if len(ys) else None,
                "last": float(h["value"][-1]) if len(h["value"]) else None,
            })
        return {"run_id": run_id, "x": x, "series": out}

    def keys(self, experiment: str | Sequence[str] | None = None) -> dict:
        """The metric, param and tag names used by the (not deleted) runs of some
        experiments, or of all: what a column picker offers."""
        names = [experiment] if isinstance(experiment, str) else list(experiment or [])
        with self.store.read() as conn:
            live = select(runs.c.id).where(runs.c.deleted_at.is_(None))
            if names:
                live = live.join(experiments, experiments.c.id == runs.c.experiment_id) \
                    .where(experiments.c.name.in_(names))
            out = {}
            for field, table in (("metrics", metric_latest), ("params", params),
                                 ("tags", tags)):
                out[field] = sorted(conn.execute(
                    select(table.c.key).distinct().where(table.c.run_id.in_(live))).scalars())
        return out

    def _chunk_blobs(self, conn, run_id: str, key: str | None) -> list[tuple]:
        """(steps, times, vals) blobs of one metric in log order; with ``key`` None, every
        metric of the run as (key, steps, times, vals)."""
        if self.store.dialect == "postgresql":
            # psycopg sends bytea as hex text unless asked for binary: 4x slower for 24 MB.
            with conn.connection.driver_connection.cursor(binary=True) as cur:
                if key is None:
                    cur.execute("SELECT key, steps, times, vals FROM metric_chunks "
                                "WHERE run_id = %s ORDER BY key, id", (run_id,))
                else:
                    cur.execute("SELECT steps, times, vals FROM metric_chunks "
                                "WHERE run_id = %s AND key = %s ORDER BY id", (run_id, key))
                return cur.fetchall()
        c = metric_chunks.c
        if key is None:
            return [tuple(r) for r in conn.execute(
                select(c.key, c.steps, c.times, c.vals).where(c.run_id == run_id)
                .order_by(c.key, c.id))]
        return [tuple(r) for r in conn.execute(
            select(c.steps, c.times, c.vals).where(c.run_id == run_id, c.key == key)
            .order_by(c.id))]

    # -- artifacts -----------------------------------------------------------------

    def log_artifact(self, run_id: str, local_path: str | os.PathLike,
                     artifact_path: str | None = None, contents: bool = False) -> list[dict]:
        """Store a file, or every file of a folder, under the run at ``artifact_path``
        (default: its name). ``contents=True`` stores a folder's files at ``artifact_path``
        or at the run's root. All files are recorded in one transaction."""
        files = [(f, clean_artifact_path(logical))
                 for f, logical in artifact_files(local_path, artifact_path, contents)]
        with self.store.read() as conn:
            self._require_run(conn, run_id)
        entries = []
        for f, logical in files:
            digest, size = self.artifacts.put_file(f)
            entries.append({"run_id": run_id, "path": logical, "digest": digest, "size": size,
                            "created_at": self.clock()})
        if entries:
            with self.store.write() as conn:
                conn.execute(delete(artifacts).where(
                    artifacts.c.run_id == run_id,
                    artifacts.c.path.in_([e["path"] for e in entries])))
                conn.execute(insert(artifacts), entries)
        return [{k: e[k] for k in ("path", "digest", "size")} for e in entries]

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[dict]:
        with self.store.read() as conn:
            self._require_run(conn, run_id, allow_deleted=True)
            items = self._artifacts_of(conn, run_id)
        if prefix:
            p = clean_artifact_path(prefix)
            items = [a for a in items if a["path"] == p or a["path"].startswith(p + "/")]
        return items

    def open_artifact(self, run_id: str, path: str) -> tuple[Any, int]:
        """One artifact file, opened for reading (binary), and its size; a folder path is
        refused naming the way to list it."""
        p = clean_artifact_path(path)
        with self.store.read() as conn:
            self._require_run(conn, run_id, allow_deleted=True)
            row = conn.execute(select(artifacts.c.digest, artifacts.c.size).where(
                artifacts.c.run_id == run_id, artifacts.c.path == p)).first()
        if row is None:
            if self.list_artifacts(run_id, p):
                raise InvalidInput(f"{p!r} is a folder: list it with the artifacts route and "
                                   "fetch its files one by one", field="path")
            raise NotFound(f"run {run_id[:8]} has no artifact {p!r}", field="path")
        return self.artifacts.open(row.digest), int(row.size)

    def download_artifacts(self, run_id: str, path: str, dst: str | os.PathLike) -> Path:
        """Copy an artifact file (or every file under a folder path) into ``dst``."""
        items = self.list_artifacts(run_id, path)
        if not items:
            raise NotFound(f"run {run_id[:8]} has no artifact {path!r}", field="path")
        p = clean_artifact_path(path)
        out = Path(dst)
        for a in items:
            target = out / Path(a["path"]).name if a["path"] == p else out / a["path"]
            self.artifacts.get_file(a["digest"], target)
        return out / Path(p).name if len(items) == 1 and items[0]["path"] == p else out / p

    def _artifacts_of(self, conn, run_id: str) -> list[dict]:
        return [dict(r._mapping) for r in conn.execute(
            select(artifacts.c.path, artifacts.c.digest, artifacts.c.size)
            .where(artifacts.c.run_id == run_id).order_by(artifacts.c.path))]

    # -- captures ------------------------------------------------------------------

    def put_capture(self, run_id: str, kind: str, payload: Mapping[str, Any]) -> None:
        """Store (replace) what was captured about how a run was made: code, git, environment."""
        row = _capture_row(kind, payload, self.clock())
        with self.store.write() as conn:
            self._require_run(conn, run_id)
            if kind == "code" and not payload.get("path"):
                source = conn.execute(select(runs.c.source_name)
                                      .where(runs.c.id == run_id)).scalar()
                row = _capture_row(kind, _with_path(kind, payload, source), self.clock())
            conn.execute(delete(captures_t).where(captures_t.c.run_id == run_id,
                                                  captures_t.c.kind == kind))
            conn.execute(insert(captures_t).values(run_id=run_id, **row))

    def get_capture(self, run_id: str, kind: str) -> dict | None:
        with self.store.read() as conn:
            text = conn.execute(select(captures_t.c.payload).where(
                captures_t.c.run_id == run_id, captures_t.c.kind == kind)).scalar()
        return None if text is None else json.loads(text)

    # -- comparison ----------------------------------------------------------------

    def diff(self, refs: Sequence[str], at: Any = "last", only_changed: bool = True,
             max_points: int = 500) -> dict:
        """What differs between runs (two or more; run 0 is the baseline), as the document
        described in ``tracking/diff.py``: params, metrics at an aligned step with curves,
        code cell by cell, environment, artifacts, tags and attributes."""
        from . import diff

        return diff.compute(self, refs, at=at, only_changed=only_changed,
                            max_points=max_points)

    def diff_inputs(self, run_ids: Sequence[str]) -> tuple[list[dict], list[dict], Callable]:
        """What the diff reads, for many runs in a few queries: the runs as ``get_run``
        gives them, their captures, and a reader of their metric histories (each run's
        chunks read in one query, one run at a time, on first use)."""
        ids = list(run_ids)
        self._reap(runs.c.id.in_(ids), self.clock())
        kinds = ("code", "git", "environment", "inputs")
        with self.store.read() as conn:
            rows = {r.id: self._run_dict(r) for r in conn.execute(
                select(*RUN_COLUMNS).select_from(runs.join(experiments))
                .where(runs.c.id.in_(ids)))}
            ps, ts = self._kv_of(conn, params, ids), self._kv_of(conn, tags, ids)
            ms: dict[str, dict] = {}
            for r in conn.execute(select(metric_latest).where(metric_latest.c.run_id.in_(ids))
                                  .order_by(metric_latest.c.key)):
                ms.setdefault(r.run_id, {})[r.key] = {
                    "last": Summary.from_row(r).last_value, "step": r.last_step,
                    "time": r.last_time, "min": r.min_value, "max": r.max_value,
                    "count": r.count}
            arts: dict[str, list] = {}
            for r in conn.execute(select(artifacts.c.run_id, artifacts.c.path, artifacts.c.digest,
                                         artifacts.c.size).where(artifacts.c.run_id.in_(ids))
                                  .order_by(artifacts.c.path)):
                arts.setdefault(r.run_id, []).append(
                    {"path": r.path, "digest": r.digest, "size": r.size})
            caps: dict[str, dict] = {i: dict.fromkeys(kinds) for i in ids}
            for r in conn.execute(select(captures_t.c.run_id, captures_t.c.kind,
                                         captures_t.c.payload)
                                  .where(captures_t.c.run_id.in_(ids),
                                         captures_t.c.kind.in_(kinds))):
                caps[r.run_id][r.kind] = json.loads(r.payload)
            # Every history, in as few queries as the points allow (a round trip per run
            # costs more than decoding on PostgreSQL).
            hist: dict[str, dict[str, dict[str, np.ndarray]]] = {}
            batch: list[str] = []
            points = 0
            for i in [*ids, None]:
                n = 0 if i is None else sum(m["count"] or 0 for m in ms.get(i, {}).values())
                if batch and (i is None or points + n > _DIFF_BATCH_POINTS):
                    hist.update(self._histories_of(conn, batch))
                    batch, points = [], 0
                if i is not None:
                    batch.append(i)
                    points += n
        out = []
        for i in ids:
            if i not in rows:
                raise NotFound(f"no run has id {i!r}", field="run")
            run = rows[i]
            run.update(params=ps.get(i, {}), tags=ts.get(i, {}), metrics=ms.get(i, {}),
                       artifacts=arts.get(i, []))
            out.append(run)

        def history(run_id: str, key: str) -> dict[str, np.ndarray]:
            return hist[run_id][key]

        return out, [caps[i] for i in ids], history

    def _histories_of(self, conn, run_ids: list[str]) -> dict[str, dict]:
        """{run: {key: history}} of several runs in one query."""
        c = metric_chunks.c
        if self.store.dialect == "postgresql":
            with conn.connection.driver_connection.cursor(binary=True) as cur:
                cur.execute("SELECT run_id, key, steps, times, vals FROM metric_chunks "
                            "WHERE run_id = ANY(%s) ORDER BY run_id, key, id", (run_ids,))
                rows = cur.fetchall()
        else:
            rows = [tuple(r) for r in conn.execute(
                select(c.run_id, c.key, c.steps, c.times, c.vals).where(c.run_id.in_(run_ids))
                .order_by(c.run_id, c.key, c.id))]
        per_run: dict[str, list[tuple]] = {}
        for run_id, *rest in rows:
            per_run.setdefault(run_id, []).append(tuple(rest))
        return {r: _histories(v) for r, v in per_run.items()}

    def resolve_runs(self, refs: Sequence[str], include_deleted: bool = False) -> list[str]:
        """``resolve_run`` of many references; run ids are checked in one query."""
        hexes = [r.strip() for r in refs if isinstance(r, str) and _RUN_ID.match(r.strip())]
        known: set[str] = set()
        if hexes:
            with self.store.read() as conn:
                known = set(conn.execute(select(runs.c.id).where(runs.c.id.in_(hexes)))
                            .scalars())
        return [r.strip() if isinstance(r, str) and r.strip() in known
                else self.resolve_run(r, include_deleted) for r in refs]

    # -- search --------------------------------------------------------------------

    def search_runs(
        self,
        experiment: Iterable[str] | str | None = None,
        where: str | None = None,
        order_by: str | list[str] | None = None,
        limit: int | None = 100,
        cursor: str | None = None,
        *,
        include_deleted: bool = False,
        deleted_only: bool = False,
    ) -> dict:
        """Runs matching a query, a page at a time: ``{"runs": [...], "next_cursor": ...}``.

        The cursor remembers where the page ended (keyset paging), so runs started or
        deleted between two pages neither repeat nor skip rows.
        """
        self.reap()
        exps = _names(experiment, "experiment")
        if where is not None and not isinstance(where, str):
            raise InvalidInput(f"where must be a query string, got {where!r}", field="where")
        if order_by is not None and not isinstance(order_by, str):
            _names(order_by, "order_by")
        order = parse_order_by(order_by)
        cond = parse(where) if where and where.strip() else None
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or not 1 <= limit <= 10_000_000):
            raise InvalidInput(f"limit must be a positive whole number, got {limit!r}",
                               field="limit")
        fingerprint = hashlib.sha1(json.dumps(
            [sorted(exps), where, order_by, include_deleted, deleted_only], default=str
        ).encode()).hexdigest()[:12]
        state = _decode_cursor(cursor, fingerprint)
        now = self.clock()
        filters: list[ColumnElement[bool]] = []
        if exps:
            known = dict(self._experiment_ids(exps))
            missing = [e for e in exps if e not in known]
            if missing:
                raise NotFound(f"no experiment named {', '.join(map(repr, missing))}",
                               field="experiment")
            filters.append(runs.c.experiment_id.in_(list(known.values())))
        if deleted_only:
            filters.append(runs.c.deleted_at.is_not(None))
        elif not include_deleted:
            filters.append(runs.c.deleted_at.is_(None))
        want = None if limit is None else limit + 1
        scope = list(filters)
        with self.store.read() as conn:
            if cond is not None:
                budget = [10 * FEW_RUNS]  # PostgreSQL takes at most 65,535 bound values

                def few(ids_query) -> list[str] | None:
                    ids = _few(conn, ids_query)
                    if ids is None or len(ids) > budget[0]:
                        return None
                    budget[0] -= len(ids)
                    return ids

                filters.append(search.where_clause(cond, now, few))
            try:
                if len(order) == 1 and order[0].field.kind == "metrics":
                    found = self._by_metric(conn, order[0], filters, scope, want, state)
                elif len(order) == 1 and order[0].field.kind == "params":
                    found = self._by_param(conn, order, filters, want, state, now)
                else:
                    found = self._ordered(conn, order, filters, want, state, now)
            except (DBAPIError, StatementError):
                if state is None:
                    raise
                # A cursor whose values the database cannot compare: not one we gave out.
                raise InvalidInput(f"cursor {cursor!r} is not one this server gave out",
                                   field="cursor") from None
            more = want is not None and len(found) == want
            found = found[:limit]
            rows = [self._run_dict(r) for r, _ in found]
            for i in range(0, len(rows), 500):
                page = rows[i:i + 500]
                ids = [r["id"] for r in page]
                ps, ts = self._kv_of(conn, params, ids), self._kv_of(conn, tags, ids)
                ms = self._metrics_of(conn, ids)
                for r in page:
                    r["params"], r["tags"], r["metrics"] = (
                        ps.get(r["id"], {}), ts.get(r["id"], {}), ms.get(r["id"], {}))
        nxt = _encode_cursor(found[-1][1], fingerprint) if more and found else None
        return {"runs": rows, "next_cursor": nxt}

    def _ordered(self, conn, order, filters, want, state, now) -> list[tuple[Any, dict]]:
        """One query in the requested order; each row with the cursor that resumes after it."""
        stmt = select(*RUN_COLUMNS).select_from(runs.join(experiments)).where(*filters)
        stmt, keys = search.apply_order(stmt, order, now)
        stmt = stmt.add_columns(*(k.expr.label(f"_s{i}") for i, k in enumerate(keys)))
        if state is not None:
            stmt = stmt.where(search.after(keys, _cursor_values(state, "o", len(keys))))
        if want is not None:
            stmt = stmt.limit(want)
        return [(r, {"p": "o", "v": [r._mapping[f"_s{i}"] for i in range(len(keys))]})
                for r in conn.execute(stmt)]

    def _by_metric(self, conn, key, filters, scope, want, state) -> list[tuple[Any, dict]]:
        """Order by one metric, walking its (key, value) index instead of sorting every run:
        runs with a value first, in batches filtered against the query; then the runs
        without one, newest first. ``scope`` is ``filters`` without the query's condition
        (the experiments, deleted or not)."""
        m, desc = metric_latest, key.descending
        val = m.c.last_value
        phase = state["p"] if state is not None else "a"
        if phase not in ("a", "b"):
            raise InvalidInput("this cursor belongs to another query", field="cursor")
        found: list[tuple[Any, dict]] = []

        def one_query(pos: list | None) -> None:
            # PostgreSQL's planner walks the (key, value, run id) index itself, checking the
            # filters run by run until the limit: 3-4x faster there than the batches below
            # (measured: 37-54 ms against 124-180 ms on 100k runs). SQLite sorts every
            # matching run instead, so it takes this path only when few runs match.
            q: Any = (select(*RUN_COLUMNS, val.label("_s_v"))
                      .select_from(runs.join(experiments).join(
                          m, and_(m.c.run_id == runs.c.id, m.c.key == key.field.key)))
                      .where(*filters, val.is_not(None)))
            if pos is not None:
                q = q.where(_after_value(val, m.c.run_id, pos, desc))
            q = q.order_by(*((val.desc(), m.c.run_id.desc()) if desc else
                             (val.asc(), m.c.run_id.asc())))
            if want is not None:
                q = q.limit(want - len(found))
            found.extend((r, {"p": "a", "v": [r._s_v, r.id]}) for r in conn.execute(q))

        def runs_in(q) -> int:
            return _count_upto(conn, q.select_from(runs.join(experiments)), FEW_RUNS)

        if phase == "a":
            pos = _cursor_values(state, "a", 2) if state is not None else None
            if (conn.dialect.name == "postgresql"
                    or runs_in(select(runs.c.id).where(*scope)) <= FEW_RUNS):
                one_query(pos)  # few runs in scope: sorting them beats any walk
            else:
                # Walk the index in batches. Counting the runs that match first costs as much
                # as the query itself when the condition needs a probe per run (measured:
                # 42-53 ms of 66 for `params.lr < 0.001 and ...` on 38k runs), so the count
                # waits until a walk of WALK_FIRST candidates has not filled the page: a
                # condition that few runs match (an index lookup like parent_id = ..., or
                # a handful of metric matches) is then answered by one sorted query.
                batch, walked, counted = WALK_BATCH, 0, False
                while want is None or len(found) < want:
                    if not counted and walked >= WALK_FIRST:
                        counted = True
                        if runs_in(select(runs.c.id).where(*filters)) <= FEW_RUNS:
                            one_query(pos)
                            break
                    q = select(m.c.run_id, val).where(m.c.key == key.field.key,
                                                      val.is_not(None))
                    # Ties go by run id in the same direction, so the (key, value, run id)
                    # index gives this order as it is: no sort of every run with the metric.
                    if pos is not None:
                        q = q.where(_after_value(val, m.c.run_id, pos, desc))
                    q = q.order_by(*((val.desc(), m.c.run_id.desc()) if desc else
                                     (val.asc(), m.c.run_id.asc()))).limit(batch)
                    cands = conn.execute(q).all()
                    if not cands:
                        break
                    walked += len(cands)
                    matched = {r.id: r for r in conn.execute(
                        select(*RUN_COLUMNS).select_from(runs.join(experiments))
                        .where(runs.c.id.in_([c.run_id for c in cands]), *filters))}
                    for c in cands:
                        if c.run_id in matched:
                            found.append((matched[c.run_id],
                                          {"p": "a", "v": [c.last_value, c.run_id]}))
                            if want is not None and len(found) == want:
                                break
                    pos = [cands[-1].last_value, cands[-1].run_id]
                    if len(cands) < batch:
                        break
                    # Bounded: a much longer IN list costs more than it saves (measured).
                    batch = min(batch * 2, 1000)
        if want is not None and len(found) >= want:
            return found
        has_value = exists(select(1).where(m.c.run_id == runs.c.id, m.c.key == key.field.key,
                                           val.is_not(None)))
        stmt = (select(*RUN_COLUMNS, runs.c.start_time.label("_s0"), runs.c.id.label("_s1"))
                .select_from(runs.join(experiments)).where(*filters, not_(has_value))
                .order_by(*(k.clause() for k in search.TIE_BREAK)))
        if phase == "b" and state is not None:
            stmt = stmt.where(search.after(search.TIE_BREAK, _cursor_values(state, "b", 2)))
        if want is not None:
            stmt = stmt.limit(want - len(found))
        found += [(r, {"p": "b", "v": [r._s0, r._s1]}) for r in conn.execute(stmt)]
        return found

    def _by_param(self, conn, order, filters, want, state, now) -> list[tuple[Any, dict]]:
        """Order by one param in ``_ordered``'s order (number, then text, then ties newest
        first), with its cursors, without joining and sorting every run: walk the param's
        values in ranges of a few hundred rows, read from the (key, value_num) index, and
        sort only the runs in each range; then the runs without the param."""
        if state is None and _count_upto(conn, select(runs.c.id).select_from(
                runs.join(experiments)).where(*filters), FEW_RUNS) <= FEW_RUNS:
            return self._ordered(conn, order, filters, want, state, now)
        p, key, desc = params, order[0].field.key, order[0].descending
        keys = [search.SortKey(p.c.value_num, desc, True), search.SortKey(p.c.value, desc, True),
                *search.TIE_BREAK]
        pos = _cursor_values(state, "o", 4) if state is not None else None
        found: list[tuple[Any, dict]] = []
        # Numbers first, then texts (value_num NULL), as NULLS LAST puts them.
        for i, col, domain in ((0, p.c.value_num, p.c.value_num.is_not(None)),
                               (1, p.c.value, p.c.value_num.is_(None))):
            # Where the cursor is: numbers (a value_num), texts (a value only) or missing.
            at = None if pos is None else 0 if pos[0] is not None else 1 if pos[1] is not None \
                else 2
            if at is not None and at > i:
                continue
            lo, lo_in = (pos[i], True) if at == i else (None, True)
            batch = PARAM_RANGE
            while want is None or len(found) < want:
                first, hi = _param_range(conn, key, i, lo, lo_in, desc, batch)
                if first is None:
                    break  # nothing left here
                # A range ends at the value `batch` rows on, ties beyond it included, so it
                # is complete and sorting it gives the exact order.
                if first == hi:
                    # One value fills the range (a big tie group: batch_size = 32): its runs
                    # newest first by the start_time index, each checked for the value, rather
                    # than sorting the whole group.
                    texts = ([first] if i == 1 else list(conn.execute(
                        select(p.c.value).where(p.c.key == key, p.c.value_num == first)
                        .distinct().order_by(p.c.value.desc() if desc else p.c.value.asc()))
                        .scalars()))
                    vals0 = None if i == 1 else first
                    if pos is not None and pos[0] == vals0 and pos[1] in texts:
                        texts = texts[texts.index(pos[1]):]  # the page before ended in here
                    for text in texts:
                        has = exists(select(1).where(
                            p.c.run_id == runs.c.id, p.c.key == key, p.c.value == text,
                            domain if i == 1 else p.c.value_num == first))
                        rq = (select(*RUN_COLUMNS, runs.c.start_time.label("_s2"),
                                     runs.c.id.label("_s3"))
                              .select_from(runs.join(experiments)).where(has, *filters)
                              .order_by(*(k.clause() for k in search.TIE_BREAK)))
                        vals = [vals0, text]
                        if pos is not None and pos[:2] == vals:
                            rq = rq.where(search.after(search.TIE_BREAK, pos[2:]))
                        if want is not None:
                            rq = rq.limit(want - len(found))
                        for r in conn.execute(rq):
                            pos = [*vals, r._s2, r._s3]
                            found.append((r, {"p": "o", "v": pos}))
                else:
                    rq = (select(*RUN_COLUMNS, *(k.expr.label(f"_s{j}")
                                                 for j, k in enumerate(keys)))
                          .select_from(runs.join(experiments).join(
                              p, and_(p.c.run_id == runs.c.id, p.c.key == key)))
                          .where(domain, *filters, _beyond(col, first, desc, True)))
                    if hi is not None:
                        rq = rq.where(not_(_beyond(col, hi, desc, False)))
                    if pos is not None:
                        rq = rq.where(search.after(keys, pos))
                    rq = rq.order_by(*(k.clause() for k in keys))
                    if want is not None:
                        rq = rq.limit(want - len(found))
                    for r in conn.execute(rq):
                        pos = [r._mapping[f"_s{j}"] for j in range(4)]
                        found.append((r, {"p": "o", "v": pos}))
                if hi is None:
                    break
                lo, lo_in = hi, False
                batch = min(batch * 4, 100_000)
            if want is not None and len(found) >= want:
                return found
        # The runs without the param: after everything with one, newest first.
        has = exists(select(1).where(p.c.run_id == runs.c.id, p.c.key == key))
        stmt = (select(*RUN_COLUMNS, runs.c.start_time.label("_s2"), runs.c.id.label("_s3"))
                .select_from(runs.join(experiments)).where(*filters, not_(has))
                .order_by(*(k.clause() for k in search.TIE_BREAK)))
        if pos is not None and pos[0] is None and pos[1] is None:
            stmt = stmt.where(search.after(search.TIE_BREAK, pos[2:]))
        if want is not None:
            stmt = stmt.limit(want - len(found))
        found += [(r, {"p": "o", "v": [None, None, r._s2, r._s3]}) for r in conn.execute(stmt)]
        return found

    def _experiment_ids(self, names: list[str]) -> list[tuple[str, int]]:
        with self.store.read() as conn:
            return [(r.name, r.id) for r in conn.execute(
                select(experiments.c.name, experiments.c.id).where(experiments.c.name.in_(names)))]

    # -- crash detection -----------------------------------------------------------

    def reap(self, force: bool = False) -> list[str]:
        """Mark running runs whose process is gone, or whose heartbeat stopped, as crashed."""
        now = self.clock()
        if not force and now - self._last_reap < _REAP_EVERY:
            return []
        self._last_reap = now
        if now - self._last_prune > 3600:
            self._last_prune = now
            with self.store.write() as conn:  # batch ids old enough that no retry can come
                conn.execute(delete(metric_batches)
                             .where(metric_batches.c.stored_at < now - BATCH_ID_DAYS * 86400))
        # Only runs that can be judged: this host's (their process is checked) and stale ones.
        return self._reap(or_(runs.c.host == self.hostname,
                              runs.c.heartbeat_at < now - self.heartbeat_timeout), now)

    def _reap_one(self, run_id: str) -> None:
        self._reap(runs.c.id == run_id, self.clock())

    def _reap(self, cond: ColumnElement[bool], now: float) -> list[str]:
        with self.store.read() as conn:
            cands = conn.execute(select(runs.c.id, runs.c.host, runs.c.pid, runs.c.pid_started,
                                        runs.c.heartbeat_at)
                                 .where(runs.c.status == "running", cond)).all()
        return self._mark_crashed([c for c in cands if self._dead(c, now)], now)

    def _dead(self, c, now: float) -> str | None:
        if c.host == self.hostname and isinstance(c.pid, int) and 0 < c.pid < 2**31:
            if not _process_alive(c.pid, c.pid_started):
                return f"its process {c.pid} on {c.host} ended without ending the run"
            return None
        if c.heartbeat_at is not None and now - c.heartbeat_at > self.heartbeat_timeout:
            return f"{_NO_HEARTBEAT} for {now - c.heartbeat_at:.0f} s"
        return None

    def _mark_crashed(self, cands: list, now: float) -> list[str]:
        if not cands:
            return []
        with self.store.write() as conn:
            for c in cands:
                conn.execute(update(runs).where(runs.c.id == c.id, runs.c.status == "running")
                             .values(status="crashed", status_reason=self._dead(c, now),
                                     end_time=c.heartbeat_at or now))
        return [c.id for c in cands]

    # -- helpers -------------------------------------------------------------------

    def _require_run(self, conn, run_id: str, allow_deleted: bool = False, lock: bool = False):
        stmt = select(runs.c.id, runs.c.status, runs.c.deleted_at).where(runs.c.id == run_id)
        row = conn.execute(stmt.with_for_update() if lock else stmt).first()
        if row is None:
            raise NotFound(f"no run has id {run_id!r}", field="run_id")
        if row.deleted_at is not None and not allow_deleted:
            raise InvalidInput(f"run {run_id[:8]} is deleted: restore it with "
                               "mlp.restore_run() first", field="run_id")
        return row

    def _run_row(self, conn, run_id: str) -> dict:
        row = conn.execute(select(*RUN_COLUMNS).select_from(runs.join(experiments))
                           .where(runs.c.id == run_id)).first()
        if row is None:
            raise NotFound(f"no run has id {run_id!r}", field="run_id")
        return self._run_dict(row)

    def _run_dict(self, row) -> dict:
        d = {k: v for k, v in row._mapping.items() if not k.startswith("_s")}
        end = self.clock() if d["status"] == "running" else d["end_time"] or d["start_time"]
        d["duration"] = end - d["start_time"]
        return d

    def _kv_of(self, conn, table, ids: list[str]) -> dict[str, dict]:
        """``{run_id: {key: value}}`` of the params or tags table."""
        out: dict[str, dict] = {}
        for run_id, key, value in conn.execute(select(table.c.run_id, table.c.key, table.c.value)
                                               .where(table.c.run_id.in_(ids))).all():
            out.setdefault(run_id, {})[key] = value
        return out

    def _metrics_of(self, conn, ids: list[str]) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for run_id, key, value in conn.execute(
                select(metric_latest.c.run_id, metric_latest.c.key, metric_latest.c.last_value)
                .where(metric_latest.c.run_id.in_(ids))).all():
            out.setdefault(run_id, {})[key] = math.nan if value is None else value
        return out


def _with_path(kind: str, payload: Any, source_name: str | None) -> Any:
    """A code capture that names no file (a kernel that does not know its notebook) takes
    the run's source, which the server may know (see the REST route that starts runs)."""
    if kind == "code" and isinstance(payload, Mapping) and not payload.get("path") and \
            source_name:
        return {**payload, "path": source_name}
    return payload


def _capture_row(kind: str, payload: Any, now: float) -> dict:
    if kind not in CAPTURE_KINDS:
        raise InvalidInput(f"capture kind {kind!r} is not one of {', '.join(CAPTURE_KINDS)}",
                           field="kind")
    if not isinstance(payload, Mapping):
        raise InvalidInput(f"a {kind} capture must be a dict, got {type(payload).__name__}",
                           field="kind")
    return {"kind": kind, "payload": json.dumps(payload, default=str), "updated_at": now}


def _param_rows(values: Any) -> dict[str, dict]:
    """Validated rows (key, value, value_num) for params, by flattened key."""
    if not isinstance(values, Mapping):
        raise InvalidInput(f"params must be a dict, got {type(values).__name__}", field="params")
    rows = {}
    for k, v in flatten_params(values).items():
        check_key(k, "param")
        text, num = param_text(v)
        if len(text) > MAX_PARAM_VALUE:
            raise InvalidInput(
                f"param {k!r} is {len(text)} characters long (at most {MAX_PARAM_VALUE}): "
                "log large values as an artifact instead", field=k)
        rows[k] = {"key": k, "value": text, "value_num": num}
    return rows


def _experiment_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"experiment name must be a non-empty string, got {name!r}",
                           field="experiment")
    if "/" in name or len(name) > MAX_KEY:
        raise InvalidInput(
            f"experiment name {name!r} must be at most {MAX_KEY} characters without '/' "
            "('/' separates experiment and run in references like 'churn/baseline')",
            field="experiment")
    return name.strip()


def _process_alive(pid: int, started: float | None) -> bool:
    import psutil

    try:
        if not isinstance(pid, int) or not 0 < pid < 2**31:
            return True  # not a process id this check can judge: the heartbeat decides
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(proc.create_time() - started) < 1.0
    except psutil.NoSuchProcess:
        return False
    except (psutil.AccessDenied, psutil.Error, ValueError, TypeError, OverflowError):
        return True


#: A metric condition matching at most this many runs is used as a set of run ids.
FEW_RUNS = 2000
#: Metric points a diff reads in one query (several runs' histories at once).
_DIFF_BATCH_POINTS = 4_000_000
#: Metric index entries a walk in metric order reads before it asks whether few runs
#: match, which then get one sorted query (SQLite).
WALK_FIRST = 3200
#: Metric index entries in the walk's first batch (then twice as many each time, to 1,000).
WALK_BATCH = 400
#: Param rows in the first range of a walk in param order (then 4x each time, to 100,000).
PARAM_RANGE = 400


def _after_value(val, run_id, pos: list, desc: bool) -> ColumnElement[bool]:
    """After (value, run id) ``pos`` in a metric order whose ties go by run id."""
    if desc:
        return or_(val < pos[0], and_(val == pos[0], run_id < pos[1]))
    return or_(val > pos[0], and_(val == pos[0], run_id > pos[1]))


def _param_range(conn, key: str, i: int, lo: Any, lo_in: bool, desc: bool, batch: int
                 ) -> tuple[Any, Any]:
    """The next range of a param walk from ``lo``: (its first value, the value ``batch`` rows
    on or None when fewer are left); numbers (i = 0) from the (key, value_num) index, texts
    (i = 1) counted per value, as they have no index (B-trees refuse long values)."""
    p = params
    if i == 0:
        q = select(p.c.value_num).where(p.c.key == key, p.c.value_num.is_not(None))
        if lo is not None:
            q = q.where(_beyond(p.c.value_num, lo, desc, lo_in))
        q = q.order_by(p.c.value_num.desc() if desc else p.c.value_num.asc())
        first = conn.execute(q.limit(1)).scalar()
        if first is None:
            return None, None
        return first, conn.execute(q.offset(batch - 1).limit(1)).scalar()
    q = (select(p.c.value, func.count()).where(p.c.key == key, p.c.value_num.is_(None))
         .group_by(p.c.value).order_by(p.c.value.desc() if desc else p.c.value.asc()))
    if lo is not None:
        q = q.where(_beyond(p.c.value, lo, desc, lo_in))
    first, seen = None, 0
    for value, n in conn.execute(q.limit(batch)):
        first = value if first is None else first
        seen += n
        if seen >= batch:
            return first, value
    return first, None


def _history(rows: list[tuple]) -> dict[str, np.ndarray]:
    """One metric's points from its chunks' blobs, ordered by step (equal steps keep log
    order)."""
    parts = [decode(*r) for r in rows]
    steps = np.concatenate([p[0] for p in parts])
    times = np.concatenate([p[1] for p in parts])
    values = np.concatenate([p[2] for p in parts])
    if len(steps) > 1 and np.any(steps[1:] < steps[:-1]):
        order = np.argsort(steps, kind="stable")
        steps, times, values = steps[order], times[order], values[order]
    return {"step": steps, "time": times, "value": values}


def _histories(rows: list[tuple]) -> dict[str, dict[str, np.ndarray]]:
    """Every metric's points from (key, steps, times, vals) rows ordered by key."""
    out: dict[str, list[tuple]] = {}
    for key, *blobs in rows:
        out.setdefault(key, []).append(tuple(blobs))
    return {k: _history(v) for k, v in out.items()}


def _beyond(col, v, desc: bool, inclusive: bool) -> ColumnElement[bool]:
    """``col`` at or past ``v`` in the walk's direction."""
    if desc:
        return col <= v if inclusive else col < v
    return col >= v if inclusive else col > v


def _count_upto(conn, query, n: int) -> int:
    """How many rows ``query`` returns, counting no further than n + 1."""
    capped = query.limit(n + 1).subquery()
    return conn.execute(select(func.count()).select_from(capped)).scalar_one()


def _few(conn, ids_query) -> list[str] | None:
    """The run ids a query returns when they are at most FEW_RUNS, else None; reads at most
    FEW_RUNS + 1 index entries."""
    # Ordered like the (key, value) index, so PostgreSQL walks the index range instead of
    # scanning the table in the hope of meeting FEW_RUNS matches early.
    ids = list(conn.execute(ids_query.order_by(metric_latest.c.last_value)
                            .limit(FEW_RUNS + 1)).scalars())
    return ids if len(ids) <= FEW_RUNS else None


def _names(value: Any, field: str) -> list[str]:
    """A name or a list of names (experiments, order keys), checked."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(v, str) for v in items):
        raise InvalidInput(f"{field} must be a name or a list of names, got {value!r}",
                           field=field)
    return list(items)


def _encode_cursor(position: dict, fingerprint: str) -> str:
    raw = json.dumps({"f": fingerprint, **position}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None, fingerprint: str) -> dict | None:
    if not cursor:
        return None
    try:
        state = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(state, dict) or not isinstance(state.get("v"), list):
            raise ValueError
    except (ValueError, TypeError, UnicodeDecodeError):
        raise InvalidInput(f"cursor {cursor!r} is not one this server gave out",
                           field="cursor") from None
    if state.get("f") != fingerprint:
        raise InvalidInput("this cursor belongs to another query: pass the same experiments, "
                           "where and order_by as the call that returned it", field="cursor")
    if state.get("p") not in ("o", "a", "b") or not all(_cursor_value(v) for v in state["v"]):
        raise InvalidInput(f"cursor {cursor!r} is not one this server gave out", field="cursor")
    return state


def _cursor_value(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return -(1 << 63) <= v < 1 << 63
    return v is None or isinstance(v, (str, float))


def _cursor_values(state: dict, phase: str, n: int) -> list:
    if state.get("p") != phase or len(state["v"]) != n:
        raise InvalidInput("this cursor belongs to another query", field="cursor")
    return state["v"]


def _opt_int(value: Any, field: str, lo: int, hi: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise InvalidInput(f"{field} must be a whole number from {lo} to {hi}, got {value!r}",
                           field=field)
    return value


def _opt_time(value: Any, field: str, positive: bool = False) -> float | None:
    """A time given by a client, in seconds since the epoch (None: not given)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise InvalidInput(f"{field} must be seconds since the epoch, got {value!r}",
                           field=field)
    return float(value)


def _opt_text(value: Any, field: str, limit: int = 1024) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > limit):
        raise InvalidInput(f"{field} must be text of at most {limit} characters, got "
                           f"{str(value)[:40]!r}", field=field)
