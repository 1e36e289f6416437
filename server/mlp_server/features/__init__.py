"""The feature store service (no tornado, no Jupyter) and its online store."""

from __future__ import annotations

from .online import OnlineStore
from .service import FeatureService

__all__ = ["FeatureService", "OnlineStore", "open_features"]


def open_features(tracking, home: str, config=None) -> FeatureService:
    """The feature store over a tracking service's store, configured by ``MLPFeatures``;
    the online store defaults to SQLite at ``home``/online.db."""
    import os

    from ..config import MLPFeatures

    cfg = config or MLPFeatures()
    url = cfg.online_url or f"sqlite:///{os.path.join(home, 'online.db')}"
    return FeatureService(tracking, OnlineStore(url), memory_limit=cfg.memory_limit,
                          temp_dir=os.path.join(home, "tmp", "duckdb"),
                          allowed_sources=list(cfg.allowed_sources) if cfg.shared else None)
