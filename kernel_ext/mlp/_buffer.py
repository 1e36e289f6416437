"""Buffered metric logging and the one background thread that flushes it.

``log_metric`` only appends to per-(run, key) arrays under a lock: a few
hundred nanoseconds. A daemon thread sends everything buffered every
``flush_interval`` seconds (and sooner when the buffer is half full), sends
heartbeats for active runs and samples system metrics. When the buffer holds
``capacity`` points the caller waits until the thread has drained it: points
are never dropped, a training loop that outruns the store slows down instead.
"""

from __future__ import annotations

import logging
import threading
import time
from array import array
from collections.abc import Callable

from .errors import MLPError

log = logging.getLogger("mlp")

# (steps, times, values) of one run and key, in log order.
_Arrays = tuple[array, array, array]


class MetricBuffer:
    """Points waiting to be sent, grouped by (run id, key)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._series: dict[tuple[str, str], _Arrays] = {}
        self._next_step: dict[tuple[str, str], int] = {}
        self._count = 0
        self.wakeup = threading.Event()

    def add(self, run_id: str, key: str, value: float, step: int | None, ts: float) -> None:
        k = (run_id, key)
        with self._lock:
            s = self._series.get(k)
            if s is None:
                s = self._series[k] = (array("q"), array("d"), array("d"))
            if step is None:
                step = self._next_step.get(k, 0)
            s[0].append(step)
            s[1].append(ts)
            s[2].append(value)
            self._next_step[k] = step + 1
            self._count += 1
            if self._count >= self.capacity >> 1:
                self.wakeup.set()
                while self._count >= self.capacity:
                    self._drained.wait(1.0)

    def take(self) -> dict[tuple[str, str], _Arrays]:
        with self._lock:
            out, self._series, self._count = self._series, {}, 0
            self._drained.notify_all()
            self.wakeup.clear()
            return out

    def forget(self, run_id: str) -> None:
        """Drop the step counters of an ended run."""
        with self._lock:
            for k in [k for k in self._next_step if k[0] == run_id]:
                del self._next_step[k]

    def __len__(self) -> int:
        return self._count


class Flusher:
    """Sends buffered points through ``send`` from one daemon thread.

    ``send`` failures that may pass (a store briefly busy or unreachable) keep
    the points for the next attempt; an ``MLPError`` (e.g. the run was deleted)
    drops that batch with a warning, since retrying cannot help.
    """

    def __init__(
        self,
        buffer: MetricBuffer,
        send: Callable[[dict[tuple[str, str], _Arrays]], None],
        interval: float,
        periodic: Callable[[float], None] | None = None,
    ) -> None:
        self.buffer = buffer
        self.send = send
        self.interval = interval
        self.periodic = periodic
        self._send_lock = threading.Lock()
        self._pending: list[dict[tuple[str, str], _Arrays]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: BaseException | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="mlp-flusher", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.buffer.wakeup.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._thread = None

    def flush(self, raise_errors: bool = True) -> None:
        """Send everything buffered now, from the calling thread."""
        with self._send_lock:
            self._pending.append(self.buffer.take())
            while self._pending:
                batch = self._pending[0]
                try:
                    if batch:
                        self.send(batch)
                except MLPError as e:
                    log.warning("mlp: dropped %d metric series: %s", len(batch), e)
                    self.last_error = e
                except Exception as e:
                    self.last_error = e
                    if raise_errors:
                        raise
                    log.warning("mlp: could not store metrics yet (%s); will retry", e)
                    return
                self._pending.pop(0)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.buffer.wakeup.wait(self.interval)
            self.flush(raise_errors=False)
            if self.periodic is not None:
                try:
                    self.periodic(time.time())
                except Exception as e:  # a failed heartbeat must not stop the flusher
                    log.debug("mlp: periodic task failed: %s", e)
