"""Points (and run ends) kept on disk while the store cannot be reached.

When the flusher has failed to store a batch for ``MLP_SPOOL_AFTER`` seconds (or
the buffer fills up while it fails), the batch goes to a file under
``$MLP_SPOOL_DIR`` (default ``$MLP_HOME/spool``), one folder per destination (a
server URL or a store), and the buffer is free again: the training loop never
waits on an outage. When the store answers again, the files are replayed in the
order they were written, before anything newer, and deleted once stored.

Files left behind by a process that died (a killed kernel, a laptop switched
off, a forked child) are replayed by the next process on the same host that
logs to the same destination: it claims each one with an atomic rename, so two
processes never send it twice (and the store takes each batch once anyway).
A series the server cannot store for a reason other than an outage (a bug) is
set aside as a ``.bad`` file next to them, never replayed by itself.

File names sort in write order: ``<time ns>-<pid>-<seq>.<kind>`` where kind is
``mlpm`` (a metric batch in the wire format) or ``json`` (an operation such as
ending a run).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger("mlp")

_NAME = re.compile(r"^(\d{20})-(\d+)-(\d{6})\.(mlpm|json)$")


def default_root() -> Path:
    explicit = os.environ.get("MLP_SPOOL_DIR", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("MLP_HOME", "").strip()
    return (Path(home).expanduser() if home else Path.home() / ".mlp") / "spool"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return False
    return True


class Spool:
    """The on-disk queue of one destination. Used from the flusher's thread (under its lock)."""

    #: Seconds between looks for files other processes left, while there is none.
    RESCAN_EVERY = 5.0

    def __init__(self, root: Path, destination: str) -> None:
        digest = hashlib.sha256(destination.encode()).hexdigest()[:16]
        # Per host: process ids mean nothing across hosts sharing a home folder.
        host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()) or "host"
        self.dir = Path(root) / digest / host
        self.destination = destination
        self._seq = 0
        self._lock = threading.Lock()
        self._files: list[Path] | None = None  # None: not scanned yet
        self._scanned_at = 0.0
        self._unreadable = False
        self.points = 0  # points spooled by this process and not yet replayed

    # -- writing ---------------------------------------------------------------------

    def _name(self, kind: str) -> Path:
        with self._lock:  # the flusher and a logging call that spills may both write
            self._seq += 1
            seq = self._seq
        return self.dir / f"{time.time_ns():020d}-{os.getpid()}-{seq % 1_000_000:06d}.{kind}"

    def _write(self, kind: str, data: bytes, path: Path | None = None) -> Path:
        files = self.files()  # scanned before this file exists, so it is listed once
        self.dir.mkdir(parents=True, exist_ok=True)
        readme = self.dir.parent / "DESTINATION"
        if not readme.exists():
            readme.write_text(self.destination + "\n")
        keep = path is None
        path = path or self._name(kind)
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # a reader never sees half a file
        if keep:
            files.append(path)
        return path

    def write_batch(self, batch: dict, batch_id: str | None = None) -> Path:
        """A buffer batch ``{(run_id, key): (steps, times, values)}`` to a file, with the id
        that lets the store take it once even if it is replayed twice."""
        from .transport import wire

        path = self._write("mlpm", wire.encode([(r, k, *s) for (r, k), s in batch.items()],
                                               batch_id))
        self.points += sum(len(s[2]) for s in batch.values())
        return path

    def write_op(self, op: dict[str, Any]) -> Path:
        return self._write("json", json.dumps(op).encode())

    def set_aside(self, batch: dict, batch_id: str | None = None) -> Path:
        """Points the server failed on (not an outage): kept as a ``.bad`` file for a person
        to look at, never replayed by itself."""
        from .transport import wire

        path = self._name("bad")
        return self._write("bad", wire.encode([(r, k, *s) for (r, k), s in batch.items()],
                                              batch_id), path)

    # -- reading ---------------------------------------------------------------------

    def files(self) -> list[Path]:
        """This process's files, and the ones of processes that are gone, oldest first.
        While there are none, the folder is looked at again every ``RESCAN_EVERY`` s."""
        if self._files is None or (not self._files and
                                   time.monotonic() - self._scanned_at > self.RESCAN_EVERY):
            self.rescan()
        assert self._files is not None
        return self._files

    def rescan(self) -> None:
        """Look for files left by processes that ended (a forked child, a killed kernel)."""
        known = set(self._files or [])
        self._files = sorted(known | set(self._scan()), key=lambda p: p.name)
        self._scanned_at = time.monotonic()

    def _scan(self) -> list[Path]:
        try:
            names = sorted(os.listdir(self.dir))
        except FileNotFoundError:
            return []
        except OSError as e:  # not a folder, no permission: there is no spool to replay
            if not self._unreadable:
                log.warning("mlp: cannot read the spool folder %s: %s", self.dir, e)
                self._unreadable = True
            return []
        out: list[Path] = []
        me = os.getpid()
        for name in names:
            m = _NAME.match(name)
            if m is None:
                continue
            pid = int(m.group(2))
            path = self.dir / name
            if pid == me and path in set(self._files or []):
                continue
            if pid != me:
                if _pid_alive(pid):
                    continue  # that process replays its own files
                # Claim it: the rename is atomic, so only one process gets each file.
                claimed = self.dir / f"{m.group(1)}-{me}-{m.group(3)}.{m.group(4)}"
                try:
                    os.rename(path, claimed)
                except OSError:
                    continue
                path = claimed
                log.warning("mlp: sending %s left in %s by process %d, which ended",
                            "metrics" if m.group(4) == "mlpm" else "a run's end", self.dir, pid)
            out.append(path)
        out.sort(key=lambda p: p.name)
        return out

    def __bool__(self) -> bool:
        return bool(self.files())

    def replay(self, send_batch: Callable[[dict, str | None], None],
               apply_op: Callable[[dict], None],
               between: Callable[[], None] | None = None, budget: float | None = None) -> bool:
        """Store the files oldest first; True when none is left. A failure that may pass
        stops the replay (raised to the caller); the file stays for the next try.
        ``between`` runs after each file; ``budget`` (seconds) bounds one call."""
        files = self.files()
        deadline = None if budget is None else time.monotonic() + budget
        while files:
            if deadline is not None and time.monotonic() > deadline:
                return False
            path = files[0]
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                files.pop(0)
                continue
            if path.suffix == ".mlpm":
                from .transport import wire

                try:
                    batch_id, series = wire.decode_batch(data)
                except ValueError as e:  # a torn file from a crash mid-write: keep it aside
                    log.warning("mlp: spooled metrics %s cannot be read (%s); left as %s.bad",
                                path, e, path.name)
                    os.replace(path, path.with_suffix(".bad"))
                    files.pop(0)
                    continue
                batch = {(r, k): (st, t, v) for r, k, st, t, v in series}
                send_batch(batch, batch_id)  # raises when the store is still away
                self.points = max(0, self.points - sum(len(s[2]) for s in batch.values()))
            else:
                apply_op(json.loads(data))
            path.unlink(missing_ok=True)
            files.pop(0)
            if between is not None:
                between()
        return True
