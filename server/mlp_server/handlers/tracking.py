"""REST routes of the tracking service: each parses, authorizes, calls, serializes."""

from __future__ import annotations

import mimetypes
import os
import tempfile
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from tornado import web

from mlp.errors import InvalidInput
from mlp.transport import wire

from .. import __version__
from ..store import SCHEMA_REVISION
from .base import MLPHandler

RUN = r"(?P<run_id>[0-9a-f]{32})"

CREATE_FIELDS = ("run_id", "parent_id", "tags", "params", "captures", "host", "pid",
                 "pid_started", "source_type", "source_name", "start_time")


class InfoHandler(MLPHandler):
    job_scope = "any"
    @web.authenticated
    @authorized
    async def get(self):
        info = await self.call(self.tracking.info)
        self.reply({"version": __version__, "api": "v1", "schema_expected": SCHEMA_REVISION,
                    "transport": "http", **info})


class ExperimentsHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"experiments": await self.call(self.tracking.list_experiments)})


class RunsHandler(MLPHandler):
    """Start a run. It records the authenticated user (a ``user`` in the body is ignored) and,
    when ``kernel_id`` names a kernel of this server, its notebook's current path."""

    @web.authenticated
    @authorized
    async def post(self):
        b = await self.with_notebook_path(self.body())
        fields = {k: b[k] for k in CREATE_FIELDS if k in b}
        fields["user"] = self.identity
        run = await self.call(self.tracking.create_run, b.get("experiment", "Default"),
                              b.get("name"), **fields)
        self.reply(run, 201)


class SearchHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def post(self):
        b = self.body()
        page = await self.call(self.tracking.search_runs, b.get("experiment"), b.get("where"),
                               b.get("order_by"), b.get("limit", 100), b.get("cursor"),
                               include_deleted=bool(b.get("include_deleted")),
                               deleted_only=bool(b.get("deleted_only")))
        self.reply(page)


class ResolveHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def get(self):
        ref = self.get_query_argument("ref", "")
        deleted = self.get_query_argument("include_deleted", "false") == "true"
        self.reply({"run_id": await self.call(self.tracking.resolve_run, ref, deleted)})


class RunHandler(MLPHandler):
    job_scope = "run"

    @web.authenticated
    @authorized
    async def get(self, run_id: str):
        self.reply(await self.call(self.tracking.get_run, run_id))

    @web.authenticated
    @authorized
    async def delete(self, run_id: str):
        if self.job_run is not None:
            raise web.HTTPError(403, "a job's token cannot delete runs")
        await self.call(self.tracking.delete_run, run_id)
        self.reply({"deleted": run_id})


class RestoreHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id: str):
        await self.call(self.tracking.restore_run, run_id)
        self.reply({"restored": run_id})


class EndHandler(MLPHandler):
    @web.authenticated
    @authorized
    async def post(self, run_id: str):
        b = self.body()
        self.reply(await self.call(self.tracking.end_run, run_id, b.get("status", "finished"),
                                   reason=b.get("reason"), end_time=b.get("end_time")))


class HeartbeatHandler(MLPHandler):
    job_scope = "heartbeat"

    @web.authenticated
    @authorized
    async def post(self):
        ids = self.body().get("run_ids", [])
        if not isinstance(ids, list):
            raise InvalidInput("run_ids must be a list of run ids", field="run_ids")
        self.check_job_runs(ids)
        await self.call(self.tracking.heartbeat, ids)
        self.reply({"ok": True})


class ParamsHandler(MLPHandler):
    job_scope = "run"

    @web.authenticated
    @authorized
    async def post(self, run_id: str):
        await self.call(self.tracking.log_params, run_id, self.body().get("params"))
        self.reply({"ok": True})


class TagsHandler(MLPHandler):
    job_scope = "run"

    @web.authenticated
    @authorized
    async def post(self, run_id: str):
        await self.call(self.tracking.set_tags, run_id, self.body().get("tags"))
        self.reply({"ok": True})


class TagHandler(MLPHandler):
    job_scope = "run"

    @web.authenticated
    @authorized
    async def delete(self, run_id: str, key: str):
        await self.call(self.tracking.delete_tag, run_id, key)
        self.reply({"ok": True})


