"""Reproducibility capture: the code, git state, environment and system load of a run.

Every function here runs inside a user's training loop, so none may raise: a
failure yields what was gathered so far plus an ``"error"`` string. Text that
can hold secrets (cells, scripts, diffs, URLs, environment) is redacted before
it is returned. Heavy or optional modules (psutil, pynvml, IPython) are only
imported when a function needs them, to keep ``import mlp`` fast.
"""

from __future__ import annotations

import functools
import getpass
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from ._redact import redact_argv, redact_env, redact_text
from ._shell import ipython_shell, is_kernel_shell, watch_cells

MAX_CODE_BYTES = 2 * 1024 * 1024
MAX_CELLS = 500
MAX_DIFF_BYTES = 1024 * 1024
MAX_UNTRACKED = 100
GIT_TIMEOUT_SECONDS = 5.0
_GIB = 1024**3
# Text is read this far past a size limit and redacted before it is cut, so a
# secret straddling the limit is recognised whole rather than half kept.
_SLACK = 64 * 1024


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _redacted_prefix(data: bytes, limit: int) -> tuple[str, bool]:
    """Redact UTF-8 ``data`` and cut it to ``limit`` bytes; also say whether it was cut.

    ``data`` longer than ``limit + _SLACK`` bytes counts as cut even if the
    redacted text fits, because the rest was never read.
    """
    more = len(data) > limit + _SLACK
    text = redact_text(data[: limit + _SLACK].decode("utf-8", "replace"))
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text, more
    return encoded[:limit].decode("utf-8", "ignore"), True


# --- code ---------------------------------------------------------------------


def capture_code() -> dict[str, Any]:
    """Describe the code that is running: notebook cells, a script, or nothing.

    Returns ``{"type": "notebook" | "ipython", "cells": [...], "path": ...,
    "truncated": bool}`` inside IPython, ``{"type": "script", "path": ...,
    "source": ..., "argv": [...], "truncated": bool}`` for ``python train.py``,
    and ``{"type": "interactive"}`` otherwise. Secrets are redacted.

    >>> capture_code()["type"]  # doctest: +SKIP
    'notebook'
    """
    out: dict[str, Any] = {"type": "interactive"}
    try:
        shell = ipython_shell()
        if shell is not None:
            _capture_cells(shell, out)
            return out
        path = getattr(sys.modules.get("__main__"), "__file__", None)
        if isinstance(path, str) and os.path.isfile(path):
            _capture_script(path, out)
    except Exception as exc:
        out["error"] = _describe(exc)
    return out


def _capture_cells(shell: Any, out: dict[str, Any]) -> None:
    out["type"] = "notebook" if is_kernel_shell(shell) else "ipython"
    session = getattr(shell, "user_ns", {}).get("__session__")
    path = session if isinstance(session, str) and session else os.environ.get("JPY_SESSION_NAME")
    out["path"] = path or None
    out["cells"] = []
    out["truncated"] = False
    # input_hist_raw[n] is the input of execution count n; index 0 is a
    # placeholder. Walk backwards so the budget keeps the most recent cells.
    history = list(shell.history_manager.input_hist_raw)
    cell_ids = watch_cells(shell)
    cells: list[dict[str, Any]] = []
    budget = MAX_CODE_BYTES
    for count in range(len(history) - 1, 0, -1):
        source = history[count]
        if not source or not source.strip():
            continue
        if len(cells) == MAX_CELLS or budget <= 0:
            out["truncated"] = True
            break
        text, cut = _redacted_prefix(source.encode("utf-8"), budget)
        cell: dict[str, Any] = {"execution_count": count, "source": text}
        cell_id = cell_ids.get(count) or (cell_ids.get(0) if count == len(history) - 1 else None)
        if cell_id:
            cell["cell_id"] = cell_id
        cells.append(cell)
        budget -= len(text.encode("utf-8"))
        out["truncated"] = out["truncated"] or cut
    out["cells"] = cells[::-1]


