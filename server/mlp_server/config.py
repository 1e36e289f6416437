"""Configuration of the platform services, as traitlets.

Every trait can be set in ``jupyter_server_config.py`` (``c.MLP.db_url = ...``)
or from the ``MLP_*`` environment variable named in its help.
"""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import Bool, Float, Int, Unicode, default
from traitlets.config import Configurable

from mlp.errors import InvalidInput


class MLP(Configurable):
    """Where jupyter-mlp keeps its data and how it talks to the store."""

    home = Unicode(
        help="Folder of the embedded store and artifacts (env MLP_HOME; default ~/.mlp).",
    ).tag(config=True)

    db_url = Unicode(
        help=(
            "SQLAlchemy URL of the store (env MLP_DB_URL). Default: SQLite in WAL mode at "
            "$MLP_HOME/mlp.db. For a team: postgresql+psycopg://user@host/db."
        ),
    ).tag(config=True)

    artifact_root = Unicode(
        help=(
            "Where artifacts are stored: a folder or any fsspec URL such as s3://bucket/mlp "
            "(env MLP_ARTIFACT_ROOT; default $MLP_HOME/artifacts)."
        ),
    ).tag(config=True)

    auto_migrate = Bool(
        help=(
            "Upgrade the schema automatically when the store is opened (env MLP_AUTO_MIGRATE). "
            "Default: on for SQLite, off for shared databases, which are upgraded with "
            "`jupyter mlp db upgrade`."
        ),
    ).tag(config=True)

    heartbeat_timeout = Float(
        help=(
            "Seconds without a heartbeat after which a running run is marked crashed "
            "(env MLP_HEARTBEAT_TIMEOUT; default 60)."
        ),
    ).tag(config=True)

    sqlite_busy_timeout = Int(
        60_000,
        help="Milliseconds a SQLite writer waits for another writer before giving up.",
    ).tag(config=True)

    server_url = Unicode(
        help=(
            "A shared jupyter-mlp server (`jupyter mlp`, e.g. a JupyterHub service at "
            "https://hub.example.org/services/mlp) that this server's /mlp/api forwards to "
            "instead of opening a store of its own (env MLP_SHARED_SERVER_URL; default: unset, "
            "the embedded store). Kernels keep talking to this server with their own token."
        ),
    ).tag(config=True)

    server_token = Unicode(
        help=(
            "The credential sent to `server_url`; the shared server records runs as the user "
            "it authenticates with it (env MLP_SHARED_SERVER_TOKEN; default: "
            "$JUPYTERHUB_API_TOKEN in a JupyterHub single-user server). Never given to kernels."
        ),
    ).tag(config=True)

    @default("home")
    def _default_home(self) -> str:
        return os.environ.get("MLP_HOME") or str(Path.home() / ".mlp")

    @default("db_url")
    def _default_db_url(self) -> str:
        return os.environ.get("MLP_DB_URL") or f"sqlite:///{Path(self.home) / 'mlp.db'}"

    @default("artifact_root")
    def _default_artifact_root(self) -> str:
        return os.environ.get("MLP_ARTIFACT_ROOT") or str(Path(self.home) / "artifacts")

    @default("server_url")
    def _default_server_url(self) -> str:
        return os.environ.get("MLP_SHARED_SERVER_URL", "")

    @default("server_token")
    def _default_server_token(self) -> str:
        token = os.environ.get("MLP_SHARED_SERVER_TOKEN")
        if token is None and os.environ.get("JUPYTERHUB_USER"):
            token = os.environ.get("JUPYTERHUB_API_TOKEN")
        return token or ""

    @default("auto_migrate")
    def _default_auto_migrate(self) -> bool:
        env = os.environ.get("MLP_AUTO_MIGRATE")
        if env is not None:
            return env.strip().lower() in {"1", "true", "yes", "on"}
        return self.db_url.startswith("sqlite")

    @default("heartbeat_timeout")
    def _default_heartbeat_timeout(self) -> float:
        raw = os.environ.get("MLP_HEARTBEAT_TIMEOUT", "60")
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not value > 0:
            raise InvalidInput(f"MLP_HEARTBEAT_TIMEOUT={raw!r} must be a positive number of "
                               "seconds", field="MLP_HEARTBEAT_TIMEOUT")
        return value
