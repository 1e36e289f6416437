"""Forwarding mode: a user's server with ``c.MLP.server_url`` passes /mlp/api/v1 on to a shared
jupyter-mlp server instead of opening a store of its own.

The user's kernels keep their /mlp/api-only token for this server; the credential for the
shared server (``c.MLP.server_token``) stays here. Bodies stream through both ways, status codes
and JSON errors come back unchanged, and a shared server that cannot be reached gives a 502
(504 on a time-out) naming its URL. Creating a run first resolves the kernel's notebook path,
which only this server knows.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from jupyter_server.auth.decorator import authorized
from jupyter_server.auth.utils import HTTP_METHOD_TO_AUTH_ACTION
from jupyter_server.utils import ensure_async
from tornado import httpclient, web
from tornado.httputil import HTTPHeaders

from .. import __version__
from .base import MLPHandler, dumps

API = "/mlp/api/v1"

#: Response headers passed back to the client; the rest are the connection's own.
_PASSED_BACK = ("Content-Type", "Content-Disposition", "Cache-Control", "ETag", "Location",
                "Content-Security-Policy", "X-Content-Type-Options", "X-MLP-Size",
                "X-MLP-Truncated")
#: Query arguments that authenticate a caller here: never sent on (they would name
#: someone else to the shared server, and leak this server's login token).
_NOT_PASSED_ON = frozenset({"token", "_xsrf"})
#: Request headers passed on; never the client's Authorization or cookies.
_PASSED_ON = ("Content-Type", "Content-Length", "Accept", "User-Agent")


class Upstream:
    """The shared server this one forwards to, with the HTTP client that reaches it."""

    def __init__(self, url: str, token: str, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.client = httpclient.AsyncHTTPClient(force_instance=True, max_clients=64,
                                                 defaults={"max_body_size": 1 << 40})

    def request(self, path: str, method: str, headers: dict[str, str],
                **kw: Any) -> httpclient.HTTPRequest:
        if self.token:
            headers = {**headers, "Authorization": f"token {self.token}"}
        return httpclient.HTTPRequest(f"{self.url}{API}/{path}", method=method, headers=headers,
                                      connect_timeout=min(10.0, self.timeout),
                                      request_timeout=self.timeout, follow_redirects=False,
                                      decompress_response=False, **kw)

    def failure(self, e: BaseException) -> web.HTTPError:
        """The error a client gets when the shared server cannot be reached."""
        timed_out = isinstance(e, httpclient.HTTPClientError) and e.code == 599 and \
            "timeout" in str(e).lower()
        return web.HTTPError(504 if timed_out else 502, log_message=(
            f"the shared jupyter-mlp server at {self.url} (c.MLP.server_url) "
            f"{'did not answer in time' if timed_out else 'is unreachable'}: {e}. "
            "Check that it runs and that this server can reach it."))

    def refusal(self, status: int, body: bytes) -> dict:
        """The error for a 401/403 from the shared server: it refused this server's
        credential, not the client's, and the fix is here."""
        try:
            said = json.loads(body).get("message")
        except (ValueError, AttributeError):
            said = body[:200].decode(errors="replace")
        return {"error": "HTTPError", "field": None, "message": (
            f"the shared jupyter-mlp server at {self.url} refused this server's credential "
            f"({status} {said or ''}): check c.MLP.server_token"
            f"{'' if self.token else ', which is not set'}")}

    def close(self) -> None:
        self.client.close()


