"""Configuration of the platform services, as traitlets.

Every trait can be set in ``jupyter_server_config.py`` (``c.MLP.db_url = ...``)
or from the ``MLP_*`` environment variable named in its help.
"""

from __future__ import annotations

import os
from pathlib import Path

from traitlets import Bool, Dict, Float, Int, List, Unicode, default
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

    ray_address = Unicode(
        help=(
            "The Ray cluster jobs run on: its dashboard's address, e.g. http://ray-head:8265 "
            "(env RAY_ADDRESS). Default: unset, a local Ray head this server starts on the "
            "first job and stops with itself."
        ),
    ).tag(config=True)

    @default("ray_address")
    def _default_ray_address(self) -> str:
        return os.environ.get("RAY_ADDRESS", "")

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


class MLPRegistry(Configurable):
    """The model registry's gates and webhooks.

    Default gate policies (a model's own policy, set with ``mlp.set_model_policy``, wins):

    - a single user's embedded server: no approvals anywhere (nobody else could give one);
    - a team's shared server (``jupyter mlp``, or ``shared = True``): production needs one
      approval from someone other than the requester; staging, archived and none need none.
    """

    shared = Bool(
        False,
        help="Whether this server is a team's (then production needs an approval by default). "
             "`jupyter mlp` sets it.",
    ).tag(config=True)

    default_policy = Dict(
        None, allow_none=True,
        help=(
            "The gate policy of models without their own, e.g. {'production': {'approvals': 2, "
            "'checks': ['metrics.auc >= 0.85'], 'validation': 'team.checks:validate'}, "
            "'allow_multiple_production': False}. Default: see the class description."
        ),
    ).tag(config=True)

    validation_timeout = Float(
        300.0, help="Seconds a gate's validation function may run in its worker process.",
    ).tag(config=True)

    webhook_hosts = List(
        Unicode(),
        help=(
            "Hosts webhooks may call (exact names, or '*.example.com'); none by default, so no "
            "webhook can be added until an admin allows its host."
        ),
    ).tag(config=True)

    webhook_max_attempts = Int(
        8, help="Delivery attempts before a webhook delivery is marked failed.",
    ).tag(config=True)

    webhook_backoff = Float(
        2.0, help="Seconds before the first retry of a failed delivery; doubled each time.",
    ).tag(config=True)

    webhook_timeout = Float(10.0, help="Seconds a webhook target may take to answer.").tag(
        config=True)

    def effective_policy(self) -> dict:
        from .registry import policy

        if self.default_policy:
            return policy.validate(dict(self.default_policy), field="MLPRegistry.default_policy")
        return dict(policy.TEAM if self.shared else policy.SINGLE_USER)


class MLPFeatures(Configurable):
    """The feature store: where online values live, and what the server may read."""

    online_url = Unicode(
        help=(
            "SQLAlchemy URL of the online store (env MLP_ONLINE_URL). Default: SQLite at "
            "$MLP_HOME/online.db; for a team, e.g. postgresql+psycopg://mlp@db/mlp_online."
        ),
    ).tag(config=True)

    memory_limit = Unicode(
        help=(
            "DuckDB's memory limit for materialization, e.g. '4GB' (env "
            "MLP_FEATURES_MEMORY_LIMIT; default 2GB); bigger joins spill to disk."
        ),
    ).tag(config=True)

    shared = Bool(
        False,
        help="Whether this is a team's server; then only `allowed_sources` may be read. "
             "`jupyter mlp` sets it.",
    ).tag(config=True)

    allowed_sources = List(
        Unicode(),
        help=(
            "Prefixes of the source paths, URLs and SQL URLs a shared server reads for "
            "materialization and samples, e.g. ['s3://features/', "
            "'postgresql+psycopg://reader@warehouse/']. DataFrame sources (stored in the "
            "artifact store) are always allowed. Ignored unless `shared`."
        ),
    ).tag(config=True)

    @default("online_url")
    def _default_online_url(self) -> str:
        return os.environ.get("MLP_ONLINE_URL", "")  # empty: $MLP_HOME/online.db

    @default("memory_limit")
    def _default_memory_limit(self) -> str:
        return os.environ.get("MLP_FEATURES_MEMORY_LIMIT", "2GB")


class MLPJobs(Configurable):
    """Jobs on Ray: the local head of embedded mode, and what a job may bring."""

    head_cpus = Int(
        0, help="CPUs the local Ray head offers to jobs (0: all of this machine's).",
    ).tag(config=True)

    head_object_store_memory = Unicode(
        "256MiB", help="The local Ray head's object store (Ray's shared memory for objects).",
    ).tag(config=True)

    max_package = Unicode(
        "100MiB", help=(
            "The largest zipped folder a job may bring (the SDK refuses bigger ones before "
            "uploading, naming the biggest files)."),
    ).tag(config=True)

    job_server_url = Unicode(
        help=(
            "The URL jobs use to reach this server, to log metrics on their runs (env "
            "MLP_JOB_SERVER_URL). Default: this server's own URL, which a remote cluster "
            "must be able to reach."
        ),
    ).tag(config=True)

    auth_mode = Unicode(
        help=(
            "RAY_AUTH_MODE for talking to the cluster: 'token' for a cluster with Ray's token "
            "auth (the token in RAY_AUTH_TOKEN or ~/.ray/auth_token), 'disabled' else. "
            "Default: $RAY_AUTH_MODE; the local head always runs with 'disabled' on loopback."
        ),
    ).tag(config=True)

    memory_policy = Unicode(
        "stop", help=(
            "What happens to a job using more memory than it asked for (Ray does not enforce "
            "memory requests; a watchdog samples each job's processes): 'stop' it, saying so, "
            "or 'warn' in its output."),
    ).tag(config=True)

    node_types = List(
        Dict(),
        help=(
            "For an autoscaling cluster: the node types it can add, e.g. [{'name': 'gpu', "
            "'cpus': 8, 'gpus': 1, 'memory': '64GiB'}]; a request none of them fits is warned "
            "about (Ray's dashboard does not say what its autoscaler can add)."
        ),
    ).tag(config=True)

    @default("job_server_url")
    def _default_job_server_url(self) -> str:
        return os.environ.get("MLP_JOB_SERVER_URL", "")

    @default("auth_mode")
    def _default_auth_mode(self) -> str:
        return os.environ.get("RAY_AUTH_MODE", "")
