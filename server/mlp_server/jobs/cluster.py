"""The Ray cluster jobs run on: an existing one (its dashboard address), or in embedded mode a
local head this server starts on the first job, as its own child process (own ports, own temp
dir, explicit auth mode), and stops by PID. Never ``ray stop`` (it kills every Ray process on
the machine) and never ``ray.init()`` here: the server talks to Ray only over the Jobs API and
the dashboard's HTTP API."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from typing import Any

from mlp.errors import ClusterUnavailable, InvalidInput

log = logging.getLogger("mlp_server.jobs")

#: The ports a head listens on; each gets a free one so heads of other sessions never clash.
_PORTS = ("port", "dashboard-port", "ray-client-server-port", "node-manager-port",
          "object-manager-port", "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
          "runtime-env-agent-port", "metrics-export-port")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dashboard_url(address: str) -> str:
    """The Jobs API's URL from what users write in RAY_ADDRESS: ``http(s)://host:8265``, or
    ``host:port`` (taken as http)."""
    address = address.strip().rstrip("/")
    if address.startswith(("ray://", "auto")) or address == "local":
        raise InvalidInput(
            f"RAY_ADDRESS={address!r}: jobs are submitted through the cluster's dashboard, so "
            "give its HTTP address, e.g. http://ray-head:8265", field="ray_address")
    return address if "://" in address else f"http://{address}"


class Cluster:
    """A connection to the cluster: the Jobs API client and the dashboard's node view."""

    def __init__(self, address: str = "", *, temp_root: str | None = None, cpus: int = 0,
                 object_store_memory: int = 200 * 2**20, start_timeout: float = 120.0,
                 auth_mode: str = "", node_types: list[dict] | None = None) -> None:
        self.embedded = not address
        #: What an autoscaling cluster can add (the dashboard does not say): from config.
        self.node_types = [_node_type(t) for t in node_types or []]
        self.url = "" if self.embedded else dashboard_url(address)
        self.temp_root = temp_root
        self.cpus = cpus or os.cpu_count() or 1
        self.object_store_memory = object_store_memory
        self.start_timeout = start_timeout
        self.auth_mode = auth_mode
        self.proc: subprocess.Popen | None = None
        self.temp_dir: str | None = None
        self._client: Any = None
        self._lock = threading.Lock()
        self._failed: str | None = None

    # -- connection ----------------------------------------------------------------------

    @property
    def started(self) -> bool:
        return not self.embedded or (self.proc is not None and self.proc.poll() is None)

    def client(self) -> Any:
        """The Jobs API client; in embedded mode the local head starts here, on first use."""
        with self._lock:
            if self.embedded and (self.proc is None or self.proc.poll() is not None):
                self._client = None
                try:
                    self._start_head()
                except ClusterUnavailable as e:
                    # Ports are picked free, then bound by Ray a moment later: another
                    # process may take one in between. Once more, with new ones.
                    log.warning("jupyter-mlp: the local Ray head did not start (%s); "
                                "trying again", str(e).splitlines()[0])
                    self._start_head()
            if self._client is None:
                self._client = self._connect(self.url)
            return self._client

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.auth_mode:
            env["RAY_AUTH_MODE"] = self.auth_mode
        return env

    def _connect(self, url: str) -> Any:
        try:
            from ray.job_submission import JobSubmissionClient
        except ImportError:
            raise ClusterUnavailable("jobs need Ray: pip install 'jupyter-mlp[jobs]'") from None
        # Ray reads its auth mode from the environment once per process: set for good. The
        # local head runs without auth; left unset, a ~/.ray/auth_token would turn it on here.
        if self.auth_mode and not self.embedded:
            os.environ["RAY_AUTH_MODE"] = self.auth_mode
        elif self.embedded:
            os.environ.setdefault("RAY_AUTH_MODE", self.auth_mode or "disabled")
        try:
            return JobSubmissionClient(url)
        except Exception as e:
            raise ClusterUnavailable(f"cannot reach the Ray cluster at {url}: "
                                     f"{_auth_hint(str(e))}") from None

    def _start_head(self) -> None:
        ray = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
        if ray is None:
            raise ClusterUnavailable("jobs need Ray: pip install 'jupyter-mlp[jobs]'")
        if self.temp_dir is None:
            # Ray's sockets live in here: a short path (a unix socket path has ~100 bytes).
            self.temp_dir = tempfile.mkdtemp(prefix="mlp-ray-", dir=self.temp_root or "/tmp")
        ports = {k: _free_port() for k in _PORTS}
        args = [ray, "start", "--head", "--block", "--node-ip-address=127.0.0.1",
                "--dashboard-host=127.0.0.1", "--include-dashboard=true",
                "--disable-usage-stats", f"--temp-dir={self.temp_dir}",
                f"--num-cpus={self.cpus}", f"--object-store-memory={self.object_store_memory}",
                *(f"--{k}={v}" for k, v in ports.items())]
        env = self._env()
        # Jobs get their own run-scoped token; the head must not hand them this server's.
        for name in ("MLP_TOKEN", "MLP_SHARED_SERVER_TOKEN", "JUPYTERHUB_API_TOKEN",
                     "JPY_API_TOKEN", "RAY_ADDRESS"):
            env.pop(name, None)
        env.setdefault("RAY_AUTH_MODE", "disabled")  # loopback only: no token to hand out
        env["RAY_USAGE_STATS_ENABLED"] = "0"
        # Jobs run `python`: this server's interpreter, with jupyter-mlp installed.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        self.auth_mode = env["RAY_AUTH_MODE"]
        out = open(os.path.join(self.temp_dir, "head.log"), "ab")  # noqa: SIM115
        t0 = time.time()
        log.info("jupyter-mlp: starting a local Ray head (temp dir %s)", self.temp_dir)
        self.proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=_own_group)
        out.close()
        url = f"http://127.0.0.1:{ports['dashboard-port']}"
        while True:
            if self.proc.poll() is not None:
                tail = self._head_log()[-2000:]
                self.proc = None
                raise ClusterUnavailable(f"the local Ray head did not start:\n{tail}")
            if _get(url + "/api/version", 1.0, self._headers()) is not None and \
                    self._jobs_ready(url):
                break
            if time.time() - t0 > self.start_timeout:
                self.stop()
                raise ClusterUnavailable(f"the local Ray head did not start within "
                                         f"{self.start_timeout:.0f} s (log: {self.temp_dir})")
            time.sleep(0.25)
        self.url = url
        log.info("jupyter-mlp: local Ray head up in %.1f s at %s", time.time() - t0, url)

    def _jobs_ready(self, url: str) -> bool:
        """The head answers, and its node (with the job agent) has registered."""
        nodes = _get(url + "/api/v0/nodes?detail=1&limit=10", 2.0, self._headers())
        rows = ((nodes or {}).get("data") or {}).get("result", {}).get("result") or []
        return any(r.get("state") == "ALIVE" for r in rows)

    def _headers(self) -> dict:
        """Ray's token header for a cluster with token auth (RAY_AUTH_MODE=token, the token
        in RAY_AUTH_TOKEN or ~/.ray/auth_token), as its own Jobs client sends it."""
        if self.auth_mode == "disabled" or (self.embedded and self.auth_mode != "token"):
            return {}
        token = os.environ.get("RAY_AUTH_TOKEN", "").strip()
        if token:
            return {"Authorization": f"Bearer {token}"}
        try:
            from ray._private.authentication.http_token_authentication import (
                get_auth_headers_if_auth_enabled,
            )

            return dict(get_auth_headers_if_auth_enabled({}))
        except Exception:  # an older Ray, or no auth: the dashboard says 401 if it wants one
            return {}

    def _head_log(self) -> str:
        try:
            with open(os.path.join(self.temp_dir or "", "head.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop the local head this server started (by its process group, never `ray stop`)."""
        with self._lock:
            proc, self.proc, self._client = self.proc, None, None
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.time() + wait
            while time.time() < deadline and _group_alive(proc.pid):
                proc.poll()
                time.sleep(0.1)
            if not _group_alive(proc.pid):
                break
        proc.poll()
        if self.temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = None

    # -- what the cluster has ------------------------------------------------------------

    def nodes(self) -> list[dict]:
        """Alive nodes with their resources: cpus, gpus, memory (bytes)."""
        if not self.started:
            return []
        why: list[str] = []
        data = _get(self.url + "/api/v0/nodes?detail=1&limit=1000", 5.0, self._headers(), why)
        if data is None:
            raise ClusterUnavailable(f"cannot read the nodes of the Ray cluster at {self.url}: "
                                     f"{_auth_hint(why[0] if why else 'no answer')}")
        rows = (data.get("data") or {}).get("result", {}).get("result") or []
        out = []
        for r in rows:
            if r.get("state") != "ALIVE":
                continue
            res = r.get("resources_total") or {}
            out.append({"node_id": r.get("node_id"), "host": r.get("node_name") or
                        r.get("node_ip"), "head": bool(r.get("is_head_node")),
                        "cpus": float(res.get("CPU", 0)), "gpus": float(res.get("GPU", 0)),
                        "memory": int(res.get("memory", 0)),
                        "resources": {k: v for k, v in res.items()
                                      if k not in ("CPU", "GPU", "memory",
                                                   "object_store_memory")
                                      and not k.startswith("node:")}})
        return out

    def usage(self) -> dict:
        """Resources in use over the cluster, and whether it autoscales (and to what)."""
        if not self.started:
            return {"in_use": {}, "autoscaling": False, "node_types": []}
        data = _get(self.url + "/api/cluster_status", 5.0, self._headers()) or {}
        d = data.get("data") or {}
        report = ((d.get("clusterStatus") or {}).get("loadMetricsReport") or {})
        usage = report.get("usage") or {}
        in_use = {"cpus": float(usage.get("CPU", [0, 0])[0]),
                  "gpus": float(usage.get("GPU", [0, 0])[0]),
                  "memory": int(usage.get("memory", [0, 0])[0])}
        # A fixed cluster's autoscaler lists no worker node types after this heading.
        text = d.get("autoscalingStatus") or ""
        listed = text.split("Worker node types:", 1)[1].strip() if isinstance(text, str) and \
            "Worker node types:" in text else ""
        return {"in_use": in_use, "autoscaling": bool(listed or self.node_types),
                "node_types": self.node_types}

    def status(self) -> dict:
        """What `%mlp status` shows: where the cluster is, its nodes, totals and use."""
        base = {"address": self.url or None, "embedded": self.embedded,
                "started": self.started}
        if not self.started:
            return {**base, "nodes": [], "totals": {}, "in_use": {},
                    "note": "a local Ray head starts with the first job"}
        try:
            nodes = self.nodes()
            use = self.usage()
        except ClusterUnavailable as e:
            return {**base, "nodes": [], "totals": {}, "in_use": {}, "error": str(e)}
        totals = {"cpus": sum(n["cpus"] for n in nodes), "gpus": sum(n["gpus"] for n in nodes),
                  "memory": sum(n["memory"] for n in nodes)}
        return {**base, "nodes": nodes, "totals": totals, "in_use": use["in_use"],
                "autoscaling": use["autoscaling"]}

    def log_path(self, submission_id: str) -> str | None:
        """The driver log of a job on the embedded head (read directly, with offsets)."""
        if not self.embedded or not self.temp_dir:
            return None
        return os.path.join(self.temp_dir, "session_latest", "logs",
                            f"job-driver-{submission_id}.log")


def _node_type(t: Any) -> dict:
    from mlp._jobspec import parse_memory

    if not isinstance(t, dict) or not t.get("name"):
        raise InvalidInput(f"a node type must be {{'name': ..., 'cpus': ..., 'gpus': ..., "
                           f"'memory': '64GiB'}}, got {t!r}", field="node_types")
    return {"name": str(t["name"]), "cpus": float(t.get("cpus") or 0),
            "gpus": float(t.get("gpus") or 0),
            "memory": parse_memory(t.get("memory"), "node_types.memory") or 0}


def _auth_hint(msg: str) -> str:
    """Ray's error, with what to do when it is about its token auth."""
    first = msg.strip().splitlines()[0] if msg.strip() else msg
    if "401" in msg or "Authentication required" in msg or "no authentication token" in msg:
        return (f"{first} — the cluster uses Ray's token auth: start this server with "
                "RAY_AUTH_MODE=token and the cluster's token in RAY_AUTH_TOKEN (or "
                "~/.ray/auth_token)")
    if "403" in msg or "token is invalid" in msg:
        return f"{first} — the cluster refused this server's Ray token (RAY_AUTH_TOKEN)"
    return first


def _own_group() -> None:
    """In the head's child, before exec: its own process group (so it is stopped as one, by
    PID), and on Linux a SIGTERM when this server's thread that started it dies, so a server
    killed without a chance to stop it leaves no head behind."""
    os.setsid()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except Exception:  # noqa: S110 - best effort; the server stops the head itself too
            pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie leader still counts as the group: reap it.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pgid, os.WNOHANG)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _get(url: str, timeout: float, headers: dict | None = None,
         why: list[str] | None = None) -> dict | None:
    """JSON from the dashboard, or None (``why`` gets the reason)."""
    try:
        req = urllib.request.Request(url, headers=headers or {})
        with urllib.request.urlopen(req, timeout=timeout) as r:  # noqa: S310 - the cluster's
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        if why is not None:
            body = e.read()[:300].decode("utf-8", "replace") if e.fp else ""
            why.append(f"HTTP {e.code} {e.reason} {body}".strip())
        return None
    except (urllib.error.URLError, OSError, ValueError) as e:
        if why is not None:
            why.append(str(e))
        return None
