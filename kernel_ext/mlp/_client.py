"""The process-wide client: transport, metric buffer, active runs, exit handling."""

from __future__ import annotations

import atexit
import logging
import math
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._buffer import Batch, Flusher, MetricBuffer
from ._shell import in_kernel, ipython_shell
from .errors import InvalidInput, MLPError

if TYPE_CHECKING:
    from ._run import Run
    from .transport import Transport

log = logging.getLogger("mlp")


def _env_float(name: str, default: float, minimum: float = 0.0) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not value >= minimum:
        raise InvalidInput(f"{name}={raw!r} must be a number of at least {minimum:g}",
                           field=name)
    return value


class Client:
    """One per process. Created on first use so ``import mlp`` stays light."""

    def __init__(self, transport: Transport | None = None) -> None:
        self._transport = transport
        self._lock = threading.RLock()
        self.active: list[Run] = []
        #: Id of the innermost active run, kept for the hot path of ``mlp.log_metric``.
        self.active_id: str | None = None
        self.owned: dict[str, Run] = {}
        self.flush_interval = _env_float("MLP_FLUSH_INTERVAL", 1.0, minimum=0.001)
        self.heartbeat_interval = _env_float("MLP_HEARTBEAT_INTERVAL", 10.0, minimum=0.001)
        self.system_interval = _env_float("MLP_SYSTEM_METRICS_INTERVAL", 10.0)
        self.spool_after = _env_float("MLP_SPOOL_AFTER", 5.0)
        self._new_buffer(int(_env_float("MLP_BUFFER_POINTS", 1_000_000, minimum=2)))
        self._last_heartbeat = 0.0
        self._last_sample = time.time()
        self._sampler: Any = None
        self._failed_exit = False
        self._exit_hooked = False
        self._pid = os.getpid()
        self._captures: dict[str, threading.Thread] = {}
        self._exited = False

    def _new_buffer(self, capacity: int) -> None:
        self.buffer = MetricBuffer(capacity)
        self.flusher = Flusher(self.buffer, self._send, self.flush_interval, self._periodic,
                               spool_after=self.spool_after)
        self.flusher.apply_op = self._apply_spooled
        if self._transport is not None:
            self._attach_spool(self._transport)

    def _attach_spool(self, transport: Transport) -> None:
        """Points go to disk, per destination, while the store cannot be reached."""
        from ._spool import Spool, default_root

        self.flusher.spool = Spool(default_root(), transport.destination())

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            with self._lock:
                if self._transport is None:
                    from .transport import connect

                    transport = connect()
                    self._attach_spool(transport)
                    self._transport = transport
        return self._transport

    # -- runs --------------------------------------------------------------------

    def start_run(self, experiment: str | None, name: str | None, *, tags: dict | None,
                  params: Mapping[str, Any] | None, parent: Any, nested: bool,
                  capture: bool) -> Run:
        from ._capture import capture_code, current_user
        from ._run import Run

        if parent is None and not self.active and os.environ.get("MLP_RUN_ID"):
            # Inside a job: the job's run is this process's run (the server made it, with the
            # token for it, and ends it when the job ends).
            run = self.job_run()
            if run is not None:
                if params:
                    run.log_params(params)
                if tags:
                    run.set_tags(tags)
                return run
        parent_id = _run_id_of(parent) if parent is not None else None
        if self.active and parent_id is None:
            if not nested:
                cur = self.active[-1]
                raise InvalidInput(
                    f"run {cur.ref} is still active: end it with mlp.end_run(), use "
                    "`with mlp.start_run(...)` so it ends by itself, or pass nested=True "
                    "to start a child run", field="nested")
            parent = self.active[-1]
            parent_id = parent.id
        code = capture_code() if capture else None
        kernel_id = None
        if in_kernel():  # the server that launched this kernel knows its notebook by this id
            from ipykernel.connect import get_connection_file

            try:
                conn = os.path.basename(get_connection_file())
            except RuntimeError:  # a shell without a kernel app
                conn = ""
            if conn.startswith("kernel-") and conn.endswith(".json"):
                kernel_id = conn[len("kernel-"):-len(".json")]
        # A child run belongs with its parent unless told otherwise.
        experiment = (experiment or getattr(parent, "experiment", None)
                      or os.environ.get("MLP_EXPERIMENT") or "Default")
        # Params and code travel with the creation: a refused param leaves no half-made run.
        data = self.transport.create_run(
            experiment, name, run_id=uuid.uuid4().hex, parent_id=parent_id, tags=tags,
            params=params, captures={"code": code} if capture else None,
            user=current_user(), host=socket.gethostname(), pid=os.getpid(),
            pid_started=_process_started(),
            source_type=(code or {}).get("type"),
            source_name=(code or {}).get("path"), kernel_id=kernel_id,
        )
        run = Run(data, client=self, capture=capture)
        with self._lock:
            self.active.append(run)
            self.active_id = run.id
            self.owned[run.id] = run
        self._hook_exit()
        self.flusher.start()
        if capture:
            # git and the package list take a moment: gather them off the caller's thread.
            t = threading.Thread(target=self._capture_context, args=(run.id,), daemon=True,
                                 name="mlp-capture")
            t.start()
            with self._lock:
                self._captures = {k: v for k, v in self._captures.items() if v.is_alive()}
                self._captures[run.id] = t
        return run

    def job_run(self) -> Run | None:
        """Inside a job on the cluster (``MLP_RUN_ID`` set by the platform): the job's run,
        made this process's active run on first use. Not ended here: the server ends it with
        the job's outcome."""
        rid = os.environ.get("MLP_RUN_ID", "").strip()
        if not rid:
            return None
        from ._run import Run

        with self._lock:
            for r in self.active:
                if r.id == rid:
                    return r
            if self.active:
                return None
            run = Run(self.transport.get_run(rid), client=self, capture=False)
            run._job = True
            self.active.append(run)
            self.active_id = run.id
        self._hook_exit()
        self.flusher.start()
        return run

    def end_run(self, run: Run, status: str = "finished", reason: str | None = None) -> None:
        """Flush the run's points and end it. It leaves the active list first, so no sample
        or heartbeat lands on it afterwards."""
        from ._capture import capture_code

        if getattr(run, "_job", False):
            self.flush()  # a job's run ends with the job, as the server sees it end
            return
        with self._lock:
            if run in self.active:
                self.active.remove(run)
            self.active_id = self.active[-1].id if self.active else None
        if run.id in self.owned and run._capture and ipython_shell() is not None:
            # The cells run since the start belong to the run too; a script stays as it was.
            try:
                self.transport.put_capture(run.id, "code", capture_code())
            except Exception as e:  # capture must never stop a run from ending
                log.debug("mlp: code capture at end failed: %s", e)
        transport = self.transport
        try:
            # When the store is away the points (and then the end) wait on disk.
            delivered = self.flusher.settle() and not self.flusher.spooled
            if delivered:
                try:
                    run._data = transport.end_run(run.id, status, reason)
                except MLPError:
                    raise
                except Exception as e:
                    delivered = self._spool_end(run, status, reason, e)
            else:
                self._spool_end(run, status, reason, None)
        finally:
            with self._lock:
                self.owned.pop(run.id, None)
            self.buffer.forget(run.id)
        if not sys.exc_info()[0]:  # never hide the exception a run ends with
            self.flusher.raise_refused(run.id)

    def _spool_end(self, run: Run, status: str, reason: str | None,
                   error: Exception | None) -> bool:
        """The store is away: end the run when it is back (after its spooled points)."""
        ended = time.time()
        op = {"op": "end_run", "run_id": run.id, "status": status, "reason": reason,
              "end_time": ended}
        if not self.flusher.spool_op(op):
            if error is not None:
                raise error
            self.flush()  # no spool: say why the points could not be stored
        run._offline_end = {"status": status, "status_reason": reason, "end_time": ended,
                            "duration": ended - run._data["start_time"]}
        run._data = {**run._data, **run._offline_end}
        log.warning("mlp: the store is unreachable%s; run %s and its points are kept in %s "
                    "and will be stored when it is back", f" ({error})" if error else "",
                    run.ref, self.flusher.spool.dir if self.flusher.spool else "memory")
        return False

    def _apply_spooled(self, op: dict) -> None:
        if op.get("op") == "end_run":
            self.transport.end_run(op["run_id"], op.get("status", "finished"), op.get("reason"),
                                   op.get("end_time"))

    def wait_for_captures(self, run_id: str | None = None, timeout: float = 30.0) -> None:
        """Let background captures (of one run, or all) finish: a short script must not exit
        before its environment is recorded."""
        with self._lock:
            threads = [t for k, t in self._captures.items() if run_id in (None, k)]
        deadline = time.time() + timeout
        for t in threads:
            t.join(max(0.0, deadline - time.time()))

    def _capture_context(self, run_id: str) -> None:
        from ._capture import capture_environment, capture_git

        try:
            git = capture_git(_script_dir())
            env = capture_environment()
            # Written while holding the flusher's lock, so a fork never finds this thread
            # inside the database driver.
            held = self.flusher.hold()
            try:
                if git is not None:
                    self.transport.put_capture(run_id, "git", git)
                self.transport.put_capture(run_id, "environment", env)
            finally:
                if held:
                    self.flusher.release_hold()
        except Exception as e:
            log.warning("mlp: could not record the environment of run %s: %s", run_id[:8], e)

    # -- metrics -------------------------------------------------------------------

    def log_metric(self, run_id: str, key: str, value: Any, step: Any, timestamp: Any) -> None:
        """Validate one point as the store would, then buffer it (see ``MetricBuffer.add``)."""
        self.buffer.add(run_id, key, value, step, timestamp)

    def flush(self) -> None:
        """Store what is buffered, and what an earlier outage left on disk."""
        self.transport  # noqa: B018 - connecting names the spool to replay
        self.flusher.flush(raise_errors=True)

    def tap(self, fn: Callable[[Batch], None]) -> Callable[[], None]:
        """Call ``fn`` with every batch of points as it leaves the buffer, from the flushing
        thread (``{(run_id, key): (steps, times, values)}`` of ``array``s; read only).
        Returns a function that removes the tap. Live charts use this."""
        taps = self.flusher.taps
        taps.append(fn)

        def remove() -> None:
            if fn in taps:
                taps.remove(fn)

        return remove

    def _send(self, batch: Batch, batch_id: str | None = None) -> None:
        import numpy as np

        from .transport import MetricBatch

        self.transport.log_metrics(batch_id=batch_id, batches=[
            MetricBatch(run_id, key, np.frombuffer(s[0], dtype=np.int64),
                        np.frombuffer(s[1], dtype=np.float64),
                        np.frombuffer(s[2], dtype=np.float64))
            for (run_id, key), s in batch.items()
        ])

    def _periodic(self) -> None:
        ids = [r.id for r in list(self.active)]
        if not ids:
            return
        now = time.time()
        if now - self._last_heartbeat >= self.heartbeat_interval:
            self._last_heartbeat = now
            self.transport.heartbeat(ids)
        if self.system_interval > 0 and now - self._last_sample >= self.system_interval:
            self._last_sample = now
            if self._sampler is None:
                from ._capture import SystemSampler

                self._sampler = SystemSampler()
                return  # the first CPU reading only primes psutil
            sample = self._sampler.sample()
            for rid in ids:
                for key, value in sample.items():
                    self.buffer.add(rid, key, value, None, now, block=False)

    # -- exit and fork -------------------------------------------------------------

    def _hook_exit(self) -> None:
        if self._exit_hooked:
            return
        self._exit_hooked = True
        atexit.register(self._at_exit)
        mp = sys.modules.get("multiprocessing")
        if mp is not None and mp.parent_process() is not None:
            self._register_mp_exit()
        previous = sys.excepthook

        def excepthook(tp, value, tb):
            self._failed_exit = True
            previous(tp, value, tb)

        sys.excepthook = excepthook

    def _at_exit(self) -> None:
        """Flush, and end the runs this process started and left open: failed after an
        uncaught exception, crashed when a kernel shuts down under them, else finished."""
        if self._exited:
            return
        self._exited = True
        kernel = in_kernel()
        status = "crashed" if kernel else "failed" if self._failed_exit else "finished"
        reason = ("the kernel shut down while the run was active" if kernel else
                  "the program raised an uncaught exception" if self._failed_exit else None)
        try:
            # What the store cannot take now goes to disk, for the next process to send.
            self.flusher.settle()
        except Exception as e:
            log.warning("mlp: could not store the last metrics at exit: %s", e)
        for run in reversed([r for r in self.active if r.id in self.owned]):
            try:
                self.end_run(run, status, reason)
            except Exception as e:  # one run that cannot end must not keep others open
                log.warning("mlp: could not end run %s at exit: %s", run.ref, e)
        self.wait_for_captures()
        self.flusher.stop()

    def after_fork(self) -> None:
        """In a forked child: fresh buffer, thread and connections. The child may log to
        the runs active in its parent, but they stay the parent's to end."""
        self._lock = threading.RLock()
        self.owned = {}
        self._captures = {}
        self._exited = False
        self._pid = os.getpid()
        self._new_buffer(self.buffer.capacity)
        if self._transport is not None:
            self._transport.after_fork()
        if self.active:
            self.flusher.start()
        mp = sys.modules.get("multiprocessing.util")
        if mp is not None:
            # multiprocessing children leave through os._exit, so atexit never runs there;
            # their finalizers do, but the registry is cleared after this hook runs.
            mp.register_after_fork(self, Client._register_mp_exit)

    def _register_mp_exit(self) -> None:
        """multiprocessing children leave through os._exit: run the exit work from one of
        its finalizers, which do run there."""
        import multiprocessing.util

        multiprocessing.util.Finalize(self, Client._at_exit, args=(self,), exitpriority=100)

    def close(self) -> None:
        """Flush and release the transport (used by tests)."""
        try:
            self.flusher.flush(raise_errors=False)
            self.wait_for_captures()
        finally:
            self.flusher.stop()
            if self._transport is not None:
                self._transport.close()
            if self._exit_hooked:
                atexit.unregister(self._at_exit)


