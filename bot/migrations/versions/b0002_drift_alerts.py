"""The drift alert of each KMS: the one message the watcher edits while the drift lasts.

Revision ID: b0002
Revises: b0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0002"
down_revision = "b0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create bot_drift_alerts."""
    op.create_table(
        "bot_drift_alerts",
        sa.Column("kms", sa.String(42), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("kms", name="pk_bot_drift_alerts"),
    )


def downgrade() -> None:
    """Drop bot_drift_alerts."""
    op.drop_table("bot_drift_alerts")
