"""The interface between the SDK and a store: in-process today, HTTP next.

Every method takes and returns plain Python data (dicts, lists, numpy arrays)
so that a transport can send it over the wire; errors are ``mlp.errors``
exceptions. The contract test suite runs against every implementation.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np


class MetricBatch(NamedTuple):
    """The points of one metric of one run, as three equal-length arrays."""

    run_id: str
    key: str
    steps: np.ndarray  # int64
    times: np.ndarray  # float64, seconds since the epoch
    values: np.ndarray  # float64


class Transport(abc.ABC):
    """What the SDK needs from wherever runs are stored."""

    #: "in-process" or "http"; shown by ``mlp.status()``.
    kind: str = ""

    @abc.abstractmethod
    def info(self, retry: bool = True) -> dict:
        """Version, store and transport facts (``retry=False``: answer at once, for a
        status check, even when the server is away)."""

    @abc.abstractmethod
    def create_run(self, experiment: str, name: str | None = None, **fields: Any) -> dict:
        """Start a run (with its first ``params=`` and ``tags=`` in the same step);
        ``run_id=`` makes a retried call idempotent."""

    @abc.abstractmethod
    def end_run(self, run_id: str, status: str = "finished", reason: str | None = None,
                end_time: float | None = None) -> dict:
        """End a run with a final status (``end_time``: when it ended, if not now)."""

    def destination(self) -> str:
        """Where this transport stores runs (names the spool kept while it is away)."""
        return self.kind

    @abc.abstractmethod
    def heartbeat(self, run_ids: Sequence[str]) -> None:
        """Tell the store these runs' processes are alive."""

    @abc.abstractmethod
    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None: ...

    @abc.abstractmethod
    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None: ...

    @abc.abstractmethod
    def delete_tag(self, run_id: str, key: str) -> None: ...

    @abc.abstractmethod
    def log_metrics(self, batches: Sequence[MetricBatch], batch_id: str | None = None) -> int:
        """Store metric points durably; returns how many were stored. A ``batch_id`` the
        store has seen is not stored again, so a retry never duplicates points."""

    @abc.abstractmethod
    def metric_history(self, run_id: str, key: str) -> dict[str, np.ndarray]:
        """``{"step": int64[], "time": float64[], "value": float64[]}`` ordered by step."""

    @abc.abstractmethod
    def metric_series(self, run_id: str, keys: Sequence[str], max_points: int = 1000,
                      x: str = "step", start: float | None = None,
                      end: float | None = None) -> dict:
        """Metrics as a chart draws them: per key at most ``max_points`` points of the
        ``[start, end]`` range of ``x`` ("step" or "time"), downsampled keeping each
        bucket's first, lowest, highest and last point; NaN/±inf counted, not drawn."""

    @abc.abstractmethod
    def diff(self, refs: Sequence[str], at: Any = "last", only_changed: bool = True,
             max_points: int = 500) -> dict:
        """What differs between runs: the ``mlp.diff/1`` document (see ``mlp.Diff``)."""

    @abc.abstractmethod
    def registry(self, action: str, **kw: Any) -> Any:
        """A model registry call (``RegistryService.<action>(**kw)`` on the server, acting as
        the authenticated user): list_models, create_model, get_model, update_model,
        set_tags, register, resolve, set_alias, delete_alias, audit, stage_at, requests,
        request_transition, get_request, approve, reject, cancel, webhooks, add_webhook,
        remove_webhook, deliveries."""

    @abc.abstractmethod
    def features(self, action: str, **kw: Any) -> Any:
        """A feature store call (``FeatureService.<action>(**kw)`` on the server):
        define_entity, get_entity, list_entities, define_view, get_view, list_views, sample,
        stats, materialize, get_materialization, materializations, get_online, freshness."""

    @abc.abstractmethod
    def put_feature_data(self, local_path: str | Path) -> dict:
        """Store a Parquet file (a DataFrame source) by content: ``{"digest", "rows", ...}``."""

    @abc.abstractmethod
    def feature_data_uri(self, digest: str) -> str:
        """A path or URL DuckDB can read the stored Parquet file at (fetched into a local
        cache when it lives behind the server)."""

    def jobs(self, action: str, **kw: Any) -> Any:
        """A jobs call (``JobService`` on the server): submit, list, get, resolve, logs,
        cancel, cluster. Jobs run through a jupyter-mlp server, which owns the cluster
        connection and gives each job a token for its run."""
        from ..errors import InvalidInput

        raise InvalidInput(
            "jobs on Ray go through a jupyter-mlp server, and this process uses the store "
            "in-process: run in JupyterLab (the server extension), or point at a server with "
            "MLP_SERVER_URL and MLP_TOKEN (or mlp.connect(url, token=...))", field="transport")

    def put_job_package(self, data: bytes) -> dict:
        """Upload a job's zipped folder: ``{"digest", "size"}``."""
        return self.jobs("put_package")

    @abc.abstractmethod
    def keys(self, experiment: str | Sequence[str] | None = None) -> dict:
        """``{"metrics": [...], "params": [...], "tags": [...]}`` names in use."""

    @abc.abstractmethod
    def put_capture(self, run_id: str, kind: str, payload: Mapping[str, Any]) -> None: ...

    @abc.abstractmethod
    def get_capture(self, run_id: str, kind: str) -> dict | None: ...

    @abc.abstractmethod
    def log_artifact(self, run_id: str, local_path: str | Path,
                     artifact_path: str | None = None, contents: bool = False) -> list[dict]:
        """Store a file or a folder (``contents=True``: the files inside it, at
        ``artifact_path`` or the run's root) in one step: all of it or nothing."""

    @abc.abstractmethod
    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[dict]: ...

    @abc.abstractmethod
    def download_artifacts(self, run_id: str, path: str, dst: str | Path) -> Path: ...

    @abc.abstractmethod
    def resolve_run(self, ref: str, include_deleted: bool = False) -> str:
        """The id of the run a reference (id, prefix, experiment/name, @latest~N) names."""

    @abc.abstractmethod
    def get_run(self, ref: str) -> dict: ...

    @abc.abstractmethod
    def search_runs(self, experiment: str | Sequence[str] | None = None, where: str | None = None,
                    order_by: str | Sequence[str] | None = None, limit: int | None = 100,
                    cursor: str | None = None, include_deleted: bool = False,
                    deleted_only: bool = False) -> dict:
        """``{"runs": [run dicts with params/metrics/tags], "next_cursor": str | None}``."""

    @abc.abstractmethod
    def list_experiments(self) -> list[dict]: ...

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None: ...

    @abc.abstractmethod
    def restore_run(self, run_id: str) -> None: ...

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections; the transport is not used afterwards."""

    @abc.abstractmethod
    def after_fork(self) -> None:
        """In a forked child: drop connections inherited from the parent, unused."""
