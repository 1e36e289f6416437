"""What every REST route shares: the service, authorization, errors, JSON, off-loop calls."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

from jupyter_server.auth.identity import User
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.ioloop import IOLoop

from mlp._capture import current_user
from mlp.errors import InvalidInput, MLPError


def _plain(value: Any) -> Any:
    """numpy scalars and other odd values as JSON-able Python."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def dumps(obj: Any) -> str:
    # NaN/±inf are legal in what Python's json reads; every reader here is Python so far.
    return json.dumps(obj, default=_plain, allow_nan=True)


class MLPHandler(APIHandler):
    """Base of the /mlp/api routes: parse, authorize, call the service off the loop, reply."""

    auth_resource = "mlp"

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        """Accept the kernel token minted by the extension as well as Jupyter's own auth."""
        if self._kernel_token_ok():
            # The kernels of this server act as the user who runs it.
            user = User(username=current_user() or "unknown")
            self.current_user = self._jupyter_current_user = user
            self._token_authenticated = True
            return None
        return await super().prepare(*args, **kwargs)

    def _kernel_token_ok(self) -> bool:
        expected: str = self.settings.get("mlp_kernel_token") or ""
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return bool(expected) and scheme.lower() == "token" and \
            hmac.compare_digest(token.strip().encode(), expected.encode())

    @property
    def tracking(self):
        return self.settings["mlp_tracking"]

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run a blocking service call in the bounded executor, never on the tornado loop."""
        return await IOLoop.current().run_in_executor(
            self.settings["mlp_executor"], lambda: fn(*args, **kwargs))

    def body(self) -> dict:
        try:
            data = json.loads(self.request.body or b"{}")
        except ValueError as e:
            raise InvalidInput(f"the request body is not JSON: {e}", field="body") from None
        if not isinstance(data, dict):
            raise InvalidInput("the request body must be a JSON object", field="body")
        return data

    def reply(self, obj: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(dumps(obj))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, MLPError):
            body = exc.to_dict()
        elif isinstance(exc, web.HTTPError):
            body = {"error": "HTTPError", "message": exc.log_message or self._reason,
                    "field": None}
        else:
            body = {"error": "ServerError", "message": f"internal error: {exc}", "field": None}
        self.set_header("Content-Type", "application/json")
        self.finish(dumps(body))

    def log_exception(self, typ, value, tb) -> None:  # type: ignore[override]
        if isinstance(value, MLPError):
            return  # an expected refusal, answered with its status; not a server fault
        super().log_exception(typ, value, tb)

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, MLPError) and not self._finished:
            self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)

