"""The Jupyter server extension: the platform's services behind /mlp/api/v1."""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.utils import url_path_join
from tornado.ioloop import PeriodicCallback
from traitlets import Bool, Float, Int, default

from mlp.errors import InvalidInput

from . import __version__
from .config import MLP, MLPFeatures, MLPJobs, MLPRegistry
from .handlers import API, fastpath, url_patterns
from .handlers.forward import Upstream, forward_patterns


class MLPExtension(ExtensionApp):
    """Experiment tracking (and, next, the registry, features and jobs) inside Jupyter.

    In a user's Jupyter server it serves an embedded store, or forwards to a shared server
    (``c.MLP.server_url``); launched on its own (``jupyter mlp``) it is that shared server.
    """

    name = "mlp_server"
    description = ("jupyter-mlp's shared server: the tracking REST API on its own, for a team "
                   "(a PostgreSQL store and object storage; a JupyterHub service under "
                   "the Hub's env). `jupyter mlp db upgrade|current` manage the schema.")
    examples = """
    jupyter mlp --ip=0.0.0.0 --port=8899 --MLP.db_url=postgresql+psycopg://mlp@db/mlp \\
        --MLP.artifact_root=s3://bucket/mlp
    jupyter mlp db upgrade --db-url postgresql+psycopg://mlp@db/mlp
    """
    version = __version__
    classes = [MLP, MLPRegistry, MLPFeatures, MLPJobs]  # so --help-all lists the MLP.* settings
    # Launched on its own it is an API server: no JupyterLab, no other extension.
    load_other_extensions = False
    extension_url = "/mlp/api/v1/info"

    db_workers = Int(8, help="Threads that run store calls off the server's event loop.").tag(
        config=True)

    reap_interval = Float(5.0, help=(
        "Seconds between checks for runs whose process ended without ending them (a kernel "
        "restarted, shut down or killed); they are marked crashed.")).tag(config=True)

    webhook_interval = Float(1.0, help=(
        "Seconds between rounds of webhook deliveries (0: none from this server).")).tag(
        config=True)

    forward_timeout = Float(300.0, help=(
        "Seconds a request forwarded to the shared server (c.MLP.server_url) may take, "
        "uploads included.")).tag(config=True)

    jobs_interval = Float(2.0, help=(
        "Seconds between checks of unfinished jobs with the Ray cluster (their state, and "
        "their runs' heartbeats); 0: only when a job is asked about.")).tag(config=True)

    freshness_interval = Float(15.0, help=(
        "Seconds between the feature-freshness snapshots /metrics reports (0: none).")).tag(
        config=True)

    tracking: Any = None
    registry: Any = None
    features: Any = None
    jobs: Any = None
    _job_url: str | None = None
    deliverer: Any = None
    upstream: Upstream | None = None
    ingest: Any = None

    ingest_process = Bool(True, help=(
        "Store metric points in a child process instead of the server's threads, so that "
        "many kernels logging at once do not slow Jupyter's own requests (which share the "
        "server process's GIL).")).tag(config=True)

    @default("open_browser")
    def _default_open_browser(self) -> bool:
        return False

    def initialize_settings(self) -> None:
        cfg = MLP(config=self.config, parent=self)
        # Kernels get this token, good for /mlp/api only: never the server's login token.
        self.kernel_token = secrets.token_urlsafe(32)
        self.settings.update({"mlp_config": cfg, "mlp_kernel_token": self.kernel_token})
        if getattr(getattr(self.serverapp, "identity_provider", None), "hub_auth", None):
            # JupyterHub's login checks XSRF itself once it knows whether a token was used;
            # tornado's own check runs before that and would refuse token requests (JupyterHub's
            # single-user extension turns it off for the same reason).
            self.settings["xsrf_cookies"] = False
        if cfg.server_url:
            self._forward_to(cfg)
            return
        from .registry import open_registry
        from .registry.webhooks import Deliverer
        from .tracking import open_service

        self.tracking = open_service(cfg)
        reg_cfg = MLPRegistry(config=self.config, parent=self)
        self.registry = open_registry(self.tracking, reg_cfg)
        self.deliverer = Deliverer(self.registry, max_attempts=reg_cfg.webhook_max_attempts,
                                   backoff=reg_cfg.webhook_backoff,
                                   timeout=reg_cfg.webhook_timeout)
        from .features import open_features

        self.features = open_features(self.tracking, cfg.home,
                                      MLPFeatures(config=self.config, parent=self))
        if self.features.interrupted():
            self.log.warning("jupyter-mlp: materializations interrupted by the last stop are "
                             "marked failed")
        from .jobs import open_jobs

        jobs_cfg = MLPJobs(config=self.config, parent=self)
        self._job_url = jobs_cfg.job_server_url or None
        self.jobs = open_jobs(self.tracking, cfg.home, cfg.ray_address, jobs_cfg,
                              server_url=lambda: self._job_url)
        self.executor = ThreadPoolExecutor(self.db_workers, thread_name_prefix="mlp-db")
        self.settings.update({"mlp_tracking": self.tracking, "mlp_executor": self.executor,
                              "mlp_registry": self.registry, "mlp_features": self.features,
                              "mlp_jobs": self.jobs, "mlp_shared": reg_cfg.shared})
        if self.ingest_process:
            from .ingest import IngestProcess

            self.ingest = IngestProcess(cfg.db_url, cfg.artifact_root, cfg.home)
            self.settings["mlp_ingest"] = self.ingest
        self.log.info("jupyter-mlp %s: store %s, artifacts %s", __version__,
                      self.tracking.store.display_url, self.tracking.artifacts.root_url)

    def _forward_to(self, cfg: MLP) -> None:
        url = urlparse(cfg.server_url)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise InvalidInput(f"c.MLP.server_url={cfg.server_url!r} must be the http(s) URL of "
                               "a jupyter-mlp server, e.g. https://hub.example.org/services/mlp",
                               field="server_url")
        self.upstream = Upstream(cfg.server_url, cfg.server_token, self.forward_timeout)
        self.settings["mlp_upstream"] = self.upstream
        # Kernels inherit this server's environment: they must not find the credential there.
        os.environ.pop("MLP_SHARED_SERVER_TOKEN", None)
        self.log.info("jupyter-mlp %s: forwarding /mlp/api to %s (%s)", __version__,
                      self.upstream.url, "with a token" if cfg.server_token else "without a token")

    async def _start_jupyter_server_extension(self, serverapp) -> None:
        """Once the server listens, hand kernels it launches its URL and the kernel token
        (kernels inherit the server's environment). An explicit MLP_SERVER_URL wins."""
        if not os.environ.get("MLP_SERVER_URL"):
            os.environ["MLP_SERVER_URL"] = serverapp.connection_url
            os.environ["MLP_TOKEN"] = self.kernel_token
        if self.jobs is not None:
            self._job_url = self._job_url or serverapp.connection_url
            if self.jobs_interval > 0:
                self._jobs_poll = PeriodicCallback(self._poll_jobs, self.jobs_interval * 1000)
                self._jobs_poll.start()
        if self.tracking is not None and self.reap_interval > 0:
            self._reaper = PeriodicCallback(self._reap, self.reap_interval * 1000)
            self._reaper.start()
        if self.deliverer is not None and self.webhook_interval > 0:
            self._hooks = PeriodicCallback(self._deliver, self.webhook_interval * 1000)
            self._hooks.start()
        if self.features is not None and self.freshness_interval > 0:
            from .features import metrics

            metrics.register()
            await self._freshness()
            self._fresh = PeriodicCallback(self._freshness, self.freshness_interval * 1000)
            self._fresh.start()

    async def _freshness(self) -> None:
        from .features import metrics

        try:
            rows = await asyncio.get_running_loop().run_in_executor(self.executor,
                                                                    self.features.freshness)
        except Exception as e:  # the store may be briefly away; the next round retries
            self.log.warning("jupyter-mlp: reading feature freshness failed: %s", e)
            return
        metrics.update(rows)

    async def _poll_jobs(self) -> None:
        if getattr(self, "_polling_jobs", False):
            return
        self._polling_jobs = True
        try:
            await asyncio.get_running_loop().run_in_executor(self.executor,
                                                             self.jobs.refresh_active)
        except Exception as e:  # the store or the cluster may be briefly away
            self.log.warning("jupyter-mlp: checking jobs failed: %s", e)
        finally:
            self._polling_jobs = False

    async def _deliver(self) -> None:
        if getattr(self, "_delivering", False):
            return  # the last round is still sending
        self._delivering = True
        try:
            await asyncio.get_running_loop().run_in_executor(self.executor,
                                                             self.deliverer.run_once)
        except Exception as e:  # the store may be briefly away; a hook never blocks us
            self.log.warning("jupyter-mlp: webhook deliveries failed: %s", e)
        finally:
            self._delivering = False

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
        self.handlers.extend(forward_patterns("/") if self.upstream else url_patterns("/"))
        if not self.upstream:
            # Online lookups from token-holding clients skip tornado's handler machinery.
            web_app = self.serverapp.web_app
            fastpath.install(web_app, url_path_join(web_app.settings.get("base_url", "/"),
                                                    API, "features/online"),
                             open_authorizers=(APIOnlyAuthorizer,))

    async def stop_extension(self) -> None:
        if getattr(self, "_reaper", None) is not None:
            self._reaper.stop()
        if getattr(self, "_hooks", None) is not None:
            self._hooks.stop()
        if getattr(self, "_fresh", None) is not None:
            self._fresh.stop()
        if getattr(self, "_jobs_poll", None) is not None:
            self._jobs_poll.stop()
        if self.jobs is not None:
            self.jobs.close()  # stops the local Ray head this server started, by PID
        if self.upstream is not None:
            self.upstream.close()
        if self.tracking is not None:
            self.executor.shutdown(wait=True)
            if self.features is not None:
                self.features.close()
            if self.ingest is not None:
                self.ingest.close()
            self.tracking.store.dispose()

    @classmethod
    def launch_standalone(cls, argv: list[str]) -> None:
        """``jupyter mlp``: serve on its own; as a JupyterHub service when the Hub's
        environment says so (options given on the command line still win). Jupyter's own
        routes (kernels, files, terminals) are closed: a team's users get the API only."""
        from .hub import service_args

        cls.launch_instance([f"--ServerApp.authorizer_class={__name__}.APIOnlyAuthorizer",
                             "--ServerApp.terminals_enabled=False",
                             "--MLPRegistry.shared=True", "--MLPFeatures.shared=True",
                             *service_args(os.environ), *argv])


class APIOnlyAuthorizer(Authorizer):
    """Authorizes the /mlp/api routes (resource ``mlp``) and nothing else: on a shared server,
    users who may log runs must not start kernels or read files on it."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource == "mlp"
