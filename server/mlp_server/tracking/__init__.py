"""Experiment tracking service (no tornado, no Jupyter)."""

from __future__ import annotations

from .metrics import Series
from .service import TrackingService

__all__ = ["Series", "TrackingService", "open_service"]


def open_service(config=None) -> TrackingService:
    """The tracking service over the store and artifact root an ``MLP`` config names."""
    from ..config import MLP
    from ..store import open_store
    from .artifacts import ArtifactStore

    cfg = config or MLP()
    return TrackingService(open_store(cfg), ArtifactStore(cfg.artifact_root),
                           heartbeat_timeout=cfg.heartbeat_timeout)
