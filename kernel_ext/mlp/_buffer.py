"""Buffered metric logging and the one background thread that flushes it.

``log_metric`` only appends to per-(run, key) arrays under a lock: about a
microsecond. A daemon thread sends everything buffered every ``interval``
seconds (sooner when the buffer is half full), then runs the periodic work
(heartbeats, system metrics). The buffer is bounded: when it holds
``capacity`` points — including points waiting for a retry because the store
was unavailable — the caller waits until the thread has stored them. Points
are never dropped for lack of room; a loop that outruns the store slows down.
"""

from __future__ import annotations

import logging
import threading
from array import array
from collections.abc import Callable

from .errors import MLPError

log = logging.getLogger("mlp")

# (steps, times, values) of one run and key, in log order.
Arrays = tuple[array, array, array]
Batch = dict[tuple[str, str], Arrays]


class MetricBuffer:
    """Points waiting to be sent, grouped by (run id, key)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.lock = threading.Lock()
        self._drained = threading.Condition(self.lock)
        self.series: Batch = {}
        self.next_step: dict[tuple[str, str], int] = {}
        #: Points buffered or waiting for a retry; what the capacity bounds.
        self.count = 0
        self.wakeup = threading.Event()

    @property
    def capacity(self) -> int:
        return self._capacity

    @capacity.setter
    def capacity(self, value: int) -> None:
        self._capacity = value
        self.half = value >> 1  # when the flusher is woken early

    def add(self, run_id: str, key: str, value: float, step: int | None, ts: float,
            block: bool = True) -> None:
        k = (run_id, key)
        with self.lock:
            s = self.series.get(k)
            if s is None:
                s = self.series[k] = (array("q"), array("d"), array("d"))
            if step is None:
                step = s[0][-1] + 1 if s[0] else self.next_step.get(k, 0)
            s[0].append(step)
            s[1].append(ts)
            s[2].append(value)
            self.count += 1
            if self.count >= self.half:
                if not self.wakeup.is_set():
                    # Setting an Event takes a lock: once, not on every call while the
                    # flusher stores the last batch (its points still count).
                    self.wakeup.set()
                # The flusher's own additions (system metrics) must never wait on itself.
                while block and self.count >= self.capacity:
                    self._drained.wait(1.0)

    def take(self) -> Batch:
        """Hand over the buffered points; they still count until ``release``."""
        with self.lock:
            out, self.series = self.series, {}
            for k, s in out.items():  # where default steps go on from
                self.next_step[k] = s[0][-1] + 1
            self.wakeup.clear()
            return out

    def release(self, points: int) -> None:
        """``points`` handed over by ``take`` are stored (or given up): make room."""
        with self.lock:
            self.count -= points
            self._drained.notify_all()

    def forget(self, run_id: str) -> None:
        """Drop the step counters of an ended run."""
        with self.lock:
            for k in [k for k in self.next_step if k[0] == run_id]:
                del self.next_step[k]

    def __len__(self) -> int:
        return self.count


def points_in(batch: Batch) -> int:
    return sum(len(s[2]) for s in batch.values())


class Flusher:
    """Sends buffered points through ``send`` from one daemon thread.

    A batch that fails for a reason that may pass (the store is busy or
    unreachable) is kept and retried before anything newer is sent. A batch
    the store refuses (an ``MLPError``, e.g. its run was deleted) is split so
    that only the refused series are given up; the refusal is raised by the
    next ``flush()`` a user calls, and logged.
    """

    def __init__(
        self,
        buffer: MetricBuffer,
        send: Callable[[Batch], None],
        interval: float,
        periodic: Callable[[], None] | None = None,
    ) -> None:
        self.buffer = buffer
        self.send = send
        self.interval = interval
        self.periodic = periodic
        self._send_lock = threading.Lock()
        self._pending: Batch = {}
        self._refused: list[MLPError] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        #: Called with each batch as it leaves the buffer (before it is sent), from the
        #: flushing thread: how live views see points. They must be quick and not mutate it.
        self.taps: list[Callable[[Batch], None]] = []

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

    def hold(self, timeout: float = 30.0) -> bool:
        """Keep the store untouched by this flusher (until ``release_hold``): a fork must not
        happen while a background thread is inside the database driver, whose locks the
        child would inherit held."""
        return self._send_lock.acquire(timeout=timeout)

    def release_hold(self) -> None:
        self._send_lock.release()

    def flush(self, raise_errors: bool = True) -> None:
        """Send everything buffered now, from the calling thread.

        With ``raise_errors``, a store that is unavailable raises (the points
        stay buffered) and points the store refused raise their ``MLPError``.
        """
        with self._send_lock:
            # What failed before goes first, and nothing newer is taken while it still fails,
            # so the buffer's bound holds while the store is away.
            if self._pending and not self._try(self._pending, raise_errors):
                return
            self._pending = self.buffer.take()
            if self._pending:
                for tap in list(self.taps):
                    try:
                        tap(self._pending)
                    except Exception as e:  # a broken view must never lose points
                        log.debug("mlp: a metric tap failed: %s", e)
            if self._pending and self._try(self._pending, raise_errors):
                self._pending = {}
            if raise_errors and self._refused:
                first, self._refused = self._refused[0], []
                raise first

    def _try(self, batch: Batch, raise_errors: bool) -> bool:
        """Store ``batch``; False when (what is left of) it must be retried later."""
        try:
            self.send(batch)
        except MLPError:
            try:
                self._send_each(batch)
            except Exception as e:
                return self._failed(e, raise_errors)
        except Exception as e:
            return self._failed(e, raise_errors)
        if self._failing:
            log.warning("mlp: metrics are being stored again")
            self._failing = False
        self.buffer.release(points_in(batch))
        return True

    def _failed(self, e: Exception, raise_errors: bool) -> bool:
        if raise_errors:
            raise e
        if not self._failing:
            log.warning("mlp: could not store metrics yet (%s); they stay buffered and "
                        "are retried every %.3g s", e, self.interval)
        self._failing = True
        return False

    def _send_each(self, batch: Batch) -> None:
        """One series at a time, giving up only the refused ones. Stored series leave
        ``batch`` as they go, so a retry after a failure never stores them twice."""
        for k in list(batch):
            s = batch[k]
            try:
                self.send({k: s})
            except MLPError as e:
                log.warning("mlp: %d points of metric %r were refused: %s", len(s[2]), k[1], e)
                self._refused.append(e)
            del batch[k]
            self.buffer.release(len(s[2]))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.buffer.wakeup.wait(self.interval)
            self.flush(raise_errors=False)
            if self.periodic is not None:
                # Under the send lock, so an ending run's flush can't interleave with it.
                with self._send_lock:
                    try:
                        self.periodic()
                    except Exception as e:  # a failed heartbeat must not stop the flusher
                        log.debug("mlp: periodic task failed: %s", e)
