"""In-process transport: the SDK calls the tracking service directly on MLP_HOME."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import MLPError, ServerDependencyMissing, StoreUnavailable
from .base import MetricBatch, Transport


class LocalTransport(Transport):
    """Talks to a ``TrackingService`` in this process (no server needed)."""

    kind = "in-process"

    def __init__(self, service: Any, home: str | None = None) -> None:
        from mlp_server.tracking import Series

        self.service = service
        self.home = home
        self._registry: Any = None
        self._features: Any = None
        self._series = Series

    @classmethod
    def from_config(cls, **config: Any) -> LocalTransport:
        """Open the store named by ``MLP_*`` environment variables and ``config`` traits."""
        try:
            from mlp_server.config import MLP
            from mlp_server.tracking import open_service
        except ImportError as e:
            raise ServerDependencyMissing(
                f"in-process mode needs the server's packages ({e.name} is missing): "
                "pip install 'jupyter-mlp[server]'"
            ) from None
        cfg = MLP(**config)
        return cls(open_service(cfg), cfg.home)

    def info(self, retry: bool = True) -> dict:
        return {"version": __version__, "transport": self.kind, **self.service.info()}

    def create_run(self, experiment: str, name: str | None = None, **fields: Any) -> dict:
        # A kernel id means something only to the Jupyter server that launched the kernel.
        fields.pop("kernel_id", None)
        return self.service.create_run(experiment, name, **fields)

    def end_run(self, run_id: str, status: str = "finished", reason: str | None = None,
                end_time: float | None = None) -> dict:
        with _store_errors():
            return self.service.end_run(run_id, status, reason=reason, end_time=end_time)

    def destination(self) -> str:
        return f"store:{self.service.store.display_url}"

    def heartbeat(self, run_ids: Sequence[str]) -> None:
        self.service.heartbeat(run_ids)

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        self.service.log_params(run_id, params)

    def set_tags(self, run_id: str, tags: Mapping[str, Any]) -> None:
        self.service.set_tags(run_id, tags)

    def delete_tag(self, run_id: str, key: str) -> None:
        self.service.delete_tag(run_id, key)

    def log_metrics(self, batches: Sequence[MetricBatch], batch_id: str | None = None) -> int:
        with _store_errors():
            return self.service.log_metrics([self._series(*b) for b in batches],
                                            batch_id=batch_id)

    def metric_history(self, run_id: str, key: str) -> dict[str, np.ndarray]:
        return self.service.metric_history(run_id, key)

    def metric_series(self, run_id: str, keys: Sequence[str], max_points: int = 1000,
                      x: str = "step", start: float | None = None,
                      end: float | None = None) -> dict:
        return self.service.metric_series(self.resolve_run(run_id, True), keys, max_points,
                                          x, start, end)

    def diff(self, refs: Sequence[str], at: Any = "last", only_changed: bool = True,
             max_points: int = 500) -> dict:
        return self.service.diff(list(refs), at, only_changed, max_points)

    def registry(self, action: str, **kw: Any) -> Any:
        if self._registry is None:
            from mlp_server.registry import open_registry

            self._registry = open_registry(self.service)
        if action in _ACTS_AS_USER:
            from .._capture import current_user

            kw["user"] = current_user() or "unknown"
        return getattr(self._registry, action)(**kw)

    @property
    def feature_service(self) -> Any:
        if self._features is None:
            from mlp_server.features import open_features

            home = self.home
            if home is None:  # next to an SQLite store, else MLP_HOME
                db = self.service.store.engine.url
                if db.get_backend_name() == "sqlite" and db.database not in (None, "",
                                                                              ":memory:"):
                    home = str(Path(db.database).resolve().parent)
                else:
                    from mlp_server.config import MLP

                    home = MLP().home
            self._features = open_features(self.service, home)
        return self._features

    def features(self, action: str, **kw: Any) -> Any:
        if action in _FEATURES_AS_USER:
            from .._capture import current_user

            kw["user"] = current_user() or "unknown"
        return getattr(self.feature_service, action)(**kw)

    def put_feature_data(self, local_path: str | Path) -> dict:
        return self.feature_service.put_data(str(local_path))

    def feature_data_uri(self, digest: str) -> str:
        return self.feature_service.blob_uri(digest)

    def keys(self, experiment: str | Sequence[str] | None = None) -> dict:
        return self.service.keys(experiment)

    def put_capture(self, run_id: str, kind: str, payload: Mapping[str, Any]) -> None:
        self.service.put_capture(run_id, kind, payload)

    def get_capture(self, run_id: str, kind: str) -> dict | None:
        return self.service.get_capture(run_id, kind)

    def log_artifact(self, run_id: str, local_path: str | Path,
                     artifact_path: str | None = None, contents: bool = False) -> list[dict]:
        return self.service.log_artifact(run_id, local_path, artifact_path, contents=contents)

    def list_artifacts(self, run_id: str, prefix: str | None = None) -> list[dict]:
        return self.service.list_artifacts(run_id, prefix)

    def download_artifacts(self, run_id: str, path: str, dst: str | Path) -> Path:
        return self.service.download_artifacts(run_id, path, dst)

    def resolve_run(self, ref: str, include_deleted: bool = False) -> str:
        return self.service.resolve_run(ref, include_deleted)

    def get_run(self, ref: str) -> dict:
        return self.service.get_run(ref)

    def search_runs(self, experiment: str | Sequence[str] | None = None, where: str | None = None,
                    order_by: str | Sequence[str] | None = None, limit: int | None = 100,
                    cursor: str | None = None, include_deleted: bool = False,
                    deleted_only: bool = False) -> dict:
        return self.service.search_runs(experiment, where, order_by, limit, cursor,
                                        include_deleted=include_deleted, deleted_only=deleted_only)

    def list_experiments(self) -> list[dict]:
        return self.service.list_experiments()

    def delete_run(self, run_id: str) -> None:
        self.service.delete_run(self.resolve_run(run_id, True))

    def restore_run(self, run_id: str) -> None:
        # Any run reference, as over HTTP (the contract suite holds both to it).
        self.service.restore_run(self.resolve_run(run_id, True))

    def close(self) -> None:
        if self._features is not None:
            self._features.close()
            self._features = None
        self.service.store.dispose()

    def after_fork(self) -> None:
        self.service.store.engine.dispose(close=False)


_FEATURES_AS_USER = frozenset({"define_entity", "define_view", "materialize"})


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """A store that is briefly away (locked, restarting) as ``StoreUnavailable``, which the
    SDK retries, by the same rule the server answers 503 with; anything else as it is."""
    try:
        yield
    except MLPError:
        raise
    except Exception as e:
        from mlp_server.store import store_unavailable

        if store_unavailable(e):
            raise StoreUnavailable(f"the store is unavailable: {e}") from e
        raise


#: Registry calls that act as someone (in-process: the OS user running this process).
_ACTS_AS_USER = {"create_model", "update_model", "update_version", "set_tags", "register", "set_alias",
                 "delete_alias", "request_transition", "approve", "reject", "cancel",
                 "add_webhook", "remove_webhook"}
