"""Jobs on Ray from the notebook: ``mlp.submit``, ``Job``, ``mlp.jobs``, ``mlp.cluster``.

The server owns the cluster connection; the SDK sends the job's folder (zipped, by content)
and what it asks for, and gets a job with a tracked run back. Inside the job, ``mlp.log_metric``
lands on that run (the job gets a token for it, and ``MLP_RUN_ID``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _jobspec as js
from ._client import get_client
from .errors import InvalidInput, MLPError

if TYPE_CHECKING:
    import pandas as pd

    from ._run import Run

#: Never sent with a job: version control, caches, environments, checkpoints.
DEFAULT_EXCLUDES = (".git", ".hg", ".svn", "__pycache__", "*.pyc", ".ipynb_checkpoints",
                    ".venv", "venv", ".env", "node_modules", ".mypy_cache", ".pytest_cache",
                    ".ruff_cache", ".DS_Store", ".cache", ".mlp")
_FOLLOW_EVERY = 0.25


def _max_package() -> int:
    raw = os.environ.get("MLP_JOB_MAX_PACKAGE", "").strip()
    return js.parse_memory(raw, "MLP_JOB_MAX_PACKAGE") if raw else 100 * 2**20


def _excluded(rel: str, patterns: Sequence[str]) -> bool:
    import fnmatch

    parts = rel.split("/")
    for p in patterns:
        p = p.rstrip("/")
        if "/" in p:
            if fnmatch.fnmatch(rel, p) or rel.startswith(p + "/"):
                return True
        elif any(fnmatch.fnmatch(part, p) for part in parts):
            return True
    return False


def package(folder: str | Path, excludes: Sequence[str] = (),
            extra: Mapping[str, bytes] | None = None, limit: int | None = None) -> bytes:
    """The job's folder as a zip (``extra`` files added), refused before any upload when it
    is over ``limit`` bytes, naming the biggest entries to leave out."""
    import io
    import zipfile

    root = Path(folder)
    if not root.is_dir():
        raise InvalidInput(f"working_dir {str(folder)!r} is not a folder", field="working_dir")
    limit = _max_package() if limit is None else limit
    patterns = [*DEFAULT_EXCLUDES, *excludes]
    files: list[tuple[str, Path, int]] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        rel_dir = base.relative_to(root).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir + "/"
        dirnames[:] = sorted(d for d in dirnames if not _excluded(rel_dir + d, patterns))
        for name in sorted(filenames):
            rel = rel_dir + name
            if _excluded(rel, patterns):
                continue
            p = base / name
            try:
                size = p.stat().st_size
            except OSError:
                continue
            files.append((rel, p, size))
            total += size
    total += sum(len(v) for v in (extra or {}).values())
    if total > limit:
        tops: dict[str, int] = {}
        for rel, _p, size in files:
            top = rel.split("/")[0] + ("/" if "/" in rel else "")
            tops[top] = tops.get(top, 0) + size
        biggest = sorted(tops.items(), key=lambda kv: -kv[1])[:5]
        listing = ", ".join(f"{k} ({js.human_bytes(v)})" for k, v in biggest)
        raise InvalidInput(
            f"the job's folder {str(root)!r} holds {js.human_bytes(total)} to send, over the "
            f"limit of {js.human_bytes(limit)}. Biggest: {listing}. Leave data out with "
            "excludes=['data/'] (read it from storage inside the job), or run from a smaller "
            "folder with working_dir=", field="working_dir")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for rel, p, _size in files:
            try:
                zf.write(p, rel)
            except OSError:
                continue  # vanished or unreadable: not the job's business
        for rel, data in (extra or {}).items():
            zf.writestr(rel, data)
    return buf.getvalue()


def submit(script: str | os.PathLike, args: Sequence[Any] | None = None, *,
           cpus: float | None = None, gpus: float | None = None, memory: Any = None,
           env: Mapping[str, Any] | None = None, requirements: Sequence[str] | None = None,
           experiment: str | None = None, working_dir: str | os.PathLike | None = None,
           excludes: Sequence[str] = (), name: str | None = None) -> Job:
    """Run a script on the Ray cluster as a job, with a tracked run.

    The folder it runs from (``working_dir``, default the current one: a notebook's folder)
    is sent along, without ``.git``, caches and environments (add ``excludes=``). ``memory``
    is a size such as ``"4GiB"``; ``requirements`` are pip requirements installed for the job.
    A request no node can satisfy is refused before anything is submitted.

    >>> job = mlp.submit("train.py", args=["--lr", "0.1"], cpus=2, memory="4GiB")
    >>> job.logs(follow=True)
    >>> job.wait()
    """
    folder = Path(working_dir) if working_dir is not None else Path.cwd()
    p = Path(script)
    full = p if p.is_absolute() else folder / p
    try:
        rel = full.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        raise InvalidInput(f"{str(script)!r} is outside the job's folder {str(folder)!r}: "
                           "pass working_dir= a folder that holds it", field="script") from None
    if not full.is_file():
        raise InvalidInput(f"no script {str(full)!r}: give a .py or .sh file in "
                           f"{str(folder)!r}", field="script")
    spec = {"entrypoint": rel, "kind": "script", "name": name or rel,
            "args": [str(a) for a in (args or [])]}
    return _submit(spec, folder, excludes, cpus=cpus, gpus=gpus, memory=memory, env=env,
                   requirements=requirements, experiment=experiment)


def _submit(spec: dict, folder: Path, excludes: Sequence[str], *, extra: Mapping | None = None,
            cpus: Any, gpus: Any, memory: Any, env: Any, requirements: Any,
            experiment: str | None) -> Job:
    # Checked here too, so a typo costs no upload.
    cpus = js.check_count(cpus, "cpus", 1.0)
    gpus = js.check_count(gpus, "gpus", 0.0)
    js.parse_memory(memory)
    env = js.check_env(env)
    requirements = js.check_strings(requirements, "requirements")
    c = get_client()
    c.flush()
    data = package(folder, excludes, extra)
    pkg = c.transport.put_job_package(data)
    body = {**spec, "package": pkg["digest"], "cpus": cpus, "gpus": gpus,
            "memory": memory if memory is None or isinstance(memory, (int, float))
            else str(memory), "env": env, "requirements": requirements,
            "experiment": experiment or os.environ.get("MLP_EXPERIMENT") or "Default",
            "request_id": uuid.uuid4().hex}
    data = c.transport.jobs("submit", spec=body)
    for w in data.pop("warnings", None) or []:
        warnings.warn(f"job {data['id'][:8]}: {w}", UserWarning, stacklevel=3)
    return Job(data)


def get_job(ref: str) -> Job:
    """A job by its id, or the first characters of it (as ``%mlp jobs`` prints them)."""
    t = get_client().transport
    jid = ref if isinstance(ref, str) and len(ref) == 32 else t.jobs("resolve", ref=str(ref))
    return Job(t.jobs("get", job_id=jid))


def jobs(status: str | None = None, limit: int = 50, mine: bool = False) -> pd.DataFrame:
    """Jobs, newest first: id, name, status, resources, times, run and message."""
    import pandas as pd

    rows = get_client().transport.jobs("list", status=status, limit=limit, mine=mine or None)
    cols = ["id", "name", "status", "cpus", "gpus", "memory", "created_at", "started_at",
            "ended_at", "duration", "created_by", "run_id", "message"]
    df = pd.DataFrame(rows, columns=cols)
    for col in ("created_at", "started_at", "ended_at"):
        df[col] = pd.to_datetime(df[col], unit="s", utc=True)
    return df


def cluster() -> ClusterStatus:
    """The Ray cluster jobs run on: nodes, CPUs, GPUs, memory, what is in use."""
    return ClusterStatus(get_client().transport.jobs("cluster"))


class ClusterStatus(dict):
    """The cluster's state (a dict), shown as a short summary."""

    def summary(self) -> str:
        where = "local Ray head" if self.get("embedded") else f"Ray at {self.get('address')}"
        if not self.get("started"):
            return f"{where}: not started ({self.get('note', 'starts with the first job')})"
        if self.get("error"):
            return f"{where}: {self['error']}"
        t, u = self.get("totals") or {}, self.get("in_use") or {}
        nodes = self.get("nodes") or []
        jobs_ = self.get("jobs") or {}
        gpu = f", GPUs {u.get('gpus', 0):g}/{t.get('gpus', 0):g}" if t.get("gpus") else ""
        return (f"{where}: {len(nodes)} node{'s' * (len(nodes) != 1)}, CPUs "
                f"{u.get('cpus', 0):g}/{t.get('cpus', 0):g} in use{gpu}, memory "
                f"{js.human_bytes(u.get('memory', 0))}/{js.human_bytes(t.get('memory', 0))}; "
                f"jobs: {jobs_.get('running', 0)} running, {jobs_.get('pending', 0)} pending")

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{escape(str(n.get('host')))}{' (head)' if n.get('head') else ''}</td>"
            f"<td>{n['cpus']:g}</td><td>{n['gpus']:g}</td>"
            f"<td>{js.human_bytes(n['memory'])}</td></tr>" for n in self.get("nodes") or [])
        table = (f"<table><tr><th>node</th><th>CPUs</th><th>GPUs</th><th>memory</th></tr>"
                 f"{rows}</table>") if rows else ""
        return f"<div class='mlp-cluster'><b>{escape(self.summary())}</b>{table}</div>"


