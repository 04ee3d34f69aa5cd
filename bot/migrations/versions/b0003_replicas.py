"""Replicas: the updates Telegram handed over (offset and deduplication) and the announcement edits owed.

Revision ID: b0003
Revises: b0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0003"
down_revision = "b0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create bot_updates and bot_stale_messages."""
    op.create_table(
        "bot_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=True),
        sa.Column("handled_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("update_id", name="pk_bot_updates"),
    )
    op.create_table(
        "bot_stale_messages",
        sa.Column("proposal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("marked_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("proposal_id", name="pk_bot_stale_messages"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("bot_stale_messages")
    op.drop_table("bot_updates")
