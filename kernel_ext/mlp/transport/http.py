"""HTTP transport: the SDK talks to a jupyter-mlp server's REST API."""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np

from .. import errors
from .._files import artifact_files
from .._version import __version__
from . import wire
from .base import MetricBatch, Transport

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")


class ServerUnavailable(ConnectionError):
    """The server could not be reached, or answered that it is briefly unavailable: worth
    a retry."""


class PayloadTooLarge(errors.ServerFault):
    """The body is over the size the server or a proxy accepts (413): the points are set
    aside, not dropped, if even a small part is refused."""

    status = 413


_TRANSIENT = frozenset({408, 425, 429, 502, 503, 504})
#: Below this many points a series is not split further for a body size limit.
_SMALLEST_PART = 1024


class HttpTransport(Transport):
    """Calls ``/mlp/api/v1`` on a server with a token (``Authorization: token ...``)."""

    kind = "http"

    def __init__(self, url: str, token: str | None = None, timeout: float = 30.0,
                 retry_seconds: float = 10.0) -> None:
        import requests

        self.base = url.rstrip("/") + "/mlp/api/v1"
        self.timeout = timeout
        #: How long calls that are safe to repeat keep trying an unreachable server.
        self.retry_seconds = retry_seconds
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = f"token {token}"
        self.session.headers["User-Agent"] = f"jupyter-mlp/{__version__}"

    # -- plumbing --------------------------------------------------------------------

    def _call(self, method: str, path: str, *, json: Any = None, data: bytes | None = None,
              params: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None,
              retry: bool = True):
        """One request. Calls that are safe to repeat are retried for ``retry_seconds``
        while the server is unreachable (a restart, a network blip) before giving up."""
        deadline = time.monotonic() + (self.retry_seconds if retry else 0.0)
        pause = 0.25
        while True:
            try:
                return self._once(method, path, json=json, data=data, params=params,
                                  headers=headers)
            except ServerUnavailable:
                if time.monotonic() + pause > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def _once(self, method: str, path: str, *, json: Any, data: bytes | None,
              params: Mapping[str, Any] | None, headers: Mapping[str, str] | None):
        import requests

        try:
            resp = self.session.request(method, f"{self.base}/{path}", json=json, data=data,
                                        params=params, headers=headers,
                                        timeout=(min(5.0, self.timeout), self.timeout))
        except requests.RequestException as e:
            raise ServerUnavailable(f"jupyter-mlp server at {self.base} is unreachable: {e}") \
                from None
        code = resp.status_code
        if code in _TRANSIENT:
            # A restart, a proxy in front of a server that is away, a store that is briefly
            # unavailable, rate limiting: the same request may well succeed later.
            raise ServerUnavailable(f"jupyter-mlp server at {self.base} answered {code} "
                                    f"{resp.reason}: {resp.text[:300]}")
        if code < 400:
            return resp
        try:
            body = resp.json()
        except ValueError:
            body = {"message": resp.text[:300] or resp.reason}
        if not isinstance(body, dict):
            body = {"message": str(body)[:300]}
        if code == 403 and body.get("error") == "AccessDenied" and body.get("message"):
            # Authenticated, but a rule of the service refused it (a self-approval, a host
            # not on the webhook allowlist): its own words, not a hint about the token.
            raise errors.from_dict(body)
        if code in (401, 403):
            raise errors.AccessDenied(
                f"the server at {self.base} refused the request ({code} "
                f"{body.get('message') or resp.reason}): check MLP_TOKEN")
        if code == 413:
            raise PayloadTooLarge(f"the request to {self.base}/{path} is larger than the server "
                                  f"(or a proxy in front of it) accepts: {resp.reason}")
        if code >= 500:
            raise errors.ServerFault(f"jupyter-mlp server error {code} on {method} {path}: "
                                     f"{body.get('message') or resp.reason}")
        raise errors.from_dict(body)

    def _json(self, method: str, path: str, **kw: Any) -> Any:
        return self._call(method, path, **kw).json()

    def _id(self, ref: str, include_deleted: bool = False) -> str:
        return ref if isinstance(ref, str) and _RUN_ID.match(ref) else \
            self.resolve_run(ref, include_deleted)

    # -- the interface ---------------------------------------------------------------

    def info(self, retry: bool = True) -> dict:
        return self._json("GET", "info", retry=retry)

    def create_run(self, experiment: str, name: str | None = None, **fields: Any) -> dict:
        return self._json("POST", "runs", json={"experiment": experiment, "name": name,
                                                **fields})

    def end_run(self, run_id: str, status: str = "finished", reason: str | None = None,
                end_time: float | None = None) -> dict:
        body: dict[str, Any] = {"status": status, "reason": reason}
        if end_time is not None:
            body["end_time"] = end_time
        return self._json("POST", f"runs/{run_id}/end", json=body)

    def destination(self) -> str:
        return f"server:{self.base}"

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        # Periodic: the next one comes soon enough.
        self._call("POST", "heartbeat", json={"run_ids": list(run_ids)}, retry=False)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self._call("POST", f"runs/{run_id}/params", json={"params": _jsonable(params)})

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self._call("POST", f"runs/{run_id}/tags", json={"tags": _jsonable(tags)})

    def delete_tag(self, run_id: str, key: str) -> None:
        self._call("DELETE", f"runs/{run_id}/tags/{quote(key, safe='')}")

    def log_metrics(self, batches: Sequence[MetricBatch], batch_id: str | None = None) -> int:
        # The flusher retries (and spools) metrics itself, without holding up the caller.
        try:
            resp = self._call("POST", "metrics", data=wire.encode(batches, batch_id),
                              headers={"Content-Type": wire.CONTENT_TYPE}, retry=False)
        except PayloadTooLarge:
            return self._log_metrics_in_parts(batches, batch_id)
        return resp.json()["stored"]

    def _log_metrics_in_parts(self, batches: Sequence[MetricBatch],
                              batch_id: str | None) -> int:
        """A proxy limits request bodies: send one series at a time (the store remembers
        each series of a batch by its id), and a series too large alone in halves, each
        with an id derived from its place, so a retry splits the same way."""
        if len(batches) > 1:
            return sum(self.log_metrics([b], batch_id) for b in batches)
        (b,) = batches
        n = len(b.values)
        if n <= _SMALLEST_PART:
            raise PayloadTooLarge(f"{n} points of metric {b.key!r} ({24 * n} bytes) are more "
                                  "than the server (or a proxy in front of it) accepts in one "
                                  "request: raise its body size limit", field=b.key)
        half = (n + 1) // 2
        stored = 0
        for start in (0, half):
            part = MetricBatch(b.run_id, b.key, b.steps[start:start + half],
                               b.times[start:start + half], b.values[start:start + half])
            sub = None if batch_id is None else \
                hashlib.sha256(f"{batch_id}:{start}:{half}".encode()).hexdigest()[:32]
            stored += self.log_metrics([part], sub)
        return stored

    def metric_history(self, run_id: str, key: str) -> dict[str, np.ndarray]:
        body = self._call("GET", f"runs/{run_id}/metrics/{quote(key, safe='')}").content
        ((_, _, steps, times, values),) = wire.decode(body)
        return {"step": steps, "time": times, "value": values}

    def put_capture(self, run_id: str, kind: str, payload: Mapping[str, Any]) -> None:
        self._call("PUT", f"runs/{run_id}/captures/{kind}", json=payload)

    def get_capture(self, run_id: str, kind: str) -> dict | None:
        return self._json("GET", f"runs/{run_id}/captures/{kind}")["capture"]

    def log_artifact(self, run_id: str, local_path: str | Path,
                     artifact_path: str | None = None, contents: bool = False) -> list[dict]:
        files = artifact_files(local_path, artifact_path, contents)
        out: list[dict] = []
        for f, logical in files:
            # The bytes go in the body; the server checks the path before storing anything.
            with open(f, "rb") as fh:
                out += self._json("PUT", f"runs/{run_id}/artifacts", params={"path": logical},
                                  data=fh.read())["artifacts"]
        return out

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[dict]:
        params = {"prefix": prefix} if prefix else None
        return self._json("GET", f"runs/{run_id}/artifacts", params=params)["artifacts"]

    def download_artifacts(self, run_id: str, path: str, dst: str | Path) -> Path:
        items = self.list_artifacts(run_id, path)
        if not items:
            raise errors.NotFound(f"run {run_id[:8]} has no artifact {path!r}", field="path")
        out = Path(dst)
        single = len(items) == 1 and items[0]["path"] == path.strip("/")
        for a in items:
            target = out / Path(a["path"]).name if single else out / a["path"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(self._call("GET", f"runs/{run_id}/artifact",
                                          params={"path": a["path"]}).content)
        return out / Path(path).name if single else out / path.strip("/")

    def resolve_run(self, ref: str, include_deleted: bool = False) -> str:
        return self._json("GET", "runs/resolve", params={
            "ref": ref, "include_deleted": "true" if include_deleted else "false"})["run_id"]

    def get_run(self, ref: str) -> dict:
        return _run_numbers(self._json("GET", f"runs/{self._id(ref)}"))

    def search_runs(self, experiment: str | Sequence[str] | None = None, where: str | None = None,
                    order_by: str | Sequence[str] | None = None, limit: int | None = 100,
                    cursor: str | None = None, include_deleted: bool = False,
                    deleted_only: bool = False) -> dict:
        out = self._json("POST", "runs/search", json={
            "experiment": experiment, "where": where, "order_by": order_by, "limit": limit,
            "cursor": cursor, "include_deleted": include_deleted, "deleted_only": deleted_only})
        out["runs"] = [_run_numbers(r) for r in out["runs"]]
        return out

    def metric_series(self, run_id: str, keys: Sequence[str], max_points: int = 1000,
                      x: str = "step", start: float | None = None,
                      end: float | None = None) -> dict:
        params: dict[str, Any] = {"key": list(keys), "max_points": max_points, "x": x}
        if start is not None:
            params["start"] = repr(float(start))
        if end is not None:
            params["end"] = repr(float(end))
        out = self._json("GET", f"runs/{self._id(run_id)}/series", params=params)
        for s in out["series"]:
            for k in ("min", "max", "last"):
                s[k] = _number(s[k])
        return out

    def diff(self, refs: Sequence[str], at: Any = "last", only_changed: bool = True,
             max_points: int = 500) -> dict:
        out = self._json("GET", "diff", params={
            "run": list(refs), "at": str(at), "only_changed": "1" if only_changed else "0",
            "max_points": max_points})
        for m in out["metrics"]:  # NaN and ±inf come spelled out (strict JSON)
            m["runs"] = [None if r is None else {k: _number(v) for k, v in r.items()}
                         for r in m["runs"]]
            m["delta"] = {k: _number(v) for k, v in m["delta"].items()}
        for v in out["varying"]:
            if v["section"] == "metrics":
                v["values"] = [_number(x) for x in v["values"]]
        return out

    def registry(self, action: str, **kw: Any) -> Any:
        def q(v: Any) -> str:
            return quote(str(v), safe="")

        def body(*names: str) -> dict:
            return {n: kw[n] for n in names if kw.get(n) is not None}

        name = kw.get("name")
        m = f"registry/models/{q(name)}" if name is not None else None
        get = {
            "list_models": lambda: self._json("GET", "registry/models", params={
                "like": kw["name_like"]} if kw.get("name_like") else None)["models"],
            "get_model": lambda: self._json("GET", m),
            "resolve": lambda: self._json("GET", f"{m}/versions/{q(kw['ref'])}"),
            "audit": lambda: self._json("GET", f"{m}/audit" if m else "registry/audit", params={
                k: v for k, v in (("since", kw.get("since")), ("until", kw.get("until")),
                                  ("limit", kw.get("limit", 1000))) if v is not None})["events"],
            "stage_at": lambda: self._json("GET", f"{m}/stage-at", params={
                "at": repr(float(kw["at"])), "stage": kw.get("stage", "production")})["versions"],
            "requests": lambda: self._json("GET", "registry/requests", params={
                k: v for k, v in (("model", name), ("status", kw.get("status")))
                if v is not None})["requests"],
            "get_request": lambda: self._json("GET", f"registry/requests/{q(kw['request_id'])}"),
            "webhooks": lambda: self._json("GET", "registry/webhooks")["webhooks"],
            "deliveries": lambda: self._json(
                "GET", f"registry/webhooks/{q(kw['hid'])}/deliveries")["deliveries"],
        }
        # Changes are not repeated on a lost answer: a second register would add a version.
        post = {
            "create_model": lambda: self._json("POST", "registry/models", retry=False,
                                               json=body("name", "description", "tags",
                                                         "policy")),
            "update_model": lambda: self._json("PATCH", m, retry=False,
                                               json=body("description", "policy",
                                                         "reset_policy")),
            "update_version": lambda: self._json("PATCH", f"{m}/versions/{q(kw['version'])}",
                                                 retry=False, json=body("description")),
            "set_tags": lambda: self._json("POST", f"{m}/tags", retry=False,
                                           json=body("tags", "version")),
            "register": lambda: self._json("POST", f"{m}/versions", retry=False, json={
                "run": kw["run_ref"], **body("artifact", "description", "tags")}),
            "set_alias": lambda: self._json("PUT", f"{m}/aliases/{q(kw['alias'])}",
                                            retry=False, json=body("version")),
            "delete_alias": lambda: self._json("DELETE", f"{m}/aliases/{q(kw['alias'])}",
                                               retry=False),
            "request_transition": lambda: self._json("POST", "registry/requests", retry=False,
                                                     json={"model": name, **body(
                                                         "version", "stage", "comment")}),
            "add_webhook": lambda: self._json("POST", "registry/webhooks", retry=False,
                                              json={"model": kw.get("model"),
                                                    **body("url", "secret", "events")}),
            "remove_webhook": lambda: self._json("DELETE", f"registry/webhooks/{q(kw['hid'])}",
                                                 retry=False),
        }
        for decision in ("approve", "reject", "cancel"):
            post[decision] = (lambda d: lambda: self._json(
                "POST", f"registry/requests/{q(kw['request_id'])}/{d}", retry=False,
                json=body("comment")))(decision)
        fn = get.get(action) or post.get(action)
        if fn is None:
            raise errors.InvalidInput(f"unknown registry call {action!r}", field="action")
        return fn()

    def features(self, action: str, **kw: Any) -> Any:
        def q(v: Any) -> str:
            return quote(str(v), safe="")

        def params(**p: Any) -> dict | None:
            return {k: v for k, v in p.items() if v is not None} or None

        name = kw.get("name")
        v = f"features/views/{q(name)}"
        calls = {
            "list_entities": lambda: self._json("GET", "features/entities")["entities"],
            "get_entity": lambda: self._json("GET", f"features/entities/{q(name)}",
                                             params=params(version=kw.get("version"))),
            "define_entity": lambda: self._json("POST", "features/entities", json=_jsonable({
                k: kw.get(k) for k in ("name", "join_keys", "description", "owner")})),
            "list_views": lambda: self._json("GET", "features/views")["views"],
            "get_view": lambda: self._json("GET", v, params=params(version=kw.get("version"))),
            "define_view": lambda: self._json("POST", "features/views",
                                              json=_jsonable(kw["definition"])),
            "sample": lambda: self._json("GET", f"{v}/sample", params=params(
                n=kw.get("n"), version=kw.get("version"))),
            "stats": lambda: self._json("GET", f"{v}/stats", params=params(
                version=kw.get("version"))),
            "materialize": lambda: self._json("POST", f"{v}/materialize", retry=False, json={
                k: kw.get(k) for k in ("start", "end", "incremental")}),
            "get_materialization": lambda: self._json(
                "GET", f"features/materializations/{int(kw['id'])}"),
            "materializations": lambda: self._json("GET", "features/materializations",
                                                   params=params(view=name))["materializations"],
            "freshness": lambda: self._json("GET", "features/freshness",
                                            params=params(view=name))["views"],
            "get_online": lambda: _online(self._lookup(
                {"entities": kw["entities"], "features": kw["features"]})),
        }
        fn = calls.get(action)
        if fn is None:
            raise errors.InvalidInput(f"unknown feature store call {action!r}", field="action")
        return fn()

    def _lookup(self, body: dict) -> dict:
        """``POST features/online`` on a kept-alive ``http.client`` connection of this thread:
        an online lookup is latency-bound, and ``requests`` costs about a millisecond of CPU
        a call. Anything but a 200 goes through the usual path, for its errors and retries."""
        import http.client
        import json as _json
        import threading
        from urllib.parse import urlsplit

        local = self.__dict__.setdefault("_fast", threading.local())
        # numpy scalars (an entity key read from a DataFrame) as plain numbers
        data = _json.dumps(body, default=_plain_number).encode()
        for attempt in (0, 1):
            conn = getattr(local, "conn", None)
            if conn is None:
                u = urlsplit(self.base)
                cls = http.client.HTTPSConnection if u.scheme == "https" else \
                    http.client.HTTPConnection
                conn = local.conn = cls(u.netloc, timeout=self.timeout)
                local.path = u.path + "/features/online"
            try:
                conn.request("POST", local.path, body=data, headers={
                    **{k: v for k, v in self.session.headers.items()
                       if k in ("Authorization", "User-Agent")}, **_JSON_BODY})
                resp = conn.getresponse()
                raw = resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                local.conn = None
                if attempt:
                    break
                continue
            if resp.status == 200:
                return _json.loads(raw)
            break
        return self._json("POST", "features/online", data=data, headers=_JSON_BODY)

    def jobs(self, action: str, **kw: Any) -> Any:
        jid = kw.get("job_id")
        j = f"jobs/{jid}"
        calls = {
            # Idempotent by its request_id: safe to retry while the server restarts.
            "submit": lambda: self._json("POST", "jobs", json=_jsonable(kw["spec"])),
            "list": lambda: self._json("GET", "jobs", params={
                k: str(v).lower() if isinstance(v, bool) else v
                for k, v in (("status", kw.get("status")), ("limit", kw.get("limit")),
                             ("mine", kw.get("mine"))) if v is not None})["jobs"],
            "get": lambda: self._json("GET", j),
            "resolve": lambda: self._json("GET", "jobs/resolve",
                                          params={"ref": kw["ref"]})["job_id"],
            "logs": lambda: self._json("GET", f"{j}/logs",
                                       params={"offset": int(kw.get("offset", 0))}),
            "cancel": lambda: self._json("POST", f"{j}/cancel", retry=False),
            "cluster": lambda: self._json("GET", "cluster"),
        }
        fn = calls.get(action)
        if fn is None:
            raise errors.InvalidInput(f"unknown jobs call {action!r}", field="action")
        return fn()

    def put_job_package(self, data: bytes) -> dict:
        return self._json("PUT", "jobs/packages", data=data,
                          headers={"Content-Type": "application/zip"})

    def put_feature_data(self, local_path: str | Path) -> dict:
        return self._json("PUT", "features/data", data=Path(local_path).read_bytes(),
                          headers={"Content-Type": "application/vnd.apache.parquet"})

    def feature_data_uri(self, digest: str) -> str:
        import os

        if not re.match(r"^[0-9a-f]{64}$", digest):
            raise errors.InvalidInput(f"{digest!r} is not a data digest", field="digest")
        cache = Path(os.environ.get("MLP_CACHE_DIR") or Path.home() / ".cache" / "mlp")
        target = cache / "features" / f"{digest}.parquet"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_suffix(f".{os.getpid()}.part")
            h = hashlib.sha256()
            with self._call("GET", f"features/data/{digest}") as resp, open(tmp, "wb") as out:
                for chunk in resp.iter_content(1 << 20):
                    h.update(chunk)
                    out.write(chunk)
            if h.hexdigest() != digest:
                tmp.unlink(missing_ok=True)
                raise errors.ServerFault(f"the stored data {digest[:12]} arrived damaged; "
                                         "try again")
            os.replace(tmp, target)
        return str(target)

    def keys(self, experiment: str | Sequence[str] | None = None) -> dict:
        names = [experiment] if isinstance(experiment, str) else list(experiment or [])
        return self._json("GET", "keys", params={"experiment": names} if names else None)

    def list_experiments(self) -> list[dict]:
        return self._json("GET", "experiments")["experiments"]

    def delete_run(self, run_id: str) -> None:
        self._call("DELETE", f"runs/{self._id(run_id, True)}")

    def restore_run(self, run_id: str) -> None:
        self._call("POST", f"runs/{self._id(run_id, True)}/restore")

    def close(self) -> None:
        fast = self.__dict__.pop("_fast", None)
        if fast is not None and getattr(fast, "conn", None) is not None:
            fast.conn.close()
        self.session.close()

    def after_fork(self) -> None:
        import requests

        self.__dict__.pop("_fast", None)  # the parent's connection is not ours

        headers = dict(self.session.headers)
        self.session = requests.Session()
        self.session.headers.update(headers)


def _jsonable(values: Any) -> Any:
    """numpy scalars as plain numbers, so params and tags serialize."""
    if isinstance(values, Mapping):
        return {k: _jsonable(v) for k, v in values.items()}
    if isinstance(values, (list, tuple)):
        return [_jsonable(v) for v in values]
    if isinstance(values, np.generic):
        return values.item()
    return values


_JSON_BODY = {"Content-Type": "application/json"}


def _plain_number(value: Any) -> Any:
    """``json.dumps``'s default: a numpy scalar as its Python number."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_SPELLED = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _number(v: Any) -> Any:
    """The server spells NaN and ±inf as strings (strict JSON): numbers again."""
    return _SPELLED[v] if isinstance(v, str) and v in _SPELLED else v


def _online(out: dict) -> dict:
    """Online values as Python again: numbers spelled out as strings (NaN, ±inf) and times
    sent as text, by each feature's dtype."""
    from datetime import datetime

    dtypes = out.get("dtypes") or []
    for row in out["values"]:
        for j, d in enumerate(dtypes):
            x = row[j]
            if x is None:
                continue
            if d == "float":
                row[j] = _number(x)
            elif d == "timestamp" and isinstance(x, str):
                row[j] = datetime.fromisoformat(x)
    return out


def _run_numbers(run: dict) -> dict:
    metrics = run.get("metrics")
    if isinstance(metrics, dict):
        run["metrics"] = {k: ({f: _number(x) for f, x in v.items()} if isinstance(v, dict)
                              else _number(v)) for k, v in metrics.items()}
    return run