def _capture_script(path: str, out: dict[str, Any]) -> None:
    out.update(type="script", path=os.path.abspath(path), argv=redact_argv(sys.argv))
    with open(path, "rb") as f:
        data = f.read(MAX_CODE_BYTES + _SLACK + 1)
    out["source"], out["truncated"] = _redacted_prefix(data, MAX_CODE_BYTES)


# --- git ----------------------------------------------------------------------


def _stop(proc: subprocess.Popen[bytes]) -> None:
    # Kill the whole group: a hook or helper git started would otherwise keep
    # stdout open and the read below blocked after git itself died.
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        pass  # already gone


def _git(cwd: str, *args: str, limit: int | None = None) -> tuple[int, bytes]:
    """Run git without prompts or optional locks; return (exit code, stdout).

    With ``limit``, at most ``limit + 1`` bytes are read and git is stopped, so
    a huge diff never has to fit in memory. Raises ``subprocess.TimeoutExpired``
    after ``GIT_TIMEOUT_SECONDS``.
    """
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    command = ["git", *args]
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=os.name == "posix",
    )
    timed_out = threading.Event()

    def expire() -> None:
        timed_out.set()
        _stop(proc)

    timer = threading.Timer(GIT_TIMEOUT_SECONDS, expire)
    timer.start()
    stdout = proc.stdout
    try:
        data = b"" if stdout is None else stdout.read(-1 if limit is None else limit + 1)
        if limit is not None and len(data) > limit:
            _stop(proc)
        code = proc.wait()
    finally:
        timer.cancel()
        if stdout is not None:
            stdout.close()
    if timed_out.is_set():
        raise subprocess.TimeoutExpired(command, GIT_TIMEOUT_SECONDS)
    return code, data


def _git_text(cwd: str, *args: str) -> str | None:
    """Stdout of a git command stripped, or None when it fails or prints nothing."""
    code, data = _git(cwd, *args)
    text = data.decode("utf-8", "replace").strip()
    return text if code == 0 and text else None


# What ``git hash-object -t tree /dev/null`` prints, by the length of the
# repository's object names (SHA-1 or SHA-256); a repository without commits is
# diffed against it.
_EMPTY_TREES = {
    40: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
    64: "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
}
_STATUS_ARGS = ("status", "--porcelain=v2", "--branch", "-z", "--untracked-files=normal")


def capture_git(path: str | None = None) -> dict[str, Any] | None:
    """Describe the git state of the work tree holding ``path`` (default: the cwd).

    Returns None outside a work tree or without git, else ``{"commit", "branch",
    "dirty", "diff", "truncated", "untracked", "remote"}``: ``branch`` is None on
    a detached HEAD, ``commit`` is None before the first commit, ``dirty`` means
    tracked files differ from HEAD, ``diff`` is ``git diff HEAD`` (redacted, at
    most 1 MB) and ``remote`` is the origin URL without credentials.

    A clean work tree costs two git processes (status and the remote), a dirty
    one a third for the diff, and a directory with no ``.git`` above it none.

    >>> capture_git()["commit"]  # doctest: +SKIP
    '3f2c...'
    """
    try:
        directory = os.path.abspath(path if path is not None else os.getcwd())
        if not os.path.isdir(directory):
            directory = os.path.dirname(directory)
        if not os.path.isdir(directory) or not _may_be_in_work_tree(directory):
            return None
        # One `git status` answers whether this is a work tree at all (it fails
        # outside one) and gives the commit, branch and changed files.
        code, status = _git(directory, *_STATUS_ARGS)
        if code != 0:
            if _git_text(directory, "rev-parse", "--is-inside-work-tree") != "true":
                return None
            return {**_empty_git_state(), "error": f"git status exited with {code}"}
    except FileNotFoundError:
        return None  # git is not installed
    except Exception as exc:
        return {"error": _describe(exc)}
    out = _empty_git_state()
    try:
        _fill_git(directory, status, out)
    except Exception as exc:
        out["error"] = _describe(exc)
    return out