class MetricsHandler(MLPHandler):
    """Metric points in the binary wire format (see ``mlp.transport.wire``)."""

    job_scope = "metrics"

    @web.authenticated
    @authorized
    async def post(self):
        if self.job_run is not None:
            try:
                self.check_job_runs({b[0] for b in wire.decode(self.request.body)})
            except ValueError as e:
                raise InvalidInput(str(e), field="body") from None
        # Stored by the ingest process when there is one, else in this server's threads.
        ingest = self.settings.get("mlp_ingest")
        store = ingest.log_metrics if ingest is not None else self.tracking.log_metrics_body
        self.reply({"stored": await self.call(store, self.request.body)})


class HistoryHandler(MLPHandler):
    job_scope = "run"

    @web.authenticated
    @authorized
    async def get(self, run_id: str, key: str):
        h = await self.call(self.tracking.metric_history, run_id, key)
        self.set_header("Content-Type", wire.CONTENT_TYPE)
        self.finish(wire.encode([(run_id, key, h["step"], h["time"], h["value"])]))


class SeriesHandler(MLPHandler):
    """Metrics as charts draw them, downsampled here: ``?key=a&key=b&max_points=&x=&start=&end=``."""

    job_scope = "run"


    @web.authenticated
    @authorized
    async def get(self, run_id: str):
        keys = self.get_query_arguments("key")
        self.reply(await self.call(
            self.tracking.metric_series, run_id, keys,
            max_points=_int_arg(self, "max_points", 1000), x=self.get_query_argument("x", "step"),
            start=_float_arg(self, "start"), end=_float_arg(self, "end")))


class KeysHandler(MLPHandler):
    """Metric, param and tag names in use: ``?experiment=`` (repeatable; default all)."""

    @web.authenticated
    @authorized
    async def get(self):
        self.reply(await self.call(self.tracking.keys,
                                   self.get_query_arguments("experiment") or None))


class DiffHandler(MLPHandler):
    """What differs between runs: ``?run=a&run=b[&run=...]&at=last|best:KEY|STEP
    &only_changed=1|0&max_points=N`` (the document of ``tracking/diff.py``)."""

    @web.authenticated
    @authorized
    async def get(self):
        flag = self.get_query_argument("only_changed", "1").strip().lower()
        if flag not in ("1", "0", "true", "false", "yes", "no"):
            raise InvalidInput(f"only_changed must be 1 or 0, got {flag!r}", field="only_changed")
        self.reply(await self.call(
            self.tracking.diff, self.get_query_arguments("run"),
            at=self.get_query_argument("at", "last"),
            only_changed=flag in ("1", "true", "yes"),
            max_points=_int_arg(self, "max_points", 500)))


def _int_arg(handler: MLPHandler, name: str, default: int) -> int:
    raw = handler.get_query_argument(name, None)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number, got {raw!r}", field=name) from None


def _float_arg(handler: MLPHandler, name: str) -> float | None:
    raw = handler.get_query_argument(name, None)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a number, got {raw!r}", field=name) from None


class CaptureHandler(MLPHandler):
    job_scope = "run"

    @web.authenticated
    @authorized
    async def get(self, run_id: str, kind: str):
        self.reply({"capture": await self.call(self.tracking.get_capture, run_id, kind)})

    @web.authenticated
    @authorized
    async def put(self, run_id: str, kind: str):
        await self.call(self.tracking.put_capture, run_id, kind, self.body())
        self.reply({"ok": True})