class Job:
    """A job on the cluster. Its state comes from the server (``refresh()``); ``logs()``,
    ``wait()`` and ``cancel()`` act on it; ``run`` is its tracked run."""

    def __init__(self, data: dict) -> None:
        self._data = data

    # -- what it is ----------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._data["id"]

    @property
    def name(self) -> str:
        return self._data["name"]

    @property
    def status(self) -> str:
        return self._data["status"]

    @property
    def message(self) -> str | None:
        return self._data.get("message")

    @property
    def run_id(self) -> str:
        return self._data["run_id"]

    @property
    def done(self) -> bool:
        return self.status in js.FINAL

    @property
    def run(self) -> Run:
        from ._api import get_run

        return get_run(self.run_id)

    @property
    def info(self) -> dict:
        return dict(self._data)

    def refresh(self) -> Job:
        self._data = get_client().transport.jobs("get", job_id=self.id)
        return self

    # -- acting on it --------------------------------------------------------------------
    def cancel(self) -> Job:
        """Stop the job; its run ends ``killed``."""
        self._data = get_client().transport.jobs("cancel", job_id=self.id)
        return self

    def logs(self, follow: bool = False) -> Any:
        """The job's output so far (a string). ``follow=True`` streams it as it comes: in a
        notebook into this cell, without blocking it (returns the stream; ``.stop()`` ends
        it); elsewhere printed until the job ends."""
        if not follow:
            text, offset = [], 0
            while True:
                part = get_client().transport.jobs("logs", job_id=self.id, offset=offset)
                text.append(part["text"])
                if part["offset"] == offset or not part["text"]:
                    break
                offset = part["offset"]
            return "".join(text)
        from ._shell import in_kernel

        stream = LogStream(self)
        if in_kernel():
            stream.start_widget()
        else:
            stream.run(sys.stdout)
        return stream

    def wait(self, timeout: float | None = None, progress: bool = True) -> Job:
        """Block until the job ends (or ``timeout`` seconds), with a progress line."""
        from ._shell import in_kernel

        deadline = None if timeout is None else time.monotonic() + timeout
        handle = None
        if progress and in_kernel():
            from IPython.display import display

            handle = display({"text/plain": self._line()}, raw=True, display_id=True)
        pause = 0.25
        while True:
            self.refresh()
            if progress:
                if handle is not None:
                    handle.update({"text/plain": self._line()}, raw=True)
                else:
                    print("\r" + self._line(), end="" if not self.done else "\n",
                          file=sys.stderr, flush=True)
            if self.done:
                return self
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {self.id[:8]} is still {self.status} after "
                                   f"{timeout:g} s")
            time.sleep(pause)
            pause = min(pause * 1.5, 2.0)

    def _line(self) -> str:
        d = self._data
        since = d.get("started_at") or d.get("created_at")
        end = d.get("ended_at") or time.time()
        took = _clock(end - since) if since else ""
        msg = f" — {d['message']}" if d.get("message") else ""
        return f"job {self.id[:8]} {self.name}: {self.status} {took}{msg}"

    # -- display -------------------------------------------------------------------------
    def __repr__(self) -> str:
        return (f"<Job {self.id[:8]} {self.name!r} {self.status} "
                f"({js.resources_text(self._data.get('cpus') or 0, self._data.get('gpus') or 0, self._data.get('memory'))}) "  # noqa: E501
                f"run {self.run_id[:8]}>")

    def _repr_html_(self) -> str:
        d = self._data
        res = js.resources_text(d.get("cpus") or 0, d.get("gpus") or 0, d.get("memory"))
        created = datetime.fromtimestamp(d["created_at"], timezone.utc).strftime(
            "%Y-%m-%d %H:%M:%S UTC")
        msg = (f"<div class='mlp-job-message'>{escape(d['message'])}</div>"
               if d.get("message") else "")
        return (f"<div class='mlp-job' data-job-id='{d['id']}'><b>job {d['id'][:8]}</b> "
                f"{escape(d['name'])} — <b class='mlp-job-status'>{escape(d['status'])}</b> "
                f"· {escape(res)} · submitted {created} by {escape(d.get('created_by') or '?')}"
                f" · run <code>{d['run_id'][:8]}</code>{msg}</div>")


