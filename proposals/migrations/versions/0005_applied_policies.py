"""Keep each policy file `policy apply` files, so drift can be measured against the last one per KMS.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ADDRESS = sa.String(42)
TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    """Create applied_policies."""
    op.create_table(
        "applied_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kms", ADDRESS, nullable=False),
        sa.Column("policy", JSON_DOCUMENT, nullable=False),
        sa.Column("policy_digest", sa.String(64), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("plan_hash", sa.String(64), nullable=False),
        sa.Column("block", sa.BigInteger(), nullable=False),
        sa.Column("proposal_ids", JSON_DOCUMENT, nullable=False),
        sa.Column("direct_txs", JSON_DOCUMENT, nullable=False),
        sa.Column("applied_by", sa.String(200), nullable=False),
        sa.Column("applied_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_applied_policies"),
    )
    op.create_index("ix_applied_policies_kms_id", "applied_policies", ["kms", "id"])


def downgrade() -> None:
    """Drop applied_policies (the audit log keeps a `policy-applied` entry for each)."""
    op.drop_index("ix_applied_policies_kms_id", table_name="applied_policies")
    op.drop_table("applied_policies")
