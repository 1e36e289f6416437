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
import math
import threading
import time
import uuid
from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput, MLPError, ServerFault

if TYPE_CHECKING:
    from ._spool import Spool

log = logging.getLogger("mlp")

# (steps, times, values) of one run and key, in log order.
Arrays = tuple[array, array, array]
Batch = dict[tuple[str, str], Arrays]

_INT64 = 1 << 63
_time = time.time


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
        #: How many times a caller had to wait for room, and how many times it put the
        #: buffer on disk itself because the flusher was stuck in a send.
        self.waits = 0
        self.spills = 0
        #: Set by the flusher: moves buffered points to disk when it cannot (True if done).
        self.spill: Callable[[], bool | None] | None = None
        self.spill_after = 0.25
        #: Whether the flusher was found stuck in a send.
        self._stuck = False
        #: Metric names already checked once (the store's rule for a name never changes).
        self.keys: set[str] = set()

    @property
    def capacity(self) -> int:
        return self._capacity

    @capacity.setter
    def capacity(self, value: int) -> None:
        self._capacity = value
        self.half = value >> 1  # when the flusher is woken early

    def add(self, run_id: str, key: Any, value: Any, step: Any = None, ts: Any = None,
            block: bool = True) -> None:
        """Check one point as the store would (InvalidInput naming what is wrong), then
        buffer it. ``ts`` None is now; ``step`` None is one more than the last step.

        This is ``mlp.log_metric``'s hot path, one frame under it on purpose: the plain
        case (a known name, a float, an int step, no timestamp) costs a few comparisons;
        anything else goes through ``_point``, which converts or refuses it."""
        if (value.__class__ is not float or ts is not None or key not in self.keys
                or (step is not None and (step.__class__ is not int
                                          or not -_INT64 <= step < _INT64))):
            value, step, ts = self._point(key, value, step, ts)
        else:
            ts = _time()
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
                if block and self.count >= self.capacity:
                    self._make_room()

    def _point(self, key: Any, value: Any, step: Any, ts: Any) -> tuple[float, int | None, float]:
        """(value, step, time) as the store takes them, or InvalidInput naming the field."""
        if key not in self.keys:
            if key.__class__ is not str or not key.strip() or len(key) > 255 or "\x00" in key:
                raise InvalidInput(
                    f"metric name must be a non-empty string of at most 255 characters "
                    f"without NUL, got {key!r}", field="key")
            try:
                key.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidInput(f"metric name {key!r} is not valid text (a lone surrogate)",
                                   field="key") from None
            self.keys.add(key)
        try:
            v = float(value)
        except (TypeError, ValueError, OverflowError):
            raise InvalidInput(
                f"metric {key!r} must be a number, got {value!r} ({type(value).__name__})",
                field=key) from None
        if step is not None:
            try:
                as_int = int(step)
                if as_int != step or not -_INT64 <= as_int < _INT64:
                    raise ValueError
            except (TypeError, ValueError, OverflowError):
                raise InvalidInput(f"step of metric {key!r} must be a whole number (64-bit), "
                                   f"got {step!r}", field="step") from None
            step = as_int
        if ts is None:
            return v, step, _time()
        try:
            t = float(ts)
        except (TypeError, ValueError, OverflowError):
            t = math.nan
        if not math.isfinite(t):
            raise InvalidInput(f"timestamp of metric {key!r} must be seconds since the epoch, "
                               f"got {ts!r}", field="timestamp")
        return v, step, t

    def _make_room(self) -> None:
        """Full (called with the lock held). When the flusher is busy with a send that
        does not come back (a server gone mid-request), what is buffered goes to disk
        from here, after a moment; with no spool, the caller waits for the flusher."""
        waited = 0.0
        while self.count >= self.capacity:
            if self.spill is not None and (self._stuck or waited >= self.spill_after):
                if self._stuck and points_in(self.series) < self.capacity:
                    return  # the stuck send holds the room: buffer beside it, up to 2x
                self.lock.release()
                try:
                    spilled = self.spill()
                finally:
                    self.lock.acquire()
                if spilled is None:  # the flusher is free: the store is just slower
                    self._stuck = False
                else:
                    self._stuck = True
                    self.spills += bool(spilled)
                    continue
            self._drained.wait(0.05)
            waited += 0.05
        if waited >= 0.05:
            self.waits += 1

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
        self.discount(points, got_through=True)

    def discount(self, points: int, got_through: bool = False) -> None:
        """``points`` left memory (stored, given up, or put on disk): make room.
        ``got_through``: the flusher's send came back, so it is not stuck."""
        with self.lock:
            self.count = max(0, self.count - points)
            if got_through:
                self._stuck = False
            self._drained.notify_all()

    def restore(self, batch: Batch) -> None:
        """Put taken points back in front of newer ones (a spill that could not be written);
        they still count, as they were never released."""
        with self.lock:
            for k, s in batch.items():
                cur = self.series.get(k)
                if cur is None:
                    self.series[k] = s
                else:
                    self.series[k] = (s[0] + cur[0], s[1] + cur[1], s[2] + cur[2])

    def forget(self, run_id: str) -> None:
        """Drop the step counters of an ended run."""
        with self.lock:
            for k in [k for k in self.next_step if k[0] == run_id]:
                del self.next_step[k]

    def __len__(self) -> int:
        return self.count


