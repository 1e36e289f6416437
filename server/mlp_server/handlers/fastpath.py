"""A direct path for online feature lookups from clients that hold a token.

An online lookup is a few primary-key reads (tens of microseconds); answering it through
tornado's ``RequestHandler`` and Jupyter's ``APIHandler`` cost about 0.9 ms of server CPU
here, most of it machinery a token-holding client does not use (default headers, cookies,
XSRF, the request log's formatting). Services and the SDK looking up features one entity at
a time pay that on every call, so ``POST /mlp/api/v1/features/online`` from such a client is
answered by :class:`OnlineFastPath`, a tornado routing target placed ahead of Jupyter's
routes, straight on the HTTP connection.

It takes a request only when it can authorize it as the regular route would, and leaves
everything else to that route (:class:`~.features.OnlineHandler`), which then applies
Jupyter's own authentication and authorization:

- the request is ``POST`` on the exact path, without an ``Origin`` header (browsers go
  through the regular route, with its CORS and XSRF checks);
- its ``Authorization: token ...`` is this server's kernel token, or the server's own token
  under Jupyter's token or password login (its holder is the server's owner);
- the server's authorizer lets any authenticated user use the ``mlp`` resource (Jupyter's
  default, or ``jupyter mlp``'s API-only one): a custom authorizer is always asked, by the
  regular route.

The answer is the regular route's, byte for byte: the same JSON, the same errors and
statuses. It also records Jupyter's request metric and API activity (for idle culling), and
adds a ``Server-Timing`` header with the lookup's time on the server.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from jupyter_server._tz import utcnow
from jupyter_server.auth.authorizer import AllowAllAuthorizer
from jupyter_server.prometheus.metrics import HTTP_REQUEST_DURATION_SECONDS
from tornado import httputil
from tornado.ioloop import IOLoop
from tornado.iostream import StreamClosedError
from tornado.routing import Matcher, Rule

from mlp.errors import MLPError

from ..auth import request_token
from ..store import store_unavailable
from .base import dumps, fault_body, records_http_metrics, store_away, trusted_token
from .features import online_request

log = logging.getLogger("mlp_server.online")

#: The regular route's handler, as named in Jupyter's request metric (one series for both).
_METRIC_NAME = "mlp_server.handlers.features.OnlineHandler"


class OnlineFastPath(Matcher):
    """Both the matcher and the target of the rule placed ahead of Jupyter's routes."""

    def __init__(self, settings: dict, path: str, open_authorizers: tuple[type, ...]) -> None:
        self.settings = settings
        self.path = path
        #: Authorizers that let any authenticated user use the ``mlp`` resource.
        self.open_authorizers = (AllowAllAuthorizer, *open_authorizers)

    # -- routing -------------------------------------------------------------------------

    def match(self, request: httputil.HTTPServerRequest) -> dict | None:
        if request.method != "POST" or request.path != self.path:
            return None
        headers = request.headers
        if "Origin" in headers or self.settings.get("mlp_features") is None:
            return None
        if type(self.settings.get("authorizer")) not in self.open_authorizers:
            return None
        if trusted_token(self.settings, request_token(headers)) is None:
            return None
        return {}

    def rule(self) -> Rule:
        return Rule(self, self)

    # -- answering -----------------------------------------------------------------------

    def __call__(self, request: httputil.HTTPServerRequest) -> None:
        t0 = time.perf_counter()
        try:
            entities, features = online_request(request.body)
            svc = self.settings["mlp_features"]
            if svc.answers_at_once(entities, features):
                self._reply(request, 200, svc.get_online(entities, features), t0)
                return
            fut = IOLoop.current().run_in_executor(self.settings["mlp_executor"],
                                                   svc.get_online, entities, features)
            fut.add_done_callback(lambda f: self._done(request, f, t0))
        except Exception as e:
            self._fail(request, e, t0)

    def _done(self, request: httputil.HTTPServerRequest, fut: Any, t0: float) -> None:
        try:
            result = fut.result()
        except Exception as e:
            self._fail(request, e, t0)
            return
        self._reply(request, 200, result, t0)

    def _fail(self, request: httputil.HTTPServerRequest, e: Exception, t0: float) -> None:
        if store_unavailable(e):
            e = store_away(e, log)
        if isinstance(e, MLPError):
            self._reply(request, e.status, e.to_dict(), t0)
            return
        ref = secrets.token_hex(4)
        log.error("jupyter-mlp internal error %s on %s %s", ref, request.method, request.path,
                  exc_info=e)
        self._reply(request, 500, fault_body(ref), t0)

    def _reply(self, request: httputil.HTTPServerRequest, status: int, obj: Any,
               t0: float) -> None:
        data = dumps(obj).encode()
        headers = httputil.HTTPHeaders({
            "Content-Type": "application/json", "Content-Length": str(len(data)),
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Server-Timing": f"online;dur={(time.perf_counter() - t0) * 1e3:.3f}"})
        conn = request.connection
        assert conn is not None
        try:
            conn.write_headers(httputil.ResponseStartLine(
                "HTTP/1.1", status, httputil.responses.get(status, "Unknown")), headers, data)
            conn.finish()
        except StreamClosedError:
            return  # the client went away before its answer
        if "no_track_activity" not in request.query_arguments:
            self.settings["api_last_activity"] = utcnow()
        if records_http_metrics(self.settings):
            HTTP_REQUEST_DURATION_SECONDS.labels(
                method="POST", handler=_METRIC_NAME, status_code=status,
            ).observe(request.request_time())
        if status >= 400 or log.isEnabledFor(logging.DEBUG):
            level = logging.DEBUG if status < 400 else logging.WARNING
            log.log(level, "%d POST %s (%s) %.2fms", status, request.path, request.remote_ip,
                    1000.0 * request.request_time())


def install(web_app: Any, path: str, open_authorizers: tuple[type, ...] = ()
            ) -> OnlineFastPath:
    """Place the direct path for ``path`` ahead of every route of ``web_app``;
    ``open_authorizers``: authorizers besides Jupyter's default that let any authenticated
    user use the ``mlp`` resource."""
    fast = OnlineFastPath(web_app.settings, path, open_authorizers)
    web_app.default_router.rules.insert(0, fast.rule())
    return fast