def _may_be_in_work_tree(directory: str) -> bool:
    """False only when git surely finds no repository from ``directory``.

    That is when neither it nor a parent holds ``.git`` and no GIT_DIR or
    GIT_WORK_TREE points git elsewhere; most runs outside a repository then
    cost no git process at all. Git looks from the physical directory, so
    symbolic links are resolved first.
    """
    if "GIT_DIR" in os.environ or "GIT_WORK_TREE" in os.environ:
        return True
    current = os.path.realpath(directory)
    while True:
        if os.path.lexists(os.path.join(current, ".git")):
            return True
        parent = os.path.dirname(current)
        if parent == current:
            return False
        current = parent


def _empty_git_state() -> dict[str, Any]:
    return {
        "commit": None,
        "branch": None,
        "dirty": False,
        "diff": "",
        "truncated": False,
        "untracked": [],
        "remote": None,
    }


def _parse_status(status: bytes, out: dict[str, Any]) -> tuple[bool, int]:
    """Fill commit, branch and untracked from ``git status --porcelain=v2 --branch -z``.

    Returns whether tracked files changed and the length of the object names
    seen in change entries (0 when there are none).
    """
    tracked_changes = False
    name_length = 0
    untracked: list[str] = []
    entries = status.split(b"\0")
    i = 0
    while i < len(entries):
        entry = entries[i].decode("utf-8", "replace")
        i += 1
        if entry.startswith("# branch.oid "):
            oid = entry[len("# branch.oid ") :]
            out["commit"] = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            head = entry[len("# branch.head ") :]
            out["branch"] = None if head == "(detached)" else head
        elif entry.startswith("? "):
            if len(untracked) < MAX_UNTRACKED:
                untracked.append(entry[2:])
        elif entry[:2] in ("1 ", "2 ", "u "):
            # Ordinary, renamed or copied, and unmerged entries; fields 6 and 7
            # are object names. With -z a rename or copy is followed by its source.
            tracked_changes = True
            fields = entry.split(" ", 8)
            if len(fields) > 7:
                name_length = len(fields[7])
            if entry[0] == "2":
                i += 1
    out["untracked"] = untracked
    return tracked_changes, name_length


def _fill_git(directory: str, status: bytes, out: dict[str, Any]) -> None:
    tracked_changes, name_length = _parse_status(status, out)
    remote = _git_text(directory, "config", "--get", "remote.origin.url")
    out["remote"] = redact_text(remote) if remote else None
    # Before the first commit nothing reproduces the tree, so it is dirty, and
    # the diff is taken against the empty tree.
    out["dirty"] = tracked_changes or out["commit"] is None
    if not tracked_changes:
        return  # `git diff HEAD` would print nothing
    base = (
        out["commit"]
        or _EMPTY_TREES.get(name_length)
        or _git_text(directory, "hash-object", "-t", "tree", os.devnull)
    )
    if base is None:
        return
    _, diff = _git(
        directory, "diff", "--no-color", "--no-ext-diff", base, limit=MAX_DIFF_BYTES + _SLACK
    )
    out["diff"], out["truncated"] = _redacted_prefix(diff, MAX_DIFF_BYTES)


# --- environment ----------------------------------------------------------------


def current_user() -> str | None:
    """The OS user running this process, or None (a uid without a name)."""
    # Containers often run as a uid with no passwd entry; that is not an error.
    try:
        return getpass.getuser()
    except Exception:
        return None


# The package list with the state of sys.path it was read from; see _packages.
_packages_cache: tuple[tuple[Any, ...], dict[str, str]] | None = None


def _normalize(name: str) -> str:
    # PEP 503: lowercase, and each run of -, _ and . becomes one -.
    return re.sub(r"[-_.]+", "-", name).lower()


