"""Keep what a proposal was planned to do with the proposal: its before -> after diff and its warnings.

A proposal's actions (catalogue name, target, parameters) are stored since 0001; from now on they are
the only source of its description, checked against the calldata whenever shown. The planned diff and
the planning warnings were only written into the audit log (event `planned`): `planned` keeps them as
typed data next to the actions. Rows filed before this revision get the audit log's copy; a rejection
has none, and stays NULL ("nothing planned").

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

# The first `planned` audit entry of each proposal, the one written when it was filed.
COPY_FROM_AUDIT = """
UPDATE proposals SET planned = (
    SELECT audit.detail FROM audit
    WHERE audit.proposal_id = proposals.id AND audit.event = 'planned'
    ORDER BY audit.id LIMIT 1
)
"""


def upgrade() -> None:
    """Add proposals.planned and fill it from the audit log for proposals filed before."""
    op.add_column("proposals", sa.Column("planned", JSON_DOCUMENT, nullable=True))
    op.execute(COPY_FROM_AUDIT)


def downgrade() -> None:
    """Drop proposals.planned (the audit log still holds every planned diff)."""
    op.drop_column("proposals", "planned")
