"""REST routes of the model registry under /mlp/api/v1/registry. The acting user is the
identity the server authenticated; checks and validations run here."""

from __future__ import annotations

from jupyter_server.auth.decorator import authorized
from tornado import web

from mlp.errors import InvalidInput

from .base import MLPHandler

NAME = r"(?P<name>[^/]+)"


class RegistryHandler(MLPHandler):
    @property
    def registry(self):
        return self.settings["mlp_registry"]

    def arg_float(self, name: str) -> float | None:
        raw = self.get_query_argument(name, None)
        if raw in (None, ""):
            return None
        try:
            return float(raw)
        except ValueError:
            raise InvalidInput(f"{name} must be a number (seconds since the epoch), got "
                               f"{raw!r}", field=name) from None


class ModelsHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"models": await self.call(self.registry.list_models,
                                              self.get_query_argument("like", None))})

    @web.authenticated
    @authorized
    async def post(self):
        b = self.body()
        self.reply(await self.call(
            self.registry.create_model, self.field(b, "name", str, True), user=self.identity,
            description=self.field(b, "description", str), tags=self.field(b, "tags", dict),
            policy=self.field(b, "policy", dict)), status=201)


class ModelHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str):
        self.reply(await self.call(self.registry.get_model, name))

    @web.authenticated
    @authorized
    async def patch(self, name: str):
        b = self.body()
        self.reply(await self.call(
            self.registry.update_model, name, user=self.identity,
            description=self.field(b, "description", str), policy=self.field(b, "policy", dict),
            reset_policy=bool(self.field(b, "reset_policy", bool))))


class ModelTagsHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str):
        b = self.body()
        await self.call(self.registry.set_tags, name, self.field(b, "tags", dict, True),
                        self.field(b, "version", int), user=self.identity)
        self.reply({"ok": True})


class VersionsHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def post(self, name: str):
        b = self.body()
        self.reply(await self.call(
            self.registry.register, self.field(b, "run", str, True), name,
            self.field(b, "artifact", str) or "model", user=self.identity,
            description=self.field(b, "description", str), tags=self.field(b, "tags", dict)),
            status=201)


class VersionHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str, ref: str):
        self.reply(await self.call(self.registry.resolve, name, ref))

    @web.authenticated
    @authorized
    async def patch(self, name: str, ref: str):
        self.reply(await self.call(
            self.registry.update_version, name, ref, user=self.identity,
            description=self.field(self.body(), "description", str, True)))


class AliasHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def put(self, name: str, alias: str):
        b = self.body()
        self.reply(await self.call(self.registry.set_alias, name, alias,
                                   self.field(b, "version", (int, str), True),
                                   user=self.identity))

    @web.authenticated
    @authorized
    async def delete(self, name: str, alias: str):
        await self.call(self.registry.delete_alias, name, alias, user=self.identity)
        self.reply({"ok": True})


class AuditHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str | None = None):
        raw = self.get_query_argument("limit", "1000")
        try:
            limit = int(raw)
        except ValueError:
            raise InvalidInput(f"limit must be a whole number, got {raw!r}",
                               field="limit") from None
        self.reply({"events": await self.call(
            self.registry.audit, name, since=self.arg_float("since"),
            until=self.arg_float("until"), limit=limit)})


class StageAtHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, name: str):
        at = self.arg_float("at")
        if at is None:
            raise InvalidInput("give the time as ?at=<seconds since the epoch>", field="at")
        stage = self.get_query_argument("stage", "production")
        self.reply({"at": at, "stage": stage,
                    "versions": await self.call(self.registry.stage_at, name, at, stage)})


class RequestsHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"requests": await self.call(
            self.registry.requests, self.get_query_argument("model", None),
            self.get_query_arguments("status") or None)})

    @web.authenticated
    @authorized
    async def post(self):
        b = self.body()
        self.reply(await self.call(
            self.registry.request_transition, self.field(b, "model", str, True),
            self.field(b, "version", (int, str), True), self.field(b, "stage", str, True),
            user=self.identity, comment=self.field(b, "comment", str)), status=201)


class RequestHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, request_id: str):
        self.reply(await self.call(self.registry.get_request, request_id))


class DecisionHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def post(self, request_id: str, decision: str):
        fn = {"approve": self.registry.approve, "reject": self.registry.reject,
              "cancel": self.registry.cancel}[decision]
        self.reply(await self.call(fn, request_id, user=self.identity,
                                   comment=self.field(self.body(), "comment", str)))


class WebhooksHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self):
        self.reply({"webhooks": await self.call(self.registry.webhooks)})

    @web.authenticated
    @authorized
    async def post(self):
        b = self.body()
        self.reply(await self.call(
            self.registry.add_webhook, self.field(b, "url", str, True), user=self.identity,
            secret=self.field(b, "secret", str, True), model=self.field(b, "model", str),
            events=self.field(b, "events", list)), status=201)


class WebhookHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def delete(self, hook_id: str):
        await self.call(self.registry.remove_webhook, int(hook_id), user=self.identity)
        self.reply({"ok": True})


class DeliveriesHandler(RegistryHandler):
    @web.authenticated
    @authorized
    async def get(self, hook_id: str):
        self.reply({"deliveries": await self.call(self.registry.deliveries, int(hook_id))})


ROUTES = [
    ("registry/models", ModelsHandler, {"get": "Models with latest version, stages, aliases "
                                               "(?like=churn*)",
                                        "post": "Create a model (name, description, tags, "
                                                "policy)"}),
    (f"registry/models/{NAME}", ModelHandler, {
        "get": "A model: versions, aliases, tags, effective policy, open requests",
        "patch": "Change a model's description or gate policy (audited)"}),
    (f"registry/models/{NAME}/tags", ModelTagsHandler, {"post": "Set tags of a model or a "
                                                                "version"}),
    (f"registry/models/{NAME}/versions", VersionsHandler, {
        "post": "Register version N+1 from a run's model artifact (run, artifact)"}),
    (f"registry/models/{NAME}/versions/(?P<ref>[^/]+)", VersionHandler, {
        "get": "A version by number, @alias or @stage",
        "patch": "Change a version's description (audited)"}),
    (f"registry/models/{NAME}/aliases/(?P<alias>[^/]+)", AliasHandler, {
        "put": "Point an alias at a version", "delete": "Remove an alias"}),
    (f"registry/models/{NAME}/audit", AuditHandler, {"get": "A model's audit log "
                                                            "(?since=&until=&limit=)"}),
    (f"registry/models/{NAME}/stage-at", StageAtHandler, {
        "get": "Which versions were in a stage at a time (?at=&stage=production)"}),
    ("registry/audit", AuditHandler, {"get": "The whole registry's audit log"}),
    ("registry/requests", RequestsHandler, {
        "get": "Transition requests (?model=&status=pending)",
        "post": "Request a stage change (model, version, stage, comment)"}),
    ("registry/requests/(?P<request_id>[0-9]+)", RequestHandler, {"get": "A request"}),
    ("registry/requests/(?P<request_id>[0-9]+)/(?P<decision>approve|reject|cancel)",
     DecisionHandler, {"post": "Approve, reject or cancel a request (comment)"}),
    ("registry/webhooks", WebhooksHandler, {"get": "Webhooks",
                                            "post": "Add a webhook (url, secret, model, "
                                                    "events)"}),
    ("registry/webhooks/(?P<hook_id>[0-9]+)", WebhookHandler, {"delete": "Remove a webhook"}),
    ("registry/webhooks/(?P<hook_id>[0-9]+)/deliveries", DeliveriesHandler, {
        "get": "A webhook's delivery log"}),
]
