"""The compact wire format of metric points between the SDK and the server.

One request carries every series of a flush: a JSON header naming each series
and its length, then the raw little-endian arrays (int64 steps, float64 times,
float64 values) back to back. A million points are 24 MB of arrays instead of
~60 MB of JSON, and NaN/±inf travel exactly.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from typing import Any

MAGIC = b"MLPM1\n"
CONTENT_TYPE = "application/x-mlp-metrics"
_LEN = struct.Struct("<I")


def encode(batches: Sequence[Any], batch_id: str | None = None) -> bytes:
    """``MetricBatch``-like tuples (run_id, key, steps, times, values) → bytes."""
    import numpy as np

    series = [{"run_id": b[0], "key": b[1], "n": len(b[4])} for b in batches]
    header: Any = series if batch_id is None else {"batch": batch_id, "series": series}
    head = json.dumps(header).encode()
    parts = [MAGIC, _LEN.pack(len(head)), head]
    for b in batches:
        parts += [np.ascontiguousarray(b[2], dtype="<i8").tobytes(),
                  np.ascontiguousarray(b[3], dtype="<f8").tobytes(),
                  np.ascontiguousarray(b[4], dtype="<f8").tobytes()]
    return b"".join(parts)


def decode(body: bytes) -> list[tuple]:
    """Bytes → [(run_id, key, steps, times, values)], arrays viewing ``body``."""
    return decode_batch(body)[1]


def decode_batch(body: bytes) -> tuple[str | None, list[tuple]]:
    """Bytes → (batch id or None, [(run_id, key, steps, times, values)])."""
    import numpy as np

    view = memoryview(body)
    if bytes(view[:len(MAGIC)]) != MAGIC:
        raise ValueError("not a metrics body: it must start with the MLPM1 marker")
    pos = len(MAGIC)
    (hlen,) = _LEN.unpack_from(view, pos)
    pos += _LEN.size
    header = json.loads(bytes(view[pos:pos + hlen]))
    pos += hlen
    batch_id = None
    if isinstance(header, dict):
        batch_id, header = header.get("batch"), header.get("series")
        if not isinstance(header, list):
            raise ValueError("the metrics header has no list of series")
    out = []
    for item in header:
        n = int(item["n"])
        if n < 0 or pos + 24 * n > len(body):
            raise ValueError(f"the metrics body is shorter than its header says ({item['key']!r})")
        steps = np.frombuffer(view, dtype="<i8", count=n, offset=pos)
        times = np.frombuffer(view, dtype="<f8", count=n, offset=pos + 8 * n)
        values = np.frombuffer(view, dtype="<f8", count=n, offset=pos + 16 * n)
        pos += 24 * n
        out.append((item["run_id"], item["key"], steps, times, values))
    if pos != len(body):
        raise ValueError("the metrics body is longer than its header says")
    return batch_id, out