def _path_state() -> tuple[Any, ...]:
    """What the package list depends on: each sys.path entry and its mtime.

    Installing or removing a distribution adds or removes a ``*.dist-info``
    directory, which changes the mtime of the directory holding it. The cwd is
    included because an empty or relative entry is resolved against it.
    """
    try:
        cwd: str | None = os.getcwd()
    except OSError:
        cwd = None
    state: list[Any] = [cwd]
    for entry in sys.path:
        try:
            mtime: int | None = os.stat(entry or ".").st_mtime_ns
        except (OSError, TypeError, ValueError):
            mtime = None
        state.append((entry, mtime))
    return tuple(state)


def _packages() -> dict[str, str]:
    """Map each installed distribution's normalized name to its version.

    Read once per process and again only when sys.path or the mtime of one of
    its entries changes, since start_run calls this for every run.
    """
    global _packages_cache
    state = _path_state()
    cached = _packages_cache
    if cached is None or cached[0] != state:
        cached = (state, _scan_packages())
        _packages_cache = cached
    return dict(cached[1])


def _scan_packages() -> dict[str, str]:
    found: dict[str, str] = {}
    for entry in list(sys.path):
        if isinstance(entry, os.PathLike):
            entry = os.fspath(entry)
        if isinstance(entry, str):
            _scan_path_entry(entry, found)
    return dict(sorted(found.items()))


def _scan_path_entry(entry: str, found: dict[str, str]) -> None:
    """Add the distributions in one sys.path entry that are not in ``found`` yet.

    The first distribution on sys.path is the one imports resolve to. Names and
    versions come from ``name-version.dist-info`` directory names, which is
    ~100x faster than parsing each METADATA file as importlib.metadata does; it
    is used only where the name does not say (a versionless ``name.egg-info``
    of a ``setup.py develop`` checkout, a zip or ``.egg`` on sys.path).
    """
    root = entry or "."
    if not os.path.isdir(root) or root.endswith(".egg"):
        if os.path.exists(root):
            _add_from_metadata(found, entry)
        return
    try:
        names = os.listdir(root)
    except OSError:
        return
    for child in names:
        lowered = child.lower()
        if lowered.endswith(".dist-info"):
            stem = child[: -len(".dist-info")]
        elif lowered.endswith(".egg-info"):
            # name-version-py3.11.egg-info: the version ends at the next -.
            stem = "-".join(child[: -len(".egg-info")].split("-", 2)[:2])
        else:
            continue
        # Both formats escape a - inside the name or version as _, so the first
        # - separates the two.
        name, _, version = stem.partition("-")
        if name and version:
            found.setdefault(_normalize(name), version)
        else:
            _add_from_metadata(found, entry, os.path.join(root, child))


def _add_from_metadata(found: dict[str, str], entry: str, dist_dir: str | None = None) -> None:
    """Add the distribution in ``dist_dir``, or else all in sys.path entry ``entry``."""
    # importlib.metadata pulls in email and zipfile: 50 ms that `import mlp` skips.
    import importlib.metadata
    import pathlib

    try:
        dists: Iterable[importlib.metadata.Distribution]
        if dist_dir is not None:
            dists = [importlib.metadata.PathDistribution(pathlib.Path(dist_dir))]
        else:
            dists = importlib.metadata.distributions(path=[entry])
        for d in dists:
            meta = d.metadata
            name, version = meta["Name"], meta["Version"]
            if name and version:
                found.setdefault(_normalize(name), version)
    except Exception:
        return  # one unreadable entry must not lose the packages found elsewhere


def capture_environment() -> dict[str, Any]:
    """Describe the interpreter, host, installed packages and (redacted) environment.

    >>> capture_environment()["packages"]["pytest"]  # doctest: +SKIP
    '8.3.2'
    """
    fields: dict[str, Callable[[], Any]] = {
        "python": lambda: sys.version.split()[0],
        "implementation": platform.python_implementation,
        "executable": lambda: sys.executable,
        "platform": platform.platform,
        "hostname": socket.gethostname,
        "user": current_user,
        "pid": os.getpid,
        "cwd": os.getcwd,
        "packages": _packages,
        "env": lambda: redact_env(os.environ),
    }
    out: dict[str, Any] = {}
    errors: list[str] = []
    # Each field on its own, so one failure (a deleted cwd, a broken package)
    # does not lose the rest.
    for key, get in fields.items():
        try:
            out[key] = get()
        except Exception as exc:
            out[key] = None
            errors.append(f"{key}: {_describe(exc)}")
    if errors:
        out["error"] = "; ".join(errors)
    return out


