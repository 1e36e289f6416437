"""REST routes of the feature store under /mlp/api/v1/features. Training frames have no route:
the SDK computes them where it runs; these are definitions, materialization, online lookups,
freshness and browsing."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from mlp.errors import InvalidInput

from .base import MLPHandler, parse_body, typed_field

NAME = r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)"


class FeaturesHandler(MLPHandler):
    @property
    def features(self):
        return self.settings["mlp_features"]

    def int_arg(self, name: str, default: int | None = None) -> int | None:
        raw = self.get_query_argument(name, None)
        if raw in (None, ""):
            return default
        try:
            return int(raw)
        except ValueError:
            raise InvalidInput(f"{name} must be a whole number, got {raw!r}",
                               field=name) from None


class EntitiesHandler(FeaturesHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"entities": await self.call(self.features.list_entities)})

    @web.authenticated
    @authorized
    async def post(self):
        b = self.body()
        self.reply(await self.call(
            self.features.define_entity, self.field(b, "name", str, True),
            self.field(b, "join_keys", (list, str), True), user=self.identity,
            description=self.field(b, "description", str), owner=self.field(b, "owner", str)),
            status=201)


class EntityHandler(FeaturesHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str):
        self.reply(await self.call(self.features.get_entity, name, self.int_arg("version")))


class ViewsHandler(FeaturesHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"views": await self.call(self.features.list_views)})

    @web.authenticated
    @authorized
    async def post(self):
        out = await self.call(self.features.define_view, self.body(), user=self.identity)
        self.reply(out, status=201 if out.get("created") else 200)


class ViewHandler(FeaturesHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str):
        self.reply(await self.call(self.features.get_view, name, self.int_arg("version")))


class SampleHandler(FeaturesHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str):
        self.reply(await self.call(self.features.sample, name, self.int_arg("n", 10),
                                   self.int_arg("version")))


class StatsHandler(FeaturesHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str):
        self.reply(await self.call(self.features.stats, name, self.int_arg("version")))


class MaterializeHandler(FeaturesHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str):
        b = self.body()
        self.reply(await self.call(
            self.features.materialize, name, self.field(b, "start", (str, int, float)),
            self.field(b, "end", (str, int, float)),
            incremental=bool(self.field(b, "incremental", bool)), user=self.identity),
            status=202)


class MaterializationsHandler(FeaturesHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"materializations": await self.call(
            self.features.materializations, self.get_query_argument("view", None),
            self.int_arg("limit", 50))})


class MaterializationHandler(FeaturesHandler):
    @web.authenticated
    @authorized
    async def get(self, mid: str):
        self.reply(await self.call(self.features.get_materialization, int(mid)))


def online_request(raw: bytes | None) -> tuple[Any, list]:
    """The entities and feature references of an online lookup's body (this route's and the
    direct path's, handlers/fastpath.py)."""
    body = parse_body(raw)
    return (typed_field(body, "entities", (dict, list), True),
            typed_field(body, "features", list, True))


class OnlineHandler(FeaturesHandler):
    @web.authenticated
    @authorized
    async def post(self):
        entities, features = online_request(self.request.body)
        if self.features.answers_at_once(entities, features):
            # a few reads of a local SQLite store, shorter than the hop to a worker thread
            self.reply(self.features.get_online(entities, features))
            return
        self.reply(await self.call(self.features.get_online, entities, features))


class FreshnessHandler(FeaturesHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"views": await self.call(self.features.freshness,
                                             self.get_query_argument("view", None))})


class DataHandler(FeaturesHandler):
    """PUT: store a Parquet file (a DataFrame source) by content."""

    @web.authenticated
    @authorized
    async def put(self):
        fd, tmp = tempfile.mkstemp(prefix="mlp-features-", suffix=".parquet")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(self.request.body)
            stored = await self.call(self.features.put_data, tmp)
        finally:
            os.unlink(tmp)
        self.reply(stored, 201)


class DataFileHandler(FeaturesHandler):
    """GET: the bytes of stored DataFrame source data, streamed."""

    @web.authenticated
    @authorized
    async def get(self, digest: str):
        await self.call(self.features.blob_uri, digest)  # NotFound, with its message
        fh = await self.call(self.features.open_data, digest)
        try:
            self.set_header("Content-Type", "application/vnd.apache.parquet")
            while chunk := await self.call(fh.read, 1 << 20):
                self.write(chunk)
                await self.flush()
        finally:
            fh.close()
        self.finish()


ROUTES = [
    ("features/entities", EntitiesHandler, {
        "get": "Entities (current versions)",
        "post": "Define an entity (name, join_keys, description, owner)"}),
    (f"features/entities/{NAME}", EntityHandler, {"get": "An entity (?version=)"}),
    ("features/views", ViewsHandler, {
        "get": "Feature views (current versions) with freshness",
        "post": "Define a feature view; a changed schema is a new version (201), the same "
                "one is not (200)"}),
    (f"features/views/{NAME}", ViewHandler, {"get": "A feature view (?version=) and its "
                                                    "versions"}),
    (f"features/views/{NAME}/sample", SampleHandler, {"get": "The newest rows of a view's "
                                                             "source (?n=10)"}),
    (f"features/views/{NAME}/stats", StatsHandler, {"get": "Rows, keys, time range and "
                                                           "per-feature statistics"}),
    (f"features/views/{NAME}/materialize", MaterializeHandler, {
        "post": "Start a materialization (start, end, incremental); 202 with its record"}),
    ("features/materializations", MaterializationsHandler, {
        "get": "Materializations, newest first (?view=&limit=)"}),
    ("features/materializations/(?P<mid>[0-9]+)", MaterializationHandler, {
        "get": "A materialization and its progress"}),
    ("features/online", OnlineHandler, {
        "post": "Online values (entities, features) with status and event time, in request "
                "order"}),
    ("features/freshness", FreshnessHandler, {"get": "Freshness per view against its SLO "
                                                     "(?view=)"}),
    ("features/data", DataHandler, {"put": "Store a Parquet file (a DataFrame source) by "
                                           "content"}),
    ("features/data/(?P<digest>[0-9a-f]{64})", DataFileHandler, {
        "get": "The bytes of stored DataFrame source data"}),
]
