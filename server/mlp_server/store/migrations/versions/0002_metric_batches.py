"""Metric batch ids, so a batch sent twice is stored once.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "metric_batches",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("stored_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_batches")),
    )
    op.create_index(op.f("ix_metric_batches_stored_at"), "metric_batches", ["stored_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_metric_batches_stored_at"), table_name="metric_batches")
    op.drop_table("metric_batches")
