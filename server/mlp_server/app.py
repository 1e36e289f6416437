"""The Jupyter server extension: the platform's services behind /mlp/api/v1."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from jupyter_server.extension.application import ExtensionApp
from traitlets import Int

from . import __version__
from .config import MLP
from .handlers import url_patterns


class MLPExtension(ExtensionApp):
    """Experiment tracking (and, next, the registry, features and jobs) inside Jupyter."""

    name = "mlp_server"
    description = "jupyter-mlp: an ML platform inside Jupyter"
    version = __version__
    load_other_extensions = True

    db_workers = Int(8, help="Threads that run store calls off the server's event loop.").tag(
        config=True)

    def initialize_settings(self) -> None:
        from .tracking import open_service

        cfg = MLP(config=self.config, parent=self)
        self.tracking = open_service(cfg)
        self.executor = ThreadPoolExecutor(self.db_workers, thread_name_prefix="mlp-db")
        self.settings.update({"mlp_tracking": self.tracking, "mlp_executor": self.executor,
                              "mlp_config": cfg})
        self.log.info("jupyter-mlp %s: store %s, artifacts %s", __version__,
                      self.tracking.store.display_url, self.tracking.artifacts.root_url)

    def initialize_handlers(self) -> None:
        # Absolute patterns: the routes live at /mlp/api/v1, not under the extension's name.
        self.handlers.extend(url_patterns("/"))

    async def stop_extension(self) -> None:
        self.executor.shutdown(wait=True)
        self.tracking.store.dispose()
