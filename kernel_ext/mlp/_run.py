"""``Run``: a handle on one run, for logging to it and reading it back."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import InvalidInput

if TYPE_CHECKING:
    import pandas as pd

    from ._client import Client


def _ts(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


class Run:
    """A run: log to it while it is active, read everything about it at any time.

    >>> with mlp.start_run(experiment="demo") as run:
    ...     run.log_metric("loss", 0.3, step=1)
    >>> run.metrics["loss"]
    0.3
    """

    #: A job's run: made by the server, ended by it when the job ends.
    _job = False

    def __init__(self, data: dict, client: Client, capture: bool = True) -> None:
        self._data = data
        self._client = client
        self._capture = capture
        self._full: dict | None = None
        #: The end of a run ended while the store was away (it waits in the spool).
        self._offline_end: dict | None = None

    # -- identity ------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self._data["id"]

    @property
    def name(self) -> str:
        return self._data["name"]

    @property
    def experiment(self) -> str:
        return self._data["experiment"]

    @property
    def ref(self) -> str:
        """``experiment/name (id prefix)``, how the run is shown in messages."""
        return f"{self.experiment}/{self.name} ({self.id[:8]})"

    @property
    def status(self) -> str:
        if self._is_own():
            return self._data["status"]
        return self._load()["status"]

    @property
    def status_reason(self) -> str | None:
        return self._load().get("status_reason")

    @property
    def start_time(self) -> datetime:
        return datetime.fromtimestamp(self._data["start_time"], tz=timezone.utc)

    @property
    def end_time(self) -> datetime | None:
        t = self._load().get("end_time")
        return None if t is None else datetime.fromtimestamp(t, tz=timezone.utc)

    @property
    def duration(self) -> float:
        """Seconds from start to end (to now while running)."""
        return self._load()["duration"]

    @property
    def user(self) -> str | None:
        return self._data.get("user")

    @property
    def host(self) -> str | None:
        return self._data.get("host")

    @property
    def parent_id(self) -> str | None:
        return self._data.get("parent_id")

    @property
    def source(self) -> str | None:
        """The script or notebook the run was started from."""
        return self._data.get("source_name")

    # -- data ------------------------------------------------------------------------

    @property
    def params(self) -> dict[str, str]:
        return dict(self._load()["params"])

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._load()["tags"])

    @property
    def metrics(self) -> dict[str, float]:
        """Last value of each metric (the value at the highest step)."""
        return {k: v["last"] for k, v in self._load()["metrics"].items()}

    @property
    def metric_summary(self) -> pd.DataFrame:
        """Per metric: last, step of last, min, max and number of points."""
        import pandas as pd

        m = self._load()["metrics"]
        return pd.DataFrame.from_dict(m, orient="index")[["last", "step", "min", "max", "count"]] \
            if m else pd.DataFrame(columns=["last", "step", "min", "max", "count"])

    @property
    def artifacts(self) -> list[dict]:
        """``[{"path", "size", "digest"}]`` of every artifact file."""
        return list(self._load()["artifacts"])

    @property
    def children(self) -> list[Run]:
        return [Run(self._client.transport.get_run(c), self._client)
                for c in self._load()["children"]]

    @property
    def code(self) -> dict | None:
        """The script, or the notebook cells in execution order, that produced the run."""
        return self._client.transport.get_capture(self.id, "code")

    @property
    def git(self) -> dict | None:
        """Commit, branch, dirty flag and diff of the git work tree, if there was one."""
        self._client.wait_for_captures(self.id)
        return self._client.transport.get_capture(self.id, "git")

    @property
    def environment(self) -> dict | None:
        """Python, packages, host and (redacted) environment variables."""
        self._client.wait_for_captures(self.id)  # gathered in the background at the start
        return self._client.transport.get_capture(self.id, "environment")

    def metric_history(self, key: str) -> pd.DataFrame:
        """Every point of a metric: columns ``step``, ``time`` (UTC) and ``value``."""
        import pandas as pd

        if self._is_own():
            self._client.flush()
        h = self._client.transport.metric_history(self.id, key)
        # Whole microseconds convert to datetimes ~3x faster than float seconds.
        micros = (h["time"] * 1e6).round().astype("int64")
        # Arrays this call owns go into the frame as they are (a copy is 5 ms of 1M points);
        # read-only ones (views of a response's bytes) are copied, so the frame can be edited.
        own = h["step"].flags.writeable and h["value"].flags.writeable
        return pd.DataFrame({
            "step": h["step"],
            "time": pd.to_datetime(micros, unit="us", utc=True),
            "value": h["value"],
        }, copy=not own)

    def download_artifacts(self, path: str, dst: str | Path = ".") -> Path:
        """Copy an artifact file, or a folder of them, into ``dst``; returns the local path."""
        return self._client.transport.download_artifacts(self.id, path, dst)

    def refresh(self) -> Run:
        """Read the run again from the store."""
        self._full = self._client.transport.get_run(self.id)
        self._data = {**self._data, **self._full}
        return self

    # -- logging -------------------------------------------------------------------

    def log_metric(self, key: str, value: float, step: int | None = None, *,
                   timestamp: float | None = None) -> None:
        """Buffer one point; ``step`` defaults to one more than this metric's last step."""
        self._client.log_metric(self.id, key, value, step, timestamp)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None, *,
                    timestamp: float | None = None) -> None:
        for k, v in metrics.items():
            self._client.log_metric(self.id, k, v, step, timestamp)

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log params; nested dicts become dotted keys (``optimizer.name``)."""
        self._client.transport.log_params(self.id, params)
        self._full = None

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._client.transport.set_tags(self.id, tags)
        self._full = None

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> list[dict]:
        """Store a file (or a folder, recursively) under ``artifact_path`` (default: its name)."""
        out = self._client.transport.log_artifact(self.id, local_path, artifact_path)
        self._full = None
        return out

    def log_artifacts(self, local_dir: str | Path, artifact_path: str | None = None) -> list[dict]:
        """Store the files inside a folder at ``artifact_path`` (default: the run's root)."""
        out = self._client.transport.log_artifact(self.id, local_dir, artifact_path,
                                                  contents=True)
        self._full = None
        return out

    def log_model(self, model: Any, artifact_path: str = "model", *, example: Any = None,
                  requirements: Sequence[str] | None = None, signature: Any = None) -> dict:
        """Store a model with this run in MLflow's MLmodel format (see ``mlp.log_model``)."""
        from .models import log_model

        out = log_model(self, model, artifact_path, example=example, requirements=requirements,
                        signature=signature)
        self._full = None
        return out

    def log_input(self, name: str, data: Any) -> dict:
        """Record the content hash of an input (a DataFrame or Series, a numpy array, bytes,
        or a file or folder path) under ``name``; ``mlp.diff`` shows which inputs differ."""
        from ._inputs import describe

        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise InvalidInput(f"input name must be a non-empty string of at most 255 "
                               f"characters, got {name!r}", field="name")
        entry = describe(data)
        transport = self._client.transport
        inputs = dict(transport.get_capture(self.id, "inputs") or {})
        inputs[name] = entry
        transport.put_capture(self.id, "inputs", inputs)
        return entry

    @property
    def inputs(self) -> dict:
        """The inputs recorded with ``log_input``: ``{name: {"digest": ..., ...}}``."""
        return self._client.transport.get_capture(self.id, "inputs") or {}

    def end(self, status: str = "finished", reason: str | None = None) -> None:
        """End the run (``finished``, ``failed`` or ``killed``, with an optional reason),
        flushing its metrics first."""
        self._client.end_run(self, status, reason)
        self._full = None

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.id not in self._client.owned:
            return
        if exc_type is None or (issubclass(exc_type, SystemExit) and exc.code in (0, None)):
            self.end("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end("killed", "interrupted")
        else:
            self.end("failed", f"{exc_type.__name__}: {exc}")

    # -- display ---------------------------------------------------------------------

    def _is_own(self) -> bool:
        return self.id in self._client.owned

    def _load(self) -> dict:
        if self._full is None or self._is_own():
            if self._is_own():
                self._client.flush()
            self.refresh()
        assert self._full is not None
        if self._offline_end is not None and self._full.get("status") == "running":
            # The store has not heard of the end yet; what this process knows is newer.
            return {**self._full, **self._offline_end}
        return self._full

    def __repr__(self) -> str:
        d = self._full or self._data
        extra = ""
        if self._full is not None:
            extra = f" params={len(d['params'])} metrics={len(d['metrics'])}"
        return (f"<Run {self.experiment}/{self.name} {self.id[:8]} {d['status']}"
                f" {_duration(d.get('duration'))}{extra}>")

    def _repr_html_(self) -> str:
        d = self._load()
        e = html.escape
        rows = [
            ("status", d["status"] + (f" — {d['status_reason']}" if d.get("status_reason")
                                      else "")),
            ("id", d["id"]), ("started", _ts(d["start_time"])),
            ("duration", _duration(d.get("duration"))), ("user", d.get("user") or ""),
            ("source", d.get("source_name") or ""),
        ]
        params = "".join(f"<tr><td>{e(k)}</td><td>{e(str(v))}</td></tr>"
                         for k, v in sorted(d["params"].items()))
        metrics = "".join(
            f"<tr><td>{e(k)}</td><td>{_fmt(m['last'])}</td><td>{m['step']}</td>"
            f"<td>{_fmt(m['min'])}</td><td>{_fmt(m['max'])}</td></tr>"
            for k, m in sorted(d["metrics"].items()))
        head = "".join(f"<tr><th style='text-align:left'>{e(k)}</th><td>{e(str(v))}</td></tr>"
                       for k, v in rows)
        return (
            f"<div class='mlp-run'><b>Run {e(d['experiment'])}/{e(d['name'])}</b> "
            # JupyterLab with the panel opens the run view on a click (elsewhere: inert).
            # The id rides in the class and the fragment too: the sanitizer of an untrusted
            # notebook keeps those; JupyterLab would turn a bare '#' into a file link.
            f"<a class='jp-mlp-open-run jp-mlp-run-{e(d['id'])}' data-mlp-run='{e(d['id'])}' "
            f"href='#mlp-run={e(d['id'])}' "
            "title='Open this run in the ML Platform panel'>open in panel</a>"
            f"<table>{head}</table>"
            + (f"<details open><summary>params ({len(d['params'])})</summary><table>{params}"
               "</table></details>" if params else "")
            + (f"<details open><summary>metrics ({len(d['metrics'])})</summary><table><tr>"
               "<th>key</th><th>last</th><th>step</th><th>min</th><th>max</th></tr>"
               f"{metrics}</table></details>" if metrics else "")
            + (f"<details><summary>artifacts ({len(d['artifacts'])})</summary><ul>"
               + "".join(f"<li>{e(a['path'])} ({a['size']} B)</li>" for a in d["artifacts"])
               + "</ul></details>" if d["artifacts"] else "")
            + "</div>"
        )


def _fmt(v: float | None) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return str(v)
    return f"{v:.6g}"
