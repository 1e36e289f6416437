"""What every REST route shares: the service, authorization, errors, JSON, off-loop calls."""

from __future__ import annotations

import functools
import hmac
import json
import logging
import math
import os
import secrets
from collections.abc import Callable
from typing import Any

from jupyter_server.auth.identity import (
    IdentityProvider,
    LegacyIdentityProvider,
    PasswordIdentityProvider,
    User,
)
from jupyter_server.base.handlers import APIHandler
from jupyter_server.log import log_request
from jupyter_server.prometheus.log_functions import prometheus_log_method
from jupyter_server.utils import ApiPath, to_os_path
from tornado import web
from tornado.ioloop import IOLoop

from mlp._capture import current_user
from mlp.errors import InvalidInput, MLPError, StoreUnavailable

from ..auth import request_token
from ..store import store_unavailable


def _plain(value: Any) -> Any:
    """numpy scalars and other odd values as JSON-able Python."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def dumps(obj: Any) -> str:
    """Strict JSON (browsers refuse bare NaN): NaN and ±inf become the strings "NaN",
    "Infinity" and "-Infinity", as in protobuf's JSON mapping; the SDK reads them back."""
    try:
        return json.dumps(obj, default=_plain, allow_nan=False)
    except ValueError:  # a non-finite number somewhere: spell it out
        return json.dumps(_spelled(obj), default=_plain, allow_nan=False)