class ArtifactsHandler(MLPHandler):
    """A run's artifacts: GET lists them (``?prefix=``), PUT stores one file's bytes at
    ``?path=`` (a query argument, so no URL normalization can move it)."""

    job_scope = "run"


    @web.authenticated
    @authorized
    async def get(self, run_id: str):
        prefix = self.get_query_argument("prefix", None)
        self.reply({"artifacts": await self.call(self.tracking.list_artifacts, run_id, prefix)})

    @web.authenticated
    @authorized
    async def put(self, run_id: str):
        path = self.get_query_argument("path", "")
        fd, tmp = tempfile.mkstemp(prefix="mlp-upload-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.request.body)
            stored = await self.call(self.tracking.log_artifact, run_id, tmp, path)
        finally:
            os.unlink(tmp)
        self.reply({"artifacts": stored}, 201)


class ArtifactFileHandler(MLPHandler):
    """The bytes of one artifact file, ``?path=``, with its type; ``&max_bytes=`` cuts a
    preview. Streamed from the store in pieces: a big model file never sits in memory."""

    job_scope = "run"


    @web.authenticated
    @authorized
    async def get(self, run_id: str):
        path = self.get_query_argument("path", "")
        max_bytes = _int_arg(self, "max_bytes", -1)
        if max_bytes < -1 or max_bytes == 0:
            raise InvalidInput(f"max_bytes must be a positive number of bytes, got {max_bytes}",
                               field="max_bytes")
        fh, size = await self.call(self.tracking.open_artifact, run_id, path)
        try:
            name = path.rstrip("/").rsplit("/", 1)[-1]
            ctype, _ = mimetypes.guess_type(name)
            self.set_header("Content-Type", ctype or "application/octet-stream")
            self.set_header("X-Content-Type-Options", "nosniff")
            # Shown by the panel, never run as a page of this origin, nor calling out.
            self.set_header("Content-Security-Policy",
                            "sandbox; default-src 'none'; img-src data:; "
                            "style-src 'unsafe-inline'")
            self.set_header("Content-Disposition", _disposition(name))
            send = size if max_bytes < 0 else min(size, max_bytes)
            self.set_header("X-MLP-Size", str(size))
            if send < size:
                self.set_header("X-MLP-Truncated", "true")
            self.set_header("Content-Length", str(send))
            left = send
            while left > 0:
                chunk = await self.call(fh.read, min(left, 1 << 20))
                if not chunk:
                    break
                left -= len(chunk)
                self.write(chunk)
                await self.flush()
            self.finish()
        finally:
            await self.call(fh.close)


def _disposition(name: str) -> str:
    """``inline`` with the file's name: ASCII for old clients, UTF-8 for the rest."""
    clean = "".join(c for c in name if c.isprintable())
    ascii_name = clean.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    return f"inline; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(clean, safe='')}"


#: (path under /mlp/api/v1, handler, {method: summary}); also the OpenAPI document's source.
ROUTES = [
    ("info", InfoHandler, {"get": "Version handshake: server, API and schema versions"}),
    ("experiments", ExperimentsHandler, {"get": "Experiments with run counts"}),
    ("runs", RunsHandler, {"post": "Start a run (idempotent with run_id). Its user is the "
                                   "authenticated one; a kernel_id of this server's kernels "
                                   "gives its notebook's path"}),
    ("runs/search", SearchHandler, {"post": "Search runs with the query language"}),
    ("runs/resolve", ResolveHandler, {"get": "Resolve a run reference to its id"}),
    (f"runs/{RUN}", RunHandler, {"get": "A run with params, metrics, tags, artifacts",
                                 "delete": "Delete a run (restorable)"}),
    (f"runs/{RUN}/restore", RestoreHandler, {"post": "Restore a deleted run"}),
    (f"runs/{RUN}/end", EndHandler, {"post": "End a run with a final status"}),
    ("heartbeat", HeartbeatHandler, {"post": "Heartbeat of active runs"}),
    (f"runs/{RUN}/params", ParamsHandler, {"post": "Log params"}),
    (f"runs/{RUN}/tags", TagsHandler, {"post": "Set tags"}),
    (f"runs/{RUN}/tags/(?P<key>[^/]+)", TagHandler, {"delete": "Delete a tag"}),
    ("metrics", MetricsHandler, {"post": "Store metric points (binary batch)"}),
    (f"runs/{RUN}/metrics/(?P<key>.+)", HistoryHandler,
     {"get": "Every point of a metric (binary)"}),
    (f"runs/{RUN}/series", SeriesHandler,
     {"get": "Metrics downsampled for a chart (?key=&max_points=&x=step|time&start=&end=)"}),
    ("keys", KeysHandler, {"get": "Metric, param and tag names in use (?experiment=)"}),
    ("diff", DiffHandler, {"get": "What differs between runs (?run=&run=&at=last|best:KEY|STEP"
                                  "&only_changed=1|0&max_points=)"}),
    (f"runs/{RUN}/captures/(?P<kind>[a-z]+)", CaptureHandler,
     {"get": "A captured code/git/environment record", "put": "Store a capture"}),
    (f"runs/{RUN}/artifacts", ArtifactsHandler,
     {"get": "List artifacts (?prefix=)", "put": "Upload one artifact file (?path=)"}),
    (f"runs/{RUN}/artifact", ArtifactFileHandler, {"get": "Download one artifact file (?path=)"}),
]
