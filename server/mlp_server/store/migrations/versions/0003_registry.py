"""The model registry: models, versions, aliases, tags, transition requests and reviews,
the append-only audit log, webhooks and their deliveries.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _append_only():
    from mlp_server.store.schema import AUDIT_APPEND_ONLY

    return AUDIT_APPEND_ONLY.get(op.get_bind().dialect.name, ([], []))


def upgrade() -> None:
    op.create_table(
        "registered_models",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("policy", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registered_models")),
        sa.UniqueConstraint("name", name=op.f("uq_registered_models_name")),
    )
    op.create_table(
        "model_versions",
        sa.Column("model_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("artifact", sa.String(length=1024), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("info", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("stage_changed_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["registered_models.id"],
                                name=op.f("fk_model_versions_model_id_registered_models")),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_model_versions_run_id_runs")),
        sa.PrimaryKeyConstraint("model_id", "version", name=op.f("pk_model_versions")),
    )
    op.create_index(op.f("ix_model_versions_run_id"), "model_versions", ["run_id"])
    op.create_index(op.f("ix_model_versions_model_id_stage"), "model_versions",
                    ["model_id", "stage"])
    op.create_table(
        "model_aliases",
        sa.Column("model_id", sa.BigInteger(), nullable=False),
        sa.Column("alias", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["registered_models.id"],
                                name=op.f("fk_model_aliases_model_id_registered_models")),
        sa.PrimaryKeyConstraint("model_id", "alias", name=op.f("pk_model_aliases")),
    )
    op.create_table(
        "model_tags",
        sa.Column("model_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["registered_models.id"],
                                name=op.f("fk_model_tags_model_id_registered_models")),
        sa.PrimaryKeyConstraint("model_id", "version", "key", name=op.f("pk_model_tags")),
    )
    op.create_table(
        "transition_requests",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("model_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("from_stage", sa.String(length=16), nullable=False),
        sa.Column("to_stage", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("requested_at", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("checks", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["registered_models.id"],
                                name=op.f("fk_transition_requests_model_id_registered_models")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transition_requests")),
    )
    op.create_index(op.f("ix_transition_requests_model_id_status"), "transition_requests",
                    ["model_id", "status"])
    op.create_index(op.f("ix_transition_requests_status"), "transition_requests", ["status"])
    op.create_table(
        "request_reviews",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("request_id", sa.BigInteger(), nullable=False),
        sa.Column("user", sa.String(length=255), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["transition_requests.id"],
                                name=op.f("fk_request_reviews_request_id_transition_requests")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_reviews")),
    )
    op.create_index(op.f("ix_request_reviews_request_id"), "request_reviews", ["request_id"])
    op.create_table(
        "registry_audit",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("model_id", sa.BigInteger(), nullable=False),
        sa.Column("model", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_value", sa.Text(), nullable=True),
        sa.Column("to_value", sa.Text(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("request_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_audit")),
    )
    op.create_index(op.f("ix_registry_audit_model_id_id"), "registry_audit", ["model_id", "id"])
    op.create_index(op.f("ix_registry_audit_at"), "registry_audit", ["at"])
    op.create_table(
        "webhooks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("model", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=True),
        sa.Column("active", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.BigInteger(), nullable=False),
        sa.Column("audit_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=True),
        sa.Column("last_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["webhook_id"], ["webhooks.id"],
                                name=op.f("fk_webhook_deliveries_webhook_id_webhooks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index(op.f("ix_webhook_deliveries_status_next_attempt_at"), "webhook_deliveries",
                    ["status", "next_attempt_at"])
    op.create_index(op.f("ix_webhook_deliveries_webhook_id_id"), "webhook_deliveries",
                    ["webhook_id", "id"])
    for stmt in _append_only()[0]:
        op.execute(stmt)


def downgrade() -> None:
    for stmt in _append_only()[1]:
        op.execute(stmt)
    for table in ("webhook_deliveries", "webhooks", "registry_audit", "request_reviews",
                  "transition_requests", "model_tags", "model_aliases", "model_versions",
                  "registered_models"):
        op.drop_table(table)