def points_in(batch: Batch) -> int:
    return sum(len(s[2]) for s in batch.values())


def _transient(e: BaseException) -> bool:
    """Whether storing may succeed later as it is: the store is away, busy or locked, or the
    credentials are being fixed. Anything else is about the data, or a bug."""
    from .errors import AccessDenied, StoreUnavailable

    if isinstance(e, (AccessDenied, StoreUnavailable)):
        return True
    if isinstance(e, MLPError):
        return False
    # The in-process transport turns a store that is briefly away into StoreUnavailable.
    return isinstance(e, (ConnectionError, TimeoutError))


class Flusher:
    """Sends buffered points through ``send`` from one daemon thread.

    A batch that fails for a reason that may pass (the store is busy or
    unreachable) is kept and retried before anything newer is sent; when that
    lasts (``spool_after``) it goes to the on-disk spool with everything newer,
    and the spool is replayed, oldest first, once the store answers. A batch
    the store refuses (an ``MLPError``, e.g. its run was deleted) is split so
    that only the refused series are given up; a series the server fails on
    for another reason (a bug) is set aside on disk. Either is logged and
    raised by the next ``flush()``, and by the end of its own run.
    """

    def __init__(
        self,
        buffer: MetricBuffer,
        send: Callable[[Batch, str | None], None],
        interval: float,
        periodic: Callable[[], None] | None = None,
        spool_after: float = 5.0,
    ) -> None:
        self.buffer = buffer
        self.send = send
        self.interval = interval
        self.periodic = periodic
        self._send_lock = threading.Lock()
        self._pending: Batch = {}
        #: The id of the pending batch: the store remembers each of its series by it, so
        #: sending it again (whole or split) never stores a series twice.
        self._pending_id: str | None = None
        #: (run id, error) of series given up, until a flush (or the run's end) raises them.
        self._refused: list[tuple[str, MLPError]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing_since: float | None = None
        #: Called with each batch as it leaves the buffer (before it is sent), from the
        #: flushing thread: how live views see points. They must be quick and not mutate it.
        self.taps: list[Callable[[Batch], None]] = []
        #: Where points go while the store is away (set once the destination is known).
        self.spool: Spool | None = None
        #: Seconds of failing before points go to the spool (sooner when the buffer is half
        #: full), and what replays an operation (a run's end) found in the spool.
        self.spool_after = spool_after
        self.apply_op: Callable[[dict], None] | None = None
        buffer.spill = self._spill_from_caller

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
        """Send everything buffered (and spooled) now, from the calling thread.

        With ``raise_errors``, a store that is unavailable raises (the points
        stay buffered or spooled) and points the store refused raise their
        ``MLPError``.
        """
        with self._send_lock:
            try:
                self._flush(raise_errors)
            finally:
                if self._failing_since is not None:
                    self._spool_if_due(force=False)
            if raise_errors:
                self.raise_refused()

    def raise_refused(self, run_id: str | None = None) -> None:
        """Raise (and forget) the first refusal kept, of one run or of any."""
        mine = [r for r in self._refused if run_id is None or r[0] == run_id]
        if mine:
            self._refused = [r for r in self._refused if r not in mine]
            raise mine[0][1]

    def settle(self) -> bool:
        """Flush; when the store is away, put everything on disk instead. True when every
        point reached the store (refusals are kept for ``raise_refused``)."""
        with self._send_lock:
            if self.spool is not None:
                self.spool.rescan()  # files a forked child or a dead process left meanwhile
            self._flush(raise_errors=False)
            # A backlog bigger than one replay's budget: keep going while the store answers.
            while self._failing_since is None and (self._pending or self.spooled):
                self._flush(raise_errors=False)
            if self._failing_since is None:
                return True
            return self._spool_if_due(force=True)

    @property
    def spooled(self) -> bool:
        """Whether points or operations wait on disk for the store."""
        return self.spool is not None and bool(self.spool)

    def spool_op(self, op: dict) -> bool:
        """Keep an operation (a run's end) on disk, after the points spooled before it."""
        if self.spool is None:
            return False
        with self._send_lock:
            try:
                self.spool.write_op(op)
            except OSError as e:
                log.warning("mlp: could not keep %s on disk in %s: %s", op.get("op"),
                            self.spool.dir, e)
                return False
        return True

    def _flush(self, raise_errors: bool) -> None:
        # What failed before goes first, and nothing newer is taken while it still fails,
        # so the buffer's bound holds while the store is away.
        if self._pending:
            if not self._try(self._pending, self._pending_id, raise_errors):
                return
            self._pending = {}
        if self.spool is not None and self.spool and not self._replay(raise_errors):
            return
        batch, batch_id = self._take(), uuid.uuid4().hex
        if batch:
            self._pending, self._pending_id = batch, batch_id
            if self._try(batch, batch_id, raise_errors):
                self._pending = {}

    def _take(self) -> Batch:
        batch = self.buffer.take()
        self._tap(batch)
        return batch

    def _tap(self, batch: Batch) -> None:
        if batch:
            for tap in list(self.taps):
                try:
                    tap(batch)
                except Exception as e:  # a broken view must never lose points
                    log.debug("mlp: a metric tap failed: %s", e)

    def _try(self, batch: Batch, batch_id: str | None, raise_errors: bool) -> bool:
        """Store ``batch``; False when (what is left of) it must be retried later. Series
        leave ``batch`` as they are stored or given up."""
        points = points_in(batch)
        try:
            self.send(batch, batch_id)
        except Exception as e:
            if _transient(e):
                return self._failed(e, raise_errors)
            try:
                self._send_each(batch, batch_id, counted=True)
            except Exception as e2:
                return self._failed(e2, raise_errors)
            self._recovered()
            return True
        self._recovered()
        self.buffer.release(points)
        return True

    def _replay(self, raise_errors: bool) -> bool:
        """Store what waits in the spool, oldest first."""
        assert self.spool is not None
        try:
            # While the backlog goes out, new points join its end instead of filling the
            # buffer, and each call is bounded so heartbeats still go out in between.
            done = self.spool.replay(self._send_replayed, self._apply_replayed,
                                     between=self._spool_overflow,
                                     budget=max(2.0, 5 * self.interval))
        except _StopReplay:
            return False  # newer points could not go to disk: they are pending now
        except Exception as e:
            return self._failed(e, raise_errors)
        self._recovered()
        return done

    def _send_replayed(self, batch: Batch, batch_id: str | None) -> None:
        try:
            self.send(batch, batch_id)
        except Exception as e:
            if _transient(e):
                raise
            self._send_each(batch, batch_id, counted=False)

    def _apply_replayed(self, op: dict) -> None:
        if self.apply_op is None:
            return
        try:
            self.apply_op(op)
        except Exception as e:
            if _transient(e):
                raise
            # Refused for good (e.g. the run was deleted): give it up.
            log.warning("mlp: a spooled %s was refused: %s", op.get("op"), e)

    def _recovered(self) -> None:
        if self._failing_since is not None:
            log.warning("mlp: metrics are being stored again")
            self._failing_since = None

    def _failed(self, e: Exception, raise_errors: bool) -> bool:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
            where = (f"then kept on disk in {self.spool.dir}" if self.spool is not None
                     else "buffered")
            log.warning("mlp: could not store metrics (%s); they are retried every %.3g s, "
                        "%s until the store is back", e, self.interval, where)
        if raise_errors:
            raise e
        return False

    def _spool_if_due(self, force: bool) -> bool:
        """While the store fails: after ``spool_after`` seconds, or when the buffer is half
        full, move what waits (the failed batch, then everything newer) to disk and free the
        buffer, so the loop never waits on an outage. True when nothing is left in memory.
        A batch that cannot be written stays in memory (as the pending one)."""
        if self.spool is None or self._failing_since is None:
            return False
        due = force or (time.monotonic() - self._failing_since >= self.spool_after
                        or len(self.buffer) >= self.buffer.half)
        if not due:
            return False
        if self._pending:
            if not self._write_to_spool(self._pending, self._pending_id):
                return False
            self._pending = {}
        batch, batch_id = self._take(), uuid.uuid4().hex
        if batch and not self._write_to_spool(batch, batch_id):
            self._pending, self._pending_id = batch, batch_id
            return False
        return True

    def _write_to_spool(self, batch: Batch, batch_id: str | None) -> bool:
        assert self.spool is not None
        try:
            self.spool.write_batch(batch, batch_id)
        except OSError as e:  # a full or read-only disk: the points stay in memory
            log.warning("mlp: could not keep metrics on disk in %s: %s", self.spool.dir, e)
            return False
        self.buffer.release(points_in(batch))
        return True

    def _spill_from_caller(self) -> bool | None:
        """The buffer is full and a logging call waits: if the flusher is inside a send (a
        server gone mid-request holds it up to the read timeout), the caller puts what is
        buffered on disk itself and goes on; the flusher sends it later. If the flusher is
        free, the store is merely slower than the loop: the caller waits (back pressure)."""
        if self.spool is None:
            return None
        if self._send_lock.acquire(blocking=False):
            self._send_lock.release()
            return None
        batch, batch_id = self.buffer.take(), uuid.uuid4().hex
        if not batch:
            return False  # everything buffered is in the stuck send
        try:
            self.spool.write_batch(batch, batch_id)
        except OSError as e:
            log.warning("mlp: could not keep metrics on disk in %s: %s", self.spool.dir, e)
            self.buffer.restore(batch)  # not yet shown to the taps: they see it once, later
            return None
        self._tap(batch)
        self.buffer.discount(points_in(batch))  # not release(): the stuck send is still stuck
        return True

    def _spool_overflow(self) -> None:
        if len(self.buffer) >= self.buffer.half:
            batch, batch_id = self._take(), uuid.uuid4().hex
            if batch and not self._write_to_spool(batch, batch_id):
                # Nothing is pending during a replay: these wait in memory, sent next.
                self._pending, self._pending_id = batch, batch_id
                raise _StopReplay

    def _send_each(self, batch: Batch, batch_id: str | None, counted: bool) -> None:
        """One series at a time (the store remembers each by the batch's id), giving up only
        the ones refused; a transient failure stops here and leaves the rest in ``batch``.
        A series the server fails on for another reason is set aside on disk."""
        for k in list(batch):
            s = batch[k]
            try:
                self.send({k: s}, batch_id)
            except Exception as e:
                if _transient(e):
                    raise
                self._give_up(k, s, batch_id, e)
            del batch[k]
            if counted:
                self.buffer.release(len(s[2]))

    def _give_up(self, k: tuple[str, str], s: Arrays, batch_id: str | None,
                 e: Exception) -> None:
        n = len(s[2])
        if isinstance(e, MLPError) and not isinstance(e, ServerFault):
            log.warning("mlp: %d points of metric %r were refused: %s", n, k[1], e)
            self._refused.append((k[0], e))
            return
        where = None
        if self.spool is not None:
            try:
                where = self.spool.set_aside({k: s}, batch_id)
            except OSError:
                where = None
        message = (f"{n} points of metric {k[1]!r} could not be stored ({e}); "
                   + (f"they are kept in {where}" if where else "they were dropped"))
        log.warning("mlp: %s", message)
        self._refused.append((k[0], ServerFault(message, field=k[1])))

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.buffer.wakeup.wait(self.interval)
            try:
                self.flush(raise_errors=False)
            except Exception as e:  # never let the only thread that stores points die
                log.warning("mlp: storing metrics failed unexpectedly: %r", e)
            if self.periodic is not None:
                # Under the send lock, so an ending run's flush can't interleave with it.
                with self._send_lock:
                    try:
                        self.periodic()
                    except Exception as e:  # a failed heartbeat must not stop the flusher
                        log.debug("mlp: periodic task failed: %s", e)


class _StopReplay(Exception):
    """Newer points could not be written behind the backlog: stop replaying for now."""
