"""Record each signed execution transaction before it is broadcast, under the executing claim it belongs to.

A crash between claiming an execution and sending it used to block the Safe until a fixed timeout,
because nothing told "never sent" from "sent, reply lost". Now every claim gets a token
(`proposals.execution_claim`), signing under it stamps `execution_signed_at`, and each
signed transaction (raw bytes and hash, one row per fee bump) is kept in `execution_txs`. Recovery
releases a claim with nothing signed at once, and settles a signed one from the chain by its hash.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

ADDRESS = sa.String(42)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add the claim columns to proposals and create execution_txs."""
    op.add_column("proposals", sa.Column("execution_claim", sa.String(36), nullable=True))
    op.add_column("proposals", sa.Column("execution_signed_at", TIMESTAMP, nullable=True))
    op.create_table(
        "execution_txs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("claim", sa.String(36), nullable=False),
        sa.Column("tx_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("raw_tx", sa.LargeBinary(), nullable=False),
        sa.Column("sender", ADDRESS, nullable=False),
        sa.Column("sender_nonce", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], name="fk_execution_txs_proposal_id_proposals"),
        sa.PrimaryKeyConstraint("id", name="pk_execution_txs"),
    )
    op.create_index("ix_execution_txs_proposal_id_claim", "execution_txs", ["proposal_id", "claim"])
    op.create_index("ix_execution_txs_tx_hash", "execution_txs", ["tx_hash"])


def downgrade() -> None:
    """Drop execution_txs and the claim columns (the audit log keeps every signed hash)."""
    op.drop_index("ix_execution_txs_tx_hash", table_name="execution_txs")
    op.drop_index("ix_execution_txs_proposal_id_claim", table_name="execution_txs")
    op.drop_table("execution_txs")
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("execution_signed_at")
        batch.drop_column("execution_claim")
