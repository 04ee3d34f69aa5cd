"""The bot's tables: announcement messages, owner links, link challenges.

Revision ID: b0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "b0001"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the three tables."""
    op.create_table(
        "bot_announcements",
        sa.Column("proposal_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("proposal_id", name="pk_bot_announcements"),
    )
    op.create_table(
        "bot_links",
        sa.Column("owner", sa.String(42), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("linked_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("owner", name="pk_bot_links"),
    )
    op.create_index("ix_bot_links_user_id", "bot_links", ["user_id"])
    op.create_table(
        "bot_link_challenges",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("owner", sa.String(42), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("user_id", "owner", name="pk_bot_link_challenges"),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("bot_link_challenges")
    op.drop_index("ix_bot_links_user_id", table_name="bot_links")
    op.drop_table("bot_links")
    op.drop_table("bot_announcements")