# --- system metrics -------------------------------------------------------------


class SystemSampler:
    """Samples CPU, memory, disk and GPU load as ``system/...`` metrics.

    Construction is cheap; GPUs are looked up on the first :meth:`sample`.

    >>> sampler = SystemSampler()
    >>> sorted(sampler.sample())[:2]  # doctest: +SKIP
    ['system/cpu_percent', 'system/disk_used_percent']
    """

    def __init__(self, disk_path: str | None = None) -> None:
        self.last_error: str | None = None
        self._gpus: list[Any] | None = None
        self._nvml: Any = None
        try:
            self._disk_path = disk_path or os.getcwd()
        except OSError:
            self._disk_path = os.sep
        try:
            import psutil

            self._psutil: Any = psutil
            self._process: Any = psutil.Process()
            # cpu_percent(interval=None) measures since the previous call; the
            # first call only primes it, so make it here rather than in sample().
            psutil.cpu_percent(interval=None)
        except Exception as exc:
            self._psutil = None
            self.last_error = _describe(exc)

    def sample(self) -> dict[str, float]:
        """Return the system metrics for this moment; metrics that fail are left out.

        The reason for the last failure, if any, is kept in ``last_error``.
        """
        metrics: dict[str, float] = {}
        if self._psutil is not None:
            for read in (self._cpu_and_memory, self._process_rss, self._disk):
                self._guarded(read, metrics)
        self._guarded(self._gpu, metrics)
        return metrics

    def _guarded(self, read: Callable[[dict[str, float]], None], metrics: dict[str, float]) -> None:
        try:
            read(metrics)
        except Exception as exc:
            self.last_error = _describe(exc)

    def _cpu_and_memory(self, metrics: dict[str, float]) -> None:
        memory = self._psutil.virtual_memory()
        metrics["system/cpu_percent"] = float(self._psutil.cpu_percent(interval=None))
        metrics["system/memory_used_gb"] = memory.used / _GIB
        metrics["system/memory_percent"] = float(memory.percent)

    def _process_rss(self, metrics: dict[str, float]) -> None:
        # DataLoader workers and other children hold much of a training job's memory.
        rss = self._process.memory_info().rss
        for child in self._process.children(recursive=True):
            try:
                rss += child.memory_info().rss
            except (self._psutil.NoSuchProcess, self._psutil.AccessDenied):
                continue
        metrics["system/process_rss_gb"] = rss / _GIB

    def _disk(self, metrics: dict[str, float]) -> None:
        usage = self._psutil.disk_usage(self._disk_path)
        metrics["system/disk_used_percent"] = float(usage.percent)

    def _gpu(self, metrics: dict[str, float]) -> None:
        if self._gpus is None:
            self._gpus = self._find_gpus()
        for i, handle in enumerate(self._gpus):
            # One failing device (fallen off the bus, say) must not hide the others.
            self._guarded(functools.partial(self._one_gpu, i, handle), metrics)

    def _one_gpu(self, i: int, handle: Any, metrics: dict[str, float]) -> None:
        util = self._nvml.nvmlDeviceGetUtilizationRates(handle)
        memory = self._nvml.nvmlDeviceGetMemoryInfo(handle)
        metrics[f"system/gpu{i}/utilization_percent"] = float(util.gpu)
        metrics[f"system/gpu{i}/memory_used_gb"] = memory.used / _GIB
        metrics[f"system/gpu{i}/memory_percent"] = 100.0 * memory.used / memory.total

    def _find_gpus(self) -> list[Any]:
        # No pynvml or no NVIDIA driver is the normal case on CPU machines: silent.
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            return [
                pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())
            ]
        except Exception:
            return []