def _clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class LogStream:
    """A job's output as it comes, polled from the server; in a notebook it writes into an
    Output widget shown in the cell that asked, from a background thread."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.offset = 0
        self._stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.widget: Any = None
        self.error: BaseException | None = None

    def _poll(self, write) -> bool:
        """Write what is new; False once the job ended and everything was written."""
        part = get_client().transport.jobs("logs", job_id=self.job.id, offset=self.offset)
        if part["text"]:
            write(part["text"])
        self.offset = part["offset"]
        if not part["more"]:
            self.job._data = {**self.job._data, "status": part["status"],
                              "message": part.get("message")}
            return False
        return True

    def run(self, out) -> None:
        """Print until the job ends (outside a notebook)."""
        def write(text: str) -> None:
            out.write(text)
            out.flush()
        while not self._stop.is_set() and self._poll(write):
            self._stop.wait(_FOLLOW_EVERY)
        self._end_line(write)

    def _end_line(self, write) -> None:
        if self.job.done:
            msg = f": {self.job.message}" if self.job.message else ""
            write(f"[job {self.job.id[:8]} {self.job.status}{msg}]\n")

    def start_widget(self) -> None:
        import ipywidgets as w
        from IPython.display import display

        self.widget = w.Output(layout=w.Layout(max_height="24em", overflow="auto"))
        self.widget.add_class("mlp-job-logs")
        display(self.widget)

        def write(text: str) -> None:
            self.widget.append_stdout(text)

        def loop() -> None:
            try:
                while not self._stop.is_set() and self._poll(write):
                    self._stop.wait(_FOLLOW_EVERY)
                self._end_line(write)
            except MLPError as e:
                self.error = e
                self.widget.append_stderr(f"[following job {self.job.id[:8]} stopped: {e}]\n")

        self.thread = threading.Thread(target=loop, daemon=True, name="mlp-job-logs")
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        if self.thread is not None:
            self.thread.join(timeout)

    def __repr__(self) -> str:
        return f"<following the output of job {self.job.id[:8]}>"

    def _ipython_display_(self) -> None:
        pass  # the widget is already in the cell: show nothing more


# -- a notebook cell as a job ------------------------------------------------------------

CELL_SCRIPT = "_mlp_job_cell.py"
CELL_INPUTS = "_mlp_job_inputs.pkl"


def free_names(code: str) -> list[str]:
    """Names the code reads but never binds (builtins aside), in order of first use: what a
    cell takes from the notebook. Scoping is approximated the way a reader would: a name bound
    anywhere in the cell (assignment, import, def, class, loop, with, except, comprehension)
    counts as the cell's own."""
    import ast
    import builtins

    try:
        tree = ast.parse(code)
    except SyntaxError as e:
        raise InvalidInput(f"the cell is not valid Python: {e.msg} (line {e.lineno})",
                           field="cell") from None
    bound: set[str] = set()
    reads: list[tuple[int, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                bound.add(node.id)
            else:
                reads.append((node.lineno, node.col_offset, node.id))
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                bound.add((a.asname or a.name).split(".")[0])
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bound.update(node.names)
        elif isinstance(node, ast.MatchAs) and node.name:
            bound.add(node.name)
    used = list(dict.fromkeys(n for _l, _c, n in sorted(reads)))  # in the order read
    return [n for n in used if n not in bound and not hasattr(builtins, n)
            and n not in ("__name__", "__file__")]


def submit_cell(code: str, namespace: Mapping[str, Any], inputs: Sequence[str] = (), *,
                shell: Any = None, cpus: Any = None, gpus: Any = None, memory: Any = None,
                env: Any = None, requirements: Any = None, experiment: str | None = None,
                name: str | None = None, working_dir: str | os.PathLike | None = None,
                excludes: Sequence[str] = ()) -> Job:
    """Run a cell's code as a job (``%%mlp job``) from the notebook's folder. Names it uses
    but does not define must be listed in ``inputs``: they are pickled and sent with it."""
    if shell is not None:  # %magics and !commands cannot run outside the kernel
        py = shell.transform_cell(code)
        if "get_ipython()" in py and "get_ipython()" not in code:
            raise InvalidInput("the cell uses IPython syntax (%magics or !commands), which a "
                               "job cannot run: write plain Python (subprocess for commands)",
                               field="cell")
    free = free_names(code)
    # Modules, and functions and classes imported from one, are imported again in the job.
    imports = {n: line for n in free if n not in inputs
               and (line := _import_line(n, namespace.get(n))) is not None}
    free = [n for n in free if n not in imports]
    unknown = [n for n in inputs if n not in namespace]
    if unknown:
        raise InvalidInput(f"--inputs names {', '.join(unknown)}, not defined in the notebook "
                           "(run the cells that define them first)", field="inputs")
    missing = [n for n in free if n not in inputs]
    if missing:
        have = [n for n in missing if n in namespace]
        lacking = [n for n in missing if n not in namespace]
        parts = []
        if have:
            parts.append(f"{', '.join(have)} (defined in the notebook: pass them with "
                         f"--inputs {','.join(have)})")
        if lacking:
            parts.append(f"{', '.join(lacking)} (defined nowhere: define them in the cell)")
        raise InvalidInput("the cell uses names it does not define: " + "; ".join(parts) +
                           ". A job runs on the cluster, without the notebook's variables",
                           field="inputs")
    extra: dict[str, bytes] = {}
    prelude = ""
    if inputs:
        try:
            import cloudpickle as pickler
        except ImportError:
            import pickle as pickler  # type: ignore[no-redef]
        values = {n: namespace[n] for n in inputs}
        try:
            extra[CELL_INPUTS] = pickler.dumps(values)
        except Exception as e:
            raise InvalidInput(f"the inputs cannot be sent to the job ({type(e).__name__}: "
                               f"{e}): pass data the job can pickle, or have the job read it "
                               "from storage", field="inputs") from None
        prelude = (f"import pickle as _mlp_pickle\nwith open({CELL_INPUTS!r}, 'rb') as _f:\n"
                   f"    globals().update(_mlp_pickle.load(_f))\ndel _f, _mlp_pickle\n")
    prelude = "".join(f"{line}\n" for line in imports.values()) + prelude
    extra[CELL_SCRIPT] = (f"# The cell of a notebook, run as a job by %%mlp job.\n{prelude}"
                          f"{code}\n").encode()
    folder = Path(working_dir) if working_dir is not None else Path.cwd()
    first = next((ln.strip() for ln in code.splitlines() if ln.strip()
                  and not ln.strip().startswith("#")), "cell")
    spec = {"entrypoint": CELL_SCRIPT, "kind": "cell", "name": name or f"cell: {first[:60]}",
            "args": [], "inputs": list(inputs)}
    return _submit(spec, folder, excludes, extra=extra, cpus=cpus, gpus=gpus, memory=memory,
                   env=env, requirements=requirements, experiment=experiment)


def _import_line(name: str, value: Any) -> str | None:
    """``import numpy as np`` for a module, ``from m import f as name`` for a function or
    class importable from its module; None for anything else (data, notebook definitions)."""
    import types

    if isinstance(value, types.ModuleType):
        mod = value.__name__
        return f"import {mod}" if mod == name else f"import {mod} as {name}"
    mod = getattr(value, "__module__", None)
    qual = getattr(value, "__qualname__", None)
    if (isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)) and mod
            and qual and "." not in qual and "<" not in qual and mod != "__main__"
            and not mod.startswith("__")):
        module = sys.modules.get(mod)
        if module is not None and getattr(module, qual, None) is value:
            return f"from {mod} import {qual}" + (f" as {name}" if qual != name else "")
    return None


