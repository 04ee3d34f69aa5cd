"""A withdrawn or expired change may be proposed again: safeTxHash is unique among open proposals only.

The same change at the same nonce has the same safeTxHash, so the old table-wide unique index
refused to re-propose it after a withdrawal. Open proposals still cannot share a hash.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN_STATES_SQL = "state IN ('draft', 'pending', 'approved', 'executing', 'failed')"


def upgrade() -> None:
    op.drop_index("ix_proposals_safe_tx_hash", table_name="proposals")
    op.create_index("ix_proposals_safe_tx_hash", "proposals", ["safe_tx_hash"])
    op.create_index(
        "uq_proposals_open_safe_tx_hash",
        "proposals",
        ["safe_tx_hash"],
        unique=True,
        sqlite_where=sa.text(OPEN_STATES_SQL),
        postgresql_where=sa.text(OPEN_STATES_SQL),
    )


def downgrade() -> None:
    op.drop_index("uq_proposals_open_safe_tx_hash", table_name="proposals")
    op.drop_index("ix_proposals_safe_tx_hash", table_name="proposals")
    op.create_index("ix_proposals_safe_tx_hash", "proposals", ["safe_tx_hash"], unique=True)
