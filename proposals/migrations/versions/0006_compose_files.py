"""Keep the app-compose.json behind each compose hash a proposal adds, so signers see what the hash stands for.

One row per (proposal, action index), written with the proposal. `compose_hash` is indexed: a later
proposal for the same app finds the compose of the hash the app allows now, and the review diffs
against it. `base_hash` is that hash as it was when the proposal was filed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ADDRESS = sa.String(42)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create compose_files and its compose-hash index."""
    op.create_table(
        "compose_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("action_index", sa.Integer(), nullable=False),
        sa.Column("app", ADDRESS, nullable=False),
        sa.Column("compose_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("base_hash", sa.LargeBinary(32), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"], name="fk_compose_files_proposal_id_proposals"),
        sa.PrimaryKeyConstraint("id", name="pk_compose_files"),
        sa.UniqueConstraint("proposal_id", "action_index", name="uq_compose_files_proposal_id_action_index"),
    )
    op.create_index("ix_compose_files_compose_hash", "compose_files", ["compose_hash"])


def downgrade() -> None:
    """Drop compose_files (the proposals keep their compose hashes; the files are gone)."""
    op.drop_index("ix_compose_files_compose_hash", table_name="compose_files")
    op.drop_table("compose_files")
