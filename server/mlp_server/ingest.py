"""Metric ingest in a child process of the Jupyter server.

Decoding batches and writing chunks is Python and driver work that holds the
GIL. In the server process it would make Jupyter's own requests (listing a
folder hands work to a thread for every entry) wait behind it whenever many
kernels log at once. So the server hands each metrics body, as it came, to one
child process that owns a connection to the store; writes are serialized there
(SQLite serializes them anyway) and the server's GIL stays free.

The protocol on the child's stdin/stdout: a request is a 4-byte little-endian
length and the body; the answer a 4-byte length and a JSON object:
``{"stored": n}`` or ``{"error": {...}}`` (an ``mlp.errors`` dict). The child's
settings come from its environment (``MLP_DB_URL``, never its command line, so
a password does not show in ``ps``).

    python -m mlp_server.ingest     # run by the extension, not by people
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import struct
import subprocess
import sys
import threading
from typing import Any

from mlp.errors import MLPError, StoreUnavailable, from_dict

log = logging.getLogger("mlp_server.ingest")
_LEN = struct.Struct("<I")


class IngestProcess:
    """The server's side: sends bodies to the child, one at a time, restarting it if it died."""

    def __init__(self, db_url: str, artifact_root: str, home: str) -> None:
        self._env = {**os.environ, "MLP_DB_URL": db_url, "MLP_ARTIFACT_ROOT": artifact_root,
                     "MLP_HOME": home, "MLP_AUTO_MIGRATE": "0"}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._closed = False

    def _start(self) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-m", "mlp_server.ingest"], env=self._env,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=None, close_fds=True)
        log.info("jupyter-mlp: metric ingest process %d started", proc.pid)
        return proc

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def log_metrics(self, body: bytes) -> int:
        """Store one metrics body (the wire format); blocks the calling (executor) thread."""
        with self._lock:
            if self._closed:
                raise StoreUnavailable("the server is shutting down")
            if self._proc is None or self._proc.poll() is not None:
                self._proc = self._start()
            proc = self._proc
            assert proc.stdin is not None and proc.stdout is not None
            try:
                proc.stdin.write(_LEN.pack(len(body)))
                proc.stdin.write(body)
                proc.stdin.flush()
                head = proc.stdout.read(_LEN.size)
                if len(head) < _LEN.size:
                    raise EOFError("the ingest process ended")
                answer = json.loads(proc.stdout.read(_LEN.unpack(head)[0]))
            except (OSError, EOFError, ValueError) as e:
                # It died mid-request (killed, out of memory): the next call starts another;
                # the client retries this batch, whose id keeps it from being stored twice.
                self._stop(proc)
                self._proc = None
                raise StoreUnavailable(f"the metric ingest process failed ({e}); "
                                       "the points are sent again") from None
        if "error" in answer:
            raise from_dict(answer["error"])  # StoreUnavailable too: the SDK retries it
        return int(answer["stored"])

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._proc is not None:
                self._stop(self._proc)
                self._proc = None

    @staticmethod
    def _stop(proc: subprocess.Popen) -> None:
        try:
            if proc.stdin is not None:
                proc.stdin.close()  # end of input: the child leaves its loop
            proc.wait(timeout=10)
        except Exception:
            proc.kill()
            proc.wait()


def _serve() -> int:
    """The child: read bodies from stdin, store them, answer on stdout."""
    from .config import MLP
    from .store import store_unavailable
    from .tracking import open_service

    out = sys.stdout.buffer
    inp = sys.stdin.buffer
    with contextlib.suppress(OSError):  # background work: Jupyter's own requests go first
        os.nice(5)
    sys.stdout = sys.stderr  # nothing else may write to the answer channel
    service = open_service(MLP())

    def answer(obj: dict[str, Any]) -> None:
        data = json.dumps(obj).encode()
        out.write(_LEN.pack(len(data)) + data)
        out.flush()

    while True:
        head = inp.read(_LEN.size)
        if len(head) < _LEN.size:
            break  # the server closed our input: shut down
        body = inp.read(_LEN.unpack(head)[0])
        try:
            answer({"stored": service.log_metrics_body(body)})
        except MLPError as e:
            answer({"error": e.to_dict()})
        except Exception as e:
            if store_unavailable(e):
                print(f"jupyter-mlp ingest: the store is unavailable: {e}", file=sys.stderr)
                answer({"error": {"error": "StoreUnavailable",
                                  "message": "the store is unavailable (the server's log says "
                                             "why); try again shortly"},
                        })
            else:
                ref = secrets.token_hex(4)
                print(f"jupyter-mlp ingest: internal error {ref}: {e!r}", file=sys.stderr)
                answer({"error": {"error": "ServerFault",
                                  "message": f"internal error {ref}: the server's log has "
                                             "the details"}})
    service.store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(_serve())
