"""Jobs on Ray (no tornado, no Jupyter): submission through the Ray Jobs API with this store as
the record, a tracked run and a run-scoped token per job, preflight against the cluster,
status and logs, cancellation.

A job's code travels as a *package*: the SDK zips the folder it runs from (or a cell's code),
uploads it once (by content), and the server hands the unpacked folder to Ray as the job's
working directory, so the same path works for an embedded server and a team's.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import shlex
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from mlp import _jobspec as js
from mlp.errors import AccessDenied, InvalidInput, MLPError, NotFound

from ..store.schema import jobs
from .cluster import Cluster, ClusterUnavailable, _auth_hint

_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_ENTRY = re.compile(r"^[^\x00]{1,1024}$")
_TOKEN_PREFIX = "mlpjob_"
#: Ray's job states, and ours.
_FROM_RAY = {"PENDING": "pending", "RUNNING": "running", "SUCCEEDED": "succeeded",
             "FAILED": "failed", "STOPPED": "stopped"}
_RUN_STATUS = {"succeeded": "finished", "failed": "failed", "stopped": "killed"}
LOG_ARTIFACT = "job/output.log"
_TAG_PEAK, _TAG_OOM = "mlp.job.peak_memory", "mlp.job.oom"  # set by mlp._jobrun
_LOG_CHUNK = 1 << 20
_ACTIVE = ("submitting", "pending", "running")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class JobService:
    """Submit, follow and stop jobs; the cluster connection is the service's own."""

    def __init__(self, tracking: Any, cluster: Cluster, *, home: str,
                 server_url: Callable[[], str | None] = lambda: None,
                 max_package: int = 100 * 2**20, memory_policy: str = "stop",
                 clock: Callable[[], float] = time.time) -> None:
        if memory_policy not in ("stop", "warn"):
            raise InvalidInput(f"memory_policy must be 'stop' or 'warn', got {memory_policy!r}",
                               field="memory_policy")
        self.memory_policy = memory_policy
        self.tracking = tracking
        self.store = tracking.store
        self.cluster = cluster
        self.packages = os.path.join(home, "jobs", "packages")
        self.server_url = server_url
        self.max_package = max_package
        self.clock = clock
        self._lock = threading.Lock()
        self._finishing: set[str] = set()
        self._submitting: set[str] = set()
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="mlp-jobs")
        #: token hash -> (job id, run id, user), for the jobs this server started.
        self._tokens: dict[str, tuple[str, str, str | None]] = {}

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.cluster.stop()

    # -- packages --------------------------------------------------------------------------

    def put_package(self, data: bytes) -> dict:
        """Store a zipped working folder by content; unpacked once, next to it."""
        if len(data) > self.max_package:
            raise InvalidInput(f"the job's files are {js.human_bytes(len(data))} zipped, over "
                               f"this server's limit of {js.human_bytes(self.max_package)}: "
                               "leave data out of the folder (read it from storage in the job)",
                               field="package")
        digest = hashlib.sha256(data).hexdigest()
        folder = os.path.join(self.packages, digest)
        if not os.path.isdir(folder):
            try:
                zf = zipfile.ZipFile(io.BytesIO(data))
                names = zf.namelist()
            except zipfile.BadZipFile:
                raise InvalidInput("the job's package is not a zip file", field="package") from None
            for n in names:
                if n.startswith("/") or ".." in n.split("/"):
                    raise InvalidInput(f"the job's package holds a path outside its folder: {n!r}",
                                       field="package")
            os.makedirs(self.packages, exist_ok=True)
            tmp = tempfile.mkdtemp(dir=self.packages, prefix=".unpack-")
            try:
                zf.extractall(tmp)
                os.replace(tmp, folder)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
                if not os.path.isdir(folder):  # not a concurrent upload of the same files
                    raise
        return {"digest": digest, "size": len(data)}

    # -- submission ------------------------------------------------------------------------

    def submit(self, *, user: str | None, entrypoint: str, package: str | None = None,
               kind: str = "script", name: str | None = None, args: list | None = None,
               cpus: Any = None, gpus: Any = None, memory: Any = None, env: Any = None,
               requirements: Any = None, experiment: str | None = None,
               request_id: str | None = None, inputs: list | None = None) -> dict:
        """Submit a job: its run first, then Ray. ``entrypoint`` is a script of the package
        (``train.py``, ``run.sh``) run with ``args``. A ``request_id`` seen before returns that
        job: a retried submission never starts a second one."""
        if request_id is not None and (not isinstance(request_id, str) or
                                       not _REQUEST_ID.match(request_id)):
            raise InvalidInput(f"request_id {request_id!r} must be 1-64 letters, digits or "
                               "_.:-", field="request_id")
        if request_id is not None:
            found = self._by_request(request_id)
            if found is not None:
                return found
        if kind not in ("script", "cell"):
            raise InvalidInput(f"kind must be 'script' or 'cell', got {kind!r}", field="kind")
        if not isinstance(entrypoint, str) or not _ENTRY.match(entrypoint):
            raise InvalidInput(f"the script to run must be a path, got {entrypoint!r}",
                               field="entrypoint")
        args = js.check_strings(args, "args")
        cpus_n = js.check_count(cpus, "cpus", 1.0)
        gpus_n = js.check_count(gpus, "gpus", 0.0)
        mem = js.parse_memory(memory)
        env_v = js.check_env(env)
        reqs = js.check_strings(requirements, "requirements")
        folder = self._package_dir(package)
        script = entrypoint.replace("\\", "/")
        if script.startswith("/") or ".." in script.split("/"):
            raise InvalidInput(f"the script {entrypoint!r} must be inside the job's folder "
                               "(a relative path)", field="entrypoint")
        if folder is not None and not os.path.isfile(os.path.join(folder, script)):
            raise InvalidInput(f"{entrypoint!r} is not in the job's folder: give its path "
                               "relative to the folder the job runs from", field="entrypoint")
        # Under the watchdog, which samples the job's processes and enforces its memory.
        watch = ["python", "-u", "-m", "mlp._jobrun", "--memory", str(mem or 0), "--policy",
                 self.memory_policy, "--"]
        if script.endswith(".py"):
            command = [*watch, "python", "-u", script, *args]
        elif script.endswith(".sh"):
            command = [*watch, "bash", script, *args]
        else:
            raise InvalidInput(f"{entrypoint!r}: a job runs a Python (.py) or shell (.sh) "
                               "script", field="entrypoint")
        warnings = self.preflight(cpus_n, gpus_n, mem)

        job_id = uuid.uuid4().hex
        run_id = uuid.uuid4().hex
        token = f"{_TOKEN_PREFIX}{job_id}_{secrets.token_urlsafe(24)}"
        now = self.clock()
        spec = {"args": args, "cpus": cpus_n, "gpus": gpus_n, "memory": mem,
                "env": sorted(env_v), "requirements": reqs, "package": package,
                "script": script, "inputs": list(inputs or []),
                "experiment": experiment or "Default"}
        row = {"id": job_id, "request_id": request_id, "run_id": run_id, "kind": kind,
               "name": (name or script)[:255], "entrypoint": shlex.join(command),
               "spec": json.dumps(spec), "status": "submitting", "message": None,
               "cluster": self.cluster.url or "local", "created_at": now, "created_by": user,
               "token_hash": token_hash(token)}
        try:
            with self.store.write() as conn:
                conn.execute(insert(jobs).values(**row))
        except IntegrityError:
            found = self._by_request(request_id) if request_id else None
            if found is not None:
                return found
            raise
        self.tracking.create_run(
            experiment or "Default", None, run_id=run_id, user=user, host="ray",
            source_type="job", source_name=row["name"],
            tags={"mlp.job": job_id, "mlp.job.kind": kind},
            params={"job.args": shlex.join(args)} if args else None)
        self._tokens[row["token_hash"]] = (job_id, run_id, user)
        url = self.server_url()
        job_env = {**env_v, "MLP_RUN_ID": run_id, "MLP_JOB_ID": job_id, "MLP_TOKEN": token,
                   "PYTHONUNBUFFERED": "1", "MLP_EXPERIMENT": experiment or "Default",
                   # Its own spool: points another job left on the node were logged with
                   # that job's token, which this one cannot use (and which has expired).
                   "MLP_SPOOL_DIR": os.path.join(tempfile.gettempdir(), "mlp-jobs", job_id)}
        if url:
            job_env["MLP_SERVER_URL"] = url
        runtime_env: dict[str, Any] = {"env_vars": job_env}
        if folder is not None:
            runtime_env["working_dir"] = folder
        if reqs:
            runtime_env["pip"] = reqs
        ray_args = {"entrypoint": row["entrypoint"], "submission_id": job_id,
                    "runtime_env": runtime_env,
                    "metadata": {"mlp_run_id": run_id, "mlp_user": user or ""},
                    "entrypoint_num_cpus": cpus_n, "entrypoint_num_gpus": gpus_n or None,
                    "entrypoint_memory": mem}
        if self.cluster.started:
            self._to_ray(ray_args, raise_errors=True)
        else:
            # The local head starts with the first job (15-30 s): the submission goes on in
            # the background, so the notebook gets its job at once and can follow it.
            with self.store.write() as conn:
                conn.execute(update(jobs).where(jobs.c.id == job_id).values(
                    message="starting the local Ray cluster (the first job starts it)"))
            with self._lock:
                self._submitting.add(job_id)
            self._pool.submit(self._to_ray, ray_args, False)
        return {**self.get(job_id), "warnings": warnings}

    def _to_ray(self, ray_args: dict, raise_errors: bool) -> None:
        job_id = ray_args["submission_id"]
        try:
            client = self.cluster.client()
            if self._row(job_id).status != "submitting":
                return  # cancelled while the cluster started
            client.submit_job(**ray_args)
        except Exception as e:
            msg = str(e)
            if "already exists" not in msg:  # a retry of ours after Ray took it: fine
                reason = f"the cluster refused the job: {_short(_auth_hint(msg))}"
                self._finish(job_id, "failed", reason, ended_at=self.clock())
                if not raise_errors:
                    return
                if isinstance(e, MLPError):
                    raise
                raise ClusterUnavailable(reason) from None
        finally:
            with self._lock:
                self._submitting.discard(job_id)
        with self.store.write() as conn:
            conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status == "submitting")
                         .values(status="pending", message=None,
                                 cluster=self.cluster.url or "local"))

    def _package_dir(self, package: str | None) -> str | None:
        if package is None:
            return None
        if not isinstance(package, str) or not _DIGEST.match(package):
            raise InvalidInput(f"package {package!r} must be the digest the upload returned",
                               field="package")
        folder = os.path.join(self.packages, package)
        if not os.path.isdir(folder):
            raise NotFound(f"no job package {package[:12]}: upload the job's files first",
                           field="package")
        return folder

    def preflight(self, cpus: float, gpus: float, memory: int | None) -> list[str]:
        """Refuse a request no node of a fixed cluster can satisfy, saying what the largest
        node offers; on an autoscaling cluster, check the node types it can add (a warning).
        An embedded head not started yet is judged by what it will have."""
        if self.cluster.embedded and not self.cluster.started:
            nodes = [{"cpus": float(self.cluster.cpus), "gpus": 0.0,
                      "memory": _local_memory()}]
            auto: dict = {"autoscaling": False, "node_types": []}
        else:
            nodes = self.cluster.nodes()
            auto = self.cluster.usage()
        def fits(n: dict) -> bool:
            return (n["cpus"] >= cpus and n["gpus"] >= gpus and
                    (memory is None or not n["memory"] or n["memory"] >= memory))
        if any(fits(n) for n in nodes):
            return []
        asked = js.resources_text(cpus, gpus, memory)
        if auto.get("autoscaling"):
            types = auto.get("node_types") or []
            if types and not any(fits(t) for t in types):
                return [f"no node type this cluster can add offers {asked}: the job may "
                        "wait forever"]
            return [f"no node has {asked} now; the cluster may add one"]
        if not nodes:
            raise ClusterUnavailable("the Ray cluster has no live node to run jobs on")
        big = max(nodes, key=lambda n: (n["cpus"], n["gpus"], n["memory"]))
        offer = js.resources_text(big["cpus"], big["gpus"], big["memory"] or None)
        fixes = []
        if cpus > big["cpus"]:
            fixes.append(f"cpus={js._num(big['cpus'])}")
        if gpus > big["gpus"]:
            fixes.append("gpus=0" if not big["gpus"] else f"gpus={js._num(big['gpus'])}")
        if memory and big["memory"] and memory > big["memory"]:
            fixes.append(f"memory='{js.human_bytes(big['memory'])}'".replace(" ", ""))
        raise InvalidInput(f"no node of the cluster can run this job: it asks for {asked}; "
                           f"the largest node offers {offer}. Ask for at most "
                           f"{', '.join(fixes)} (or run on a bigger cluster)", field="resources")

    # -- reading ---------------------------------------------------------------------------

    def _by_request(self, request_id: str) -> dict | None:
        with self.store.read() as conn:
            jid = conn.execute(select(jobs.c.id).where(jobs.c.request_id == request_id)).scalar()
        return None if jid is None else self.get(jid)

    def _row(self, job_id: str) -> Any:
        if not isinstance(job_id, str) or not _JOB_ID.match(job_id):
            raise InvalidInput(f"job id {job_id!r} must be 32 hex digits", field="job_id")
        with self.store.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound(f"no job has id {job_id!r}", field="job_id")
        return row

    def resolve(self, ref: str) -> str:
        """A job id from its id or a unique prefix of it (as printed: 8 characters)."""
        if not isinstance(ref, str) or not re.match(r"^[0-9a-f]{4,32}$", ref):
            raise InvalidInput(f"{ref!r} is not a job id (hex digits, at least 4)",
                               field="job_id")
        if len(ref) == 32:
            return ref
        with self.store.read() as conn:
            ids = conn.execute(select(jobs.c.id).where(jobs.c.id.like(ref + "%")).limit(2)
                               ).scalars().all()
        if not ids:
            raise NotFound(f"no job id starts with {ref!r}", field="job_id")
        if len(ids) > 1:
            raise InvalidInput(f"more than one job id starts with {ref!r}: give more of it",
                               field="job_id")
        return ids[0]

    def get(self, job_id: str, refresh: bool = True) -> dict:
        row = self._row(job_id)
        if refresh and row.status not in js.FINAL:
            self._refresh(row)
            row = self._row(job_id)
        return _job_dict(row)

    def list(self, *, limit: int = 100, status: str | None = None,
             user: str | None = None) -> list[dict]:
        if status is not None and status not in js.STATES:
            raise InvalidInput(f"status must be one of {', '.join(js.STATES)}; got {status!r}",
                               field="status")
        if not isinstance(limit, int) or not 0 < limit <= 1000:
            raise InvalidInput("limit must be 1-1000", field="limit")
        stmt = select(jobs).order_by(jobs.c.created_at.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(jobs.c.status == status)
        if user is not None:
            stmt = stmt.where(jobs.c.created_by == user)
        with self.store.read() as conn:
            rows = conn.execute(stmt).all()
        return [_job_dict(r) for r in rows]

    # -- following -------------------------------------------------------------------------

    def refresh_active(self) -> int:
        """Bring every unfinished job up to date with Ray (the server polls this), and keep
        their runs' heartbeats going. Returns how many are still going."""
        with self.store.read() as conn:
            rows = conn.execute(select(jobs).where(jobs.c.status.in_(_ACTIVE))).all()
        runs = []
        for row in rows:
            self._refresh(row)
            runs.append(row.run_id)
        if runs:
            with contextlib.suppress(MLPError):
                self.tracking.heartbeat(runs)
        return len(runs)

    def _refresh(self, row: Any) -> None:
        if row.status == "submitting" and (row.id in self._submitting or
                                           self.clock() - row.created_at < 60):
            return  # the submission is still on its way
        try:
            client = self.cluster.client() if (self.cluster.started or
                                               not self.cluster.embedded) else None
            info = client.get_job_info(row.id) if client is not None else None
        except ClusterUnavailable:
            return  # the cluster is away: ask again next time
        except Exception as e:
            if "does not exist" not in str(e) and "404" not in str(e):
                return
            info = None
        if info is None:
            was = row.status
            self._finish(row.id, "failed", f"the Ray cluster lost this job while it was {was} "
                         "(the cluster restarted or was replaced); submit it again",
                         ended_at=self.clock())
            return
        status = _FROM_RAY.get(getattr(info.status, "value", str(info.status)), row.status)
        started = info.start_time / 1000 if info.start_time else None
        values: dict[str, Any] = {}
        if status == "running" and row.status != "running":
            values.update(status="running", started_at=started or self.clock(), message=None)
        elif status == "pending":
            msg = info.message or "waiting for the cluster"
            if "waiting for resources" in msg:
                msg = ("pending: waiting for resources (CPUs, GPUs, memory) to become free "
                       "on the cluster")
            if row.status != "pending" or row.message != msg:
                values.update(status="pending", message=msg)
        if values:
            with self.store.write() as conn:
                conn.execute(update(jobs).where(jobs.c.id == row.id,
                                                jobs.c.status.not_in(js.FINAL)).values(**values))
        if status in js.FINAL:
            ended = info.end_time / 1000 if info.end_time else self.clock()
            message = _final_message(status, info)
            self._finish(row.id, status, message, ended_at=ended,
                         started_at=started, exit_code=info.driver_exit_code)

    def _finish(self, job_id: str, status: str, message: str | None, *, ended_at: float,
                started_at: float | None = None, exit_code: int | None = None) -> None:
        """End a job once: its status, its run (with the reason), its logs kept with the run,
        its token revoked."""
        with self._lock:
            if job_id in self._finishing:
                return
            self._finishing.add(job_id)
        try:
            row = self._row(job_id)
            if row.status in js.FINAL:
                return
            logs = self._ray_logs(job_id)
            if logs is not None:
                try:
                    with tempfile.TemporaryDirectory() as d:
                        p = os.path.join(d, "output.log")
                        with open(p, "wb") as f:
                            f.write(logs)
                        self.tracking.log_artifact(row.run_id, p, LOG_ARTIFACT)
                except MLPError:
                    pass
            peak, oom_message = self._memory_verdict(row, logs)
            if oom_message is not None and status == "failed":
                message = oom_message
            values: dict[str, Any] = {"status": status, "message": message,
                                      "ended_at": ended_at, "token_hash": None,
                                      "peak_memory": peak}
            if started_at is not None and row.started_at is None:
                values["started_at"] = started_at
            if exit_code is not None:
                values["exit_code"] = int(exit_code)
            with self.store.write() as conn:
                conn.execute(update(jobs).where(jobs.c.id == job_id,
                                                jobs.c.status.not_in(js.FINAL)).values(**values))
            self._tokens.pop(row.token_hash or "", None)
            # The run may have been ended or deleted meanwhile: the job's record stands.
            with contextlib.suppress(MLPError):
                self.tracking.end_run(row.run_id, _RUN_STATUS[status],
                                      reason=None if status == "succeeded" else message)
        finally:
            with self._lock:
                self._finishing.discard(job_id)

    def _memory_verdict(self, row: Any, logs: bytes | None) -> tuple[int | None, str | None]:
        """The job's peak memory (from its watchdog) and, when memory ended it, the sentence
        that says so."""
        try:
            tags = self.tracking.get_run(row.run_id).get("tags") or {}
        except MLPError:
            tags = {}
        try:
            peak = int(tags.get(_TAG_PEAK)) if tags.get(_TAG_PEAK) else None
        except ValueError:
            peak = None
        spec = json.loads(row.spec)
        asked = spec.get("memory")
        oom = None
        if tags.get(_TAG_OOM):
            try:
                oom = json.loads(tags[_TAG_OOM])
            except ValueError:
                oom = None
        tail = (logs or b"")[-20000:].decode("utf-8", "replace")
        ray_oom = "OutOfMemoryError" in tail or "running low on memory" in tail
        if oom is None and not ray_oom:
            return peak, None
        peak = peak or (oom or {}).get("peak")
        of = f" of {js.human_bytes(asked)} requested" if asked else " (no memory requested)"
        at = f"peak {js.human_bytes(peak)}{of}" if peak else f"memory{of}"
        advice = f"ask for more with memory='{_advice(peak)}'" if peak else \
            "ask for more with memory=..."
        if oom is not None and oom.get("kind") == "stopped":
            return peak, f"out of memory: {at} — {advice}"
        if ray_oom:
            return peak, (f"out of memory: Ray's memory monitor killed part of this job "
                          f"({at}) — {advice}")
        return peak, (f"out of memory, most likely: the job was killed with signal 9, as the "
                      f"system's and Ray's out-of-memory killers do, at {at} — {advice}")

    def _ray_logs(self, job_id: str) -> bytes | None:
        path = self.cluster.log_path(job_id)
        if path is not None and os.path.exists(path):
            with open(path, "rb") as f:
                return f.read()
        if not self.cluster.started:
            return None
        try:
            return self.cluster.client().get_job_logs(job_id).encode()
        except Exception:
            return None

    def logs(self, job_id: str, offset: int = 0) -> dict:
        """The job's output from byte ``offset`` (up to 1 MiB at a time), its status, and
        whether more can come. Finished jobs read the copy kept with their run."""
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise InvalidInput(f"offset must be a byte offset ≥ 0, got {offset!r}",
                               field="offset")
        row = self._row(job_id)
        if row.status not in js.FINAL:
            self._refresh(row)
            row = self._row(job_id)
        data: bytes | None = None
        if row.status in js.FINAL:
            try:
                f, _size = self.tracking.open_artifact(row.run_id, LOG_ARTIFACT)
                with f:
                    f.seek(offset)
                    data = f.read(_LOG_CHUNK)
            except (NotFound, OSError, ValueError):
                data = None
        if data is None:
            path = self.cluster.log_path(job_id)
            if path is not None:
                try:
                    with open(path, "rb") as f:
                        f.seek(offset)
                        data = f.read(_LOG_CHUNK)
                except OSError:
                    data = b""
            else:
                whole = self._ray_logs(job_id) if row.status != "submitting" else b""
                data = (whole or b"")[offset:offset + _LOG_CHUNK]
        # Never cut a UTF-8 character in two: hold back a partial one for the next call.
        cut = len(data)
        if cut and not (row.status in js.FINAL and cut < _LOG_CHUNK):
            cut = _whole_utf8(data)
        text = data[:cut].decode("utf-8", errors="replace")
        more = row.status not in js.FINAL or cut == _LOG_CHUNK
        return {"text": text, "offset": offset + cut, "status": row.status,
                "message": row.message, "more": more}

    def cancel(self, job_id: str, user: str | None, *, owner_only: bool = False) -> dict:
        """Stop a job. On a team's server (``owner_only``) only the user who submitted it may."""
        row = self._row(job_id)
        if owner_only and row.created_by and user != row.created_by:
            raise AccessDenied(f"job {job_id[:8]} was submitted by {row.created_by}; only they "
                               "can cancel it", field="job_id")
        if row.status in js.FINAL:
            return _job_dict(row)
        try:
            if self.cluster.started or not self.cluster.embedded:
                self.cluster.client().stop_job(job_id)
        except ClusterUnavailable:
            raise
        except Exception as e:
            if "does not exist" not in str(e):
                raise ClusterUnavailable(f"the cluster could not stop job {job_id[:8]}: "
                                         f"{_short(str(e))}") from None
        self._finish(job_id, "stopped", f"cancelled by {user or 'a user'}",
                     ended_at=self.clock())
        return self.get(job_id, refresh=False)

    # -- the job's own token ---------------------------------------------------------------

    def token_scope(self, token: str) -> tuple[str, str, str | None] | None:
        """(job id, run id, user) of a live job's token, else None."""
        if not token.startswith(_TOKEN_PREFIX):
            return None
        h = token_hash(token)
        hit = self._tokens.get(h)
        if hit is not None:
            return hit
        with self.store.read() as conn:
            row = conn.execute(select(jobs.c.id, jobs.c.run_id, jobs.c.created_by).where(
                jobs.c.token_hash == h)).first()
        if row is None:
            return None
        self._tokens[h] = (row.id, row.run_id, row.created_by)
        return self._tokens[h]

    def cluster_status(self) -> dict:
        st = self.cluster.status()
        with self.store.read() as conn:
            active = conn.execute(select(jobs.c.status).where(
                jobs.c.status.in_(_ACTIVE))).scalars().all()
        st["jobs"] = {"pending": sum(s in ("submitting", "pending") for s in active),
                      "running": sum(s == "running" for s in active)}
        return st


def _whole_utf8(data: bytes) -> int:
    """How many bytes of ``data`` end on a whole UTF-8 character (a character cut by the end
    of the chunk waits for the next read)."""
    start = len(data) - 1
    while start >= 0 and len(data) - start <= 4 and (data[start] & 0xC0) == 0x80:
        start -= 1
    if start < 0 or data[start] < 0xC0:
        return len(data)  # ends on ASCII (or on bytes that are not UTF-8: sent as they are)
    lead = data[start]
    need = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
    return len(data) if len(data) - start >= need else start


def _final_message(status: str, info: Any) -> str | None:
    if status == "succeeded":
        return None
    msg = (info.message or "").strip()
    code = info.driver_exit_code
    if status == "failed" and code is not None and (
            not msg or msg.startswith("Job entrypoint command failed")):
        # Ray's message quotes the whole log tail: one sentence says it (the output is kept).
        return f"the script exited with code {code}{_error_line(msg)}"
    return _short(msg) or status


def _error_line(text: str) -> str:
    """``: ValueError: bad input`` — the last exception line of a Python traceback in the
    output, when there is one."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not any(ln.startswith("Traceback (most recent call last)") for ln in lines):
        return ""
    for ln in reversed(lines):
        head = ln.split(":", 1)[0]
        if head and " " not in head and (head.endswith(("Error", "Exception", "Exit",
                                                        "Interrupt")) or "." in head):
            return f": {_short(ln, 300)}"
    return ""


def _advice(peak: int) -> str:
    from mlp._jobrun import _advice as advice

    return advice(peak)


def _short(msg: str, limit: int = 2000) -> str:
    msg = msg.strip()
    # Ray's errors carry the server-side traceback: its last line says what happened.
    if "Traceback (most recent call last)" in msg:
        lines = [ln for ln in msg.splitlines() if ln.strip() and ln.strip() != "."]
        msg = lines[-1] if lines else msg
    return msg if len(msg) <= limit else msg[:limit] + "…"


def _local_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def _command(kind: str, spec: dict) -> str:
    """What the user asked to run (the entrypoint adds the memory watchdog in front)."""
    script = spec.get("script") or ""
    if kind == "cell":
        return "%%mlp job (the cell)"
    runner = ["python", script] if script.endswith(".py") else ["bash", script]
    return shlex.join([*runner, *spec.get("args", [])])


def _job_dict(r: Any) -> dict:
    spec = json.loads(r.spec)
    end = r.ended_at
    return {"id": r.id, "run_id": r.run_id, "kind": r.kind, "name": r.name,
            "entrypoint": r.entrypoint, "command": _command(r.kind, spec),
            "status": r.status, "message": r.message,
            "cluster": r.cluster, "created_at": r.created_at, "created_by": r.created_by,
            "started_at": r.started_at, "ended_at": end,
            "duration": (end - r.started_at) if end and r.started_at else None,
            "exit_code": r.exit_code, "peak_memory": r.peak_memory,
            "cpus": spec.get("cpus"), "gpus": spec.get("gpus"), "memory": spec.get("memory"),
            "args": spec.get("args", []), "env": spec.get("env", []),
            "requirements": spec.get("requirements", []), "inputs": spec.get("inputs", []),
            "experiment": spec.get("experiment"), "request_id": r.request_id}


__all__ = ["LOG_ARTIFACT", "JobService", "token_hash"]
