"""Jobs on Ray (no tornado, no Jupyter): the cluster connection and the job service."""

from __future__ import annotations

from collections.abc import Callable

from .cluster import Cluster, ClusterUnavailable
from .service import JobService

__all__ = ["Cluster", "ClusterUnavailable", "JobService", "open_jobs"]


def open_jobs(tracking, home: str, ray_address: str = "", config=None,
              server_url: Callable[[], str | None] = lambda: None) -> JobService:
    """The job service over a tracking service's store, configured by ``MLPJobs``: an
    existing cluster at ``ray_address``, else a local head started on the first job."""
    from mlp._jobspec import parse_memory

    from ..config import MLPJobs

    cfg = config or MLPJobs()
    auth = cfg.auth_mode
    if auth and auth not in ("token", "disabled"):
        from mlp.errors import InvalidInput

        raise InvalidInput(f"RAY_AUTH_MODE={auth!r} must be 'token' or 'disabled'",
                           field="auth_mode")
    cluster = Cluster(ray_address, cpus=cfg.head_cpus,
                      object_store_memory=parse_memory(cfg.head_object_store_memory,
                                                       "MLPJobs.head_object_store_memory"),
                      auth_mode=auth if ray_address else "disabled",
                      node_types=list(cfg.node_types))
    return JobService(tracking, cluster, home=home, server_url=server_url,
                      max_package=parse_memory(cfg.max_package, "MLPJobs.max_package"),
                      memory_policy=cfg.memory_policy)