def _run_id_of(run: Any) -> str:
    rid = getattr(run, "id", run)
    if not isinstance(rid, str):
        raise InvalidInput(f"parent must be a Run or a run id, got {run!r}", field="parent")
    return rid


def _process_started() -> float | None:
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:
        return None


def _script_dir() -> str | None:
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return os.path.dirname(os.path.abspath(path)) if path and not in_kernel() else None


_client: Client | None = None
_client_lock = threading.Lock()


_held_for_fork = False


def _before_fork() -> None:
    global _held_for_fork
    # Only an in-process store has driver locks a child could inherit held; over HTTP a
    # fork (a DataLoader's workers) must not wait for a slow upload.
    _held_for_fork = (_client is not None and _client._transport is not None
                      and _client._transport.kind == "in-process" and _client.flusher.hold())


def _after_fork_in_parent() -> None:
    global _held_for_fork
    if _held_for_fork and _client is not None:
        _client.flusher.release_hold()
    _held_for_fork = False


def _after_fork_in_child() -> None:
    global _client_lock, _held_for_fork
    _client_lock = threading.Lock()
    _held_for_fork = False
    if _client is not None:
        _client.after_fork()  # a new flusher: the held one stays behind, unused


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)


def get_client() -> Client:
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = Client()
    return _client


def reset(transport: Transport | None = None) -> Client:
    """Flush and drop the process's client; the next call starts a fresh one."""
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
        _client = Client(transport) if transport is not None else None
    return get_client()