def _spelled(obj: Any) -> Any:
    if isinstance(obj, float):
        if obj != obj:
            return "NaN"
        if obj in (math.inf, -math.inf):
            return "Infinity" if obj > 0 else "-Infinity"
        return obj
    if isinstance(obj, dict):
        return {k: _spelled(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_spelled(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        return _spelled(obj.item())
    return obj


def server_owner() -> str:
    """Whom this server belongs to: the Hub user of a JupyterHub single-user server, else the
    OS user running it."""
    return os.environ.get("JUPYTERHUB_USER") or _os_user()


@functools.cache
def _os_user() -> str:
    # getpass reads four environment variables and may ask the passwd database: once, not on
    # every request (it was a twentieth of an online lookup's server time).
    return current_user() or "unknown"


def parse_body(raw: bytes | None) -> dict:
    """A request's JSON object body."""
    try:
        data = json.loads(raw or b"{}")
    except ValueError as e:
        raise InvalidInput(f"the request body is not JSON: {e}", field="body") from None
    if not isinstance(data, dict):
        raise InvalidInput("the request body must be a JSON object", field="body")
    return data


def typed_field(body: dict, key: str, kind: type | tuple, required: bool = False) -> Any:
    """A body field of the given type (a bool is not an int), or None when absent."""
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidInput(f"the request body needs {key!r}", field=key)
        return None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise InvalidInput(f"{key} has the wrong type: {value!r}", field=key)
    return value


def records_http_metrics(settings: dict) -> bool:
    """Whether Jupyter records its per-request Prometheus metric
    (``ServerApp.record_http_request_metrics``, passed to its request log function)."""
    fn = settings.get("log_function")
    return not isinstance(fn, functools.partial) or \
        fn.keywords.get("record_prometheus_metrics", True)


#: Jupyter's own providers check a shared secret (the token or password), not a person: whoever
#: holds it is the server's owner. Any other provider (JupyterHub's, a custom one) names users.
_OWNER_PROVIDERS = (IdentityProvider, PasswordIdentityProvider, LegacyIdentityProvider)


def trusted_token(settings: dict, token: str | None) -> str | None:
    """``"kernel"`` when ``token`` is the one this extension gave its kernels, ``"owner"``
    when it is the server's own token under Jupyter's token or password login (whoever holds
    it is the server's owner), else None: the tokens checked without Jupyter's login path."""
    if not token:
        return None
    given = token.encode()
    kernel = settings.get("mlp_kernel_token") or ""
    if kernel and hmac.compare_digest(given, kernel.encode()):
        return "kernel"
    provider = settings.get("identity_provider")
    owner = getattr(provider, "token", "") or ""
    if type(provider) in _OWNER_PROVIDERS and owner and \
            hmac.compare_digest(given, owner.encode()):
        return "owner"
    return None


def store_away(e: BaseException, log: logging.Logger) -> StoreUnavailable:
    """The answer when the database is away (restarting, unreachable, out of connections):
    503, so that a client retries later rather than give up its data as after a 500."""
    log.warning("jupyter-mlp: the store is unavailable: %s", e)
    return StoreUnavailable("the store is unavailable (the server's log says why); "
                            "try again shortly")


def fault_body(ref: str) -> dict:
    """The body of a 500: the details (SQL, parameters, paths) go to the server's log only,
    under ``ref``."""
    return {"error": "ServerError", "field": None,
            "message": f"internal error {ref}: the server's log has the details"}


class MLPHandler(APIHandler):
    """Base of the /mlp/api routes: parse, authorize, call the service off the loop, reply."""

    auth_resource = "mlp"
    _kernel_request = False
    #: What a job's own token (scoped to the job's run) may do here: None (nothing), "run"
    #: (routes of one run: its id is in the path), "metrics"/"heartbeat" (bodies naming only
    #: that run) or "any" (harmless reads such as the version handshake).
    job_scope: str | None = None
    #: The run a job's token may write to, when the request came with one.
    job_run: str | None = None

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        """Accept the kernel token minted by the extension as well as Jupyter's own auth.

        The kernel token, and the server's own token under Jupyter's token/password providers
        (whoever holds it is the server's owner), are checked here directly: Jupyter's login
        path also signs and sets a login cookie on every token-authenticated response, which
        a client sending its token each time never uses, and which was half the server's
        cost of an online feature lookup. Anything else goes through Jupyter's own auth."""
        job = self._job_token()
        if job is not None:
            _job_id, run_id, user = job
            scope_ok = self.job_scope == "any" or (
                self.job_scope == "run" and self.path_kwargs.get("run_id") == run_id) or \
                self.job_scope in ("metrics", "heartbeat")
            if not scope_ok:
                raise web.HTTPError(403, "a job's token may only write to the job's own run")
            self.job_run = run_id
            self.current_user = self._jupyter_current_user = User(username=user or "job")
            self._token_authenticated = True
            return None
        trusted = trusted_token(self.settings, request_token(self.request.headers))
        if trusted is not None:
            # The kernels of this server, and its token's holder, act as the user who owns it.
            self._kernel_request = trusted == "kernel"
            user = User(username=server_owner())
            self.current_user = self._jupyter_current_user = user
            self._token_authenticated = True
            return None
        return await super().prepare(*args, **kwargs)

    def _job_token(self) -> tuple | None:
        """(job id, run id, user) when the request carries a running job's token."""
        token = request_token(self.request.headers)
        jobs = self.settings.get("mlp_jobs")
        if token is None or jobs is None or not token.startswith("mlpjob_"):
            return None
        scope = jobs.token_scope(token)
        if scope is None:
            raise web.HTTPError(403, "this job's token is no longer valid: the job ended")
        return scope

    def check_job_runs(self, run_ids: Any) -> None:
        """A job's token names only its own run in a body (metrics, heartbeats)."""
        if self.job_run is not None and any(r != self.job_run for r in run_ids):
            raise web.HTTPError(403, "a job's token may only write to the job's own run")

    @property
    def identity(self) -> str:
        """The authenticated user a request acts as, recorded on what it creates (never a name
        the client claims): the server's owner for its kernels and for Jupyter's token or
        password login; the user name for JupyterHub or another identity provider."""
        if self.job_run is not None:
            return self.current_user.username
        if self._kernel_request or type(self.identity_provider) in _OWNER_PROVIDERS:
            return server_owner()
        return self.current_user.username

    async def notebook_path(self, kernel_id: Any) -> str | None:
        """The file of the notebook whose session runs this kernel, or None (not a kernel of
        this server, or not a notebook's)."""
        if kernel_id is None:
            return None
        if not isinstance(kernel_id, str) or not 0 < len(kernel_id) <= 128:
            raise InvalidInput(f"kernel_id must be a Jupyter kernel id (a UUID), got "
                               f"{kernel_id!r}", field="kernel_id")
        try:
            session = await self.session_manager.get_session(kernel_id=kernel_id)
        except (web.HTTPError, KeyError):
            return None
        if session.get("type") != "notebook" or not session.get("path"):
            return None
        root = getattr(self.contents_manager, "root_dir", None)
        return to_os_path(ApiPath(session["path"]), root) if root else session["path"]

    async def with_notebook_path(self, body: dict) -> dict:
        """A run's creation body with ``kernel_id`` resolved: the notebook's path (which the
        kernel's own view, set when it started, may no longer match) as ``source_name``, which
        the service also gives a code capture that names no file. The id itself is dropped: it
        means nothing to another server."""
        body = dict(body)
        path = await self.notebook_path(body.pop("kernel_id", None))
        if path is not None:
            body["source_name"] = path
            body["source_type"] = body.get("source_type") or "notebook"
        return body

    @property
    def tracking(self):
        return self.settings["mlp_tracking"]

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking service call in the bounded executor, never on the tornado loop."""
        return await IOLoop.current().run_in_executor(
            self.settings["mlp_executor"], lambda: fn(*args, **kwargs))

    def body(self) -> dict:
        return parse_body(self.request.body)

    def field(self, body: dict, key: str, kind: type | tuple, required: bool = False) -> Any:
        """A body field of the given type (a bool is not an int), or None when absent."""
        return typed_field(body, key, kind, required)

    def reply(self, obj: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(dumps(obj))

    def _log(self) -> None:
        """Jupyter's request log without its cost when it writes nothing: a success goes to
        the debug level, so unless that is on only its Prometheus metric is recorded.
        Formatting the line anyway was a tenth of an online lookup's server time."""
        status = self.get_status()
        fn = self.settings.get("log_function")
        if (status >= 300 and status != 304) or self.log.isEnabledFor(logging.DEBUG) or not (
                isinstance(fn, functools.partial) and fn.func is log_request):
            super()._log()
        elif records_http_metrics(self.settings):
            prometheus_log_method(self)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, MLPError):
            body = exc.to_dict()
        elif isinstance(exc, web.HTTPError):
            body = {"error": "HTTPError", "message": exc.log_message or self._reason,
                    "field": None}
        else:
            body = fault_body(getattr(self, "_error_ref", None) or secrets.token_hex(4))
        self.set_header("Content-Type", "application/json")
        self.finish(dumps(body))

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[override]
        if isinstance(value, MLPError):
            return  # an expected refusal, answered with its status; not a server fault
        self._error_ref = secrets.token_hex(4)
        self.log.error("jupyter-mlp internal error %s on %s %s", self._error_ref,
                       self.request.method, self.request.path)
        super().log_exception(typ, value, tb)

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, MLPError) and not self._finished:
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        if store_unavailable(e) and not self._finished:
            err = store_away(e, self.log)
            self.send_error(503, exc_info=(StoreUnavailable, err, None))
            return
        super()._handle_request_exception(e)
