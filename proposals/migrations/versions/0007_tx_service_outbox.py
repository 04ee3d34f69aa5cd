"""Keep the signatures that still have to reach the Safe Transaction Service, so an outage loses none.

One row per (safeTxHash, signer): pending until posted (as the transaction or as a confirmation), retried
with backoff; dropped once its proposal has ended. `status, next_attempt_at` is what each pass reads.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ADDRESS = sa.String(42)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create tx_service_outbox and its due-entries index."""
    op.create_table(
        "tx_service_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("safe_tx_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("signer", ADDRESS, nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("posted_at", TIMESTAMP, nullable=True),
        sa.Column("posted_as", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], name="fk_tx_service_outbox_proposal_id_proposals"),
        sa.PrimaryKeyConstraint("id", name="pk_tx_service_outbox"),
        sa.UniqueConstraint("safe_tx_hash", "signer", name="uq_tx_service_outbox_safe_tx_hash_signer"),
    )
    op.create_index("ix_tx_service_outbox_status_next_attempt_at", "tx_service_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    """Drop tx_service_outbox (signatures not yet posted stay in the signatures table)."""
    op.drop_index("ix_tx_service_outbox_status_next_attempt_at", table_name="tx_service_outbox")
    op.drop_table("tx_service_outbox")
