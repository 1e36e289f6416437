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