@web.stream_request_body
class ForwardHandler(MLPHandler):
    """Every /mlp/api/v1 route of a server in forwarding mode."""

    _upstream_call: asyncio.Future | None = None

    @property
    def upstream(self) -> Upstream:
        return self.settings["mlp_upstream"]

    async def prepare(self, *args: Any, **kwargs: Any) -> None:
        await super().prepare(*args, **kwargs)
        if self._finished:
            return
        # The body streams on before a method runs, so authenticate and authorize here.
        if not self.current_user:
            raise web.HTTPError(403, "authentication required: a Jupyter token or login")
        action = HTTP_METHOD_TO_AUTH_ACTION.get(self.request.method or "", "write")
        if not await ensure_async(self.authorizer.is_authorized(
                self, self.current_user, action, self.auth_resource)):
            raise web.HTTPError(403, f"not authorized to {action} {self.auth_resource}")
        self._status = 502
        self._headers_in = HTTPHeaders()
        self._started = False
        self._refusal: list[bytes] = []
        self._buffered: list[bytes] | None = None
        self._chunks: asyncio.Queue[bytes | None] | None = None
        method, path = self.request.method or "GET", self._raw_path()
        if method == "POST" and path == "runs":
            self._buffered = []  # a run's creation is rewritten first: small JSON
        elif method in ("POST", "PUT", "PATCH"):
            self._chunks = asyncio.Queue(maxsize=16)
            self._upstream_call = asyncio.ensure_future(self._fetch(self._produce))
        else:
            self._upstream_call = asyncio.ensure_future(self._fetch(None))

    async def data_received(self, chunk: bytes) -> None:
        if self._buffered is not None:
            self._buffered.append(chunk)
        elif self._chunks is not None:
            await self._offer(chunk)  # waiting for room is the back pressure

    async def _produce(self, write) -> None:
        assert self._chunks is not None
        while (chunk := await self._chunks.get()) is not None:
            await write(chunk)

    def _raw_path(self) -> str:
        """The path after /mlp/api/v1/ as the client encoded it (a metric named "a?b" or
        "a/b" stays one name), refusing "." and ".." segments, which a proxy on the way
        could resolve to another route of the shared server's host."""
        raw = self.request.path
        at = raw.find(API + "/")
        tail = raw[at + len(API) + 1:] if at >= 0 else ""
        if any(seg in (".", "..") for seg in unquote(tail).split("/")):
            raise web.HTTPError(400, "a path with . or .. segments cannot be forwarded")
        return tail

    def _query_on(self) -> str:
        args = [(k, v) for k, v in parse_qsl(self.request.query, keep_blank_values=True)
                if k not in _NOT_PASSED_ON]
        return f"?{urlencode(args)}" if args else ""

    def _headers_on(self) -> dict[str, str]:
        return {k: v for k in _PASSED_ON if (v := self.request.headers.get(k)) is not None}

    async def _fetch(self, producer) -> None:
        method = self.request.method or "GET"
        query = self._query_on()
        headers = self._headers_on()
        kw: dict[str, Any] = {}
        if self._buffered is not None:
            kw["body"] = await self._rewritten(b"".join(self._buffered))
            headers = {**headers, "Content-Length": str(len(kw["body"]))}
        elif producer is not None:
            kw["body_producer"] = producer
        req = self.upstream.request(self._raw_path() + query, method, headers,
                                    header_callback=self._on_header,
                                    streaming_callback=self._on_chunk, **kw)
        try:
            await self.upstream.client.fetch(req, raise_error=False)
        except Exception as e:
            if self._started:
                raise  # part of the answer is out: all that is left is to cut it short
            raise self.upstream.failure(e) from None
        if self._status in (401, 403):
            self._refused(b"".join(self._refusal))
        self._start()

    def _refused(self, body: bytes) -> None:
        self._start()
        self.set_header("Content-Type", "application/json")
        self.write(dumps(self.upstream.refusal(self._status, body)))

    async def _rewritten(self, raw: bytes) -> bytes:
        """A run's creation with its kernel's notebook path (see ``with_notebook_path``); a
        body that is not a JSON object goes on as it is, for the shared server to refuse."""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return raw
        if not isinstance(body, dict):
            return raw
        return dumps(await self.with_notebook_path(body)).encode()

    def _on_header(self, line: str) -> None:
        if line.startswith("HTTP/"):
            self._status = int(line.split(" ", 2)[1])
            self._headers_in = HTTPHeaders()
        elif line.strip():
            self._headers_in.parse_line(line)

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        self.set_status(self._status)
        self.clear_header("Content-Type")
        for name in _PASSED_BACK:
            if name in self._headers_in:
                self.set_header(name, self._headers_in[name])

    def _on_chunk(self, chunk: bytes) -> None:
        if self._status in (401, 403):
            self._refusal.append(chunk)  # rewritten once complete, see _refused
            return
        self._start()
        self.write(chunk)
        # A client that went away fails this write; the call is cancelled then, not an error.
        self.flush().add_done_callback(lambda f: f.cancelled() or f.exception())

    async def _offer(self, chunk: bytes | None) -> None:
        """Queue a chunk for the upstream call, waiting for room unless that call ended."""
        assert self._chunks is not None and self._upstream_call is not None
        put = asyncio.ensure_future(self._chunks.put(chunk))
        await asyncio.wait({put, self._upstream_call}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()

    async def _forward(self) -> None:
        if self._chunks is not None:
            await self._offer(None)
        elif self._buffered is not None:
            self._upstream_call = asyncio.ensure_future(self._fetch(None))
        assert self._upstream_call is not None
        await self._upstream_call
        self.finish()

    def on_connection_close(self) -> None:
        if self._upstream_call is not None and not self._upstream_call.done():
            self._upstream_call.cancel()

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        """Every method alike: the request goes on as it came (prepare checked who sent it)."""
        await self._forward()

    post = put = patch = delete = get


class ForwardInfoHandler(MLPHandler):
    """The handshake of a forwarding server: the shared server's info, and where it is."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        upstream: Upstream = self.settings["mlp_upstream"]
        try:
            resp = await upstream.client.fetch(upstream.request("info", "GET", {}),
                                               raise_error=False)
        except Exception as e:
            raise upstream.failure(e) from None
        try:
            info = json.loads(resp.body)
        except ValueError:
            info = None
        if resp.code in (401, 403):
            self.reply(upstream.refusal(resp.code, resp.body), resp.code)
            return
        if resp.code != 200 or not isinstance(info, dict):
            self.set_status(resp.code if resp.code >= 400 else 502)
            self.set_header("Content-Type", "application/json")
            self.finish(resp.body if isinstance(info, dict) else json.dumps({
                "error": "HTTPError", "field": None, "message": (
                    f"the shared jupyter-mlp server at {upstream.url} answered the handshake "
                    f"with {resp.code}: {resp.body[:200]!r}")}))
            return
        self.reply({**info, "forwards_to": upstream.url, "forwarder_version": __version__})


def forward_patterns(base_url: str) -> list[tuple[str, type]]:
    from jupyter_server.utils import url_path_join

    return [(url_path_join(base_url, API, "info"), ForwardInfoHandler),
            (url_path_join(base_url, API, "(?P<path>.*)"), ForwardHandler)]