class JobsView(list):
    """Jobs as ``%mlp jobs`` shows them: a table, newest first."""

    def _repr_html_(self) -> str:
        if not self:
            return "<div class='mlp-jobs'>no jobs yet: mlp.submit('train.py') or %%mlp job</div>"
        rows = []
        for d in self:
            res = js.resources_text(d.get("cpus") or 0, d.get("gpus") or 0, d.get("memory"))
            created = datetime.fromtimestamp(d["created_at"], timezone.utc).strftime(
                "%m-%d %H:%M:%S")
            took = _clock(d["duration"]) if d.get("duration") is not None else ""
            rows.append(
                f"<tr class='mlp-job-row' data-status='{d['status']}'><td><code>{d['id'][:8]}"
                f"</code></td><td>{escape(d['name'])}</td><td>{escape(d['status'])}</td>"
                f"<td>{escape(res)}</td><td>{created}</td><td>{took}</td>"
                f"<td>{escape(d.get('created_by') or '')}</td><td><code>{d['run_id'][:8]}"
                f"</code></td><td>{escape(d.get('message') or '')}</td></tr>")
        return ("<table class='mlp-jobs'><tr><th>job</th><th>name</th><th>status</th>"
                "<th>resources</th><th>submitted (UTC)</th><th>took</th><th>by</th><th>run</th>"
                "<th>message</th></tr>" + "".join(rows) + "</table>")

    def __repr__(self) -> str:
        if not self:
            return "no jobs yet"
        lines = [f"{'job':8}  {'status':10} {'name':30} {'run':8}  message"]
        for d in self:
            lines.append(f"{d['id'][:8]}  {d['status']:10} {d['name'][:30]:30} "
                         f"{d['run_id'][:8]}  {d.get('message') or ''}")
        return "\n".join(lines)
