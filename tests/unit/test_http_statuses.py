"""How the HTTP transport reads what a server (or a proxy in front of it) answers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from mlp import errors
from mlp.transport import MetricBatch, wire
from mlp.transport.http import HttpTransport, ServerUnavailable


class _Proxy(BaseHTTPRequestHandler):
    """Answers ``status`` to everything, or, with a body limit, stores what fits."""

    status = 200
    limit: int | None = None
    bodies: list[bytes] = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.limit is not None and len(body) > self.limit:
            return self._answer(413, b"<html>413 Request Entity Too Large</html>", "text/html")
        if self.status != 200:
            return self._answer(self.status, b'{"message": "nope"}', "application/json")
        type(self).bodies.append(body)
        n = sum(len(s[4]) for s in wire.decode(body))
        return self._answer(200, json.dumps({"stored": n}).encode(), "application/json")

    def _answer(self, code: int, body: bytes, ctype: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def proxy():
    handler = type("Handler", (_Proxy,), {"bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield handler, HttpTransport(f"http://127.0.0.1:{server.server_port}", retry_seconds=0)
    server.shutdown()


def _batch(n: int, key: str = "loss") -> MetricBatch:
    steps = np.arange(n, dtype=np.int64)
    return MetricBatch("a" * 32, key, steps, np.ones(n), steps.astype(float))


@pytest.mark.parametrize("status", [408, 429, 502, 503, 504])
def test_answers_that_may_pass_are_retried_not_refusals(proxy, status):
    handler, t = proxy
    handler.status = status
    with pytest.raises(ServerUnavailable, match=str(status)):
        t.log_metrics([_batch(3)])


def test_a_refused_token_is_access_denied_and_a_server_bug_a_fault(proxy):
    handler, t = proxy
    handler.status = 401
    with pytest.raises(errors.AccessDenied, match="check MLP_TOKEN"):
        t.log_metrics([_batch(3)])
    handler.status = 500
    with pytest.raises(errors.ServerFault, match="500"):
        t.log_metrics([_batch(3)])


def test_a_body_size_limit_splits_the_batch_and_stores_every_point_once(proxy):
    handler, t = proxy
    handler.limit = 1_000_000  # ~40k points per request
    assert t.log_metrics([_batch(100_000), _batch(10, "acc")], batch_id="b" * 32) == 100_010
    got: dict[str, list[int]] = {}
    ids = []
    for body in handler.bodies:
        batch_id, series = wire.decode_batch(body)
        ids.append(batch_id)
        for s in series:
            got.setdefault(s[1], []).extend(int(x) for x in s[2])
    assert sorted(got["loss"]) == list(range(100_000)) and got["acc"] == list(range(10))
    # Parts have their own ids ("acc", sent alone, keeps the batch's), the same on a retry,
    # so the store takes each once.
    assert len(handler.bodies) > 2 and len(set(ids)) == len(ids) and ids.count("b" * 32) == 1
    handler.bodies.clear()
    t.log_metrics([_batch(100_000), _batch(10, "acc")], batch_id="b" * 32)
    assert [wire.decode_batch(b)[0] for b in handler.bodies] == ids
    handler.limit = 1_000
    with pytest.raises(errors.ServerFault, match="body size limit"):
        t.log_metrics([_batch(5000)], batch_id="c" * 32)
