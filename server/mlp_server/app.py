"""The Jupyter server extension: the platform's services behind /mlp/api/v1."""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import PeriodicCallback
from traitlets import Float, Int

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

    reap_interval = Float(5.0, help=(
        "Seconds between checks for runs whose process ended without ending them (a kernel "
        "restarted, shut down or killed); they are marked crashed.")).tag(config=True)

    def initialize_settings(self) -> None:
        from .tracking import open_service

        cfg = MLP(config=self.config, parent=self)
        self.tracking = open_service(cfg)
        self.executor = ThreadPoolExecutor(self.db_workers, thread_name_prefix="mlp-db")
        # Kernels get this token, good for /mlp/api only: never the server's login token.
        self.kernel_token = secrets.token_urlsafe(32)
        self.settings.update({"mlp_tracking": self.tracking, "mlp_executor": self.executor,
                              "mlp_config": cfg, "mlp_kernel_token": self.kernel_token})
        self.log.info("jupyter-mlp %s: store %s, artifacts %s", __version__,
                      self.tracking.store.display_url, self.tracking.artifacts.root_url)

    async def _start_jupyter_server_extension(self, serverapp) -> None:
        """Once the server listens, hand kernels it launches its URL and the kernel token
        (kernels inherit the server's environment). An explicit MLP_SERVER_URL wins."""
        if not os.environ.get("MLP_SERVER_URL"):
            os.environ["MLP_SERVER_URL"] = serverapp.connection_url
            os.environ["MLP_TOKEN"] = self.kernel_token
        if self.reap_interval > 0:
            self._reaper = PeriodicCallback(self._reap, self.reap_interval * 1000)
            self._reaper.start()

    async def _reap(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            crashed = await loop.run_in_executor(self.executor,
                                                 lambda: self.tracking.reap(force=True))
        except Exception as e:  # the store may be briefly away; try again next time
            self.log.warning("jupyter-mlp: checking for crashed runs failed: %s", e)
            return
        if crashed:
            self.log.info("jupyter-mlp: marked %d run(s) crashed", len(crashed))

    def initialize_handlers(self) -> None:
        # Absolute patterns: the routes live at /mlp/api/v1, not under the extension's name.
        self.handlers.extend(url_patterns("/"))

    async def stop_extension(self) -> None:
        if getattr(self, "_reaper", None) is not None:
            self._reaper.stop()
        self.executor.shutdown(wait=True)
        self.tracking.store.dispose()
