"""The store's tables (SQLAlchemy Core).

Metric points are not stored one row per point: ``metric_chunks`` holds blocks
of steps/times/values per run and key, and ``metric_latest`` keeps the
summary (last/min/max/count) that search and run listings read.
Times are seconds since the epoch (float, UTC).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("deleted_at", Float, nullable=True),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_reason", Text, nullable=True),
    Column("start_time", Float, nullable=False),
    Column("end_time", Float, nullable=True),
    Column("heartbeat_at", Float, nullable=True),
    Column("user", String(255), nullable=True),
    Column("host", String(255), nullable=True),
    Column("pid", Integer, nullable=True),
    Column("pid_started", Float, nullable=True),
    Column("parent_id", String(32), ForeignKey("runs.id"), nullable=True),
    Column("source_type", String(16), nullable=True),
    Column("source_name", Text, nullable=True),
    Column("deleted_at", Float, nullable=True),
    Index(None, "experiment_id", "start_time"),
    Index(None, "start_time"),
    Index(None, "status"),
    Index(None, "parent_id"),
    Index(None, "name"),
)

params = Table(
    "params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    # The value as a number when it is one, so `params.lr < 0.1` compares numbers.
    Column("value_num", Float, nullable=True),
    Index(None, "key", "value_num"),
)

tags = Table(
    "tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
    # For `tags.team = 'ads'`. A hash index on PostgreSQL: B-trees refuse values over ~2.7 KB.
    Index(None, "value", postgresql_using="hash"),
)

metric_latest = Table(
    "metric_latest",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    # NaN summaries are stored as NULL (SQLite has no NaN); the chunks keep NaN exactly.
    Column("last_value", Float, nullable=True),
    Column("last_step", BigInteger, nullable=False),
    Column("last_time", Float, nullable=False),
    Column("min_value", Float, nullable=True),
    Column("max_value", Float, nullable=True),
    Column("count", BigInteger, nullable=False),
    # The newest chunk and its size, so a small flush can top it up without a search.
    Column("tail_id", BigInteger, nullable=True),
    Column("tail_n", Integer, nullable=False, server_default="0"),
    Index(None, "key", "last_value", "run_id"),
)

metric_chunks = Table(
    "metric_chunks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("run_id", String(32), ForeignKey("runs.id"), nullable=False),
    Column("key", String(255), nullable=False),
    Column("n", Integer, nullable=False),
    Column("step_min", BigInteger, nullable=False),
    Column("step_max", BigInteger, nullable=False),
    Column("time_min", Float, nullable=False),
    Column("time_max", Float, nullable=False),
    # Little-endian int64 steps, float64 times and float64 values, n of each.
    Column("steps", LargeBinary, nullable=False),
    Column("times", LargeBinary, nullable=False),
    Column("vals", LargeBinary, nullable=False),
    Index(None, "run_id", "key", "id"),
)

# Metric batches already stored, by the id the SDK gave them: a batch sent again (its
# reply was lost, or a spooled file is replayed after a crash) is stored once.
metric_batches = Table(
    "metric_batches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("stored_at", Float, nullable=False),
    Index(None, "stored_at"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("path", String(1024), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
)

captures = Table(
    "captures",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    # code | git | environment
    Column("kind", String(32), primary_key=True),
    Column("payload", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# -- model registry ----------------------------------------------------------------------
# Models, their versions (each linked to a run's artifact), aliases, tags, transition
# requests with their reviews, the append-only audit log, and webhooks with their deliveries.

registered_models = Table(
    "registered_models",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("description", Text, nullable=True),
    # JSON: the gate policy per target stage; NULL = the server's defaults.
    Column("policy", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(255), nullable=True),
    Column("updated_at", Float, nullable=False),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("model_id", BigInteger, ForeignKey("registered_models.id"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("run_id", String(32), ForeignKey("runs.id"), nullable=False),
    Column("artifact", String(1024), nullable=False),
    # none | staging | production | archived
    Column("stage", String(16), nullable=False),
    Column("description", Text, nullable=True),
    # JSON: flavor, signature, requirements read from the MLmodel file
    Column("info", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(255), nullable=True),
    Column("stage_changed_at", Float, nullable=False),
    Index(None, "run_id"),
    Index(None, "model_id", "stage"),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("model_id", BigInteger, ForeignKey("registered_models.id"), primary_key=True),
    Column("alias", String(255), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# Tags of a model (version 0) and of its versions.
model_tags = Table(
    "model_tags",
    metadata,
    Column("model_id", BigInteger, ForeignKey("registered_models.id"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("key", String(255), primary_key=True),
    Column("value", Text, nullable=False),
)

transition_requests = Table(
    "transition_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("model_id", BigInteger, ForeignKey("registered_models.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("from_stage", String(16), nullable=False),
    Column("to_stage", String(16), nullable=False),
    # pending | approved | rejected | applied | cancelled
    Column("status", String(16), nullable=False),
    Column("requested_by", String(255), nullable=False),
    Column("requested_at", Float, nullable=False),
    Column("comment", Text, nullable=True),
    # JSON: the policy it was judged by, and the latest results of its checks
    Column("policy", Text, nullable=False),
    Column("checks", Text, nullable=True),
    Column("decided_at", Float, nullable=True),
    Column("reason", Text, nullable=True),
    Index(None, "model_id", "status"),
    Index(None, "status"),
)

request_reviews = Table(
    "request_reviews",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("request_id", BigInteger, ForeignKey("transition_requests.id"), nullable=False),
    Column("user", String(255), nullable=False),
    # approve | reject
    Column("decision", String(16), nullable=False),
    Column("comment", Text, nullable=True),
    Column("at", Float, nullable=False),
    Index(None, "request_id"),
)

# Append-only: the service only inserts; triggers refuse UPDATE and DELETE.
registry_audit = Table(
    "registry_audit",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("actor", String(255), nullable=True),
    Column("model_id", BigInteger, nullable=False),
    Column("model", String(255), nullable=False),
    Column("version", Integer, nullable=True),
    # model_created, version_created, stage_changed, alias_set, alias_removed,
    # request_made, approved, rejected, applied, cancelled, policy_changed, ...
    Column("action", String(32), nullable=False),
    Column("from_value", Text, nullable=True),
    Column("to_value", Text, nullable=True),
    Column("comment", Text, nullable=True),
    Column("request_id", BigInteger, nullable=True),
    Index(None, "model_id", "id"),
    Index(None, "at"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    # NULL: every model
    Column("model", String(255), nullable=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    # JSON list of actions, or NULL for all
    Column("events", Text, nullable=True),
    Column("active", Integer, nullable=False),
    Column("created_by", String(255), nullable=True),
    Column("created_at", Float, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("webhook_id", BigInteger, ForeignKey("webhooks.id"), nullable=False),
    Column("audit_id", BigInteger, nullable=False),
    # pending | delivered | failed
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float, nullable=True),
    Column("last_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("delivered_at", Float, nullable=True),
    Index(None, "status", "next_attempt_at"),
    Index(None, "webhook_id", "id"),
)

# -- feature store -----------------------------------------------------------------------
# Entities and feature views, versioned (a changed schema is a new version; a changed
# description, owner or SLO updates the current one), and the materializations that filled
# the online store (which lives in its own database, see features/online.py).

feature_entities = Table(
    "feature_entities",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    # JSON: the join key columns
    Column("join_keys", Text, nullable=False),
    Column("description", Text, nullable=True),
    Column("owner", String(255), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(255), nullable=True),
)

feature_views = Table(
    "feature_views",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    # JSON: entities, join_keys, key_types, source, event_time, created_time, ttl, features
    Column("definition", Text, nullable=False),
    # SHA-256 of the schema part of the definition: equal hashes are the same version
    Column("schema_hash", String(64), nullable=False),
    Column("description", Text, nullable=True),
    Column("owner", String(255), nullable=True),
    Column("freshness_slo", Float, nullable=True),
    Column("tags", Text, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(255), nullable=True),
    Column("updated_at", Float, nullable=False),
)

feature_materializations = Table(
    "feature_materializations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("view", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    # the event-time window [start, end]; start NULL: from the beginning
    Column("start", Float, nullable=True),
    Column("end", Float, nullable=False),
    # rows created after this were left for the next run
    Column("cutoff", Float, nullable=False),
    Column("incremental", Integer, nullable=False),
    # running | finished | failed
    Column("status", String(16), nullable=False),
    Column("keys", BigInteger, nullable=True),
    Column("written", BigInteger, nullable=True),
    Column("progress", Float, nullable=True),
    Column("newest_event_time", Float, nullable=True),
    Column("error", Text, nullable=True),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Column("started_by", String(255), nullable=True),
    Index(None, "view", "status", "finished_at"),
)

# -- jobs ------------------------------------------------------------------------------
# Jobs submitted to Ray. This store is their record: Ray forgets jobs when its cluster
# restarts. Each job has a tracked run and a token scoped to that run (kept hashed).

jobs = Table(
    "jobs",
    metadata,
    # also Ray's submission id
    Column("id", String(32), primary_key=True),
    # the client's key for an idempotent submission (a retry returns the same job)
    Column("request_id", String(64), nullable=True, unique=True),
    Column("run_id", String(32), nullable=False),
    # script | cell
    Column("kind", String(16), nullable=False),
    Column("name", String(255), nullable=False),
    Column("entrypoint", Text, nullable=False),
    # JSON: args, cpus, gpus, memory, env names, requirements, inputs, package
    Column("spec", Text, nullable=False),
    # submitting | pending | running | succeeded | failed | stopped
    Column("status", String(16), nullable=False),
    Column("message", Text, nullable=True),
    Column("cluster", String(255), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(255), nullable=True),
    Column("started_at", Float, nullable=True),
    Column("ended_at", Float, nullable=True),
    Column("exit_code", Integer, nullable=True),
    Column("peak_memory", BigInteger, nullable=True),
    # SHA-256 of the job's token; cleared when the job ends
    Column("token_hash", String(64), nullable=True),
    Index(None, "created_at"),
    Index(None, "status"),
    Index(None, "run_id"),
    Index(None, "token_hash"),
)

#: SQL that makes ``registry_audit`` append-only, per dialect: (create, drop) statements.
#: The migration runs ``create``; only test fixtures that empty a store run ``drop`` first.
AUDIT_APPEND_ONLY = {
    "sqlite": (
        ["CREATE TRIGGER registry_audit_no_update BEFORE UPDATE ON registry_audit "
         "BEGIN SELECT RAISE(ABORT, 'registry_audit is append-only'); END",
         "CREATE TRIGGER registry_audit_no_delete BEFORE DELETE ON registry_audit "
         "BEGIN SELECT RAISE(ABORT, 'registry_audit is append-only'); END"],
        ["DROP TRIGGER IF EXISTS registry_audit_no_update",
         "DROP TRIGGER IF EXISTS registry_audit_no_delete"],
    ),
    "postgresql": (
        ["CREATE OR REPLACE FUNCTION mlp_registry_audit_append_only() RETURNS trigger AS $$ "
         "BEGIN RAISE EXCEPTION 'registry_audit is append-only'; END; $$ LANGUAGE plpgsql",
         "CREATE TRIGGER registry_audit_append_only BEFORE UPDATE OR DELETE ON registry_audit "
         "FOR EACH ROW EXECUTE FUNCTION mlp_registry_audit_append_only()"],
        ["DROP TRIGGER IF EXISTS registry_audit_append_only ON registry_audit",
         "DROP FUNCTION IF EXISTS mlp_registry_audit_append_only()"],
    ),
}
