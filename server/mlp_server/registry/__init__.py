"""The model registry service (no tornado, no Jupyter) and its webhook deliverer."""

from __future__ import annotations

from .service import RegistryService

__all__ = ["RegistryService", "open_registry"]


def open_registry(tracking, config=None) -> RegistryService:
    """The registry over a tracking service's store, configured by ``MLPRegistry``."""
    from ..config import MLPRegistry

    cfg = config or MLPRegistry()
    store_env = {"MLP_DB_URL": str(tracking.store.url.render_as_string(hide_password=False)),
                 "MLP_ARTIFACT_ROOT": tracking.artifacts.root_url}
    return RegistryService(tracking, cfg.effective_policy(), validation_timeout=cfg.validation_timeout,
                           webhook_hosts=cfg.webhook_hosts, store_env=store_env)
